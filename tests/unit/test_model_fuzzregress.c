/* test_model_fuzzregress.c - TracingModel inputs found by the fuzzers (fuzz/)
 * that once crashed or tripped a sanitizer in the model reader/validator; each
 * must now give a clear error naming the field. Each case says which target
 * found it.
 *
 * 2026-11-22, fuzz_model / fuzz_render: an integer field holding a real at or
 * beyond 2^63 (spec.capacity.spanSizeBytes: 7777...2048, spec.collector.batch.
 * sendBatchSize: 81E92) reached format_double() in the "must be an integer"
 * message, which converted it to long long first (undefined behaviour; UBSan
 * aborted the process). *
 * The undefined conversion gives the right text on x86-64, so only UBSan sees
 * it: clang's -fsanitize=undefined includes float-cast-overflow; GCC's does
 * not (add -fsanitize=float-cast-overflow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/diag.h"
#include "base/yamljson.h"
#include "model/model.h"

static json_t *load(const char *yaml) {
    struct op_status st = {0};
    json_t *obj = yaml_load_one(yaml, strlen(yaml), &st);
    if (!obj)
        fail_msg("fixture does not load: %s", st.msg);
    return obj;
}

/* The model must be rejected with an error at `path`; no crash, no UB. */
static void assert_rejected_at(const char *yaml, const char *path) {
    json_t *obj = load(yaml);
    for (int strict = 0; strict <= 1; strict++) {
        struct diag d;
        diag_init(&d);
        json_t *m = tm_load(obj, strict, &d);
        assert_null(m);
        int found = 0;
        for (size_t i = 0; i < d.len; i++)
            if (d.items[i].level == DIAG_ERROR && !strcmp(d.items[i].where, path))
                found = 1;
        if (!found) {
            for (size_t i = 0; i < d.len; i++)
                print_message("  %s: %s\n", d.items[i].where, d.items[i].msg);
            fail_msg("no error at %s", path);
        }
        diag_done(&d);
    }
    json_decref(obj);
}

static void huge_real_in_integer_field(void **state) {
    assert_rejected_at("apiVersion: tracemodel.dev/v1alpha1\n"
                       "kind: TracingModel\n"
                       "metadata: {name: shop, namespace: prod}\n"
                       "spec:\n"
                       "  backend: {type: jaeger}\n"
                       "  capacity:\n"
                       "    spanSizeBytes: 77777777777777777777777777777777777777777777777777"
                       "7777777777777777777777777777777777777777777777777777777777777777772048\n",
                       "spec.capacity.spanSizeBytes");
    assert_rejected_at("apiVersion: tracemodel.dev/v1alpha1\n"
                       "kind: TracingModel\n"
                       "metadata: {name: edge, namespace: observability}\n"
                       "spec:\n"
                       "  backend: {type: jaeger}\n"
                       "  collector:\n"
                       "    batch: {timeout: 2s, sendBatchSize: 81E92}\n",
                       "spec.collector.batch.sendBatchSize");
    assert_rejected_at("apiVersion: tracemodel.dev/v1alpha1\n"
                       "kind: TracingModel\n"
                       "metadata: {name: edge, namespace: observability}\n"
                       "spec:\n"
                       "  backend: {type: jaeger}\n"
                       "  collector: {replicas: -9.3e18}\n",
                       "spec.collector.replicas");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(huge_real_in_integer_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
