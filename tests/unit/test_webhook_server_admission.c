/* test_webhook_server_admission.c - the real admission code behind the HTTPS
 * server (webhook_admission_handler): an opted-in pod comes back with a JSON
 * Patch and its uid, a bad TracingModel is refused naming the field, and the
 * observe hook sees every answer. The server starts in the cmocka setup and
 * stops in the teardown, so a failed check never leaves its thread running at
 * exit; under valgrind (OP_UNDER_VALGRIND) the time limits are 20x longer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "testutil.h"
#include "webhook/admission.h"
#include "webhook/certs.h"
#include "webhook/server.h"

struct cluster {
    json_t *ns, *inst, *model;
};

static json_t *get_ns(void *user, const char *name) {
    struct cluster *c = user;
    return strcmp(name, "shop") == 0 ? json_incref(c->ns) : NULL;
}

static json_t *list_inst(void *user, const char *ns, int *failed) {
    struct cluster *c = user;
    (void)failed;
    return strcmp(ns, "shop") == 0 ? json_pack("[O]", c->inst) : json_array();
}

static json_t *get_model(void *user, const char *ns, const char *name) {
    struct cluster *c = user;
    return strcmp(ns, "shop") == 0 && strcmp(name, "shop") == 0 ? json_incref(c->model) : NULL;
}

/* 20 under valgrind, else 1: the factor for every time limit below. */
static int slow(void) {
    const char *v = getenv("OP_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0 ? 20 : 1;
}

struct seen {
    int n;
    char last_path[64];
    int last_allowed;
    int64_t last_us;
};

static void observe(void *ud, const char *path, const struct admission_result *r, int64_t us) {
    struct seen *s = ud;   /* one request at a time in this test */
    s->n++;
    snprintf(s->last_path, sizeof(s->last_path), "%s", path);
    s->last_allowed = r->allowed;
    s->last_us = us;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud) {
    json_t **out = ud;
    json_error_t e;
    *out = json_loadb(p, sz * n, 0, &e);   /* small answers arrive in one piece here */
    return sz * n;
}

static json_t *post(int port, const char *ca, const char *path, const json_t *review,
                    long *status) {
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
    struct curl_blob blob = {.data = (void *)ca, .len = strlen(ca), .flags = CURL_BLOB_COPY};
    char *body = json_dumps(review, JSON_COMPACT);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    json_t *out = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 8000L * slow());
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    assert_non_null(out);
    return out;
}

static json_t *review(const char *uid, const char *kind, const char *group, json_t *object) {
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}}", "apiVersion",
                     "admission.k8s.io/v1", "kind", "AdmissionReview", "request", "uid", uid,
                     "kind", "group", group, "version", *group ? "v1alpha1" : "v1", "kind",
                     kind, "namespace", "shop", "operation", "CREATE", "object", object);
}

/* The fake cluster, the CA and a server running webhook_admission_handler. */
struct fx {
    struct cluster cl;
    struct admission_ctx ctx;
    struct seen seen;
    struct webhook_admission adm;
    char *ca, *ca_key, *cert, *key;
    struct webhook_server *srv;
    int port;
};

static int teardown(void **state) {
    struct fx *f = *state;
    if (!f)
        return 0;
    webhook_server_stop(f->srv);   /* before anything the server thread reads */
    free(f->ca);
    free(f->ca_key);
    free(f->cert);
    free(f->key);
    json_decref(f->cl.ns);
    json_decref(f->cl.inst);
    json_decref(f->cl.model);
    free(f);
    *state = NULL;
    return 0;
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->cl = (struct cluster){
        .ns = tu_load("tests/fixtures/webhook/shared/ns-shop.yaml"),
        .inst = tu_load("tests/fixtures/webhook/shared/inst-shop.yaml"),
        .model = tu_load("tests/fixtures/webhook/shared/model-shop.yaml"),
    };
    f->ctx = (struct admission_ctx){.user = &f->cl, .get_namespace = get_ns,
                                    .list_instrumentations = list_inst,
                                    .get_tracingmodel = get_model};
    f->adm = (struct webhook_admission){.ctx = &f->ctx, .observe = observe,
                                        .observe_ud = &f->seen};
    const char *hosts[] = {"127.0.0.1"};
    struct op_status st = {0};
    if (certs_gen_ca("ca", time(NULL), 86400, &f->ca, &f->ca_key, &st) != 0 ||
        certs_gen_serving(f->ca, f->ca_key, hosts, 1, time(NULL), 86400, &f->cert, &f->key,
                          &st) != 0) {
        print_error("certificates: %s\n", st.msg);
        teardown(state);
        return -1;
    }
    struct webhook_server_opts o = {.bind_address = "127.0.0.1:0", .cert_pem = f->cert,
                                    .key_pem = f->key, .io_timeout_s = 10u * (unsigned)slow(),
                                    .handler = webhook_admission_handler, .handler_ud = &f->adm};
    f->srv = webhook_server_start(&o, &st);
    if (!f->srv) {
        print_error("start: %s\n", st.msg);
        teardown(state);
        return -1;
    }
    f->port = webhook_server_port(f->srv);
    return 0;
}

static void test_admission_over_https(void **state) {
    struct fx *f = *state;
    const char *ca = f->ca;
    int port = f->port;
    struct seen *seen = &f->seen;

    /* an opted-in pod: allowed, uid echoed, a JSON Patch */
    json_t *fx = tu_load("tests/fixtures/webhook/mutate/java.yaml");
    json_t *rv = review("uid-pod-1", "Pod", "", json_incref(json_object_get(fx, "pod")));
    long status = 0;
    json_t *out = post(port, ca, "/mutate-v1-pod?timeout=5s", rv, &status);
    assert_int_equal(status, 200);
    json_t *resp = json_object_get(out, "response");
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "uid-pod-1");
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_string_equal(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
    assert_true(json_string_length(json_object_get(resp, "patch")) > 0);
    assert_int_equal(seen->n, 1);
    assert_string_equal(seen->last_path, "/mutate-v1-pod");
    assert_int_equal(seen->last_allowed, 1);
    assert_true(seen->last_us >= 0);
    json_decref(out);
    json_decref(rv);
    json_decref(fx);

    /* a TracingModel with a rate above 1: refused, the field named */
    rv = review("uid-tm-1", "TracingModel", "tracemodel.dev",
                tu_load("tests/fixtures/webhook/validate/model-bad-rate.yaml"));
    out = post(port, ca, "/validate-tracingmodel", rv, &status);
    assert_int_equal(status, 200);
    resp = json_object_get(out, "response");
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "uid-tm-1");
    assert_true(json_is_false(json_object_get(resp, "allowed")));
    const char *msg = json_string_value(json_object_get(json_object_get(resp, "status"),
                                                        "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "sampling.rate"));
    assert_int_equal(seen->n, 2);
    assert_int_equal(seen->last_allowed, 0);
    json_decref(out);
    json_decref(rv);
}

int main(void) {
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admission_over_https, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
