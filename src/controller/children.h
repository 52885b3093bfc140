/* children.h - a compact cache of the objects the operator created (its "children").
 *
 * The children informers watch every kind the renderers emit, selected by the
 * label app.kubernetes.io/managed-by=tracing-operator. Caching those objects
 * whole would cost tens of KiB each in jansson; this cache keeps only what
 * reconciling needs: identity, owner, the applied-hash annotation, whether the
 * object is being deleted, workload readiness, and drift. About 300 bytes a child.
 *
 * Drift: the applied-hash annotation only says what we sent, not whether another
 * field manager has since taken or removed a field we applied. So each record keeps
 * a hash of our managedFields entry (manager tracing-operator, operation Apply: its
 * fieldsV1 set), computed from the full object before anything strips it:
 *   base - from the answer to our last apply (children_put_applied), or from a
 *          version whose applied-hash annotation changed (an apply of ours or of
 *          another replica), or else from the first version seen;
 *   seen - from the newest version seen (watch event, relist, apply answer).
 * seen != base means our field set changed without us: the child "drifted", the
 * owner is requeued (children_put returns 1) and the reconcile applies that child
 * again (force takes the fields back; fields only the other manager set survive).
 * An object without managedFields at all (not from an API server) never drifts.
 *
 * Owner: "ns/model" from the label tracemodel.dev/model plus the object's own
 * namespace, or the annotation tracemodel.dev/owner ("ns/model") for objects in
 * another namespace (e.g. an Istio Telemetry in the mesh root namespace), which
 * wins when both are set. Thread-safe. */
#ifndef OP_CONTROLLER_CHILDREN_H
#define OP_CONTROLLER_CHILDREN_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CHILD_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define CHILD_MANAGED_BY "tracing-operator"
#define CHILD_SELECTOR CHILD_LABEL_MANAGED_BY "=" CHILD_MANAGED_BY
#define CHILD_LABEL_MODEL "tracemodel.dev/model"
#define CHILD_ANN_OWNER "tracemodel.dev/owner"
#define CHILD_ANN_HASH "tracemodel.dev/applied-hash"

/* What the cache knows about one child (a copy owned by the caller when handed out). */
struct child {
    char *api_version;      /* "apps/v1" */
    char *kind;             /* "Deployment" */
    char *ns;               /* "" for cluster-scoped objects */
    char *name;
    char *owner;            /* "ns/model", or NULL when neither label nor annotation says */
    char hash[65];          /* the applied-hash annotation, "" when absent */
    int deleting;           /* metadata.deletionTimestamp is set */
    int workload;           /* Deployment/StatefulSet/DaemonSet: the counts below are meaningful */
    int32_t want, ready;    /* desired and available replicas (pods for a DaemonSet) */
    int32_t updated;        /* up-to-date replicas (Deployment/DaemonSet), else = ready */
    int64_t generation, observed_generation;
    int mf_state;           /* 1: fields_hash below is meaningful (managedFields present) */
    uint64_t fields_hash;   /* child_owned_fields_hash() of this object */
    int drift;              /* from the cache only: seen != base (see above) */
};

void child_done(struct child *c);                 /* frees the strings */
void children_array_free(struct child *arr, size_t n);

/* Pure: fills *out from an object (strings are new). OP_EINVALID without
 * apiVersion, kind or metadata.name. */
int child_from_object(const json_t *obj, struct child *out);

/* Pure: a 64-bit hash of the fieldsV1 (and apiVersion) of every managedFields entry
 * with manager CHILD_MANAGED_BY and operation Apply (no subresource), in order.
 * 1 and *ret set when obj has metadata.managedFields (an absent entry of ours hashes
 * to a fixed value: "nothing is ours"); 0 (and *ret = 0) when it has none. */
int child_owned_fields_hash(const json_t *obj, uint64_t *ret);

/* Pure: is the child ready? Non-workloads: exists and not deleting. Workloads:
 * the controller saw the current generation and ready >= want (and updated >= want). */
int child_is_ready(const struct child *c);

struct children;
struct children *children_new(void);
void children_free(struct children *cc);   /* NULL-safe */

/* Upserts obj (borrowed). *ret_owner / *ret_old_owner (if not NULL) receive new
 * strings naming the owner now and before (NULL when none), so the caller can
 * enqueue both. Returns 1 when the child is new or something a reconcile looks at
 * changed (owner, hash, deleting, readiness, drift), 0 when not (or when obj is
 * older than the cached version, by numeric resourceVersion: then nothing is
 * replaced), or OP_EINVALID. */
int children_put(struct children *cc, const json_t *obj, char **ret_owner, char **ret_old_owner);
/* Like children_put, for the answer to our own apply (the live object as it now is):
 * it also becomes the drift base, even when a newer version was already seen (then
 * only the base changes). No owners are returned. */
int children_put_applied(struct children *cc, const json_t *obj);
/* Removes obj (borrowed; matched by apiVersion/kind/ns/name). *ret_owner as above. */
int children_remove(struct children *cc, const json_t *obj, char **ret_owner);

/* Relist of one kind (in one namespace, or all when ns is NULL): begin gives a mark,
 * children_put each item, end removes the children of that kind (and namespace) not
 * put since the mark, calling cb(ud, owner) for each that had an owner. */
typedef void (*children_owner_fn)(void *ud, const char *owner);
unsigned children_replace_begin(struct children *cc);
size_t children_replace_end(struct children *cc, unsigned mark, const char *api_version,
                            const char *kind, const char *ns, children_owner_fn cb, void *ud);

/* Copies of every child owned by owner ("ns/model"). Returns the count; *ret is a
 * new array (children_array_free). */
size_t children_of(struct children *cc, const char *owner, struct child **ret);
/* Copy of one child; 0, or OP_ENOTFOUND. */
int children_lookup(struct children *cc, const char *api_version, const char *kind,
                    const char *ns, const char *name, struct child *ret);
size_t children_len(struct children *cc);
/* Every owner that has children (new array of new strings). */
char **children_owners(struct children *cc, size_t *ret_n);

#endif
