/* test_render_tempo.c - the Tempo renderer (tempo.yaml, StatefulSet, S3 credentials, the
 * TempoMonolithic CR), the Istio Telemetry object and the Grafana datasource. */
#include "test_render_helpers.h"

#include "base/units.h"

#define BASE "tests/fixtures/render/base.yaml"

static void tempo_local(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    struct render_result r = rt_render(m);
    json_t *cfg = rt_cm_doc(r.manifests, "demo-tempo", "tempo.yaml");
    assert_int_equal(json_integer_value(tm_get(cfg, "server.http_listen_port")), 3200);
    assert_string_equal(
        tm_get_str(cfg, "distributor.receivers.otlp.protocols.grpc.endpoint", ""), "0.0.0.0:4317");
    assert_string_equal(
        tm_get_str(cfg, "distributor.receivers.otlp.protocols.http.endpoint", ""), "0.0.0.0:4318");
    assert_string_equal(tm_get_str(cfg, "storage.trace.backend", ""), "local");
    assert_string_equal(tm_get_str(cfg, "storage.trace.local.path", ""), "/var/tempo/traces");
    assert_string_equal(tm_get_str(cfg, "storage.trace.wal.path", ""), "/var/tempo/wal");
    /* default retention 48h */
    assert_string_equal(tm_get_str(cfg, "compactor.compaction.block_retention", ""), "48h");
    json_decref(cfg);

    json_t *sts = rt_find(r.manifests, "StatefulSet", "demo-tempo");
    assert_non_null(sts);
    assert_string_equal(tm_get_str(sts, "spec.serviceName", ""), "demo-tempo");
    json_t *vct = json_array_get(tm_get(sts, "spec.volumeClaimTemplates"), 0);
    assert_string_equal(tm_get_str(vct, "spec.resources.requests.storage", ""), "10Gi");
    json_t *ctr = rt_container(sts);
    assert_string_equal(tm_get_str(ctr, "image", ""), "grafana/tempo:2.6.1");
    assert_null(json_object_get(ctr, "env"));
    const char *text = rt_cm_text(r.manifests, "demo-tempo", "tempo.yaml");
    char h[65];
    sha256_hex(text, strlen(text), h);
    assert_string_equal(json_string_value(json_object_get(
                            tm_get(sts, "spec.template.metadata.annotations"),
                            "tracemodel.dev/config-hash")),
                        h);
    char *ports = json_dumps(tm_get(rt_find(r.manifests, "Service", "demo-tempo"), "spec.ports"),
                             JSON_COMPACT);
    assert_non_null(strstr(ports, "3200"));
    assert_non_null(strstr(ports, "4317"));
    assert_non_null(strstr(ports, "4318"));
    free(ports);
    render_result_done(&r);

    /* retention in days becomes hours */
    rt_set(m, "spec.backend.retention", json_string("7d"));
    rt_set(m, "spec.backend.tempo.storage.size", json_string("50Gi"));
    r = rt_render(m);
    cfg = rt_cm_doc(r.manifests, "demo-tempo", "tempo.yaml");
    assert_string_equal(tm_get_str(cfg, "compactor.compaction.block_retention", ""), "168h");
    json_decref(cfg);
    vct = json_array_get(
        tm_get(rt_find(r.manifests, "StatefulSet", "demo-tempo"), "spec.volumeClaimTemplates"), 0);
    assert_string_equal(tm_get_str(vct, "spec.resources.requests.storage", ""), "50Gi");
    render_result_done(&r);
    json_decref(m);
}

static void tempo_s3(void **state) {
    (void)state;
    json_t *doc = tu_load(BASE);
    rt_set(doc, "spec.backend.tempo.storage",
           json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s}}}", "type", "s3", "s3", "bucket", "traces",
                     "endpoint", "http://minio.storage.svc:9000/", "region", "us-east-1",
                     "secretRef", "name", "minio-keys"));
    json_t *m = tm_default(doc);
    struct render_result r = rt_render(m);
    json_t *cfg = rt_cm_doc(r.manifests, "demo-tempo", "tempo.yaml");
    json_t *s3 = tm_get(cfg, "storage.trace.s3");
    assert_string_equal(tm_get_str(cfg, "storage.trace.backend", ""), "s3");
    assert_string_equal(tm_get_str(s3, "bucket", ""), "traces");
    assert_string_equal(tm_get_str(s3, "endpoint", ""), "minio.storage.svc:9000");
    assert_true(json_is_true(json_object_get(s3, "insecure"))); /* http:// */
    assert_string_equal(tm_get_str(s3, "region", ""), "us-east-1");
    assert_string_equal(tm_get_str(s3, "access_key", ""), "${S3_ACCESS_KEY_ID}");
    assert_string_equal(tm_get_str(s3, "secret_key", ""), "${S3_SECRET_ACCESS_KEY}");
    assert_string_equal(tm_get_str(cfg, "storage.trace.wal.path", ""), "/var/tempo/wal");
    json_decref(cfg);
    json_t *ctr = rt_container(rt_find(r.manifests, "StatefulSet", "demo-tempo"));
    assert_true(rt_index(json_object_get(ctr, "args"), "-config.expand-env=true") >= 0);
    json_t *id = rt_env(ctr, "S3_ACCESS_KEY_ID"), *key = rt_env(ctr, "S3_SECRET_ACCESS_KEY");
    assert_null(json_object_get(id, "value"));
    assert_string_equal(tm_get_str(id, "valueFrom.secretKeyRef.name", ""), "minio-keys");
    assert_string_equal(tm_get_str(id, "valueFrom.secretKeyRef.key", ""), "access_key_id");
    assert_string_equal(tm_get_str(key, "valueFrom.secretKeyRef.key", ""), "secret_access_key");
    render_result_done(&r);
    json_decref(m);

    /* https:// stays secure unless the model says insecure */
    rt_set(doc, "spec.backend.tempo.storage.s3.endpoint", json_string("https://s3.amazonaws.com"));
    m = tm_default(doc);
    r = rt_render(m);
    cfg = rt_cm_doc(r.manifests, "demo-tempo", "tempo.yaml");
    assert_string_equal(tm_get_str(cfg, "storage.trace.s3.endpoint", ""), "s3.amazonaws.com");
    assert_true(json_is_false(tm_get(cfg, "storage.trace.s3.insecure")));
    json_decref(cfg);
    render_result_done(&r);
    json_decref(m);
    json_decref(doc);
}

static void tempo_operator_cr(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.backend.tempo.useOperatorCR", json_true());
    rt_set(m, "spec.backend.retention", json_string("3d"));
    struct render_result r = rt_render(m);
    assert_null(rt_find(r.manifests, "StatefulSet", "demo-tempo"));
    assert_null(rt_find(r.manifests, "ConfigMap", "demo-tempo"));
    json_t *cr = rt_find(r.manifests, "TempoMonolithic", "demo-tempo");
    assert_non_null(cr);
    assert_string_equal(tm_get_str(cr, "apiVersion", ""), "tempo.grafana.com/v1alpha1");
    assert_string_equal(tm_get_str(cr, "spec.storage.traces.backend", ""), "pv");
    assert_string_equal(tm_get_str(cr, "spec.storage.traces.size", ""), "10Gi");
    assert_string_equal(
        tm_get_str(cr, "spec.extraConfig.tempo.compactor.compaction.block_retention", ""), "72h");
    /* the operator's Service is tempo-<CR name>: collector and Grafana point there */
    json_t *ds = rt_cm_doc(r.manifests, "demo-grafana-datasource", "demo-datasource.yaml");
    assert_string_equal(tm_get_str(json_array_get(json_object_get(ds, "datasources"), 0), "url", ""),
                        "http://tempo-demo-tempo.obs.svc:3200");
    json_decref(ds);
    render_result_done(&r);
    json_decref(m);
}

static json_t *telemetry(const json_t *manifests) {
    json_t *t = rt_find(manifests, "Telemetry", "demo-tracing");
    assert_non_null(t);
    assert_string_equal(tm_get_str(t, "apiVersion", ""), "telemetry.istio.io/v1");
    return json_array_get(tm_get(t, "spec.tracing"), 0);
}

static void istio(void **state) {
    (void)state;
    json_t *doc = tu_load(BASE);
    rt_set(doc, "spec.istio",
           json_pack("{s:b, s:{s:{s:{s:s}}, s:{s:{s:s, s:s}}}}", "enabled", 1, "customTags",
                     "cluster", "literal", "value", "eu-1", "x-request-id", "header", "name",
                     "X-Request-ID", "defaultValue", "none"));
    rt_set(doc, "spec.propagation.correlation.headers",
           json_pack("[s, s]", "X-Request-ID", "X-Correlation-ID"));
    json_t *m = tm_default(doc);
    struct render_result r = rt_render(m);
    json_t *rule = telemetry(r.manifests);
    json_t *t = rt_find(r.manifests, "Telemetry", "demo-tracing");
    assert_string_equal(tm_get_str(t, "metadata.namespace", ""), "obs");
    assert_string_equal(tm_get_str(json_array_get(json_object_get(rule, "providers"), 0), "name", ""),
                        "otel-tracing");
    /* sampling.rate 0.1 -> exactly 10 percent */
    assert_true(json_number_value(json_object_get(rule, "randomSamplingPercentage")) == 10.0);
    json_t *tags = json_object_get(rule, "customTags");
    assert_string_equal(tm_get_str(json_object_get(tags, "cluster"), "literal.value", ""), "eu-1");
    /* the user's own x-request-id tag wins over the correlation header's */
    assert_string_equal(tm_get_str(json_object_get(tags, "x-request-id"), "header.defaultValue", ""),
                        "none");
    assert_string_equal(tm_get_str(json_object_get(tags, "x-correlation-id"), "header.name", ""),
                        "x-correlation-id");
    assert_int_equal(json_object_size(tags), 3);
    render_result_done(&r);
    json_decref(m);

    /* explicit percentage; mesh scope goes to the mesh root namespace, owner annotated */
    rt_set(doc, "spec.istio.samplingPercentage", json_real(12.5));
    rt_set(doc, "spec.istio.scope", json_string("mesh"));
    rt_set(doc, "spec.istio.meshRootNamespace", json_string("mesh-root"));
    m = tm_default(doc);
    r = rt_render(m);
    rule = telemetry(r.manifests);
    assert_true(json_number_value(json_object_get(rule, "randomSamplingPercentage")) == 12.5);
    t = rt_find(r.manifests, "Telemetry", "demo-tracing");
    assert_string_equal(tm_get_str(t, "metadata.namespace", ""), "mesh-root");
    assert_string_equal(json_string_value(json_object_get(tm_get(t, "metadata.annotations"),
                                                          "tracemodel.dev/owner")),
                        "obs/demo");
    render_result_done(&r);
    json_decref(m);

    /* disabled: no Telemetry */
    rt_set(doc, "spec.istio.enabled", json_false());
    m = tm_default(doc);
    r = rt_render(m);
    assert_int_equal(rt_count(r.manifests, "Telemetry"), 0);
    render_result_done(&r);
    json_decref(m);
    json_decref(doc);
}

static void grafana(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    struct render_result r = rt_render(m);
    json_t *cm = rt_find(r.manifests, "ConfigMap", "demo-grafana-datasource");
    assert_non_null(cm);
    assert_string_equal(
        json_string_value(json_object_get(tm_get(cm, "metadata.labels"), "grafana_datasource")),
        "1");
    json_t *doc = rt_cm_doc(r.manifests, "demo-grafana-datasource", "demo-datasource.yaml");
    assert_int_equal(json_integer_value(json_object_get(doc, "apiVersion")), 1);
    json_t *ds = json_array_get(json_object_get(doc, "datasources"), 0);
    assert_string_equal(tm_get_str(ds, "type", ""), "tempo");
    assert_string_equal(tm_get_str(ds, "url", ""), "http://demo-tempo.obs.svc:3200");
    assert_string_equal(tm_get_str(ds, "jsonData.serviceMap.datasourceUid", ""), "prometheus");
    assert_true(json_is_true(tm_get(ds, "jsonData.nodeGraph.enabled")));
    const char *uid = tm_get_str(ds, "uid", "");
    assert_true(strlen(uid) > 0 && strlen(uid) <= 40);
    json_decref(doc);
    render_result_done(&r);

    rt_set(m, "spec.grafana.enabled", json_false());
    r = rt_render(m);
    assert_null(rt_find(r.manifests, "ConfigMap", "demo-grafana-datasource"));
    render_result_done(&r);
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tempo_local), cmocka_unit_test(tempo_s3), cmocka_unit_test(tempo_operator_cr),
        cmocka_unit_test(istio),       cmocka_unit_test(grafana),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
