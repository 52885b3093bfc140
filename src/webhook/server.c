/* server.c - the admission webhook's HTTPS endpoint (edge): routes the
 * admission paths to the handler on an httpserver.h TLS listener and keeps the
 * served certificate in step with --cert-dir (see server.h). */
#include "webhook/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "webhook/admission.h"
#include "webhook/httpserver.h"

#define LOGGER "webhook"
#define MAX_PEM_FILE (1024 * 1024)

/* The admission paths (the contract with the webhook configurations, certs.h). */
static const char *const ADMISSION_PATHS[] = {
    "/mutate-v1-pod",
    "/validate-tracingmodel",
    "/validate-instrumentation",
    "/validate-workload",
};

struct webhook_server {
    struct http_server *http;
    webhook_handler_fn handler;
    void *handler_ud;
    char *cert_dir;
    pthread_mutex_t lock;      /* guards the fields below (tick thread vs. reload callers) */
    char served_sha[65];       /* sha256 of the served cert || key, "" = from memory */
    char rejected_sha[65];     /* last pair on disk that failed (logged once) */
};

/* ---- routing ------------------------------------------------------------ */

static void error_json(struct http_response *rs, int status, const char *msg) {
    char *body = xasprintf("{\"error\":\"%s\",\"code\":%d}\n", msg, status);
    http_response_take(rs, status, HTTP_CT_JSON, body, strlen(body));
}

static int is_admission_path(const char *path) {
    for (size_t i = 0; i < sizeof(ADMISSION_PATHS) / sizeof(ADMISSION_PATHS[0]); i++)
        if (strcmp(path, ADMISSION_PATHS[i]) == 0)
            return 1;
    return 0;
}

static int json_content_type(const char *ct) {
    static const char want[] = "application/json";
    if (!ct || !*ct)
        return 1;   /* lenient: the API server always sends it */
    if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
        return 0;
    char next = ct[sizeof(want) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

static void route(void *ud, const struct http_request *rq, struct http_response *rs) {
    struct webhook_server *w = ud;
    if (strcmp(rq->path, WEBHOOK_PATH_HEALTHZ) == 0) {
        if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
            error_json(rs, 405, "method not allowed");
        else
            http_response_set(rs, 200, HTTP_CT_TEXT, "ok", 2);
        return;
    }
    if (!is_admission_path(rq->path)) {
        error_json(rs, 404, "not found");
        return;
    }
    if (strcmp(rq->method, "POST") != 0) {
        error_json(rs, 405, "method not allowed");
        return;
    }
    if (!json_content_type(rq->content_type)) {
        error_json(rs, 415, "Content-Type must be application/json");
        return;
    }
    size_t len = 0;
    int status = 200;
    char *out = w->handler(w->handler_ud, rq->path, rq->body, rq->body_len, &len, &status);
    if (!out) {
        log_error(LOGGER, "admission handler failed", "path", rq->path);
        error_json(rs, 500, "internal error");
        return;
    }
    if (status < 100 || status > 599)
        status = 500;
    http_response_take(rs, status, HTTP_CT_JSON, out, len);
}

/* ---- certificates from --cert-dir ----------------------------------------- */

static char *read_pem(const char *dir, const char *name, struct op_status *st) {
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        op_fail(st, OP_EIO, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    char *buf = xmalloc(MAX_PEM_FILE + 1);
    size_t n = fread(buf, 1, MAX_PEM_FILE + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > MAX_PEM_FILE) {
        op_fail(st, err ? OP_EIO : OP_ETOOBIG, "cannot read %s: %s", path,
                err ? "read error" : "larger than 1 MiB");
        free(buf);
        free(path);
        return NULL;
    }
    buf[n] = '\0';
    free(path);
    return buf;
}

static void pair_sha(const char *cert, const char *key, char out[65]) {
    size_t lc = strlen(cert), lk = strlen(key);
    char *both = xmalloc(lc + lk + 1);
    memcpy(both, cert, lc);
    memcpy(both + lc, key, lk + 1);
    sha256_hex(both, lc + lk, out);
    free(both);
}

/* Loads the pair from cert_dir into the listener when it differs from the one
 * served. Caller holds w->lock (after start). */
static int load_dir(struct webhook_server *w, struct op_status *st) {
    char *cert = read_pem(w->cert_dir, "tls.crt", st);
    char *key = cert ? read_pem(w->cert_dir, "tls.key", st) : NULL;
    int rc = 0;
    if (!cert || !key) {
        rc = st ? st->code : OP_EIO;
        goto out;
    }
    char sha[65];
    pair_sha(cert, key, sha);
    if (strcmp(sha, w->served_sha) == 0)
        goto out;
    rc = http_server_set_tls(w->http, 0, cert, key, st);
    if (rc == 0) {
        memcpy(w->served_sha, sha, sizeof(sha));
        w->rejected_sha[0] = '\0';
        log_info(LOGGER, "serving certificate loaded", "dir", w->cert_dir);
    } else if (strcmp(sha, w->rejected_sha) != 0) {
        memcpy(w->rejected_sha, sha, sizeof(sha));
        log_warn(LOGGER, "certificate files not usable, keeping the served pair", "dir",
                 w->cert_dir, "error", st ? st->msg : "");
    }
out:
    free(cert);
    free(key);
    return rc;
}

static void tick(void *ud) {
    struct webhook_server *w = ud;
    struct op_status st = {0};
    pthread_mutex_lock(&w->lock);
    int rc = load_dir(w, &st);
    pthread_mutex_unlock(&w->lock);
    if (rc && rc != OP_EINVALID)   /* unusable pairs were logged by load_dir */
        log_warn(LOGGER, "cannot read the certificate files", "error", st.msg);
}

/* ---- lifecycle ---------------------------------------------------------- */

struct webhook_server *webhook_server_start(const struct webhook_server_opts *opts,
                                            struct op_status *st) {
    if (!opts || !opts->handler) {
        op_fail(st, OP_EINVALID, "webhook server needs a handler");
        return NULL;
    }
    int from_dir = opts->cert_dir && *opts->cert_dir;
    int from_mem = opts->cert_pem || opts->key_pem;
    if (from_dir == from_mem) {
        op_fail(st, OP_EINVALID, "webhook server needs exactly one of --cert-dir or a "
                                 "generated certificate");
        return NULL;
    }
    struct webhook_server *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->handler = opts->handler;
    w->handler_ud = opts->handler_ud;
    char *cert = NULL, *key = NULL;
    if (from_dir) {
        w->cert_dir = xstrdup(opts->cert_dir);
        cert = read_pem(w->cert_dir, "tls.crt", st);
        key = cert ? read_pem(w->cert_dir, "tls.key", st) : NULL;
        if (!cert || !key)
            goto fail;
        pair_sha(cert, key, w->served_sha);
    }
    struct http_listener_opts l = {
        .name = "webhook",
        .bind_address = opts->bind_address ? opts->bind_address : WEBHOOK_DEFAULT_BIND,
        .cert_pem = from_dir ? cert : opts->cert_pem,
        .key_pem = from_dir ? key : opts->key_pem,
        .max_body = opts->max_body,
        .handler = route,
        .ud = w,
    };
    struct http_server_opts ho = {
        .name = LOGGER,
        .listeners = &l,
        .n_listeners = 1,
        .io_timeout_s = opts->io_timeout_s,
        .threads = opts->threads,
        .tick = from_dir ? tick : NULL,
        .tick_ud = w,
        .tick_ms = opts->reload_ms ? opts->reload_ms : WEBHOOK_DEFAULT_RELOAD_MS,
    };
    w->http = http_server_start(&ho, st);
    if (!w->http)
        goto fail;
    free(cert);
    free(key);
    return w;
fail:
    free(cert);
    free(key);
    webhook_server_stop(w);
    return NULL;
}

int webhook_server_port(const struct webhook_server *s) {
    return s ? http_server_port(s->http, 0) : -1;
}

int webhook_server_set_cert(struct webhook_server *s, const char *cert_pem, const char *key_pem,
                            struct op_status *st) {
    if (!s)
        return op_fail(st, OP_EINVALID, "no webhook server");
    pthread_mutex_lock(&s->lock);
    int rc = http_server_set_tls(s->http, 0, cert_pem, key_pem, st);
    if (rc == 0)
        s->served_sha[0] = '\0';
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        log_info(LOGGER, "serving certificate replaced");
    return rc;
}

int webhook_server_reload(struct webhook_server *s, struct op_status *st) {
    if (!s || !s->cert_dir)
        return op_fail(st, OP_EINVALID, "the webhook server does not read a --cert-dir");
    pthread_mutex_lock(&s->lock);
    int rc = load_dir(s, st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void webhook_server_stop(struct webhook_server *s) {
    if (!s)
        return;
    http_server_stop(s->http);
    pthread_mutex_destroy(&s->lock);
    free(s->cert_dir);
    free(s);
}

/* ---- glue to admission.h ---------------------------------------------------- */

char *webhook_admission_handler(void *ud, const char *path, const char *body, size_t len,
                                size_t *ret_len, int *ret_http_status) {
    const struct webhook_admission *a = ud;
    struct admission_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    admission_handle_cached(path, body, len, a->ctx, a->cache, &r);   /* always fills r */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (a->observe) {
        int64_t us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
        a->observe(a->observe_ud, path, &r, us);
    }
    char *out = r.body;
    *ret_len = r.len;
    *ret_http_status = r.http_status ? r.http_status : 500;
    r.body = NULL;
    admission_result_free(&r);
    return out;
}
