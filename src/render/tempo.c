/* tempo.c - the Tempo backend (backend.type tempo): monolithic Tempo as a StatefulSet.
 *
 * ConfigMap `<m>-tempo` (tempo.yaml: HTTP API on 3200, OTLP gRPC/HTTP receivers,
 * local or S3 trace storage, compactor block_retention = backend.retention),
 * StatefulSet `<m>-tempo` with a PVC (traces and WAL for local storage, the WAL
 * alone for S3) and Service `<m>-tempo` (3200, 4317, 4318). S3 keys are never in
 * the config: tempo.yaml says ${S3_ACCESS_KEY_ID} and Tempo runs with
 * -config.expand-env=true, the variables coming from the Secret by secretKeyRef.
 * With backend.tempo.useOperatorCR a `tempo.grafana.com/v1alpha1 TempoMonolithic`
 * is emitted instead. Pure. */
#include "render/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/xalloc.h"
#include "model/model.h"

#define CFG_KEY "tempo.yaml"
#define DATA_DIR "/var/tempo"

static int is_s3(const struct rctx *c) {
    return !strcmp(r_str(c->spec, "backend.tempo.storage.type", "local"), "s3");
}

static void retention_go(const struct rctx *c, char *buf, size_t n) {
    long long ms = r_retention_ms(c);
    format_duration_go(ms > 0 ? ms : 48LL * 3600000, buf, n);
}

static const char *volume_size(const struct rctx *c) {
    return r_str(c->spec, "backend.tempo.storage.size", "10Gi");
}

/* Tempo's S3 client wants host[:port]; a URL scheme is dropped, and http:// means
 * insecure unless the model says otherwise. */
static json_t *s3_block(const struct rctx *c) {
    const char *ep = r_str(c->spec, "backend.tempo.storage.s3.endpoint", "");
    int insecure = 0;
    if (!strncmp(ep, "http://", 7)) {
        ep += 7;
        insecure = 1;
    } else if (!strncmp(ep, "https://", 8)) {
        ep += 8;
    }
    insecure = r_bool(c->spec, "backend.tempo.storage.s3.insecure", insecure);
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    json_t *s3 = json_object();
    r_set(s3, "bucket", r_s(r_str(c->spec, "backend.tempo.storage.s3.bucket", "")));
    r_set(s3, "endpoint", json_stringn(ep, n));
    const char *region = r_str(c->spec, "backend.tempo.storage.s3.region", NULL);
    if (region && *region)
        r_set(s3, "region", r_s(region));
    r_set(s3, "insecure", json_boolean(insecure));
    if (r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL)) {
        r_set(s3, "access_key", r_s("${S3_ACCESS_KEY_ID}"));
        r_set(s3, "secret_key", r_s("${S3_SECRET_ACCESS_KEY}"));
    }
    return s3;
}

static json_t *tempo_config(const struct rctx *c) {
    char ret[64];
    retention_go(c, ret, sizeof(ret));
    json_t *cfg = json_object();
    r_set(cfg, "server", r_kv("http_listen_port", json_integer(3200), NULL));
    r_set(cfg, "distributor",
          r_kv("receivers",
               r_kv("otlp",
                    r_kv("protocols",
                         r_kv("grpc", r_kv("endpoint", r_s("0.0.0.0:4317"), NULL), "http",
                              r_kv("endpoint", r_s("0.0.0.0:4318"), NULL), NULL),
                         NULL),
                    NULL),
               NULL));
    r_set(cfg, "compactor", r_kv("compaction", r_kv("block_retention", r_s(ret), NULL), NULL));
    json_t *trace = json_object();
    if (is_s3(c)) {
        r_set(trace, "backend", r_s("s3"));
        r_set(trace, "s3", s3_block(c));
    } else {
        r_set(trace, "backend", r_s("local"));
        r_set(trace, "local", r_kv("path", r_s(DATA_DIR "/traces"), NULL));
    }
    r_set(trace, "wal", r_kv("path", r_s(DATA_DIR "/wal"), NULL));
    r_set(cfg, "storage", r_kv("trace", trace, NULL));
    /* no phoning home from a cluster component */
    r_set(cfg, "usage_report", r_kv("reporting_enabled", json_false(), NULL));
    return cfg;
}

static json_t *tempo_container(struct rctx *c) {
    int s3 = is_s3(c);
    json_t *ctr = json_object();
    r_set(ctr, "name", r_s("tempo"));
    r_set(ctr, "image", r_s(r_str(c->spec, "backend.tempo.image", TM_DEFAULT_TEMPO_IMAGE)));
    json_t *args = r_strs("-config.file=/conf/" CFG_KEY, NULL);
    r_set(ctr, "args", args);
    const char *secret = r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL);
    if (s3 && secret) {
        json_array_append_new(args, r_s("-config.expand-env=true"));
        r_set(ctr, "env",
              json_pack("[o, o]", r_env_secret("S3_ACCESS_KEY_ID", secret, "access_key_id"),
                        r_env_secret("S3_SECRET_ACCESS_KEY", secret, "secret_access_key")));
    }
    r_set(ctr, "ports",
          r_arr(r_port("http", 3200, NULL), r_port("otlp-grpc", 4317, NULL),
                r_port("otlp-http", 4318, NULL), NULL));
    r_set(ctr, "livenessProbe", r_http_probe("/ready", 3200, 30));
    r_set(ctr, "readinessProbe", r_http_probe("/ready", 3200, 10));
    r_set(ctr, "resources",
          r_kv("requests", r_kv("cpu", r_s("200m"), "memory", r_s("512Mi"), NULL), "limits",
               r_kv("memory", r_s("2Gi"), NULL), NULL));
    r_set(ctr, "securityContext", r_container_security(c));
    r_set(
        ctr, "volumeMounts",
        r_arr(r_kv("name", r_s("config"), "mountPath", r_s("/conf"), "readOnly", json_true(), NULL),
              r_kv("name", r_s("data"), "mountPath", r_s(DATA_DIR), NULL),
              r_kv("name", r_s("tmp"), "mountPath", r_s("/tmp"), NULL), NULL));
    return ctr;
}

static void render_statefulset(struct rctx *c, const char *name, int text) {
    json_t *pod = json_object();
    r_set(pod, "securityContext", r_pod_security(c));
    r_set(pod, "containers", r_arr(tempo_container(c), NULL));
    r_set(pod, "volumes",
          r_arr(r_kv("name", r_s("config"), "configMap", r_kv("name", r_s(name), NULL), NULL),
                r_kv("name", r_s("tmp"), "emptyDir", json_object(), NULL), NULL));
    json_t *spec = json_object();
    r_set(spec, "replicas", json_integer(1));
    r_set(spec, "serviceName", r_s(name));
    r_set(spec, "selector", r_kv("matchLabels", r_selector_labels(c, name), NULL));
    r_set(spec, "template", r_pod_template(c, name, "tempo", text, pod));
    r_set(spec, "volumeClaimTemplates",
          r_arr(r_kv("metadata", r_kv("name", r_s("data"), NULL), "spec",
                     r_kv("accessModes", r_strs("ReadWriteOnce", NULL), "resources",
                          r_kv("requests", r_kv("storage", r_s(volume_size(c)), NULL), NULL), NULL),
                     NULL),
                NULL));
    json_t *sts = r_object(c, "apps/v1", "StatefulSet", name, "tempo", NULL);
    r_set(sts, "spec", spec);
    r_emit(c, sts);
}

static void render_service(struct rctx *c, const char *name) {
    json_t *s = r_object(c, "v1", "Service", name, "tempo", NULL);
    json_t *spec = json_object();
    r_set(spec, "type", r_s("ClusterIP"));
    r_set(spec, "selector", r_selector_labels(c, name));
    r_set(spec, "ports",
          r_arr(r_svc_port("http", 3200, NULL), r_svc_port("otlp-grpc", 4317, NULL),
                r_svc_port("otlp-http", 4318, NULL), NULL));
    r_set(s, "spec", spec);
    r_emit(c, s);
}

/* TempoMonolithic: the tempo-operator names its StatefulSet and Service
 * "tempo-<CR name>" (render.c points the collector at that). Monolithic Tempo has no
 * retention field, so retention goes in through extraConfig.tempo.compactor. */
static void render_operator_cr(struct rctx *c, const char *name) {
    char ret[64];
    retention_go(c, ret, sizeof(ret));
    json_t *traces = json_object();
    if (is_s3(c)) {
        r_set(traces, "backend", r_s("s3"));
        const char *secret = r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL);
        if (secret)
            r_set(traces, "s3", json_pack("{s:s}", "secret", secret));
        diag_warn(c->d, "spec.backend.tempo.storage.s3",
                  "with useOperatorCR the tempo-operator reads bucket, endpoint, access_key_id "
                  "and access_key_secret from the Secret; the model's bucket/endpoint/region "
                  "are not passed");
    } else {
        r_set(traces, "backend", r_s("pv"));
    }
    r_set(traces, "size", r_s(volume_size(c)));
    json_t *spec = json_object();
    r_set(spec, "storage", json_pack("{s:o}", "traces", traces));
    r_set(spec, "ingestion",
          json_pack("{s:{s:{s:b}, s:{s:b}}}", "otlp", "grpc", "enabled", 1, "http", "enabled", 1));
    r_set(
        spec, "extraConfig",
        json_pack("{s:{s:{s:{s:s}}}}", "tempo", "compactor", "compaction", "block_retention", ret));
    json_t *cr = r_object(c, "tempo.grafana.com/v1alpha1", "TempoMonolithic", name, "tempo", NULL);
    r_set(cr, "spec", spec);
    r_emit(c, cr);
}

void render_tempo(struct rctx *c) {
    if (strcmp(c->backend, "tempo") != 0)
        return;
    char name[R_NAME_MAX];
    r_name(c, "tempo", name);
    if (r_bool(c->spec, "backend.tempo.useOperatorCR", 0)) {
        render_operator_cr(c, name);
        return;
    }
    int text = r_configmap_yaml(c, name, "tempo", CFG_KEY, tempo_config(c));
    render_service(c, name);
    render_statefulset(c, name, text);
}
