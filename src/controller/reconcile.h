/* reconcile.h - reconcilers of TracingModels and Instrumentations.
 *
 * A reconcile reads the informer caches, computes what should exist, and writes
 * only the difference: server-side apply of each desired child whose applied-hash
 * annotation differs from the live one (an unchanged model issues no write),
 * deletion of stale children, a status merge patch when the status changed,
 * Events for failures, deletions and skipped integrations. Each worker calls it
 * with its own kube client. */
#ifndef OP_CONTROLLER_RECONCILE_H
#define OP_CONTROLLER_RECONCILE_H
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/diag.h"
#include "controller/caches.h"
#include "controller/children.h"
#include "controller/clock.h"
#include "controller/events.h"
#include "controller/store.h"
#include "render/render.h"

#define TM_FINALIZER "tracemodel.dev/cleanup"
#define TM_GROUP_VERSION "tracemodel.dev/v1alpha1"

/* Queue keys carry the kind: "tm:<ns>/<name>" and "ti:<ns>/<name>". */
#define KEY_PREFIX_MODEL "tm:"
#define KEY_PREFIX_INST "ti:"

/* Return values besides negative OP_E* codes (which mean: retry with backoff). */
#define RECONCILE_DONE 0
#define RECONCILE_STOPPED 1   /* leadership lost before a write: nothing written, retry later */

typedef int (*render_fn)(const json_t *model, struct render_result *out, struct diag *d);
typedef int (*api_served_fn)(void *ud, const char *group_version);

struct rollout_memory;
struct list_filter;

struct reconcile_env {
    struct kube_client *client;       /* this worker's */
    struct ctrl_caches *caches;
    const struct op_clock *clock;
    render_fn render;                 /* render_model, or a fake in tests */
    api_served_fn api_served;         /* discovery: is group/version served? */
    void *api_ud;
    struct events *events;            /* may be NULL: no Events */
    atomic_int *leading;              /* NULL = always allowed to write */
    /* Instrumentations' pod checks and rollouts (rollout.h): NULL = none (the status
     * then leaves injectionHash and uninstrumentedPods alone). */
    struct rollout_memory *rollout;
    struct list_filter *lf;           /* the list filter under client (pods are streamed), or NULL */
    int64_t requeue_after_ms;         /* out: reconcile the key again after this (0 = no) */
};

/* key: "<ns>/<name>" (without the prefix). RECONCILE_DONE, RECONCILE_STOPPED or OP_E*. */
int reconcile_model(struct reconcile_env *env, const char *key);
int reconcile_instrumentation(struct reconcile_env *env, const char *key);

/* ---- pure helpers, exposed for tests ---- */

/* The optional integration an apiVersion belongs to ("Istio", "PrometheusOperator",
 * "JaegerOperator", "TempoOperator"), or NULL for APIs that are always served. */
const char *integration_of(const char *api_version);

/* Prepares a rendered manifest for apply (in place): ownerReference to the model
 * (controller, blockOwnerDeletion) when it is in the model's namespace, else the
 * tracemodel.dev/owner annotation; the managed-by and model labels; and the
 * applied-hash annotation over the canonical JSON of everything else. Returns 1
 * when the object lives in another namespace (needs the finalizer), 0 otherwise,
 * OP_EINVALID for a manifest without apiVersion/kind/metadata.name. hash gets the
 * hash (65 bytes). */
int prepare_child(json_t *obj, const json_t *model, char hash[65]);

#endif
