/* test_webhook_runtime_helpers.h - shared by the webhook runtime tests: a fake
 * clock, the runtime over the fake transport, API paths, certificates and
 * Secrets made on the spot, and an HTTPS client that verifies the served
 * certificate against a given CA. Header-only (static functions). */
#ifndef TEST_WEBHOOK_RUNTIME_HELPERS_H
#define TEST_WEBHOOK_RUNTIME_HELPERS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_transport.h"
#include "kube/client.h"
#include "testutil.h"
#include "webhook/certs.h"
#include "webhook/runtime_internal.h"

#define NS "ops"
#define SECRET_NAME "tracing-operator-webhook-cert"
#define SECRET_PATH "/api/v1/namespaces/ops/secrets/" SECRET_NAME
#define SECRETS_PATH "/api/v1/namespaces/ops/secrets"
#define MWC_PATH "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/tracing-operator"
#define VWC_PATH                                                                              \
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/tracing-operator"
#define APPLY_QUERY "?fieldManager=tracing-operator&force=true"
#define CT_JSON_PATCH "application/json-patch+json"
#define CT_APPLY "application/apply-patch+yaml"

/* ---- fake clock: monotonic moves only when a test moves it; wall = real + offset ---- */

struct fake_clock {
    atomic_llong mono;
    atomic_llong wall_offset;
};

static inline int64_t fc_mono(void *ud) { return atomic_load(&((struct fake_clock *)ud)->mono); }

static inline int64_t fc_wall(void *ud) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load(&((struct fake_clock *)ud)->wall_offset);
}

static inline void fc_advance(struct fake_clock *c, int64_t ms) { atomic_fetch_add(&c->mono, ms); }

/* ---- the fixture ------------------------------------------------------------------------ */

struct fx {
    struct fake_transport *f;
    struct kube_config cfg;
    struct fake_clock clk;
    atomic_int leader;
    atomic_int admissions;
    struct webhook_runtime_hooks h;
    struct webhook_runtime_opts o;
    struct webhook_runtime *r;
    char dir[64];
};

static inline struct kube_transport *fx_transport(void *ud, struct op_status *st) {
    (void)st;
    return fake_transport_base(ud);
}

static inline int fx_is_leader(void *ud) { return atomic_load(&((struct fx *)ud)->leader); }

static inline void fx_on_admission(void *ud, const struct admission_result *r, int64_t us) {
    (void)r;
    (void)us;
    atomic_fetch_add(&((struct fx *)ud)->admissions, 1);
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline int fx_setup(void **state) {
    struct fx *x = calloc(1, sizeof(*x));
    x->f = fake_transport_new();
    kube_config_init(&x->cfg);
    atomic_store(&x->clk.mono, 1000000);
    atomic_store(&x->leader, 1);
    x->h = (struct webhook_runtime_hooks){
        .new_transport = fx_transport,
        .transport_ud = x->f,
        .mono_ms = fc_mono,
        .wall_ms = fc_wall,
        .clock_ud = &x->clk,
        .hostname = "operator-0",
        .pod_namespace = "",
        .tick_ms = 5,
    };
    x->o = (struct webhook_runtime_opts){
        .bind_address = "127.0.0.1:0",
        .operator_namespace = NS,
        .hosts = {"127.0.0.1"},
        .nhosts = 1,
        .kube = &x->cfg,
        .is_leader = fx_is_leader,
        .leader_ud = x,
        .on_admission = fx_on_admission,
        .on_admission_ud = x,
    };
    snprintf(x->dir, sizeof(x->dir), "/tmp/op-wrun-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    *state = x;
    return 0;
}

static inline void rm_file(const char *dir, const char *name) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static inline int fx_teardown(void **state) {
    struct fx *x = *state;
    webhook_runtime_stop(x->r);
    fake_transport_free(x->f);
    kube_config_free(&x->cfg);
    rm_file(x->dir, "tls.crt");
    rm_file(x->dir, "tls.key");
    rm_file(x->dir, "ca.crt");
    rmdir(x->dir);
    free(x);
    return 0;
}

static inline void fx_start(struct fx *x) {
    struct op_status st = {0};
    x->r = webhook_runtime_start_with(&x->o, &x->h, &st);
    if (!x->r)
        fail_msg("webhook_runtime_start: %s", st.msg);
}

static inline void fx_idle(struct fx *x) {
    if (webhook_runtime_wait_idle(x->r, 20000) != 0)
        fail_msg("the runtime did not become idle");
}

/* Waits until the fake saw n requests (the runtime thread is then inside or after
 * the n-th), then until the thread is idle. */
static inline void fx_wait_requests(struct fx *x, size_t n) {
    for (int i = 0; i < 4000 && fake_request_count(x->f) < n; i++)
        sleep_ms(5);
    if (fake_request_count(x->f) < n)
        fail_msg("expected %zu requests, saw %zu", n, fake_request_count(x->f));
    fx_idle(x);
}

static inline size_t fx_count(struct fx *x, const char *method) {
    size_t n = 0;
    for (size_t i = 0; i < fake_request_count(x->f); i++)
        n += strcmp(fake_request_at(x->f, i)->method, method) == 0;
    return n;
}

/* The body of the i-th request with this method and path prefix, parsed. New ref. */
static inline json_t *fx_body(struct fx *x, const char *method, const char *path, size_t nth) {
    for (size_t i = 0; i < fake_request_count(x->f); i++) {
        const struct fake_request *r = fake_request_at(x->f, i);
        if (strcmp(r->method, method) || strncmp(r->path, path, strlen(path)))
            continue;
        if (nth-- == 0) {
            json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
            assert_non_null(j);
            return j;
        }
    }
    fail_msg("no request %s %s", method, path);
    return NULL;
}

/* ---- certificates and objects --------------------------------------------------------------- */

static inline char *b64(const char *s) {
    size_t n = strlen(s);
    char *out = malloc((n + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* A CA and a serving pair for the runtime's names (service in NS + 127.0.0.1),
 * the serving certificate valid for validity_s. */
static inline void make_pair(struct certs_pair *p, int64_t validity_s) {
    memset(p, 0, sizeof(*p));
    time_t now = time(NULL);
    assert_int_equal(certs_gen_ca("test-ca", now, CERTS_CA_VALIDITY_S, &p->ca_pem,
                                  &p->ca_key_pem, NULL), 0);
    const char *extra[] = {"127.0.0.1"};
    size_t n = 0;
    char **hosts = certs_service_hosts(CERTS_DEFAULT_SERVICE, NS, extra, 1, &n);
    assert_int_equal(certs_gen_serving(p->ca_pem, p->ca_key_pem, (const char *const *)hosts, n,
                                       now, validity_s, &p->cert_pem, &p->key_pem, NULL), 0);
    certs_hosts_free(hosts);
}

/* The Secret holding p as the API server returns it. malloc'd JSON text. */
static inline char *secret_text(const struct certs_pair *p, const char *rv) {
    json_t *s = certs_secret_build(NS, SECRET_NAME, p, rv);
    char *t = json_dumps(s, 0);
    json_decref(s);
    return t;
}

/* A configuration fixture, with caBundle = base64(ca) on every webhook when ca is set.
 * malloc'd JSON text. */
static inline char *config_text(const char *fixture, const char *ca) {
    json_t *c = tu_load(fixture);
    if (ca) {
        char *b = b64(ca);
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(c, "webhooks"), i, h)
            json_object_set_new(json_object_get(h, "clientConfig"), "caBundle", json_string(b));
        free(b);
    }
    char *t = json_dumps(c, 0);
    json_decref(c);
    return t;
}

static inline void expect_text(struct fake_transport *f, const char *method, const char *path,
                        int http, char *body_owned) {
    fake_respond(fake_expect(f, method, path), http, body_owned);
    free(body_owned);
}

/* GET of both configurations, already trusting ca (no write follows). */
static inline void expect_configs_trusting(struct fake_transport *f, const char *ca) {
    expect_text(f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", ca));
    expect_text(f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", ca));
}

/* GET + caBundle PATCH of both configurations (chart-shipped, no caBundle yet). */
static inline void expect_configs_patched(struct fake_transport *f) {
    expect_text(f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", NULL));
    fake_respond(fake_expect(f, "PATCH", MWC_PATH), 200, "{}");
    expect_text(f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", NULL));
    fake_respond(fake_expect(f, "PATCH", VWC_PATH), 200, "{}");
}

static inline void write_file(const char *dir, const char *name, const char *text) {
    char tmp[128], path[128];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(tmp, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, path), 0);
}

/* ---- HTTPS client ------------------------------------------------------------------------- */

struct buf {
    char data[4096];
    size_t len;
};

static inline size_t buf_write(char *p, size_t size, size_t n, void *ud) {
    struct buf *b = ud;
    size_t len = size * n;
    size_t room = sizeof(b->data) - 1 - b->len;
    size_t take = len < room ? len : room;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return len;
}

/* GET or POST (body non-NULL) https://127.0.0.1:port<path>, verifying the server
 * against ca_pem (and 127.0.0.1 as its name). The HTTP status, or -(curl error). */
static inline long https_call(int port, const char *path, const char *ca_pem, const char *body,
                       struct buf *out) {
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
    struct curl_blob blob = {.data = (void *)ca_pem, .len = strlen(ca_pem),
                             .flags = CURL_BLOB_COPY};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    out->len = 0;
    out->data[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    return rc == CURLE_OK ? code : -(long)rc;
}

static inline long healthz(struct fx *x, const char *ca_pem) {
    struct buf b;
    long code = https_call(webhook_runtime_port(x->r), "/healthz", ca_pem, NULL, &b);
    if (code == 200)
        assert_string_equal(b.data, "ok");
    return code;
}

#endif
