/* children.c - the compact cache of owned objects and drift detection on our
 * managedFields entry (see children.h). */
#include "controller/children.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "controller/strmap.h"

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

/* FNV-1a 64 over the serialized bytes: no buffer, and collisions only matter for
 * inputs an API server produced from our own field sets. */
static int fnv_feed(const char *buf, size_t n, void *ud) {
    uint64_t *h = ud;
    for (size_t i = 0; i < n; i++) {
        *h ^= (unsigned char)buf[i];
        *h *= 1099511628211ull;
    }
    return 0;
}

static int is_our_apply_entry(const json_t *e) {
    const char *mgr = json_string_value(json_object_get(e, "manager"));
    const char *op = json_string_value(json_object_get(e, "operation"));
    const char *sub = json_string_value(json_object_get(e, "subresource"));
    return mgr && op && !strcmp(mgr, CHILD_MANAGED_BY) && !strcmp(op, "Apply") &&
           (!sub || !*sub);
}

int child_owned_fields_hash(const json_t *obj, uint64_t *ret) {
    const json_t *mf = json_object_get(json_object_get(obj, "metadata"), "managedFields");
    *ret = 0;
    if (!json_is_array(mf))
        return 0;
    uint64_t h = 14695981039346656037ull;
    size_t i;
    const json_t *e;
    json_array_foreach(mf, i, e) {
        if (!is_our_apply_entry(e))
            continue;
        const char *av = json_string_value(json_object_get(e, "apiVersion"));
        fnv_feed(av ? av : "", av ? strlen(av) : 0, &h);
        fnv_feed("\n", 1, &h);
        const json_t *fields = json_object_get(e, "fieldsV1");
        if (fields)
            json_dump_callback(fields, fnv_feed, &h, JSON_SORT_KEYS | JSON_COMPACT);
        fnv_feed("\n", 1, &h);
    }
    *ret = h;
    return 1;
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
    out->mf_state = child_owned_fields_hash(obj, &out->fields_hash);
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


/* ---- the cache: compact records ----
 * A record shares its apiVersion, kind, namespace and owner strings with every
 * other record (an intern pool that lives as long as the cache) and keeps the
 * applied hash as 32 bytes: about 200 bytes a child with the map entry. */

struct rec {
    const char *av, *kind, *ns, *owner;   /* interned; owner may be NULL */
    const char *name;                     /* points into the record's map key */
    unsigned char hash[32];
    unsigned char hash_state;             /* 0 none, 1 hash[] valid, 2 not a SHA-256 hex */
    unsigned char deleting, workload;
    int32_t want, ready, updated;
    int64_t generation, observed_generation;
    unsigned long long rv;                /* numeric resourceVersion, 0 when not a number */
    unsigned epoch;
    uint64_t mf_base, mf_seen;            /* our managedFields hash: baseline, newest seen */
    unsigned char mf_state;               /* bit 1: mf_base known, bit 2: mf_seen known */
};

#define MF_BASE 1u
#define MF_SEEN 2u

static int rec_drift(const struct rec *r) {
    return (r->mf_state & (MF_BASE | MF_SEEN)) == (MF_BASE | MF_SEEN) && r->mf_base != r->mf_seen;
}

struct owner_list {
    struct rec **recs;
    size_t n, cap;
};

struct children {
    pthread_mutex_t mu;
    struct strmap pool;     /* interned strings (keys only) */
    struct strmap kinds;    /* "apiVersion/kind" -> index + 1 (as a pointer) */
    unsigned n_kinds;
    struct strmap map;      /* "<kind index>|ns/name" -> struct rec */
    struct strmap owners;   /* owner -> struct owner_list */
    unsigned epoch;         /* bumped by each children_replace_begin */
};

static const char *intern(struct children *cc, const char *s) {
    if (!s)
        return NULL;
    const char *k = strmap_key(&cc->pool, s);
    if (k)
        return k;
    strmap_put(&cc->pool, s, (void *)1);
    return strmap_key(&cc->pool, s);
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static void hash_pack(const char *hex, unsigned char out[32], unsigned char *state) {
    if (!hex || !*hex) {
        *state = 0;
        return;
    }
    if (strlen(hex) != 64) {
        *state = 2;
        return;
    }
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            *state = 2;
            return;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *state = 1;
}

static void hash_unpack(const struct rec *r, char out[65]) {
    static const char digits[] = "0123456789abcdef";
    if (r->hash_state == 0) {
        out[0] = '\0';
        return;
    }
    if (r->hash_state == 2) {
        strcpy(out, "(not a hash)");
        return;
    }
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[r->hash[i] >> 4];
        out[2 * i + 1] = digits[r->hash[i] & 15];
    }
    out[64] = '\0';
}

static void rec_to_child(const struct rec *r, struct child *c) {
    memset(c, 0, sizeof(*c));
    c->api_version = xstrdup(r->av);
    c->kind = xstrdup(r->kind);
    c->ns = xstrdup(r->ns);
    c->name = xstrdup(r->name);
    c->owner = r->owner ? xstrdup(r->owner) : NULL;
    hash_unpack(r, c->hash);
    c->deleting = r->deleting;
    c->workload = r->workload;
    c->want = r->want;
    c->ready = r->ready;
    c->updated = r->updated;
    c->generation = r->generation;
    c->observed_generation = r->observed_generation;
    c->mf_state = (r->mf_state & MF_SEEN) != 0;
    c->fields_hash = r->mf_seen;
    c->drift = rec_drift(r);
}

/* Fills r from c (strings interned; the name is set by the caller). */
static void rec_from_child(struct children *cc, const struct child *c, struct rec *r) {
    r->av = intern(cc, c->api_version);
    r->kind = intern(cc, c->kind);
    r->ns = intern(cc, c->ns);
    r->owner = intern(cc, c->owner);
    hash_pack(c->hash, r->hash, &r->hash_state);
    r->deleting = (unsigned char)c->deleting;
    r->workload = (unsigned char)c->workload;
    r->want = c->want;
    r->ready = c->ready;
    r->updated = c->updated;
    r->generation = c->generation;
    r->observed_generation = c->observed_generation;
}

static int str_eq(const char *a, const char *b) {
    return a == b || (a && b && !strcmp(a, b));
}

/* Did anything the reconciler looks at change? */
static int rec_differs(const struct rec *a, const struct rec *b) {
    return !str_eq(a->owner, b->owner) || a->hash_state != b->hash_state ||
           memcmp(a->hash, b->hash, sizeof(a->hash)) != 0 || a->deleting != b->deleting ||
           a->workload != b->workload || a->want != b->want || a->ready != b->ready ||
           a->updated != b->updated || a->generation != b->generation ||
           a->observed_generation != b->observed_generation || rec_drift(a) != rec_drift(b);
}

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

static void rec_free(void *p) { free(p); }

static void owner_list_free(void *p) {
    struct owner_list *l = p;
    if (!l)
        return;
    free(l->recs);
    free(l);
}

struct children *children_new(void) {
    struct children *cc = xcalloc(1, sizeof(*cc));
    pthread_mutex_init(&cc->mu, NULL);
    strmap_init(&cc->pool, NULL);
    strmap_init(&cc->kinds, NULL);
    strmap_init(&cc->map, rec_free);
    strmap_init(&cc->owners, owner_list_free);
    return cc;
}

void children_free(struct children *cc) {
    if (!cc)
        return;
    strmap_done(&cc->map);
    strmap_done(&cc->owners);
    strmap_done(&cc->kinds);
    strmap_done(&cc->pool);
    pthread_mutex_destroy(&cc->mu);
    free(cc);
}

/* "<kind index>|ns/name" into buf (mu held; creates the kind index when asked). */
static int rec_key(struct children *cc, const char *av, const char *kind, const char *ns,
                   const char *name, int create, char *buf, size_t n) {
    char k[256];
    snprintf(k, sizeof(k), "%s/%s", av, kind);
    uintptr_t idx = (uintptr_t)strmap_get(&cc->kinds, k);
    if (!idx) {
        if (!create)
            return -1;
        idx = ++cc->n_kinds;
        strmap_put(&cc->kinds, k, (void *)idx);
    }
    int w = snprintf(buf, n, "%u|%s/%s", (unsigned)idx, ns ? ns : "", name);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static void owner_add(struct children *cc, struct rec *r) {
    if (!r->owner)
        return;
    struct owner_list *l = strmap_get(&cc->owners, r->owner);
    if (!l) {
        l = xcalloc(1, sizeof(*l));
        strmap_put(&cc->owners, r->owner, l);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->recs = xrealloc(l->recs, l->cap * sizeof(*l->recs));
    }
    l->recs[l->n++] = r;
}

static void owner_del(struct children *cc, struct rec *r) {
    if (!r->owner)
        return;
    struct owner_list *l = strmap_get(&cc->owners, r->owner);
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->recs[i] == r) {
            l->recs[i] = l->recs[--l->n];
            break;
        }
    }
    if (!l->n)
        strmap_del(&cc->owners, r->owner);
}

/* The drift fields of fresh, from what c observed, the previous record (NULL when
 * new) and whether c is the answer to our own apply. The base moves with our own
 * applies: the answer to one, or a version whose applied-hash annotation changed
 * (an apply by us or by another replica: our field set follows what we send, and
 * what we send changes the annotation). With the annotation as before, a change of
 * our field set is someone else's doing. */
static void rec_drift_update(struct rec *fresh, const struct rec *old, const struct child *c,
                             int applied) {
    fresh->mf_state = old ? old->mf_state : 0;
    fresh->mf_base = old ? old->mf_base : 0;
    fresh->mf_seen = old ? old->mf_seen : 0;
    if (!c->mf_state)
        return;   /* no managedFields: nothing to compare (keep what we knew) */
    int reapplied = !old || old->hash_state != fresh->hash_state ||
                    memcmp(old->hash, fresh->hash, sizeof(old->hash)) != 0;
    fresh->mf_seen = c->fields_hash;
    fresh->mf_state |= MF_SEEN;
    if (applied || reapplied || !(fresh->mf_state & MF_BASE)) {
        fresh->mf_base = c->fields_hash;
        fresh->mf_state |= MF_BASE;
    }
}

static int put(struct children *cc, const json_t *obj, int applied, char **ret_owner,
               char **ret_old_owner) {
    struct child c;
    if (ret_owner)
        *ret_owner = NULL;
    if (ret_old_owner)
        *ret_old_owner = NULL;
    if (child_from_object(obj, &c) < 0)
        return OP_EINVALID;
    unsigned long long rv = rv_number(obj);
    char key[600];
    int changed = 1;
    pthread_mutex_lock(&cc->mu);
    if (rec_key(cc, c.api_version, c.kind, c.ns, c.name, 1, key, sizeof(key)) < 0) {
        pthread_mutex_unlock(&cc->mu);
        child_done(&c);
        return OP_EINVALID;
    }
    struct rec *r = strmap_get(&cc->map, key);
    if (r && rv && r->rv > rv) {   /* an older version than we have: keep ours */
        r->epoch = cc->epoch;
        if (applied && c.mf_state) {   /* ...but our apply still sets the base */
            r->mf_base = c.fields_hash;
            r->mf_state |= MF_BASE;
        }
        pthread_mutex_unlock(&cc->mu);
        child_done(&c);
        return 0;
    }
    struct rec fresh;
    memset(&fresh, 0, sizeof(fresh));
    rec_from_child(cc, &c, &fresh);
    rec_drift_update(&fresh, r, &c, applied);
    if (r) {
        changed = rec_differs(r, &fresh);
        if (ret_old_owner && r->owner)
            *ret_old_owner = xstrdup(r->owner);
        owner_del(cc, r);
    } else {
        r = xmalloc(sizeof(*r));
        strmap_put(&cc->map, key, r);
    }
    *r = fresh;
    r->name = strchr(strmap_key(&cc->map, key), '|') + 1 + strlen(c.ns) + 1;   /* "<i>|ns/name" */
    r->epoch = cc->epoch;
    r->rv = rv;
    owner_add(cc, r);
    if (ret_owner && r->owner)
        *ret_owner = xstrdup(r->owner);
    pthread_mutex_unlock(&cc->mu);
    child_done(&c);
    return changed;
}

int children_put(struct children *cc, const json_t *obj, char **ret_owner, char **ret_old_owner) {
    return put(cc, obj, 0, ret_owner, ret_old_owner);
}

int children_put_applied(struct children *cc, const json_t *obj) {
    return put(cc, obj, 1, NULL, NULL);
}

int children_remove(struct children *cc, const json_t *obj, char **ret_owner) {
    struct child c;
    if (ret_owner)
        *ret_owner = NULL;
    if (child_from_object(obj, &c) < 0)
        return OP_EINVALID;
    char key[600];
    int rc = OP_ENOTFOUND;
    pthread_mutex_lock(&cc->mu);
    struct rec *r = rec_key(cc, c.api_version, c.kind, c.ns, c.name, 0, key, sizeof(key)) == 0
                        ? strmap_get(&cc->map, key)
                        : NULL;
    if (r) {
        if (ret_owner && r->owner)
            *ret_owner = xstrdup(r->owner);
        owner_del(cc, r);
        strmap_del(&cc->map, key);
        rc = 0;
    } else if (ret_owner && c.owner) {
        *ret_owner = xstrdup(c.owner);   /* unknown to us, but the owner may care */
    }
    pthread_mutex_unlock(&cc->mu);
    child_done(&c);
    return rc;
}

unsigned children_replace_begin(struct children *cc) {
    pthread_mutex_lock(&cc->mu);
    unsigned mark = ++cc->epoch;
    pthread_mutex_unlock(&cc->mu);
    return mark;
}

size_t children_replace_end(struct children *cc, unsigned mark, const char *api_version,
                            const char *kind, const char *ns, children_owner_fn cb, void *ud) {
    size_t n = 0, cap = 0;
    char **keys = NULL, **owners = NULL;
    pthread_mutex_lock(&cc->mu);
    for (struct strmap_entry *it = strmap_first(&cc->map); it; it = strmap_next(&cc->map, it)) {
        struct rec *r = it->val;
        if (r->epoch >= mark || strcmp(r->av, api_version) != 0 || strcmp(r->kind, kind) != 0 ||
            (ns && strcmp(r->ns, ns) != 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            keys = xrealloc(keys, cap * sizeof(*keys));
            owners = xrealloc(owners, cap * sizeof(*owners));
        }
        keys[n] = xstrdup(it->key);
        owners[n] = r->owner ? xstrdup(r->owner) : NULL;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        struct rec *r = strmap_get(&cc->map, keys[i]);
        owner_del(cc, r);
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
    struct owner_list *l = strmap_get(&cc->owners, owner);
    size_t n = l ? l->n : 0;
    struct child *arr = xcalloc(n ? n : 1, sizeof(*arr));
    for (size_t i = 0; i < n; i++)
        rec_to_child(l->recs[i], &arr[i]);
    pthread_mutex_unlock(&cc->mu);
    *ret = arr;
    return n;
}

int children_lookup(struct children *cc, const char *api_version, const char *kind,
                    const char *ns, const char *name, struct child *ret) {
    char key[600];
    pthread_mutex_lock(&cc->mu);
    struct rec *r = rec_key(cc, api_version, kind, ns, name, 0, key, sizeof(key)) == 0
                        ? strmap_get(&cc->map, key)
                        : NULL;
    if (r)
        rec_to_child(r, ret);
    pthread_mutex_unlock(&cc->mu);
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
