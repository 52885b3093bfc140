/* children.c - the compact cache of owned objects (see children.h). */
#include "controller/children.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "controller/strmap.h"

struct rec {
    struct child c;
    unsigned epoch;
    unsigned long long rv;   /* numeric resourceVersion, 0 when not a number */
};

/* resourceVersions are opaque, but every API server makes them decimal integers
 * (etcd revisions); when both are numbers an older one never replaces a newer. */
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

static int str_eq(const char *a, const char *b) {
    return a == b || (a && b && !strcmp(a, b));
}

/* Did anything the reconciler looks at change? */
static int child_differs(const struct child *a, const struct child *b) {
    return !str_eq(a->owner, b->owner) || strcmp(a->hash, b->hash) != 0 ||
           a->deleting != b->deleting || a->workload != b->workload || a->want != b->want ||
           a->ready != b->ready || a->updated != b->updated || a->generation != b->generation ||
           a->observed_generation != b->observed_generation;
}

struct children {
    pthread_mutex_t mu;
    struct strmap map;      /* "apiVersion/kind/ns/name" -> struct rec */
    struct strmap owners;   /* owner -> struct strmap (set of child keys) */
    struct strmap epochs;   /* "apiVersion/kind" -> struct kind_epoch */
};

struct kind_epoch {
    unsigned epoch;
};

void child_done(struct child *c) {
    if (!c)
        return;
    free(c->api_version);
    free(c->kind);
    free(c->ns);
    free(c->name);
    free(c->owner);
    memset(c, 0, sizeof(*c));
}

void children_array_free(struct child *arr, size_t n) {
    for (size_t i = 0; i < n; i++)
        child_done(&arr[i]);
    free(arr);
}

static const char *str_at(const json_t *obj, const char *k1, const char *k2) {
    json_t *v = json_object_get(obj, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

static int64_t int_at(const json_t *obj, const char *k1, const char *k2, int64_t dflt) {
    json_t *v = json_object_get(json_object_get(obj, k1), k2);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static int32_t clamp32(int64_t v) {
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static void read_workload(const json_t *obj, struct child *c) {
    if (strcmp(c->api_version, "apps/v1") != 0)
        return;
    if (!strcmp(c->kind, "Deployment")) {
        c->workload = 1;
        c->want = clamp32(int_at(obj, "spec", "replicas", 1));
        c->ready = clamp32(int_at(obj, "status", "availableReplicas", 0));
        c->updated = clamp32(int_at(obj, "status", "updatedReplicas", 0));
    } else if (!strcmp(c->kind, "StatefulSet")) {
        c->workload = 1;
        c->want = clamp32(int_at(obj, "spec", "replicas", 1));
        json_t *st = json_object_get(obj, "status");
        c->ready = json_is_integer(json_object_get(st, "availableReplicas"))
                       ? clamp32(int_at(obj, "status", "availableReplicas", 0))
                       : clamp32(int_at(obj, "status", "readyReplicas", 0));
        c->updated = json_is_integer(json_object_get(st, "updatedReplicas"))
                         ? clamp32(int_at(obj, "status", "updatedReplicas", 0))
                         : c->ready;
    } else if (!strcmp(c->kind, "DaemonSet")) {
        c->workload = 1;
        c->want = clamp32(int_at(obj, "status", "desiredNumberScheduled", 0));
        c->ready = clamp32(int_at(obj, "status", "numberAvailable", 0));
        c->updated = clamp32(int_at(obj, "status", "updatedNumberScheduled", 0));
    } else {
        return;
    }
    c->observed_generation = int_at(obj, "status", "observedGeneration", 0);
}

int child_from_object(const json_t *obj, struct child *out) {
    const char *av = str_at(obj, "apiVersion", NULL), *kind = str_at(obj, "kind", NULL);
    json_t *md = json_object_get(obj, "metadata");
    const char *name = str_at(md, "name", NULL), *ns = str_at(md, "namespace", NULL);
    if (!av || !kind || !name || !*name)
        return OP_EINVALID;
    memset(out, 0, sizeof(*out));
    out->api_version = xstrdup(av);
    out->kind = xstrdup(kind);
    out->ns = xstrdup(ns ? ns : "");
    out->name = xstrdup(name);
    const char *owner = str_at(md, "annotations", CHILD_ANN_OWNER);
    const char *model = str_at(md, "labels", CHILD_LABEL_MODEL);
    if (owner && strchr(owner, '/'))
        out->owner = xstrdup(owner);
    else if (model && *model && ns && *ns)
        out->owner = xasprintf("%s/%s", ns, model);
    const char *hash = str_at(md, "annotations", CHILD_ANN_HASH);
    if (hash && strlen(hash) < sizeof(out->hash))
        strcpy(out->hash, hash);
    out->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
                    !json_is_null(json_object_get(md, "deletionTimestamp"));
    out->generation = int_at(obj, "metadata", "generation", 0);
    read_workload(obj, out);
    return 0;
}

int child_is_ready(const struct child *c) {
    if (c->deleting)
        return 0;
    if (!c->workload)
        return 1;
    if (c->generation && c->observed_generation < c->generation)
        return 0;
    return c->ready >= c->want && c->updated >= c->want;
}

static void child_copy(struct child *dst, const struct child *src) {
    *dst = *src;
    dst->api_version = xstrdup(src->api_version);
    dst->kind = xstrdup(src->kind);
    dst->ns = xstrdup(src->ns);
    dst->name = xstrdup(src->name);
    dst->owner = src->owner ? xstrdup(src->owner) : NULL;
}

static void rec_free(void *p) {
    struct rec *r = p;
    if (!r)
        return;
    child_done(&r->c);
    free(r);
}

static void set_free(void *p) {
    struct strmap *m = p;
    if (!m)
        return;
    strmap_done(m);
    free(m);
}

struct children *children_new(void) {
    struct children *cc = xcalloc(1, sizeof(*cc));
    pthread_mutex_init(&cc->mu, NULL);
    strmap_init(&cc->map, rec_free);
    strmap_init(&cc->owners, set_free);
    strmap_init(&cc->epochs, free);
    return cc;
}

void children_free(struct children *cc) {
    if (!cc)
        return;
    strmap_done(&cc->map);
    strmap_done(&cc->owners);
    strmap_done(&cc->epochs);
    pthread_mutex_destroy(&cc->mu);
    free(cc);
}

static char *child_key(const char *av, const char *kind, const char *ns, const char *name) {
    return xasprintf("%s/%s/%s/%s", av, kind, ns ? ns : "", name);
}

static void owner_add(struct children *cc, const char *owner, const char *key) {
    struct strmap *set = strmap_get(&cc->owners, owner);
    if (!set) {
        set = xmalloc(sizeof(*set));
        strmap_init(set, NULL);
        strmap_put(&cc->owners, owner, set);
    }
    strmap_put(set, key, (void *)1);
}

static void owner_del(struct children *cc, const char *owner, const char *key) {
    struct strmap *set = strmap_get(&cc->owners, owner);
    if (!set)
        return;
    strmap_del(set, key);
    if (!set->len)
        strmap_del(&cc->owners, owner);
}

static unsigned kind_epoch(struct children *cc, const char *av, const char *kind) {
    char *k = xasprintf("%s/%s", av, kind);
    struct kind_epoch *e = strmap_get(&cc->epochs, k);
    free(k);
    return e ? e->epoch : 0;
}

int children_put(struct children *cc, const json_t *obj, char **ret_owner, char **ret_old_owner) {
    struct child c;
    if (ret_owner)
        *ret_owner = NULL;
    if (ret_old_owner)
        *ret_old_owner = NULL;
    if (child_from_object(obj, &c) < 0)
        return OP_EINVALID;
    unsigned long long rv = rv_number(obj);
    char *key = child_key(c.api_version, c.kind, c.ns, c.name);
    int changed = 1;
    pthread_mutex_lock(&cc->mu);
    unsigned epoch = kind_epoch(cc, c.api_version, c.kind);
    struct rec *r = strmap_get(&cc->map, key);
    if (r && rv && r->rv > rv) {   /* an older version than we have: keep ours */
        r->epoch = epoch;
        pthread_mutex_unlock(&cc->mu);
        free(key);
        child_done(&c);
        return 0;
    }
    if (r) {
        changed = child_differs(&r->c, &c);
        if (ret_old_owner && r->c.owner)
            *ret_old_owner = xstrdup(r->c.owner);
        if (r->c.owner)
            owner_del(cc, r->c.owner, key);
        child_done(&r->c);
    } else {
        r = xmalloc(sizeof(*r));
        strmap_put(&cc->map, key, r);
    }
    r->c = c;
    r->epoch = epoch;
    r->rv = rv;
    if (c.owner) {
        owner_add(cc, c.owner, key);
        if (ret_owner)
            *ret_owner = xstrdup(c.owner);
    }
    pthread_mutex_unlock(&cc->mu);
    free(key);
    return changed;
}

int children_remove(struct children *cc, const json_t *obj, char **ret_owner) {
    struct child c;
    if (ret_owner)
        *ret_owner = NULL;
    if (child_from_object(obj, &c) < 0)
        return OP_EINVALID;
    char *key = child_key(c.api_version, c.kind, c.ns, c.name);
    int rc = OP_ENOTFOUND;
    pthread_mutex_lock(&cc->mu);
    struct rec *r = strmap_get(&cc->map, key);
    if (r) {
        if (r->c.owner) {
            owner_del(cc, r->c.owner, key);
            if (ret_owner)
                *ret_owner = xstrdup(r->c.owner);
        }
        strmap_del(&cc->map, key);
        rc = 0;
    } else if (ret_owner && c.owner) {
        *ret_owner = xstrdup(c.owner);   /* unknown to us, but the owner may care */
    }
    pthread_mutex_unlock(&cc->mu);
    free(key);
    child_done(&c);
    return rc;
}

void children_replace_begin(struct children *cc, const char *api_version, const char *kind) {
    char *k = xasprintf("%s/%s", api_version, kind);
    pthread_mutex_lock(&cc->mu);
    struct kind_epoch *e = strmap_get(&cc->epochs, k);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        strmap_put(&cc->epochs, k, e);
    }
    e->epoch++;
    pthread_mutex_unlock(&cc->mu);
    free(k);
}

size_t children_replace_end(struct children *cc, const char *api_version, const char *kind,
                            children_owner_fn cb, void *ud) {
    size_t n = 0, cap = 0;
    char **keys = NULL, **owners = NULL;
    pthread_mutex_lock(&cc->mu);
    unsigned epoch = kind_epoch(cc, api_version, kind);
    for (struct strmap_entry *it = strmap_first(&cc->map); it; it = strmap_next(&cc->map, it)) {
        struct rec *r = it->val;
        if (r->epoch == epoch || strcmp(r->c.api_version, api_version) != 0 ||
            strcmp(r->c.kind, kind) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            keys = xrealloc(keys, cap * sizeof(*keys));
            owners = xrealloc(owners, cap * sizeof(*owners));
        }
        keys[n] = xstrdup(it->key);
        owners[n] = r->c.owner ? xstrdup(r->c.owner) : NULL;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        if (owners[i])
            owner_del(cc, owners[i], keys[i]);
        strmap_del(&cc->map, keys[i]);
    }
    pthread_mutex_unlock(&cc->mu);
    for (size_t i = 0; i < n; i++) {
        if (cb && owners[i])
            cb(ud, owners[i]);
        free(owners[i]);
        free(keys[i]);
    }
    free(keys);
    free(owners);
    return n;
}

size_t children_of(struct children *cc, const char *owner, struct child **ret) {
    pthread_mutex_lock(&cc->mu);
    struct strmap *set = strmap_get(&cc->owners, owner);
    size_t n = 0;
    struct child *arr = xcalloc(set && set->len ? set->len : 1, sizeof(*arr));
    if (set) {
        for (struct strmap_entry *it = strmap_first(set); it; it = strmap_next(set, it)) {
            struct rec *r = strmap_get(&cc->map, it->key);
            if (r)
                child_copy(&arr[n++], &r->c);
        }
    }
    pthread_mutex_unlock(&cc->mu);
    *ret = arr;
    return n;
}

int children_lookup(struct children *cc, const char *api_version, const char *kind,
                    const char *ns, const char *name, struct child *ret) {
    char *key = child_key(api_version, kind, ns, name);
    pthread_mutex_lock(&cc->mu);
    struct rec *r = strmap_get(&cc->map, key);
    if (r)
        child_copy(ret, &r->c);
    pthread_mutex_unlock(&cc->mu);
    free(key);
    return r ? 0 : OP_ENOTFOUND;
}

size_t children_len(struct children *cc) {
    pthread_mutex_lock(&cc->mu);
    size_t n = cc->map.len;
    pthread_mutex_unlock(&cc->mu);
    return n;
}

char **children_owners(struct children *cc, size_t *ret_n) {
    pthread_mutex_lock(&cc->mu);
    char **arr = xmalloc((cc->owners.len + 1) * sizeof(*arr));
    size_t n = 0;
    for (struct strmap_entry *it = strmap_first(&cc->owners); it;
         it = strmap_next(&cc->owners, it))
        arr[n++] = xstrdup(it->key);
    pthread_mutex_unlock(&cc->mu);
    *ret_n = n;
    return arr;
}
