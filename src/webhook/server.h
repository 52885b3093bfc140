/* server.h - the admission webhook's HTTPS endpoint (edge): TLS 1.2/1.3 on
 * httpserver.h, the admission paths, /healthz, and certificates that are
 * replaced without a restart.
 *
 * Routes:
 *   POST /mutate-v1-pod, /validate-tracingmodel, /validate-instrumentation
 *        -> handler(path, body) -> its bytes as application/json (status from the
 *           handler, 200 by default; a NULL answer is a 500 with a JSON error).
 *           A Content-Type other than application/json: 415.
 *   GET  /healthz -> 200 "ok"
 *   any other path -> 404; a known path with the wrong method -> 405.
 *   Body over max_body -> 413 (JSON error), connection closed.
 * The query string (the API server adds ?timeout=5s) is ignored.
 *
 * Certificates, exactly one source:
 *   cert_dir            <cert_dir>/tls.crt and tls.key (cert-manager, any issuer);
 *                       re-read every reload_ms, a changed pair is served to every
 *                       new handshake while open connections continue. A half
 *                       written pair (key does not match) is ignored until the
 *                       next look.
 *   cert_pem + key_pem  in memory (self-signed mode, see certs.h); replace with
 *                       webhook_server_set_cert() after a rotation. */
#ifndef OP_WEBHOOK_SERVER_H
#define OP_WEBHOOK_SERVER_H
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define WEBHOOK_DEFAULT_BIND ":9443"
#define WEBHOOK_DEFAULT_RELOAD_MS 5000u
#define WEBHOOK_DEFAULT_THREADS 2u
#define WEBHOOK_MAX_THREADS 16u
#define WEBHOOK_PATH_HEALTHZ "/healthz"

/* Answers one admission request. Runs on a server thread (several at once when
 * threads > 1): pure, fast and thread-safe.
 * Returns a malloc'd body (the server frees it) and its length in *ret_len;
 * *ret_http_status is preset to 200. NULL = internal error (500). */
typedef char *(*webhook_handler_fn)(void *ud, const char *path, const char *body, size_t len,
                                    size_t *ret_len, int *ret_http_status);

struct webhook_server_opts {
    const char *bind_address;  /* --webhook-bind-address; NULL = WEBHOOK_DEFAULT_BIND */
    const char *cert_dir;      /* --cert-dir */
    const char *cert_pem;      /* or the pair in memory (copied) */
    const char *key_pem;
    unsigned reload_ms;        /* how often cert_dir is looked at; 0 = default */
    size_t max_body;           /* 0 = 3 MiB */
    unsigned io_timeout_s;     /* stalled clients are dropped after this; 0 = 10 s */
    unsigned threads;          /* service threads (SO_REUSEPORT); 0 = 1 */
    webhook_handler_fn handler;
    void *handler_ud;
};

struct webhook_server;

/* Loads the certificate, binds and starts serving on its own thread. NULL with
 * st filled when the address cannot be bound or the pair is unusable. */
struct webhook_server *webhook_server_start(const struct webhook_server_opts *opts,
                                            struct op_status *st);

/* The bound TCP port (after ":0" in tests), or -1. */
int webhook_server_port(const struct webhook_server *s);

/* Serves a new pair from the next handshake on (any thread). The pair is
 * validated first; on error the old one stays. */
int webhook_server_set_cert(struct webhook_server *s, const char *cert_pem, const char *key_pem,
                            struct op_status *st);

/* Looks at cert_dir now instead of waiting for the next period (any thread).
 * 0 when the served pair is the one on disk (changed or not). */
int webhook_server_reload(struct webhook_server *s, struct op_status *st);

/* Stops serving, closes connections, frees s (NULL is fine). */
void webhook_server_stop(struct webhook_server *s);

/* ---- glue to admission.h ---------------------------------------------------
 * opts.handler = webhook_admission_handler, opts.handler_ud = &a (lives as long
 * as the server) answers every request with admission_handle(). */
struct admission_ctx;
struct admission_result;
struct admission_cache;

struct webhook_admission {
    const struct admission_ctx *ctx;
    /* Optional (NULL = none): admission_cache_new(), freed by the owner after the
     * server stops. Keeps defaulted TracingModels between requests. */
    struct admission_cache *cache;
    /* Optional: called on the server thread (any of them) after each answer with the result
     * and the time admission_handle() took, for metrics and Events. It must not
     * block (queue the Event, do not POST it here). */
    void (*observe)(void *ud, const char *path, const struct admission_result *r,
                    int64_t duration_us);
    void *observe_ud;
};

char *webhook_admission_handler(void *ud, const char *path, const char *body, size_t len,
                                size_t *ret_len, int *ret_http_status);

#endif
