/* strmap.h - a small string-keyed hash map (chained, grows by doubling).
 *
 * Keys are copied in; values are opaque pointers owned by the caller unless a
 * val_free callback is given, which is then called on overwrite, delete and
 * strmap_free. Not thread-safe: the owners (store, work queue) lock around it. */
#ifndef OP_CONTROLLER_STRMAP_H
#define OP_CONTROLLER_STRMAP_H
#include <stddef.h>

struct strmap_entry {
    char *key;
    void *val;
    unsigned hash;
    struct strmap_entry *next;
};

struct strmap {
    struct strmap_entry **buckets;
    size_t nbuckets, len;
    void (*val_free)(void *val);
};

void strmap_init(struct strmap *m, void (*val_free)(void *val));
void strmap_done(struct strmap *m);            /* frees every entry (and values via val_free) */
/* Sets key to val, replacing (and freeing via val_free) an old value. */
void strmap_put(struct strmap *m, const char *key, void *val);
/* The value, or NULL when absent (so store non-NULL values, or use strmap_has). */
void *strmap_get(const struct strmap *m, const char *key);
int strmap_has(const struct strmap *m, const char *key);
/* The entry's stored key (valid while the entry lives), or NULL. */
const char *strmap_key(const struct strmap *m, const char *key);
/* Removes key; returns its value when val_free is NULL (else frees it and returns NULL). */
void *strmap_del(struct strmap *m, const char *key);

/* Iteration: for (it = strmap_first(m); it; it = strmap_next(m, it)). The map must not
 * change during iteration (collect keys first, then delete). */
struct strmap_entry *strmap_first(const struct strmap *m);
struct strmap_entry *strmap_next(const struct strmap *m, const struct strmap_entry *e);

#endif
