/* store.h - an informer's cache: "namespace/name" -> the object (jansson), thread-safe.
 *
 * Objects are kept as compact JSON text (a small object is ~5x smaller as text
 * than as a jansson tree) and parsed on each read: readers get a NEW object of
 * their own. Writers are the informer threads and the reconcilers (responses of
 * their own writes); readers are workers and the webhook (caches.h lookups).
 *
 * A relist replaces the content with mark and sweep: store_replace_begin() gives a
 * mark, one store_put() per listed item follows, then store_replace_end(mark, ns)
 * removes the objects of that namespace (all when ns is NULL) not put since the
 * mark (reporting each removal to a callback). Several informers (one per
 * namespace) may feed one store and relist concurrently. Keys are
 * "ns/name", or "name" for cluster-scoped objects (client-go's key format). */
#ifndef OP_CONTROLLER_STORE_H
#define OP_CONTROLLER_STORE_H
#include <jansson.h>
#include <stddef.h>

struct store;

struct store *store_new(void);
void store_free(struct store *s);   /* NULL-safe */

/* Writes obj's key into buf; 0, or OP_EINVALID when metadata.name is missing
 * (or the key does not fit). */
int store_key_of(const json_t *obj, char *buf, size_t n);

/* Inserts or replaces obj (the reference is stolen, even on error: the store keeps
 * its text). *ret_old (if not NULL) receives the previous object (new ref) or NULL.
 * Returns 0, or OP_EINVALID for an object without metadata.name. */
int store_put(struct store *s, json_t *obj, json_t **ret_old);
/* Like store_put, but keeps the cached object when it is newer than obj (both
 * resourceVersions decimal and the cached one larger): e.g. a status-patch response
 * put into the cache must not be overwritten by a late, older watch event.
 * Returns 1 when obj was stored, 0 when dropped, OP_EINVALID as store_put. */
int store_put_if_newer(struct store *s, json_t *obj);
/* Removes key; *ret_old (if not NULL) receives the removed object (new ref).
 * Returns 0, or OP_ENOTFOUND. */
int store_remove(struct store *s, const char *key, json_t **ret_old);

typedef void (*store_removed_fn)(void *ud, const char *key, json_t *old /* borrowed */);
unsigned store_replace_begin(struct store *s);
/* Removes every object of ns (NULL = any) not put since the mark; calls cb (may be
 * NULL) for each, outside the lock. Returns how many were removed. */
size_t store_replace_end(struct store *s, unsigned mark, const char *ns, store_removed_fn cb,
                         void *ud);

/* new ref, or NULL when absent. */
json_t *store_get(struct store *s, const char *key);
json_t *store_get_nn(struct store *s, const char *ns, const char *name);
/* new ref: array (new) of every object in ns (NULL = all), in no particular order. */
json_t *store_list(struct store *s, const char *ns);
/* new: array of the keys (caller frees each and the array); *ret_n the count. */
char **store_keys(struct store *s, size_t *ret_n);
size_t store_len(struct store *s);

/* Set by the informer after its first complete list. */
void store_set_synced(struct store *s, int synced);
int store_synced(struct store *s);

/* Slimming helpers for objects about to be cached: drops metadata.managedFields and
 * the kubectl last-applied-configuration annotation (obj must not be shared). */
void store_strip(json_t *obj);

#endif
