/* test_model_instrumentation.c - Instrumentation defaults and validation, the sampler
 * argument rules, and the reference parser (model/instrumentation.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "model/instrumentation.h"
#include "testutil.h"

static void test_defaults(void **state) {
    (void)state;
    json_t *in = tu_load("tests/fixtures/webhook/instrumentation/minimal.yaml");
    json_t *want = tu_load("tests/fixtures/webhook/instrumentation/minimal.defaulted.yaml");
    json_t *got = tinst_default(in);
    tu_assert_json_equal(want, got, "defaulted Instrumentation");
    /* the input is not modified, and defaulting twice changes nothing */
    json_t *again = tinst_default(got);
    tu_assert_json_equal(got, again, "defaulted twice");
    assert_null(json_object_get(json_object_get(in, "spec"), "java"));
    json_decref(again);
    json_decref(got);
    json_decref(want);
    json_decref(in);
    assert_null(tinst_default(NULL));
    json_t *arr = json_array();
    assert_null(tinst_default(arr));
    json_decref(arr);
}

static void test_full_is_clean(void **state) {
    (void)state;
    json_t *in = tu_load("tests/fixtures/webhook/instrumentation/full.yaml");
    struct diag d;
    diag_init(&d);
    json_t *out = tinst_load(in, 1, &d);
    for (size_t i = 0; i < d.len; i++) {
        char *s = diag_item_format(&d.items[i]);
        print_error("unexpected: %s\n", s);
        free(s);
    }
    assert_int_equal(d.len, 0);
    assert_non_null(out);
    /* the user's images are kept */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(out, "spec"), "java"), "image")),
                        "registry.example.com/java-agent:2.30.0");
    json_decref(out);
    json_decref(in);
    diag_done(&d);
}

/* One row: a spec (YAML flow), the diagnostic wanted (path + message part) or none. */
struct row {
    const char *spec;
    int level;            /* 0 = no diagnostic at that path, DIAG_ERROR, DIAG_WARNING */
    const char *where;
    const char *msg;
};

static const struct row rows[] = {
    {"{tracingModel: shop}", 0, "spec.sampler", NULL},
    {"{tracingModel: other/shop}", 0, "spec.tracingModel", NULL},
    {"{tracingModel: Shop}", DIAG_ERROR, "spec.tracingModel", "must be a TracingModel name"},
    {"{tracingModel: a/b/c}", DIAG_ERROR, "spec.tracingModel", "must be a TracingModel name"},
    {"{tracingModel: 7}", DIAG_ERROR, "spec.tracingModel", "must be a string"},
    {"{}", DIAG_WARNING, "spec.exporter.endpoint", "neither tracingModel nor exporter.endpoint"},
    {"{}", DIAG_WARNING, "spec.sampler", "not set and no tracingModel"},
    {"{exporter: {endpoint: otel:4317}}", DIAG_ERROR, "spec.exporter.endpoint",
     "must be an http:// or https:// URL"},
    {"{exporter: {endpoint: 'http://'}}", DIAG_ERROR, "spec.exporter.endpoint", "URL"},
    {"{exporter: {endpoint: 'http://a b'}}", DIAG_ERROR, "spec.exporter.endpoint", "URL"},
    {"{exporter: {endpoint: 'http://c:4318', tls: {cert_file: tls.crt}}}", DIAG_ERROR,
     "spec.exporter.tls", "cert_file and key_file go together"},
    {"{exporter: {endpoint: 'https://c', tls: {cert_file: c, key_file: k}}}", DIAG_ERROR,
     "spec.exporter.tls.cert_file", "needs secretName"},
    {"{exporter: {endpoint: 'https://c', tls: {ca_file: /etc/ca.crt}}}", 0,
     "spec.exporter.tls.ca_file", NULL},
    {"{exporter: {endpoint: 'http://c', tls: {secretName: s, ca_file: ca}}}", DIAG_WARNING,
     "spec.exporter.endpoint", "plain http://"},
    {"{exporter: {endpoint: 'https://c', tls: {secretName: Bad_Name}}}", DIAG_ERROR,
     "spec.exporter.tls.secretName", "not a valid Secret name"},
    {"{propagators: [tracecontext, w3c_tracecontext]}", 0, "spec.propagators[1]", NULL},
    {"{propagators: [tracecontext, zipkin]}", DIAG_ERROR, "spec.propagators[1]",
     "must be one of"},
    {"{propagators: [b3, b3]}", DIAG_WARNING, "spec.propagators[1]", "listed twice"},
    {"{propagators: [none, b3]}", DIAG_WARNING, "spec.propagators", "disables propagation"},
    {"{propagators: b3}", DIAG_ERROR, "spec.propagators", "must be a list"},
    {"{sampler: {type: traceidratio, argument: '0.5'}}", 0, "spec.sampler.argument", NULL},
    {"{sampler: {type: traceidratio, argument: '1.5'}}", DIAG_ERROR, "spec.sampler.argument",
     "must be a number in [0, 1]"},
    {"{sampler: {type: parentbased_traceidratio, argument: '-0.1'}}", DIAG_ERROR,
     "spec.sampler.argument", "[0, 1]"},
    {"{sampler: {type: traceidratio, argument: half}}", DIAG_ERROR, "spec.sampler.argument",
     "[0, 1]"},
    {"{sampler: {type: traceidratio, argument: nan}}", DIAG_ERROR, "spec.sampler.argument",
     "[0, 1]"},
    {"{sampler: {type: traceidratio, argument: '0x1p-1'}}", DIAG_ERROR,
     "spec.sampler.argument", "[0, 1]"},
    {"{sampler: {type: traceidratio}}", DIAG_WARNING, "spec.sampler.argument",
     "samples everything"},
    {"{sampler: {type: parentbased_jaeger_remote, argument: 'endpoint=http://j:5778,"
     "pollingIntervalMs=5000,initialSamplingRate=0.25'}}", 0, "spec.sampler.argument", NULL},
    {"{sampler: {type: jaeger_remote, argument: 'endpoint=j:5778'}}", DIAG_ERROR,
     "spec.sampler.argument", "is not an http(s) URL"},
    {"{sampler: {type: jaeger_remote, argument: 'pollingIntervalMs=soon'}}", DIAG_ERROR,
     "spec.sampler.argument", "pollingIntervalMs"},
    {"{sampler: {type: jaeger_remote, argument: 'initialSamplingRate=2'}}", DIAG_ERROR,
     "spec.sampler.argument", "initialSamplingRate"},
    {"{sampler: {type: jaeger_remote, argument: 'rate=1'}}", DIAG_ERROR,
     "spec.sampler.argument", "is unknown"},
    {"{sampler: {type: jaeger_remote, argument: 'endpoint'}}", DIAG_ERROR,
     "spec.sampler.argument", "not key=value"},
    {"{sampler: {type: jaeger_remote, argument: 'pollingIntervalMs=5,'}}", DIAG_ERROR,
     "spec.sampler.argument", "empty item"},
    {"{sampler: {type: always_on, argument: '0.5'}}", DIAG_WARNING, "spec.sampler.argument",
     "is ignored"},
    {"{sampler: {type: sometimes}}", DIAG_ERROR, "spec.sampler.type", "must be one of"},
    {"{sampler: {argument: '0.5'}}", DIAG_ERROR, "spec.sampler.argument",
     "needs spec.sampler.type"},
    {"{tracingModel: shop, sampler: {type: always_on}}", DIAG_WARNING, "spec.sampler",
     "overrides the TracingModel"},
    {"{resource: {attributes: {team: 7}}}", DIAG_ERROR, "spec.resource.attributes.team",
     "must be a string"},
    {"{resource: {attributes: {'a,b': x}}}", DIAG_ERROR, "spec.resource.attributes.a,b",
     "must not contain"},
    {"{resource: {addK8sUIDAttributes: 'yes'}}", DIAG_ERROR,
     "spec.resource.addK8sUIDAttributes", "true or false"},
    {"{env: [{name: A, value: '1'}, {name: A, value: '2'}]}", DIAG_WARNING, "spec.env[1].name",
     "set twice"},
    {"{env: [{value: x}]}", DIAG_ERROR, "spec.env[0].name", "non-empty name"},
    {"{env: [{name: 'A=B', value: x}]}", DIAG_ERROR, "spec.env[0].name", "without '='"},
    {"{env: [{name: A, value: 1}]}", DIAG_ERROR, "spec.env[0].value", "must be a string"},
    {"{env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: x}}}]}", DIAG_ERROR,
     "spec.env[0]", "exclusive"},
    {"{env: [{name: A, valueFrom: {}}]}", DIAG_ERROR, "spec.env[0].valueFrom",
     "exactly one of"},
    {"{env: {A: x}}", DIAG_ERROR, "spec.env", "must be a list"},
    {"{java: {image: ''}}", DIAG_ERROR, "spec.java.image", "non-empty image"},
    {"{java: {image: 'a b'}}", DIAG_ERROR, "spec.java.image", "without spaces"},
    {"{python: {resources: {limits: {memory: lots}}}}", DIAG_ERROR,
     "spec.python.resources.limits.memory", "not a quantity"},
    {"{python: {resources: {limits: {memory: -1Gi}}}}", DIAG_ERROR,
     "spec.python.resources.limits.memory", "not a quantity"},
    {"{dotnet: {resources: {limits: {cpu: 100m}, requests: {cpu: 200m}}}}", DIAG_ERROR,
     "spec.dotnet.resources.requests.cpu", "above the limit"},
    {"{nodejs: {resources: {requests: {cpu: 100m}}, extra: 1}}", DIAG_WARNING,
     "spec.nodejs.extra", "unknown field"},
    {"{sdk: {image: foo}}", DIAG_WARNING, "spec.sdk.image", "is not used"},
    {"{go: []}", DIAG_ERROR, "spec.go", "must be an object"},
    {"{rolloutOnChange: 1}", DIAG_ERROR, "spec.rolloutOnChange", "true or false"},
    {"{restartUninstrumented: true, exporters: {}}", DIAG_WARNING, "spec.exporters",
     "unknown field (did you mean \"exporter\"?)"},
    {"{exporter: {endpont: 'http://c:4317'}}", DIAG_WARNING, "spec.exporter.endpont",
     "unknown field (did you mean \"endpoint\"?)"},
};

static int find_diag(const struct diag *d, const char *where, int level, const char *msg) {
    for (size_t i = 0; i < d->len; i++) {
        if (strcmp(d->items[i].where, where))
            continue;
        if (!level)
            return 1;
        if ((int)d->items[i].level == level && (!msg || strstr(d->items[i].msg, msg)))
            return 1;
    }
    return 0;
}

static void dump(const struct diag *d) {
    for (size_t i = 0; i < d->len; i++) {
        char *s = diag_item_format(&d->items[i]);
        print_error("  %s: %s\n", d->items[i].level == DIAG_ERROR ? "error" : "warning", s);
        free(s);
    }
}

static void test_validation_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *text = xasprintf("{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, "
                               "metadata: {name: i, namespace: shop}, spec: %s}", rows[i].spec);
        struct op_status st = {0};
        json_t *obj = yaml_load_one(text, strlen(text), &st);
        if (!obj)
            fail_msg("row %zu: bad YAML: %s", i, st.msg);
        struct diag d;
        diag_init(&d);
        int errors = tinst_validate(obj, 0, &d);
        assert_int_equal((size_t)errors, d.errors);
        int found = find_diag(&d, rows[i].where, rows[i].level, rows[i].msg);
        if (rows[i].level ? !found : found) {
            print_error("row %zu: %s\n", i, rows[i].spec);
            dump(&d);
            fail_msg("row %zu: want %s at %s (%s)", i,
                     rows[i].level == DIAG_ERROR ? "an error"
                     : rows[i].level ? "a warning" : "nothing", rows[i].where,
                     rows[i].msg ? rows[i].msg : "");
        }
        /* tinst_load refuses exactly the objects with errors */
        struct diag d2;
        diag_init(&d2);
        json_t *loaded = tinst_load(obj, 0, &d2);
        assert_int_equal(loaded == NULL, d.errors > 0);
        json_decref(loaded);
        diag_done(&d2);
        diag_done(&d);
        json_decref(obj);
        free(text);
    }
}

static void test_object_shape(void **state) {
    (void)state;
    static const struct { const char *yaml, *where, *msg; } bad[] = {
        {"[1]", "", "must be an object"},
        {"{apiVersion: v1, kind: Instrumentation, metadata: {name: a}}", "apiVersion",
         "tracemodel.dev/v1alpha1"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: TracingModel, metadata: {name: a}}",
         "kind", "Instrumentation"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation}", "metadata",
         "must be an object"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, metadata: {}}",
         "metadata.name", "required"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, metadata: {name: A_b}}",
         "metadata.name", "DNS subdomain"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, metadata: {name: a, "
         "namespace: a.b}}", "metadata.namespace", "DNS label"},
        {"{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, metadata: {name: a},"
         " spec: [1]}", "spec", "must be an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct op_status st = {0};
        json_t *obj = yaml_load_one(bad[i].yaml, strlen(bad[i].yaml), &st);
        assert_non_null(obj);
        struct diag d;
        diag_init(&d);
        assert_true(tinst_validate(obj, 0, &d) > 0);
        if (!find_diag(&d, bad[i].where, DIAG_ERROR, bad[i].msg)) {
            dump(&d);
            fail_msg("shape row %zu: want an error at \"%s\"", i, bad[i].where);
        }
        diag_done(&d);
        json_decref(obj);
    }
    /* strict turns unknown fields into errors */
    const char *y = "{apiVersion: tracemodel.dev/v1alpha1, kind: Instrumentation, metadata: "
                    "{name: a}, spec: {tracingModel: m, colour: blue}}";
    json_t *obj = yaml_load_one(y, strlen(y), NULL);
    struct diag d;
    diag_init(&d);
    assert_int_equal(tinst_validate(obj, 0, &d), 0);
    diag_done(&d);
    diag_init(&d);
    assert_int_equal(tinst_validate(obj, 1, &d), 1);
    assert_true(find_diag(&d, "spec.colour", DIAG_ERROR, "unknown field"));
    diag_done(&d);
    json_decref(obj);
}

static void test_sampler_args(void **state) {
    (void)state;
    static const struct { const char *type, *arg; int ok; } rows2[] = {
        {"traceidratio", "0", 1}, {"traceidratio", "1", 1}, {"traceidratio", "1.0", 1},
        {"traceidratio", ".5", 1}, {"traceidratio", "1e-3", 1}, {"traceidratio", "", 1},
        {"traceidratio", "1.0000001", 0}, {"traceidratio", " 0.5", 0},
        {"traceidratio", "0.5 ", 0}, {"traceidratio", "inf", 0},
        {"parentbased_traceidratio", "0.25", 1}, {"parentbased_traceidratio", "25%", 0},
        {"jaeger_remote", "", 1},
        {"jaeger_remote", "endpoint=https://j.example:5778/sampling", 1},
        {"parentbased_jaeger_remote", "pollingIntervalMs=0", 0},
        {"parentbased_jaeger_remote", "initialSamplingRate=0,pollingIntervalMs=1", 1},
        {"parentbased_jaeger_remote", ",", 0},
        {"always_on", "anything", 1}, {"xray", "", 1},
    };
    for (size_t i = 0; i < sizeof(rows2) / sizeof(rows2[0]); i++) {
        char err[256] = "";
        int rc = tinst_sampler_arg_check(rows2[i].type, rows2[i].arg, err, sizeof(err));
        if ((rc == 0) != rows2[i].ok)
            fail_msg("sampler %s \"%s\": rc %d (%s)", rows2[i].type, rows2[i].arg, rc, err);
        if (rc)
            assert_true(strlen(err) > 0);
    }
    assert_true(tinst_sampler_type_valid("parentbased_jaeger_remote"));
    assert_false(tinst_sampler_type_valid("parentbased_xray"));
    assert_false(tinst_sampler_type_valid(NULL));
}

static void test_refs_and_langs(void **state) {
    (void)state;
    char ns[TINST_REF_MAX], name[TINST_REF_MAX];
    assert_int_equal(tinst_ref_parse("default", "shop", ns, name), 0);
    assert_string_equal(ns, "shop");
    assert_string_equal(name, "default");
    assert_int_equal(tinst_ref_parse("obs/java.v2", "shop", ns, name), 0);
    assert_string_equal(ns, "obs");
    assert_string_equal(name, "java.v2");
    static const char *const bad[] = {"", "/x", "x/", "a/b/c", "Upper", "ns.dot/x", "x y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tinst_ref_parse(bad[i], "shop", ns, name), -1);
    assert_int_equal(tinst_ref_parse("x", NULL, ns, name), -1);
    char longref[400];
    memset(longref, 'a', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = '\0';
    assert_int_equal(tinst_ref_parse(longref, "shop", ns, name), -1);

    enum tinst_lang l;
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        assert_int_equal(tinst_lang_parse(tinst_lang_name((enum tinst_lang)i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_int_equal(tinst_lang_parse("ruby", &l), -1);
    assert_null(tinst_default_image(TINST_SDK));
    assert_non_null(strstr(tinst_default_image(TINST_JAVA), "autoinstrumentation-java:2.30.0"));
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_is_clean),
        cmocka_unit_test(test_validation_table),
        cmocka_unit_test(test_object_shape),
        cmocka_unit_test(test_sampler_args),
        cmocka_unit_test(test_refs_and_langs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
