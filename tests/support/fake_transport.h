/* fake_transport.h - a scripted stand-in for the network under the kube client.
 *
 * Tests script the exchanges they expect (method, path with query, content
 * type, body) and what each gets back (status + body, a stream of chunks for a
 * watch, or a transport error); every request is recorded for assertions.
 * It implements kube/transport.h's vtable without calling any op_kube function,
 * so it lives in op_testsupport (which links only op_base).
 *
 *   struct fake_transport *f = fake_transport_new();
 *   struct fake_exchange *x = fake_expect(f, "PATCH",
 *       "/apis/apps/v1/namespaces/ns/deployments/d?fieldManager=tracing-operator&force=true");
 *   fake_expect_body(x, "application/apply-patch+yaml", "{\"kind\":\"Deployment\", ...}");
 *   fake_respond(x, 200, "{...}");
 *   struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(f), NULL);
 *   ... kube_apply(c, obj, NULL, &st) ...
 *   fake_transport_assert_done(f);     // every expectation met, nothing unexpected
 *   kube_client_free(c);               // does not free f
 *   fake_transport_free(f);
 *
 * Matching: in order by default (the next unconsumed expectation must match);
 * with fake_transport_set_unordered() the first unconsumed expectation with the
 * same method and path is used. A request that matches nothing, or whose
 * content type/body differ, gets a transport error (OP_ETRANSPORT) and is
 * reported by fake_transport_assert_done(). Thread-safe: several clients (one
 * per thread) may share one fake. */
#ifndef OP_FAKE_TRANSPORT_H
#define OP_FAKE_TRANSPORT_H
#include <stddef.h>

#include "kube/transport.h"

struct fake_transport;
struct fake_exchange;

struct fake_transport *fake_transport_new(void);
void fake_transport_free(struct fake_transport *f);

/* The transport to give to kube_client_new_with_transport(). Its destroy is a
 * no-op: free the fake with fake_transport_free() after the client. */
struct kube_transport *fake_transport_base(struct fake_transport *f);

void fake_transport_set_unordered(struct fake_transport *f, int unordered);

/* Expects one request with this method and exact path + query. Unless one of
 * fake_expect_body*() is called, content type and body are not checked. */
struct fake_exchange *fake_expect(struct fake_transport *f, const char *method,
                                  const char *path_query);
/* Content type exact, body equal as JSON to json_text (compared with
 * json_equal, so key order and spacing do not matter). */
void fake_expect_body(struct fake_exchange *x, const char *content_type, const char *json_text);
/* Content type exact, body contains substr. */
void fake_expect_body_contains(struct fake_exchange *x, const char *content_type,
                               const char *substr);
/* No body and no content type. */
void fake_expect_no_body(struct fake_exchange *x);
/* The request must carry exactly this bearer token (NULL: no token at all). */
void fake_expect_bearer(struct fake_exchange *x, const char *token);
/* The exchange may be used any number of times (e.g. a periodic discovery). */
void fake_expect_any_times(struct fake_exchange *x);

/* The answer: HTTP status and body (copied; NULL = empty). */
void fake_respond(struct fake_exchange *x, int http, const char *body);
/* Appends one body chunk (copied, len bytes); chunks are delivered one sink call
 * each, in order, so a watch stream can be split anywhere. */
void fake_respond_chunk(struct fake_exchange *x, const char *data, size_t len);
/* Sets the HTTP status of a chunked answer (default 200). */
void fake_respond_status(struct fake_exchange *x, int http);
/* After the chunks, keep the stream open (like an idle watch) until the
 * request's stop flag is set (then KUBE_TRANSPORT_STOPPED), or until
 * max_ms passed (then OP_ETIMEOUT). */
void fake_respond_hold(struct fake_exchange *x, int max_ms);
/* No HTTP answer: roundtrip fails with code (OP_ETRANSPORT, OP_ETIMEOUT, ...). */
void fake_respond_error(struct fake_exchange *x, int code, const char *msg);

/* Every request seen, in order (also unexpected ones). Strings are NUL-terminated
 * copies; body is NULL when there was none. */
struct fake_request {
    char *method;
    char *path;
    char *content_type;
    char *body;
    size_t body_len;
    char *bearer;     /* the bearer token sent, or NULL */
    int stream;
    int matched;      /* 1 when it matched an expectation */
};
size_t fake_request_count(struct fake_transport *f);
const struct fake_request *fake_request_at(struct fake_transport *f, size_t i);

/* 0 when every expectation (except any-times ones) was used and no request
 * was unexpected; else -1 with a description in buf. */
int fake_transport_check(struct fake_transport *f, char *buf, size_t n);
/* cmocka: fails the test with fake_transport_check()'s description. */
void fake_transport_assert_done(struct fake_transport *f);

#endif
