/* caches.h - the controller's informer caches and the read-only lookups the
 * admission webhook needs over them.
 *
 * The lookup functions have exactly the shapes of struct admission_ctx
 * (webhook/admission.h), so the wiring is:
 *     struct admission_ctx ax = {.user = controller_caches(c),
 *                                .get_namespace = ctrl_lookup_namespace,
 *                                .list_instrumentations = ctrl_lookup_instrumentations,
 *                                .get_tracingmodel = ctrl_lookup_tracingmodel};
 * They are thread-safe, never block on the network, and return NEW references. */
#ifndef OP_CONTROLLER_CACHES_H
#define OP_CONTROLLER_CACHES_H
#include <jansson.h>

#include "controller/children.h"
#include "controller/store.h"

struct ctrl_caches {
    struct store *models;            /* TracingModels */
    struct store *instrumentations;  /* Instrumentations */
    struct store *namespaces;        /* Namespaces (metadata only); may be NULL */
    struct children *children;       /* the objects the operator created */
};

/* user: struct ctrl_caches *. The Namespace, or NULL (unknown, or caches not synced). */
json_t *ctrl_lookup_namespace(void *user, const char *name);
/* Array of the Instrumentations in ns. NULL with *failed = 1 while the cache has not
 * synced (the webhook then admits the pod unchanged and says why). */
json_t *ctrl_lookup_instrumentations(void *user, const char *ns, int *failed);
/* The TracingModel ns/name, or NULL. */
json_t *ctrl_lookup_tracingmodel(void *user, const char *ns, const char *name);

#endif
