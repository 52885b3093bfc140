/* httpserver.h - a small HTTP/1.1 server on libwebsockets: one or more service
 * threads (an lws context each) per struct http_server, one or more listeners, each plain
 * HTTP or TLS (1.2 and 1.3 only, ALPN http/1.1). The webhook (server.h) runs on
 * it with TLS; the controller serves /metrics, /healthz and /readyz on it in
 * plain HTTP:
 *
 *     static void serve(void *ud, const struct http_request *rq, struct http_response *rs) {
 *         if (strcmp(rq->path, "/metrics") == 0)
 *             http_response_set(rs, 200, HTTP_CT_PROMETHEUS, text, strlen(text));
 *         else
 *             http_response_set(rs, 404, HTTP_CT_TEXT, "not found\n", 10);
 *     }
 *     struct http_listener_opts l = {.bind_address = ":8080", .handler = serve, .ud = me};
 *     struct http_server_opts o = {.name = "metrics", .listeners = &l, .n_listeners = 1};
 *     struct http_server *s = http_server_start(&o, &st);   ... http_server_stop(s);
 *
 * Behaviour a client relies on:
 * - keep-alive (idle connections are closed after keepalive_s);
 * - a request body is collected whole (Content-Length required for bodies) up
 *   to max_body; a larger one gets 413 with a JSON error and the connection is
 *   closed (bodies up to 4x the cap are read and discarded first, so the client
 *   sees the 413 instead of a reset); no Content-Length on POST/PUT/PATCH: 411;
 * - a client that stalls (headers, TLS handshake or body) for io_timeout_s is
 *   disconnected; a body that takes longer than 3 * io_timeout_s in total too;
 *   the event loop never waits on one client, so others are served meanwhile;
 * - plain HTTP on a TLS listener, TLS < 1.2, a truncated handshake: the
 *   connection fails; nothing else is affected.
 *
 * Handlers run on the service threads: they must be fast and must not block
 * (no API calls); everything they touch must be safe against other threads,
 * and with threads > 1 they run concurrently with themselves.
 * Logs from libwebsockets (warnings and errors only) go to base/log.h. */
#ifndef OP_WEBHOOK_HTTPSERVER_H
#define OP_WEBHOOK_HTTPSERVER_H
#include <stddef.h>

#include "base/err.h"

#define HTTP_CT_JSON "application/json"
#define HTTP_CT_TEXT "text/plain; charset=utf-8"
#define HTTP_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

#define HTTP_DEFAULT_MAX_BODY (3u * 1024 * 1024)
#define HTTP_DEFAULT_IO_TIMEOUT_S 10
#define HTTP_DEFAULT_KEEPALIVE_S 60

struct http_request {
    const char *method;        /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" */
    const char *path;          /* decoded path without the query string */
    const char *query;         /* raw query string without '?', or "" */
    const char *content_type;  /* request Content-Type, or "" */
    const char *body;          /* NUL-terminated; "" when there is none */
    size_t body_len;
};

struct http_response {
    int status;                /* defaults to 500 if the handler leaves it 0 */
    const char *content_type;  /* a string with static lifetime; NULL = HTTP_CT_JSON */
    char *body;                /* malloc'd (xmalloc/strbuf), freed by the server; may be NULL */
    size_t body_len;
};

/* Sets status, content type and a COPY of body[0..len). */
void http_response_set(struct http_response *rs, int status, const char *content_type,
                       const char *body, size_t len);
/* Sets status and takes ownership of body (malloc'd). */
void http_response_take(struct http_response *rs, int status, const char *content_type,
                        char *body, size_t len);

/* Called once per complete request. Leaving rs->status 0 answers 500. */
typedef void (*http_handler_fn)(void *ud, const struct http_request *rq,
                                struct http_response *rs);

struct http_listener_opts {
    const char *name;          /* for logs; NULL = "http" */
    /* ":9443", "0.0.0.0:9443", "127.0.0.1:0" (0 = any free port, see
     * http_server_port), "[::1]:8080", "[::]:8080". */
    const char *bind_address;
    /* TLS when cert_pem is set: PEM certificate chain (leaf first) and its PEM
     * private key, both copied. Replace later with http_server_set_tls(). */
    const char *cert_pem;
    const char *key_pem;
    size_t max_body;           /* 0 = HTTP_DEFAULT_MAX_BODY */
    http_handler_fn handler;
    void *ud;
};

struct http_server_opts {
    const char *name;          /* logger name; NULL = "httpserver" */
    const struct http_listener_opts *listeners;
    size_t n_listeners;        /* 1..8 */
    unsigned io_timeout_s;     /* 0 = HTTP_DEFAULT_IO_TIMEOUT_S */
    unsigned keepalive_s;      /* 0 = HTTP_DEFAULT_KEEPALIVE_S */
    /* Optional: called on the first service thread every tick_ms (e.g. to look for
     * new certificate files). */
    void (*tick)(void *ud);
    void *tick_ud;
    unsigned tick_ms;          /* 0 = 5000 */
    /* Service threads (0 = 1, at most 16). Each accepts connections on every
     * listener's port (SO_REUSEPORT) and serves them to the end; handlers then
     * run on several threads at once. If a thread cannot share the port, the
     * server runs with the ones that could (logged). */
    unsigned threads;
};

struct http_server;

/* Binds every listener and starts the service threads. NULL on error (a bind
 * failure, an invalid address, a certificate that does not parse or does not
 * match its key), with st filled. */
struct http_server *http_server_start(const struct http_server_opts *opts, struct op_status *st);

/* The port listener i is bound to (useful after ":0"), or -1. */
int http_server_port(const struct http_server *s, size_t i);

/* The service threads actually running. */
size_t http_server_threads(const struct http_server *s);

/* Replaces the certificate and key of TLS listener i. Safe from any thread. The
 * pair is checked first (parses, key matches); on error nothing changes.
 * Existing connections keep the pair they were set up with; every handshake
 * after the call gets the new one. */
int http_server_set_tls(struct http_server *s, size_t i, const char *cert_pem,
                        const char *key_pem, struct op_status *st);

/* Stops the service threads, closes every connection and frees s (NULL is fine). */
void http_server_stop(struct http_server *s);

#endif
