/* collector.c - the OpenTelemetry Collector of a TracingModel: its configuration
 * (collector.yaml) and the objects that run it.
 *
 * One tier (the usual case): ConfigMap, ServiceAccount, Service and a Deployment,
 * DaemonSet or StatefulSet per collector.mode. Mode sidecar renders only the
 * ConfigMap: the webhook injects the collector container into application pods.
 *
 * Two tiers (tail sampling with more than one replica): tail sampling needs every
 * span of a trace in one process, so `<m>-collector` becomes a stateless
 * load-balancing tier (loadbalancing exporter keyed on traceID, resolver.k8s on
 * the sampler's headless Service; the resolver watches Endpoints/EndpointSlices,
 * hence the Role and RoleBinding) in front of `<m>-sampler`, a StatefulSet that
 * does memory_limiter -> redaction -> tail_sampling -> batch -> backend.
 *
 * Processor order in every traces pipeline: memory_limiter first (it must refuse
 * data before anything else allocates), batch last (it should batch what is
 * actually exported). Pure: builds JSON only. */
#include "render/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/xalloc.h"
#include "model/model.h"

#define CFG_KEY "collector.yaml"
#define CFG_DIR "/conf"
#define OTLP_AUTH_ENV "OTLP_AUTH_HEADER"

/* One collector configuration being built. */
struct cfg {
    json_t *receivers, *processors, *exporters, *connectors, *pipelines;
    json_t *env; /* env vars the config refers to (secretKeyRefs), for the pod */
    int jaeger_rx, zipkin_rx, http_rx, prom; /* which ports the pod must expose */
};

static void cfg_init(struct cfg *g) {
    memset(g, 0, sizeof(*g));
    g->receivers = json_object();
    g->processors = json_object();
    g->exporters = json_object();
    g->connectors = json_object();
    g->pipelines = json_object();
    g->env = json_array();
}

static void cfg_done(struct cfg *g) {
    json_decref(g->receivers);
    json_decref(g->processors);
    json_decref(g->exporters);
    json_decref(g->connectors);
    json_decref(g->pipelines);
    json_decref(g->env);
}

static void push(json_t *arr, const char *s) { json_array_append_new(arr, r_s(s)); }

/* A Go duration for a model duration field ("1s", "10s"), dflt when unparsable. */
static json_t *go_duration(const json_t *o, const char *path, const char *dflt) {
    const char *s = r_str(o, path, dflt);
    int64_t ms;
    if (parse_duration_ms(s, &ms) < 0 && parse_duration_ms(dflt, &ms) < 0)
        return r_s(dflt);
    char buf[64];
    format_duration_go(ms, buf, sizeof(buf));
    return r_s(buf);
}

/* The collector minor version from an image tag "0.N.x" (or "v0.N.x"); -1 when unknown. */
static int collector_minor(const char *image) {
    const char *tag = r_image_tag(image);
    if (*tag == 'v')
        tag++;
    if (strncmp(tag, "0.", 2) != 0)
        return -1;
    return atoi(tag + 2);
}

/* The OTLP/gRPC exporter type: "otlp_grpc" since collector 0.144 (where "otlp" became
 * a deprecated alias that logs a warning on every start), "otlp" before. */
static const char *otlp_exporter_type(const struct rctx *c) {
    int minor = collector_minor(r_str(c->spec, "collector.image", TM_DEFAULT_COLLECTOR_IMAGE));
    return minor >= 0 && minor < 144 ? "otlp" : "otlp_grpc";
}

/* ---- receivers ---- */

static json_t *endpoint(const char *hostport) { return r_kv("endpoint", r_s(hostport), NULL); }

static void rx_otlp(struct cfg *g, int with_http) {
    json_t *protocols = json_object();
    r_set(protocols, "grpc", endpoint("0.0.0.0:4317"));
    if (with_http)
        r_set(protocols, "http", endpoint("0.0.0.0:4318"));
    r_set(g->receivers, "otlp", r_kv("protocols", protocols, NULL));
    g->http_rx = with_http;
}

/* otlp (+ jaeger, zipkin when enabled); returns the receiver ids. */
static json_t *rx_ingest(const struct rctx *c, struct cfg *g) {
    json_t *ids = json_array();
    rx_otlp(g, 1);
    push(ids, "otlp");
    if (r_bool(c->spec, "collector.receivers.jaeger", 0)) {
        json_t *p = json_object();
        r_set(p, "grpc", endpoint("0.0.0.0:14250"));
        r_set(p, "thrift_http", endpoint("0.0.0.0:14268"));
        r_set(p, "thrift_compact", endpoint("0.0.0.0:6831"));
        r_set(g->receivers, "jaeger", r_kv("protocols", p, NULL));
        push(ids, "jaeger");
        g->jaeger_rx = 1;
    }
    if (r_bool(c->spec, "collector.receivers.zipkin", 0)) {
        r_set(g->receivers, "zipkin", endpoint("0.0.0.0:9411"));
        push(ids, "zipkin");
        g->zipkin_rx = 1;
    }
    return ids;
}

/* Kafka settings shared by the receiver and the exporter. */
static json_t *kafka_common(const struct rctx *c) {
    json_t *k = json_object();
    const json_t *brokers = r_get(c->spec, "collector.kafka.brokers");
    r_set(k, "brokers",
          json_is_array(brokers) ? json_deep_copy(brokers) : r_strs("kafka:9092", NULL));
    r_set(k, "traces",
          json_pack("{s:s, s:s}", "topic", r_str(c->spec, "collector.kafka.topic", "otlp_spans"),
                    "encoding", r_str(c->spec, "collector.kafka.encoding", "otlp_proto")));
    return k;
}

static int kafka_exporter_on(const struct rctx *c) {
    return r_bool(c->spec, "collector.kafka.exporter", 0);
}

static int kafka_receiver_on(const struct rctx *c) {
    return r_bool(c->spec, "collector.kafka.receiver", 0);
}

static void rx_kafka(const struct rctx *c, struct cfg *g) {
    r_set(g->receivers, "kafka", kafka_common(c));
}

static void ex_kafka(const struct rctx *c, struct cfg *g) {
    json_t *k = kafka_common(c);
    /* keep a trace's spans in one partition so a consumer sees whole traces */
    r_set(k, "partition_traces_by_id", json_true());
    r_set(g->exporters, "kafka", k);
}

/* ---- processors ---- */

static void proc_memory_limiter(const struct rctx *c, struct cfg *g) {
    json_t *m = json_object();
    r_set(m, "check_interval", go_duration(c->spec, "collector.memoryLimiter.checkInterval", "1s"));
    r_set(m, "limit_percentage",
          json_integer(r_int(c->spec, "collector.memoryLimiter.limitPercentage", 80)));
    r_set(m, "spike_limit_percentage",
          json_integer(r_int(c->spec, "collector.memoryLimiter.spikeLimitPercentage", 25)));
    r_set(g->processors, "memory_limiter", m);
}

/* Sensitive attributes are removed with the `attributes` processor's delete action.
 * Not the `redaction` processor: its blocked_key_patterns only masks the VALUES of
 * matching keys (the key and a "****" value stay on the span), and deleting keys with
 * it needs an allow-list of every other key (allowed_keys), which a model cannot know.
 * `delete` removes exactly the listed keys from span attributes; the `resource`
 * processor does the same for resource attributes (a key such as a token can be set
 * on either). Returns 1 when the processors exist (the list is not empty). */
static int proc_redact(const struct rctx *c, struct cfg *g) {
    const json_t *keys = r_get(c->spec, "collector.redact");
    json_t *actions = json_array();
    size_t i;
    json_t *k;
    json_array_foreach((json_t *)keys, i, k) {
        if (json_is_string(k) && json_string_length(k))
            json_array_append_new(
                actions, r_kv("key", r_s(json_string_value(k)), "action", r_s("delete"), NULL));
    }
    if (!json_array_size(actions)) {
        json_decref(actions);
        return 0;
    }
    r_set(g->processors, "attributes/redact", r_kv("actions", json_deep_copy(actions), NULL));
    r_set(g->processors, "resource/redact", r_kv("attributes", actions, NULL));
    return 1;
}

static void proc_tail(struct rctx *c, struct cfg *g) {
    json_t *policies = json_array();
    if (tm_tail_policies(c->model, policies, c->d) < 0)
        c->failed = 1;
    if (!json_array_size(policies) && !c->failed) {
        diag_warn(c->d, "spec.sampling.tail",
                  "tail sampling is enabled without rules or policies: every trace is kept");
        json_array_append_new(policies,
                              json_pack("{s:s, s:s}", "name", "keep-all", "type", "always_sample"));
    }
    json_t *t = json_object();
    r_set(t, "decision_wait", go_duration(c->spec, "sampling.tail.decisionWait", "10s"));
    r_set(t, "num_traces", json_integer(r_int(c->spec, "sampling.tail.numTraces", 50000)));
    r_set(t, "expected_new_traces_per_sec",
          json_integer(r_int(c->spec, "sampling.tail.expectedNewTracesPerSec", 0)));
    r_set(t, "policies", policies);
    r_set(g->processors, "tail_sampling", t);
}

static void proc_batch(const struct rctx *c, struct cfg *g) {
    json_t *b = json_object();
    r_set(b, "timeout", go_duration(c->spec, "collector.batch.timeout", "1s"));
    r_set(b, "send_batch_size",
          json_integer(r_int(c->spec, "collector.batch.sendBatchSize", 1024)));
    r_set(b, "send_batch_max_size",
          json_integer(r_int(c->spec, "collector.batch.sendBatchMaxSize", 2048)));
    r_set(g->processors, "batch", b);
}

/* ---- exporters ---- */

/* The exporter that writes to the backend; its id goes into id (64 bytes). Secret
 * header values never appear in the config: the config says ${env:VAR} and the pod
 * gets VAR from a secretKeyRef. */
static const char *ex_backend(const struct rctx *c, struct cfg *g, char *id) {
    const char *type = otlp_exporter_type(c);
    json_t *e = json_object();
    if (strcmp(c->backend, "otlp") != 0) {
        snprintf(id, 64, "%s/%s", type, c->backend);
        r_set(e, "endpoint", r_s(c->backend_otlp));
        r_set(e, "tls", r_kv("insecure", json_true(), NULL));
        r_set(g->exporters, id, e);
        return id;
    }
    snprintf(id, 64, "%s", type);
    r_set(e, "endpoint", r_s(r_str(c->spec, "backend.otlp.endpoint", "")));
    r_set(e, "tls",
          r_kv("insecure", json_boolean(r_bool(c->spec, "backend.otlp.insecure", 0)), NULL));
    json_t *headers = json_object();
    const json_t *h = r_get(c->spec, "backend.otlp.headers");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v) {
        if (json_is_string(v))
            r_set(headers, k, r_s(json_string_value(v)));
    }
    const char *secret = r_str(c->spec, "backend.otlp.secretRef.name", NULL);
    if (secret) {
        const char *hdr = r_str(c->spec, "backend.otlp.secretRef.header", "authorization");
        const char *key = r_str(c->spec, "backend.otlp.secretRef.key", "authorization");
        r_set(headers, hdr, r_s("${env:" OTLP_AUTH_ENV "}"));
        json_array_append_new(g->env, r_env_secret(OTLP_AUTH_ENV, secret, key));
    }
    if (json_object_size(headers))
        r_set(e, "headers", headers);
    else
        json_decref(headers);
    r_set(g->exporters, id, e);
    return id;
}

/* spanmetrics/servicegraph connectors + the prometheus exporter; returns the
 * connector ids (empty when analysis is off). */
static json_t *analysis_connectors(const struct rctx *c, struct cfg *g) {
    json_t *ids = json_array();
    if (c->spanmetrics) {
        json_t *sm = json_object();
        const json_t *buckets = r_get(c->spec, "collector.spanMetrics.histogramBuckets");
        if (json_is_array(buckets) && json_array_size(buckets))
            r_set(sm, "histogram",
                  r_kv("explicit", r_kv("buckets", json_deep_copy(buckets), NULL), NULL));
        const json_t *dims = r_get(c->spec, "collector.spanMetrics.dimensions");
        json_t *darr = json_array();
        size_t i;
        json_t *dv;
        json_array_foreach((json_t *)dims, i, dv) {
            if (json_is_string(dv))
                json_array_append_new(darr, r_kv("name", r_s(json_string_value(dv)), NULL));
        }
        if (json_array_size(darr))
            r_set(sm, "dimensions", darr);
        else
            json_decref(darr);
        /* pinned: the PrometheusRule queries traces_span_metrics_* */
        r_set(sm, "namespace", r_s("traces.span.metrics"));
        r_set(sm, "metrics_flush_interval", r_s("15s"));
        r_set(g->connectors, "spanmetrics", sm);
        push(ids, "spanmetrics");
    }
    if (c->servicegraph) {
        r_set(g->connectors, "servicegraph",
              r_kv("store", r_kv("ttl", r_s("10s"), "max_items", json_integer(10000), NULL), NULL));
        push(ids, "servicegraph");
    }
    if (json_array_size(ids)) {
        r_set(g->exporters, "prometheus", endpoint("0.0.0.0:8889"));
        g->prom = 1;
    }
    return ids;
}

static void pipeline(struct cfg *g, const char *name, json_t *rx, json_t *procs, json_t *ex) {
    json_t *p = json_object();
    r_set(p, "receivers", rx);
    r_set(p, "processors", procs);
    r_set(p, "exporters", ex);
    r_set(g->pipelines, name, p);
}

/* memory_limiter, [attributes/redact, resource/redact], [tail_sampling], batch */
static json_t *procs_processing(int redact, int tail) {
    json_t *p = json_array();
    push(p, "memory_limiter");
    if (redact) {
        push(p, "attributes/redact");
        push(p, "resource/redact");
    }
    if (tail)
        push(p, "tail_sampling");
    push(p, "batch");
    return p;
}

/* The processing pipelines (the whole config of a single tier, or the sampler tier):
 * rx -> memory_limiter, redaction, [tail_sampling], batch -> backend [+ kafka],
 * plus the RED-metrics pipelines. rx is stolen. */
static void processing(struct rctx *c, struct cfg *g, json_t *rx, int tail, int kafka_out) {
    proc_memory_limiter(c, g);
    int redact = proc_redact(c, g);
    if (tail)
        proc_tail(c, g);
    proc_batch(c, g);
    char id[64];
    json_t *ex = json_array();
    push(ex, ex_backend(c, g, id));
    if (kafka_out) {
        ex_kafka(c, g);
        push(ex, "kafka");
    }
    json_t *conns = analysis_connectors(c, g);
    int split = json_array_size(conns) && tail;
    if (json_array_size(conns) && !tail)
        json_array_extend(ex, conns);
    json_t *rx2 = split ? json_deep_copy(rx) : NULL;
    pipeline(g, "traces", rx, procs_processing(redact, tail), ex);
    if (split) /* RED metrics must count every span, not only the sampled ones */
        pipeline(g, "traces/analysis", rx2, procs_processing(redact, 0), json_deep_copy(conns));
    if (json_array_size(conns))
        pipeline(g, "metrics", conns, r_strs("memory_limiter", "batch", NULL),
                 r_strs("prometheus", NULL));
    else
        json_decref(conns);
}

/* The config of a single-tier collector. */
static void config_single(struct rctx *c, struct cfg *g) {
    json_t *rx = rx_ingest(c, g);
    int kin = kafka_receiver_on(c), kout = kafka_exporter_on(c);
    if (kin && kout) {
        /* Kafka as a buffer: ingest -> kafka topic -> processing -> backend */
        proc_memory_limiter(c, g);
        int redact = proc_redact(c, g);
        proc_batch(c, g);
        ex_kafka(c, g);
        pipeline(g, "traces/ingest", rx, procs_processing(redact, 0), r_strs("kafka", NULL));
        rx_kafka(c, g);
        processing(c, g, r_strs("kafka", NULL), c->tail, 0);
        return;
    }
    if (kin) {
        rx_kafka(c, g);
        push(rx, "kafka");
    }
    processing(c, g, rx, c->tail, kout);
}

static void config_loadbalancer(struct rctx *c, struct cfg *g) {
    char headless[R_NAME_MAX], svc[2 * R_NAME_MAX];
    r_name(c, "sampler-headless", headless);
    snprintf(svc, sizeof(svc), "%s.%s", headless, c->ns);
    json_t *rx = rx_ingest(c, g);
    proc_memory_limiter(c, g);
    json_t *lb = json_object();
    r_set(lb, "routing_key", r_s("traceID"));
    r_set(lb, "protocol", json_pack("{s:{s:{s:b}}}", "otlp", "tls", "insecure", 1));
    r_set(lb, "resolver", json_pack("{s:{s:s, s:[i]}}", "k8s", "service", svc, "ports", 4317));
    r_set(g->exporters, "loadbalancing", lb);
    int kin = kafka_receiver_on(c), kout = kafka_exporter_on(c);
    if (kin && kout) {
        ex_kafka(c, g);
        pipeline(g, "traces/ingest", rx, r_strs("memory_limiter", NULL), r_strs("kafka", NULL));
        rx_kafka(c, g);
        rx = r_strs("kafka", NULL);
    } else if (kin) {
        rx_kafka(c, g);
        push(rx, "kafka");
    }
    pipeline(g, "traces", rx, r_strs("memory_limiter", NULL), r_strs("loadbalancing", NULL));
}

static void config_sampler(struct rctx *c, struct cfg *g) {
    rx_otlp(g, 0); /* the load-balancing tier speaks OTLP/gRPC only */
    int kout = kafka_exporter_on(c) && !kafka_receiver_on(c);
    processing(c, g, r_strs("otlp", NULL), 1, kout);
}

/* The whole collector.yaml document (new ref). */
static json_t *cfg_document(struct cfg *g) {
    json_t *doc = json_object();
    json_object_set(doc, "receivers", g->receivers);
    json_object_set(doc, "processors", g->processors);
    json_object_set(doc, "exporters", g->exporters);
    if (json_object_size(g->connectors))
        json_object_set(doc, "connectors", g->connectors);
    r_set(doc, "extensions", r_kv("health_check", endpoint("0.0.0.0:13133"), NULL));
    json_t *svc = json_object();
    r_set(svc, "extensions", r_strs("health_check", NULL));
    r_set(svc, "telemetry",
          r_kv("metrics",
               r_kv("readers",
                    r_arr(r_kv("pull",
                               r_kv("exporter",
                                    r_kv("prometheus",
                                         r_kv("host", r_s("0.0.0.0"), "port", json_integer(8888),
                                              NULL),
                                         NULL),
                                    NULL),
                               NULL),
                          NULL),
                    NULL),
               NULL));
    json_object_set(svc, "pipelines", g->pipelines);
    r_set(doc, "service", svc);
    return doc;
}

/* ---- Kubernetes objects ---- */

static json_t *container_ports(const struct cfg *g) {
    json_t *p = json_array();
    json_array_append_new(p, r_port("otlp-grpc", 4317, NULL));
    if (g->http_rx)
        json_array_append_new(p, r_port("otlp-http", 4318, NULL));
    if (g->jaeger_rx) {
        json_array_append_new(p, r_port("jaeger-grpc", 14250, NULL));
        json_array_append_new(p, r_port("jaeger-thrift", 14268, NULL));
        json_array_append_new(p, r_port("jaeger-compact", 6831, "UDP"));
    }
    if (g->zipkin_rx)
        json_array_append_new(p, r_port("zipkin", 9411, NULL));
    json_array_append_new(p, r_port("metrics", 8888, NULL));
    if (g->prom)
        json_array_append_new(p, r_port("prom", 8889, NULL));
    json_array_append_new(p, r_port("health", 13133, NULL));
    return p;
}

static json_t *service_ports(const struct cfg *g) {
    json_t *p = json_array();
    json_array_append_new(p, r_svc_port("otlp-grpc", 4317, NULL));
    if (g->http_rx)
        json_array_append_new(p, r_svc_port("otlp-http", 4318, NULL));
    if (g->jaeger_rx) {
        json_array_append_new(p, r_svc_port("jaeger-grpc", 14250, NULL));
        json_array_append_new(p, r_svc_port("jaeger-thrift", 14268, NULL));
        json_array_append_new(p, r_svc_port("jaeger-compact", 6831, "UDP"));
    }
    if (g->zipkin_rx)
        json_array_append_new(p, r_svc_port("zipkin", 9411, NULL));
    json_array_append_new(p, r_svc_port("metrics", 8888, NULL));
    if (g->prom)
        json_array_append_new(p, r_svc_port("prom", 8889, NULL));
    return p;
}

static json_t *pod_spec(struct rctx *c, const struct cfg *g, const char *cm, const char *sa) {
    json_t *ctr = json_object();
    r_set(ctr, "name", r_s("collector"));
    r_set(ctr, "image", r_s(r_str(c->spec, "collector.image", TM_DEFAULT_COLLECTOR_IMAGE)));
    r_set(ctr, "args", r_strs("--config=" CFG_DIR "/" CFG_KEY, NULL));
    if (json_array_size(g->env))
        r_set(ctr, "env", json_deep_copy(g->env));
    r_set(ctr, "ports", container_ports(g));
    r_set(ctr, "livenessProbe", r_http_probe("/", 13133, 5));
    r_set(ctr, "readinessProbe", r_http_probe("/", 13133, 2));
    const json_t *res = r_get(c->spec, "collector.resources");
    r_set(ctr, "resources", json_is_object(res) ? json_deep_copy(res) : json_object());
    r_set(ctr, "securityContext", r_container_security(c));
    r_set(
        ctr, "volumeMounts",
        r_arr(r_kv("name", r_s("config"), "mountPath", r_s(CFG_DIR), "readOnly", json_true(), NULL),
              NULL));
    json_t *spec = json_object();
    r_set(spec, "serviceAccountName", r_s(sa));
    r_set(spec, "securityContext", r_pod_security(c));
    r_set(spec, "containers", r_arr(ctr, NULL));
    r_set(spec, "volumes",
          r_arr(r_kv("name", r_s("config"), "configMap",
                     r_kv("name", r_s(cm), "items",
                          r_arr(r_kv("key", r_s(CFG_KEY), "path", r_s(CFG_KEY), NULL), NULL), NULL),
                     NULL),
                NULL));
    return spec;
}

/* Deployment, DaemonSet or StatefulSet "<model>-<suffix>" running config g from the
 * ConfigMap of that name. */
static json_t *workload(struct rctx *c, const char *kind, const char *suffix, int replicas,
                        const char *service, const struct cfg *g, int text) {
    char name[R_NAME_MAX], objname[R_NAME_MAX];
    r_name(c, suffix, name);
    /* only the object's own name is cut to its kind's limit; the labels, the
     * selector and the ConfigMap keep "<model>-<suffix>" */
    json_t *w = r_object(c, "apps/v1", kind, r_name_fit(c, suffix, kind, objname), "collector",
                         NULL);
    json_t *spec = json_object();
    if (strcmp(kind, "DaemonSet") != 0)
        r_set(spec, "replicas", json_integer(replicas));
    if (!strcmp(kind, "StatefulSet")) {
        r_set(spec, "serviceName", r_s(service));
        r_set(spec, "podManagementPolicy", r_s("Parallel"));
    }
    r_set(spec, "selector", r_kv("matchLabels", r_selector_labels(c, name), NULL));
    r_set(spec, "template", r_pod_template(c, name, "collector", text, pod_spec(c, g, name, name)));
    r_set(w, "spec", spec);
    return w;
}

static json_t *service(struct rctx *c, const char *name, const char *selector, const struct cfg *g,
                       int headless, int node_local) {
    json_t *s = r_object(c, "v1", "Service", name, "collector", NULL);
    json_t *spec = json_object();
    r_set(spec, "type", r_s("ClusterIP"));
    if (headless)
        r_set(spec, "clusterIP", r_s("None"));
    if (node_local) /* DaemonSet agents: pods talk to the collector on their own node */
        r_set(spec, "internalTrafficPolicy", r_s("Local"));
    r_set(spec, "selector", r_selector_labels(c, selector));
    r_set(spec, "ports", service_ports(g));
    r_set(s, "spec", spec);
    return s;
}

static json_t *service_account(struct rctx *c, const char *name, int token) {
    json_t *sa = r_object(c, "v1", "ServiceAccount", name, "collector", NULL);
    r_set(sa, "automountServiceAccountToken", json_boolean(token));
    return sa;
}

/* Role + RoleBinding letting the load-balancing tier's resolver.k8s watch endpoints. */
static void lb_rbac(struct rctx *c, const char *name) {
    json_t *role = r_object(c, "rbac.authorization.k8s.io/v1", "Role", name, "collector", NULL);
    r_set(role, "rules",
          json_pack("[{s:[s], s:[s], s:[s, s, s]}, {s:[s], s:[s], s:[s, s, s]}]", "apiGroups", "",
                    "resources", "endpoints", "verbs", "get", "list", "watch", "apiGroups",
                    "discovery.k8s.io", "resources", "endpointslices", "verbs", "get", "list",
                    "watch"));
    r_emit(c, role);
    json_t *rb =
        r_object(c, "rbac.authorization.k8s.io/v1", "RoleBinding", name, "collector", NULL);
    r_set(rb, "roleRef",
          json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io", "kind", "Role",
                    "name", name));
    r_set(
        rb, "subjects",
        json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount", "name", name, "namespace", c->ns));
    r_emit(c, rb);
}

/* Renders config g as ConfigMap `name`; returns its text slot. */
static int emit_config(struct rctx *c, struct cfg *g, const char *name) {
    return r_configmap_yaml(c, name, "collector", CFG_KEY, cfg_document(g));
}

static void render_two_tier(struct rctx *c) {
    char coll[R_NAME_MAX], samp[R_NAME_MAX], headless[R_NAME_MAX];
    r_name(c, "collector", coll);
    r_name(c, "sampler", samp);
    r_name(c, "sampler-headless", headless);

    struct cfg lb, sp;
    cfg_init(&lb);
    cfg_init(&sp);
    config_loadbalancer(c, &lb);
    config_sampler(c, &sp);

    r_emit(c, service_account(c, coll, 1));
    lb_rbac(c, coll);
    int lb_text = emit_config(c, &lb, coll);
    r_emit(c, service(c, coll, coll, &lb, 0, 0));
    r_emit(c, workload(c, "Deployment", "collector", c->replicas, NULL, &lb, lb_text));

    r_emit(c, service_account(c, samp, 0));
    int sp_text = emit_config(c, &sp, samp);
    r_emit(c, service(c, headless, samp, &sp, 1, 0));
    r_emit(c, workload(c, "StatefulSet", "sampler", c->replicas, headless, &sp, sp_text));
    cfg_done(&lb);
    cfg_done(&sp);
}

void render_collector(struct rctx *c) {
    if (c->two_tier) {
        render_two_tier(c);
        return;
    }
    char name[R_NAME_MAX];
    r_name(c, "collector", name);
    struct cfg g;
    cfg_init(&g);
    config_single(c, &g);
    if (!strcmp(c->mode, "sidecar")) {
        /* Sidecar mode: only the configuration. The webhook injects the collector
         * container (and mounts this ConfigMap) into each opted-in pod; there is no
         * workload, Service or ServiceAccount of our own. */
        emit_config(c, &g, name);
        cfg_done(&g);
        return;
    }
    const char *kind = !strcmp(c->mode, "daemonset")     ? "DaemonSet"
                       : !strcmp(c->mode, "statefulset") ? "StatefulSet"
                                                         : "Deployment";
    r_emit(c, service_account(c, name, 0));
    int text = emit_config(c, &g, name);
    r_emit(c, service(c, name, name, &g, 0, !strcmp(kind, "DaemonSet")));
    r_emit(c, workload(c, kind, "collector", c->replicas, name, &g, text));
    cfg_done(&g);
}
