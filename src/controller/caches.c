/* caches.c - the webhook's lookups over the informer caches (see caches.h). */
#include "controller/caches.h"

json_t *ctrl_lookup_namespace(void *user, const char *name) {
    struct ctrl_caches *c = user;
    if (!c || !c->namespaces || !name)
        return NULL;
    return store_get(c->namespaces, name);
}

json_t *ctrl_lookup_instrumentations(void *user, const char *ns, int *failed) {
    struct ctrl_caches *c = user;
    if (failed)
        *failed = 0;
    if (!c || !c->instrumentations || !store_synced(c->instrumentations)) {
        if (failed)
            *failed = 1;
        return NULL;
    }
    return store_list(c->instrumentations, ns);
}

json_t *ctrl_lookup_tracingmodel(void *user, const char *ns, const char *name) {
    struct ctrl_caches *c = user;
    if (!c || !c->models || !ns || !name)
        return NULL;
    return store_get_nn(c->models, ns, name);
}
