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
    json_object_set_new(s3, "bucket", json_string(r_str(c->spec, "backend.tempo.storage.s3.bucket", "")));
    json_object_set_new(s3, "endpoint", json_stringn(ep, n));
    const char *region = r_str(c->spec, "backend.tempo.storage.s3.region", NULL);
    if (region && *region)
        json_object_set_new(s3, "region", json_string(region));
    json_object_set_new(s3, "insecure", json_boolean(insecure));
    if (r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL)) {
        json_object_set_new(s3, "access_key", json_string("${S3_ACCESS_KEY_ID}"));
        json_object_set_new(s3, "secret_key", json_string("${S3_SECRET_ACCESS_KEY}"));
    }
    return s3;
}

static json_t *tempo_config(const struct rctx *c) {
    char ret[64];
    retention_go(c, ret, sizeof(ret));
    json_t *cfg = json_object();
    json_object_set_new(cfg, "server", json_pack("{s:i}", "http_listen_port", 3200));
    json_object_set_new(
        cfg, "distributor",
        json_pack("{s:{s:{s:{s:{s:s}, s:{s:s}}}}}", "receivers", "otlp", "protocols", "grpc",
                  "endpoint", "0.0.0.0:4317", "http", "endpoint", "0.0.0.0:4318"));
    json_object_set_new(cfg, "compactor",
                        json_pack("{s:{s:s}}", "compaction", "block_retention", ret));
    json_t *trace = json_object();
    if (is_s3(c)) {
        json_object_set_new(trace, "backend", json_string("s3"));
        json_object_set_new(trace, "s3", s3_block(c));
    } else {
        json_object_set_new(trace, "backend", json_string("local"));
        json_object_set_new(trace, "local", json_pack("{s:s}", "path", DATA_DIR "/traces"));
    }
    json_object_set_new(trace, "wal", json_pack("{s:s}", "path", DATA_DIR "/wal"));
    json_object_set_new(cfg, "storage", json_pack("{s:o}", "trace", trace));
    /* no phoning home from a cluster component */
    json_object_set_new(cfg, "usage_report", json_pack("{s:b}", "reporting_enabled", 0));
    return cfg;
}

static json_t *tempo_container(const struct rctx *c) {
    int s3 = is_s3(c);
    json_t *ctr = json_object();
    json_object_set_new(ctr, "name", json_string("tempo"));
    json_object_set_new(ctr, "image",
                        json_string(r_str(c->spec, "backend.tempo.image", TM_DEFAULT_TEMPO_IMAGE)));
    json_t *args = json_pack("[s]", "-config.file=/conf/" CFG_KEY);
    json_object_set_new(ctr, "args", args);
    const char *secret = r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL);
    if (s3 && secret) {
        json_array_append_new(args, json_string("-config.expand-env=true"));
        json_object_set_new(ctr, "env",
                            json_pack("[o, o]",
                                      r_env_secret("S3_ACCESS_KEY_ID", secret, "access_key_id"),
                                      r_env_secret("S3_SECRET_ACCESS_KEY", secret,
                                                   "secret_access_key")));
    }
    json_object_set_new(ctr, "ports",
                        json_pack("[o, o, o]", r_port("http", 3200, NULL),
                                  r_port("otlp-grpc", 4317, NULL), r_port("otlp-http", 4318, NULL)));
    json_object_set_new(ctr, "livenessProbe", r_http_probe("/ready", 3200, 30));
    json_object_set_new(ctr, "readinessProbe", r_http_probe("/ready", 3200, 10));
    json_object_set_new(ctr, "resources",
                        json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "200m", "memory",
                                  "512Mi", "limits", "memory", "2Gi"));
    json_object_set_new(ctr, "securityContext", r_container_security());
    json_object_set_new(ctr, "volumeMounts",
                        json_pack("[{s:s, s:s, s:b}, {s:s, s:s}, {s:s, s:s}]", "name", "config",
                                  "mountPath", "/conf", "readOnly", 1, "name", "data", "mountPath",
                                  DATA_DIR, "name", "tmp", "mountPath", "/tmp"));
    return ctr;
}

static void render_statefulset(struct rctx *c, const char *name, const char *hash) {
    json_t *pod = json_object();
    json_object_set_new(pod, "securityContext", r_pod_security());
    json_object_set_new(pod, "containers", json_pack("[o]", tempo_container(c)));
    json_object_set_new(pod, "volumes",
                        json_pack("[{s:s, s:{s:s}}, {s:s, s:{}}]", "name", "config", "configMap",
                                  "name", name, "name", "tmp", "emptyDir"));
    json_t *spec = json_object();
    json_object_set_new(spec, "replicas", json_integer(1));
    json_object_set_new(spec, "serviceName", json_string(name));
    json_object_set_new(spec, "selector", json_pack("{s:o}", "matchLabels", r_selector_labels(c, name)));
    json_object_set_new(spec, "template", r_pod_template(c, name, "tempo", hash, pod));
    json_object_set_new(
        spec, "volumeClaimTemplates",
        json_pack("[{s:{s:s}, s:{s:[s], s:{s:{s:s}}}}]", "metadata", "name", "data", "spec",
                  "accessModes", "ReadWriteOnce", "resources", "requests", "storage",
                  volume_size(c)));
    json_t *sts = r_object(c, "apps/v1", "StatefulSet", name, "tempo", NULL);
    json_object_set_new(sts, "spec", spec);
    r_emit(c, sts);
}

static void render_service(struct rctx *c, const char *name) {
    json_t *s = r_object(c, "v1", "Service", name, "tempo", NULL);
    json_t *spec = json_object();
    json_object_set_new(spec, "type", json_string("ClusterIP"));
    json_object_set_new(spec, "selector", r_selector_labels(c, name));
    json_object_set_new(spec, "ports",
                        json_pack("[o, o, o]", r_svc_port("http", 3200, NULL),
                                  r_svc_port("otlp-grpc", 4317, NULL),
                                  r_svc_port("otlp-http", 4318, NULL)));
    json_object_set_new(s, "spec", spec);
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
        json_object_set_new(traces, "backend", json_string("s3"));
        const char *secret = r_str(c->spec, "backend.tempo.storage.s3.secretRef.name", NULL);
        if (secret)
            json_object_set_new(traces, "s3", json_pack("{s:s}", "secret", secret));
        diag_warn(c->d, "spec.backend.tempo.storage.s3",
                  "with useOperatorCR the tempo-operator reads bucket, endpoint, access_key_id "
                  "and access_key_secret from the Secret; the model's bucket/endpoint/region "
                  "are not passed");
    } else {
        json_object_set_new(traces, "backend", json_string("pv"));
    }
    json_object_set_new(traces, "size", json_string(volume_size(c)));
    json_t *spec = json_object();
    json_object_set_new(spec, "storage", json_pack("{s:o}", "traces", traces));
    json_object_set_new(spec, "ingestion",
                        json_pack("{s:{s:{s:b}, s:{s:b}}}", "otlp", "grpc", "enabled", 1, "http",
                                  "enabled", 1));
    json_object_set_new(spec, "extraConfig",
                        json_pack("{s:{s:{s:{s:s}}}}", "tempo", "compactor", "compaction",
                                  "block_retention", ret));
    json_t *cr = r_object(c, "tempo.grafana.com/v1alpha1", "TempoMonolithic", name, "tempo", NULL);
    json_object_set_new(cr, "spec", spec);
    r_emit(c, cr);
}

void render_tempo(struct rctx *c) {
    if (strcmp(c->backend, "tempo") != 0)
        return;
    char name[R_NAME_MAX], hash[65];
    r_name(c, "tempo", name);
    if (r_bool(c->spec, "backend.tempo.useOperatorCR", 0)) {
        render_operator_cr(c, name);
        return;
    }
    json_t *cfg = tempo_config(c);
    char *text = r_yaml_text(cfg, hash);
    json_decref(cfg);
    r_emit(c, r_configmap(c, name, "tempo", CFG_KEY, text));
    free(text);
    render_service(c, name);
    render_statefulset(c, name, hash);
}
