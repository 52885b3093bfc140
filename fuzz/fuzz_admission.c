/* fuzz_admission.c - libFuzzer target for admission_handle(): any body on any of the four
 * paths gets an AdmissionReview v1 answer that parses; the pod and workload paths always
 * allow (the workload path never patches either); a patch
 * decodes from base64 and applies to the request's pod; and the pod path's answer is the
 * same bytes whether the review is parsed whole or without the members it leaves out
 * (admission_ctx.parse_whole_request).
 *
 * Input: the first byte picks the path (mutate, validate-tracingmodel,
 * validate-instrumentation, validate-workload), the rest is the body. Lookups return a fixed namespace,
 * Instrumentation and TracingModel so the mutation goes deep.
 * Build (from the source root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc -Itests/support \
 *     fuzz/fuzz_admission.c src/webhook/admission.c src/webhook/mutate.c \
 *     src/webhook/workload.c \
 *     src/webhook/jsonpatch.c src/model/[a-z]*.c src/base/[a-z]*.c \
 *     tests/support/jsonpatch_apply.c \
 *     -ljansson -lyaml -lcrypto -lm -o fuzz_admission
 *   ./fuzz_admission -max_total_time=300 -max_len=65536 corpus/ */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/xalloc.h"
#include "jsonpatch_apply.h"
#include "webhook/admission.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *inst, *model, *ns;

static json_t *get_ns(void *user, const char *name) {
    (void)user;
    (void)name;
    return json_incref(ns);
}

static json_t *list_insts(void *user, const char *n, int *failed) {
    (void)user;
    (void)failed;
    if (!strcmp(n, "fail")) {
        *failed = 1;
        return NULL;
    }
    return json_pack("[O]", inst);
}

static json_t *get_model(void *user, const char *n, const char *name) {
    (void)user;
    (void)n;
    return strcmp(name, "none") ? json_incref(model) : NULL;
}

static void init(void) {
    if (inst)
        return;
    xalloc_init();
    inst = json_loads("{\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"Instrumentation\","
                      " \"metadata\": {\"name\": \"default\"}, \"spec\": {\"tracingModel\": "
                      "\"shop\", \"go\": {}}}", 0, NULL);
    model = json_loads("{\"apiVersion\": \"tracemodel.dev/v1alpha1\", \"kind\": \"TracingModel\","
                       " \"metadata\": {\"name\": \"shop\"}, \"spec\": {\"backend\": {\"type\": "
                       "\"tempo\"}, \"sampling\": {\"rate\": 0.5}}}", 0, NULL);
    ns = json_loads("{\"metadata\": {\"name\": \"shop\", \"annotations\": "
                    "{\"tracemodel.dev/inject-java\": \"true\"}}}", 0, NULL);
    if (!inst || !model || !ns)
        abort();
}

static int b64(int c) {
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : (c == '=' ? 0 : -1);
}

static json_t *decode_patch(const char *s) {
    size_t n = strlen(s);
    if (n % 4)
        abort();
    char *out = xmalloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            if ((v[k] = b64(s[i + k])) < 0)
                abort();
        unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                     (unsigned)v[3];
        *w++ = (char)(x >> 16);
        if (s[i + 2] != '=')
            *w++ = (char)(x >> 8);
        if (s[i + 3] != '=')
            *w++ = (char)x;
    }
    json_t *p = json_loadb(out, (size_t)(w - out), 0, NULL);
    free(out);
    if (!p)
        abort();
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const paths[] = {"/mutate-v1-pod?timeout=10s", "/validate-tracingmodel",
                                        "/validate-instrumentation",
                                        "/validate-workload?timeout=2s"};
    init();
    if (!size)
        return 0;
    const char *path = paths[data[0] % 4];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct admission_ctx ctx = {.user = NULL,
                                .get_namespace = get_ns,
                                .list_instrumentations = list_insts,
                                .get_tracingmodel = get_model};
    struct admission_result res;
    admission_handle(path, body, len, &ctx, &res);
    if (data[0] % 4 == 0) {
        struct admission_ctx whole = ctx;
        whole.parse_whole_request = 1;
        struct admission_result w;
        admission_handle(path, body, len, &whole, &w);
        if (w.len != res.len || memcmp(w.body, res.body, res.len) || w.decision != res.decision) {
            fprintf(stderr, "the answer depends on a left-out member:\n  pruned: %.*s\n"
                            "  whole:  %.*s\n", (int)res.len, res.body, (int)w.len, w.body);
            abort();
        }
        admission_result_free(&w);
    }
    json_t *review = json_loadb(res.body, res.len, 0, NULL);
    json_t *resp = json_object_get(review, "response");
    if (res.http_status != 200 || !json_is_object(resp))
        abort();
    if (data[0] % 4 == 3 && (!json_is_true(json_object_get(resp, "allowed")) ||
                             json_object_get(resp, "patch")))
        abort();   /* a workload is never refused nor changed */
    if (data[0] % 4 == 0) {
        if (!json_is_true(json_object_get(resp, "allowed")))
            abort();   /* a pod is never blocked */
        const char *p = json_string_value(json_object_get(resp, "patch"));
        if (p) {
            json_t *patch = decode_patch(p);
            json_t *req = json_loadb(body, len, 0, NULL);
            json_t *pod = json_object_get(json_object_get(req, "request"), "object");
            char err[256];
            json_t *out = jpa_apply(pod, patch, err, sizeof(err));
            if (!out) {
                fprintf(stderr, "patch does not apply: %s\n", err);
                abort();
            }
            json_decref(out);
            json_decref(req);
            json_decref(patch);
        }
    }
    json_decref(review);
    admission_result_free(&res);
    return 0;
}
