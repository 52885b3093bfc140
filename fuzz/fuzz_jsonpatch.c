/* fuzz_jsonpatch.c - libFuzzer target: every patch the pod mutation produces applies to
 * the pod it was made for, and admitting the patched pod again changes nothing.
 *
 * Input: the first byte picks the mode, the rest is the data.
 *   mode even: the data is a pod (JSON); it is mutated against fixed Instrumentations
 *              (one per language, with and without a TracingModel) in namespace "shop",
 *              the patch is applied with the independent RFC 6902 applier of
 *              tests/support, and the result is mutated again (must be a no-op).
 *   mode odd:  the data is a reference token; jp_pointer() escaping must round-trip
 *              through jp_token_unescape() and address the same key when applied.
 * Build (from the source root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc -Itests/support \
 *     fuzz/fuzz_jsonpatch.c src/webhook/mutate.c src/webhook/jsonpatch.c src/model/[a-z]*.c \
 *     src/base/[a-z]*.c tests/support/jsonpatch_apply.c -ljansson -lyaml -lcrypto -lm \
 *     -o fuzz_jsonpatch
 *   ./fuzz_jsonpatch -max_total_time=300 corpus/ */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/xalloc.h"
#include "jsonpatch_apply.h"
#include "webhook/jsonpatch.h"
#include "webhook/mutate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *insts, *models, *ns_obj;

static void init(void) {
    if (insts)
        return;
    xalloc_init();
    insts = json_loads(
        "[{\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"Instrumentation\","
        "  \"metadata\": {\"name\": \"default\", \"namespace\": \"shop\"},"
        "  \"spec\": {\"tracingModel\": \"shop\", \"go\": {}, \"env\": [{\"name\": \"A\","
        "   \"value\": \"1\"}], \"resource\": {\"addK8sUIDAttributes\": true}}},"
        " {\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"Instrumentation\","
        "  \"metadata\": {\"name\": \"explicit\", \"namespace\": \"other\"},"
        "  \"spec\": {\"exporter\": {\"endpoint\": \"https://c:4318\", \"tls\": {\"secretName\":"
        "   \"s\", \"ca_file\": \"ca\", \"cert_file\": \"c\", \"key_file\": \"k\"}},"
        "   \"sampler\": {\"type\": \"traceidratio\", \"argument\": \"0.5\"},"
        "   \"java\": {\"env\": [{\"name\": \"JAVA_TOOL_OPTIONS\", \"value\": \"-Xmx1g\"}]}}}]",
        0, NULL);
    models = json_loads(
        "[{\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"TracingModel\","
        "  \"metadata\": {\"name\": \"shop\", \"namespace\": \"shop\"},"
        "  \"spec\": {\"backend\": {\"type\": \"jaeger\"}, \"sampling\": {\"rate\": 0.3,"
        "   \"strategy\": \"adaptive\"}, \"services\": [{\"name\": \"web\","
        "   \"samplingRate\": 1}]}}]",
        0, NULL);
    ns_obj = json_loads("{\"metadata\": {\"name\": \"shop\", \"annotations\": "
                        "{\"tracemodel.dev/inject-sdk\": \"true\"}}}", 0, NULL);
    if (!insts || !models || !ns_obj)
        abort();
}

static void check_pod(const uint8_t *data, size_t size) {
    json_t *pod = json_loadb((const char *)data, size, 0, NULL);
    if (!pod)
        return;
    struct mutate_input in = {pod, "shop", ns_obj, insts, models};
    struct mutate_result res;
    int rc = mutate_pod(&in, &res);
    if (rc && json_array_size(res.patch))
        abort();   /* an error never patches */
    char err[256];
    json_t *patched = jpa_apply(pod, res.patch, err, sizeof(err));
    if (!patched) {
        fprintf(stderr, "patch does not apply: %s\n", err);
        abort();
    }
    if (res.decision == MUTATE_INJECTED || res.decision == MUTATE_SKIPPED ||
        res.decision == MUTATE_DISABLED) {
        struct mutate_input again_in = {patched, "shop", ns_obj, insts, models};
        struct mutate_result again;
        mutate_pod(&again_in, &again);
        if (json_array_size(again.patch)) {
            fprintf(stderr, "re-admission is not a no-op (%s)\n",
                    mutate_decision_name(again.decision));
            abort();
        }
        mutate_result_free(&again);
    }
    json_decref(patched);
    mutate_result_free(&res);
    json_decref(pod);
}

static void check_token(const uint8_t *data, size_t size) {
    char *tok = xstrndup((const char *)data, size);
    json_t *key = json_string(tok);   /* NULL for invalid UTF-8: nothing to address */
    if (!key) {
        free(tok);
        return;
    }
    char *ptr = jp_pointer("a", tok, NULL);
    char *back = xstrdup(ptr + 3);
    if (jp_token_unescape(back) || strcmp(back, tok))
        abort();
    json_t *doc = json_pack("{s:{}}", "a");
    json_t *patch = json_array();
    jp_add(patch, ptr, json_true());
    char err[256];
    json_t *out = jpa_apply(doc, patch, err, sizeof(err));
    if (!out || !json_is_true(json_object_get(json_object_get(out, "a"), tok)))
        abort();
    json_decref(out);
    json_decref(patch);
    json_decref(doc);
    json_decref(key);
    free(back);
    free(ptr);
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init();
    if (!size)
        return 0;
    if (data[0] & 1)
        check_token(data + 1, size - 1);
    else
        check_pod(data + 1, size - 1);
    return 0;
}
