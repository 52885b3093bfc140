/* test_render_jaeger.c - the Jaeger renderer: the sampling strategies document (Jaeger's
 * file format), all-in-one with memory/badger/Elasticsearch storage, production
 * collector+query, the Elasticsearch index cleaner, the Jaeger operator CR, and the
 * Grafana datasource for Jaeger. */
#include "test_render_helpers.h"

#define BASE "tests/fixtures/render/base.yaml"

/* new ref: base.yaml as a Jaeger model with the given storage type (tm_default applied). */
static json_t *jaeger_model(const char *storage, const char *deployment) {
    json_t *doc = tu_load(BASE);
    rt_set(doc, "spec.backend.type", json_string("jaeger"));
    rt_set(doc, "spec.backend.jaeger.storage.type", json_string(storage));
    if (deployment)
        rt_set(doc, "spec.backend.jaeger.deployment", json_string(deployment));
    if (!strcmp(storage, "elasticsearch"))
        rt_set(doc, "spec.backend.jaeger.storage.elasticsearch",
               json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "url", "http://es.logging.svc:9200",
                         "indexPrefix", "demo", "secretRef", "name", "es-creds", "usernameKey",
                         "user", "passwordKey", "pass"));
    json_t *m = tm_default(doc);
    json_decref(doc);
    return m;
}

static json_t *strategies_of(const json_t *manifests) {
    return rt_cm_doc(manifests, "demo-jaeger-sampling", "sampling.json");
}

static void strategies(void **state) {
    (void)state;
    json_t *m = jaeger_model("memory", NULL);
    rt_set(m, "spec.sampling.operations",
           json_pack("[{s:s, s:f}]", "name", "user_api_request", "rate", 0.25));
    rt_set(m, "spec.services",
           json_pack("[{s:s, s:f, s:[{s:s, s:f}]}, {s:s, s:[{s:s, s:f}]}, {s:s}]", "name", "web",
                     "samplingRate", 0.5, "operations", "name", "GET /health", "rate", 0.0, "name",
                     "api", "operations", "name", "POST /pay", "rate", 1.0, "name", "batch"));
    struct render_result r = rt_render(m);
    json_t *doc = strategies_of(r.manifests);
    json_t *want = json_loads(
        "{\"default_strategy\": {\"type\": \"probabilistic\", \"param\": 0.1,"
        "  \"operation_strategies\": [{\"operation\": \"user_api_request\","
        "    \"type\": \"probabilistic\", \"param\": 0.25}]},"
        " \"service_strategies\": ["
        "  {\"service\": \"web\", \"type\": \"probabilistic\", \"param\": 0.5,"
        "   \"operation_strategies\": [{\"operation\": \"GET /health\","
        "     \"type\": \"probabilistic\", \"param\": 0}]},"
        "  {\"service\": \"api\", \"type\": \"probabilistic\", \"param\": 0.1,"
        "   \"operation_strategies\": [{\"operation\": \"POST /pay\","
        "     \"type\": \"probabilistic\", \"param\": 1}]}]}",
        0, NULL);
    assert_non_null(want);
    /* "batch" has neither a rate nor operations: the default strategy covers it */
    tu_assert_json_equal(want, doc, "sampling.json");
    json_decref(want);
    json_decref(doc);
    render_result_done(&r);

    /* rate limiting, and always_off as probability 0 */
    rt_set(m, "spec.sampling.strategy", json_string("ratelimiting"));
    rt_set(m, "spec.sampling.maxTracesPerSecond", json_integer(50));
    rt_set(m, "spec.services", json_array());
    rt_set(m, "spec.sampling.operations", json_array());
    r = rt_render(m);
    doc = strategies_of(r.manifests);
    want = json_pack("{s:{s:s, s:i}}", "default_strategy", "type", "ratelimiting", "param", 50);
    tu_assert_json_equal(want, doc, "ratelimiting");
    json_decref(want);
    json_decref(doc);
    render_result_done(&r);
    rt_set(m, "spec.sampling.strategy", json_string("always_off"));
    r = rt_render(m);
    doc = strategies_of(r.manifests);
    assert_string_equal(tm_get_str(doc, "default_strategy.type", ""), "probabilistic");
    assert_true(json_number_value(tm_get(doc, "default_strategy.param")) == 0.0);
    json_decref(doc);
    render_result_done(&r);
    json_decref(m);
}

static json_t *svc_port(const json_t *svc, const char *name) {
    size_t i;
    json_t *p;
    json_array_foreach(tm_get(svc, "spec.ports"), i, p) {
        if (!strcmp(tm_get_str(p, "name", ""), name))
            return p;
    }
    return NULL;
}

static void all_in_one_memory(void **state) {
    (void)state;
    json_t *m = jaeger_model("memory", NULL);
    struct render_result r = rt_render(m);
    json_t *d = rt_find(r.manifests, "Deployment", "demo-jaeger");
    assert_non_null(d);
    assert_string_equal(tm_get_str(d, "spec.strategy.type", ""), "Recreate");
    json_t *ctr = rt_container(d);
    assert_string_equal(tm_get_str(ctr, "image", ""), "jaegertracing/all-in-one:1.62.0");
    assert_string_equal(tm_get_str(rt_env(ctr, "COLLECTOR_OTLP_ENABLED"), "value", ""), "true");
    assert_string_equal(tm_get_str(rt_env(ctr, "SPAN_STORAGE_TYPE"), "value", ""), "memory");
    assert_non_null(rt_env(ctr, "MEMORY_MAX_TRACES"));
    assert_string_equal(tm_get_str(rt_env(ctr, "SAMPLING_STRATEGIES_FILE"), "value", ""),
                        "/etc/jaeger/sampling/sampling.json");
    /* the strategies file is the mounted ConfigMap */
    json_t *mount = json_array_get(json_object_get(ctr, "volumeMounts"), 0);
    assert_string_equal(tm_get_str(mount, "mountPath", ""), "/etc/jaeger/sampling");
    json_t *vol = json_array_get(tm_get(d, "spec.template.spec.volumes"), 0);
    assert_string_equal(tm_get_str(vol, "name", ""), tm_get_str(mount, "name", "?"));
    assert_string_equal(tm_get_str(vol, "configMap.name", ""), "demo-jaeger-sampling");
    /* collector Service: OTLP, sampling, Jaeger gRPC/HTTP, all to the all-in-one pod */
    json_t *cs = rt_find(r.manifests, "Service", "demo-jaeger-collector");
    static const struct {
        const char *name;
        int port;
    } ports[] = {{"otlp-grpc", 4317}, {"otlp-http", 4318}, {"sampling", 5778},
                 {"grpc", 14250},     {"http", 14268}};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        assert_int_equal(json_integer_value(json_object_get(svc_port(cs, ports[i].name), "port")),
                         ports[i].port);
    assert_string_equal(
        json_string_value(json_object_get(tm_get(cs, "spec.selector"), "app.kubernetes.io/name")),
        "demo-jaeger");
    json_t *qs = rt_find(r.manifests, "Service", "demo-jaeger-query");
    assert_int_equal(json_integer_value(json_object_get(svc_port(qs, "query"), "port")), 16686);
    assert_int_equal(rt_count(r.manifests, "CronJob"), 0);
    assert_int_equal(rt_count(r.manifests, "PersistentVolumeClaim"), 0);
    /* Grafana: a Jaeger datasource on the query service */
    json_t *ds = rt_cm_doc(r.manifests, "demo-grafana-datasource", "demo-datasource.yaml");
    json_t *d0 = json_array_get(json_object_get(ds, "datasources"), 0);
    assert_string_equal(tm_get_str(d0, "type", ""), "jaeger");
    assert_string_equal(tm_get_str(d0, "url", ""), "http://demo-jaeger-query.obs.svc:16686");
    assert_true(json_is_true(tm_get(d0, "jsonData.nodeGraph.enabled")));
    json_decref(ds);
    render_result_done(&r);
    json_decref(m);
}

static void badger(void **state) {
    (void)state;
    json_t *m = jaeger_model("badger", NULL);
    rt_set(m, "spec.backend.jaeger.storage.badger.size", json_string("25Gi"));
    struct render_result r = rt_render(m);
    json_t *pvc = rt_find(r.manifests, "PersistentVolumeClaim", "demo-jaeger-badger");
    assert_non_null(pvc);
    assert_string_equal(tm_get_str(pvc, "spec.resources.requests.storage", ""), "25Gi");
    json_t *d = rt_find(r.manifests, "Deployment", "demo-jaeger");
    json_t *ctr = rt_container(d);
    assert_string_equal(tm_get_str(rt_env(ctr, "BADGER_EPHEMERAL"), "value", ""), "false");
    assert_string_equal(tm_get_str(rt_env(ctr, "BADGER_DIRECTORY_VALUE"), "value", ""),
                        "/badger/data");
    assert_string_equal(tm_get_str(rt_env(ctr, "BADGER_DIRECTORY_KEY"), "value", ""),
                        "/badger/key");
    assert_string_equal(tm_get_str(rt_env(ctr, "BADGER_SPAN_STORE_TTL"), "value", ""), "168h");
    int found = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tm_get(d, "spec.template.spec.volumes"), i, v) {
        if (!strcmp(tm_get_str(v, "persistentVolumeClaim.claimName", ""), "demo-jaeger-badger"))
            found = 1;
    }
    assert_true(found);
    render_result_done(&r);
    json_decref(m);
}

static void elasticsearch(void **state) {
    (void)state;
    json_t *m = jaeger_model("elasticsearch", NULL);
    rt_set(m, "spec.backend.retention", json_string("36h"));
    struct render_result r = rt_render(m);
    json_t *ctr = rt_container(rt_find(r.manifests, "Deployment", "demo-jaeger"));
    assert_string_equal(tm_get_str(rt_env(ctr, "ES_SERVER_URLS"), "value", ""),
                        "http://es.logging.svc:9200");
    assert_string_equal(tm_get_str(rt_env(ctr, "ES_INDEX_PREFIX"), "value", ""), "demo");
    json_t *u = rt_env(ctr, "ES_USERNAME"), *p = rt_env(ctr, "ES_PASSWORD");
    assert_null(json_object_get(u, "value"));
    assert_null(json_object_get(p, "value"));
    assert_string_equal(tm_get_str(u, "valueFrom.secretKeyRef.key", ""), "user");
    assert_string_equal(tm_get_str(p, "valueFrom.secretKeyRef.name", ""), "es-creds");
    assert_string_equal(tm_get_str(p, "valueFrom.secretKeyRef.key", ""), "pass");

    json_t *cj = rt_find(r.manifests, "CronJob", "demo-jaeger-es-index-cleaner");
    assert_non_null(cj);
    assert_string_equal(tm_get_str(cj, "apiVersion", ""), "batch/v1");
    assert_string_equal(tm_get_str(cj, "spec.schedule", ""), "55 23 * * *");
    json_t *cc = rt_container(cj);
    assert_string_equal(tm_get_str(cc, "image", ""), "jaegertracing/jaeger-es-index-cleaner:1.62.0");
    json_t *args = json_object_get(cc, "args");
    assert_string_equal(json_string_value(json_array_get(args, 0)), "2"); /* 36h -> 2 days */
    assert_string_equal(json_string_value(json_array_get(args, 1)), "http://es.logging.svc:9200");
    assert_string_equal(tm_get_str(rt_env(cc, "INDEX_PREFIX"), "value", ""), "demo");
    assert_string_equal(tm_get_str(rt_env(cc, "ES_PASSWORD"), "valueFrom.secretKeyRef.key", ""),
                        "pass");
    assert_string_equal(
        tm_get_str(cj, "spec.jobTemplate.spec.template.spec.restartPolicy", ""), "OnFailure");
    render_result_done(&r);
    json_decref(m);
}

/* Found by fuzz_render: a valid 40-character model name made a 64-character CronJob
 * name ("<model>-jaeger-es-index-cleaner"; CronJobs allow 52) and the model did not
 * render. Long names are cut with a hash; short ones are unchanged (above). */
static void long_model_names_fit(void **state) {
    (void)state;
    static const char *const names[] = {
        "payments-platform-production-tracing-eu1",       /* 40 */
        "payments-platform-production-tracing-eu2",       /* differs only at the end */
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr",   /* 44, TM_NAME_MAX */
    };
    char seen[3][64];
    for (size_t i = 0; i < 3; i++) {
        json_t *m = jaeger_model("elasticsearch", NULL);
        rt_set(m, "metadata.name", json_string(names[i]));
        rt_set(m, "spec.backend.retention", json_string("7d"));
        rt_set(m, "spec.collector.mode", json_string("statefulset"));
        struct diag d;
        diag_init(&d);
        assert_int_equal(tm_validate(m, 0, &d), 0);
        assert_int_equal(d.errors, 0);
        diag_done(&d);
        struct render_result r = rt_render(m);
        size_t k;
        json_t *o;
        json_t *cj = NULL;
        json_array_foreach(r.manifests, k, o) {
            const char *kind = tm_get_str(o, "kind", "");
            size_t len = strlen(tm_get_str(o, "metadata.name", ""));
            size_t lim = !strcmp(kind, "CronJob") || !strcmp(kind, "StatefulSet") ? 52 : 63;
            if (len > lim)
                fail_msg("%s %s: %zu characters", kind, tm_get_str(o, "metadata.name", ""), len);
            if (!strcmp(kind, "CronJob"))
                cj = o;
        }
        assert_non_null(cj);
        const char *cname = tm_get_str(cj, "metadata.name", "");
        assert_int_equal(strlen(cname), 52);
        assert_true(strncmp(cname, names[i], 21) == 0);   /* the model name's start */
        assert_non_null(strstr(cname, "-jaeger-es-index-cleaner"));
        snprintf(seen[i], sizeof(seen[i]), "%s", cname);
        /* the labels, selector and Service keep the full "<model>-collector" */
        char coll[64];
        snprintf(coll, sizeof(coll), "%s-collector", names[i]);
        assert_non_null(rt_find(r.manifests, "Service", coll));
        render_result_done(&r);
        json_decref(m);
    }
    assert_string_not_equal(seen[0], seen[1]);
    /* stable: the same model gets the same names every time */
    json_t *m = jaeger_model("elasticsearch", NULL);
    rt_set(m, "metadata.name", json_string(names[0]));
    rt_set(m, "spec.backend.retention", json_string("7d"));
    struct render_result r = rt_render(m);
    assert_non_null(rt_find(r.manifests, "CronJob", seen[0]));
    render_result_done(&r);
    json_decref(m);
}

static void production(void **state) {
    (void)state;
    json_t *m = jaeger_model("elasticsearch", "production");
    rt_set(m, "spec.backend.jaeger.image",
           json_string("registry.example.com/jaegertracing/all-in-one:1.60.0"));
    struct render_result r = rt_render(m);
    assert_null(rt_find(r.manifests, "Deployment", "demo-jaeger"));
    json_t *cd = rt_find(r.manifests, "Deployment", "demo-jaeger-collector");
    json_t *qd = rt_find(r.manifests, "Deployment", "demo-jaeger-query");
    assert_non_null(cd);
    assert_non_null(qd);
    json_t *cc = rt_container(cd), *qc = rt_container(qd);
    assert_string_equal(tm_get_str(cc, "image", ""),
                        "registry.example.com/jaegertracing/jaeger-collector:1.60.0");
    assert_string_equal(tm_get_str(qc, "image", ""),
                        "registry.example.com/jaegertracing/jaeger-query:1.60.0");
    assert_non_null(rt_env(cc, "SAMPLING_STRATEGIES_FILE"));
    assert_null(rt_env(qc, "SAMPLING_STRATEGIES_FILE"));
    assert_string_equal(tm_get_str(rt_env(qc, "SPAN_STORAGE_TYPE"), "value", ""), "elasticsearch");
    /* each Service selects its own Deployment */
    json_t *cs = rt_find(r.manifests, "Service", "demo-jaeger-collector");
    assert_string_equal(
        json_string_value(json_object_get(tm_get(cs, "spec.selector"), "app.kubernetes.io/name")),
        "demo-jaeger-collector");
    json_t *cj = rt_find(r.manifests, "CronJob", "demo-jaeger-es-index-cleaner");
    assert_string_equal(tm_get_str(rt_container(cj), "image", ""),
                        "registry.example.com/jaegertracing/jaeger-es-index-cleaner:1.60.0");
    render_result_done(&r);
    json_decref(m);

    /* memory or badger storage cannot be shared by two Deployments */
    m = jaeger_model("memory", "production");
    struct diag d = rt_render_fails(m);
    assert_true(rt_diag_has(&d, "spec.backend.jaeger.deployment", "elasticsearch"));
    diag_done(&d);
    json_decref(m);
}

static void operator_cr(void **state) {
    (void)state;
    json_t *m = jaeger_model("elasticsearch", NULL);
    rt_set(m, "spec.backend.jaeger.useOperatorCR", json_true());
    struct render_result r = rt_render(m);
    assert_int_equal(rt_count(r.manifests, "Deployment"), 1); /* the collector only */
    assert_int_equal(rt_count(r.manifests, "CronJob"), 0);
    assert_null(rt_find(r.manifests, "ConfigMap", "demo-jaeger-sampling"));
    json_t *j = rt_find(r.manifests, "Jaeger", "demo-jaeger");
    assert_non_null(j);
    assert_string_equal(tm_get_str(j, "apiVersion", ""), "jaegertracing.io/v1");
    assert_string_equal(tm_get_str(j, "spec.strategy", ""), "allinone");
    assert_string_equal(tm_get_str(j, "spec.storage.type", ""), "elasticsearch");
    assert_string_equal(tm_get_str(j, "spec.storage.options.es.server-urls", ""),
                        "http://es.logging.svc:9200");
    assert_string_equal(tm_get_str(j, "spec.storage.secretName", ""), "es-creds");
    assert_int_equal(json_integer_value(tm_get(j, "spec.storage.esIndexCleaner.numberOfDays")), 7);
    /* sampling.options is the strategies document */
    json_t *want = json_pack("{s:{s:s, s:f}}", "default_strategy", "type", "probabilistic",
                             "param", 0.1);
    tu_assert_json_equal(want, tm_get(j, "spec.sampling.options"), "sampling.options");
    json_decref(want);
    /* the collector still exports to <m>-jaeger-collector (the operator's Service name) */
    json_t *cfg = rt_cm_doc(r.manifests, "demo-collector", "collector.yaml");
    assert_string_equal(tm_get_str(cfg, "exporters.otlp_grpc/jaeger.endpoint", ""),
                        "demo-jaeger-collector.obs.svc:4317");
    json_decref(cfg);
    render_result_done(&r);
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strategies),    cmocka_unit_test(all_in_one_memory),
        cmocka_unit_test(badger),        cmocka_unit_test(elasticsearch),
        cmocka_unit_test(long_model_names_fit),
        cmocka_unit_test(production),    cmocka_unit_test(operator_cr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
