/* jaeger.c - the Jaeger backend (backend.type jaeger).
 *
 * allInOne: Deployment `<m>-jaeger` (all-in-one image) behind two Services,
 * `<m>-jaeger-collector` (OTLP 4317/4318, sampling 5778, Jaeger gRPC 14250 and
 * HTTP 14268) and `<m>-jaeger-query` (UI/API 16686). production: Deployments
 * `<m>-jaeger-collector` and `<m>-jaeger-query` with the jaeger-collector and
 * jaeger-query images of the same version (needs Elasticsearch: memory and badger
 * storage cannot be shared by two processes). Sampling strategies (the file format
 * of ANCHORS.md section 2) come from a ConfigMap `<m>-jaeger-sampling` that the
 * collector re-reads every minute, so a rate change needs no restart (with memory
 * storage a restart would lose every trace). Elasticsearch credentials reach the
 * pods only through secretKeyRefs; retention on Elasticsearch is a CronJob running
 * jaeger-es-index-cleaner. With backend.jaeger.useOperatorCR a `jaegertracing.io/v1
 * Jaeger` object is emitted instead, for the Jaeger operator to run. Pure. */
#include "render/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "model/model.h"

#define SAMPLING_DIR "/etc/jaeger/sampling"
#define SAMPLING_KEY "sampling.json"
#define BADGER_DIR "/badger"
#define MEMORY_MAX_TRACES "100000"
#define ES_CLEANER_SCHEDULE "55 23 * * *"

/* ---- sampling strategies ---- */

/* {type, param} of the default strategy into obj. */
static void default_type_param(const struct rctx *c, json_t *obj) {
    const char *strategy = r_str(c->spec, "sampling.strategy", "probabilistic");
    double rate = r_num(c->spec, "sampling.rate", 1.0);
    if (!strcmp(strategy, "ratelimiting")) {
        r_set(obj, "type", r_s("ratelimiting"));
        r_set(obj, "param", r_number(r_num(c->spec, "sampling.maxTracesPerSecond", 100)));
        return;
    }
    if (!strcmp(strategy, "always_on"))
        rate = 1.0;
    else if (!strcmp(strategy, "always_off"))
        rate = 0.0;
    r_set(obj, "type", r_s("probabilistic"));
    r_set(obj, "param", r_number(rate));
}

/* [{operation, type: probabilistic, param}] from a list of {name, rate}; NULL when empty. */
static json_t *operation_strategies(const json_t *ops) {
    json_t *out = json_array();
    size_t i;
    json_t *op;
    json_array_foreach((json_t *)ops, i, op) {
        const char *name = r_str(op, "name", NULL);
        if (!name)
            continue;
        json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "operation", name, "type",
                                             "probabilistic", "param",
                                             r_number(r_num(op, "rate", 1.0))));
    }
    if (!json_array_size(out)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *render_jaeger_strategies(const struct rctx *c) {
    json_t *def = json_object();
    default_type_param(c, def);
    json_t *ops = operation_strategies(r_get(c->spec, "sampling.operations"));
    if (ops)
        r_set(def, "operation_strategies", ops);
    json_t *services = json_array();
    size_t i;
    json_t *svc;
    json_array_foreach((json_t *)r_get(c->spec, "services"), i, svc) {
        const char *name = r_str(svc, "name", NULL);
        const json_t *rate = r_get(svc, "samplingRate");
        json_t *sops = operation_strategies(r_get(svc, "operations"));
        if (!name || (!json_is_number(rate) && !sops)) {
            json_decref(sops);
            continue; /* nothing of its own: the default strategy applies */
        }
        json_t *s = json_pack("{s:s}", "service", name);
        if (json_is_number(rate)) {
            r_set(s, "type", r_s("probabilistic"));
            r_set(s, "param", r_number(json_number_value(rate)));
        } else {
            default_type_param(c, s);
        }
        if (sops)
            r_set(s, "operation_strategies", sops);
        json_array_append_new(services, s);
    }
    json_t *doc = json_object();
    r_set(doc, "default_strategy", def);
    if (json_array_size(services))
        r_set(doc, "service_strategies", services);
    else
        json_decref(services);
    return doc;
}

/* ---- shared pieces ---- */

static const char *storage_type(const struct rctx *c) {
    return r_str(c->spec, "backend.jaeger.storage.type", "memory");
}

static const char *base_image(const struct rctx *c) {
    return r_str(c->spec, "backend.jaeger.image", TM_DEFAULT_JAEGER_IMAGE);
}

/* Retention as a Go duration ("168h"), default 7 days. */
static void retention_go(const struct rctx *c, char *buf, size_t n) {
    long long ms = r_retention_ms(c);
    format_duration_go(ms > 0 ? ms : 7LL * 86400000, buf, n);
}

/* Whole days of retention, at least 1 (the index cleaner's unit). */
static long long retention_days(const struct rctx *c) {
    long long ms = r_retention_ms(c);
    long long days = (ms + 86400000 - 1) / 86400000;
    return days > 0 ? days : 7;
}

/* ES_USERNAME/ES_PASSWORD from the Secret, appended to env. */
static void es_credentials(const struct rctx *c, json_t *env, const char *user_var,
                           const char *pass_var) {
    const char *secret =
        r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.name", NULL);
    if (!secret)
        return;
    const char *uk =
        r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.usernameKey", "username");
    const char *pk =
        r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.passwordKey", "password");
    json_array_append_new(env, r_env_secret(user_var, secret, uk));
    json_array_append_new(env, r_env_secret(pass_var, secret, pk));
}

/* Storage env of a collector/query/all-in-one container. */
static json_t *storage_env(const struct rctx *c) {
    json_t *env = json_array();
    const char *type = storage_type(c);
    json_array_append_new(env, r_env("SPAN_STORAGE_TYPE", type));
    if (!strcmp(type, "memory")) {
        json_array_append_new(env, r_env("MEMORY_MAX_TRACES", MEMORY_MAX_TRACES));
    } else if (!strcmp(type, "badger")) {
        char ttl[64];
        retention_go(c, ttl, sizeof(ttl));
        json_array_append_new(env, r_env("BADGER_EPHEMERAL", "false"));
        json_array_append_new(env, r_env("BADGER_DIRECTORY_VALUE", BADGER_DIR "/data"));
        json_array_append_new(env, r_env("BADGER_DIRECTORY_KEY", BADGER_DIR "/key"));
        json_array_append_new(env, r_env("BADGER_SPAN_STORE_TTL", ttl));
    } else if (!strcmp(type, "elasticsearch")) {
        json_array_append_new(
            env, r_env("ES_SERVER_URLS",
                       r_str(c->spec, "backend.jaeger.storage.elasticsearch.url", "")));
        const char *prefix =
            r_str(c->spec, "backend.jaeger.storage.elasticsearch.indexPrefix", NULL);
        if (prefix && *prefix)
            json_array_append_new(env, r_env("ES_INDEX_PREFIX", prefix));
        es_credentials(c, env, "ES_USERNAME", "ES_PASSWORD");
    }
    return env;
}

/* Sampling env (the collector side only). */
static void sampling_env(json_t *env) {
    json_array_append_new(env, r_env("SAMPLING_STRATEGIES_FILE", SAMPLING_DIR "/" SAMPLING_KEY));
    json_array_append_new(env, r_env("SAMPLING_STRATEGIES_RELOAD_INTERVAL", "1m"));
}

static json_t *resources(void) {
    return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "100m", "memory", "256Mi",
                     "limits", "memory", "2Gi");
}

static json_t *collector_ports(void) {
    return json_pack("[o, o, o, o, o]", r_port("otlp-grpc", 4317, NULL),
                     r_port("otlp-http", 4318, NULL), r_port("sampling", 5778, NULL),
                     r_port("grpc", 14250, NULL), r_port("http", 14268, NULL));
}

/* A Jaeger container: name, image, env (stolen), ports (stolen), admin port for probes. */
static json_t *container(struct rctx *c, const char *name, const char *image, json_t *env,
                         json_t *ports, int admin_port) {
    json_array_append_new(ports, r_port("admin", admin_port, NULL));
    json_t *ctr = json_object();
    r_set(ctr, "name", r_s(name));
    r_set(ctr, "image", r_s(image));
    r_set(ctr, "env", env);
    r_set(ctr, "ports", ports);
    r_set(ctr, "livenessProbe", r_http_probe("/", admin_port, 5));
    r_set(ctr, "readinessProbe", r_http_probe("/", admin_port, 2));
    r_set(ctr, "resources", resources());
    r_set(ctr, "securityContext", r_container_security(c));
    r_set(ctr, "volumeMounts", json_array());
    return ctr;
}

static void mount(json_t *ctr, json_t *volumes, const char *name, const char *path, json_t *source,
                  const char *source_key) {
    json_array_append_new(json_object_get(ctr, "volumeMounts"),
                          json_pack("{s:s, s:s}", "name", name, "mountPath", path));
    json_t *v = json_pack("{s:s}", "name", name);
    r_set(v, source_key, source);
    json_array_append_new(volumes, v);
}

static json_t *deployment(struct rctx *c, const char *name, int replicas, int recreate, json_t *ctr,
                          json_t *volumes) {
    json_t *spec = json_object();
    r_set(spec, "securityContext", r_pod_security(c));
    r_set(spec, "containers", json_pack("[o]", ctr));
    r_set(spec, "volumes", volumes);
    json_t *d = r_object(c, "apps/v1", "Deployment", name, "jaeger", NULL);
    json_t *ds = json_object();
    r_set(ds, "replicas", json_integer(replicas));
    if (recreate) /* one writer at a time for memory/badger storage */
        r_set(ds, "strategy", json_pack("{s:s}", "type", "Recreate"));
    r_set(ds, "selector", json_pack("{s:o}", "matchLabels", r_selector_labels(c, name)));
    r_set(ds, "template", r_pod_template(c, name, "jaeger", -1, spec));
    r_set(d, "spec", ds);
    return d;
}

static void emit_service(struct rctx *c, const char *name, const char *selector, json_t *ports) {
    json_t *s = r_object(c, "v1", "Service", name, "jaeger", NULL);
    json_t *spec = json_object();
    r_set(spec, "type", r_s("ClusterIP"));
    r_set(spec, "selector", r_selector_labels(c, selector));
    r_set(spec, "ports", ports);
    r_set(s, "spec", spec);
    r_emit(c, s);
}

static json_t *collector_svc_ports(void) {
    return json_pack("[o, o, o, o, o]", r_svc_port("otlp-grpc", 4317, NULL),
                     r_svc_port("otlp-http", 4318, NULL), r_svc_port("sampling", 5778, NULL),
                     r_svc_port("grpc", 14250, NULL), r_svc_port("http", 14268, NULL));
}

static json_t *emptydir(void) { return json_object(); }

static void emit_badger_pvc(struct rctx *c, const char *name) {
    json_t *pvc = r_object(c, "v1", "PersistentVolumeClaim", name, "jaeger", NULL);
    r_set(pvc, "spec",
          json_pack("{s:[s], s:{s:{s:s}}}", "accessModes", "ReadWriteOnce", "resources", "requests",
                    "storage", r_str(c->spec, "backend.jaeger.storage.badger.size", "10Gi")));
    r_emit(c, pvc);
}

static void emit_es_cleaner(struct rctx *c) {
    char name[R_NAME_MAX], days[32];
    r_name_fit(c, "jaeger-es-index-cleaner", "CronJob", name);
    snprintf(days, sizeof(days), "%lld", retention_days(c));
    char *image = r_image_sibling(base_image(c), "jaeger-es-index-cleaner");
    json_t *env = json_array();
    const char *prefix = r_str(c->spec, "backend.jaeger.storage.elasticsearch.indexPrefix", NULL);
    if (prefix && *prefix)
        json_array_append_new(env, r_env("INDEX_PREFIX", prefix));
    es_credentials(c, env, "ES_USERNAME", "ES_PASSWORD");
    json_t *ctr = json_object();
    r_set(ctr, "name", r_s("es-index-cleaner"));
    r_set(ctr, "image", r_s(image));
    r_set(
        ctr, "args",
        json_pack("[s, s]", days, r_str(c->spec, "backend.jaeger.storage.elasticsearch.url", "")));
    r_set(ctr, "env", env);
    r_set(ctr, "securityContext", r_container_security(c));
    free(image);
    json_t *pod = json_object();
    r_set(pod, "restartPolicy", r_s("OnFailure"));
    r_set(pod, "securityContext", r_pod_security(c));
    r_set(pod, "containers", json_pack("[o]", ctr));
    json_t *job = json_object();
    r_set(job, "backoffLimit", json_integer(3));
    r_set(job, "ttlSecondsAfterFinished", json_integer(86400));
    r_set(job, "template", r_pod_template(c, name, "jaeger", -1, pod));
    json_t *cj = r_object(c, "batch/v1", "CronJob", name, "jaeger", NULL);
    json_t *spec = json_object();
    r_set(spec, "schedule", r_s(ES_CLEANER_SCHEDULE));
    r_set(spec, "concurrencyPolicy", r_s("Forbid"));
    r_set(spec, "successfulJobsHistoryLimit", json_integer(1));
    r_set(spec, "failedJobsHistoryLimit", json_integer(3));
    r_set(spec, "jobTemplate", json_pack("{s:o}", "spec", job));
    r_set(cj, "spec", spec);
    r_emit(c, cj);
}

/* ---- workloads ---- */

static void render_all_in_one(struct rctx *c, const char *sampling_cm) {
    char name[R_NAME_MAX], pvc[R_NAME_MAX], coll[R_NAME_MAX], query[R_NAME_MAX];
    r_name(c, "jaeger", name);
    r_name(c, "jaeger-collector", coll);
    r_name(c, "jaeger-query", query);
    int badger = !strcmp(storage_type(c), "badger");
    if (badger)
        emit_badger_pvc(c, r_name(c, "jaeger-badger", pvc));
    emit_service(c, coll, name, collector_svc_ports());
    emit_service(c, query, name, json_pack("[o]", r_svc_port("query", 16686, NULL)));

    json_t *env = json_array();
    json_array_append_new(env, r_env("COLLECTOR_OTLP_ENABLED", "true"));
    json_t *senv = storage_env(c);
    json_array_extend(env, senv);
    json_decref(senv);
    sampling_env(env);
    json_t *ports = collector_ports();
    json_array_append_new(ports, r_port("query", 16686, NULL));
    json_t *ctr = container(c, "jaeger", base_image(c), env, ports, 14269);
    json_t *volumes = json_array();
    mount(ctr, volumes, "sampling", SAMPLING_DIR, json_pack("{s:s}", "name", sampling_cm),
          "configMap");
    if (badger)
        mount(ctr, volumes, "badger", BADGER_DIR, json_pack("{s:s}", "claimName", pvc),
              "persistentVolumeClaim");
    mount(ctr, volumes, "tmp", "/tmp", emptydir(), "emptyDir");
    r_emit(c, deployment(c, name, 1, 1, ctr, volumes));
}

static void render_production(struct rctx *c, const char *sampling_cm) {
    char coll[R_NAME_MAX], query[R_NAME_MAX];
    r_name(c, "jaeger-collector", coll);
    r_name(c, "jaeger-query", query);
    emit_service(c, coll, coll, collector_svc_ports());
    emit_service(c, query, query, json_pack("[o]", r_svc_port("query", 16686, NULL)));

    char *cimg = r_image_sibling(base_image(c), "jaeger-collector");
    json_t *env = json_array();
    json_array_append_new(env, r_env("COLLECTOR_OTLP_ENABLED", "true"));
    json_t *senv = storage_env(c);
    json_array_extend(env, senv);
    json_decref(senv);
    sampling_env(env);
    json_t *ctr = container(c, "jaeger-collector", cimg, env, collector_ports(), 14269);
    free(cimg);
    json_t *volumes = json_array();
    mount(ctr, volumes, "sampling", SAMPLING_DIR, json_pack("{s:s}", "name", sampling_cm),
          "configMap");
    mount(ctr, volumes, "tmp", "/tmp", emptydir(), "emptyDir");
    r_emit(c, deployment(c, coll, 2, 0, ctr, volumes));

    char *qimg = r_image_sibling(base_image(c), "jaeger-query");
    json_t *qctr = container(c, "jaeger-query", qimg, storage_env(c),
                             json_pack("[o]", r_port("query", 16686, NULL)), 16687);
    free(qimg);
    json_t *qvol = json_array();
    mount(qctr, qvol, "tmp", "/tmp", emptydir(), "emptyDir");
    r_emit(c, deployment(c, query, 1, 0, qctr, qvol));
}

/* ---- the Jaeger operator's CR ---- */

static void render_operator_cr(struct rctx *c, json_t *strategies) {
    char name[R_NAME_MAX], ttl[64];
    r_name(c, "jaeger", name);
    const char *type = storage_type(c);
    int production = !strcmp(r_str(c->spec, "backend.jaeger.deployment", "allInOne"), "production");
    json_t *spec = json_object();
    r_set(spec, "strategy", r_s(production ? "production" : "allinone"));
    const char *image = r_str(c->spec, "backend.jaeger.image", NULL);
    if (image && !production)
        r_set(spec, "allInOne", json_pack("{s:s}", "image", image));
    json_t *storage = json_object();
    r_set(storage, "type", r_s(type));
    json_t *options = json_object();
    if (!strcmp(type, "memory")) {
        r_set(options, "memory", json_pack("{s:s}", "max-traces", MEMORY_MAX_TRACES));
    } else if (!strcmp(type, "badger")) {
        char pvc[R_NAME_MAX];
        r_name(c, "jaeger-badger", pvc);
        emit_badger_pvc(c, pvc);
        retention_go(c, ttl, sizeof(ttl));
        r_set(options, "badger",
              json_pack("{s:s, s:s, s:s, s:s}", "ephemeral", "false", "directory-key",
                        BADGER_DIR "/key", "directory-value", BADGER_DIR "/data", "span-store-ttl",
                        ttl));
        r_set(spec, "volumes",
              json_pack("[{s:s, s:{s:s}}]", "name", "badger", "persistentVolumeClaim", "claimName",
                        pvc));
        r_set(spec, "volumeMounts",
              json_pack("[{s:s, s:s}]", "name", "badger", "mountPath", BADGER_DIR));
    } else if (!strcmp(type, "elasticsearch")) {
        json_t *es = json_pack("{s:s}", "server-urls",
                               r_str(c->spec, "backend.jaeger.storage.elasticsearch.url", ""));
        const char *prefix =
            r_str(c->spec, "backend.jaeger.storage.elasticsearch.indexPrefix", NULL);
        if (prefix && *prefix)
            r_set(es, "index-prefix", r_s(prefix));
        r_set(options, "es", es);
        const char *secret =
            r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.name", NULL);
        if (secret) {
            /* the Jaeger operator loads the whole Secret with envFrom: its keys must be
             * the variable names themselves */
            r_set(storage, "secretName", r_s(secret));
            const char *uk =
                r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.usernameKey",
                      "ES_USERNAME");
            const char *pk =
                r_str(c->spec, "backend.jaeger.storage.elasticsearch.secretRef.passwordKey",
                      "ES_PASSWORD");
            if (strcmp(uk, "ES_USERNAME") || strcmp(pk, "ES_PASSWORD"))
                diag_warn(c->d, "spec.backend.jaeger.storage.elasticsearch.secretRef",
                          "with useOperatorCR the Jaeger operator reads the Secret's keys "
                          "ES_USERNAME and ES_PASSWORD; usernameKey/passwordKey are ignored");
        }
        r_set(storage, "esIndexCleaner",
              json_pack("{s:b, s:I, s:s}", "enabled", 1, "numberOfDays",
                        (json_int_t)retention_days(c), "schedule", ES_CLEANER_SCHEDULE));
    }
    r_set(storage, "options", options);
    r_set(spec, "storage", storage);
    r_set(spec, "sampling", json_pack("{s:O}", "options", strategies));
    json_t *cr = r_object(c, "jaegertracing.io/v1", "Jaeger", name, "jaeger", NULL);
    r_set(cr, "spec", spec);
    r_emit(c, cr);
}

void render_jaeger(struct rctx *c) {
    if (strcmp(c->backend, "jaeger") != 0)
        return;
    int production = !strcmp(r_str(c->spec, "backend.jaeger.deployment", "allInOne"), "production");
    const char *type = storage_type(c);
    json_t *strategies = render_jaeger_strategies(c);
    if (r_bool(c->spec, "backend.jaeger.useOperatorCR", 0)) {
        render_operator_cr(c, strategies);
        json_decref(strategies);
        return;
    }
    if (production && strcmp(type, "elasticsearch") != 0) {
        r_fail(c, "spec.backend.jaeger.deployment",
               "production runs the collector and query as separate Deployments, which cannot "
               "share %s storage; use storage.type elasticsearch or deployment allInOne",
               type);
        json_decref(strategies);
        return;
    }
    char cm[R_NAME_MAX];
    r_name(c, "jaeger-sampling", cm);
    char *text = jarena_dumps(strategies, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    char *with_nl = xasprintf("%s\n", text);
    r_emit(c, r_configmap(c, cm, "jaeger", SAMPLING_KEY, with_nl));
    free(with_nl);
    free(text);
    json_decref(strategies);
    if (production)
        render_production(c, cm);
    else
        render_all_in_one(c, cm);
    if (!strcmp(type, "elasticsearch"))
        emit_es_cleaner(c);
}
