/* httpserver.c - HTTP/1.1 and HTTPS listeners on libwebsockets with service
 * threads (edge code; see httpserver.h for the behaviour).
 *
 * The listening sockets are ours (bound and listening before lws is involved,
 * so a bind error is reported with its reason). Debian's libwebsockets is
 * built with one service thread per context (LWS_MAX_SMP 1), so every
 * (listener, thread) pair is a "worker": a thread running its own lws context
 * with a single vhost that does not listen itself (one vhost per context: lws
 * re-picks a connection's vhost by port and Host header, which vhosts without
 * a port of their own would confuse). The listener's socket is adopted into
 * each of its workers' loops as a raw descriptor; the worker that wakes first
 * accepts the connection and gives it to the listener's worker with the fewest
 * open connections (itself on a tie; another one through its queue and
 * lws_cancel_service, the one thread-safe way into an lws loop), which adopts
 * it into its vhost (TLS, HTTP) and serves it until it closes. Without that
 * balance one thread could take a burst of connections and serve them alone.
 * The listener (handler, certificate) is shared by its workers.
 * Each request is
 * a small state machine in the per-transaction session: headers -> (body) ->
 * handler -> response headers -> response body in chunks, one lws_write per
 * WRITEABLE callback. TLS listeners get their SSL_CTX set up by us (minimum
 * TLS 1.2, modern ciphers) and pick the certificate per handshake in a
 * cert_cb, so a new pair is served without touching open connections. */
#include "webhook/httpserver.h"

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"

#define MAX_LISTENERS 8
#define CHUNK (16u * 1024)
#define HEADER_ROOM 1024u   /* response headers; the rest of a CHUNK can carry the body */
#define DRAIN_FACTOR 4        /* bodies up to DRAIN_FACTOR * max_body are read and dropped */
#define FD_LIMIT 1024         /* connections per worker (lws sizes tables by this) */
#define MAX_WORKERS 16
#define HANDOFF_MAX 64        /* accepted sockets queued for another worker */

/* Mozilla "intermediate" TLS 1.2 suites; TLS 1.3 uses OpenSSL's defaults. */
static const char TLS12_CIPHERS[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct tls_pair {
    X509 *leaf;
    STACK_OF(X509) *chain;   /* intermediates, may be empty */
    EVP_PKEY *key;
};

struct listener {
    struct http_server *srv;
    char name[48];
    char iface[64];          /* "" = every interface */
    int want_port;
    int ipv4_only;
    int tls;
    size_t max_body;
    http_handler_fn handler;
    void *ud;
    int fd;                  /* our listening socket, -1 = none */
    int port;                /* the port it is bound to */
    pthread_mutex_t lock;    /* guards pair (set from any thread, read in cert_cb) */
    struct tls_pair *pair;
};

/* One service thread with its own lws context serving one listener. */
struct worker {
    struct http_server *srv;
    size_t li;                    /* the listener */
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws *accept_wsi;       /* the listener's socket in this loop */
    atomic_int conns;             /* connections it serves or has queued */
    pthread_mutex_t qmu;          /* guards q, qn (accepting workers push) */
    int q[HANDOFF_MAX];           /* accepted sockets waiting to be adopted here */
    size_t qn;
    pthread_t thread;
    int thread_started;
    unsigned char scratch[LWS_PRE + CHUNK];   /* this worker's thread only */
};

struct http_server {
    char name[48];
    struct lws_protocols protocols[3];   /* http, accept, terminator */
    /* lws gives every TLS vhost a client SSL_CTX too (loading the system CAs);
     * we make no client connections, so it gets this empty one. */
    SSL_CTX *client_ctx;
    struct listener ls[MAX_LISTENERS];
    size_t n;
    unsigned io_timeout_s, keepalive_s;
    void (*tick)(void *ud);
    void *tick_ud;
    unsigned tick_ms;
    lws_sorted_usec_list_t sul_tick;   /* on worker 0 */
    atomic_int stop;
    size_t threads;                     /* workers per listener */
    size_t nworkers;                    /* n * threads */
    struct worker *w;                   /* listener i, thread k: w[i * threads + k] */
};

/* Per transaction (lws frees and re-zeroes user space between keep-alive requests). */
struct session {
    int started;
    int method;              /* LWSHUMETH_* */
    char *path, *query, *ctype;
    long long content_length;   /* -1 = none */
    int discard;             /* over the cap: read and drop */
    time_t body_started;     /* monotonic seconds */
    char *body;
    size_t body_len, body_cap;
    /* response */
    int responding, headers_sent, close_after;
    int status;
    const char *resp_ctype;
    char *resp;
    size_t resp_len, resp_off;
};

static const char *const METHOD_NAMES[] = {"GET", "POST", "OPTIONS", "PUT", "PATCH",
                                           "DELETE", "CONNECT", "HEAD", "GET"};

/* ---- responses --------------------------------------------------------- */

void http_response_set(struct http_response *rs, int status, const char *content_type,
                       const char *body, size_t len) {
    char *copy = xmalloc(len + 1);
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    http_response_take(rs, status, content_type, copy, len);
}

void http_response_take(struct http_response *rs, int status, const char *content_type,
                        char *body, size_t len) {
    free(rs->body);
    rs->status = status;
    rs->content_type = content_type;
    rs->body = body;
    rs->body_len = len;
}

/* ---- logging: lws -> base/log.h ----------------------------------------- */

static void lws_log_emit(int level, const char *line) {
    char buf[512];
    size_t n = strlen(line);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    /* lws reports a failed client handshake as an "error": it is the client's. */
    if (level & LLL_ERR)
        log_warn("lws", buf);
    else
        log_debug("lws", buf);
}

static void lws_log_init(void) { lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit); }

static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;

/* ---- TLS ---------------------------------------------------------------- */

static int no_password(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;   /* encrypted keys are not supported: fail instead of prompting */
}

static void tls_pair_free(struct tls_pair *p) {
    if (!p)
        return;
    X509_free(p->leaf);
    sk_X509_pop_free(p->chain, X509_free);
    EVP_PKEY_free(p->key);
    free(p);
}

static int openssl_fail(struct op_status *st, const char *what) {
    unsigned long e = ERR_peek_last_error();
    char ebuf[160] = "";
    if (e)
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
    ERR_clear_error();
    return op_fail(st, OP_EINVALID, "%s%s%s", what, ebuf[0] ? ": " : "", ebuf);
}

static struct tls_pair *tls_pair_parse(const char *cert_pem, const char *key_pem,
                                       struct op_status *st) {
    struct tls_pair *p = xcalloc(1, sizeof(*p));
    BIO *b = NULL;
    if (!cert_pem || !key_pem || !*cert_pem || !*key_pem) {
        op_fail(st, OP_EINVALID, "TLS certificate and key are both required");
        goto fail;
    }
    b = BIO_new_mem_buf(cert_pem, -1);
    p->leaf = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
    if (!p->leaf) {
        openssl_fail(st, "TLS certificate is not a PEM certificate");
        goto fail;
    }
    p->chain = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL)
        sk_X509_push(p->chain, x);
    ERR_clear_error();   /* the loop ends with a "no start line" error */
    BIO_free(b);
    b = BIO_new_mem_buf(key_pem, -1);
    p->key = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    if (!p->key) {
        openssl_fail(st, "TLS key is not an unencrypted PEM private key");
        goto fail;
    }
    if (X509_check_private_key(p->leaf, p->key) != 1) {
        openssl_fail(st, "TLS key does not match the certificate");
        goto fail;
    }
    BIO_free(b);
    return p;
fail:
    BIO_free(b);
    tls_pair_free(p);
    return NULL;
}

/* Per handshake: serve the listener's current pair. */
static int cert_cb(SSL *ssl, void *arg) {
    struct listener *l = arg;
    int ok = 0;
    pthread_mutex_lock(&l->lock);
    if (l->pair)
        ok = SSL_use_cert_and_key(ssl, l->pair->leaf, l->pair->key, l->pair->chain, 1) == 1;
    pthread_mutex_unlock(&l->lock);
    if (!ok)
        ERR_clear_error();
    return ok;
}

static int setup_ssl_ctx(struct listener *l, SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        ERR_clear_error();
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* A default pair on the context too (never used once cert_cb has run). */
    pthread_mutex_lock(&l->lock);
    int ok = l->pair && SSL_CTX_use_cert_and_key(ctx, l->pair->leaf, l->pair->key,
                                                 l->pair->chain, 1) == 1;
    pthread_mutex_unlock(&l->lock);
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    SSL_CTX_set_cert_cb(ctx, cert_cb, l);
    return 0;
}

/* ---- sessions ----------------------------------------------------------- */

static struct worker *worker_of(struct lws *wsi) {
    return lws_context_user(lws_get_context(wsi));
}

static void session_free(struct session *s) {
    if (!s)
        return;
    free(s->path);
    free(s->query);
    free(s->ctype);
    free(s->body);
    free(s->resp);
    memset(s, 0, sizeof(*s));
}

static time_t mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static char *hdr_dup(struct lws *wsi, enum lws_token_indexes h) {
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0)
        return xstrdup("");
    char *v = xmalloc((size_t)n + 2);
    if (lws_hdr_copy(wsi, v, n + 1, h) < 0)
        v[0] = '\0';
    return v;
}

/* Strict Content-Length: digits only. -1 = absent, -2 = malformed. */
static long long content_length(struct lws *wsi) {
    char v[32];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (n <= 0)
        return -1;
    if (n >= (int)sizeof(v) || lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
        return -2;
    long long r = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || r > (LLONG_MAX - 9) / 10)
            return -2;
        r = r * 10 + (*p - '0');
    }
    return v[0] ? r : -2;
}

static int expects_continue(struct lws *wsi) {
    char v[32];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT);
    if (n <= 0 || n >= (int)sizeof(v) || lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_EXPECT) < 0)
        return 0;
    return strncasecmp(v, "100-continue", 12) == 0;
}

static void respond(struct lws *wsi, struct session *s, int status, const char *ctype,
                    char *body, size_t len, int close_after) {
    free(s->resp);
    s->status = status;
    s->resp_ctype = ctype ? ctype : HTTP_CT_JSON;
    s->resp = body;
    s->resp_len = body ? len : 0;
    s->resp_off = 0;
    s->responding = 1;
    s->headers_sent = 0;
    s->close_after = close_after;
    struct listener *l = lws_vhost_user(lws_get_vhost(wsi));
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, (int)l->srv->io_timeout_s);
    lws_callback_on_writable(wsi);
}

static void respond_error(struct lws *wsi, struct session *s, int status, const char *msg,
                          int close_after) {
    char *body = xasprintf("{\"error\":\"%s\",\"code\":%d}\n", msg, status);
    respond(wsi, s, status, HTTP_CT_JSON, body, strlen(body), close_after);
}

static void dispatch(struct lws *wsi, struct listener *l, struct session *s) {
    struct http_request rq = {
        .method = METHOD_NAMES[s->method],
        .path = s->path,
        .query = s->query ? s->query : "",
        .content_type = s->ctype ? s->ctype : "",
        .body = s->body ? s->body : "",
        .body_len = s->body_len,
    };
    struct http_response rs = {0};
    l->handler(l->ud, &rq, &rs);
    if (rs.status < 100 || rs.status > 599) {
        free(rs.body);
        log_error(l->srv->name, "handler gave no valid status", "path", s->path,
                  LOG_INT("status", rs.status));
        respond_error(wsi, s, 500, "internal error", 0);
        return;
    }
    respond(wsi, s, rs.status, rs.content_type, rs.body, rs.body_len, 0);
}

static int on_http(struct lws *wsi, struct listener *l, struct session *s, const char *in,
                   size_t len) {
    char *uri = NULL;
    int uri_len = 0;
    session_free(s);
    s->started = 1;
    s->body_started = mono_s();
    s->method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
    if (s->method < 0 || s->method >= (int)(sizeof(METHOD_NAMES) / sizeof(METHOD_NAMES[0])))
        return -1;
    s->path = xstrndup(in ? in : "/", in ? len : 1);
    s->query = hdr_dup(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    s->ctype = hdr_dup(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    s->content_length = content_length(wsi);
    int wants_body = s->method == LWSHUMETH_POST || s->method == LWSHUMETH_PUT ||
                     s->method == LWSHUMETH_PATCH;
    if (s->content_length == -2) {
        respond_error(wsi, s, 400, "malformed Content-Length", 1);
        return 0;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        (wants_body && s->content_length < 0)) {
        respond_error(wsi, s, 411, "a request body needs a Content-Length", 1);
        return 0;
    }
    if (s->content_length > (long long)l->max_body) {
        log_warn(l->srv->name, "request body over the limit", "path", s->path,
                 LOG_INT("content_length", s->content_length), LOG_INT("limit", l->max_body));
        if (expects_continue(wsi) || s->content_length > (long long)l->max_body * DRAIN_FACTOR) {
            respond_error(wsi, s, 413, "request body too large", 1);
            return 0;
        }
        s->discard = 1;   /* read it, drop it, then answer 413 */
    }
    if (s->content_length > 0)
        return 0;   /* LWS_CALLBACK_HTTP_BODY follows */
    if (s->content_length == 0 && s->method == LWSHUMETH_POST)
        return 0;   /* lws sends an empty HTTP_BODY + BODY_COMPLETION itself */
    dispatch(wsi, l, s);
    return 0;
}

static int on_body(struct listener *l, struct session *s, const void *in, size_t len) {
    if (!s->started || s->responding)
        return 0;
    if (mono_s() - s->body_started > (time_t)(3 * l->srv->io_timeout_s)) {
        log_warn(l->srv->name, "request body too slow, closing", "path", s->path);
        return -1;
    }
    if (s->discard || !len)
        return 0;
    if (s->body_len + len > l->max_body) {   /* cannot happen with an honest Content-Length */
        s->discard = 1;
        return 0;
    }
    if (s->body_len + len + 1 > s->body_cap) {
        size_t want = s->body_cap ? s->body_cap * 2 : 16 * 1024;
        size_t limit = (size_t)s->content_length + 1;
        while (want < s->body_len + len + 1)
            want *= 2;
        if (want > limit && limit >= s->body_len + len + 1)
            want = limit;
        s->body = xrealloc(s->body, want);
        s->body_cap = want;
    }
    memcpy(s->body + s->body_len, in, len);
    s->body_len += len;
    s->body[s->body_len] = '\0';
    return 0;
}

static int on_body_done(struct lws *wsi, struct listener *l, struct session *s) {
    if (!s->started || s->responding)
        return 0;
    if (s->discard) {
        respond_error(wsi, s, 413, "request body too large", 1);
        return 0;
    }
    dispatch(wsi, l, s);
    return 0;
}

static int finish(struct lws *wsi, struct session *s) {
    int close_after = s->close_after;
    session_free(s);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_writeable(struct lws *wsi, struct listener *l, struct session *s) {
    if (!s->responding)
        return 0;
    if (!s->headers_sent) {
        /* The headers go into the scratch buffer and, when the whole body fits
         * behind them, the body too: one lws_write, one TLS record, one syscall
         * (HTTP/1.1 only, the one protocol served: ALPN offers http/1.1, and on h1
         * lws writes header and body types alike as raw bytes). */
        unsigned char *start = worker_of(wsi)->scratch + LWS_PRE, *p = start;
        unsigned char *end = start + HEADER_ROOM - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->resp_ctype,
                                        (lws_filepos_t)s->resp_len, &p, end))
            return -1;
        if (s->close_after &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                         (const unsigned char *)"close", 5, &p, end))
            return -1;
        if (lws_finalize_http_header(wsi, &p, end))
            return -1;
        size_t hlen = (size_t)(p - start);
        s->headers_sent = 1;
        if (s->resp_len && s->resp_len <= CHUNK - hlen) {
            memcpy(p, s->resp, s->resp_len);
            size_t total = hlen + s->resp_len;
            if (lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL) < (int)total)
                return -1;
            s->resp_off = s->resp_len;
            return finish(wsi, s);
        }
        if (lws_write(wsi, start, hlen, LWS_WRITE_HTTP_HEADERS) < (int)hlen)
            return -1;
        if (!s->resp_len)
            return finish(wsi, s);
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t left = s->resp_len - s->resp_off;
    size_t n = left < CHUNK ? left : CHUNK;
    unsigned char *buf = worker_of(wsi)->scratch + LWS_PRE;
    memcpy(buf, s->resp + s->resp_off, n);
    int final = n == left;
    if (lws_write(wsi, buf, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    s->resp_off += n;
    if (final)
        return finish(wsi, s);
    lws_callback_on_writable(wsi);
    return 0;
}

/* Adopts an accepted socket into w's vhost (w's thread only). */
static void adopt_here(struct worker *w, int fd) {
    struct lws *c = lws_adopt_socket_vhost(w->vh, fd);   /* on failure lws closes fd */
    if (c)
        lws_set_opaque_user_data(c, w);   /* WSI_DESTROY counts it out */
    else
        atomic_fetch_sub(&w->conns, 1);
}

/* The sockets other workers handed to w (w's thread only). */
static void adopt_queued(struct worker *w) {
    int fds[HANDOFF_MAX];
    size_t n;
    pthread_mutex_lock(&w->qmu);
    n = w->qn;
    memcpy(fds, w->q, n * sizeof(fds[0]));
    w->qn = 0;
    pthread_mutex_unlock(&w->qmu);
    for (size_t i = 0; i < n; i++)
        adopt_here(w, fds[i]);
}

/* The listening socket, adopted as a raw descriptor: readable = a connection
 * to accept (one per wake-up: the workers that woke too get the next ones). */
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
#define EWOULDBLOCK_ALT EWOULDBLOCK
#else
#define EWOULDBLOCK_ALT EAGAIN
#endif
static int accept_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len) {
    (void)user, (void)in, (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    struct worker *self = worker_of(wsi);
    struct http_server *s = self->srv;
    int fd = accept4(lws_get_socket_fd(wsi), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e != EAGAIN && e != EINTR && e != ECONNABORTED && e != EWOULDBLOCK_ALT)
            log_warn(s->name, "accept failed", "error", strerror(e));
        return 0;   /* another worker took it */
    }
    struct worker *to = self;
    int least = atomic_load(&self->conns);
    for (size_t k = 0; k < s->threads; k++) {
        struct worker *o = &s->w[self->li * s->threads + k];
        int c = atomic_load(&o->conns);
        if (c < least) {
            least = c;
            to = o;
        }
    }
    atomic_fetch_add(&to->conns, 1);
    if (to != self) {
        pthread_mutex_lock(&to->qmu);
        int queued = to->qn < HANDOFF_MAX;
        if (queued)
            to->q[to->qn++] = fd;
        pthread_mutex_unlock(&to->qmu);
        if (queued) {
            lws_cancel_service(to->ctx);
            return 0;
        }
        atomic_fetch_sub(&to->conns, 1);   /* its queue is full: serve it here */
        atomic_fetch_add(&self->conns, 1);
    }
    adopt_here(self, fd);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct session *s = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    struct listener *l = vh ? lws_vhost_user(vh) : NULL;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        adopt_queued(worker_of(wsi));
        return 0;
    case LWS_CALLBACK_WSI_DESTROY: {
        struct worker *ow = lws_get_opaque_user_data(wsi);
        if (ow)
            atomic_fetch_sub(&ow->conns, 1);
        return 0;
    }
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* user is the vhost's SSL_CTX, in the vhost */
        l = in ? lws_vhost_user((struct lws_vhost *)in) : l;
        if (!l || !l->tls)
            return 0;
        return setup_ssl_ctx(l, user) ? 1 : 0;
    case LWS_CALLBACK_HTTP:
        if (!l || !s)
            return -1;
        return on_http(wsi, l, s, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        if (!l || !s)
            return -1;
        return on_body(l, s, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!l || !s)
            return -1;
        return on_body_done(wsi, l, s);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!l || !s)
            return -1;
        return on_writeable(wsi, l, s);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        session_free(s);
        return 0;
    default:
        return 0;
    }
}

/* ---- addresses ---------------------------------------------------------- */

/* ":9443" | "host:port" | "[v6]:port" with host an IP literal. */
static int parse_bind(const char *addr, struct listener *l, struct op_status *st) {
    if (!addr || !*addr)
        return op_fail(st, OP_EINVALID, "empty bind address");
    const char *colon, *host = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return op_fail(st, OP_EINVALID, "bind address %s: expected [ipv6]:port", addr);
        host = addr + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return op_fail(st, OP_EINVALID, "bind address %s: expected host:port or :port",
                           addr);
        hlen = (size_t)(colon - addr);
    }
    const char *ps = colon + 1;
    long port = 0;
    if (!*ps || strlen(ps) > 5)
        return op_fail(st, OP_EINVALID, "bind address %s: bad port", addr);
    for (const char *p = ps; *p; p++) {
        if (*p < '0' || *p > '9')
            return op_fail(st, OP_EINVALID, "bind address %s: bad port", addr);
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return op_fail(st, OP_EINVALID, "bind address %s: port out of range", addr);
    if (hlen >= sizeof(l->iface))
        return op_fail(st, OP_EINVALID, "bind address %s: host too long", addr);
    memcpy(l->iface, host, hlen);
    l->iface[hlen] = '\0';
    unsigned char tmp[16];
    if (l->iface[0]) {
        if (inet_pton(AF_INET, l->iface, tmp) == 1)
            l->ipv4_only = 1;
        else if (inet_pton(AF_INET6, l->iface, tmp) != 1)
            return op_fail(st, OP_EINVALID, "bind address %s: host must be an IP address",
                           addr);
    }
    l->want_port = (int)port;
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul) {
    struct http_server *s = lws_container_of(sul, struct http_server, sul_tick);
    if (s->tick)
        s->tick(s->tick_ud);
    lws_sul_schedule(s->w[0].ctx, 0, &s->sul_tick, tick_cb, (lws_usec_t)s->tick_ms * 1000);
}

static void *service_main(void *arg) {
    struct worker *w = arg;
    struct http_server *s = w->srv;
    while (!atomic_load(&s->stop))
        if (lws_service(w->ctx, 0) < 0) {
            log_error(s->name, "event loop failed; the server stopped serving");
            break;
        }
    return NULL;
}

/* The listener's socket: bound to (iface, port), listening, non-blocking, in
 * l->fd with its port in l->port. ":port" is IPv6 any with IPv4 mapped, or
 * IPv4 any on a host without IPv6 (l->ipv4_only). */
static int open_listener(struct listener *l, struct op_status *st) {
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } a;
    memset(&a, 0, sizeof(a));
    int v6 = !l->ipv4_only;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && v6 && !l->iface[0]) {
        l->ipv4_only = 1;   /* no IPv6 in this kernel: ":port" means IPv4 any */
        v6 = 0;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0)
        return op_fail(st, OP_EIO, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len;
    if (v6) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        a.v6.sin6_family = AF_INET6;
        a.v6.sin6_port = htons((uint16_t)l->want_port);
        a.v6.sin6_addr = in6addr_any;
        if (l->iface[0])
            inet_pton(AF_INET6, l->iface, &a.v6.sin6_addr);
        len = sizeof(a.v6);
    } else {
        a.v4.sin_family = AF_INET;
        a.v4.sin_port = htons((uint16_t)l->want_port);
        a.v4.sin_addr.s_addr = htonl(INADDR_ANY);
        if (l->iface[0])
            inet_pton(AF_INET, l->iface, &a.v4.sin_addr);
        len = sizeof(a.v4);
    }
    if (bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int err = errno;
        close(fd);
        return op_fail(st, OP_EIO, "cannot listen on %s port %d: %s",
                       l->iface[0] ? l->iface : "every address", l->want_port, strerror(err));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        int err = errno;
        close(fd);
        return op_fail(st, OP_EIO, "cannot make the listening socket non-blocking: %s",
                       strerror(err));
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int err = errno;
        close(fd);
        return op_fail(st, OP_EIO, "getsockname: %s", strerror(err));
    }
    l->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    l->fd = fd;
    return 0;
}

/* The vhost of worker w: TLS and HTTP for the connections it accepts, no
 * listening socket of its own; the listener's socket (a duplicate, closed with
 * the worker) joins the worker's loop. */
static int create_vhost(struct http_server *s, struct worker *w, struct op_status *st) {
    struct listener *l = &s->ls[w->li];
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof(vi));
    vi.vhost_name = l->name;
    vi.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    vi.protocols = s->protocols;
    vi.user = l;
    vi.keepalive_timeout = (int)s->keepalive_s;
    vi.timeout_secs = s->io_timeout_s;
    vi.timeout_secs_ah_idle = s->io_timeout_s;
    vi.alpn = "http/1.1";
    if (l->tls) {
        vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                      LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        vi.provided_client_ssl_ctx = s->client_ctx;
    }
    w->vh = lws_create_vhost(w->ctx, &vi);
    if (!w->vh)
        return op_fail(st, OP_EIO, "cannot set up listener %s (the %s setup failed)", l->name,
                       l->tls ? "TLS" : "HTTP");
    int dfd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return op_fail(st, OP_EIO, "cannot duplicate the listening socket: %s",
                       strerror(errno));
    lws_sock_file_fd_type u;
    u.filefd = dfd;
    w->accept_wsi =
        lws_adopt_descriptor_vhost(w->vh, LWS_ADOPT_RAW_FILE_DESC, u, "op-accept", NULL);
    if (!w->accept_wsi)   /* lws closed dfd */
        return op_fail(st, OP_EIO, "cannot watch the listening socket of %s", l->name);
    return 0;
}

static int init_listener(struct http_server *s, struct listener *l,
                         const struct http_listener_opts *o, size_t i, struct op_status *st) {
    l->srv = s;
    l->fd = -1;
    pthread_mutex_init(&l->lock, NULL);
    snprintf(l->name, sizeof(l->name), "%s-%zu", o->name ? o->name : "http", i);
    l->max_body = o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY;
    l->handler = o->handler;
    l->ud = o->ud;
    if (!o->handler)
        return op_fail(st, OP_EINVALID, "listener %s has no handler", l->name);
    int rc = parse_bind(o->bind_address, l, st);
    if (rc)
        return rc;
    if (o->cert_pem || o->key_pem) {
        l->tls = 1;
        l->pair = tls_pair_parse(o->cert_pem, o->key_pem, st);
        if (!l->pair)
            return st ? st->code : OP_EINVALID;
    }
    return open_listener(l, st);
}

struct http_server *http_server_start(const struct http_server_opts *opts, struct op_status *st) {
    if (!opts || !opts->listeners || opts->n_listeners == 0 ||
        opts->n_listeners > MAX_LISTENERS) {
        op_fail(st, OP_EINVALID, "http server needs 1..%d listeners", MAX_LISTENERS);
        return NULL;
    }
    pthread_once(&g_log_once, lws_log_init);
    struct http_server *s = xcalloc(1, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", opts->name ? opts->name : "httpserver");
    s->io_timeout_s = opts->io_timeout_s ? opts->io_timeout_s : HTTP_DEFAULT_IO_TIMEOUT_S;
    s->keepalive_s = opts->keepalive_s ? opts->keepalive_s : HTTP_DEFAULT_KEEPALIVE_S;
    s->tick = opts->tick;
    s->tick_ud = opts->tick_ud;
    s->tick_ms = opts->tick_ms ? opts->tick_ms : 5000;
    atomic_init(&s->stop, 0);
    /* tx_packet_size: without it lws cuts every write at its 4 KiB service buffer
     * and sends the rest on a later pass (two records where one will do). */
    s->protocols[0] = (struct lws_protocols){.name = "http",
                                             .callback = callback,
                                             .per_session_data_size = sizeof(struct session),
                                             .tx_packet_size = CHUNK};
    s->protocols[1] = (struct lws_protocols){.name = "op-accept", .callback = accept_callback};
    s->n = opts->n_listeners;
    int any_tls = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (init_listener(s, &s->ls[i], &opts->listeners[i], i, st)) {
            s->n = i + 1;
            goto fail;
        }
        any_tls |= s->ls[i].tls;
    }

    if (any_tls && !(s->client_ctx = SSL_CTX_new(TLS_client_method()))) {
        op_fail(st, OP_EIO, "cannot create an OpenSSL context");
        goto fail;
    }
    size_t want = opts->threads ? opts->threads : 1;
    s->threads = want > MAX_WORKERS ? MAX_WORKERS : want;
    s->w = xcalloc(s->n * s->threads, sizeof(*s->w));
    for (size_t k = 0; k < s->n * s->threads; k++) {
        struct worker *w = &s->w[k];
        w->srv = s;
        w->li = k / s->threads;
        atomic_init(&w->conns, 0);
        pthread_mutex_init(&w->qmu, NULL);
        s->nworkers = k + 1;
        struct lws_context_creation_info ci;
        memset(&ci, 0, sizeof(ci));
        ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                     (s->ls[w->li].tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
        ci.port = CONTEXT_PORT_NO_LISTEN;
        ci.fd_limit_per_thread = FD_LIMIT;
        ci.timeout_secs = s->io_timeout_s;
        ci.max_http_header_data = 4096;
        ci.alpn = "http/1.1";
        ci.server_string = "tracing-operator";
        ci.gid = -1;
        ci.uid = -1;
        ci.user = w;
        w->ctx = lws_create_context(&ci);
        if (!w->ctx) {
            op_fail(st, OP_EIO, "cannot create the libwebsockets context");
            goto fail;
        }
        if (create_vhost(s, w, st))
            goto fail;
    }
    if (s->tick)
        lws_sul_schedule(s->w[0].ctx, 0, &s->sul_tick, tick_cb, (lws_usec_t)s->tick_ms * 1000);
    for (size_t k = 0; k < s->nworkers; k++) {
        if (pthread_create(&s->w[k].thread, NULL, service_main, &s->w[k]) != 0) {
            op_fail(st, OP_EIO, "cannot start the server thread");
            goto fail;
        }
        s->w[k].thread_started = 1;
    }
    for (size_t i = 0; i < s->n; i++)
        log_info(s->name, "listening", "listener", s->ls[i].name,
                 "address", opts->listeners[i].bind_address,
                 LOG_INT("port", http_server_port(s, i)), "tls", s->ls[i].tls ? "true" : "false",
                 LOG_INT("threads", s->threads));
    return s;
fail:
    http_server_stop(s);
    return NULL;
}

int http_server_port(const struct http_server *s, size_t i) {
    if (!s || i >= s->n || s->ls[i].fd < 0)
        return -1;
    return s->ls[i].port;
}

size_t http_server_threads(const struct http_server *s) { return s ? s->threads : 0; }

int http_server_set_tls(struct http_server *s, size_t i, const char *cert_pem,
                        const char *key_pem, struct op_status *st) {
    if (!s || i >= s->n || !s->ls[i].tls)
        return op_fail(st, OP_EINVALID, "listener %zu is not a TLS listener", i);
    struct tls_pair *p = tls_pair_parse(cert_pem, key_pem, st);
    if (!p)
        return st ? st->code : OP_EINVALID;
    struct listener *l = &s->ls[i];
    pthread_mutex_lock(&l->lock);
    struct tls_pair *old = l->pair;
    l->pair = p;
    pthread_mutex_unlock(&l->lock);
    tls_pair_free(old);   /* connections that use it hold their own references */
    return 0;
}

void http_server_stop(struct http_server *s) {
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    for (size_t k = 0; s->w && k < s->nworkers; k++)
        if (s->w[k].thread_started)
            lws_cancel_service(s->w[k].ctx);
    for (size_t k = 0; s->w && k < s->nworkers; k++)
        if (s->w[k].thread_started)
            pthread_join(s->w[k].thread, NULL);
    if (s->w && s->nworkers && s->w[0].ctx)
        lws_sul_cancel(&s->sul_tick);
    for (size_t k = 0; s->w && k < s->nworkers; k++) {
        if (s->w[k].ctx)
            lws_context_destroy(s->w[k].ctx);
        for (size_t i = 0; i < s->w[k].qn; i++)   /* handed over, never adopted */
            close(s->w[k].q[i]);
        pthread_mutex_destroy(&s->w[k].qmu);
    }
    free(s->w);
    SSL_CTX_free(s->client_ctx);
    for (size_t i = 0; i < s->n; i++) {
        if (s->ls[i].fd >= 0)
            close(s->ls[i].fd);
        tls_pair_free(s->ls[i].pair);
        pthread_mutex_destroy(&s->ls[i].lock);
    }
    free(s);
}
