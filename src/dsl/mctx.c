/* mctx.c - helpers shared by the DSL block mappers (see mctx.h). */
#include "dsl/mctx.h"
#include "base/jarena.h"
#include "base/suggest.h"
#include "base/units.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- locations and messages ---- */

void mx_where(const struct mctx *m, struct dsl_pos pos, char *buf, size_t n) {
    const char *name = pos.file < m->nsrcs ? m->srcs[pos.file].name : "<input>";
    snprintf(buf, n, "%s:%u:%u", name, pos.line, pos.col);
}

static void mx_vadd(struct mctx *m, enum diag_level lvl, struct dsl_pos pos, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));

static void mx_vadd(struct mctx *m, enum diag_level lvl, struct dsl_pos pos, const char *fmt,
                    va_list ap) {
    char where[600];
    mx_where(m, pos, where, sizeof(where));
    char *msg = xvasprintf(fmt, ap);
    if (m->plen)
        diag_add(m->d, lvl, where, "%s \"%s\": %s: %s", m->blk->kind, m->blk->name, m->path, msg);
    else
        diag_add(m->d, lvl, where, "%s \"%s\": %s", m->blk->kind, m->blk->name, msg);
    free(msg);
}

void mx_warn(struct mctx *m, struct dsl_pos pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mx_vadd(m, DIAG_WARNING, pos, fmt, ap);
    va_end(ap);
}

void mx_error(struct mctx *m, struct dsl_pos pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mx_vadd(m, DIAG_ERROR, pos, fmt, ap);
    va_end(ap);
}

size_t mx_push(struct mctx *m, const char *key) {
    size_t old = m->plen;
    int n = snprintf(m->path + m->plen, sizeof(m->path) - m->plen, "%s%s", m->plen ? "." : "",
                     key);
    if (n > 0)
        m->plen = m->plen + (size_t)n < sizeof(m->path) ? m->plen + (size_t)n
                                                        : sizeof(m->path) - 1;
    return old;
}

size_t mx_push_index(struct mctx *m, size_t i) {
    size_t old = m->plen;
    int n = snprintf(m->path + m->plen, sizeof(m->path) - m->plen, "[%zu]", i);
    if (n > 0)
        m->plen = m->plen + (size_t)n < sizeof(m->path) ? m->plen + (size_t)n
                                                        : sizeof(m->path) - 1;
    return old;
}

void mx_pop(struct mctx *m, size_t len) {
    m->plen = len;
    m->path[len] = '\0';
}

/* ---- typed reads ---- */

static void type_error(struct mctx *m, const struct dsl_value *v, const char *want) {
    if (v->type == DSL_STRING || v->type == DSL_WORD || v->type == DSL_QUANTITY)
        mx_error(m, v->pos, "expected %s, got %s \"%.60s\"", want, dsl_type_name(v->type),
                 v->text);
    else if (v->type == DSL_NUMBER)
        mx_error(m, v->pos, "expected %s, got number %s", want, v->text);
    else
        mx_error(m, v->pos, "expected %s, got %s", want, dsl_type_name(v->type));
}

static void envref_dropped(struct mctx *m, const struct dsl_value *v) {
    mx_warn(m, v->pos, "\"%.80s\" is a ${...} reference, but this field takes a plain value; "
            "references are never resolved into the output, so it is dropped", v->text);
}

int mx_str(struct mctx *m, const struct dsl_value *v, const char **out) {
    if (v->type == DSL_ENVREF) {
        envref_dropped(m, v);
        return -1;
    }
    if (v->type != DSL_STRING && v->type != DSL_WORD && v->type != DSL_QUANTITY) {
        type_error(m, v, "a string");
        return -1;
    }
    *out = v->text;
    return 0;
}

int mx_num(struct mctx *m, const struct dsl_value *v, double *out) {
    if (v->type != DSL_NUMBER) {
        type_error(m, v, "a number");
        return -1;
    }
    *out = v->num;
    return 0;
}

int mx_rate(struct mctx *m, const struct dsl_value *v, double *out) {
    double r;
    if (v->type == DSL_QUANTITY && v->len > 1 && v->text[v->len - 1] == '%') {
        char *end;
        r = strtod(v->text, &end);
        if (end != v->text + v->len - 1) {
            type_error(m, v, "a rate between 0 and 1");
            return -1;
        }
        r /= 100.0;
    } else if (v->type == DSL_NUMBER) {
        r = v->num;
    } else {
        type_error(m, v, "a rate between 0 and 1");
        return -1;
    }
    if (!(r >= 0 && r <= 1)) {
        mx_error(m, v->pos, "a rate must be between 0 and 1, got %s", v->text);
        return -1;
    }
    *out = r;
    return 0;
}

int mx_int(struct mctx *m, const struct dsl_value *v, long long min, long long *out) {
    if (v->type != DSL_NUMBER || !v->is_int || fabs(v->num) > 9e15) {
        type_error(m, v, "a whole number");
        return -1;
    }
    if (v->num < (double)min) {
        mx_error(m, v->pos, "must be at least %lld, got %s", min, v->text);
        return -1;
    }
    *out = (long long)v->num;
    return 0;
}

int mx_bool(struct mctx *m, const struct dsl_value *v, int *out) {
    if (v->type != DSL_BOOL) {
        type_error(m, v, "true or false");
        return -1;
    }
    *out = v->b;
    return 0;
}

int mx_duration(struct mctx *m, const struct dsl_value *v, const char **out, int64_t *ms) {
    int64_t tmp;
    if (v->type == DSL_NUMBER && v->num == 0) {
        *out = "0s";
        if (ms)
            *ms = 0;
        return 0;
    }
    if (v->type == DSL_NUMBER) {
        mx_error(m, v->pos, "a duration needs a unit (500ms, 10s, 5m, 7d), got %s", v->text);
        return -1;
    }
    if (v->type != DSL_STRING && v->type != DSL_QUANTITY) {
        type_error(m, v, "a duration such as \"5m\"");
        return -1;
    }
    if (parse_duration_ms(v->text, &tmp) != 0) {
        mx_error(m, v->pos, "\"%.60s\" is not a duration (500ms, 10s, 5m, 7d)", v->text);
        return -1;
    }
    *out = v->text;
    if (ms)
        *ms = tmp;
    return 0;
}

int mx_size(struct mctx *m, const struct dsl_value *v, char *k8s, size_t n, double *bytes) {
    double b;
    if (v->type != DSL_STRING && v->type != DSL_QUANTITY && v->type != DSL_NUMBER) {
        type_error(m, v, "a size such as \"10GB\"");
        return -1;
    }
    if (parse_size_bytes(v->text, &b) != 0) {
        mx_error(m, v->pos, "\"%.60s\" is not a size (10GB, 512Mi)", v->text);
        return -1;
    }
    if (bytes)
        *bytes = b;
    if (k8s) {
        /* Kubernetes quantities: decimal suffixes k M G T P, binary Ki Mi Gi Ti Pi */
        const char *s = v->text;
        size_t i = 0;
        while (s[i] && (isdigit((unsigned char)s[i]) || s[i] == '.'))
            i++;
        size_t j = i;
        while (s[j] == ' ')
            j++;
        char unit[8] = "";
        const char *u = s + j;
        if (!strcmp(u, "KB") || !strcmp(u, "K") || !strcmp(u, "k"))
            strcpy(unit, "k");
        else if (!*u || !strcmp(u, "B"))
            unit[0] = '\0';
        else if (strlen(u) == 2 && u[1] == 'B')
            snprintf(unit, sizeof(unit), "%c", u[0]);       /* MB -> M */
        else if (strlen(u) == 3 && u[1] == 'i' && u[2] == 'B')
            snprintf(unit, sizeof(unit), "%.2s", u);        /* GiB -> Gi */
        else
            snprintf(unit, sizeof(unit), "%.2s", u);        /* G, Gi */
        snprintf(k8s, n, "%.*s%s", (int)i, s, unit);
    }
    return 0;
}

int mx_str_list(struct mctx *m, const struct dsl_value *v, json_t **out) {
    const char *s;
    if (v->type != DSL_ARRAY) {
        if (mx_str(m, v, &s) != 0)
            return -1;
        *out = json_pack("[s]", s);
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        if (mx_str(m, v->items[i], &s) == 0)
            json_array_append_new(a, json_string(s));
        mx_pop(m, old);
    }
    *out = a;
    return 0;
}

int mx_obj(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_OBJECT)
        return 0;
    type_error(m, v, "an object { ... }");
    return -1;
}

int mx_arr(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_ARRAY)
        return 0;
    type_error(m, v, "a list [ ... ]");
    return -1;
}

json_t *mx_number_json(const struct dsl_value *v) {
    if (v->is_int && fabs(v->num) < 9e15)
        return json_integer((json_int_t)v->num);
    return json_real(v->num);
}

/* ---- key tables ---- */

static void unknown_key(struct mctx *m, const struct dsl_member *mb, const struct mx_field *tbl) {
    struct suggest sg;
    suggest_init(&sg, mb->key);
    for (const struct mx_field *f = tbl; f->key; f++)
        suggest_consider(&sg, f->key);
    const char *hint = suggest_best(&sg);
    if (hint)
        mx_warn(m, mb->kpos, "unknown key; ignored (did you mean \"%s\"?)", hint);
    else
        mx_warn(m, mb->kpos, "unknown key; ignored");
}

void mx_fields(struct mctx *m, const struct dsl_value *obj, const struct mx_field *tbl) {
    if (mx_obj(m, obj) != 0)
        return;
    for (size_t i = 0; i < obj->n; i++) {
        const struct dsl_member *mb = &obj->members[i];
        const struct mx_field *f = tbl;
        while (f->key && strcmp(f->key, mb->key))
            f++;
        size_t old = mx_push(m, mb->key);
        if (!f->key)
            unknown_key(m, mb, tbl);
        else if (mb->val->type == DSL_NULL)
            ; /* null: the same as leaving the key out */
        else if (f->fn)
            f->fn(m, mb->val);
        else if (f->why)
            mx_warn(m, mb->kpos, "not compiled: %s", f->why);
        mx_pop(m, old);
    }
}

/* ---- writes ---- */

json_t *mx_spec_obj(struct mctx *m, const char *path) {
    json_t *cur = m->spec;
    const char *p = path;
    while (p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        json_t *next = json_object_get(cur, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
        p = dot ? dot + 1 : NULL;
    }
    return cur;
}

void mx_prov(struct mctx *m, const char *fullpath, struct dsl_pos pos) {
    char where[600];
    mx_where(m, pos, where, sizeof(where));
    char *from = xasprintf("%s \"%s\"", m->blk->kind, m->blk->name);
    json_object_set_new(m->prov, fullpath, json_pack("{s:s, s:s}", "where", where, "from", from));
    free(from);
}

int mx_set(struct mctx *m, json_t *obj, const char *objpath, const char *key, json_t *val,
           struct dsl_pos pos) {
    char *full = xasprintf("%s.%s", objpath, key);
    json_t *old = json_object_get(obj, key);
    int set = 0;
    if (!old) {
        json_object_set_new(obj, key, val);
        mx_prov(m, full, pos);
        set = 1;
    } else {
        if (!json_equal(old, val)) {
            size_t fl = JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15);
            char *a = jarena_dumps(old, fl);
            char *b = jarena_dumps(val, fl);
            json_t *pv = json_object_get(m->prov, full);
            const char *pw = json_string_value(json_object_get(pv, "where"));
            const char *pf = json_string_value(json_object_get(pv, "from"));
            mx_warn(m, pos, "%s is already %s (from %s at %s); %s is ignored", full,
                    a ? a : "?", pf ? pf : "?", pw ? pw : "?", b ? b : "?");
            free(a);
            free(b);
        }
        json_decref(val);
    }
    free(full);
    return set;
}

int mx_spec_set(struct mctx *m, const char *path, const char *key, json_t *val,
                struct dsl_pos pos) {
    json_t *obj = mx_spec_obj(m, path);
    char *objpath = *path ? xasprintf("spec.%s", path) : xstrdup("spec");
    int r = mx_set(m, obj, objpath, key, val, pos);
    free(objpath);
    return r;
}

size_t mx_spec_append(struct mctx *m, const char *path, json_t *item, struct dsl_pos pos) {
    const char *dot = strrchr(path, '.');
    json_t *parent = m->spec;
    const char *key = path;
    if (dot) {
        char *pp = xstrndup(path, (size_t)(dot - path));
        parent = mx_spec_obj(m, pp);
        free(pp);
        key = dot + 1;
    }
    json_t *arr = json_object_get(parent, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(parent, key, arr);
    }
    size_t idx = json_array_size(arr);
    json_array_append_new(arr, item);
    char *full = xasprintf("spec.%s[%zu]", path, idx);
    mx_prov(m, full, pos);
    free(full);
    return idx;
}

/* The lookup table `name` of the document (created empty). */
static json_t *index_of(struct mctx *m, const char *name) {
    if (!m->indexes)
        m->indexes = json_object();
    json_t *ix = json_object_get(m->indexes, name);
    if (!ix) {
        ix = json_object();
        json_object_set_new(m->indexes, name, ix);
    }
    return ix;
}

void mx_spec_union(struct mctx *m, const char *path, const char *key, const json_t *list,
                   struct dsl_pos pos) {
    json_t *obj = mx_spec_obj(m, path);
    json_t *arr = json_object_get(obj, key);
    char *full = xasprintf("spec.%s.%s", path, key);
    json_t *set = index_of(m, full);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(obj, key, arr);
        mx_prov(m, full, pos);
    }
    free(full);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (s && !json_object_get(set, s)) {
            json_object_set_new(set, s, json_true());
            json_array_append(arr, v);
        }
    }
}

json_t *mx_service(struct mctx *m, const char *name, struct dsl_pos pos, char **ret_path) {
    json_t *ix = index_of(m, "services");
    json_t *at = json_object_get(ix, name);
    json_t *arr = json_object_get(m->spec, "services");
    if (at) {
        size_t i = (size_t)json_integer_value(at);
        *ret_path = xasprintf("spec.services[%zu]", i);
        return json_array_get(arr, i);
    }
    json_t *s = json_pack("{s:s}", "name", name);
    size_t i = mx_spec_append(m, "services", s, pos);
    json_object_set_new(ix, name, json_integer((json_int_t)i));
    *ret_path = xasprintf("spec.services[%zu]", i);
    char *np = xasprintf("%s.name", *ret_path);
    mx_prov(m, np, pos);
    free(np);
    return s;
}

void mx_latency(struct mctx *m, double percentile, const char *threshold, struct dsl_pos pos) {
    json_t *ix = index_of(m, "latency");
    char key[40];
    snprintf(key, sizeof(key), "%.17g", percentile);
    json_t *at = json_object_get(ix, key);
    if (at) {
        size_t i = (size_t)json_integer_value(at);
        json_t *e = json_array_get(json_object_get(mx_spec_obj(m, "analysis"), "latency"), i);
        char *path = xasprintf("spec.analysis.latency[%zu]", i);
        mx_set(m, e, path, "threshold", json_string(threshold), pos);
        free(path);
        return;
    }
    json_t *item = json_pack("{s:f, s:s}", "percentile", percentile, "threshold", threshold);
    size_t idx = mx_spec_append(m, "analysis.latency", item, pos);
    json_object_set_new(ix, key, json_integer((json_int_t)idx));
    char *path = xasprintf("spec.analysis.latency[%zu].threshold", idx);
    mx_prov(m, path, pos);
    free(path);
}

/* ---- small shared helpers ---- */

int mx_name_eq(const char *a, const char *b) {
    while (*a || *b) {
        while (*a == '_' || *a == '-')
            a++;
        while (*b == '_' || *b == '-')
            b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
    return 1;
}

const char *mx_propagator(const char *n) {
    static const struct { const char *dsl, *model; } names[] = {
        {"w3c_tracecontext", "tracecontext"}, {"tracecontext", "tracecontext"},
        {"w3c", "tracecontext"}, {"traceparent", "tracecontext"},
        {"baggage", "baggage"}, {"w3c_baggage", "baggage"},
        {"b3", "b3"}, {"b3single", "b3"}, {"b3multi", "b3multi"},
        {"jaeger", "jaeger"}, {"uber", "jaeger"},
        {"xray", "xray"}, {"aws_xray", "xray"},
        {"ottrace", "ottrace"}, {"opentracing", "ottrace"}, {"none", "none"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (mx_name_eq(n, names[i].dsl))
            return names[i].model;
    return NULL;
}

void mx_k8s_name(const char *in, char *out, size_t max) { to_dns_label(in, out, max); }
