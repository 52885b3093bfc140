/* test_webhook_admission.c - AdmissionReview in, AdmissionReview out: the three paths,
 * uid echo, base64 JSON Patch, warnings, the lookups through admission_ctx, and bad
 * input (not JSON, wrong apiVersion, no request, 1,000 containers, bodies around 3 MiB)
 * answered clearly and never by blocking a pod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "jsonpatch_apply.h"
#include "testutil.h"
#include "webhook/admission.h"

/* ---- a fake cluster ------------------------------------------------------ */

struct fake {
    json_t *namespaces;     /* name -> Namespace */
    json_t *insts;          /* ns -> [Instrumentation] */
    json_t *models;         /* "ns/name" -> TracingModel */
    int list_calls, model_calls, ns_calls;
    int fail_list;
    char listed[8][64];
};

static json_t *fake_ns(void *user, const char *name) {
    struct fake *f = user;
    f->ns_calls++;
    return json_incref(json_object_get(f->namespaces, name));
}

static json_t *fake_list(void *user, const char *ns, int *failed) {
    struct fake *f = user;
    if (f->list_calls < 8)
        snprintf(f->listed[f->list_calls], sizeof(f->listed[0]), "%s", ns);
    f->list_calls++;
    if (f->fail_list) {
        *failed = 1;
        return NULL;
    }
    json_t *l = json_object_get(f->insts, ns);
    return l ? json_deep_copy(l) : json_array();
}

static json_t *fake_model(void *user, const char *ns, const char *name) {
    struct fake *f = user;
    f->model_calls++;
    char key[256];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    return json_incref(json_object_get(f->models, key));
}

static void fake_init(struct fake *f, struct admission_ctx *ctx) {
    memset(f, 0, sizeof(*f));
    *ctx = (struct admission_ctx){0};   /* fields a test does not set are 0 */
    f->namespaces = json_object();
    f->insts = json_object();
    f->models = json_object();
    json_t *inst = tu_load("tests/fixtures/webhook/shared/inst-shop.yaml");
    /* informer caches hold objects with their namespace; drop it to check it is restored */
    json_object_del(json_object_get(inst, "metadata"), "namespace");
    json_object_set_new(f->insts, "shop", json_pack("[o]", inst));
    json_object_set_new(f->models, "shop/shop",
                        tu_load("tests/fixtures/webhook/shared/model-shop.yaml"));
    json_object_set_new(f->namespaces, "shop",
                        tu_load("tests/fixtures/webhook/shared/ns-shop.yaml"));
    ctx->user = f;
    ctx->get_namespace = fake_ns;
    ctx->list_instrumentations = fake_list;
    ctx->get_tracingmodel = fake_model;
}

static void fake_free(struct fake *f) {
    json_decref(f->namespaces);
    json_decref(f->insts);
    json_decref(f->models);
}

/* ---- helpers ---------------------------------------------------------------- */

static char *review_text(const char *uid, const json_t *object, const char *op, const char *kind,
                         const char *ns) {
    json_t *req = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:O}", "uid", uid, "kind",
                            "group", "", "version", "v1", "kind", kind, "namespace", ns,
                            "operation", op, "object", object);
    json_t *r = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                          "AdmissionReview", "request", req);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

static json_t *response_of(const struct admission_result *res) {
    assert_int_equal(res->http_status, 200);
    json_t *r = json_loadb(res->body, res->len, 0, NULL);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "apiVersion")),
                        "admission.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(r, "kind")), "AdmissionReview");
    json_t *resp = json_incref(json_object_get(r, "response"));
    assert_non_null(resp);
    json_decref(r);
    return resp;
}

static int b64val(int c) {
    const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(tbl, c) : NULL;
    return p ? (int)(p - tbl) : -1;
}

/* new ref: the decoded JSON Patch of a response, or NULL when there is none */
static json_t *patch_of(const json_t *resp) {
    const char *b64 = json_string_value(json_object_get(resp, "patch"));
    if (!b64)
        return NULL;
    assert_string_equal(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
    size_t n = strlen(b64);
    assert_int_equal(n % 4, 0);
    char *out = xmalloc(n), *w = out;
    for (size_t i = 0; i < n; i += 4) {
        int a = b64val(b64[i]), b = b64val(b64[i + 1]);
        int c = b64[i + 2] == '=' ? 0 : b64val(b64[i + 2]);
        int d = b64[i + 3] == '=' ? 0 : b64val(b64[i + 3]);
        assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
        unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
        *w++ = (char)(v >> 16);
        if (b64[i + 2] != '=')
            *w++ = (char)(v >> 8);
        if (b64[i + 3] != '=')
            *w++ = (char)v;
    }
    json_t *p = json_loadb(out, (size_t)(w - out), 0, NULL);
    free(out);
    assert_non_null(p);
    return p;
}

static int warning_has(const json_t *resp, const char *needle) {
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(resp, "warnings"), i, w) {
        if (strstr(json_string_value(w), needle))
            return 1;
    }
    return 0;
}

static json_t *java_pod(void) {
    json_t *c = tu_load("tests/fixtures/webhook/mutate/java.yaml");
    json_t *pod = json_incref(json_object_get(c, "pod"));
    json_decref(c);
    return pod;
}

/* ---- mutate ------------------------------------------------------------------ */

static void test_mutate_injects(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *pod = java_pod();
    char *body = review_text("3f7c-uid", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod?timeout=10s", body, strlen(body), &ctx,
                                      &res), 0);
    json_t *resp = response_of(&res);
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "3f7c-uid");
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    json_t *patch = patch_of(resp);
    assert_non_null(patch);
    /* the same patch as the pure function's golden file for this pod */
    json_t *gold = tu_load("tests/golden/webhook/mutate/java.patch.json");
    tu_assert_json_equal(gold, patch, "admission patch");
    char err[256];
    json_t *patched = jpa_apply(pod, patch, err, sizeof(err));
    assert_non_null(patched);
    assert_int_equal(res.decision, MUTATE_INJECTED);
    assert_string_equal(res.langs, "java");
    assert_string_equal(res.instrumentation, "shop/default");
    assert_string_equal(res.pod_namespace, "shop");
    assert_string_equal(res.pod_name, "web-7d4f9c8b6d-");
    assert_string_equal(res.owner_kind, "ReplicaSet");
    assert_string_equal(res.owner_name, "web-7d4f9c8b6d");
    assert_string_equal(res.uid, "3f7c-uid");
    assert_int_equal(res.dry_run, 0);
    assert_int_equal(f.list_calls, 1);
    assert_string_equal(f.listed[0], "shop");
    assert_int_equal(f.model_calls, 1);
    json_decref(patched);
    json_decref(gold);
    json_decref(patch);
    json_decref(resp);
    admission_result_free(&res);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

static void test_mutate_not_requested_no_lookups(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *pod = json_pack("{s:{s:s}, s:{s:[{s:s}]}}", "metadata", "name", "p", "spec",
                            "containers", "name", "c");
    char *body = review_text("u1", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
    json_t *resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_null(json_object_get(resp, "patch"));
    assert_null(json_object_get(resp, "warnings"));
    assert_int_equal(res.decision, MUTATE_NOT_REQUESTED);
    assert_int_equal(f.list_calls, 0);   /* pods that do not opt in cost no lookups */
    json_decref(resp);
    admission_result_free(&res);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

static void test_mutate_skip_cross_namespace(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *pod = json_pack("{s:{s:s, s:{s:s}}, s:{s:[{s:s}]}}", "metadata", "name", "p",
                            "annotations", "tracemodel.dev/inject-python", "observability/py",
                            "spec", "containers", "name", "c");
    char *body = review_text("u2", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
    json_t *resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    /* the skip is visible: a status annotation, a warning, and the decision for an Event */
    json_t *patch = patch_of(resp);
    json_t *want = json_pack("[{s:s, s:s, s:s}]", "op", "add", "path",
                             "/metadata/annotations/tracemodel.dev~1injection-status", "value",
                             "skipped:inject-python: Instrumentation observability/py not found");
    tu_assert_json_equal(want, patch, "skip patch");
    assert_true(warning_has(resp, "instrumentation skipped: inject-python: Instrumentation "
                                  "observability/py not found"));
    assert_int_equal(res.decision, MUTATE_SKIPPED);
    assert_int_equal(f.list_calls, 2);
    assert_true(!strcmp(f.listed[1], "observability") || !strcmp(f.listed[0], "observability"));
    json_decref(want);
    json_decref(patch);
    json_decref(resp);
    admission_result_free(&res);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

static void test_mutate_lookup_failure_admits(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    f.fail_list = 1;
    json_t *pod = java_pod();
    char *body = review_text("u3", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
    json_t *resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_null(json_object_get(resp, "patch"));
    assert_true(warning_has(resp, "tracing-operator: pod admitted without instrumentation"));
    assert_int_equal(res.decision, MUTATE_ERROR);
    json_decref(resp);
    admission_result_free(&res);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

static void test_mutate_other_operations(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *pod = java_pod();
    const char *ops[][2] = {{"UPDATE", "Pod"}, {"CREATE", "Deployment"}};
    for (size_t i = 0; i < 2; i++) {
        char *body = review_text("u4", pod, ops[i][0], ops[i][1], "shop");
        struct admission_result res;
        assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
        json_t *resp = response_of(&res);
        assert_true(json_is_true(json_object_get(resp, "allowed")));
        assert_null(json_object_get(resp, "patch"));
        json_decref(resp);
        admission_result_free(&res);
        free(body);
    }
    /* the pod from the request body, without ctx at all: skipped (no Instrumentation) */
    char *body = review_text("u5", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), NULL, &res), 0);
    assert_int_equal(res.decision, MUTATE_SKIPPED);
    admission_result_free(&res);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

/* Malformed AdmissionReviews: mutate admits (never blocks a pod), validate answers 400. */
static void test_malformed_reviews(void **state) {
    (void)state;
    static const char *const bodies[] = {
        "not json at all",
        "",
        "[1,2,3]",
        "{\"apiVersion\": \"admission.k8s.io/v1beta1\", \"kind\": \"AdmissionReview\", "
        "\"request\": {\"uid\": \"abc\"}}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\"}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": 5}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"Other\", \"request\": {}}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "
        "\"request\": {\"uid\": \"\"}}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "
        "\"request\": {\"uid\": \"u\", \"operation\": \"CREATE\", \"object\": 7}}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "
        "\"request\": {\"uid\": \"u\", \"operation\": \"CREATE\", \"namespace\": \"shop\", "
        "\"object\": {\"metadata\": {\"annotations\": {\"tracemodel.dev/inject-java\": \"true\"}},"
        " \"spec\": {\"containers\": \"x\"}}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct admission_result res;
        admission_handle("/mutate-v1-pod", bodies[i], strlen(bodies[i]), NULL, &res);
        json_t *resp = response_of(&res);
        if (!json_is_true(json_object_get(resp, "allowed")))
            fail_msg("body %zu: a pod was blocked", i);
        assert_null(json_object_get(resp, "patch"));
        if (!warning_has(resp, "tracing-operator: pod admitted without instrumentation"))
            fail_msg("body %zu: no warning", i);
        json_decref(resp);
        admission_result_free(&res);

        admission_handle("/validate-tracingmodel", bodies[i], strlen(bodies[i]), NULL, &res);
        resp = response_of(&res);
        const json_t *st = json_object_get(resp, "status");
        if (i < 8) {   /* not an AdmissionReview: 400 */
            assert_true(json_is_false(json_object_get(resp, "allowed")));
            assert_int_equal(json_integer_value(json_object_get(st, "code")), 400);
            assert_non_null(strstr(json_string_value(json_object_get(st, "message")),
                                   "malformed AdmissionReview"));
        }
        json_decref(resp);
        admission_result_free(&res);
    }
    /* the uid is echoed when it can be found, so the API server can match the answer */
    const char *v1beta1 = bodies[3];
    struct admission_result res;
    admission_handle("/mutate-v1-pod", v1beta1, strlen(v1beta1), NULL, &res);
    json_t *resp = response_of(&res);
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "abc");
    assert_true(warning_has(resp, "apiVersion must be admission.k8s.io/v1"));
    json_decref(resp);
    admission_result_free(&res);
    /* NULL body */
    admission_handle("/mutate-v1-pod", NULL, 0, NULL, &res);
    resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    json_decref(resp);
    admission_result_free(&res);
}

static void test_unknown_path(void **state) {
    (void)state;
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pods", "{}", 2, NULL, &res), OP_EINVALID);
    assert_int_equal(res.http_status, 404);
    assert_non_null(strstr(res.body, "/mutate-v1-pod"));
    admission_result_free(&res);
    assert_int_equal(admission_handle(NULL, "{}", 2, NULL, &res), OP_EINVALID);
    assert_int_equal(res.http_status, 404);
    admission_result_free(&res);
}

/* 1,000 containers, and bodies just under and over the 3 MiB limit. */
static void test_big_inputs(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *pod = java_pod();
    json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
    for (int i = 1; i < 1000; i++) {
        char n[32];
        snprintf(n, sizeof(n), "sidecar-%d", i);
        json_array_append_new(containers, json_pack("{s:s, s:s}", "name", n, "image", "x:1"));
    }
    char *body = review_text("big", pod, "CREATE", "Pod", "shop");
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
    json_t *resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_int_equal(res.decision, MUTATE_INJECTED);   /* the first container, as always */
    json_decref(resp);
    admission_result_free(&res);
    free(body);

    /* a pod padded to just under 3 MiB with a large annotation: still handled */
    size_t pad = ADMISSION_MAX_BODY - 4096;
    char *big = xmalloc(pad + 1);
    memset(big, 'x', pad);
    big[pad] = '\0';
    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        "example.com/blob", json_string(big));
    json_array_clear(containers);
    json_array_append_new(containers, json_pack("{s:s}", "name", "web"));
    body = review_text("pad", pod, "CREATE", "Pod", "shop");
    assert_true(strlen(body) <= ADMISSION_MAX_BODY);
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &res), 0);
    resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_int_equal(res.decision, MUTATE_INJECTED);
    json_decref(resp);
    admission_result_free(&res);
    free(body);

    /* over the limit: mutate admits unchanged, validate answers 413 */
    size_t n = ADMISSION_MAX_BODY + 1;
    char *huge = xmalloc(n);
    memset(huge, ' ', n);
    huge[0] = '{';
    huge[n - 1] = '}';
    assert_int_equal(admission_handle("/mutate-v1-pod", huge, n, &ctx, &res), OP_EINVALID);
    resp = response_of(&res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_true(warning_has(resp, "too large"));
    json_decref(resp);
    admission_result_free(&res);
    admission_handle("/validate-instrumentation", huge, n, &ctx, &res);
    resp = response_of(&res);
    assert_true(json_is_false(json_object_get(resp, "allowed")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "status"), "code")),
                     413);
    json_decref(resp);
    admission_result_free(&res);
    free(huge);
    free(big);
    json_decref(pod);
    fake_free(&f);
}

/* ---- validate ------------------------------------------------------------------- */

static json_t *validate(const char *path, const char *yaml, const char *op,
                        const struct admission_ctx *ctx, struct admission_result *res) {
    json_t *obj = yaml ? tu_load(yaml) : json_object();
    char *body = review_text("v1", obj, op, "X", "shop");
    admission_handle(path, body, strlen(body), ctx, res);
    free(body);
    json_decref(obj);
    return response_of(res);
}

static void test_validate_tracingmodel(void **state) {
    (void)state;
    struct admission_result res;
    json_t *resp = validate("/validate-tracingmodel",
                            "tests/fixtures/webhook/shared/model-shop.yaml", "CREATE", NULL, &res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "v1");
    json_decref(resp);
    admission_result_free(&res);

    resp = validate("/validate-tracingmodel", "tests/fixtures/webhook/validate/model-bad-rate.yaml",
                    "CREATE", NULL, &res);
    assert_true(json_is_false(json_object_get(resp, "allowed")));
    const json_t *st = json_object_get(resp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    const char *msg = json_string_value(json_object_get(st, "message"));
    assert_non_null(strstr(msg, "TracingModel bad is invalid"));
    assert_non_null(strstr(msg, "spec.sampling.rate"));
    json_decref(resp);
    admission_result_free(&res);

    /* DELETE is never refused */
    resp = validate("/validate-tracingmodel", NULL, "DELETE", NULL, &res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    json_decref(resp);
    admission_result_free(&res);
}

static void test_validate_instrumentation(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    struct admission_result res;
    json_t *resp = validate("/validate-instrumentation",
                            "tests/fixtures/webhook/shared/inst-shop.yaml", "CREATE", &ctx, &res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_null(json_object_get(resp, "warnings"));
    json_decref(resp);
    admission_result_free(&res);

    /* a TracingModel that does not exist yet: allowed, with a warning naming it */
    json_object_del(f.models, "shop/shop");
    resp = validate("/validate-instrumentation", "tests/fixtures/webhook/shared/inst-shop.yaml",
                    "UPDATE", &ctx, &res);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_true(warning_has(resp, "spec.tracingModel: TracingModel shop/shop does not exist"));
    json_decref(resp);
    admission_result_free(&res);

    /* errors deny, naming every field; warnings ride along */
    resp = validate("/validate-instrumentation", "tests/fixtures/webhook/validate/inst-bad.yaml",
                    "CREATE", &ctx, &res);
    assert_true(json_is_false(json_object_get(resp, "allowed")));
    const json_t *st = json_object_get(resp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    const char *msg = json_string_value(json_object_get(st, "message"));
    assert_non_null(strstr(msg, "Instrumentation bad is invalid"));
    assert_non_null(strstr(msg, "spec.sampler.argument: must be a number in [0, 1]"));
    assert_non_null(strstr(msg, "spec.propagators[0]"));
    assert_true(warning_has(resp, "spec.colour: unknown field"));
    json_decref(resp);
    admission_result_free(&res);
    fake_free(&f);
}

static void test_dry_run_flag(void **state) {
    (void)state;
    const char *body = "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "
                       "\"request\": {\"uid\": \"d\", \"operation\": \"CREATE\", \"dryRun\": true,"
                       " \"namespace\": \"shop\", \"object\": {\"spec\": {\"containers\": "
                       "[{\"name\": \"c\"}]}}}}";
    struct admission_result res;
    assert_int_equal(admission_handle("/mutate-v1-pod", body, strlen(body), NULL, &res), 0);
    assert_int_equal(res.dry_run, 1);
    assert_true(res.allowed);
    admission_result_free(&res);
}


/* Defaulted TracingModels are reused while uid and resourceVersion are unchanged. */
static char *answer(const struct admission_ctx *ctx, struct admission_cache *cache,
                    const char *body) {
    struct admission_result res;
    assert_int_equal(admission_handle_cached("/mutate-v1-pod", body, strlen(body), ctx, cache,
                                             &res), 0);
    assert_int_equal(res.decision, MUTATE_INJECTED);
    char *out = res.body;
    res.body = NULL;
    admission_result_free(&res);
    return out;
}

static void test_model_cache(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *model = json_object_get(f.models, "shop/shop");
    json_t *md = json_object_get(model, "metadata");
    json_object_set_new(md, "uid", json_string("6a1f-model-uid"));
    json_object_set_new(md, "resourceVersion", json_string("7"));
    json_t *sampling = json_object_get(json_object_get(model, "spec"), "sampling");
    json_t *pod = java_pod();
    char *body = review_text("c4c4-uid", pod, "CREATE", "Pod", "shop");
    struct admission_cache *cache = admission_cache_new();

    char *first = answer(&ctx, cache, body);
    char *plain = answer(&ctx, NULL, body);
    assert_string_equal(first, plain);          /* the cache changes no byte */
    /* the same version: the cached defaulting stands, though the content changed */
    json_object_set_new(sampling, "rate", json_real(0.75));
    char *cached = answer(&ctx, cache, body);
    assert_string_equal(cached, first);
    char *fresh = answer(&ctx, NULL, body);
    assert_string_not_equal(fresh, first);      /* the change shows without a cache */
    /* a new resourceVersion is defaulted again */
    json_object_set_new(md, "resourceVersion", json_string("8"));
    char *bumped = answer(&ctx, cache, body);
    assert_string_equal(bumped, fresh);
    /* a model without resourceVersion is never cached */
    json_object_del(md, "resourceVersion");
    json_object_set_new(sampling, "rate", json_real(0.5));
    char *norv = answer(&ctx, cache, body);
    char *norv_plain = answer(&ctx, NULL, body);
    assert_string_equal(norv, norv_plain);
    assert_string_not_equal(norv, fresh);

    free(first), free(plain), free(cached), free(fresh), free(bumped), free(norv);
    free(norv_plain);
    admission_cache_free(cache);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

/* The answer and decision of one pod admission (body is a new string). */
static char *answer_any(const struct admission_ctx *ctx, struct admission_cache *cache,
                        const char *body, enum mutate_decision *decision) {
    struct admission_result res;
    assert_int_equal(admission_handle_cached("/mutate-v1-pod", body, strlen(body), ctx, cache,
                                             &res), 0);
    *decision = res.decision;
    char *out = res.body;
    res.body = NULL;
    admission_result_free(&res);
    return out;
}

/* Defaulted and validated Instrumentations are reused while uid and resourceVersion are
 * unchanged; one that fails validation is remembered with its error. */
static void test_instrumentation_cache(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx;
    fake_init(&f, &ctx);
    json_t *inst = json_array_get(json_object_get(f.insts, "shop"), 0);
    json_t *md = json_object_get(inst, "metadata");
    json_t *spec = json_object_get(inst, "spec");
    json_object_set_new(md, "uid", json_string("9b2e-inst-uid"));
    json_object_set_new(md, "resourceVersion", json_string("3"));
    json_t *pod = java_pod();
    char *body = review_text("c5c5-uid", pod, "CREATE", "Pod", "shop");
    struct admission_cache *cache = admission_cache_new();
    enum mutate_decision dec;

    char *first = answer(&ctx, cache, body);
    char *plain = answer(&ctx, NULL, body);
    assert_string_equal(first, plain);          /* the cache changes no byte */
    /* the same version: the cached Instrumentation stands, though the content changed */
    json_object_set_new(spec, "env", json_pack("[{s:s, s:s}]", "name", "EXTRA", "value", "1"));
    char *cached = answer(&ctx, cache, body);
    assert_string_equal(cached, first);
    char *fresh = answer(&ctx, NULL, body);
    assert_string_not_equal(fresh, first);      /* the change shows without a cache */
    /* a new resourceVersion is loaded again */
    json_object_set_new(md, "resourceVersion", json_string("4"));
    char *bumped = answer(&ctx, cache, body);
    assert_string_equal(bumped, fresh);
    /* a new uid (deleted and re-created under the same name) is loaded again */
    json_object_set_new(md, "uid", json_string("9b2e-inst-uid-2"));
    json_object_del(spec, "env");
    char *recreated = answer(&ctx, cache, body);
    assert_string_equal(recreated, first);

    /* an invalid version: skipped, and the error is remembered for that version */
    json_object_set_new(md, "resourceVersion", json_string("5"));
    json_object_set_new(spec, "sampler", json_pack("{s:s, s:s}", "type", "traceidratio",
                                                   "argument", "1.5"));
    char *bad = answer_any(&ctx, cache, body, &dec);
    assert_int_equal(dec, MUTATE_SKIPPED);
    char *bad_plain = answer_any(&ctx, NULL, body, &dec);
    assert_string_equal(bad, bad_plain);
    json_object_del(spec, "sampler");           /* fixed, but the same version */
    char *bad_cached = answer_any(&ctx, cache, body, &dec);
    assert_int_equal(dec, MUTATE_SKIPPED);
    assert_string_equal(bad_cached, bad);
    json_object_set_new(md, "resourceVersion", json_string("6"));
    char *fixed = answer(&ctx, cache, body);
    assert_string_equal(fixed, first);

    /* an Instrumentation without resourceVersion is never cached */
    json_object_del(md, "resourceVersion");
    json_object_set_new(spec, "env", json_pack("[{s:s, s:s}]", "name", "EXTRA", "value", "2"));
    char *norv = answer(&ctx, cache, body);
    char *norv_plain = answer(&ctx, NULL, body);
    assert_string_equal(norv, norv_plain);
    assert_string_not_equal(norv, first);
    assert_string_not_equal(norv, fresh);

    free(first), free(plain), free(cached), free(fresh), free(bumped), free(recreated);
    free(bad), free(bad_plain), free(bad_cached), free(fixed), free(norv), free(norv_plain);
    admission_cache_free(cache);
    free(body);
    json_decref(pod);
    fake_free(&f);
}

/* ---- leaving out what the pod path never reads ---- */

/* Sets key on o to v unless o has it (v stolen). */
static void put_absent(json_t *o, const char *key, json_t *v) {
    if (json_is_object(o) && !json_object_get(o, key))
        json_object_set_new(o, key, v);
    else
        json_decref(v);
}

/* The pod with every member admission.c leaves out filled in, as the API server
 * sends a real Deployment's pod. */
static void fill_prunable(json_t *pod) {
    json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    put_absent(md, "managedFields",
               json_pack("[{s:s, s:s, s:s, s:{s:{s:{}, s:{s:{}}}}}]", "manager",
                         "kube-controller-manager", "operation", "Update", "fieldsType",
                         "FieldsV1", "fieldsV1", "f:metadata", "f:generateName", "f:labels",
                         "f:app"));
    put_absent(pod, "status", json_pack("{s:s, s:s}", "phase", "Pending", "qosClass",
                                        "Burstable"));
    put_absent(spec, "tolerations",
               json_pack("[{s:s, s:s, s:s, s:i}]", "key", "node.kubernetes.io/not-ready",
                         "operator", "Exists", "effect", "NoExecute", "tolerationSeconds", 300));
    put_absent(spec, "affinity", json_pack("{s:{}}", "podAntiAffinity"));
    put_absent(spec, "topologySpreadConstraints",
               json_pack("[{s:i, s:s}]", "maxSkew", 1, "topologyKey", "zone"));
    const char *lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            put_absent(c, "livenessProbe", json_pack("{s:{s:s, s:i}, s:i}", "httpGet", "path",
                                                     "/healthz", "port", 8080,
                                                     "periodSeconds", 10));
            put_absent(c, "readinessProbe", json_pack("{s:{s:[s]}}", "exec", "command",
                                                      "true"));
            put_absent(c, "startupProbe", json_pack("{s:{s:i}}", "tcpSocket", "port", 8080));
            put_absent(c, "lifecycle", json_pack("{s:{s:{s:i}}}", "preStop", "sleep",
                                                 "seconds", 5));
            put_absent(c, "ports", json_pack("[{s:s, s:i, s:s}]", "name", "http",
                                             "containerPort", 8080, "protocol", "TCP"));
            put_absent(c, "args", json_pack("[s, s]", "--port=8080", "--log=json"));
            put_absent(c, "command", json_pack("[s]", "/app/server"));
        }
    }
}

/* Every mutation fixture's pod, with the members the pod path leaves out filled in:
 * the answer is the same bytes whether the review is parsed whole or without them.
 * (A new read of one of those members on the pod path fails this test until the
 * member leaves the list in admission.c.) */
static void test_pruning_changes_no_answer(void **state) {
    (void)state;
    struct fake f;
    struct admission_ctx ctx, whole;
    fake_init(&f, &ctx);
    whole = ctx;
    whole.parse_whole_request = 1;
    char *dir = xasprintf("%s/tests/fixtures/webhook/mutate", getenv("OP_SOURCE_DIR"));
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int cases = 0, injected = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml"))
            continue;
        char *rel = xasprintf("tests/fixtures/webhook/mutate/%s", e->d_name);
        json_t *fx = tu_load(rel);
        json_t *pod = json_deep_copy(json_object_get(fx, "pod"));
        if (!json_is_object(pod) || !json_is_object(json_object_get(pod, "spec"))) {
            json_decref(pod);
            json_decref(fx);
            free(rel);
            continue;
        }
        fill_prunable(pod);
        json_t *req = json_pack(
            "{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, "
            "s:s}, s:s, s:s, s:{s:s, s:s, s:[s]}, s:O, s:n, s:b, s:{s:s, s:s}}",
            "uid", "0d4c2f1e-aaaa-bbbb-cccc-000000000001", "kind", "group", "", "version", "v1",
            "kind", "Pod", "resource", "group", "", "version", "v1", "resource", "pods",
            "requestKind", "group", "", "version", "v1", "kind", "Pod", "requestResource",
            "group", "", "version", "v1", "resource", "pods", "namespace", "shop", "operation",
            "CREATE", "userInfo", "username", "system:serviceaccount:kube-system:replicaset",
            "uid", "u-1", "groups", "system:serviceaccounts", "object", pod, "oldObject",
            "dryRun", 0, "options", "kind", "CreateOptions", "apiVersion", "meta.k8s.io/v1");
        json_t *r = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                              "AdmissionReview", "request", req);
        char *body = json_dumps(r, JSON_COMPACT);
        struct admission_result a, b;
        admission_handle("/mutate-v1-pod", body, strlen(body), &ctx, &a);
        admission_handle("/mutate-v1-pod", body, strlen(body), &whole, &b);
        if (a.len != b.len || memcmp(a.body, b.body, a.len))
            fail_msg("%s: the answer depends on a member the pod path leaves out\n"
                     "  pruned: %.*s\n  whole:  %.*s", e->d_name, (int)a.len, a.body,
                     (int)b.len, b.body);
        assert_int_equal(a.decision, b.decision);
        cases++;
        injected += a.decision == MUTATE_INJECTED;
        admission_result_free(&a);
        admission_result_free(&b);
        free(body);
        json_decref(r);
        json_decref(pod);
        json_decref(fx);
        free(rel);
    }
    closedir(d);
    free(dir);
    fake_free(&f);
    /* the fixtures cover injections of every kind, not only skips */
    assert_true(cases >= 30);
    assert_true(injected >= 10);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutate_injects),
        cmocka_unit_test(test_mutate_not_requested_no_lookups),
        cmocka_unit_test(test_mutate_skip_cross_namespace),
        cmocka_unit_test(test_mutate_lookup_failure_admits),
        cmocka_unit_test(test_mutate_other_operations),
        cmocka_unit_test(test_malformed_reviews),
        cmocka_unit_test(test_unknown_path),
        cmocka_unit_test(test_big_inputs),
        cmocka_unit_test(test_validate_tracingmodel),
        cmocka_unit_test(test_validate_instrumentation),
        cmocka_unit_test(test_dry_run_flag),
        cmocka_unit_test(test_model_cache),
        cmocka_unit_test(test_instrumentation_cache),
        cmocka_unit_test(test_pruning_changes_no_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
