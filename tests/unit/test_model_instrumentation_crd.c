/* test_model_instrumentation_crd.c - crds/tracemodel.dev_instrumentations.yaml agrees with
 * tinst_validate(): names, printer columns and status as the issue asks, every field of a
 * valid Instrumentation exists in the schema (so the API server does not prune it), and
 * every spec field of the schema is one the validator knows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/xalloc.h"
#include "model/instrumentation.h"
#include "testutil.h"

static json_t *crd;

static const json_t *version0(void) {
    return json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0);
}

static const json_t *root_schema(void) {
    return json_object_get(json_object_get(version0(), "schema"), "openAPIV3Schema");
}

static int setup(void **state) {
    (void)state;
    crd = tu_load("crds/tracemodel.dev_instrumentations.yaml");
    return crd ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    json_decref(crd);
    return 0;
}

static void test_names(void **state) {
    (void)state;
    const json_t *spec = json_object_get(crd, "spec");
    assert_string_equal(json_string_value(json_object_get(json_object_get(crd, "metadata"),
                                                          "name")),
                        "instrumentations.tracemodel.dev");
    assert_string_equal(json_string_value(json_object_get(spec, "group")), "tracemodel.dev");
    assert_string_equal(json_string_value(json_object_get(spec, "scope")), "Namespaced");
    const json_t *names = json_object_get(spec, "names");
    assert_string_equal(json_string_value(json_object_get(names, "kind")), "Instrumentation");
    json_t *want = json_pack("[s]", "tinst");
    tu_assert_json_equal(want, json_object_get(names, "shortNames"), "shortNames");
    json_decref(want);
    want = json_pack("[s]", "tracing");
    tu_assert_json_equal(want, json_object_get(names, "categories"), "categories");
    json_decref(want);
    const json_t *v = version0();
    assert_string_equal(json_string_value(json_object_get(v, "name")), "v1alpha1");
    assert_true(json_is_true(json_object_get(v, "served")));
    assert_true(json_is_true(json_object_get(v, "storage")));
    assert_true(json_is_object(json_object_get(json_object_get(v, "subresources"), "status")));
}

static void test_printer_columns(void **state) {
    (void)state;
    static const char *const want[][2] = {
        {"TracingModel", ".spec.tracingModel"}, {"Endpoint", ".spec.exporter.endpoint"},
        {"Sampler", ".spec.sampler.type"}, {"Age", ".metadata.creationTimestamp"},
    };
    const json_t *cols = json_object_get(version0(), "additionalPrinterColumns");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int found = 0;
        size_t j;
        json_t *c;
        json_array_foreach(cols, j, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            if (n && !strcmp(n, want[i][0])) {
                assert_string_equal(json_string_value(json_object_get(c, "jsonPath")), want[i][1]);
                found = 1;
            }
        }
        if (!found)
            fail_msg("printer column %s missing", want[i][0]);
    }
}

static void test_status_schema(void **state) {
    (void)state;
    const json_t *st = json_object_get(json_object_get(root_schema(), "properties"), "status");
    const json_t *props = json_object_get(st, "properties");
    static const char *const keys[] = {"tracingModel", "conditions", "uninstrumentedPods",
                                       "observedGeneration"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!json_object_get(props, keys[i]))
            fail_msg("status.%s missing", keys[i]);
}

/* Walks value against schema; fails on a field the schema would prune. */
static void walk(const json_t *schema, const json_t *value, const char *path) {
    if (json_is_object(value)) {
        const json_t *props = json_object_get(schema, "properties");
        const json_t *addl = json_object_get(schema, "additionalProperties");
        if (!props && !addl)
            return;   /* free-form object (metadata) */
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)value, k, v) {
            char *p = xasprintf("%s.%s", path, k);
            const json_t *sub = props ? json_object_get(props, k) : NULL;
            if (!sub && json_is_object(addl))
                sub = addl;
            if (!sub)
                fail_msg("%s is valid for tinst_validate but not in the CRD schema", p);
            walk(sub, v, p);
            free(p);
        }
    } else if (json_is_array(value)) {
        const json_t *items = json_object_get(schema, "items");
        assert_non_null(items);
        size_t i;
        json_t *v;
        json_array_foreach(value, i, v) {
            char *p = xasprintf("%s[%zu]", path, i);
            walk(items, v, p);
            free(p);
        }
    }
}

static void test_valid_fields_are_in_schema(void **state) {
    (void)state;
    json_t *full = tu_load("tests/fixtures/webhook/instrumentation/full.yaml");
    json_t *defaulted = tinst_default(full);
    walk(root_schema(), defaulted, "");
    json_decref(defaulted);
    json_decref(full);
}

/* Every spec property (and language block property) of the CRD is known to the validator. */
static void check_known(const char *block, const json_t *props) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v) {
        json_t *spec = json_object();
        json_t *val = json_is_true(json_object_get(v, "x-kubernetes-int-or-string")) ? json_null()
                      : json_object();
        if (block)
            json_object_set_new(spec, block, json_pack("{s:o}", k, val));
        else
            json_object_set_new(spec, k, val);
        json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion",
                                "tracemodel.dev/v1alpha1", "kind", "Instrumentation", "metadata",
                                "name", "x", "spec", spec);
        struct diag d;
        diag_init(&d);
        tinst_validate(obj, 0, &d);
        for (size_t i = 0; i < d.len; i++)
            if (strstr(d.items[i].msg, "unknown field"))
                fail_msg("CRD field %s%s%s is unknown to tinst_validate", block ? block : "",
                         block ? "." : "", k);
        diag_done(&d);
        json_decref(obj);
    }
}

static void test_schema_fields_are_known(void **state) {
    (void)state;
    const json_t *spec = json_object_get(json_object_get(root_schema(), "properties"), "spec");
    const json_t *props = json_object_get(spec, "properties");
    check_known(NULL, props);
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        const char *lang = tinst_lang_name((enum tinst_lang)i);
        const json_t *blk = json_object_get(props, lang);
        if (!blk)
            fail_msg("spec.%s missing from the CRD", lang);
        check_known(lang, json_object_get(blk, "properties"));
    }
    /* the sampler enum carries parentbased_jaeger_remote (the OTel operator's CRD does not) */
    const json_t *type = json_object_get(json_object_get(json_object_get(props, "sampler"),
                                                         "properties"), "type");
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(json_object_get(type, "enum"), i, e) {
        assert_true(tinst_sampler_type_valid(json_string_value(e)));
        n++;
    }
    assert_int_equal(n, 9);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_printer_columns),
        cmocka_unit_test(test_status_schema),
        cmocka_unit_test(test_valid_fields_are_in_schema),
        cmocka_unit_test(test_schema_fields_are_known),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
