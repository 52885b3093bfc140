/* test_render_collector.c - the collector renderer: pipeline and processor order, the
 * config-hash annotation, redaction, the two-tier tail-sampling layout, collector
 * modes, backend exporters, secrets kept out of the config, receivers and ports,
 * RED-metrics connectors, and the errors render_model reports for bad input. */
#include "test_render_helpers.h"

#include "base/units.h"

#define BASE "tests/fixtures/render/base.yaml"

static json_t *rules_array(void) {
    return json_pack("[{s:s, s:s, s:f, s:i}, {s:s, s:s, s:f, s:i}]", "name", "errors", "condition",
                     "status == ERROR", "rate", 1.0, "priority", 1, "name", "slow", "condition",
                     "duration > 1s", "rate", 1.0, "priority", 2);
}

/* new ref: the parsed collector.yaml of ConfigMap name. */
static json_t *config_of(const json_t *manifests, const char *name) {
    return rt_cm_doc(manifests, name, "collector.yaml");
}

static void assert_order(const json_t *cfg, int expect_tail) {
    const char *pname;
    json_t *p;
    int saw_tail = 0;
    json_object_foreach(tm_get(cfg, "service.pipelines"), pname, p) {
        json_t *procs = json_object_get(p, "processors");
        size_t n = json_array_size(procs);
        assert_true(n >= 1);
        assert_int_equal(rt_index(procs, "memory_limiter"), 0);
        int batch = rt_index(procs, "batch");
        if (batch >= 0)
            assert_int_equal(batch, (int)n - 1);
        int tail = rt_index(procs, "tail_sampling");
        if (tail >= 0) {
            saw_tail = 1;
            assert_true(tail < batch);
            int redact = rt_index(procs, "attributes/redact");
            if (redact >= 0)
                assert_true(redact < tail);
        }
        /* every processor a pipeline names is defined */
        size_t i;
        json_t *v;
        json_array_foreach(procs, i, v) {
            assert_non_null(json_object_get(json_object_get(cfg, "processors"),
                                            json_string_value(v)));
        }
    }
    assert_int_equal(saw_tail, expect_tail);
}

static void processor_order(void **state) {
    (void)state;
    /* one tier without and with tail sampling, with analysis, with Kafka in both directions */
    for (int variant = 0; variant < 4; variant++) {
        json_t *m = rt_model(BASE);
        if (variant >= 1)
            rt_set(m, "spec.sampling.rules", rules_array());
        if (variant >= 2) {
            rt_set(m, "spec.collector.spanMetrics.enabled", json_true());
            rt_set(m, "spec.collector.serviceGraph.enabled", json_true());
        }
        if (variant == 3) {
            rt_set(m, "spec.collector.kafka",
                   json_pack("{s:[s], s:s, s:b, s:b}", "brokers", "kafka:9092", "topic", "spans",
                             "exporter", 1, "receiver", 1));
        }
        rt_set(m, "spec.sampling.tail.enabled", json_boolean(variant >= 1));
        struct render_result r = rt_render(m);
        json_t *cfg = config_of(r.manifests, "demo-collector");
        assert_order(cfg, variant >= 1);
        if (variant == 2) { /* RED metrics see every span: a pipeline without tail_sampling */
            json_t *an = tm_get(cfg, "service.pipelines.traces/analysis");
            assert_non_null(an);
            assert_int_equal(rt_index(json_object_get(an, "processors"), "tail_sampling"), -1);
            assert_true(rt_index(json_object_get(an, "exporters"), "spanmetrics") >= 0);
        }
        if (variant == 3) { /* Kafka as a buffer: ingest -> topic -> processing */
            json_t *ingest = tm_get(cfg, "service.pipelines.traces/ingest");
            assert_non_null(ingest);
            assert_int_equal(rt_index(json_object_get(ingest, "exporters"), "kafka"), 0);
            json_t *tr = tm_get(cfg, "service.pipelines.traces");
            assert_int_equal(rt_index(json_object_get(tr, "receivers"), "kafka"), 0);
            assert_string_equal(tm_get_str(cfg, "exporters.kafka.traces.topic", ""), "spans");
            assert_true(json_is_true(tm_get(cfg, "exporters.kafka.partition_traces_by_id")));
        }
        json_decref(cfg);
        render_result_done(&r);
        json_decref(m);
    }
}

static const char *hash_of(const json_t *manifests, const char *kind, const char *name) {
    json_t *w = rt_find(manifests, kind, name);
    assert_non_null(w);
    json_t *ann = tm_get(w, "spec.template.metadata.annotations");
    const char *h = json_string_value(json_object_get(ann, "tracemodel.dev/config-hash"));
    assert_non_null(h);
    return h;
}

static void config_hash(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    struct render_result a = rt_render(m), b = rt_render(m);
    const char *text = rt_cm_text(a.manifests, "demo-collector", "collector.yaml");
    char want[65];
    sha256_hex(text, strlen(text), want);
    assert_string_equal(hash_of(a.manifests, "Deployment", "demo-collector"), want);
    /* same model, same hash */
    assert_string_equal(hash_of(b.manifests, "Deployment", "demo-collector"), want);
    /* a config change changes the hash, so the Deployment rolls */
    rt_set(m, "spec.collector.batch.timeout", json_string("5s"));
    struct render_result c = rt_render(m);
    assert_string_not_equal(hash_of(c.manifests, "Deployment", "demo-collector"), want);
    json_t *cfg = config_of(c.manifests, "demo-collector");
    assert_string_equal(tm_get_str(cfg, "processors.batch.timeout", ""), "5s");
    json_decref(cfg);
    render_result_done(&a);
    render_result_done(&b);
    render_result_done(&c);
    json_decref(m);
}

static void redaction(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.collector.redact", json_pack("[s, s]", "password", "user.email"));
    struct render_result r = rt_render(m);
    json_t *cfg = config_of(r.manifests, "demo-collector");
    json_t *want = json_pack("[{s:s, s:s}, {s:s, s:s}]", "key", "password", "action", "delete",
                             "key", "user.email", "action", "delete");
    tu_assert_json_equal(want, tm_get(cfg, "processors.attributes/redact.actions"), "actions");
    tu_assert_json_equal(want, tm_get(cfg, "processors.resource/redact.attributes"), "resource");
    json_t *procs = tm_get(cfg, "service.pipelines.traces.processors");
    assert_int_equal(rt_index(procs, "attributes/redact"), 1);
    assert_int_equal(rt_index(procs, "resource/redact"), 2);
    json_decref(want);
    json_decref(cfg);
    render_result_done(&r);

    /* an empty list: no processor, and no pipeline names one */
    rt_set(m, "spec.collector.redact", json_array());
    r = rt_render(m);
    cfg = config_of(r.manifests, "demo-collector");
    assert_null(tm_get(cfg, "processors.attributes/redact"));
    assert_null(tm_get(cfg, "processors.resource/redact"));
    assert_int_equal(rt_index(tm_get(cfg, "service.pipelines.traces.processors"),
                              "attributes/redact"),
                     -1);
    json_decref(cfg);
    render_result_done(&r);
    json_decref(m);
}

static void two_tier(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.sampling.rules", rules_array());
    rt_set(m, "spec.sampling.tail.enabled", json_true());
    rt_set(m, "spec.collector.replicas", json_integer(3));
    struct render_result r = rt_render(m);
    const json_t *all = r.manifests;

    json_t *lbw = rt_find(all, "Deployment", "demo-collector");
    assert_non_null(lbw);
    assert_int_equal(json_integer_value(tm_get(lbw, "spec.replicas")), 3);
    json_t *sts = rt_find(all, "StatefulSet", "demo-sampler");
    assert_non_null(sts);
    assert_int_equal(json_integer_value(tm_get(sts, "spec.replicas")), 3);
    assert_string_equal(tm_get_str(sts, "spec.serviceName", ""), "demo-sampler-headless");
    json_t *hl = rt_find(all, "Service", "demo-sampler-headless");
    assert_non_null(hl);
    assert_string_equal(tm_get_str(hl, "spec.clusterIP", ""), "None");
    assert_int_equal(json_integer_value(tm_get(json_array_get(tm_get(hl, "spec.ports"), 0), "port")),
                     4317);

    /* the resolver watches endpoints: Role + RoleBinding for the LB tier's account */
    json_t *role = rt_find(all, "Role", "demo-collector");
    assert_non_null(role);
    char *rules = json_dumps(json_object_get(role, "rules"), JSON_COMPACT);
    assert_non_null(strstr(rules, "\"endpoints\""));
    assert_non_null(strstr(rules, "\"discovery.k8s.io\""));
    assert_non_null(strstr(rules, "\"endpointslices\""));
    assert_non_null(strstr(rules, "\"watch\""));
    free(rules);
    json_t *rb = rt_find(all, "RoleBinding", "demo-collector");
    assert_string_equal(tm_get_str(rb, "roleRef.name", ""), "demo-collector");
    json_t *subj = json_array_get(json_object_get(rb, "subjects"), 0);
    assert_string_equal(tm_get_str(subj, "name", ""), "demo-collector");
    assert_string_equal(tm_get_str(subj, "namespace", ""), "obs");
    assert_string_equal(tm_get_str(lbw, "spec.template.spec.serviceAccountName", ""),
                        "demo-collector");
    assert_true(json_is_true(
        json_object_get(rt_find(all, "ServiceAccount", "demo-collector"),
                        "automountServiceAccountToken")));
    assert_true(json_is_false(json_object_get(rt_find(all, "ServiceAccount", "demo-sampler"),
                                              "automountServiceAccountToken")));

    /* LB tier: otlp -> memory_limiter -> loadbalancing(traceID, k8s resolver) */
    json_t *lb = config_of(all, "demo-collector");
    json_t *want = json_pack("{s:s, s:{s:{s:{s:b}}}, s:{s:{s:s, s:[i]}}}", "routing_key", "traceID",
                             "protocol", "otlp", "tls", "insecure", 1, "resolver", "k8s", "service",
                             "demo-sampler-headless.obs", "ports", 4317);
    tu_assert_json_equal(want, tm_get(lb, "exporters.loadbalancing"), "loadbalancing");
    json_decref(want);
    want = json_pack("{s:[s], s:[s], s:[s]}", "receivers", "otlp", "processors", "memory_limiter",
                     "exporters", "loadbalancing");
    tu_assert_json_equal(want, tm_get(lb, "service.pipelines.traces"), "LB pipeline");
    json_decref(want);
    assert_null(tm_get(lb, "processors.tail_sampling"));
    json_decref(lb);

    /* sampler tier: tail sampling on whole traces, export to the backend */
    json_t *sp = config_of(all, "demo-sampler");
    assert_order(sp, 1);
    json_t *pol = tm_get(sp, "processors.tail_sampling.policies");
    assert_int_equal(json_array_size(pol), 2);
    assert_string_equal(tm_get_str(json_array_get(pol, 0), "name", ""), "errors");
    assert_string_equal(tm_get_str(json_array_get(pol, 1), "type", ""), "latency");
    assert_string_equal(tm_get_str(sp, "processors.tail_sampling.decision_wait", ""), "10s");
    assert_int_equal(json_integer_value(tm_get(sp, "processors.tail_sampling.num_traces")), 50000);
    assert_non_null(tm_get(sp, "exporters.otlp_grpc/tempo"));
    /* the sampler pods roll when their own config changes */
    const char *text = rt_cm_text(all, "demo-sampler", "collector.yaml");
    char h[65];
    sha256_hex(text, strlen(text), h);
    assert_string_equal(hash_of(all, "StatefulSet", "demo-sampler"), h);
    json_decref(sp);
    render_result_done(&r);

    /* one replica: a single tier does the tail sampling itself */
    rt_set(m, "spec.collector.replicas", json_integer(1));
    r = rt_render(m);
    assert_null(rt_find(r.manifests, "StatefulSet", "demo-sampler"));
    assert_int_equal(rt_count(r.manifests, "Role"), 0);
    json_t *cfg = config_of(r.manifests, "demo-collector");
    assert_non_null(tm_get(cfg, "processors.tail_sampling"));
    json_decref(cfg);
    render_result_done(&r);
    json_decref(m);
}

static void modes(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.collector.mode", json_string("daemonset"));
    rt_set(m, "spec.collector.replicas", json_integer(4));
    struct render_result r = rt_render(m);
    json_t *ds = rt_find(r.manifests, "DaemonSet", "demo-collector");
    assert_non_null(ds);
    assert_null(tm_get(ds, "spec.replicas"));
    assert_int_equal(rt_count(r.manifests, "Deployment"), 0);
    assert_string_equal(tm_get_str(rt_find(r.manifests, "Service", "demo-collector"),
                                   "spec.internalTrafficPolicy", ""),
                        "Local");
    render_result_done(&r);

    rt_set(m, "spec.collector.mode", json_string("statefulset"));
    r = rt_render(m);
    json_t *sts = rt_find(r.manifests, "StatefulSet", "demo-collector");
    assert_non_null(sts);
    assert_string_equal(tm_get_str(sts, "spec.serviceName", ""), "demo-collector");
    assert_int_equal(json_integer_value(tm_get(sts, "spec.replicas")), 4);
    render_result_done(&r);

    /* sidecar: the ConfigMap only; pods export to the collector in their own pod */
    rt_set(m, "spec.collector.mode", json_string("sidecar"));
    r = rt_render(m);
    size_t i, collector_objects = 0;
    json_t *o;
    json_array_foreach(r.manifests, i, o) {
        const char *comp = json_string_value(
            json_object_get(tm_get(o, "metadata.labels"), "app.kubernetes.io/component"));
        collector_objects += !strcmp(comp, "collector");
    }
    assert_int_equal(collector_objects, 1);
    assert_non_null(rt_find(r.manifests, "ConfigMap", "demo-collector"));
    assert_int_equal(rt_count(r.manifests, "Deployment") + rt_count(r.manifests, "DaemonSet") +
                         rt_count(r.manifests, "ServiceAccount"),
                     0);
    assert_null(rt_find(r.manifests, "Service", "demo-collector"));
    assert_non_null(rt_find(r.manifests, "StatefulSet", "demo-tempo")); /* backend unchanged */
    assert_string_equal(tm_get_str(r.endpoints, "otlpGrpc", ""), "http://localhost:4317");
    render_result_done(&r);
    json_decref(m);
}

static void endpoints_and_workload(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    struct render_result r = rt_render(m);
    json_t *want = json_pack("{s:s, s:s}", "otlpGrpc", "http://demo-collector.obs.svc:4317",
                             "otlpHttp", "http://demo-collector.obs.svc:4318");
    tu_assert_json_equal(want, r.endpoints, "endpoints");
    json_decref(want);
    json_t *d = rt_find(r.manifests, "Deployment", "demo-collector");
    json_t *ctr = rt_container(d);
    assert_string_equal(tm_get_str(ctr, "image", ""), "otel/opentelemetry-collector-contrib:0.158.0");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ctr, "args"), 0)),
                        "--config=/conf/collector.yaml");
    assert_string_equal(tm_get_str(ctr, "livenessProbe.httpGet.path", ""), "/");
    assert_int_equal(json_integer_value(tm_get(ctr, "readinessProbe.httpGet.port")), 13133);
    json_t *sc = json_object_get(ctr, "securityContext");
    assert_true(json_is_true(json_object_get(sc, "runAsNonRoot")));
    assert_int_equal(json_integer_value(json_object_get(sc, "runAsUser")), 10001);
    assert_true(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
    assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
    assert_string_equal(tm_get_str(sc, "seccompProfile.type", ""), "RuntimeDefault");
    assert_string_equal(json_string_value(json_array_get(tm_get(sc, "capabilities.drop"), 0)),
                        "ALL");
    assert_string_equal(tm_get_str(ctr, "resources.limits.memory", ""), "1Gi");
    json_t *vol = json_array_get(tm_get(d, "spec.template.spec.volumes"), 0);
    assert_string_equal(tm_get_str(vol, "configMap.name", ""), "demo-collector");
    /* service ports: OTLP both ways, self metrics; no prom port without analysis */
    json_t *svc = rt_find(r.manifests, "Service", "demo-collector");
    char *ports = json_dumps(tm_get(svc, "spec.ports"), JSON_COMPACT);
    assert_non_null(strstr(ports, "\"otlp-grpc\""));
    assert_non_null(strstr(ports, "\"otlp-http\""));
    assert_non_null(strstr(ports, "8888"));
    assert_null(strstr(ports, "8889"));
    free(ports);
    /* the config: health_check on 13133, own metrics on 8888 */
    json_t *cfg = config_of(r.manifests, "demo-collector");
    assert_string_equal(tm_get_str(cfg, "extensions.health_check.endpoint", ""), "0.0.0.0:13133");
    assert_int_equal(rt_index(tm_get(cfg, "service.extensions"), "health_check"), 0);
    json_t *reader = json_array_get(tm_get(cfg, "service.telemetry.metrics.readers"), 0);
    assert_int_equal(json_integer_value(tm_get(reader, "pull.exporter.prometheus.port")), 8888);
    assert_string_equal(tm_get_str(cfg, "receivers.otlp.protocols.grpc.endpoint", ""),
                        "0.0.0.0:4317");
    assert_string_equal(tm_get_str(cfg, "receivers.otlp.protocols.http.endpoint", ""),
                        "0.0.0.0:4318");
    json_decref(cfg);
    render_result_done(&r);

    /* the collector's resources come from the model */
    rt_set(m, "spec.collector.resources", json_pack("{s:{s:s}}", "limits", "memory", "3Gi"));
    r = rt_render(m);
    ctr = rt_container(rt_find(r.manifests, "Deployment", "demo-collector"));
    assert_string_equal(tm_get_str(ctr, "resources.limits.memory", ""), "3Gi");
    assert_null(tm_get(ctr, "resources.requests"));
    render_result_done(&r);
    json_decref(m);
}

static void backends(void **state) {
    (void)state;
    static const struct {
        const char *type;
        int operator_cr;
        const char *image, *exporter, *endpoint;
    } cases[] = {
        {"tempo", 0, NULL, "otlp_grpc/tempo", "demo-tempo.obs.svc:4317"},
        {"tempo", 1, NULL, "otlp_grpc/tempo", "tempo-demo-tempo.obs.svc:4317"},
        {"jaeger", 0, NULL, "otlp_grpc/jaeger", "demo-jaeger-collector.obs.svc:4317"},
        {"jaeger", 1, NULL, "otlp_grpc/jaeger", "demo-jaeger-collector.obs.svc:4317"},
        /* before 0.144 the OTLP/gRPC exporter is only called "otlp" */
        {"tempo", 0, "otel/opentelemetry-collector-contrib:0.120.0", "otlp/tempo",
         "demo-tempo.obs.svc:4317"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load(BASE);
        rt_set(doc, "spec.backend.type", json_string(cases[i].type));
        char path[64];
        snprintf(path, sizeof(path), "spec.backend.%s.useOperatorCR", cases[i].type);
        rt_set(doc, path, json_boolean(cases[i].operator_cr));
        if (cases[i].image)
            rt_set(doc, "spec.collector.image", json_string(cases[i].image));
        json_t *m = tm_default(doc);
        struct render_result r = rt_render(m);
        json_t *cfg = config_of(r.manifests, "demo-collector");
        json_t *ex = json_object_get(json_object_get(cfg, "exporters"), cases[i].exporter);
        assert_non_null(ex);
        assert_string_equal(tm_get_str(ex, "endpoint", ""), cases[i].endpoint);
        assert_true(json_is_true(tm_get(ex, "tls.insecure")));
        assert_int_equal(rt_index(tm_get(cfg, "service.pipelines.traces.exporters"),
                                  cases[i].exporter),
                         0);
        json_decref(cfg);
        render_result_done(&r);
        json_decref(m);
        json_decref(doc);
    }
}

/* Walks every string of v; fails if one contains needle. */
static void assert_no_string_containing(const json_t *v, const char *needle) {
    size_t i;
    const char *k;
    json_t *x;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, k, x) assert_no_string_containing(x, needle);
        break;
    case JSON_ARRAY:
        json_array_foreach((json_t *)v, i, x) assert_no_string_containing(x, needle);
        break;
    case JSON_STRING:
        if (strstr(json_string_value(v), needle))
            fail_msg("output contains \"%s\" in \"%.120s\"", needle, json_string_value(v));
        break;
    default:
        break;
    }
}

static void otlp_secret_header(void **state) {
    (void)state;
    json_t *doc = tu_load(BASE);
    rt_set(doc, "spec.backend",
           json_pack("{s:s, s:{s:s, s:{s:s}, s:{s:s, s:s}}}", "type", "otlp", "otlp", "endpoint",
                     "otlp.example.com:4317", "headers", "x-tenant", "acme", "secretRef", "name",
                     "vendor-token", "key", "token"));
    json_t *m = tm_default(doc);
    struct render_result r = rt_render(m);
    json_t *cfg = config_of(r.manifests, "demo-collector");
    json_t *ex = tm_get(cfg, "exporters.otlp_grpc");
    assert_string_equal(tm_get_str(ex, "endpoint", ""), "otlp.example.com:4317");
    assert_true(json_is_false(tm_get(ex, "tls.insecure")));
    json_t *h = json_object_get(ex, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "x-tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(h, "authorization")),
                        "${env:OTLP_AUTH_HEADER}");
    json_t *env = rt_env(rt_container(rt_find(r.manifests, "Deployment", "demo-collector")),
                         "OTLP_AUTH_HEADER");
    assert_non_null(env);
    assert_null(json_object_get(env, "value"));
    assert_string_equal(tm_get_str(env, "valueFrom.secretKeyRef.name", ""), "vendor-token");
    assert_string_equal(tm_get_str(env, "valueFrom.secretKeyRef.key", ""), "token");
    /* no Grafana datasource and no backend objects for an external endpoint */
    assert_int_equal(rt_count(r.manifests, "ConfigMap"), 1);
    assert_int_equal(rt_count(r.manifests, "StatefulSet"), 0);
    json_decref(cfg);
    render_result_done(&r);
    json_decref(m);
    json_decref(doc);

    /* Jaeger on Elasticsearch: the password reaches pods only by secretKeyRef, and the
     * name of the key holding it appears nowhere but in those references */
    doc = tu_load(BASE);
    rt_set(doc, "spec.backend",
           json_pack("{s:s, s:{s:{s:s, s:{s:s, s:{s:s, s:s, s:s}}}}}", "type", "jaeger", "jaeger",
                     "storage", "type", "elasticsearch", "elasticsearch", "url", "http://es:9200",
                     "secretRef", "name", "es", "usernameKey", "user-k3y", "passwordKey",
                     "pa55-k3y"));
    m = tm_default(doc);
    r = rt_render(m);
    size_t i;
    json_t *o;
    int refs = 0;
    json_array_foreach(r.manifests, i, o) {
        json_t *ctr = NULL;
        const char *kind = json_string_value(json_object_get(o, "kind"));
        if (!strcmp(kind, "Deployment") || !strcmp(kind, "CronJob"))
            ctr = rt_container(o);
        json_t *pw = ctr ? rt_env(ctr, "ES_PASSWORD") : NULL;
        if (pw) {
            assert_null(json_object_get(pw, "value"));
            assert_string_equal(tm_get_str(pw, "valueFrom.secretKeyRef.key", ""), "pa55-k3y");
            refs++;
            json_object_del(pw, "valueFrom"); /* then the key must not appear elsewhere */
        }
    }
    assert_int_equal(refs, 2); /* all-in-one + index cleaner */
    assert_no_string_containing(r.manifests, "pa55-k3y");
    render_result_done(&r);
    json_decref(m);
    json_decref(doc);
}

static void receivers_and_analysis(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.collector.receivers", json_pack("{s:b, s:b}", "jaeger", 1, "zipkin", 1));
    rt_set(m, "spec.collector.spanMetrics",
           json_pack("{s:b, s:[s], s:[s, s]}", "enabled", 1, "dimensions", "http.method",
                     "histogramBuckets", "100ms", "1s"));
    rt_set(m, "spec.collector.serviceGraph.enabled", json_true());
    struct render_result r = rt_render(m);
    json_t *cfg = config_of(r.manifests, "demo-collector");
    assert_string_equal(tm_get_str(cfg, "receivers.jaeger.protocols.grpc.endpoint", ""),
                        "0.0.0.0:14250");
    assert_string_equal(tm_get_str(cfg, "receivers.zipkin.endpoint", ""), "0.0.0.0:9411");
    json_t *rx = tm_get(cfg, "service.pipelines.traces.receivers");
    assert_true(rt_index(rx, "jaeger") > 0 && rt_index(rx, "zipkin") > 0);
    /* connectors feed a metrics pipeline that exports to prometheus on 8889 */
    assert_string_equal(tm_get_str(cfg, "connectors.spanmetrics.namespace", ""),
                        "traces.span.metrics");
    assert_string_equal(
        json_string_value(json_array_get(tm_get(cfg, "connectors.spanmetrics.histogram.explicit.buckets"), 1)),
        "1s");
    assert_string_equal(
        tm_get_str(json_array_get(tm_get(cfg, "connectors.spanmetrics.dimensions"), 0), "name", ""),
        "http.method");
    assert_non_null(tm_get(cfg, "connectors.servicegraph"));
    json_t *tex = tm_get(cfg, "service.pipelines.traces.exporters");
    assert_true(rt_index(tex, "spanmetrics") > 0 && rt_index(tex, "servicegraph") > 0);
    json_t *mp = tm_get(cfg, "service.pipelines.metrics");
    assert_int_equal(rt_index(json_object_get(mp, "receivers"), "spanmetrics"), 0);
    assert_int_equal(rt_index(json_object_get(mp, "exporters"), "prometheus"), 0);
    assert_string_equal(tm_get_str(cfg, "exporters.prometheus.endpoint", ""), "0.0.0.0:8889");
    json_decref(cfg);
    /* ports for all of it on the pod and the Service (UDP for Jaeger compact thrift) */
    json_t *ctr = rt_container(rt_find(r.manifests, "Deployment", "demo-collector"));
    char *ports = json_dumps(json_object_get(ctr, "ports"), JSON_COMPACT);
    assert_non_null(strstr(ports, "14250"));
    assert_non_null(strstr(ports, "\"UDP\""));
    assert_non_null(strstr(ports, "9411"));
    assert_non_null(strstr(ports, "8889"));
    free(ports);
    ports = json_dumps(tm_get(rt_find(r.manifests, "Service", "demo-collector"), "spec.ports"),
                       JSON_COMPACT);
    assert_non_null(strstr(ports, "\"prom\""));
    assert_non_null(strstr(ports, "6831"));
    free(ports);
    render_result_done(&r);
    json_decref(m);
}

/* base.yaml written out with every default renders exactly like base.yaml defaulted:
 * the renderer reads the fields tm_default fills and nothing else. */
static void fully_specified(void **state) {
    (void)state;
    json_t *full = tu_load("tests/fixtures/render/base-full.yaml");
    json_t *m = rt_model(BASE);
    struct render_result a = rt_render(full), b = rt_render(m);
    tu_assert_json_equal(a.manifests, b.manifests, "manifests");
    render_result_done(&a);
    render_result_done(&b);
    json_decref(m);
    json_decref(full);
}

static void bad_input(void **state) {
    (void)state;
    struct diag d;
    struct render_result r;
    diag_init(&d);
    json_t *arr = json_array();
    assert_int_equal(render_model(arr, &r, &d), OP_EINVALID);
    assert_null(r.manifests);
    json_decref(arr);
    diag_done(&d);

    /* path set to a bad value (NULL value = field removed) -> diagnostic at where */
    static const struct {
        const char *path, *value, *where, *msg;
    } cases[] = {
        {"spec", NULL, "spec", "required"},
        {"metadata.name", NULL, "metadata.name", "DNS label"},
        {"metadata.name", "Demo_1", "metadata.name", "DNS label"},
        {"metadata.namespace", "Not_A_Label", "metadata.namespace", "DNS label"},
        {"spec.backend.type", NULL, "spec.backend.type", "one of"},
        {"spec.backend.type", "zipkin", "spec.backend.type", "one of"},
        {"spec.collector.mode", "cronjob", "spec.collector.mode", "one of"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *m = rt_model(BASE);
        if (cases[i].value)
            rt_set(m, cases[i].path, json_string(cases[i].value));
        else
            rt_del(m, cases[i].path);
        d = rt_render_fails(m);
        if (!rt_diag_has(&d, cases[i].where, cases[i].msg)) {
            rt_print_diag(&d);
            fail_msg("case %zu: no diagnostic at %s", i, cases[i].where);
        }
        diag_done(&d);
        json_decref(m);
    }
    json_t *zero = rt_model(BASE);
    rt_set(zero, "spec.collector.replicas", json_integer(0));
    d = rt_render_fails(zero);
    assert_true(rt_diag_has(&d, "spec.collector.replicas", "within"));
    diag_done(&d);
    json_decref(zero);

    /* otlp without an endpoint */
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.backend.type", json_string("otlp"));
    d = rt_render_fails(m);
    assert_true(rt_diag_has(&d, "spec.backend.otlp.endpoint", "required"));
    diag_done(&d);
    json_decref(m);

    /* a 44-character model name fits a Deployment as it is; a StatefulSet (52 characters
     * at most, for its pods' labels) gets a cut name with a hash, its Service does not */
    m = rt_model(BASE);
    rt_set(m, "metadata.name", json_string("abcdefghij-abcdefghij-abcdefghij-abcdefghijk"));
    struct render_result ok = rt_render(m);
    assert_non_null(rt_find(ok.manifests, "Deployment",
                            "abcdefghij-abcdefghij-abcdefghij-abcdefghijk-collector"));
    render_result_done(&ok);
    rt_set(m, "spec.collector.mode", json_string("statefulset"));
    ok = rt_render(m);
    size_t k, found = 0;
    json_t *o;
    json_array_foreach(ok.manifests, k, o) {
        const char *sts = tm_get_str(o, "metadata.name", "");
        if (strcmp(tm_get_str(o, "kind", ""), "StatefulSet") || strlen(sts) < 10 ||
            strcmp(sts + strlen(sts) - 10, "-collector"))
            continue; /* the backend's StatefulSet, if any, is not the collector's */
        found++;
        assert_int_equal(strlen(sts), 52);
        assert_true(strncmp(sts, "abcdefghij-abcdefghij-abcdefghij-ab-", 36) == 0);
        assert_string_equal(sts + strlen(sts) - 10, "-collector");
        assert_string_equal(tm_get_str(o, "spec.serviceName", ""),
                            "abcdefghij-abcdefghij-abcdefghij-abcdefghijk-collector");
    }
    assert_int_equal(found, 1);
    assert_non_null(rt_find(ok.manifests, "Service",
                            "abcdefghij-abcdefghij-abcdefghij-abcdefghijk-collector"));
    render_result_done(&ok);
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(processor_order),
        cmocka_unit_test(config_hash),
        cmocka_unit_test(redaction),
        cmocka_unit_test(two_tier),
        cmocka_unit_test(modes),
        cmocka_unit_test(endpoints_and_workload),
        cmocka_unit_test(backends),
        cmocka_unit_test(otlp_secret_header),
        cmocka_unit_test(receivers_and_analysis),
        cmocka_unit_test(fully_specified),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
