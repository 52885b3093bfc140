/* client.h - a thin, unstructured Kubernetes API client: objects are jansson
 * values all the way, addressed by group/version/resource.
 *
 * Threading: a struct kube_client is used by ONE thread at a time (it owns one
 * libcurl easy handle for connection reuse and a response buffer). Give each
 * informer/worker thread its own client (kube_client_new from the same config);
 * share a struct kube_metrics between them. The only calls that may come from
 * other threads are kube_has_api() and setting a watch's stop flag.
 *
 * Results: every json_t ** out-parameter receives a NEW reference (caller
 * decrefs) and may be NULL when the caller does not want the result. Every
 * json_t * argument is borrowed. Every function returns 0 or a negative OP_E*
 * code from status.h's table, with st (may be NULL) filled: st->http is the
 * HTTP status and st->reason / st->msg come from the API server's Status. */
#ifndef OP_KUBE_CLIENT_H
#define OP_KUBE_CLIENT_H
#include <jansson.h>
#include <stdatomic.h>

#include "base/err.h"
#include "kube/config.h"
#include "kube/metrics.h"
#include "kube/resource.h"
#include "kube/status.h"
#include "kube/transport.h"
#include "kube/watch.h"

#define KUBE_FIELD_MANAGER "tracing-operator"
#define KUBE_MAX_RESPONSE (64u * 1024 * 1024)   /* larger bodies: OP_ETOOBIG */
#define KUBE_LIST_PAGE 500                      /* default `limit` of a list page */

struct kube_client;

/* A client over libcurl for cfg (cfg is copied; free it when you like). */
struct kube_client *kube_client_new(const struct kube_config *cfg, struct op_status *st);

/* A client over any transport (tests: the fake). The client takes t and calls
 * t->ops->destroy(t) in kube_client_free(). */
struct kube_client *kube_client_new_with_transport(const struct kube_config *cfg,
                                                   struct kube_transport *t,
                                                   struct op_status *st);
void kube_client_free(struct kube_client *c);

/* Borrowed for the client's lifetime: the context's namespace ("default"). */
const char *kube_client_namespace(const struct kube_client *c);

/* Requests are counted into m (borrowed; NULL = not counted). */
void kube_client_set_metrics(struct kube_client *c, struct kube_metrics *m);

/* GET one object. ref->name is required. */
int kube_get(struct kube_client *c, const struct kube_ref *ref, json_t **ret,
             struct op_status *st);

struct kube_list_opts {
    const char *label_selector;    /* NULL = none */
    const char *field_selector;
    const char *resource_version;  /* NULL = most recent; "0" = any (from cache) */
    long limit;                    /* page size; 0 = KUBE_LIST_PAGE */
};

/* LIST every page (following `continue`). *ret is a new object
 * {"apiVersion", "kind": "<Kind>List", "metadata": {"resourceVersion": RV},
 *  "items": [...]} with RV the list's resourceVersion (start a watch there);
 * items get apiVersion/kind filled in when the server left them out.
 * OP_EGONE when a continue token expired mid-way: list again. */
int kube_list(struct kube_client *c, const struct kube_ref *ref,
              const struct kube_list_opts *opts, json_t **ret, struct op_status *st);

struct kube_watch_opts {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version;  /* from the list or the last event/bookmark */
    int timeout_seconds;           /* server-side end of the watch; 0 = server default */
    int no_bookmarks;              /* 0 = send allowWatchBookmarks=true */
    atomic_int *stop;              /* optional: set non-zero (any thread) to end the watch */
};

#define KUBE_WATCH_STOPPED 1

/* WATCH ref (a collection; ref->name set = fieldSelector metadata.name=<name>).
 * cb gets ADDED, MODIFIED, DELETED and BOOKMARK events with a BORROWED object.
 * Returns 0 when the server ended the stream (timeout: watch again from the last
 * resourceVersion), KUBE_WATCH_STOPPED when cb returned non-zero or *stop was
 * set, OP_EGONE when the resourceVersion is too old (HTTP 410 or an ERROR event
 * with a 410 Status: list again), other negative codes on errors. */
int kube_watch(struct kube_client *c, const struct kube_ref *ref,
               const struct kube_watch_opts *opts, kube_event_fn cb, void *ud,
               struct op_status *st);

/* POST obj to its collection (ref from apiVersion/kind/metadata.namespace). */
int kube_create(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st);

/* Server-side apply: PATCH obj's path, application/apply-patch+yaml with a JSON
 * body, ?fieldManager=tracing-operator&force=true. metadata.name is required. */
int kube_apply(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st);

/* PUT obj (e.g. a Lease; metadata.resourceVersion makes it conditional: OP_ECONFLICT). */
int kube_update(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st);

/* PATCH ref with application/merge-patch+json. */
int kube_merge_patch(struct kube_client *c, const struct kube_ref *ref, const json_t *patch,
                     json_t **ret, struct op_status *st);

/* kube_merge_patch on ref's "status" subresource (ref->subresource is ignored). */
int kube_patch_status(struct kube_client *c, const struct kube_ref *ref, const json_t *patch,
                      json_t **ret, struct op_status *st);

/* PATCH ref with application/json-patch+json; ops is an array of RFC 6902
 * operations (e.g. replace .../caBundle). */
int kube_json_patch(struct kube_client *c, const struct kube_ref *ref, const json_t *ops,
                    json_t **ret, struct op_status *st);

enum kube_propagation {
    KUBE_PROPAGATE_BACKGROUND = 0,   /* the default */
    KUBE_PROPAGATE_FOREGROUND,
    KUBE_PROPAGATE_ORPHAN
};

/* DELETE ref with a DeleteOptions body carrying propagationPolicy.
 * OP_ENOTFOUND when it is already gone (callers usually treat that as done). */
int kube_delete(struct kube_client *c, const struct kube_ref *ref, enum kube_propagation prop,
                struct op_status *st);

/* GET /apis (and /api): remembers the set of group/versions served
 * ("v1", "apps/v1", "telemetry.istio.io/v1", ...). Refreshing (e.g. when CRDs
 * appear or vanish) is the caller's job. */
int kube_discover(struct kube_client *c, struct op_status *st);

/* 1 when group_version was served at the last kube_discover(), else 0
 * (also before any discovery). Safe from any thread. */
int kube_has_api(struct kube_client *c, const char *group_version);

#endif
