/* test_model_defaults.c - tm_default(): every default of docs/model.md, derived
 * defaults, alias normalization, and that wrong-typed fields are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/model.h"
#include "testutil.h"

/* The whole defaulted document equals the hand-written expectation. */
static void minimal_jaeger(void **state) {
    json_t *in = tu_load("tests/fixtures/model/minimal-jaeger.yaml");
    json_t *want = tu_load("tests/fixtures/model/minimal-jaeger.defaulted.yaml");
    json_t *got = tm_default(in);
    tu_assert_json_equal(want, got, "tm_default(minimal-jaeger)");
    /* the input is not modified */
    assert_null(json_object_get(json_object_get(in, "spec"), "sampling"));
    json_decref(in);
    json_decref(want);
    json_decref(got);
}

static json_t *def_of(const char *yaml_spec) {
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"tracemodel.dev/v1alpha1\",\"kind\":\"TracingModel\","
             "\"metadata\":{\"name\":\"m\"},\"spec\":%s}", yaml_spec);
    json_error_t err;
    json_t *in = json_loads(buf, 0, &err);
    if (!in)
        fail_msg("bad test input %s: %s", yaml_spec, err.text);
    json_t *out = tm_default(in);
    json_decref(in);
    return out;
}

struct row {
    const char *spec;   /* JSON of spec */
    const char *path;   /* dotted path to check */
    const char *want;   /* JSON of the expected value, or NULL for "absent" */
};

static void derived(void **state) {
    static const struct row rows[] = {
        /* tempo backend: retention 48h, tempo block, grafana on */
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.backend.retention", "\"48h\""},
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.backend.tempo.image", "\"grafana/tempo:2.6.1\""},
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.backend.tempo.storage.size", "\"10Gi\""},
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.backend.tempo.useOperatorCR", "false"},
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.backend.jaeger", NULL},
        {"{\"backend\":{\"type\":\"tempo\"}}", "spec.grafana.enabled", "true"},
        {"{\"backend\":{\"type\":\"tempo\",\"tempo\":{\"storage\":{\"type\":\"s3\"}}}}",
         "spec.backend.tempo.storage.size", NULL},
        /* otlp: no retention, no grafana */
        {"{\"backend\":{\"type\":\"otlp\"}}", "spec.backend.retention", NULL},
        {"{\"backend\":{\"type\":\"otlp\"}}", "spec.grafana.enabled", "false"},
        /* user values win */
        {"{\"backend\":{\"type\":\"jaeger\",\"retention\":\"3d\"}}", "spec.backend.retention", "\"3d\""},
        {"{\"grafana\":{\"enabled\":false},\"backend\":{\"type\":\"jaeger\"}}", "spec.grafana.enabled", "false"},
        /* jaeger badger size, production has no all-in-one image */
        {"{\"backend\":{\"type\":\"jaeger\",\"jaeger\":{\"storage\":{\"type\":\"badger\"}}}}",
         "spec.backend.jaeger.storage.badger.size", "\"10Gi\""},
        {"{\"backend\":{\"type\":\"jaeger\",\"jaeger\":{\"deployment\":\"production\"}}}",
         "spec.backend.jaeger.image", NULL},
        /* tail sampling on with rules or policies */
        {"{\"sampling\":{\"rules\":[{\"name\":\"e\",\"condition\":\"*\"}]}}", "spec.sampling.tail.enabled", "true"},
        {"{\"sampling\":{\"tail\":{\"policies\":[{\"name\":\"e\",\"condition\":\"*\"}]}}}",
         "spec.sampling.tail.enabled", "true"},
        {"{\"sampling\":{\"rules\":[]}}", "spec.sampling.tail.enabled", "false"},
        {"{\"sampling\":{\"rules\":[{}],\"tail\":{\"enabled\":false}}}", "spec.sampling.tail.enabled", "false"},
        /* adaptive follows the strategy */
        {"{\"sampling\":{\"strategy\":\"adaptive\"}}", "spec.sampling.adaptive.enabled", "true"},
        /* analysis -> spanMetrics, serviceGraph, alerts */
        {"{\"analysis\":{\"latency\":[{\"percentile\":0.99,\"threshold\":\"1s\"}]}}", "spec.analysis.enabled", "true"},
        {"{\"analysis\":{\"errorRate\":{\"threshold\":0.05}}}", "spec.collector.spanMetrics.enabled", "true"},
        {"{\"analysis\":{\"throughput\":{\"minRequestsPerSecond\":1}}}", "spec.collector.serviceGraph.enabled", "true"},
        {"{\"analysis\":{\"errorRate\":{\"threshold\":0.05}}}", "spec.alerts.enabled", "true"},
        {"{\"analysis\":{\"enabled\":false,\"errorRate\":{\"threshold\":0.05}}}", "spec.alerts.enabled", "false"},
        {"{\"analysis\":{\"enabled\":true}}", "spec.collector.spanMetrics.enabled", "true"},
        {"{\"alerts\":{\"rules\":[{\"name\":\"a\",\"expr\":\"up == 0\"}]}}", "spec.alerts.enabled", "true"},
        /* istio percentage follows the head rate */
        {"{\"sampling\":{\"rate\":0.25}}", "spec.istio.samplingPercentage", "25.0"},
        {"{\"sampling\":{\"rate\":0.25},\"istio\":{\"samplingPercentage\":5}}", "spec.istio.samplingPercentage", "5"},
        /* propagation alias normalized, other entries kept in order */
        {"{\"propagation\":{\"types\":[\"b3\",\"w3c_tracecontext\"]}}", "spec.propagation.types",
         "[\"b3\",\"tracecontext\"]"},
        /* collector resources: defaulted only as a whole */
        {"{\"collector\":{\"resources\":{\"limits\":{\"memory\":\"128Mi\"}}}}", "spec.collector.resources",
         "{\"limits\":{\"memory\":\"128Mi\"}}"},
        /* null means absent */
        {"{\"sampling\":{\"rate\":null}}", "spec.sampling.rate", "1.0"},
        /* wrong types are left alone, nothing is defaulted below them */
        {"{\"sampling\":\"all\"}", "spec.sampling", "\"all\""},
        {"{\"sampling\":{\"rate\":\"high\"}}", "spec.sampling.rate", "\"high\""},
        {"{\"sampling\":{\"rate\":\"high\"}}", "spec.istio.samplingPercentage", NULL},
        {"{\"collector\":[1,2]}", "spec.collector", "[1,2]"},
        {"{\"propagation\":{\"types\":\"b3\"}}", "spec.propagation.types", "\"b3\""},
        {"{\"backend\":\"jaeger\"}", "spec.backend", "\"jaeger\""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *m = def_of(rows[i].spec);
        json_t *got = tm_get(m, rows[i].path);
        char what[512];
        snprintf(what, sizeof(what), "row %zu: %s at %s", i, rows[i].spec, rows[i].path);
        if (!rows[i].want) {
            if (got)
                fail_msg("%s: expected absent", what);
        } else {
            json_t *want = json_loads(rows[i].want, JSON_DECODE_ANY, NULL);
            assert_non_null(want);
            tu_assert_json_equal(want, got, what);
            json_decref(want);
        }
        json_decref(m);
    }
}

/* No spec, spec of the wrong type, and non-objects: copied unchanged. */
static void odd_shapes(void **state) {
    static const char *ins[] = {
        "{\"kind\":\"TracingModel\"}", "{\"spec\":\"x\"}", "{\"spec\":[]}", "{\"spec\":null}", "[]", "3",
    };
    for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
        json_t *in = json_loads(ins[i], JSON_DECODE_ANY, NULL);
        json_t *out = tm_default(in);
        tu_assert_json_equal(in, out, ins[i]);
        json_decref(in);
        json_decref(out);
    }
    assert_null(tm_default(NULL));
}

static void getters(void **state) {
    json_t *m = def_of("{\"backend\":{\"type\":\"jaeger\"}}");
    assert_string_equal(tm_get_str(m, "spec.collector.mode", NULL), "deployment");
    assert_string_equal(tm_get_str(m, "spec.collector.nothing", "d"), "d");
    assert_int_equal(tm_get_int(m, "spec.sampling.tail.numTraces", 0), 50000);
    assert_true(tm_get_num(m, "spec.sampling.rate", 0) == 1.0);
    assert_true(tm_get_num(m, "spec.capacity.peakFactor", 0) == 3.0);
    assert_true(tm_get_bool(m, "spec.sampling.parentBased", 0));
    assert_null(tm_get(m, "spec.collector.mode.deeper"));
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_jaeger),
        cmocka_unit_test(derived),
        cmocka_unit_test(odd_shapes),
        cmocka_unit_test(getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
