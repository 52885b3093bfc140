/* test_dsl_map.c - what each DSL block kind becomes (exact TracingModel and
 * Instrumentation fields), how blocks in several files join one model, and the
 * errors and warnings (with their file:line:col) for input the mapping rejects
 * or cannot express. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "dsl/dsl.h"
#include "base/err.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

struct result {
    int rc;
    json_t *docs;
    struct diag d;
};

static void compile_n(struct result *r, const char *const *texts, size_t n,
                      const struct dsl_options *opt) {
    struct dsl_source srcs[8];
    static const char *const names[] = {"a.tdsl", "b.tdsl", "c.tdsl", "d.tdsl"};
    for (size_t i = 0; i < n; i++) {
        srcs[i].name = names[i];
        srcs[i].text = texts[i];
        srcs[i].len = strlen(texts[i]);
    }
    diag_init(&r->d);
    r->docs = NULL;
    r->rc = dsl_compile(srcs, n, opt, &r->docs, &r->d);
}

static void compile1(struct result *r, const char *text) { compile_n(r, &text, 1, NULL); }

static void done(struct result *r) {
    json_decref(r->docs);
    diag_done(&r->d);
}

static void dump_diags(const struct diag *d) {
    for (size_t i = 0; i < d->len; i++)
        print_error("  %s: %s: %s\n", d->items[i].where,
                    d->items[i].level == DIAG_ERROR ? "error" : "warning", d->items[i].msg);
}

static void assert_ok(struct result *r) {
    if (r->rc != 0) {
        dump_diags(&r->d);
        fail_msg("compile failed with %d", r->rc);
    }
}

/* Some diagnostic of level lvl located at `where` has a message containing needle. */
static void assert_diag(const struct diag *d, enum diag_level lvl, const char *where,
                        const char *needle) {
    for (size_t i = 0; i < d->len; i++)
        if (d->items[i].level == lvl && !strcmp(d->items[i].where, where) &&
            strstr(d->items[i].msg, needle))
            return;
    dump_diags(d);
    fail_msg("no %s at %s containing \"%s\"", lvl == DIAG_ERROR ? "error" : "warning", where,
             needle);
}

static void assert_no_warnings(const struct diag *d) {
    if (d->len) {
        dump_diags(d);
        fail_msg("expected no diagnostics, got %zu", d->len);
    }
}

static json_t *doc(struct result *r, size_t i) { return json_array_get(r->docs, i); }
static json_t *spec(struct result *r, size_t i) { return json_object_get(doc(r, i), "spec"); }

static void assert_json(const json_t *got, const char *want_text, const char *what) {
    json_error_t err;
    json_t *want = json_loads(want_text, 0, &err);
    if (!want)
        fail_msg("bad expected JSON for %s: %s", what, err.text);
    tu_assert_json_equal(want, got, what);
    json_decref(want);
}

static int output_contains(const json_t *docs, const char *needle) {
    char *s = json_dumps(docs, JSON_COMPACT);
    int has = strstr(s, needle) != NULL;
    free(s);
    return has;
}

/* ---- tracing_model ---- */

static void map_tracing_model(void **state) {
    struct result r;
    compile1(&r,
             "tracing_model \"web_service_tracing\" {\n"
             "  description: \"Web服务\"\n"
             "  version: \"1.0.0\"\n"
             "  namespace: \"web_service\"\n"
             "  labels: { service: \"web\", tier: 2 }\n"
             "  sampling: { rate: 0.1, strategy: \"probabilistic\", parent_based: false,\n"
             "              max_traces_per_second: 50 }\n"
             "  propagation: { type: \"w3c_tracecontext\", headers: [\"traceparent\", \"X-Request-ID\"] }\n"
             "  collector: { mode: \"statefulset\", replicas: 3, image: \"otel/c:1\",\n"
             "               redact: [\"password\"], receivers: [\"jaeger\", \"otlp\"],\n"
             "               batch: { timeout: \"2s\", send_batch_size: 512 } }\n"
             "  istio: { enabled: true, provider: \"otel\", sampling_percentage: 10, scope: \"mesh\",\n"
             "           mesh_root_namespace: \"istio-system\" }\n"
             "  capacity: { requests_per_second: 100, spans_per_request: 10 }\n"
             "  storage: { type: \"jaeger\", retention: \"3d\" }\n"
             "}\n");
    assert_ok(&r);
    assert_int_equal(json_array_size(r.docs), 1);
    assert_json(json_object_get(doc(&r, 0), "metadata"),
                "{\"name\": \"web-service-tracing\", \"namespace\": \"web-service\","
                " \"annotations\": {\"tracemodel.dev/dsl-name\": \"web_service_tracing\"}}",
                "metadata");
    assert_string_equal(json_string_value(json_object_get(doc(&r, 0), "apiVersion")),
                        "tracemodel.dev/v1alpha1");
    assert_string_equal(json_string_value(json_object_get(doc(&r, 0), "kind")), "TracingModel");
    assert_json(spec(&r, 0),
                "{\"description\": \"Web服务\", \"version\": \"1.0.0\","
                " \"labels\": {\"service\": \"web\", \"tier\": \"2\"},"
                " \"sampling\": {\"strategy\": \"probabilistic\", \"rate\": 0.1,"
                "   \"parentBased\": false, \"maxTracesPerSecond\": 50},"
                " \"propagation\": {\"types\": [\"tracecontext\"],"
                "   \"correlation\": {\"headers\": [\"X-Request-ID\"]}},"
                " \"collector\": {\"mode\": \"statefulset\", \"replicas\": 3, \"image\": \"otel/c:1\","
                "   \"redact\": [\"password\"], \"receivers\": {\"jaeger\": true},"
                "   \"batch\": {\"timeout\": \"2s\", \"sendBatchSize\": 512}},"
                " \"backend\": {\"type\": \"jaeger\", \"retention\": \"3d\"},"
                " \"istio\": {\"enabled\": true, \"provider\": \"otel\", \"samplingPercentage\": 10,"
                "   \"scope\": \"mesh\", \"meshRootNamespace\": \"istio-system\"},"
                " \"capacity\": {\"requestsPerSecond\": 100, \"spansPerRequest\": 10}}",
                "spec");
    /* the namespace is converted, with a warning at its line; nothing else is warned */
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:14", "not a valid Kubernetes namespace");
    assert_int_equal(r.d.len, 1);
    done(&r);
}

static void map_default_backend_and_namespace_flag(void **state) {
    struct result r;
    const char *src = "tracing_model \"m\" { namespace: \"x_y\" }\n";
    struct dsl_options opt = {"prod", 0};
    compile_n(&r, &src, 1, &opt);
    assert_ok(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc(&r, 0), "metadata"),
                                                          "namespace")), "prod");
    assert_json(json_object_get(spec(&r, 0), "backend"),
                "{\"type\": \"jaeger\", \"jaeger\": {\"deployment\": \"allInOne\","
                " \"storage\": {\"type\": \"memory\"}}}", "default backend");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:1", "no trace_store");
    assert_int_equal(r.d.len, 1); /* --namespace: no warning about x_y */
    done(&r);

    opt.ns = "Not_A_Label";
    compile_n(&r, &src, 1, &opt);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "--namespace", "not a valid namespace");
    done(&r);
}

static void map_name_without_ascii(void **state) {
    struct result r;
    compile1(&r, "tracing_model \"订单追踪\" { storage: { type: \"jaeger\" } }\n");
    assert_ok(&r);
    const char *name = json_string_value(json_object_get(json_object_get(doc(&r, 0), "metadata"),
                                                         "name"));
    assert_true(!strncmp(name, "tracing-model-", 14) && strlen(name) == 22);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:15", "no letters or digits usable");
    done(&r);
}

/* ---- sampling_strategy ---- */

static void map_sampling_strategy(void **state) {
    struct result r;
    compile1(&r,
             "tracing_model \"m\" { sampling_strategy: \"s\" storage: { type: \"jaeger\" } }\n"
             "sampling_strategy \"s\" {\n"
             "  type: \"adaptive\"\n"
             "  lists: { common: [\"a\", \"b\"] }\n"
             "  rules: [\n"
             "    { name: \"errors\", condition: \"http.status_code >= 400\", rate: 1.0, priority: 1 }\n"
             "    { name: \"common\", condition: \"service.name in common\", rate: 0.5, priority: 2 }\n"
             "    { name: \"rest\", condition: \"*\", rate: 0.1 }\n"
             "  ]\n"
             "  adaptive: { enabled: true, target_rate: 0.1, adjustment_interval: \"5m\",\n"
             "              min_rate: 0.01, max_rate: 1.0 }\n"
             "  head_sampling: { enabled: true, rate: 0.2, max_qps: 100 }\n"
             "  tail_sampling: { enabled: true, decision_wait: \"10s\", num_traces: 1000,\n"
             "    expected_new_traces_per_sec: 10,\n"
             "    policies: [ { name: \"err\", condition: \"status == ERROR\" },\n"
             "                { name: \"rare\", condition: \"service.name not in undefined_list\", rate: 0.5 } ] }\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "sampling"),
                "{\"strategy\": \"adaptive\", \"rate\": 0.2, \"maxTracesPerSecond\": 100,"
                " \"rules\": ["
                "  {\"name\": \"errors\", \"condition\": \"http.status_code >= 400\", \"rate\": 1.0, \"priority\": 1},"
                "  {\"name\": \"common\", \"condition\": \"service.name in ['a', 'b']\", \"rate\": 0.5, \"priority\": 2},"
                "  {\"name\": \"rest\", \"condition\": \"*\", \"rate\": 0.1}],"
                " \"adaptive\": {\"enabled\": true, \"targetRate\": 0.1, \"adjustmentInterval\": \"5m\","
                "   \"minRate\": 0.01, \"maxRate\": 1.0},"
                " \"tail\": {\"enabled\": true, \"decisionWait\": \"10s\", \"numTraces\": 1000,"
                "   \"expectedNewTracesPerSec\": 10,"
                "   \"policies\": [{\"name\": \"err\", \"condition\": \"status == ERROR\"}]}}",
                "sampling");
    /* the policy naming an undefined list is dropped with a warning at its condition */
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:16:44", "list 'undefined_list' is not defined");
    assert_int_equal(r.d.len, 1);
    done(&r);
}

static void map_sampling_errors(void **state) {
    static const struct { const char *body, *where, *msg; } cases[] = {
        {"rules: [ { name: \"x\", condition: \"http.status_code >= \" } ]", "a.tdsl:2:52",
         "condition \"http.status_code >= \": expected a value after '>='"},
        {"rules: [ { name: \"x\", condition: \"a \\u003e 1 >\" } ]", "a.tdsl:2:34",
         "column 7: unexpected"}, /* an escape: the column cannot be placed in the source */
        {"rules: [ { condition: \"*\" } ]", "a.tdsl:2:10", "a rule needs a name"},
        {"rules: [ { name: \"x\" } ]", "a.tdsl:2:10", "a rule needs a condition"},
        {"rate: \"high\"", "a.tdsl:2:7", "expected a rate between 0 and 1, got string \"high\""},
        {"rate: 1.5", "a.tdsl:2:7", "a rate must be between 0 and 1, got 1.5"},
        {"type: \"random\"", "a.tdsl:2:7", "unknown sampling strategy \"random\""},
        {"tail_sampling: { num_traces: 0 }", "a.tdsl:2:30", "must be at least 1"},
        {"tail_sampling: { decision_wait: 10 }", "a.tdsl:2:33", "a duration needs a unit"},
        {"adaptive: { adjustment_interval: \"soon\" }", "a.tdsl:2:34", "is not a duration"},
        {"head_sampling: true", "a.tdsl:2:16", "expected an object { ... }, got boolean"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *src = xasprintf("sampling_strategy \"s\" {\n%s\n}\n", cases[i].body);
        struct result r;
        compile1(&r, src);
        assert_int_equal(r.rc, OP_EINVALID);
        assert_null(r.docs);
        assert_diag(&r.d, DIAG_ERROR, cases[i].where, cases[i].msg);
        done(&r);
        free(src);
    }
}

/* ---- context_propagation ---- */

static void map_context_propagation(void **state) {
    struct result r;
    compile1(&r,
             "context_propagation \"p\" {\n"
             "  type: [\"w3c\", \"b3multi\"]\n"
             "  headers: [ { name: \"traceparent\", format: \"x\", required: true }, \"uber-trace-id\" ]\n"
             "  baggage: { enabled: true, max_entries: 20, max_value_length: 4096,\n"
             "             allowed_keys: [\"user.id\"] }\n"
             "  correlation: { enabled: true, request_id_header: \"X-Request-ID\",\n"
             "                 headers: [\"X-Session-ID\"] }\n"
             "  injection: { http_headers: true, grpc_metadata: false, database_queries: true }\n"
             "  extraction: { http_headers: true }\n"
             "  storage: { type: \"jaeger\" }\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "propagation"),
                "{\"types\": [\"tracecontext\", \"b3multi\", \"baggage\"],"
                " \"baggage\": {\"maxEntries\": 20, \"maxValueLength\": 4096,"
                "   \"allowedKeys\": [\"user.id\"]},"
                " \"correlation\": {\"headers\": [\"X-Request-ID\", \"X-Session-ID\"]}}",
                "propagation");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:68", "written by the jaeger propagator");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:8:51", "cannot be turned off");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:8:76", "sqlcommenter");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:10:3", "storage: unknown key; ignored");
    done(&r);

    compile1(&r, "context_propagation \"p\" { type: \"zipkin\" }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:33", "unknown propagation type \"zipkin\"");
    done(&r);

    /* baggage off: not among the types, and its settings are reported */
    compile1(&r, "context_propagation \"p\" { type: \"b3\"\n baggage: { enabled: false, keys: [\"a\"] } }\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "propagation"), "{\"types\": [\"b3\"]}", "no baggage");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:11", "baggage is disabled");
    done(&r);
}

/* Inline shorthands in a model: `propagation: [..]` is the types, `sampling: 0.1` or
 * `sampling: 10%` the rate; a bad one is reported where it is written. */
static void map_inline_shorthands(void **state) {
    struct result r;
    compile1(&r, "tracing_model \"m\" {\n"
                 "  propagation: [w3c_tracecontext, \"baggage\", b3]\n"
                 "  sampling: 10%\n"
                 "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "propagation"),
                "{\"types\": [\"tracecontext\", \"baggage\", \"b3\"]}", "propagation list");
    assert_json(json_object_get(spec(&r, 0), "sampling"), "{\"rate\": 0.1}", "sampling rate");
    done(&r);

    compile1(&r, "tracing_model \"m\" { sampling: 0.25 }\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "sampling"), "{\"rate\": 0.25}", "plain rate");
    done(&r);

    compile1(&r, "tracing_model \"m\" {\n  propagation: [\"tracecontext\", \"zipkin\"]\n"
                 "  sampling: 1.5\n}\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:2:33", "unknown propagation type \"zipkin\"");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:3:13", "a rate must be between 0 and 1, got 1.5");
    done(&r);
}

/* ---- trace_store ---- */

static void map_trace_store_jaeger(void **state) {
    struct result r;
    compile1(&r,
             "trace_store \"jaeger_store\" {\n"
             "  type: \"jaeger\"\n"
             "  version: \"1.42.0\"\n"
             "  storage: { type: \"elasticsearch\", endpoint: \"http://es:9200\", index_prefix: \"j\",\n"
             "             username: \"${ES_USERNAME}\", password: \"${ES_PASSWORD}\" }\n"
             "  retention: { hot_data: \"7d\", warm_data: \"30d\" }\n"
             "  sampling: {\n"
             "    default_strategy: { type: \"probabilistic\", param: 0.001 }\n"
             "    per_operation_strategies: [\n"
             "      { operation: \"GET /a\", strategy: { type: \"probabilistic\", param: 0.1 } } ]\n"
             "  }\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "backend"),
                "{\"type\": \"jaeger\", \"jaeger\": {\"image\": \"jaegertracing/all-in-one:1.42.0\","
                " \"storage\": {\"type\": \"elasticsearch\", \"elasticsearch\": {\"url\": \"http://es:9200\","
                "   \"indexPrefix\": \"j\", \"secretRef\": {\"name\": \"jaeger-store-credentials\","
                "   \"usernameKey\": \"username\", \"passwordKey\": \"password\"}}}},"
                " \"retention\": \"7d\"}", "backend");
    assert_json(json_object_get(spec(&r, 0), "sampling"),
                "{\"strategy\": \"probabilistic\", \"rate\": 0.001,"
                " \"operations\": [{\"name\": \"GET /a\", \"rate\": 0.1}]}", "sampling");
    assert_false(output_contains(r.docs, "${"));
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:24", "create Secret \"jaeger-store-credentials\" "
                "with key \"username\"");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:52", "key \"password\"");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:6:32", "tiered retention is not supported");
    done(&r);

    /* a password in plain text is never copied */
    compile1(&r, "trace_store \"s\" { type: \"jaeger\"\n storage: { type: \"elasticsearch\", "
                 "url: \"http://es\", password: \"hunter2\" } }\n");
    assert_ok(&r);
    assert_false(output_contains(r.docs, "hunter2"));
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:64", "is NOT copied");
    done(&r);
}

static void map_trace_store_tempo_otlp(void **state) {
    struct result r;
    compile1(&r,
             "trace_store \"t\" {\n"
             "  type: \"tempo\"\n"
             "  use_operator_cr: true\n"
             "  storage: { type: \"s3\", bucket: \"b\", region: \"r\", insecure: false, endpoint: \"e\",\n"
             "             access_key_id: \"${AK}\", secret_access_key: \"${SK}\" }\n"
             "  retention: \"48h\"\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "backend"),
                "{\"type\": \"tempo\", \"tempo\": {\"useOperatorCR\": true, \"storage\": {\"type\": \"s3\","
                " \"s3\": {\"bucket\": \"b\", \"region\": \"r\", \"insecure\": false, \"endpoint\": \"e\","
                " \"secretRef\": {\"name\": \"t-credentials\"}}}}, \"retention\": \"48h\"}", "tempo");
    done(&r);

    /* Tempo's own spelling: storage.backend, s3.access_key / s3.secret_key */
    compile1(&r, "trace_store \"t\" {\n"
                 "  type: tempo\n"
                 "  storage { backend: \"s3\", bucket: \"b\", endpoint: \"e\",\n"
                 "            access_key: \"${AK}\", secret_key: \"${SK}\" }\n"
                 "}\n");
    assert_ok(&r);
    assert_json(json_object_get(json_object_get(spec(&r, 0), "backend"), "tempo"),
                "{\"storage\": {\"type\": \"s3\", \"s3\": {\"bucket\": \"b\","
                " \"endpoint\": \"e\", \"secretRef\": {\"name\": \"t-credentials\"}}}}", "tempo backend: s3");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:25", "key \"access_key_id\"");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:46", "key \"secret_access_key\"");
    assert_false(output_contains(r.docs, "${AK}"));
    done(&r);

    compile1(&r, "trace_store \"t\" { type: \"tempo\" storage: { type: \"local\", size: \"20GB\" } }\n");
    assert_ok(&r);
    assert_json(json_object_get(json_object_get(spec(&r, 0), "backend"), "tempo"),
                "{\"storage\": {\"type\": \"local\", \"size\": \"20G\"}}", "tempo local size");
    done(&r);

    compile1(&r, "trace_store \"o\" { type: \"otlp\", endpoint: \"otlp.x:4317\", insecure: true,\n"
                 "  headers: { x-tenant: \"t1\", authorization: \"Bearer ${TOKEN}\" } }\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "backend"),
                "{\"type\": \"otlp\", \"otlp\": {\"endpoint\": \"otlp.x:4317\", \"insecure\": true,"
                " \"headers\": {\"x-tenant\": \"t1\"},"
                " \"secretRef\": {\"name\": \"o-credentials\", \"key\": \"authorization\"}}}", "otlp");
    assert_false(output_contains(r.docs, "Bearer"));
    done(&r);

    compile1(&r, "trace_store \"x\" { type: \"cassandra\" }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:25", "unknown store type \"cassandra\"");
    done(&r);

    compile1(&r, "trace_store \"x\" { storage: {} }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:17", "needs a type");
    done(&r);
}

/* ---- trace_source ---- */

static void map_trace_source(void **state) {
    struct result r;
    compile1(&r,
             "tracing_model \"m\" { namespace: \"shop\" storage: { type: \"jaeger\" } }\n"
             "trace_source \"api_src\" {\n"
             "  description: \"API\"\n"
             "  service: { name: \"api\", version: \"1.2\", environment: \"prod\",\n"
             "             attributes: { team: \"core\" } }\n"
             "  instrumentation: { framework: \"opentelemetry\", language: \"golang\", version: \"1.30.0\" }\n"
             "  endpoints: [ { name: \"e\", path: \"/x\", method: \"GET\",\n"
             "                 tracing: { span_name: \"GET /x\", attributes: [\"user.id\"] } } ]\n"
             "  database: { enabled: true, spans: [ { name: \"q\", attributes: [\"db.system\"] } ] }\n"
             "}\n");
    assert_ok(&r);
    assert_no_warnings(&r.d);
    assert_int_equal(json_array_size(r.docs), 2);
    assert_json(doc(&r, 1),
                "{\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"Instrumentation\","
                " \"metadata\": {\"name\": \"api-src\", \"namespace\": \"shop\", \"annotations\": {"
                "   \"tracemodel.dev/dsl-name\": \"api_src\","
                "   \"tracemodel.dev/description\": \"API\","
                "   \"tracemodel.dev/framework\": \"opentelemetry\","
                "   \"tracemodel.dev/framework-version\": \"1.30.0\","
                "   \"tracemodel.dev/language\": \"golang\","
                "   \"tracemodel.dev/endpoints\": \"[{\\\"name\\\":\\\"e\\\",\\\"path\\\":\\\"/x\\\","
                "\\\"methods\\\":[\\\"GET\\\"],\\\"spanName\\\":\\\"GET /x\\\",\\\"attributes\\\":[\\\"user.id\\\"]}]\","
                "   \"tracemodel.dev/spans\": \"[{\\\"kind\\\":\\\"database\\\",\\\"enabled\\\":true,"
                "\\\"name\\\":\\\"q\\\",\\\"attributes\\\":[\\\"db.system\\\"]}]\"}},"
                " \"spec\": {\"tracingModel\": \"m\", \"resource\": {\"attributes\": {"
                "   \"service.name\": \"api\", \"service.version\": \"1.2\","
                "   \"deployment.environment\": \"prod\", \"team\": \"core\"}}, \"go\": {}}}",
                "Instrumentation");
    done(&r);

    /* no agent for the language: env-only sdk block; no model: a warning */
    compile1(&r, "trace_source \"s\" { instrumentation: { language: \"rust\" } }\n");
    assert_ok(&r);
    assert_json(spec(&r, 0), "{\"sdk\": {}}", "sdk");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:49", "no auto-instrumentation agent for \"rust\"");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:1", "belongs to no tracing_model");
    done(&r);

    /* a source in another namespace refers to the model as ns/name */
    compile1(&r, "tracing_model \"m\" { namespace: \"a\" storage: { type: \"jaeger\" } }\n"
                 "trace_source \"s\" { tracing_model: \"m\" namespace: \"b\" "
                 "instrumentation: { language: \"java\" } }\n");
    assert_ok(&r);
    assert_string_equal(json_string_value(json_object_get(spec(&r, 1), "tracingModel")), "a/m");
    done(&r);

    compile1(&r, "trace_source \"s\" { service: { name: \"x\" } }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:1", "a trace source needs a language");
    done(&r);

    /* language and framework on the block itself: short for instrumentation { ... } */
    compile1(&r, "tracing_model \"m\" { storage: { type: \"jaeger\" } }\n"
                 "trace_source \"s\" { language: \"python\"\n framework: \"otel\" }\n");
    assert_ok(&r);
    assert_no_warnings(&r.d);
    assert_json(spec(&r, 1), "{\"tracingModel\": \"m\", \"python\": {}}", "shorthand");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            doc(&r, 1), "metadata"), "annotations"), "tracemodel.dev/framework")),
                        "otel");
    done(&r);

    /* both: the instrumentation block wins, and the other is named */
    compile1(&r, "tracing_model \"m\" { storage: { type: \"jaeger\" } }\n"
                 "trace_source \"s\" { language: \"python\"\n"
                 " instrumentation: { language: \"java\" } }\n");
    assert_ok(&r);
    assert_json(spec(&r, 1), "{\"tracingModel\": \"m\", \"java\": {}}", "block wins");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:20", "instrumentation { ... } is given too");
    done(&r);
}

/* ---- distributed_tracing / microservice_tracing ---- */

static void map_distributed_tracing(void **state) {
    struct result r;
    compile1(&r,
             "distributed_tracing \"d\" {\n"
             "  services: [\n"
             "    { name: \"a\", version: \"1\", tracing: { enabled: true, sampling_rate: 0.1,\n"
             "      attributes: [\"x\"], operations: [ { name: \"op\", rate: 0.5 } ] } }\n"
             "    { name: \"b\", tracing: { enabled: false } }\n"
             "  ]\n"
             "  analysis: [\n"
             "    { name: \"g\", type: \"dependency_graph\", services: [\"*\"], metrics: [\"latency\"] }\n"
             "    { name: \"p\", type: \"performance_analysis\", threshold: \"p95_latency > 2s\" }\n"
             "    { name: \"e\", type: \"error_analysis\", threshold: \"error_rate > 0.05\" }\n"
             "  ]\n"
             "  storage: { type: \"jaeger\" }\n"
             "}\n");
    assert_ok(&r);
    assert_no_warnings(&r.d);
    assert_json(json_object_get(spec(&r, 0), "services"),
                "[{\"name\": \"a\", \"version\": \"1\", \"samplingRate\": 0.1, \"attributes\": [\"x\"],"
                "  \"operations\": [{\"name\": \"op\", \"rate\": 0.5}]},"
                " {\"name\": \"b\", \"samplingRate\": 0.0}]", "services");
    assert_json(json_object_get(spec(&r, 0), "analysis"),
                "{\"enabled\": true, \"latency\": [{\"percentile\": 0.95, \"threshold\": \"2s\"}],"
                " \"errorRate\": {\"threshold\": 0.05}}", "analysis");
    assert_json(json_object_get(spec(&r, 0), "collector"),
                "{\"serviceGraph\": {\"enabled\": true}, \"spanMetrics\": {\"enabled\": true}}",
                "collector");
    done(&r);

    compile1(&r, "distributed_tracing \"d\" { services: [ { name: \"a\" }, { name: \"a\" } ] }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:62", "service \"a\" is listed twice");
    done(&r);

    compile1(&r, "distributed_tracing \"d\" { analysis: [ { type: \"x\", threshold: \"cpu > 1\" } ] }\n");
    assert_ok(&r);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:47", "unknown analysis type \"x\"");
    done(&r);
}

/* A microservice_tracing block joins a tracing_model; services from two blocks merge by name. */
static void map_microservice_tracing_joins_model(void **state) {
    struct result r;
    compile1(&r,
             "tracing_model \"m\" { services: [ { name: \"a\", tracing: { sampling_rate: 0.2 } } ]\n"
             "  storage: { type: \"jaeger\" } }\n"
             "microservice_tracing \"ms\" {\n"
             "  services: [ { name: \"a\", version: \"2\", tracing: { sampling_rate: 0.9 } },\n"
             "              { name: \"b\", tracing: { sampling_rate: 1.0 } } ]\n"
             "}\n");
    assert_ok(&r);
    assert_int_equal(json_array_size(r.docs), 1);
    assert_json(json_object_get(spec(&r, 0), "services"),
                "[{\"name\": \"a\", \"samplingRate\": 0.2, \"version\": \"2\"},"
                " {\"name\": \"b\", \"samplingRate\": 1.0}]", "merged services");
    /* first wins: the conflict names both places */
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:68",
                "spec.services[0].samplingRate is already 0.2 (from tracing_model \"m\" at "
                "a.tdsl:1:72); 0.9 is ignored");
    done(&r);
}

/* ---- performance_analysis, monitoring, opentelemetry_integration ---- */

static void map_performance_analysis(void **state) {
    struct result r;
    compile1(&r,
             "performance_analysis \"p\" {\n"
             "  analysis_types: [\n"
             "    { type: \"latency\", metrics: [ { name: \"p50_latency\", percentile: 0.5, threshold: \"500ms\" },\n"
             "                                  { name: \"p99_latency\", threshold: \"5s\" } ] }\n"
             "    { type: \"throughput\", metrics: [ { name: \"requests_per_second\", threshold: 1000, min: 10 },\n"
             "                                     { name: \"concurrent_requests\", threshold: 5 } ] }\n"
             "    { type: \"error\", metrics: [ { name: \"error_rate\", threshold: 0.05 } ] }\n"
             "  ]\n"
             "  bottleneck_detection: { enabled: true }\n"
             "  storage: 1\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "analysis"),
                "{\"latency\": [{\"percentile\": 0.5, \"threshold\": \"500ms\"},"
                "  {\"percentile\": 0.99, \"threshold\": \"5s\"}],"
                " \"throughput\": {\"maxRequestsPerSecond\": 1000, \"minRequestsPerSecond\": 10},"
                " \"errorRate\": {\"threshold\": 0.05}}", "analysis");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:6:38", "\"concurrent_requests\" is not supported");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:9:3", "bottleneck_detection: not compiled");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:10:3", "storage: unknown key; ignored");
    done(&r);
}

static void map_monitoring(void **state) {
    struct result r;
    compile1(&r,
             "monitoring \"mon\" {\n"
             "  metrics: [ { name: \"x\", type: \"counter\" } ]\n"
             "  alerts: [\n"
             "    { name: \"Full\", condition: \"used_bytes > 10GB and rate(x[5m]) >= 2s\",\n"
             "      severity: \"warning\", for: \"5m\", action: \"cleanup\" }\n"
             "  ]\n"
             "  alerting: {\n"
             "    on_high_latency: { threshold: \"300ms\" }\n"
             "    on_high_error_rate: { threshold: 0.01, severity: \"critical\" }\n"
             "    on_export_failure: { threshold: 0.2 }\n"
             "    on_low_throughput: { threshold: 3 }\n"
             "    on_disk_full: { threshold: 0.9 }\n"
             "  }\n"
             "  storage: { type: \"jaeger\" }\n"
             "}\n");
    assert_json(json_object_get(spec(&r, 0), "alerts"),
                "{\"rules\": [{\"name\": \"Full\", \"expr\": \"used_bytes > 10000000000 and rate(x[5m]) >= 2\","
                "  \"severity\": \"warning\", \"for\": \"5m\", \"description\": \"Suggested action: cleanup\"}],"
                " \"spanDropRateThreshold\": 0.2}", "alerts");
    assert_json(json_object_get(spec(&r, 0), "analysis"),
                "{\"latency\": [{\"percentile\": 0.95, \"threshold\": \"300ms\"}],"
                " \"errorRate\": {\"threshold\": 0.01}, \"throughput\": {\"minRequestsPerSecond\": 3}}",
                "analysis");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:3", "metrics: not compiled");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:39", "actions such as \"cleanup\" are not run");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:8:5", "no percentile given");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:9:44", "severity and notification");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:12:5", "no alert of the model matches \"on_disk_full\"");
    done(&r);
}

static void map_opentelemetry_integration(void **state) {
    struct result r;
    compile1(&r,
             "opentelemetry_integration \"o\" {\n"
             "  rules: [ { name: \"R\", expr: \"up == 0\", for: \"1m\",\n"
             "             labels: { severity: critical, team: \"x\" },\n"
             "             annotations: { summary: \"S\", description: \"D\" } } ]\n"
             "  alertmanager: { receivers: [] }\n"
             "}\n");
    assert_ok(&r);
    assert_json(json_object_get(json_object_get(spec(&r, 0), "alerts"), "rules"),
                "[{\"name\": \"R\", \"expr\": \"up == 0\", \"for\": \"1m\", \"severity\": \"critical\","
                "  \"summary\": \"S\", \"description\": \"D\"}]", "rules");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:44", "only severity can be set here");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:3", "alertmanager: not compiled");
    done(&r);

    compile1(&r, "opentelemetry_integration \"o\" { rules: [ { name: \"R\", for: \"1m\" } ] }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:42", "needs an expr");
    done(&r);
}

/* ---- real_time_tracing / stream_tracing ---- */

static void map_stream_blocks(void **state) {
    struct result r;
    compile1(&r,
             "real_time_tracing \"rt\" {\n"
             "  streaming: { engine: \"flink\" }\n"
             "  sources: [ { name: \"in\", type: \"kafka\", topic: \"spans\", consumer_group: \"g\" } ]\n"
             "  processing: [ { name: \"proc\", operations: [\n"
             "      { type: \"enrichment\", fields: [\"a\"] },\n"
             "      { type: \"graph_building\" } ] } ]\n"
             "  outputs: [ { name: \"alerts\", type: \"kafka\", topic: \"al\", endpoint: \"kafka:9093\" } ]\n"
             "  storage: { type: \"jaeger\" }\n"
             "}\n");
    assert_json(json_object_get(spec(&r, 0), "collector"),
                "{\"kafka\": {\"exporter\": true, \"topic\": \"spans\", \"brokers\": [\"kafka:9093\"]},"
                " \"serviceGraph\": {\"enabled\": true}}", "collector");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:3", "streaming: not compiled");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:7",
                "real_time_tracing \"rt\": processing[0].operations[0]: processing \"proc\": "
                "operation \"enrichment\" (line 5) cannot run in the collector");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:14", "no brokers for source \"in\": using those of "
                "output \"alerts\"");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:7:14", "holds the stream engine's results");
    done(&r);

    compile1(&r, "stream_tracing \"st\" { outputs: [ { type: \"kafka\", topic: \"t\",\n"
                 "  brokers: [\"k:9092\"], encoding: \"jaeger_proto\" } ] }\n");
    assert_ok(&r);
    assert_json(json_object_get(json_object_get(spec(&r, 0), "collector"), "kafka"),
                "{\"receiver\": true, \"topic\": \"t\", \"brokers\": [\"k:9092\"],"
                " \"encoding\": \"jaeger_proto\"}", "kafka receiver");
    done(&r);
}

/* ---- validation_rules, performance_validation, best_practices ---- */

static const char *checked_model =
    "tracing_model \"m\" {\n"
    "  version: \"1\"\n"
    "  sampling: { rate: 0.2, rules: [ { name: \"pay\", condition: \"service.name == 'pay'\", rate: 1.0 } ] }\n"
    "  propagation: { type: \"b3\" }\n"
    "  services: [ { name: \"pay\", tracing: { sampling_rate: 0.5 } },\n"
    "              { name: \"web\", tracing: { sampling_rate: 0.01 } } ]\n"
    "  storage: { type: \"jaeger\", retention: \"10d\" }\n"
    "  capacity: { requests_per_second: 1000, spans_per_request: 10, span_size_bytes: 1000 }\n"
    "}\n";

static void map_validation_rules(void **state) {
    const char *rules =
        "validation_rules \"v\" {\n"
        "  syntax: [\n"
        "    { rule: \"required_fields\", fields: [\"description\", \"version\"], message: \"需要描述\" }\n"
        "    { rule: \"valid_sampling_rate\", condition: \"sampling_rate >= 0.05 AND sampling_rate <= 1\" }\n"
        "    { rule: \"valid_propagation_type\", allowed_types: [\"w3c_tracecontext\"] }\n"
        "  ]\n"
        "  semantic: [\n"
        "    { rule: \"sampling_consistency\", severity: \"warning\" }\n"
        "    { rule: \"naming\", condition: \"names are nice\" }\n"
        "  ]\n"
        "}\n";
    const char *texts[] = {checked_model, rules};
    struct result r;
    compile_n(&r, texts, 2, NULL);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:1", "syntax[0][required_fields]: tracing_model \"m\": "
                "has no 'description' (需要描述)");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:6:56", "spec.services[1].samplingRate = 0.01 does not "
                "satisfy \"sampling_rate >= 0.05 AND sampling_rate <= 1\"");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:4:24", "propagation type b3 is not allowed");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:56", "service \"pay\" is head-sampled at 0.5 but "
                "rule \"pay\" wants 1 of its traces");
    assert_diag(&r.d, DIAG_WARNING, "b.tdsl:9:34", "condition \"names are nice\" cannot be checked");
    assert_int_equal(r.d.errors, 3);
    done(&r);
}

static void map_service_uniqueness(void **state) {
    const char *texts[] = {
        "tracing_model \"a\" { namespace: \"n\" services: [ { name: \"x\" } ] storage: { type: \"jaeger\" } }\n"
        "tracing_model \"b\" { namespace: \"n\" services: [ { name: \"x\" } ] storage: { type: \"jaeger\" } }\n",
        "validation_rules \"v\" { semantic: [ { rule: \"service_uniqueness\" } ] }\n"};
    struct result r;
    compile_n(&r, texts, 2, NULL);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:48", "service \"x\" is also defined by TracingModel \"b\"");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:2:48", "service \"x\" is also defined by TracingModel \"a\"");
    done(&r);
}

static void map_performance_validation(void **state) {
    /* 1000 rps x 10 spans x 0.2 x 1000 B x 10 days = 1728 GB; 2000 spans/s */
    const char *pv =
        "performance_validation \"pv\" {\n"
        "  constraints: [\n"
        "    { metric: \"storage_usage\", threshold: \"1TB\", action: \"error\" }\n"
        "    { metric: \"spans_per_second\", threshold: 1000 }\n"
        "    { metric: \"query_latency\", threshold: \"5s\", action: \"warn\" }\n"
        "  ]\n"
        "  optimization: [ { strategy: \"sampling_optimization\", enabled: true, target_rate: 0.1 } ]\n"
        "}\n";
    const char *texts[] = {checked_model, pv};
    struct result r;
    compile_n(&r, texts, 2, NULL);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:8:36", "estimated storage 1728 GB over the retention 10d "
                "exceeds 1TB");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:8:36", "estimated 2000 spans/s exceeds 1000");
    assert_diag(&r.d, DIAG_WARNING, "b.tdsl:5:5", "query_latency is measured at run time");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:21", "head rate 0.2 is above the target 0.1");
    done(&r);

    /* without capacity nothing can be estimated: a warning, not a silent pass */
    const char *texts2[] = {"tracing_model \"m\" { storage: { type: \"jaeger\" } }\n", pv};
    compile_n(&r, texts2, 2, NULL);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:1", "cannot be estimated without "
                "capacity.requests_per_second");
    done(&r);
}

static void map_best_practices(void **state) {
    const char *bp =
        "best_practices \"bp\" {\n"
        "  patterns: [\n"
        "    { name: \"distributed_context_propagation\", implementation: { strategy: \"w3c_tracecontext\", baggage: \"enabled\" } }\n"
        "    { name: \"adaptive_sampling\" }\n"
        "    { name: \"correlation_tracking\" }\n"
        "    { name: \"golden_signals\" }\n"
        "  ]\n"
        "  anti_patterns: [ { name: \"under_tracing\" }, { name: \"over_tracing\" } ]\n"
        "}\n";
    const char *texts[] = {checked_model, bp};
    struct result r;
    compile_n(&r, texts, 2, NULL);
    assert_ok(&r); /* lint: warnings only */
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:24", "propagation does not use tracecontext");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:24", "baggage is not propagated");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:21", "sampling is not adaptive");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:4:24", "no correlation headers");
    assert_diag(&r.d, DIAG_WARNING, "b.tdsl:6:5", "pattern \"golden_signals\" has no lint");
    done(&r);
}

/* ---- grouping across files, references, errors ---- */

static void map_references_across_files(void **state) {
    const char *texts[] = {
        "tracing_model \"m\" { namespace: \"prod\" trace_store: \"store\" sampling: \"samp\" }\n",
        "trace_store \"store\" { type: \"tempo\" }\n"
        "sampling_strategy \"samp\" { rate: 0.3 }\n"
        "sampling_strategy \"other\" { rate: 0.9 }\n",
    };
    struct result r;
    compile_n(&r, texts, 2, NULL);
    assert_ok(&r);
    /* one model: the unnamed strategy still joins the only model (after the named one) */
    assert_int_equal(json_array_size(r.docs), 1);
    assert_json(json_object_get(spec(&r, 0), "backend"), "{\"type\": \"tempo\"}", "backend");
    assert_json(json_object_get(spec(&r, 0), "sampling"), "{\"rate\": 0.3}", "sampling");
    assert_diag(&r.d, DIAG_WARNING, "b.tdsl:3:35", "spec.sampling.rate is already 0.3 (from "
                "sampling_strategy \"samp\" at b.tdsl:2:34)");
    done(&r);

    /* two models: blocks join by namespace, or by tracing_model:, else they are reported */
    const char *two[] = {
        "tracing_model \"a\" { namespace: \"na\" storage: { type: \"jaeger\" } }\n"
        "tracing_model \"b\" { namespace: \"nb\" storage: { type: \"jaeger\" } }\n",
        "sampling_strategy \"sa\" { namespace: \"na\", rate: 0.1 }\n"
        "sampling_strategy \"sb\" { tracing_model: \"b\", rate: 0.2 }\n"
        "sampling_strategy \"lost\" { rate: 0.3 }\n",
    };
    compile_n(&r, two, 2, NULL);
    assert_ok(&r);
    assert_json(json_object_get(spec(&r, 0), "sampling"), "{\"rate\": 0.1}", "a");
    assert_json(json_object_get(spec(&r, 1), "sampling"), "{\"rate\": 0.2}", "b");
    assert_diag(&r.d, DIAG_WARNING, "b.tdsl:3:1", "sampling_strategy \"lost\" is used by no model");
    done(&r);

    const char *missing = "tracing_model \"m\" { trace_store: \"nope\" }\n";
    compile1(&r, missing);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:34", "no trace_store named \"nope\" in the input files");
    done(&r);

    /* a misspelt reference names the block (or model) that was probably meant */
    compile1(&r, "trace_store \"shared_tempo\" { type: tempo }\n"
                 "tracing_model \"orders\" { trace_store: \"shared_tmpo\" }\n"
                 "sampling_strategy \"x\" { tracing_model: \"order\", rate: 0.5 }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:2:39",
                "no trace_store named \"shared_tmpo\" in the input files (did you mean "
                "\"shared_tempo\"?)");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:3:40",
                "no model named \"order\" in the input files (did you mean \"orders\"?)");
    done(&r);
}

static void map_block_errors(void **state) {
    struct result r;
    compile1(&r, "tracing_modle \"m\" { }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:1", "unknown block kind 'tracing_modle' (did you "
                "mean 'tracing_model'?)");
    done(&r);

    compile1(&r, "widget \"m\" { }\n");
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:1", "unknown block kind 'widget'; known kinds:");
    done(&r);

    const char *texts[] = {"trace_store \"s\" { type: \"jaeger\" }\n",
                           "\n\ntrace_store \"s\" { type: \"tempo\" }\n"};
    compile_n(&r, texts, 2, NULL);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "b.tdsl:3:13", "trace_store \"s\" is defined twice (first at "
                "a.tdsl:1:1)");
    done(&r);

    /* two names that become the same Kubernetes name */
    compile1(&r, "tracing_model \"a_b\" { storage: { type: \"jaeger\" } }\n"
                 "tracing_model \"a-b\" { storage: { type: \"jaeger\" } }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:1", "\"a_b\" and \"a-b\" both become TracingModel \"a-b\"");
    done(&r);

    /* a key naming blocks takes names, not inline settings */
    compile1(&r, "tracing_model \"m\" { trace_store: { type: \"jaeger\" } }\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:34", "trace_store: expected the name of a block");
    done(&r);

    /* a syntax error stops before mapping */
    compile1(&r, "tracing_model \"m\" { rate: }\n");
    assert_int_equal(r.rc, OP_EPARSE);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:1:25", "missing value");
    assert_int_equal(r.d.len, 1);
    done(&r);
}

static void map_unknown_keys_envrefs_strict(void **state) {
    const char *src = "tracing_model \"m\" {\n  colour: \"blue\"\n  description: \"${DESC}\"\n"
                      "  storage: { type: \"jaeger\" }\n}\n";
    struct result r;
    compile1(&r, src);
    assert_ok(&r);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:3", "tracing_model \"m\": colour: unknown key; ignored");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:3:16", "description: \"${DESC}\" is a ${...} reference");
    assert_null(json_object_get(spec(&r, 0), "description"));
    assert_false(output_contains(r.docs, "${"));
    done(&r);

    /* a misspelt key names the key that was probably meant */
    compile1(&r, "tracing_model \"m\" {\n  sampeling { rate: 0.1 }\n  trace_store: \"s\"\n}\n"
                 "trace_store \"s\" { tpye: jaeger, type: jaeger }\n");
    assert_ok(&r);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:2:3",
                "sampeling: unknown key; ignored (did you mean \"sampling\"?)");
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:5:19", "tpye: unknown key; ignored (did you mean \"type\"?)");
    done(&r);

    struct dsl_options strict = {NULL, 1};
    compile_n(&r, &src, 1, &strict);
    assert_int_equal(r.rc, OP_EINVALID);
    assert_null(r.docs);
    assert_int_equal(r.d.warnings, 0);
    assert_int_equal(r.d.errors, 2);
    done(&r);
}

/* Model validation errors point at the DSL line that set the field. */
static void map_model_validation_is_relocated(void **state) {
    struct result r;
    compile1(&r, "tracing_model \"m\" {\n  storage: { type: \"jaeger\" }\n"
                 "  sampling: { adaptive: { min_rate: 0.5,\n      target_rate: 0.1 } }\n}\n");
    assert_int_equal(r.rc, OP_EINVALID);
    assert_diag(&r.d, DIAG_ERROR, "a.tdsl:4:20", "TracingModel m: spec.sampling.adaptive.targetRate: "
                "targetRate (0.1) must be at least minRate (0.5)");
    done(&r);
}

static void map_nothing_to_compile(void **state) {
    struct result r;
    compile1(&r, "# only a comment\n");
    assert_ok(&r);
    assert_int_equal(json_array_size(r.docs), 0);
    assert_diag(&r.d, DIAG_WARNING, "a.tdsl:1:1", "nothing to compile");
    done(&r);
}

/* 5 MiB of blocks compiles into one model quickly (no quadratic merging). */
static void map_big_input(void **state) {
    size_t cap = 6u << 20, n = 0, blocks = 0;
    char *text = xmalloc(cap);
    n += (size_t)snprintf(text, cap, "tracing_model \"big\" { storage: { type: \"jaeger\" } }\n");
    while (n < (5u << 20)) {
        n += (size_t)snprintf(text + n, cap - n,
                              "distributed_tracing \"d%zu\" {\n  services: [\n"
                              "    { name: \"svc-%zu\" tracing: { sampling_rate: 0.5 "
                              "attributes: [\"http.method\", \"user.id\"] } }\n  ]\n}\n",
                              blocks, blocks);
        blocks++;
    }
    clock_t t0 = clock();
    struct result r;
    compile1(&r, text);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_ok(&r);
    assert_int_equal(json_array_size(r.docs), 1);
    assert_int_equal(json_array_size(json_object_get(spec(&r, 0), "services")), blocks);
    assert_true(secs < 60.0); /* about 4 s of CPU under ASan, under 2 s without */
    done(&r);
    free(text);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_tracing_model),
        cmocka_unit_test(map_default_backend_and_namespace_flag),
        cmocka_unit_test(map_name_without_ascii),
        cmocka_unit_test(map_sampling_strategy),
        cmocka_unit_test(map_sampling_errors),
        cmocka_unit_test(map_context_propagation),
        cmocka_unit_test(map_inline_shorthands),
        cmocka_unit_test(map_trace_store_jaeger),
        cmocka_unit_test(map_trace_store_tempo_otlp),
        cmocka_unit_test(map_trace_source),
        cmocka_unit_test(map_distributed_tracing),
        cmocka_unit_test(map_microservice_tracing_joins_model),
        cmocka_unit_test(map_performance_analysis),
        cmocka_unit_test(map_monitoring),
        cmocka_unit_test(map_opentelemetry_integration),
        cmocka_unit_test(map_stream_blocks),
        cmocka_unit_test(map_validation_rules),
        cmocka_unit_test(map_service_uniqueness),
        cmocka_unit_test(map_performance_validation),
        cmocka_unit_test(map_best_practices),
        cmocka_unit_test(map_references_across_files),
        cmocka_unit_test(map_block_errors),
        cmocka_unit_test(map_unknown_keys_envrefs_strict),
        cmocka_unit_test(map_model_validation_is_relocated),
        cmocka_unit_test(map_nothing_to_compile),
        cmocka_unit_test(map_big_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
