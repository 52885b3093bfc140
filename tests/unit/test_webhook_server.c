/* test_webhook_server.c - the webhook's HTTPS server end to end on 127.0.0.1:
 * routing, keep-alive, the body cap, TLS versions, plain HTTP on the TLS port,
 * concurrency, slow and half-open clients, and certificate reload without a
 * restart. Certificates come from certs.h; clients are libcurl and a raw
 * OpenSSL client where curl cannot misbehave on purpose.
 * Under valgrind (OP_UNDER_VALGRIND set, 20-50x slower) every time limit here,
 * the client's and the server's I/O timeout, is multiplied by SLOW and
 * test_concurrent runs fewer clients: the same assertions, looser clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "webhook/certs.h"
#include "webhook/server.h"

/* ---- fixture: a CA, a serving pair on disk, a running server -------------- */

struct fx {
    char dir[64];
    char *ca_cert, *ca_key;
    char *cert, *key;
    struct webhook_server *srv;
    int port;
    atomic_int calls;
};

static const char *const HOSTS[] = {"localhost", "127.0.0.1"};

/* 20 under valgrind, else 1: the factor for every time limit below. */
static int slow(void) {
    const char *v = getenv("OP_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0 ? 20 : 1;
}
#define SLOW slow()

/* A server's io_timeout_s: s (0 = the server's default, 10 s) scaled by SLOW;
 * without valgrind exactly what the test asked for. */
static unsigned io_timeout(unsigned s) {
    if (SLOW == 1)
        return s;
    return (s ? s : 10) * (unsigned)SLOW;
}

static void gen_pair(struct fx *f, char **cert, char **key) {
    struct op_status st = {0};
    assert_int_equal(certs_gen_serving(f->ca_cert, f->ca_key, HOSTS, 2, time(NULL), 86400, cert,
                                       key, &st), 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char tmp[128], path[128];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(tmp, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, path), 0);   /* atomic, like a Secret volume update */
}

static char *handler(void *ud, const char *path, const char *body, size_t len, size_t *ret_len,
                     int *status) {
    struct fx *f = ud;
    atomic_fetch_add(&f->calls, 1);
    if (len == 4 && memcmp(body, "FAIL", 4) == 0)
        return NULL;
    if (len > 7 && memcmp(body, "STATUS=", 7) == 0)
        *status = atoi(body + 7);
    char *out = NULL;
    int n = asprintf(&out, "{\"path\":\"%s\",\"len\":%zu}", path, len);
    assert_true(n > 0);
    *ret_len = (size_t)n;
    return out;
}

static void start(struct fx *f, unsigned io_timeout_s) {
    struct webhook_server_opts o = {
        .bind_address = "127.0.0.1:0",
        .cert_dir = f->dir,
        .reload_ms = 100,
        .io_timeout_s = io_timeout(io_timeout_s),
        .handler = handler,
        .handler_ud = f,
    };
    struct op_status st = {0};
    f->srv = webhook_server_start(&o, &st);
    if (!f->srv)
        fail_msg("start: %s", st.msg);
    f->port = webhook_server_port(f->srv);
    if (f->port <= 0) {   /* a failed setup gets no teardown: stop it here */
        webhook_server_stop(f->srv);
        f->srv = NULL;
        fail_msg("start: no port");
    }
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/op-webhook-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(certs_gen_ca("test-ca", time(NULL), 86400 * 30, &f->ca_cert, &f->ca_key,
                                  NULL), 0);
    gen_pair(f, &f->cert, &f->key);
    write_file(f->dir, "tls.crt", f->cert);
    write_file(f->dir, "tls.key", f->key);
    start(f, 2);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    webhook_server_stop(f->srv);
    char path[128];
    snprintf(path, sizeof(path), "%s/tls.crt", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/tls.key", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f->ca_cert);
    free(f->ca_key);
    free(f->cert);
    free(f->key);
    free(f);
    return 0;
}

/* ---- curl client -------------------------------------------------------------- */

struct resp {
    long status;
    char body[4096];
    size_t len;
    char ctype[128];
    long connects;
    CURLcode rc;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud) {
    struct resp *r = ud;
    size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

static CURL *client(struct fx *f) {
    CURL *c = curl_easy_init();
    struct curl_blob ca = {.data = f->ca_cert, .len = strlen(f->ca_cert),
                           .flags = CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 8000L * SLOW);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    return c;
}

/* method NULL = GET; body != NULL = POST with that body. */
static struct resp request(CURL *c, struct fx *f, const char *method, const char *path,
                           const char *body, size_t len, const char *ctype, int expect) {
    struct resp r = {0};
    char url[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    struct curl_slist *h = NULL;
    char ct[160];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    h = curl_slist_append(h, ct);
    if (!expect)
        h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 3000L * SLOW);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.connects);
    char *ctv = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctv);
    snprintf(r.ctype, sizeof(r.ctype), "%s", ctv ? ctv : "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_slist_free_all(h);
    return r;
}

static struct resp post(struct fx *f, const char *path, const char *body) {
    CURL *c = client(f);
    struct resp r = request(c, f, NULL, path, body, strlen(body), NULL, 0);
    curl_easy_cleanup(c);
    return r;
}

static void assert_serves(struct fx *f) {
    struct resp r = post(f, "/mutate-v1-pod", "{}");
    if (r.rc != CURLE_OK)
        fail_msg("request failed: %s", curl_easy_strerror(r.rc));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"path\":\"/mutate-v1-pod\",\"len\":2}");
}

/* ---- raw clients ---------------------------------------------------------------- */

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Waits up to ms for the peer to close fd; returns 1 when it did. */
static int closed_within(int fd, int ms) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return 0;
        if (poll(&p, 1, left) <= 0)
            continue;
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return 1;
    }
}

struct tls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Handshakes with TLS versions [minv, maxv]; 0 on success. On failure the
 * OpenSSL reason goes to why. */
static int tls_open(struct tls *t, struct fx *f, int minv, int maxv, char *why, size_t n) {
    memset(t, 0, sizeof(*t));
    t->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(t->ctx, 0);   /* let the client offer old versions */
    SSL_CTX_set_cipher_list(t->ctx, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(t->ctx, minv);
    SSL_CTX_set_max_proto_version(t->ctx, maxv);
    BIO *b = BIO_new_mem_buf(f->ca_cert, -1);
    X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(t->ctx), ca);
    X509_free(ca);
    BIO_free(b);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->fd = tcp_connect(f->port);
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set1_host(t->ssl, "127.0.0.1");
    int rc = SSL_connect(t->ssl) == 1 ? 0 : -1;
    if (rc && why) {
        unsigned long e = ERR_get_error();
        ERR_error_string_n(e, why, n);
    }
    ERR_clear_error();
    return rc;
}

static void tls_close(struct tls *t) {
    if (t->ssl)
        SSL_free(t->ssl);
    if (t->fd > 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    memset(t, 0, sizeof(*t));
}

static void tls_serial(struct tls *t, char out[80]) {
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    assert_non_null(peer);
    char *pem = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, peer);
    long n = BIO_get_mem_data(b, &pem);
    char *copy = strndup(pem, (size_t)n);
    assert_int_equal(certs_serial_hex(copy, out, 80, NULL), 0);
    free(copy);
    BIO_free(b);
    X509_free(peer);
}

/* Sends raw request text, reads one response (headers + Content-Length body). */
static int tls_exchange(struct tls *t, const char *req, char *out, size_t n) {
    if (SSL_write(t->ssl, req, (int)strlen(req)) <= 0)
        return -1;
    size_t got = 0;
    out[0] = '\0';
    for (;;) {
        int k = SSL_read(t->ssl, out + got, (int)(n - 1 - got));
        if (k <= 0)
            break;
        got += (size_t)k;
        out[got] = '\0';
        char *hend = strstr(out, "\r\n\r\n");
        char *cl = strcasestr(out, "content-length:");
        if (hend && cl && got >= (size_t)(hend + 4 - out) + (size_t)atol(cl + 15))
            break;
    }
    return got ? 0 : -1;
}

static int server_cert_serial(struct fx *f, char out[80]) {
    struct tls t;
    if (tls_open(&t, f, TLS1_2_VERSION, TLS1_3_VERSION, NULL, 0)) {
        tls_close(&t);
        return -1;
    }
    tls_serial(&t, out);
    tls_close(&t);
    return 0;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_routes(void **state) {
    struct fx *f = *state;
    const char *review = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}";
    const char *paths[] = {"/mutate-v1-pod", "/validate-tracingmodel",
                           "/validate-instrumentation"};
    for (size_t i = 0; i < 3; i++) {
        struct resp r = post(f, paths[i], review);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        char want[128];
        snprintf(want, sizeof(want), "{\"path\":\"%s\",\"len\":%zu}", paths[i], strlen(review));
        assert_string_equal(r.body, want);
        assert_string_equal(r.ctype, "application/json");
    }
    /* the API server appends ?timeout=5s: the handler sees the bare path */
    struct resp r = post(f, "/validate-tracingmodel?timeout=5s", "{}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"path\":\"/validate-tracingmodel\",\"len\":2}");

    CURL *c = client(f);
    r = request(c, f, NULL, "/healthz", NULL, 0, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    r = request(c, f, NULL, "/nope", NULL, 0, NULL, 0);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"code\":404"));
    r = request(c, f, "POST", "/nope", "{}", 2, NULL, 0);
    assert_int_equal(r.status, 404);
    r = request(c, f, NULL, "/mutate-v1-pod", NULL, 0, NULL, 0);
    assert_int_equal(r.status, 405);
    r = request(c, f, "PUT", "/mutate-v1-pod", "{}", 2, NULL, 0);
    assert_int_equal(r.status, 405);
    r = request(c, f, "POST", "/healthz", "{}", 2, NULL, 0);
    assert_int_equal(r.status, 405);
    r = request(c, f, NULL, "/mutate-v1-pod", "{}", 2, "text/plain", 0);
    assert_int_equal(r.status, 415);
    r = request(c, f, NULL, "/mutate-v1-pod", "{}", 2, "application/json; charset=utf-8", 0);
    assert_int_equal(r.status, 200);
    /* the handler's own status, and a handler failure */
    r = request(c, f, NULL, "/mutate-v1-pod", "STATUS=422", 10, NULL, 0);
    assert_int_equal(r.status, 422);
    r = request(c, f, NULL, "/mutate-v1-pod", "FAIL", 4, NULL, 0);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "internal error"));
    /* an empty body still reaches the handler (which answers it) */
    r = request(c, f, NULL, "/mutate-v1-pod", "", 0, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"path\":\"/mutate-v1-pod\",\"len\":0}");
    curl_easy_cleanup(c);
}

static void test_keepalive(void **state) {
    struct fx *f = *state;
    CURL *c = client(f);
    for (int i = 0; i < 4; i++) {
        struct resp r = request(c, f, NULL, "/mutate-v1-pod", "{}", 2, NULL, 0);
        assert_int_equal(r.status, 200);
        /* one connection for the first request, reused afterwards */
        assert_int_equal(r.connects, i == 0 ? 1 : 0);
    }
    struct resp r = request(c, f, NULL, "/healthz", NULL, 0, NULL, 0);
    assert_int_equal(r.connects, 0);
    curl_easy_cleanup(c);
}

static void test_body_cap(void **state) {
    struct fx *f = *state;
    size_t big = 4u * 1024 * 1024;
    char *body = malloc(big);
    memset(body, 'x', big);
    CURL *c = client(f);
    int before = atomic_load(&f->calls);

    /* read and dropped, then 413 with a JSON error */
    struct resp r = request(c, f, NULL, "/mutate-v1-pod", body, big, NULL, 0);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.ctype, "application/json");
    assert_non_null(strstr(r.body, "\"code\":413"));
    /* with Expect: 100-continue the answer comes before the body */
    r = request(c, f, NULL, "/mutate-v1-pod", body, big, NULL, 1);
    assert_int_equal(r.status, 413);
    assert_int_equal(atomic_load(&f->calls), before);   /* the handler never saw them */

    /* exactly the cap is fine */
    size_t cap = 3u * 1024 * 1024;
    r = request(c, f, NULL, "/mutate-v1-pod", body, cap, NULL, 0);
    assert_int_equal(r.status, 200);
    char want[64];
    snprintf(want, sizeof(want), "{\"path\":\"/mutate-v1-pod\",\"len\":%zu}", cap);
    assert_string_equal(r.body, want);
    r = request(c, f, NULL, "/mutate-v1-pod", body, cap + 1, NULL, 0);
    assert_int_equal(r.status, 413);

    /* far over the cap: refused at once (the client may see a reset instead) */
    size_t huge = 16u * 1024 * 1024;
    char *hb = malloc(huge);
    memset(hb, 'y', huge);
    r = request(c, f, NULL, "/mutate-v1-pod", hb, huge, NULL, 0);
    assert_true(r.rc != CURLE_OK || r.status == 413);
    free(hb);
    curl_easy_cleanup(c);
    free(body);
    assert_serves(f);
}

static void test_tls_versions(void **state) {
    struct fx *f = *state;
    struct tls t;
    char why[256] = "";
    /* TLS 1.1 and 1.0 are refused by the server ... */
    assert_int_equal(tls_open(&t, f, TLS1_1_VERSION, TLS1_1_VERSION, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "protocol version"));
    tls_close(&t);
    assert_int_equal(tls_open(&t, f, TLS1_VERSION, TLS1_VERSION, why, sizeof(why)), -1);
    tls_close(&t);
    /* ... while the same client gets in with 1.2 and 1.3 */
    assert_int_equal(tls_open(&t, f, TLS1_1_VERSION, TLS1_2_VERSION, why, sizeof(why)), 0);
    assert_int_equal(SSL_version(t.ssl), TLS1_2_VERSION);
    char out[1024];
    assert_int_equal(tls_exchange(&t, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out,
                                  sizeof(out)), 0);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    tls_close(&t);
    assert_int_equal(tls_open(&t, f, TLS1_3_VERSION, TLS1_3_VERSION, why, sizeof(why)), 0);
    assert_int_equal(SSL_version(t.ssl), TLS1_3_VERSION);
    tls_close(&t);
    assert_serves(f);
}

static void test_plain_http_on_tls_port(void **state) {
    struct fx *f = *state;
    int fd = tcp_connect(f->port);
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    char buf[256] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000 * SLOW) > 0) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0)
            buf[n] = '\0';
    }
    assert_null(strstr(buf, "HTTP/1.1 200"));
    assert_int_equal(closed_within(fd, 5000 * SLOW), 1);
    close(fd);
    assert_serves(f);
}

static void test_malformed_requests(void **state) {
    struct fx *f = *state;
    struct {
        const char *req;
        const char *want;
    } rows[] = {
        {"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", " 400 "},
        {"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", " 400 "},
        {"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\n\r\n", " 411 "},
        {"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\n{}\r\n0\r\n\r\n", " 411 "},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct tls t;
        assert_int_equal(tls_open(&t, f, TLS1_2_VERSION, TLS1_3_VERSION, NULL, 0), 0);
        char out[2048];
        assert_int_equal(tls_exchange(&t, rows[i].req, out, sizeof(out)), 0);
        if (!strstr(out, rows[i].want))
            fail_msg("request %zu: want%s, got %s", i, rows[i].want, out);
        assert_non_null(strcasestr(out, "connection: close"));
        tls_close(&t);
    }
    assert_serves(f);
}

struct worker {
    struct fx *f;
    int requests;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    CURL *c = client(w->f);
    for (int i = 0; i < w->requests; i++) {
        char body[64];
        int n = snprintf(body, sizeof(body), "{\"i\":%d}", i);
        struct resp r = request(c, w->f, NULL, "/mutate-v1-pod", body, (size_t)n, NULL, 0);
        char want[64];
        snprintf(want, sizeof(want), "{\"path\":\"/mutate-v1-pod\",\"len\":%d}", n);
        if (r.status == 200 && strcmp(r.body, want) == 0)
            w->ok++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* 10 clients x 5 requests each (4 x 3 under valgrind, which runs one thread
 * at a time anyway): every request answered, each exactly once. */
static void test_concurrent(void **state) {
    struct fx *f = *state;
    int n = SLOW == 1 ? 10 : 4, per = SLOW == 1 ? 5 : 3;
    pthread_t th[10];
    struct worker w[10];
    int before = atomic_load(&f->calls);
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){.f = f, .requests = per};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    assert_int_equal(ok, n * per);
    assert_int_equal(atomic_load(&f->calls) - before, n * per);
}

/* Stalled clients are dropped after the I/O timeout and do not hold up the
 * others meanwhile: those are served well within it. */
static void test_slow_client(void **state) {
    struct fx *f = *state;   /* io timeout 2 s (x SLOW) */
    /* 1: half a body, then nothing */
    struct tls t;
    assert_int_equal(tls_open(&t, f, TLS1_2_VERSION, TLS1_3_VERSION, NULL, 0), 0);
    const char half[] = "POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\n"
                        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":";
    assert_true(SSL_write(t.ssl, half, sizeof(half) - 1) > 0);
    /* 2: a truncated TLS handshake: the first bytes of a ClientHello */
    int trunc = tcp_connect(f->port);
    assert_int_equal(send(trunc, "\x16\x03\x01\x02", 4, 0), 4);
    /* 3: a connection that says nothing at all */
    int mute = tcp_connect(f->port);

    /* meanwhile other clients are served at once */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_serves(f);
    assert_serves(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 2000L * SLOW);   /* less than the I/O timeout the stalled ones wait out */

    /* and the three are dropped after the timeout */
    assert_int_equal(closed_within(t.fd, 8000 * SLOW), 1);
    assert_int_equal(closed_within(trunc, 8000 * SLOW), 1);
    assert_int_equal(closed_within(mute, 8000 * SLOW), 1);
    tls_close(&t);
    close(trunc);
    close(mute);
    assert_serves(f);
}

static void test_cert_reload(void **state) {
    struct fx *f = *state;
    char s_old[80], s_new[80], s_conn[80];
    assert_int_equal(certs_serial_hex(f->cert, s_old, sizeof(s_old), NULL), 0);

    /* a keep-alive connection opened before the change */
    struct tls keep;
    assert_int_equal(tls_open(&keep, f, TLS1_2_VERSION, TLS1_3_VERSION, NULL, 0), 0);
    tls_serial(&keep, s_conn);
    assert_string_equal(s_conn, s_old);
    char out[2048];
    assert_int_equal(tls_exchange(&keep, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out,
                                  sizeof(out)), 0);
    assert_non_null(strstr(out, " 200 "));

    /* the issuer writes a new pair (same CA) */
    char *cert2 = NULL, *key2 = NULL;
    gen_pair(f, &cert2, &key2);
    assert_int_equal(certs_serial_hex(cert2, s_new, sizeof(s_new), NULL), 0);
    write_file(f->dir, "tls.key", key2);
    write_file(f->dir, "tls.crt", cert2);

    /* the periodic look (100 ms here) picks it up: new handshakes see it */
    char seen[80] = "";
    for (int i = 0; i < 50 * SLOW && strcmp(seen, s_new) != 0; i++) {
        usleep(100 * 1000);
        assert_int_equal(server_cert_serial(f, seen), 0);
    }
    assert_string_equal(seen, s_new);
    assert_serves(f);   /* curl verifies the new certificate against the CA */

    /* the old connection was not dropped and still works */
    assert_int_equal(tls_exchange(&keep, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out,
                                  sizeof(out)), 0);
    assert_non_null(strstr(out, " 200 "));
    tls_close(&keep);

    /* a half-written pair (new certificate, old key) is not served */
    char *cert3 = NULL, *key3 = NULL;
    gen_pair(f, &cert3, &key3);
    write_file(f->dir, "tls.crt", cert3);
    struct op_status st = {0};
    assert_int_equal(webhook_server_reload(f->srv, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "does not match"));
    assert_int_equal(server_cert_serial(f, seen), 0);
    assert_string_equal(seen, s_new);
    /* ... until the key arrives too */
    write_file(f->dir, "tls.key", key3);
    assert_int_equal(webhook_server_reload(f->srv, &st), 0);
    char s3[80];
    assert_int_equal(certs_serial_hex(cert3, s3, sizeof(s3), NULL), 0);
    assert_int_equal(server_cert_serial(f, seen), 0);
    assert_string_equal(seen, s3);
    free(cert2);
    free(key2);
    free(cert3);
    free(key3);
}

static void test_memory_pair(void **state) {
    struct fx *f = *state;
    webhook_server_stop(f->srv);
    f->srv = NULL;   /* the teardown stops whichever server runs when a check fails */
    struct webhook_server_opts o = {.bind_address = "127.0.0.1:0", .cert_pem = f->cert,
                                    .key_pem = f->key, .io_timeout_s = io_timeout(0),
                                    .handler = handler, .handler_ud = f};
    struct op_status st = {0};
    f->srv = webhook_server_start(&o, &st);
    assert_non_null(f->srv);
    f->port = webhook_server_port(f->srv);
    assert_serves(f);
    char *cert2 = NULL, *key2 = NULL;
    gen_pair(f, &cert2, &key2);
    /* a mismatched pair is refused and changes nothing */
    assert_int_equal(webhook_server_set_cert(f->srv, cert2, f->key, &st), OP_EINVALID);
    assert_int_equal(webhook_server_set_cert(f->srv, "junk", "junk", &st), OP_EINVALID);
    assert_int_equal(webhook_server_reload(f->srv, &st), OP_EINVALID);   /* no cert dir */
    assert_int_equal(webhook_server_set_cert(f->srv, cert2, key2, &st), 0);
    char want[80], seen[80];
    assert_int_equal(certs_serial_hex(cert2, want, sizeof(want), NULL), 0);
    assert_int_equal(server_cert_serial(f, seen), 0);
    assert_string_equal(seen, want);
    assert_serves(f);
    free(cert2);
    free(key2);
}

static void test_start_errors(void **state) {
    struct fx *f = *state;
    struct op_status st = {0};
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    struct webhook_server_opts o = {.bind_address = addr, .cert_pem = f->cert,
                                    .key_pem = f->key, .handler = handler, .handler_ud = f};
    /* the port is taken by the fixture's server */
    assert_null(webhook_server_start(&o, &st));
    assert_int_equal(st.code, OP_EIO);
    const char *bad_addrs[] = {"nonsense", "localhost:9443", "127.0.0.1:99999", "127.0.0.1:",
                               "[::1]9443", ":x"};
    for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
        o.bind_address = bad_addrs[i];
        memset(&st, 0, sizeof(st));
        assert_null(webhook_server_start(&o, &st));
        assert_int_equal(st.code, OP_EINVALID);
        assert_non_null(strstr(st.msg, bad_addrs[i]));
    }
    o.bind_address = "127.0.0.1:0";
    /* mismatched or unparsable pairs */
    char *cert2 = NULL, *key2 = NULL;
    gen_pair(f, &cert2, &key2);
    o.key_pem = key2;
    assert_null(webhook_server_start(&o, &st));
    assert_int_equal(st.code, OP_EINVALID);
    /* an encrypted key is refused, never prompted for */
    BIO *b = BIO_new_mem_buf(f->key, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL, NULL);
    char *enc = NULL;
    long n = BIO_get_mem_data(b, &enc);
    char *enc_key = strndup(enc, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    o.key_pem = enc_key;
    assert_null(webhook_server_start(&o, &st));
    assert_int_equal(st.code, OP_EINVALID);
    free(enc_key);
    /* missing files, both sources, no source, no handler */
    struct webhook_server_opts d = {.bind_address = "127.0.0.1:0", .cert_dir = "/nonexistent",
                                    .handler = handler};
    assert_null(webhook_server_start(&d, &st));
    assert_int_equal(st.code, OP_EIO);
    assert_non_null(strstr(st.msg, "/nonexistent/tls.crt"));
    d.cert_pem = f->cert;
    d.key_pem = f->key;
    assert_null(webhook_server_start(&d, &st));
    assert_int_equal(st.code, OP_EINVALID);
    d.cert_dir = NULL;
    d.handler = NULL;
    assert_null(webhook_server_start(&d, &st));
    assert_int_equal(st.code, OP_EINVALID);
    free(cert2);
    free(key2);
    assert_serves(f);
}

/* An issuer's RSA chain (leaf + intermediate in tls.crt) from --cert-dir. */
static void test_rsa_chain_from_cert_dir(void **state) {
    struct fx *f = *state;
    webhook_server_stop(f->srv);
    f->srv = NULL;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/tests/fixtures/certs/chain",
             getenv("OP_SOURCE_DIR") ? getenv("OP_SOURCE_DIR") : ".");
    struct webhook_server_opts o = {.bind_address = "127.0.0.1:0", .cert_dir = dir,
                                    .io_timeout_s = io_timeout(0), .handler = handler,
                                    .handler_ud = f};
    struct op_status st = {0};
    f->srv = webhook_server_start(&o, &st);
    if (!f->srv)
        fail_msg("start: %s", st.msg);
    f->port = webhook_server_port(f->srv);
    /* clients trust only the root: the server must send the intermediate */
    char path[600];
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char root[4096];
    size_t n = fread(root, 1, sizeof(root) - 1, fp);
    root[n] = '\0';
    fclose(fp);
    free(f->ca_cert);
    f->ca_cert = strdup(root);
    assert_serves(f);
    struct tls t;
    assert_int_equal(tls_open(&t, f, TLS1_2_VERSION, TLS1_2_VERSION, NULL, 0), 0);
    assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(t.ssl)), 2);
    tls_close(&t);
}

int main(void) {
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_http_on_tls_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_chain_from_cert_dir, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
