/* transport.h - the one seam between the Kubernetes client and the network.
 *
 * A transport performs one HTTP request against the API server and streams
 * the response body to a sink. The real one is libcurl (transport_curl.c);
 * unit tests use tests/support/fake_transport.c, which implements this vtable
 * with recorded request/response pairs. This header only defines data types
 * (plus the constructor of the curl transport), so a fake can implement it
 * without linking op_kube. */
#ifndef OP_KUBE_TRANSPORT_H
#define OP_KUBE_TRANSPORT_H
#include <stdatomic.h>
#include <stddef.h>

#include "base/err.h"

struct kube_config;

/* One request. All pointers are borrowed for the duration of roundtrip(). */
struct kube_http_request {
    const char *method;        /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;          /* absolute path with query: "/api/v1/pods?limit=500" */
    const char *content_type;  /* of the body; NULL when there is no body */
    const char *body;          /* NULL or body_len bytes */
    size_t body_len;
    const char *bearer_token;  /* NULL = none. A transport must never log it. */
    int stream;                /* 1 = watch: no total timeout, a low-speed limit instead */
    atomic_int *stop;          /* optional: another thread sets it non-zero to abort promptly */
};

/* Receives response body bytes as they arrive. http is the response status,
 * already known at the first call. Return 0 to continue, non-zero to abort. */
typedef int (*kube_body_fn)(void *ud, int http, const char *data, size_t len);

/* roundtrip() result when the sink returned non-zero or *req->stop was set. */
#define KUBE_TRANSPORT_STOPPED 1

struct kube_transport;

struct kube_transport_ops {
    /* Performs req. Returns 0 when a complete response was received (any HTTP
     * status, stored in *ret_http; the body went to sink, which is not called
     * for an empty body), KUBE_TRANSPORT_STOPPED (*ret_http set if known, else
     * 0), or a negative OP_ETRANSPORT / OP_ETIMEOUT with st filled. */
    int (*roundtrip)(struct kube_transport *t, const struct kube_http_request *req,
                     kube_body_fn sink, void *ud, int *ret_http, struct op_status *st);
    /* Frees the transport (a fake may make this a no-op and be freed by its owner). */
    void (*destroy)(struct kube_transport *t);
};

struct kube_transport {
    const struct kube_transport_ops *ops;
};

/* The libcurl transport for cfg (server URL, CA, client cert/key, insecure):
 * one CURL easy handle, reused across requests for connection reuse, so it
 * must be used by ONE thread at a time. Connect timeout 5 s, request timeout
 * 30 s (watches: none, but a low-speed limit and TCP keepalive), HTTP/2 over
 * TLS where libcurl has it, User-Agent "tracing-operator/<version>".
 * NULL on error (st filled). */
struct kube_transport *kube_transport_curl_new(const struct kube_config *cfg,
                                               struct op_status *st);

#endif
