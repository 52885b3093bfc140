/* strmap.c - string-keyed chained hash map (see strmap.h). */
#include "controller/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static unsigned hash_str(const char *s) {
    unsigned h = 2166136261u;   /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

void strmap_init(struct strmap *m, void (*val_free)(void *val)) {
    memset(m, 0, sizeof(*m));
    m->val_free = val_free;
}

void strmap_done(struct strmap *m) {
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *next = e->next;
            if (m->val_free)
                m->val_free(e->val);
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->len = 0;
}

static struct strmap_entry *find(const struct strmap *m, const char *key, unsigned h) {
    if (!m->nbuckets)
        return NULL;
    for (struct strmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void grow(struct strmap *m) {
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    struct strmap_entry **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void strmap_put(struct strmap *m, const char *key, void *val) {
    unsigned h = hash_str(key);
    struct strmap_entry *e = find(m, key, h);
    if (e) {
        if (m->val_free && e->val != val)
            m->val_free(e->val);
        e->val = val;
        return;
    }
    if (m->len + 1 > m->nbuckets / 4 * 3)
        grow(m);
    e = xmalloc(sizeof(*e));
    e->key = xstrdup(key);
    e->val = val;
    e->hash = h;
    e->next = m->buckets[h & (m->nbuckets - 1)];
    m->buckets[h & (m->nbuckets - 1)] = e;
    m->len++;
}

void *strmap_get(const struct strmap *m, const char *key) {
    struct strmap_entry *e = find(m, key, hash_str(key));
    return e ? e->val : NULL;
}

int strmap_has(const struct strmap *m, const char *key) {
    return find(m, key, hash_str(key)) != NULL;
}

const char *strmap_key(const struct strmap *m, const char *key) {
    struct strmap_entry *e = find(m, key, hash_str(key));
    return e ? e->key : NULL;
}

void *strmap_del(struct strmap *m, const char *key) {
    if (!m->nbuckets)
        return NULL;
    unsigned h = hash_str(key);
    struct strmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        struct strmap_entry *e = *pp;
        if (e->hash != h || strcmp(e->key, key) != 0)
            continue;
        *pp = e->next;
        void *val = e->val;
        if (m->val_free) {
            m->val_free(val);
            val = NULL;
        }
        free(e->key);
        free(e);
        m->len--;
        return val;
    }
    return NULL;
}

struct strmap_entry *strmap_first(const struct strmap *m) {
    for (size_t i = 0; i < m->nbuckets; i++)
        if (m->buckets[i])
            return m->buckets[i];
    return NULL;
}

struct strmap_entry *strmap_next(const struct strmap *m, const struct strmap_entry *e) {
    if (e->next)
        return e->next;
    for (size_t i = (e->hash & (m->nbuckets - 1)) + 1; i < m->nbuckets; i++)
        if (m->buckets[i])
            return m->buckets[i];
    return NULL;
}
