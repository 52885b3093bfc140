/* admission.h - AdmissionReview (admission.k8s.io/v1) in, AdmissionReview out (pure).
 *
 * The HTTPS server (server.c) hands each request body to admission_handle() and
 * writes back the bytes it returns. Lookups of cluster state go through the
 * callbacks in struct admission_ctx, which the edge fills from informer caches;
 * this code does no I/O of its own.
 *
 * Paths:
 *   /mutate-v1-pod             pod injection (mutate.h). Never blocks a pod: a body
 *                              that is not an AdmissionReview, an internal error, a
 *                              failed lookup: allowed=true, no patch, and a warning
 *                              "tracing-operator: ..." (echoing request.uid when found).
 *   /validate-tracingmodel     tm_load() (the `tracing-operator validate` code):
 *   /validate-instrumentation  tinst_load(). Errors deny with code 422 and a message
 *                              naming every field; warnings go to `warnings`.
 *                              A malformed AdmissionReview is denied with code 400.
 *                              DELETE is always allowed.
 *   /validate-workload         Deployment, StatefulSet, DaemonSet, Job, CronJob: always
 *                              allowed, with a warning per injection annotation that
 *                              can never reach the pods (workload.h). Never refuses,
 *                              whatever the body.
 * Any other path: http_status 404 and a plain-text body.
 * Bodies over ADMISSION_MAX_BODY: mutate and validate-workload admit (uid unknown), the
 * other validations deny 413. */
#ifndef OP_WEBHOOK_ADMISSION_H
#define OP_WEBHOOK_ADMISSION_H
#include <jansson.h>
#include <stddef.h>

#include "webhook/mutate.h"

#define ADMISSION_PATH_MUTATE_POD "/mutate-v1-pod"
#define ADMISSION_PATH_VALIDATE_TM "/validate-tracingmodel"
#define ADMISSION_PATH_VALIDATE_TINST "/validate-instrumentation"
#define ADMISSION_PATH_VALIDATE_WORKLOAD "/validate-workload"
#define ADMISSION_API_VERSION "admission.k8s.io/v1"
/* The API server caps objects at ~1.5 MiB in etcd and requests at 3 MiB. */
#define ADMISSION_MAX_BODY (3u * 1024 * 1024)
/* Admission warnings longer than this are cut (the API server truncates too). */
#define ADMISSION_MAX_WARNING 256

/* Defaulted TracingModels and defaulted/validated Instrumentations kept between
 * requests (tm_default()/tinst_load() of the same cached objects on every pod were a
 * sixth of a pod admission). An entry is keyed by kind + namespace/name and is used
 * only while the looked-up object has the same metadata.uid and
 * metadata.resourceVersion (what Kubernetes changes on every write); an object
 * without a resourceVersion is defaulted on every request. An Instrumentation that
 * fails validation is kept with its error until its next version. At most
 * ADMISSION_CACHE_MAX entries of both kinds together (then slots are reused round
 * robin). Thread-safe; the cached objects are shared read-only between requests. */
#define ADMISSION_CACHE_MAX 256
struct admission_cache;
struct admission_cache *admission_cache_new(void);
void admission_cache_free(struct admission_cache *c);   /* NULL-safe */

/* Lookups the edge provides (any may be NULL = "nothing found"). Every returned
 * json_t is a NEW reference the caller (admission code) releases. Returning NULL
 * from list_instrumentations with *failed set means the lookup failed (cache not
 * synced, ...): the pod is admitted unchanged with a warning. */
struct admission_ctx {
    void *user;
    /* The Namespace object, or NULL. */
    json_t *(*get_namespace)(void *user, const char *name);
    /* Array of the Instrumentations in ns (possibly empty). */
    json_t *(*list_instrumentations)(void *user, const char *ns, int *failed);
    /* The TracingModel ns/name, or NULL. */
    json_t *(*get_tracingmodel)(void *user, const char *ns, const char *name);
    /* 0 (the default): a pod review is parsed without the members the pod path
     * never reads (managedFields, probes, status, ...; see admission.c). 1: parsed
     * whole, for the test that proves leaving them out changes no answer. */
    int parse_whole_request;
};

struct admission_result {
    char *body;          /* response bytes (JSON AdmissionReview, or text for 404); never NULL */
    size_t len;
    int http_status;     /* 200 for every AdmissionReview answer; 404 unknown path */
    int allowed;         /* what the response says */
    int dry_run;         /* request.dryRun: the edge must not emit Events */
    size_t warnings;     /* how many warnings the response carries */
    /* Pod mutation only (else decision MUTATE_NOT_REQUESTED and "" strings): */
    enum mutate_decision decision;
    char *langs, *reason, *instrumentation;  /* as in struct mutate_result */
    char *pod_namespace;
    char *pod_name;      /* metadata.name, or generateName when the name is not known yet */
    char *owner_kind, *owner_name, *owner_uid; /* controller ownerReference, or "" */
    char *uid;           /* request.uid, or "" */
};

/* Handles one request. Always fills out (free with admission_result_free). Returns 0,
 * or OP_EINVALID when the body was not a usable AdmissionReview / the path is
 * unknown (out still holds the answer to send). */
int admission_handle(const char *path, const char *body, size_t len,
                     const struct admission_ctx *ctx, struct admission_result *out);
/* The same, with defaulted TracingModels and Instrumentations kept in cache between
 * calls (NULL = none). */
int admission_handle_cached(const char *path, const char *body, size_t len,
                            const struct admission_ctx *ctx, struct admission_cache *cache,
                            struct admission_result *out);
void admission_result_free(struct admission_result *r);

#endif
