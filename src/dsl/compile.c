/* compile.c - dsl_compile(): parses every file, groups the blocks into models,
 * maps each group onto one TracingModel (and each trace_source onto an
 * Instrumentation), applies validation_rules / performance_validation /
 * best_practices, and runs the model's own validation with its errors moved
 * back to the DSL line that set the field.
 *
 * Grouping. Roots are the `tracing_model` blocks; without any, each
 * `distributed_tracing` / `microservice_tracing` block is a root; without
 * those, the first model block found becomes the root of an implicit model.
 * Every other block joins the roots that (a) name it (`trace_store: "s"`,
 * `sampling: "s"`, `uses: [...]`) or that it names (`tracing_model: "m"`),
 * else (b) the roots in the same `namespace`, else (c) the only root. Values
 * are first-wins: the root first, then the other blocks in file order; a
 * later different value is a warning naming both places. */
#include "dsl/dsl.h"
#include "dsl/ast.h"
#include "dsl/check.h"
#include "dsl/mctx.h"
#include "model/instrumentation.h"
#include "model/model.h"
#include "base/err.h"
#include "base/units.h"
#include "base/suggest.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cat { CAT_ROOT, CAT_MODELISH, CAT_COMPONENT, CAT_SOURCE, CAT_CHECK };

struct kind_info {
    const char *kind;
    enum cat cat;
    void (*map)(struct mctx *m);
};

static const struct kind_info kinds[] = {
    {"tracing_model", CAT_ROOT, map_model_block},
    {"distributed_tracing", CAT_MODELISH, map_model_block},
    {"microservice_tracing", CAT_MODELISH, map_model_block},
    {"sampling_strategy", CAT_COMPONENT, map_sampling_block},
    {"context_propagation", CAT_COMPONENT, map_propagation_block},
    {"trace_store", CAT_COMPONENT, map_store_block},
    {"performance_analysis", CAT_COMPONENT, map_perf_block},
    {"monitoring", CAT_COMPONENT, map_monitoring_block},
    {"opentelemetry_integration", CAT_COMPONENT, map_otel_block},
    {"real_time_tracing", CAT_COMPONENT, map_stream_block},
    {"stream_tracing", CAT_COMPONENT, map_stream_block},
    {"trace_source", CAT_SOURCE, map_source_block},
    {"validation_rules", CAT_CHECK, NULL},
    {"performance_validation", CAT_CHECK, NULL},
    {"best_practices", CAT_CHECK, NULL},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct blk {
    const struct dsl_block *b;
    const struct kind_info *k;
    char ns[64];            /* DSL namespace as a DNS label, "" when none */
    int is_root;
};

struct idxvec {
    size_t *v;
    size_t n, cap;
};

struct unit {
    const struct dsl_source *srcs;
    size_t nsrcs;
    const struct dsl_options *opt;
    struct diag *d;
    struct dsl_file *files;
    struct blk *blks;
    size_t nblks;
    size_t *roots;          /* indexes into blks */
    size_t nroots;
    int implicit_root;      /* the only root is a component standing in for a tracing_model */
    struct idxvec *root_blocks; /* per root: the blocks attached to it, in input order */
    struct idxvec *block_roots; /* per block: the roots it is attached to */
    json_t *by_name;        /* block name -> [block indexes] */
};

/* ---- messages ---- */

static void where_of(const struct unit *u, struct dsl_pos pos, char *buf, size_t n) {
    const char *name = pos.file < u->nsrcs ? u->srcs[pos.file].name : "<input>";
    snprintf(buf, n, "%s:%u:%u", name, pos.line, pos.col);
}

static void uerr(struct unit *u, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void uwarn(struct unit *u, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void uadd(struct unit *u, enum diag_level lvl, struct dsl_pos pos, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

static void uadd(struct unit *u, enum diag_level lvl, struct dsl_pos pos, const char *fmt,
                 va_list ap) {
    char where[600];
    where_of(u, pos, where, sizeof(where));
    char *msg = xvasprintf(fmt, ap);
    diag_add(u->d, lvl, where, "%s", msg);
    free(msg);
}

static void uerr(struct unit *u, struct dsl_pos pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    uadd(u, DIAG_ERROR, pos, fmt, ap);
    va_end(ap);
}

static void uwarn(struct unit *u, struct dsl_pos pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    uadd(u, DIAG_WARNING, pos, fmt, ap);
    va_end(ap);
}

/* ---- kinds ---- */

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

static const struct kind_info *find_kind(const char *k) {
    for (size_t i = 0; i < NKINDS; i++)
        if (!strcmp(kinds[i].kind, k))
            return &kinds[i];
    return NULL;
}

static void unknown_kind(struct unit *u, const struct dsl_block *b) {
    const char *best = NULL;
    size_t bd = 4;
    for (size_t i = 0; i < NKINDS; i++) {
        size_t d = edit_distance(b->kind, kinds[i].kind);
        if (d < bd) {
            bd = d;
            best = kinds[i].kind;
        }
    }
    if (best)
        uerr(u, b->pos, "unknown block kind '%s' (did you mean '%s'?)", b->kind, best);
    else
        uerr(u, b->pos, "unknown block kind '%s'; known kinds: tracing_model, sampling_strategy, "
             "context_propagation, trace_store, trace_source, distributed_tracing, "
             "microservice_tracing, performance_analysis, real_time_tracing, stream_tracing, "
             "monitoring, opentelemetry_integration, validation_rules, performance_validation, "
             "best_practices", b->kind);
}

/* ---- collecting blocks ---- */

static void block_ns(struct unit *u, struct blk *bk) {
    const struct dsl_value *ns = dsl_get(bk->b->body, "namespace");
    bk->ns[0] = '\0';
    if (!ns)
        return;
    if (ns->type != DSL_STRING && ns->type != DSL_WORD) {
        uerr(u, ns->pos, "%s \"%s\": namespace: expected a string, got %s", bk->b->kind,
             bk->b->name, dsl_type_name(ns->type));
        return;
    }
    to_dns_label(ns->text, bk->ns, 63);
}

static int collect(struct unit *u) {
    size_t total = 0;
    for (size_t f = 0; f < u->nsrcs; f++)
        total += u->files[f].n;
    u->blks = xcalloc(total ? total : 1, sizeof(*u->blks));
    u->by_name = json_object();
    int bad = 0;
    for (size_t f = 0; f < u->nsrcs; f++)
        for (size_t i = 0; i < u->files[f].n; i++) {
            const struct dsl_block *b = &u->files[f].blocks[i];
            const struct kind_info *k = find_kind(b->kind);
            if (!k) {
                unknown_kind(u, b);
                bad = 1;
                continue;
            }
            json_t *same = json_object_get(u->by_name, b->name);
            size_t j;
            json_t *jv;
            json_array_foreach(same, j, jv) {
                const struct dsl_block *o = u->blks[json_integer_value(jv)].b;
                if (!strcmp(o->kind, b->kind)) {
                    char w[600];
                    where_of(u, o->pos, w, sizeof(w));
                    uerr(u, b->name_pos, "%s \"%s\" is defined twice (first at %s)", b->kind,
                         b->name, w);
                    bad = 1;
                }
            }
            if (!same) {
                same = json_array();
                json_object_set_new(u->by_name, b->name, same);
            }
            json_array_append_new(same, json_integer((json_int_t)u->nblks));
            struct blk *bk = &u->blks[u->nblks++];
            bk->b = b;
            bk->k = k;
            block_ns(u, bk);
        }
    return bad ? -1 : 0;
}

/* ---- roots and references ---- */

static void pick_roots(struct unit *u) {
    u->roots = xcalloc(u->nblks ? u->nblks : 1, sizeof(*u->roots));
    for (enum cat c = CAT_ROOT; c <= CAT_MODELISH && !u->nroots; c++)
        for (size_t i = 0; i < u->nblks; i++)
            if (u->blks[i].k->cat == c) {
                u->roots[u->nroots++] = i;
                u->blks[i].is_root = 1;
            }
    if (u->nroots)
        return;
    for (size_t i = 0; i < u->nblks; i++)
        if (u->blks[i].k->cat == CAT_COMPONENT) {
            u->roots[u->nroots++] = i;
            u->blks[i].is_root = 1;
            u->implicit_root = 1;
            uwarn(u, u->blks[i].b->pos, "there is no tracing_model block: the TracingModel is "
                  "named after %s \"%s\", and every model block joins it", u->blks[i].b->kind,
                  u->blks[i].b->name);
            return;
        }
}

/* Key of a root's body that names blocks, and the kind it names (NULL = any). */
static int ref_key(const char *key, const struct dsl_value *v, const char **kind) {
    static const struct { const char *key, *kind; } alias[] = {
        {"sampling", "sampling_strategy"}, {"propagation", "context_propagation"},
        {"storage", "trace_store"}, {"monitoring", "monitoring"},
    };
    int named = v->type == DSL_STRING || v->type == DSL_WORD || v->type == DSL_ARRAY;
    if (!named)
        return 0;
    if (!strcmp(key, "uses")) {
        *kind = NULL;
        return 1;
    }
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (!strcmp(key, alias[i].key) && v->type != DSL_ARRAY) {
            *kind = alias[i].kind;
            return 1;
        }
    if (!strcmp(key, "trace_sources")) {
        *kind = "trace_source";
        return 1;
    }
    const struct kind_info *k = find_kind(key);
    if (k && k->cat != CAT_ROOT) {
        *kind = k->kind;
        return 1;
    }
    return 0;
}

static void vec_push(struct idxvec *v, size_t x) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = x;
}

static void attach(struct unit *u, size_t r, size_t b) {
    vec_push(&u->root_blocks[r], b);
    vec_push(&u->block_roots[b], r);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts a vector and drops repeats (a block named twice by one model). */
static void vec_sort_unique(struct idxvec *v) {
    if (v->n < 2)
        return;
    qsort(v->v, v->n, sizeof(*v->v), cmp_size);
    size_t w = 1;
    for (size_t i = 1; i < v->n; i++)
        if (v->v[i] != v->v[w - 1])
            v->v[w++] = v->v[i];
    v->n = w;
}

static void attach_by_name(struct unit *u, size_t r, const char *name, const char *kind,
                           struct dsl_pos pos) {
    size_t found = 0, idx = 0, i;
    json_t *bi;
    json_array_foreach(json_object_get(u->by_name, name), i, bi) {
        size_t b = (size_t)json_integer_value(bi);
        if ((kind && strcmp(u->blks[b].b->kind, kind)) || b == u->roots[r])
            continue;
        if (u->blks[b].k->cat == CAT_ROOT) {
            uerr(u, pos, "\"%s\" is a tracing_model; a model cannot use another model", name);
            return;
        }
        found++;
        idx = b;
    }
    if (!found) {
        /* the closest name of the wanted kind, for a typo */
        struct suggest sg;
        suggest_init(&sg, name);
        for (size_t b = 0; b < u->nblks; b++)
            if ((!kind || !strcmp(u->blks[b].b->kind, kind)) && u->blks[b].k->cat != CAT_ROOT)
                suggest_consider(&sg, u->blks[b].b->name);
        const char *hint = suggest_best(&sg);
        uerr(u, pos, "no %s named \"%s\" in the input files%s%s%s", kind ? kind : "block", name,
             hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
    }
    else if (found > 1)
        uerr(u, pos, "\"%s\" names %zu blocks of different kinds; use the kind as the key "
             "(e.g. trace_store: \"%s\")", name, found, name);
    else
        attach(u, r, idx);
}

static void root_refs(struct unit *u, size_t r) {
    const struct dsl_value *body = u->blks[u->roots[r]].b->body;
    for (size_t i = 0; i < body->n; i++) {
        const struct dsl_member *mb = &body->members[i];
        const char *kind;
        if (!ref_key(mb->key, mb->val, &kind))
            continue;
        const struct dsl_value *v = mb->val;
        if (v->type != DSL_ARRAY) {
            attach_by_name(u, r, v->text, kind, v->pos);
            continue;
        }
        for (size_t k = 0; k < v->n; k++) {
            if (v->items[k]->type != DSL_STRING && v->items[k]->type != DSL_WORD)
                uerr(u, v->items[k]->pos, "%s: expected a block name, got %s", mb->key,
                     dsl_type_name(v->items[k]->type));
            else
                attach_by_name(u, r, v->items[k]->text, kind, v->items[k]->pos);
        }
    }
}

/* `tracing_model: "m"` (or a list) in a non-root block. */
static void block_refs(struct unit *u, size_t bi, const json_t *root_by_name) {
    const struct dsl_value *v = dsl_get(u->blks[bi].b->body, "tracing_model");
    if (!v)
        return;
    size_t n = v->type == DSL_ARRAY ? v->n : 1;
    for (size_t k = 0; k < n; k++) {
        const struct dsl_value *it = v->type == DSL_ARRAY ? v->items[k] : v;
        if (it->type != DSL_STRING && it->type != DSL_WORD) {
            uerr(u, it->pos, "%s \"%s\": tracing_model: expected a model name, got %s",
                 u->blks[bi].b->kind, u->blks[bi].b->name, dsl_type_name(it->type));
            continue;
        }
        json_t *r = json_object_get(root_by_name, it->text);
        if (!r) {
            struct suggest sg;
            suggest_init(&sg, it->text);
            const char *mname;
            json_t *idx;
            json_object_foreach((json_t *)root_by_name, mname, idx)
                suggest_consider(&sg, mname);
            const char *hint = suggest_best(&sg);
            uerr(u, it->pos, "%s \"%s\": no model named \"%s\" in the input files%s%s%s",
                 u->blks[bi].b->kind, u->blks[bi].b->name, it->text,
                 hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
        }
        else
            attach(u, (size_t)json_integer_value(r), bi);
    }
}

static void attach_all(struct unit *u) {
    u->root_blocks = xcalloc(u->nroots + 1, sizeof(*u->root_blocks));
    u->block_roots = xcalloc(u->nblks + 1, sizeof(*u->block_roots));
    json_t *root_by_name = json_object(), *roots_by_ns = json_object();
    for (size_t r = 0; r < u->nroots; r++) {
        const struct blk *rb = &u->blks[u->roots[r]];
        if (!json_object_get(root_by_name, rb->b->name))
            json_object_set_new(root_by_name, rb->b->name, json_integer((json_int_t)r));
        if (rb->ns[0]) {
            json_t *l = json_object_get(roots_by_ns, rb->ns);
            if (!l) {
                l = json_array();
                json_object_set_new(roots_by_ns, rb->ns, l);
            }
            json_array_append_new(l, json_integer((json_int_t)r));
        }
        root_refs(u, r);
    }
    for (size_t i = 0; i < u->nblks; i++) {
        if (u->blks[i].is_root)
            continue;
        block_refs(u, i, root_by_name);
        if (u->block_roots[i].n)
            continue;
        size_t k;
        json_t *rv;
        json_array_foreach(u->blks[i].ns[0] ? json_object_get(roots_by_ns, u->blks[i].ns)
                                             : NULL, k, rv)
            attach(u, (size_t)json_integer_value(rv), i);
        if (u->block_roots[i].n)
            continue;
        if (u->nroots == 1 || (u->blks[i].k->cat == CAT_CHECK && u->nroots)) {
            for (size_t r = 0; r < u->nroots; r++)
                attach(u, r, i);
        } else if (u->blks[i].k->cat != CAT_SOURCE && u->blks[i].k->cat != CAT_CHECK) {
            uwarn(u, u->blks[i].b->pos, "%s \"%s\" is used by no model: name it in a "
                  "tracing_model (%s: \"%s\"), give it the model's namespace, or add "
                  "tracing_model: \"<model>\"", u->blks[i].b->kind, u->blks[i].b->name,
                  u->blks[i].b->kind, u->blks[i].b->name);
        }
    }
    for (size_t r = 0; r < u->nroots; r++)
        vec_sort_unique(&u->root_blocks[r]);
    for (size_t i = 0; i < u->nblks; i++)
        vec_sort_unique(&u->block_roots[i]);
    json_decref(root_by_name);
    json_decref(roots_by_ns);
}

/* ---- documents ---- */

/* Kubernetes name for a DSL name: a DNS label of at most max characters. */
static void k8s_name(struct unit *u, const struct dsl_block *b, size_t max, char *out) {
    to_dns_label(b->name, out, max);
    if (out[0])
        return;
    char h[65];
    sha256_hex(b->name, strlen(b->name), h);
    snprintf(out, max + 1, "%.*s-%.8s", (int)(strlen(b->kind) > 20 ? 20 : strlen(b->kind)),
             b->kind, h);
    to_dns_label(out, out, max);
    uwarn(u, b->name_pos, "%s \"%s\": the name has no letters or digits usable in a Kubernetes "
          "name; the object is called \"%s\"", b->kind, b->name, out);
}

static json_t *new_doc(struct unit *u, const char *kind, const struct blk *bk, size_t max,
                       const char *ns) {
    char name[64];
    k8s_name(u, bk->b, max, name);
    json_t *md = json_pack("{s:s}", "name", name);
    if (ns && *ns)
        json_object_set_new(md, "namespace", json_string(ns));
    json_object_set_new(md, "annotations", json_pack("{s:s}", "tracemodel.dev/dsl-name",
                                                     bk->b->name));
    return json_pack("{s:s, s:s, s:o, s:{}}", "apiVersion", TM_API_VERSION, "kind", kind,
                     "metadata", md, "spec");
}

/* The namespace of a root's documents: --namespace, else the DSL's (as a DNS label). */
static const char *doc_ns(struct unit *u, const struct blk *bk, int warn) {
    if (u->opt && u->opt->ns)
        return u->opt->ns;
    const struct dsl_value *ns = dsl_get(bk->b->body, "namespace");
    if (warn && ns && bk->ns[0] && strcmp(ns->text, bk->ns))
        uwarn(u, ns->pos, "%s \"%s\": \"%s\" is not a valid Kubernetes namespace; using \"%s\" "
              "(or pass --namespace)", bk->b->kind, bk->b->name, ns->text, bk->ns);
    else if (warn && ns && !bk->ns[0] && (ns->type == DSL_STRING || ns->type == DSL_WORD))
        uerr(u, ns->pos, "%s \"%s\": \"%s\" cannot be made a Kubernetes namespace; pass "
             "--namespace", bk->b->kind, bk->b->name, ns->text);
    return bk->ns;
}

static void init_mctx(struct unit *u, struct mctx *m, json_t *doc, json_t *prov,
                      const struct dsl_block *b, int root) {
    memset(m, 0, sizeof(*m));
    m->srcs = u->srcs;
    m->nsrcs = u->nsrcs;
    m->d = u->d;
    m->blk = b;
    m->root = root;
    m->doc = doc;
    m->spec = json_object_get(doc, "spec");
    m->prov = prov;
}

/* New object with the keys of obj in `order` first, then the rest. */
static json_t *reorder(json_t *obj, const char *const *order) {
    json_t *out = json_object();
    for (size_t i = 0; order[i]; i++) {
        json_t *v = json_object_get(obj, order[i]);
        if (v)
            json_object_set(out, order[i], v);
    }
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_object_get(out, k))
            json_object_set(out, k, v);
    }
    return out;
}

/* Removes empty objects (left by lookups) below obj. */
static void prune(json_t *obj) {
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, v) {
        if (json_is_object(v)) {
            prune(v);
            if (!json_object_size(v))
                json_object_del(obj, k);
        }
    }
}

static void finish_model_spec(json_t *doc) {
    static const char *const top[] = {"description", "version", "labels", "sampling",
                                      "propagation", "collector", "backend", "istio", "services",
                                      "analysis", "alerts", "capacity", NULL};
    static const char *const sampling[] = {"strategy", "rate", "parentBased",
                                           "maxTracesPerSecond", "operations", "rules", "adaptive",
                                           "tail", NULL};
    json_t *spec = json_object_get(doc, "spec");
    prune(spec);
    json_t *s = json_object_get(spec, "sampling");
    if (s)
        json_object_set_new(spec, "sampling", reorder(s, sampling));
    json_object_set_new(doc, "spec", reorder(spec, top));
}

/* No trace_store: an in-memory Jaeger all-in-one, said out loud. */
static void default_backend(struct unit *u, struct mctx *m, const struct blk *root) {
    json_t *b = json_object_get(m->spec, "backend");
    if (json_is_object(b) && json_object_get(b, "type"))
        return;
    if (json_is_object(b) && json_object_size(b)) {
        uerr(u, root->b->pos, "%s \"%s\": the store settings have no type (jaeger, tempo, otlp)",
             root->b->kind, root->b->name);
        return;
    }
    json_object_set_new(m->spec, "backend",
                        json_pack("{s:s, s:{s:s, s:{s:s}}}", "type", "jaeger", "jaeger",
                                  "deployment", "allInOne", "storage", "type", "memory"));
    mx_prov(m, "spec.backend", root->b->pos);
    uwarn(u, root->b->pos, "%s \"%s\": no trace_store: traces go to an in-memory Jaeger "
          "all-in-one and are lost when it restarts; add a trace_store block",
          root->b->kind, root->b->name);
}

/* Moves the model validator's diagnostics (at spec paths) onto the DSL lines that set them. */
static void relocate(struct unit *u, struct diag *tmp, const json_t *prov, const struct blk *root,
                     const char *what) {
    for (size_t i = 0; i < tmp->len; i++) {
        const struct diag_item *it = &tmp->items[i];
        char *path = xstrdup(it->where);
        const char *where = NULL;
        for (;;) {
            json_t *pv = json_object_get(prov, path);
            if (pv) {
                where = json_string_value(json_object_get(pv, "where"));
                break;
            }
            char *cut = strrchr(path, '.'), *br = strrchr(path, '[');
            if (br > cut)
                cut = br;
            if (!cut)
                break;
            *cut = '\0';
        }
        char rw[600];
        if (!where) {
            where_of(u, root->b->pos, rw, sizeof(rw));
            where = rw;
        }
        diag_add(u->d, it->level, where, "%s: %s: %s", what, it->where, it->msg);
        free(path);
    }
}

static void map_block(struct mctx *m, const struct blk *bk, int root) {
    m->blk = bk->b;
    m->root = root;
    bk->k->map(m);
}

static json_t *build_model(struct unit *u, size_t r, json_t *models) {
    const struct blk *root = &u->blks[u->roots[r]];
    json_t *doc = new_doc(u, TM_KIND, root, TM_NAME_MAX, doc_ns(u, root, 1));
    json_t *prov = json_object();
    struct mctx m;
    init_mctx(u, &m, doc, prov, root->b, 1);
    map_block(&m, root, root->k->cat != CAT_COMPONENT);
    /* implicit model: the block's description is the model's */
    if (root->k->cat == CAT_COMPONENT) {
        const struct dsl_value *d = dsl_get(root->b->body, "description");
        if (d && d->type == DSL_STRING)
            mx_spec_set(&m, "", "description", json_string(d->text), d->pos);
    }
    for (size_t k = 0; k < u->root_blocks[r].n; k++) {
        const struct blk *bk = &u->blks[u->root_blocks[r].v[k]];
        if (bk->k->cat == CAT_COMPONENT || bk->k->cat == CAT_MODELISH)
            map_block(&m, bk, 0);
    }
    default_backend(u, &m, root);
    json_decref(m.indexes);
    finish_model_spec(doc);
    json_object_set_new(doc, "x-prov", prov);
    json_array_append_new(models, doc);
    return doc;
}

static void run_checks(struct unit *u, json_t *models) {
    for (size_t i = 0; i < u->nblks; i++) {
        if (u->blks[i].k->cat != CAT_CHECK)
            continue;
        int first = 1, used = 0;
        for (size_t k = 0; k < u->block_roots[i].n; k++) {
            size_t r = u->block_roots[i].v[k];
            json_t *doc = json_array_get(models, r);
            struct mctx m;
            init_mctx(u, &m, doc, json_object_get(doc, "x-prov"), u->blks[i].b, 0);
            struct check_ctx c = {u->blks[u->roots[r]].b, u->opt && u->opt->ns, models, first};
            check_block(&m, &c);
            first = 0;
            used = 1;
        }
        if (!used) {
            struct mctx m;
            init_mctx(u, &m, NULL, NULL, u->blks[i].b, 0);
            struct check_ctx c = {NULL, 0, models, 1};
            check_block(&m, &c);
            uwarn(u, u->blks[i].b->pos, "%s \"%s\" applies to no tracing_model: there is none in "
                  "the input files", u->blks[i].b->kind, u->blks[i].b->name);
        }
    }
}

static void validate_models(struct unit *u, json_t *models) {
    size_t r;
    json_t *doc;
    json_array_foreach(models, r, doc) {
        json_t *prov = json_object_get(doc, "x-prov");
        json_t *clean = json_copy(doc); /* shallow: only the top level loses x-prov */
        json_object_del(clean, "x-prov");
        struct diag tmp;
        diag_init(&tmp);
        tm_validate(clean, 0, &tmp);
        char what[200];
        snprintf(what, sizeof(what), "TracingModel %s",
                 json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")));
        relocate(u, &tmp, prov, &u->blks[u->roots[r]], what);
        diag_done(&tmp);
        json_decref(clean);
    }
}

/* The root a source belongs to (first attached), or -1. */
static long source_root(struct unit *u, size_t bi) {
    const struct idxvec *v = &u->block_roots[bi];
    if (!v->n)
        return -1;
    if (v->n > 1)
        uwarn(u, u->blks[bi].b->pos, "trace_source \"%s\" is used by several models; its "
              "Instrumentation follows the first, \"%s\"", u->blks[bi].b->name,
              u->blks[u->roots[v->v[0]]].b->name);
    return (long)v->v[0];
}

static void build_sources(struct unit *u, json_t *models, json_t *out) {
    for (size_t i = 0; i < u->nblks; i++) {
        const struct blk *bk = &u->blks[i];
        if (bk->k->cat != CAT_SOURCE)
            continue;
        long r = source_root(u, i);
        const char *ns = bk->ns[0] || (u->opt && u->opt->ns) ? doc_ns(u, bk, 1) : NULL;
        json_t *model = r >= 0 ? json_array_get(models, (size_t)r) : NULL;
        json_t *mmd = json_object_get(model, "metadata");
        if (!ns && mmd)
            ns = json_string_value(json_object_get(mmd, "namespace"));
        json_t *doc = new_doc(u, TINST_KIND, bk, 63, ns);
        json_t *spec = json_object_get(doc, "spec");
        if (model) {
            const char *mns = json_string_value(json_object_get(mmd, "namespace"));
            const char *mname = json_string_value(json_object_get(mmd, "name"));
            char *ref = mns && ns && strcmp(mns, ns) ? xasprintf("%s/%s", mns, mname)
                                                     : xstrdup(mname);
            json_object_set_new(spec, "tracingModel", json_string(ref));
            free(ref);
        } else {
            uwarn(u, bk->b->pos, "trace_source \"%s\" belongs to no tracing_model, so its "
                  "Instrumentation has no exporter, sampler or propagators: add tracing_model: "
                  "\"<model>\" or compile it with its model", bk->b->name);
        }
        json_t *prov = json_object();
        struct mctx m;
        init_mctx(u, &m, doc, prov, bk->b, 0);
        map_source_block(&m);
        json_decref(m.indexes);
        static const char *const order[] = {"tracingModel", "resource", NULL};
        json_object_set_new(doc, "spec", reorder(spec, order));
        struct diag tmp;
        diag_init(&tmp);
        tinst_validate(doc, 0, &tmp);
        char what[200];
        snprintf(what, sizeof(what), "Instrumentation %s",
                 json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")));
        relocate(u, &tmp, prov, bk, what);
        diag_done(&tmp);
        json_decref(prov);
        json_array_append_new(out, doc);
    }
}

static const char *dsl_name_of(const json_t *doc) {
    return json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "metadata"), "annotations"), "tracemodel.dev/dsl-name"));
}

/* Two documents of one kind with the same namespace/name would overwrite each other. */
static void check_names(struct unit *u, const json_t *docs) {
    json_t *seen = json_object();
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_t *md = json_object_get(d, "metadata");
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        const char *name = json_string_value(json_object_get(md, "name"));
        char *key = xasprintf("%s/%s/%s", kind ? kind : "", ns ? ns : "", name ? name : "");
        json_t *first = json_object_get(seen, key);
        if (first) {
            struct dsl_pos p = {0, 1, 1};
            uerr(u, p, "\"%s\" and \"%s\" both become %s \"%s\"; rename one",
                 dsl_name_of(json_array_get(docs, (size_t)json_integer_value(first))),
                 dsl_name_of(d), kind ? kind : "?", name ? name : "?");
        } else {
            json_object_set_new(seen, key, json_integer((json_int_t)i));
        }
        free(key);
    }
    json_decref(seen);
}

static json_t *build_all(struct unit *u) {
    pick_roots(u);
    attach_all(u);
    json_t *models = json_array();
    for (size_t r = 0; r < u->nroots; r++)
        build_model(u, r, models);
    run_checks(u, models);
    validate_models(u, models);
    json_t *docs = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(models, i, doc) {
        json_object_del(doc, "x-prov");
        json_array_append(docs, doc);
    }
    build_sources(u, models, docs);
    json_decref(models);
    check_names(u, docs);
    if (!json_array_size(docs) && u->d->errors == 0) {
        struct dsl_pos p = {0, 1, 1};
        uwarn(u, p, "nothing to compile: the input has no tracing_model, model block or "
              "trace_source");
    }
    return docs;
}

int dsl_compile(const struct dsl_source *srcs, size_t n, const struct dsl_options *opt,
                json_t **ret_docs, struct diag *d) {
    *ret_docs = NULL;
    struct diag local;
    diag_init(&local);
    struct unit u;
    memset(&u, 0, sizeof(u));
    u.srcs = srcs;
    u.nsrcs = n;
    u.opt = opt;
    u.d = &local;
    u.files = xcalloc(n ? n : 1, sizeof(*u.files));
    int rc = 0;
    if (opt && opt->ns && !is_dns_label(opt->ns)) {
        diag_error(&local, "--namespace", "\"%s\" is not a valid namespace (a DNS label)", opt->ns);
        rc = OP_EINVALID;
    }
    for (size_t i = 0; i < n; i++) {
        int prc = dsl_parse(srcs[i].text, srcs[i].len, srcs[i].name, (uint32_t)i, &u.files[i],
                            &local);
        if (prc == OP_ETOOBIG || (prc && !rc))
            rc = prc;
    }
    json_t *docs = NULL;
    if (!rc && collect(&u) == 0)
        docs = build_all(&u);
    if (opt && opt->strict)
        diag_promote_warnings(&local);
    if (!rc && (local.errors || !docs))
        rc = OP_EINVALID;
    if (!rc)
        *ret_docs = docs;
    else
        json_decref(docs);
    diag_move(d, &local, NULL);
    for (size_t i = 0; i < n; i++)
        dsl_file_free(&u.files[i]);
    free(u.files);
    free(u.blks);
    free(u.roots);
    for (size_t r = 0; u.root_blocks && r < u.nroots; r++)
        free(u.root_blocks[r].v);
    for (size_t i = 0; u.block_roots && i < u.nblks; i++)
        free(u.block_roots[i].v);
    free(u.root_blocks);
    free(u.block_roots);
    json_decref(u.by_name);
    return rc;
}
