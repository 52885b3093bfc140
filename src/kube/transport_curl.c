/* transport_curl.c - the network edge of the kube client: one libcurl easy
 * handle per client (connections are reused; used by ONE thread), TLS from
 * in-memory PEM blobs, timeouts, HTTP/2, and prompt cancellation of watches. */
#include "kube/transport.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/config.h"

#define CONNECT_TIMEOUT_MS 5000L
#define REQUEST_TIMEOUT_MS 30000L
/* A watch is aborted when less than 1 byte arrives in this time. Bookmarks and
 * the server-side timeoutSeconds (ask for <= 600) keep a healthy watch above it. */
#define WATCH_LOW_SPEED_TIME_S 660L
#define KEEPALIVE_IDLE_S 30L
#define KEEPALIVE_INTVL_S 15L

struct curl_transport {
    struct kube_transport base;   /* first: the vtable pointer */
    CURL *h;
    char *server;
    char *proxy;                  /* NULL = libcurl's default ($HTTPS_PROXY, $NO_PROXY) */
    char *ca, *cert, *key;        /* PEM bytes (key is secret) */
    size_t ca_len, cert_len, key_len;
    int insecure;
    int http2;
};

struct xfer {
    CURL *h;
    const struct kube_http_request *req;
    kube_body_fn sink;
    void *ud;
    int http;
    int stopped;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->http) {
        long code = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        x->http = (int)code;
    }
    if (x->req->stop && atomic_load(x->req->stop)) {
        x->stopped = 1;
        return 0;
    }
    if (n && x->sink(x->ud, x->http, data, n)) {
        x->stopped = 1;
        return 0;   /* CURLE_WRITE_ERROR: the sink asked to stop */
    }
    return n;
}

/* Called about once a second even when idle: a set stop flag ends the transfer. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    struct xfer *x = ud;
    if (x->req->stop && atomic_load(x->req->stop)) {
        x->stopped = 1;
        return 1;
    }
    return 0;
}

static void set_blob(CURL *h, CURLoption opt, char *data, size_t len) {
    struct curl_blob b = {.data = data, .len = len, .flags = CURL_BLOB_COPY};
    curl_easy_setopt(h, opt, &b);
}

static void set_tls(struct curl_transport *t) {
    CURL *h = t->h;
    if (t->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (t->ca) {
        set_blob(h, CURLOPT_CAINFO_BLOB, t->ca, t->ca_len);
    }
    if (t->cert && t->key) {
        set_blob(h, CURLOPT_SSLCERT_BLOB, t->cert, t->cert_len);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(h, CURLOPT_SSLKEY_BLOB, t->key, t->key_len);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

static struct curl_slist *headers_for(const struct kube_http_request *req) {
    struct curl_slist *hl = NULL;
    char line[256];
    hl = curl_slist_append(hl, "Accept: application/json");
    hl = curl_slist_append(hl, "Expect:");   /* no 100-continue round trip for big bodies */
    if (req->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
        hl = curl_slist_append(hl, line);
    }
    if (req->bearer_token && *req->bearer_token) {
        char *auth = xasprintf("Authorization: Bearer %s", req->bearer_token);
        hl = curl_slist_append(hl, auth);
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    return hl;
}

static void set_request(struct curl_transport *t, const struct kube_http_request *req,
                        struct xfer *x, const char *url, struct curl_slist *hl, char *errbuf) {
    CURL *h = t->h;
    curl_easy_reset(h);   /* keeps the connection cache, DNS cache and TLS sessions */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tracing-operator/" OP_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");   /* gzip for big lists */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, KEEPALIVE_IDLE_S);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, KEEPALIVE_INTVL_S);
    if (t->proxy)
        curl_easy_setopt(h, CURLOPT_PROXY, t->proxy);
    if (t->http2)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (req->stream) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, WATCH_LOW_SPEED_TIME_S);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    }
    set_tls(t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    if (!strcmp(req->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
}

static int curl_roundtrip(struct kube_transport *base, const struct kube_http_request *req,
                          kube_body_fn sink, void *ud, int *ret_http, struct op_status *st) {
    struct curl_transport *t = (struct curl_transport *)base;
    struct xfer x = {.h = t->h, .req = req, .sink = sink, .ud = ud};
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = xasprintf("%s%s", t->server, req->path);
    struct curl_slist *hl = headers_for(req);
    set_request(t, req, &x, url, hl, errbuf);
    CURLcode cc = curl_easy_perform(t->h);
    long code = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);   /* held a copy of the Authorization header */
    free(url);
    *ret_http = (int)code;
    if (x.stopped && (cc == CURLE_WRITE_ERROR || cc == CURLE_ABORTED_BY_CALLBACK))
        return KUBE_TRANSPORT_STOPPED;
    if (cc == CURLE_OK)
        return 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return op_fail(st, OP_ETIMEOUT, "%s %s: %s", req->method, req->path, why);
    return op_fail(st, OP_ETRANSPORT, "%s %s: %s", req->method, req->path, why);
}

static void wipe(char *p, size_t n) {
    if (p)
        memset(p, 0, n);
    free(p);
}

static void curl_destroy(struct kube_transport *base) {
    struct curl_transport *t = (struct curl_transport *)base;
    if (!t)
        return;
    curl_easy_cleanup(t->h);
    free(t->server);
    free(t->proxy);
    free(t->ca);
    free(t->cert);
    wipe(t->key, t->key_len);
    free(t);
}

static const struct kube_transport_ops curl_ops = {
    .roundtrip = curl_roundtrip,
    .destroy = curl_destroy,
};

static char *dup_bytes(const char *p, size_t n) {
    if (!p)
        return NULL;
    char *d = xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

struct kube_transport *kube_transport_curl_new(const struct kube_config *cfg,
                                               struct op_status *st) {
    if (!cfg || !cfg->server || !*cfg->server) {
        op_fail(st, OP_EINVALID, "kube transport: no API server URL");
        return NULL;
    }
    pthread_once(&global_once, global_init);
    CURL *h = curl_easy_init();
    if (!h) {
        op_fail(st, OP_ETRANSPORT, "kube transport: curl_easy_init failed");
        return NULL;
    }
    struct curl_transport *t = xcalloc(1, sizeof(*t));
    t->base.ops = &curl_ops;
    t->h = h;
    t->server = xstrdup(cfg->server);
    t->proxy = cfg->proxy_url ? xstrdup(cfg->proxy_url) : NULL;
    t->ca = dup_bytes(cfg->ca_pem, cfg->ca_len);
    t->ca_len = cfg->ca_len;
    t->cert = dup_bytes(cfg->cert_pem, cfg->cert_len);
    t->cert_len = cfg->cert_len;
    t->key = dup_bytes(cfg->key_pem, cfg->key_len);
    t->key_len = cfg->key_len;
    t->insecure = cfg->insecure_skip_tls_verify;
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    t->http2 = vi && (vi->features & CURL_VERSION_HTTP2);
    return &t->base;
}
