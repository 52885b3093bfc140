/* store.c - thread-safe "ns/name" -> json_t cache with mark-and-sweep relist (see store.h). */
#include "controller/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jarena.h"
#include "base/xalloc.h"
#include "controller/strmap.h"

/* Objects are kept as compact JSON text and parsed on each read: a small
 * TracingModel is ~1 KB as text but ~5 KB as a jansson tree, and reads are rare
 * (one per reconcile or admission). */
struct entry {
    char *text;
    size_t len;
    unsigned long long rv;   /* numeric resourceVersion, 0 when not a number */
    unsigned epoch;
};

struct store {
    pthread_rwlock_t lock;
    struct strmap map;   /* key -> struct entry */
    unsigned epoch;
    int synced;
};

static void entry_free(void *p) {
    struct entry *e = p;
    if (!e)
        return;
    free(e->text);
    free(e);
}

static json_t *entry_obj(const struct entry *e) {
    return json_loadb(e->text, e->len, 0, NULL);
}

struct store *store_new(void) {
    struct store *s = xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    strmap_init(&s->map, entry_free);
    return s;
}

void store_free(struct store *s) {
    if (!s)
        return;
    strmap_done(&s->map);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

int store_key_of(const json_t *obj, char *buf, size_t n) {
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (!name || !*name)
        return OP_EINVALID;
    int w = ns && *ns ? snprintf(buf, n, "%s/%s", ns, name) : snprintf(buf, n, "%s", name);
    return w < 0 || (size_t)w >= n ? OP_EINVALID : 0;
}

static unsigned long long rv_number(const json_t *obj) {
    const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                      "resourceVersion"));
    if (!s || !*s || strlen(s) > 19)
        return 0;
    unsigned long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (unsigned long long)(*s - '0');
    }
    return v;
}

/* Stores obj under key (write lock held). newer_only: keep a newer cached version. */
static int put_locked(struct store *s, const char *key, json_t *obj, int newer_only,
                      json_t **ret_old) {
    unsigned long long rv = rv_number(obj);
    struct entry *e = strmap_get(&s->map, key);
    if (e && newer_only && rv && e->rv > rv) {
        e->epoch = s->epoch;
        return 0;
    }
    if (ret_old)
        *ret_old = e ? entry_obj(e) : NULL;
    char *text = jarena_dumps(obj, JSON_COMPACT);
    if (!text)
        return OP_EINVALID;
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        strmap_put(&s->map, key, e);
    }
    free(e->text);
    e->text = text;
    e->len = strlen(text);
    e->rv = rv;
    e->epoch = s->epoch;
    return 1;
}

int store_put(struct store *s, json_t *obj, json_t **ret_old) {
    char key[512];
    if (ret_old)
        *ret_old = NULL;
    if (store_key_of(obj, key, sizeof(key)) < 0) {
        json_decref(obj);
        return OP_EINVALID;
    }
    pthread_rwlock_wrlock(&s->lock);
    int rc = put_locked(s, key, obj, 0, ret_old);
    pthread_rwlock_unlock(&s->lock);
    json_decref(obj);
    return rc < 0 ? rc : 0;
}

int store_put_if_newer(struct store *s, json_t *obj) {
    char key[512];
    if (store_key_of(obj, key, sizeof(key)) < 0) {
        json_decref(obj);
        return OP_EINVALID;
    }
    pthread_rwlock_wrlock(&s->lock);
    int rc = put_locked(s, key, obj, 1, NULL);
    pthread_rwlock_unlock(&s->lock);
    json_decref(obj);
    return rc;
}

int store_remove(struct store *s, const char *key, json_t **ret_old) {
    if (ret_old)
        *ret_old = NULL;
    pthread_rwlock_wrlock(&s->lock);
    struct entry *e = strmap_get(&s->map, key);
    if (!e) {
        pthread_rwlock_unlock(&s->lock);
        return OP_ENOTFOUND;
    }
    if (ret_old)
        *ret_old = entry_obj(e);
    strmap_del(&s->map, key);
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

unsigned store_replace_begin(struct store *s) {
    pthread_rwlock_wrlock(&s->lock);
    unsigned mark = ++s->epoch;
    pthread_rwlock_unlock(&s->lock);
    return mark;
}

static int in_ns(const char *key, const char *ns) {
    if (!ns)
        return 1;
    size_t n = strlen(ns);
    return !strncmp(key, ns, n) && key[n] == '/';
}

size_t store_replace_end(struct store *s, unsigned mark, const char *ns, store_removed_fn cb,
                         void *ud) {
    size_t n = 0, cap = 0;
    char **keys = NULL;
    json_t **objs = NULL;
    pthread_rwlock_wrlock(&s->lock);
    for (struct strmap_entry *it = strmap_first(&s->map); it; it = strmap_next(&s->map, it)) {
        struct entry *e = it->val;
        if (e->epoch >= mark || !in_ns(it->key, ns))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            keys = xrealloc(keys, cap * sizeof(*keys));
            objs = xrealloc(objs, cap * sizeof(*objs));
        }
        keys[n] = xstrdup(it->key);
        objs[n] = entry_obj(e);
        n++;
    }
    for (size_t i = 0; i < n; i++)
        strmap_del(&s->map, keys[i]);
    pthread_rwlock_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        if (cb)
            cb(ud, keys[i], objs[i]);
        json_decref(objs[i]);
        free(keys[i]);
    }
    free(keys);
    free(objs);
    return n;
}

json_t *store_get(struct store *s, const char *key) {
    pthread_rwlock_rdlock(&s->lock);
    struct entry *e = strmap_get(&s->map, key);
    json_t *o = e ? entry_obj(e) : NULL;
    pthread_rwlock_unlock(&s->lock);
    return o;
}

json_t *store_get_nn(struct store *s, const char *ns, const char *name) {
    char key[512];
    int w = ns && *ns ? snprintf(key, sizeof(key), "%s/%s", ns, name)
                      : snprintf(key, sizeof(key), "%s", name);
    if (w < 0 || (size_t)w >= sizeof(key))
        return NULL;
    return store_get(s, key);
}

json_t *store_list(struct store *s, const char *ns) {
    json_t *arr = json_array();
    size_t nslen = ns ? strlen(ns) : 0;
    pthread_rwlock_rdlock(&s->lock);
    for (struct strmap_entry *it = strmap_first(&s->map); it; it = strmap_next(&s->map, it)) {
        if (ns && (strncmp(it->key, ns, nslen) != 0 || it->key[nslen] != '/'))
            continue;
        json_t *o = entry_obj(it->val);
        if (o)
            json_array_append_new(arr, o);
    }
    pthread_rwlock_unlock(&s->lock);
    return arr;
}

char **store_keys(struct store *s, size_t *ret_n) {
    pthread_rwlock_rdlock(&s->lock);
    size_t n = 0;
    char **keys = xmalloc((s->map.len + 1) * sizeof(*keys));
    for (struct strmap_entry *it = strmap_first(&s->map); it; it = strmap_next(&s->map, it))
        keys[n++] = xstrdup(it->key);
    pthread_rwlock_unlock(&s->lock);
    *ret_n = n;
    return keys;
}

size_t store_len(struct store *s) {
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->map.len;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

void store_set_synced(struct store *s, int synced) {
    pthread_rwlock_wrlock(&s->lock);
    s->synced = synced;
    pthread_rwlock_unlock(&s->lock);
}

int store_synced(struct store *s) {
    pthread_rwlock_rdlock(&s->lock);
    int v = s->synced;
    pthread_rwlock_unlock(&s->lock);
    return v;
}

void store_strip(json_t *obj) {
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md))
        return;
    json_object_del(md, "managedFields");
    json_t *ann = json_object_get(md, "annotations");
    if (json_is_object(ann)) {
        json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
        if (json_object_size(ann) == 0)
            json_object_del(md, "annotations");
    }
}
