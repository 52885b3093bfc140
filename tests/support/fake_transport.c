/* fake_transport.c - scripted request/response pairs behind the kube
 * transport vtable, with request recording (see fake_transport.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_transport.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

enum body_check { BODY_ANY = 0, BODY_NONE, BODY_JSON, BODY_CONTAINS };

struct chunk {
    char *data;
    size_t len;
};

struct fake_exchange {
    char *method, *path;
    enum body_check check;
    char *content_type;
    char *body;               /* JSON text or substring */
    int check_bearer;
    char *bearer;
    int any_times;
    int used;
    /* answer */
    int http;
    struct chunk *chunks;
    size_t nchunks;
    int hold_ms;              /* < 0: no hold */
    int error;                /* OP_E* transport failure, 0 = answer */
    char *error_msg;
};

struct fake_transport {
    struct kube_transport base;   /* first: the vtable pointer */
    pthread_mutex_t lock;
    int unordered;
    struct fake_exchange **ex;
    size_t nex;
    struct fake_request *reqs;
    size_t nreqs;
    struct strbuf problems;       /* descriptions of unexpected or mismatched requests */
};

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* ---------- scripting ---------- */

static int fake_roundtrip(struct kube_transport *t, const struct kube_http_request *req,
                          kube_body_fn sink, void *ud, int *ret_http, struct op_status *st);
static void fake_destroy(struct kube_transport *t) { (void)t; }

static const struct kube_transport_ops fake_ops = {
    .roundtrip = fake_roundtrip,
    .destroy = fake_destroy,
};

struct fake_transport *fake_transport_new(void) {
    struct fake_transport *f = xcalloc(1, sizeof(*f));
    f->base.ops = &fake_ops;
    pthread_mutex_init(&f->lock, NULL);
    strbuf_init(&f->problems, 0);
    return f;
}

void fake_transport_free(struct fake_transport *f) {
    if (!f)
        return;
    for (size_t i = 0; i < f->nex; i++) {
        struct fake_exchange *x = f->ex[i];
        free(x->method);
        free(x->path);
        free(x->content_type);
        free(x->body);
        free(x->bearer);
        for (size_t k = 0; k < x->nchunks; k++)
            free(x->chunks[k].data);
        free(x->chunks);
        free(x->error_msg);
        free(x);
    }
    free(f->ex);
    for (size_t i = 0; i < f->nreqs; i++) {
        struct fake_request *r = &f->reqs[i];
        free(r->method);
        free(r->path);
        free(r->content_type);
        free(r->body);
        free(r->bearer);
    }
    free(f->reqs);
    strbuf_free(&f->problems);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

struct kube_transport *fake_transport_base(struct fake_transport *f) { return &f->base; }

void fake_transport_set_unordered(struct fake_transport *f, int unordered) {
    f->unordered = unordered;
}

struct fake_exchange *fake_expect(struct fake_transport *f, const char *method,
                                  const char *path_query) {
    struct fake_exchange *x = xcalloc(1, sizeof(*x));
    x->method = xstrdup(method);
    x->path = xstrdup(path_query);
    x->http = 200;
    x->hold_ms = -1;
    pthread_mutex_lock(&f->lock);
    f->ex = xrealloc(f->ex, (f->nex + 1) * sizeof(*f->ex));
    f->ex[f->nex++] = x;
    pthread_mutex_unlock(&f->lock);
    return x;
}

void fake_expect_body(struct fake_exchange *x, const char *content_type, const char *json_text) {
    x->check = BODY_JSON;
    free(x->content_type);
    free(x->body);
    x->content_type = dup_or_null(content_type);
    x->body = xstrdup(json_text);
}

void fake_expect_body_contains(struct fake_exchange *x, const char *content_type,
                               const char *substr) {
    x->check = BODY_CONTAINS;
    free(x->content_type);
    free(x->body);
    x->content_type = dup_or_null(content_type);
    x->body = xstrdup(substr);
}

void fake_expect_no_body(struct fake_exchange *x) { x->check = BODY_NONE; }

void fake_expect_bearer(struct fake_exchange *x, const char *token) {
    x->check_bearer = 1;
    free(x->bearer);
    x->bearer = dup_or_null(token);
}

void fake_expect_any_times(struct fake_exchange *x) { x->any_times = 1; }

void fake_respond(struct fake_exchange *x, int http, const char *body) {
    x->http = http;
    if (body && *body)
        fake_respond_chunk(x, body, strlen(body));
}

void fake_respond_chunk(struct fake_exchange *x, const char *data, size_t len) {
    x->chunks = xrealloc(x->chunks, (x->nchunks + 1) * sizeof(*x->chunks));
    char *d = xmalloc(len + 1);
    memcpy(d, data, len);
    d[len] = '\0';
    x->chunks[x->nchunks].data = d;
    x->chunks[x->nchunks].len = len;
    x->nchunks++;
}

void fake_respond_status(struct fake_exchange *x, int http) { x->http = http; }
void fake_respond_hold(struct fake_exchange *x, int max_ms) { x->hold_ms = max_ms; }

void fake_respond_error(struct fake_exchange *x, int code, const char *msg) {
    x->error = code;
    free(x->error_msg);
    x->error_msg = xstrdup(msg ? msg : "fake transport error");
}

/* ---------- matching ---------- */

static int streq(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* NULL when req satisfies x's body/content-type/bearer checks, else why not (static text). */
static const char *mismatch(const struct fake_exchange *x, const struct kube_http_request *req) {
    if (x->check_bearer && !streq(x->bearer, req->bearer_token))
        return x->bearer ? "bearer token differs" : "a bearer token was sent";
    switch (x->check) {
    case BODY_ANY:
        return NULL;
    case BODY_NONE:
        return req->body || req->content_type ? "a body was sent" : NULL;
    case BODY_CONTAINS:
    case BODY_JSON:
        if (!streq(x->content_type, req->content_type))
            return "content type differs";
        if (!req->body)
            return "no body was sent";
        break;
    }
    if (x->check == BODY_CONTAINS) {
        char *b = xmalloc(req->body_len + 1);
        memcpy(b, req->body, req->body_len);
        b[req->body_len] = '\0';
        int ok = strstr(b, x->body) != NULL;
        free(b);
        return ok ? NULL : "body does not contain the expected text";
    }
    json_t *want = json_loads(x->body, JSON_DECODE_ANY, NULL);
    json_t *got = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL);
    int eq = want && got && json_equal(want, got);
    json_decref(want);
    json_decref(got);
    if (!want)
        return "the expected body in the test is not valid JSON";
    return eq ? NULL : "body differs (as JSON)";
}

static void record(struct fake_transport *f, const struct kube_http_request *req, int matched) {
    f->reqs = xrealloc(f->reqs, (f->nreqs + 1) * sizeof(*f->reqs));
    struct fake_request *r = &f->reqs[f->nreqs++];
    memset(r, 0, sizeof(*r));
    r->method = xstrdup(req->method);
    r->path = xstrdup(req->path);
    r->content_type = dup_or_null(req->content_type);
    if (req->body) {
        r->body = xmalloc(req->body_len + 1);
        memcpy(r->body, req->body, req->body_len);
        r->body[req->body_len] = '\0';
        r->body_len = req->body_len;
    }
    r->bearer = dup_or_null(req->bearer_token);
    r->stream = req->stream;
    r->matched = matched;
}

static void problem(struct fake_transport *f, const struct kube_http_request *req,
                    const struct fake_exchange *x, const char *why) {
    strbuf_printf(&f->problems, "request #%zu %s %s: %s", f->nreqs, req->method, req->path, why);
    if (x)
        strbuf_printf(&f->problems, " (expected %s %s", x->method, x->path);
    if (x && (x->check == BODY_JSON || x->check == BODY_CONTAINS))
        strbuf_printf(&f->problems, ", %s %s", x->content_type ? x->content_type : "(none)",
                      x->body);
    if (x)
        strbuf_puts(&f->problems, ")");
    if (req->body)
        strbuf_printf(&f->problems, "; sent %s %.*s", req->content_type ? req->content_type : "",
                      (int)(req->body_len > 2000 ? 2000 : req->body_len), req->body);
    strbuf_puts(&f->problems, "\n");
}

/* Under the lock: the exchange for req, or NULL (problem recorded). */
static struct fake_exchange *match(struct fake_transport *f, const struct kube_http_request *req) {
    struct fake_exchange *cand = NULL;
    for (size_t i = 0; i < f->nex; i++) {
        struct fake_exchange *x = f->ex[i];
        if (x->used && !x->any_times)
            continue;
        if (streq(x->method, req->method) && streq(x->path, req->path)) {
            cand = x;
            break;
        }
        if (!f->unordered && !x->any_times) {
            problem(f, req, x, "method or path differs from the next expected request");
            return NULL;
        }
    }
    if (!cand) {
        problem(f, req, NULL, "no expectation for this request");
        return NULL;
    }
    const char *why = mismatch(cand, req);
    if (why) {
        problem(f, req, cand, why);
        cand->used = 1;   /* consumed: a retry does not hide the failure */
        return NULL;
    }
    cand->used = 1;
    return cand;
}

/* ---------- the transport ---------- */

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int stopped(const struct kube_http_request *req) {
    return req->stop && atomic_load(req->stop);
}

static int fake_roundtrip(struct kube_transport *t, const struct kube_http_request *req,
                          kube_body_fn sink, void *ud, int *ret_http, struct op_status *st) {
    struct fake_transport *f = (struct fake_transport *)t;
    *ret_http = 0;
    pthread_mutex_lock(&f->lock);
    struct fake_exchange *x = match(f, req);
    record(f, req, x != NULL);
    pthread_mutex_unlock(&f->lock);
    if (!x)
        return op_fail(st, OP_ETRANSPORT, "fake transport: unexpected request %s %s",
                       req->method, req->path);
    if (x->error)
        return op_fail(st, x->error, "%s", x->error_msg);
    /* the exchange is immutable once scripted: deliver without the lock */
    *ret_http = x->http;
    for (size_t i = 0; i < x->nchunks; i++) {
        if (stopped(req))
            return KUBE_TRANSPORT_STOPPED;
        if (sink(ud, x->http, x->chunks[i].data, x->chunks[i].len))
            return KUBE_TRANSPORT_STOPPED;
    }
    if (x->hold_ms >= 0) {
        for (int waited = 0; waited < x->hold_ms; waited++) {
            if (stopped(req))
                return KUBE_TRANSPORT_STOPPED;
            sleep_ms(1);
        }
        if (stopped(req))
            return KUBE_TRANSPORT_STOPPED;
        return op_fail(st, OP_ETIMEOUT, "fake transport: stream held for %d ms without stop",
                       x->hold_ms);
    }
    return 0;
}

/* ---------- assertions ---------- */

size_t fake_request_count(struct fake_transport *f) {
    pthread_mutex_lock(&f->lock);
    size_t n = f->nreqs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const struct fake_request *fake_request_at(struct fake_transport *f, size_t i) {
    pthread_mutex_lock(&f->lock);
    const struct fake_request *r = i < f->nreqs ? &f->reqs[i] : NULL;
    pthread_mutex_unlock(&f->lock);
    return r;
}

int fake_transport_check(struct fake_transport *f, char *buf, size_t n) {
    struct strbuf b;
    strbuf_init(&b, 0);
    pthread_mutex_lock(&f->lock);
    if (f->problems.len)
        strbuf_puts(&b, f->problems.buf);
    for (size_t i = 0; i < f->nex; i++)
        if (!f->ex[i]->used && !f->ex[i]->any_times)
            strbuf_printf(&b, "expected request never came: %s %s\n", f->ex[i]->method,
                          f->ex[i]->path);
    pthread_mutex_unlock(&f->lock);
    int rc = b.len ? -1 : 0;
    if (buf && n)
        snprintf(buf, n, "%s", b.len ? b.buf : "");
    strbuf_free(&b);
    return rc;
}

void fake_transport_assert_done(struct fake_transport *f) {
    char buf[8192];
    if (fake_transport_check(f, buf, sizeof(buf)) < 0)
        fail_msg("fake transport:\n%s", buf);
}
