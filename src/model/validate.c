/* validate.c - TracingModel validation (tm_validate): every problem with its
 * field path, never stopping at the first.
 *
 * Two passes: a generic pass walks spec against the table in schema.c
 * (types, enums, ranges, durations, quantities, required fields, unknown
 * fields, unique list keys); then the cross-field rules below look only at
 * fields whose type is right (a wrong type was already reported once). */
#include "model/model.h"
#include "model/condition.h"
#include "model/schema.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/suggest.h"
#include "base/units.h"
#include "base/suggest.h"
#include "base/xalloc.h"

struct vctx {
    struct diag *d;
    int strict;
    char *path;         /* current field path, NUL-terminated */
    size_t len, cap;
};

/* ---- paths -------------------------------------------------------------- */

static size_t path_push(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the path; returns the previous length for path_pop(). Formats
 * straight into the path buffer (no allocation per segment: validation walks
 * every node of the model, and this runs once per node). */
static size_t path_push(struct vctx *v, const char *fmt, ...) {
    size_t old = v->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v->path ? v->path + v->len : NULL, v->path ? v->cap - v->len : 0, fmt,
                      ap);
    va_end(ap);
    if (n < 0)
        abort();
    if (v->len + (size_t)n + 1 > v->cap) {
        v->cap = (v->len + (size_t)n + 1) * 2;
        v->path = xrealloc(v->path, v->cap);
        va_start(ap, fmt);
        vsnprintf(v->path + v->len, v->cap - v->len, fmt, ap);
        va_end(ap);
    }
    v->len += (size_t)n;
    return old;
}

static void path_pop(struct vctx *v, size_t old) {
    v->len = old;
    v->path[old] = '\0';
}

/* key as a path segment: `.key`, or `[key]` when it has dots or odd characters */
static size_t path_key(struct vctx *v, const char *key) {
    int plain = *key != '\0';
    for (const char *s = key; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            plain = 0;
    if (plain)
        return path_push(v, "%s%s", v->len ? "." : "", key);
    return path_push(v, "[%.200s]", key);
}

#define ERR(v, ...) diag_error((v)->d, (v)->path, __VA_ARGS__)
#define WARN(v, ...) diag_warn((v)->d, (v)->path, __VA_ARGS__)

/* ---- value helpers ------------------------------------------------------ */

static const char *json_kind(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* 150, 1.5, 0.001 (shortest form that reads back; no exponent for whole numbers) */
static void fmt_num(double x, char *out, size_t n) {
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(out, n, "%.0f", x);
    else
        format_double(x, out, n);
}

/* A short rendering of a scalar for messages: 1.5, "abc", true. */
static void fmt_value(const json_t *j, char *out, size_t n) {
    if (json_is_string(j))
        snprintf(out, n, "\"%.60s%s\"", json_string_value(j),
                 strlen(json_string_value(j)) > 60 ? "..." : "");
    else if (json_is_integer(j))
        snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j))
        fmt_num(json_real_value(j), out, n);
    else if (json_is_boolean(j))
        snprintf(out, n, "%s", json_is_true(j) ? "true" : "false");
    else
        snprintf(out, n, "%s", json_kind(j));
}

static int present(const json_t *o, const char *key) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return v && !json_is_null(v);
}

static json_t *obj_at(const json_t *o, const char *key) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

static json_t *arr_at(const json_t *o, const char *key) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

static const char *str_at(const json_t *o, const char *key) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int num_at(const json_t *o, const char *key, double *out) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

static int bool_at(const json_t *o, const char *key, int dflt) {
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* ---- Kubernetes quantities ---------------------------------------------- */

int tm_parse_quantity(const char *s, double *out) {
    static const struct { const char *sfx; double mul; } sfx[] = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0},
        {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9},
        {"T", 1e12}, {"P", 1e15}, {"E", 1e18}, {"", 1},
    };
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0, dots = 0;
    const char *q = p;
    for (; isdigit((unsigned char)*q) || *q == '.'; q++) {
        if (*q == '.')
            dots++;
        else
            digits++;
    }
    if (!digits || dots > 1)
        return OP_EINVALID;
    double base = strtod(s, NULL);
    if ((*q == 'e' || *q == 'E') && q[1]) {     /* decimal exponent: 1e3, 5E-2 */
        char *end;
        long e = strtol(q + 1, &end, 10);
        if (*end || end == q + 1 || e > 300 || e < -300)
            return OP_EINVALID;
        *out = base * pow(10.0, (double)e);
        return 0;
    }
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
        if (!strcmp(q, sfx[i].sfx)) {
            *out = base * sfx[i].mul;
            return 0;
        }
    return OP_EINVALID;
}

/* ---- generic pass: the schema table ------------------------------------- */

static void check_node(struct vctx *v, const json_t *val, const struct tm_field *f);

static int type_ok(struct vctx *v, const json_t *val, const struct tm_field *f) {
    const char *want = NULL;
    switch (f->kind) {
    case TK_STRING: if (!json_is_string(val)) want = "a string"; break;
    case TK_BOOL: if (!json_is_boolean(val)) want = "a boolean (true or false)"; break;
    case TK_NUMBER: if (!json_is_number(val)) want = "a number"; break;
    case TK_INT: if (!json_is_integer(val)) want = "an integer"; break;
    case TK_DURATION:
        if (!json_is_string(val))
            want = "a duration string such as 500ms, 10s, 5m or 7d";
        break;
    case TK_QUANTITY:
        if (!json_is_string(val) && !json_is_number(val))
            want = "a quantity such as 10Gi or 500m";
        break;
    case TK_OBJECT:
    case TK_MAP: if (!json_is_object(val)) want = "an object"; break;
    case TK_ARRAY: if (!json_is_array(val)) want = "a list"; break;
    }
    if (!want)
        return 1;
    char got[96];
    fmt_value(val, got, sizeof(got));
    if (json_is_object(val) || json_is_array(val) || json_is_null(val))
        ERR(v, "must be %s, got %s", want, json_kind(val));
    else
        ERR(v, "must be %s, got %s %s", want, json_kind(val), got);
    return 0;
}

static void check_range(struct vctx *v, double x, const json_t *val, const struct tm_field *f) {
    char got[64], lo[32], hi[32];
    fmt_value(val, got, sizeof(got));
    fmt_num(f->min, lo, sizeof(lo));
    fmt_num(f->max, hi, sizeof(hi));
    int has_lo = f->flags & (TF_MIN | TF_XMIN), has_hi = f->flags & (TF_MAX | TF_XMAX);
    int bad_lo = ((f->flags & TF_MIN) && x < f->min) || ((f->flags & TF_XMIN) && x <= f->min);
    int bad_hi = ((f->flags & TF_MAX) && x > f->max) || ((f->flags & TF_XMAX) && x >= f->max);
    if (!bad_lo && !bad_hi && !isnan(x))
        return;
    if (has_lo && has_hi)
        ERR(v, "must be within %c%s, %s%c, got %s", (f->flags & TF_XMIN) ? '(' : '[', lo, hi,
            (f->flags & TF_XMAX) ? ')' : ']', got);
    else if (f->flags & TF_XMIN)
        ERR(v, "must be greater than %s, got %s", lo, got);
    else if (has_lo)
        ERR(v, "must be at least %s, got %s", lo, got);
    else
        ERR(v, "must be at most %s, got %s", hi, got);
}

/* The value a user of the OpenTelemetry SDK or operator writes for a sampler, and what
 * it is here (when `is` is one of the field's values). */
static const struct {
    const char *otel, *is, *hint;
} SAMPLER_NAMES[] = {
    {"parentbased_traceidratio", "probabilistic", "parentBased: true is the default"},
    {"traceidratio", "probabilistic", "then set parentBased: false"},
    {"parentbased_always_on", "always_on", ""},
    {"parentbased_always_off", "always_off", ""},
    {"parentBased", "probabilistic", "parentBased is a field of its own"},
    {"parentbased_jaeger_remote", "adaptive", ""},
    {"jaeger_remote", "adaptive", ""},
};

static int has_enum(const struct tm_field *f, const char *s) {
    for (size_t i = 0; f->enums[i]; i++)
        if (!strcmp(f->enums[i], s))
            return 1;
    return 0;
}

/* " (did you mean ...?)" into buf for a value not among f's: a sampler's OpenTelemetry
 * name, or a near spelling of one of the values; "" when nothing is close. */
static void enum_hint(const struct tm_field *f, const char *s, char *buf, size_t n) {
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(SAMPLER_NAMES) / sizeof(SAMPLER_NAMES[0]); i++)
        if (!strcasecmp(s, SAMPLER_NAMES[i].otel) && has_enum(f, SAMPLER_NAMES[i].is)) {
            snprintf(buf, n, " (did you mean \"%s\"?%s%s)", SAMPLER_NAMES[i].is,
                     *SAMPLER_NAMES[i].hint ? " " : "", SAMPLER_NAMES[i].hint);
            return;
        }
    struct suggest sg;
    suggest_init(&sg, s);
    for (size_t i = 0; f->enums[i]; i++)
        suggest_consider(&sg, f->enums[i]);
    if (suggest_best(&sg))
        snprintf(buf, n, " (did you mean \"%s\"?)", suggest_best(&sg));
}

static void check_string(struct vctx *v, const json_t *val, const struct tm_field *f) {
    const char *s = json_string_value(val);
    if (f->flags & TF_FORBIDDEN) {
        ERR(v, "credentials must not be written inline; put them in a Secret and reference it "
               "with secretRef");
        return;
    }
    if (f->enums) {
        if (has_enum(f, s))
            return;
        char list[512] = "";
        size_t n = 0;
        for (size_t i = 0; f->enums[i] && n < sizeof(list) - 40; i++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", f->enums[i]);
        char got[96];
        fmt_value(val, got, sizeof(got));
        char hint[128];
        enum_hint(f, s, hint, sizeof(hint));
        ERR(v, "must be one of: %s; got %s%s", list, got, hint);
        return;
    }
    if ((f->flags & TF_NONEMPTY) && !*s) {
        ERR(v, "must not be empty");
        return;
    }
    if (f->max_len && strlen(s) > f->max_len) {
        ERR(v, "must be at most %zu characters, got %zu", f->max_len, strlen(s));
        return;
    }
    if ((f->flags & TF_NAME) && !is_dns_subdomain(s))
        ERR(v, "\"%.80s\" is not a valid Kubernetes object name (lower-case letters, digits, "
               "'-' and '.', at most 253 characters)", s);
    if ((f->flags & TF_DNSLABEL) && *s && !is_dns_label(s))
        ERR(v, "\"%.80s\" is not a valid namespace name (a DNS label: lower-case letters, "
               "digits and '-', at most 63 characters)", s);
}

/* A field name that looks like a credential gets an error, not a warning. */
static int looks_like_secret(const char *key) {
    static const char *const words[] = {"password", "passwd", "token", "apikey", "api_key",
                                        "secretkey", "secret_key", "accesskey", "access_key",
                                        "username", "credentials", NULL};
    char low[64];
    size_t n = 0;
    for (; key[n] && n < sizeof(low) - 1; n++)
        low[n] = (char)tolower((unsigned char)key[n]);
    low[n] = '\0';
    for (size_t i = 0; words[i]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

static void check_object(struct vctx *v, const json_t *val, const struct tm_field *fields) {
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)val, key, child) {
        const struct tm_field *f = NULL;
        for (size_t i = 0; fields[i].name; i++)
            if (!strcmp(fields[i].name, key)) {
                f = &fields[i];
                break;
            }
        size_t old = path_key(v, key);
        if (!f) {
            struct suggest sg;
            suggest_init(&sg, key);
            for (size_t i = 0; fields[i].name; i++)
                suggest_consider(&sg, fields[i].name);
            const char *hint = suggest_best(&sg);
            if (looks_like_secret(key))
                ERR(v, "unknown field; credentials must not be written inline: put them in a "
                       "Secret and reference it with secretRef");
            else if (hint && v->strict)
                ERR(v, "unknown field (did you mean \"%s\"?)", hint);
            else if (hint)
                WARN(v, "unknown field (did you mean \"%s\"?)", hint);
            else if (v->strict)
                ERR(v, "unknown field");
            else
                WARN(v, "unknown field");
        } else if (!json_is_null(child)) {
            check_node(v, child, f);
        }
        path_pop(v, old);
    }
    for (size_t i = 0; fields[i].name; i++) {
        if (!(fields[i].flags & TF_REQUIRED) || present(val, fields[i].name))
            continue;
        size_t old = path_key(v, fields[i].name);
        if (fields[i].enums) {
            char list[256] = "";
            size_t n = 0;
            for (size_t k = 0; fields[i].enums[k] && n < sizeof(list) - 40; k++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", k ? ", " : "",
                                      fields[i].enums[k]);
            ERR(v, "required (one of: %s)", list);
        } else {
            ERR(v, "required");
        }
        path_pop(v, old);
    }
}

/* "services" -> "service": the noun used in duplicate-name messages */
static const char *item_noun(const char *list) {
    static const struct { const char *list, *noun; } t[] = {
        {"services", "service"}, {"rules", "rule"}, {"policies", "policy"},
        {"operations", "operation"}, {"claims", "claim"}, {"types", "propagation type"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(t[i].list, list))
            return t[i].noun;
    return "item";
}

static void check_array(struct vctx *v, const json_t *val, const struct tm_field *f) {
    size_t n = json_array_size(val);
    if ((f->flags & TF_NONEMPTY) && n == 0)
        ERR(v, "must not be empty");
    if (f->max_items && n > f->max_items)
        ERR(v, "must have at most %zu items, got %zu", f->max_items, n);
    /* unique keys: a set of key -> first index (linear time for big lists) */
    json_t *seen = (f->flags & (TF_LISTMAP | TF_LISTSET)) ? json_object() : NULL;
    const char *noun = item_noun(f->name ? f->name : "");
    int base = (int)v->len;     /* v->path[0, base) is the list's path throughout */
    size_t i;
    json_t *it;
    json_array_foreach(val, i, it) {
        size_t old = path_push(v, "[%zu]", i);
        if (json_is_null(it))
            ERR(v, "must not be null");
        else
            check_node(v, it, f->item);
        const char *key = NULL;
        if ((f->flags & TF_LISTMAP) && json_is_object(it))
            key = str_at(it, "name");
        else if ((f->flags & TF_LISTSET) && json_is_string(it))
            key = json_string_value(it);
        if (seen && key) {
            json_t *first = json_object_get(seen, key);
            if (first) {
                size_t o2 = (f->flags & TF_LISTMAP) ? path_push(v, ".name") : v->len;
                ERR(v, "duplicate %s%s \"%.80s\" (also %.*s[%" JSON_INTEGER_FORMAT "])",
                    noun, (f->flags & TF_LISTMAP) ? " name" : "", key, base, v->path,
                    json_integer_value(first));
                path_pop(v, o2);
            } else {
                json_object_set_new(seen, key, json_integer((json_int_t)i));
            }
        }
        path_pop(v, old);
    }
    json_decref(seen);
}

static void check_node(struct vctx *v, const json_t *val, const struct tm_field *f) {
    if (!type_ok(v, val, f))
        return;
    switch (f->kind) {
    case TK_STRING:
        check_string(v, val, f);
        return;
    case TK_BOOL:
        return;
    case TK_NUMBER:
    case TK_INT:
        if (f->flags & (TF_MIN | TF_MAX | TF_XMIN | TF_XMAX))
            check_range(v, json_number_value(val), val, f);
        return;
    case TK_DURATION: {
        int64_t ms;
        if (parse_duration_ms(json_string_value(val), &ms) != 0) {
            char got[96];
            fmt_value(val, got, sizeof(got));
            ERR(v, "%s is not a duration (write a number with a unit: 500ms, 10s, 5m, 2h, 7d)",
                got);
        }
        return;
    }
    case TK_QUANTITY: {
        double q;
        if (json_is_number(val) ? json_number_value(val) < 0
                                : tm_parse_quantity(json_string_value(val), &q) != 0 || q < 0) {
            char got[96];
            fmt_value(val, got, sizeof(got));
            ERR(v, "%s is not a Kubernetes quantity (examples: 10Gi, 512Mi, 500m, 2)", got);
        }
        return;
    }
    case TK_OBJECT:
        check_object(v, val, f->fields);
        return;
    case TK_ARRAY:
        check_array(v, val, f);
        return;
    case TK_MAP: {
        if (f->max_items && json_object_size(val) > f->max_items)
            ERR(v, "must have at most %zu entries, got %zu", f->max_items, json_object_size(val));
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)val, key, child) {
            size_t old = path_push(v, "[%.200s]", key);
            if (json_is_null(child))
                ERR(v, "must not be null");
            else
                check_node(v, child, f->item);
            path_pop(v, old);
        }
        return;
    }
    }
}

/* ---- header: apiVersion, kind, metadata --------------------------------- */

static void check_header(struct vctx *v, const json_t *obj) {
    const char *av = str_at(obj, "apiVersion"), *kind = str_at(obj, "kind");
    size_t old = path_push(v, "apiVersion");
    if (!av)
        ERR(v, "must be %s", TM_API_VERSION);
    else if (strcmp(av, TM_API_VERSION))
        ERR(v, "must be %s, got \"%.80s\"", TM_API_VERSION, av);
    path_pop(v, old);
    old = path_push(v, "kind");
    if (!kind)
        ERR(v, "must be %s", TM_KIND);
    else if (strcmp(kind, TM_KIND))
        ERR(v, "must be %s, got \"%.80s\"", TM_KIND, kind);
    path_pop(v, old);

    json_t *md = obj_at(obj, "metadata");
    old = path_push(v, "metadata");
    if (!md) {
        ERR(v, present(obj, "metadata") ? "must be an object" : "required");
        path_pop(v, old);
        return;
    }
    path_push(v, ".name");
    const char *name = str_at(md, "name");
    if (!present(md, "name"))
        ERR(v, "required");
    else if (!name)
        ERR(v, "must be a string");
    else if (!is_dns_subdomain(name))
        ERR(v, "\"%.80s\" is not a valid name (lower-case letters, digits and '-', starting "
               "with a letter)", name);
    else if (strchr(name, '.') || !isalpha((unsigned char)name[0]))
        ERR(v, "\"%.80s\" must be a DNS label starting with a letter (no '.'): it names the "
               "generated Services, such as \"%.80s-collector\"", name, name);
    else if (strlen(name) > TM_NAME_MAX)
        ERR(v, "must be at most %d characters (got %zu) so that generated names such as "
               "\"<name>-grafana-datasource\" stay within the 63-character limit",
            TM_NAME_MAX, strlen(name));
    path_pop(v, old + strlen("metadata"));
    path_push(v, ".namespace");
    json_t *ns = json_object_get(md, "namespace");
    if (ns && !json_is_null(ns) &&
        (!json_is_string(ns) || !is_dns_label(json_string_value(ns))))
        ERR(v, "must be a namespace name (a DNS label)");
    path_pop(v, old);
}

/* ---- spec.labels -------------------------------------------------------- */

/* Kubernetes label key: [prefix/]name, prefix a DNS subdomain, name <= 63 of
 * [A-Za-z0-9] at both ends and -_. inside. */
static const char *label_key_problem(const char *key) {
    const char *slash = strchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    if (slash) {
        size_t pl = (size_t)(slash - key);
        char prefix[254];
        if (pl == 0 || pl > 253)
            return "the prefix before '/' must be a DNS subdomain of at most 253 characters";
        memcpy(prefix, key, pl);
        prefix[pl] = '\0';
        if (!is_dns_subdomain(prefix))
            return "the prefix before '/' must be a DNS subdomain (lower-case)";
    }
    if (!*name || strlen(name) > 63)
        return "the name part must have 1 to 63 characters";
    if (!is_label_value(name))
        return "the name part must be alphanumerics, '-', '_' or '.', starting and ending "
               "with an alphanumeric";
    return NULL;
}

static void check_labels(struct vctx *v, const json_t *spec) {
    static const char *const reserved[] = {
        "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of",
        "app.kubernetes.io/component", "tracemodel.dev/model", NULL};
    json_t *labels = obj_at(spec, "labels");
    const char *key;
    json_t *val;
    json_object_foreach(labels, key, val) {
        size_t old = path_push(v, ".labels[%.200s]", key);
        const char *why = label_key_problem(key);
        if (why)
            ERR(v, "\"%.80s\" is not a valid label key: %s", key, why);
        for (size_t i = 0; reserved[i]; i++)
            if (!strcmp(reserved[i], key))
                ERR(v, "label %s is set by the operator on every child and cannot be "
                       "overridden", key);
        if (json_is_string(val) && !is_label_value(json_string_value(val)))
            ERR(v, "\"%.80s\" is not a valid label value (at most 63 characters: alphanumerics, "
                   "'-', '_', '.', starting and ending with an alphanumeric)",
                json_string_value(val));
        path_pop(v, old);
    }
}

/* ---- spec.sampling ------------------------------------------------------ */

/* Effective head rate of a service, or -1 when the strategy makes it unknown. */
static double head_rate(const json_t *sampling, const json_t *svc) {
    const char *strategy = str_at(sampling, "strategy");
    if (strategy && !strcmp(strategy, "always_on"))
        return 1.0;
    if (strategy && !strcmp(strategy, "always_off"))
        return 0.0;
    if (strategy && strcmp(strategy, "probabilistic"))
        return -1;
    double r;
    if (svc && num_at(svc, "samplingRate", &r))
        return r;
    return num_at(sampling, "rate", &r) ? r : 1.0;
}

/* The service.name values a compiled policy requires (non-inverted), or NULL. */
static const json_t *policy_services(const json_t *p) {
    const char *type = str_at(p, "type");
    if (type && !strcmp(type, "string_attribute")) {
        json_t *sa = obj_at(p, "string_attribute");
        const char *key = str_at(sa, "key");
        if (key && !strcmp(key, "service.name") && !bool_at(sa, "invert_match", 0))
            return arr_at(sa, "values");
        return NULL;
    }
    if (type && !strcmp(type, "and")) {
        json_t *subs = arr_at(obj_at(p, "and"), "and_sub_policy");
        size_t i;
        json_t *s;
        json_array_foreach(subs, i, s) {
            const json_t *vals = policy_services(s);
            if (vals)
                return vals;
        }
    }
    return NULL;
}

static const json_t *find_service(const json_t *services, const char *name, size_t *idx) {
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s) {
        const char *n = str_at(s, "name");
        if (n && !strcmp(n, name)) {
            *idx = i;
            return s;
        }
    }
    return NULL;
}

/* Warns when a rule keeps a larger share of a named service's traces than the
 * head sampler lets through: the tail only sees what the head kept. */
static void check_consistency(struct vctx *v, const json_t *spec, const json_t *policies,
                              const char *rule_path, const char *rule_name, double rule_rate) {
    json_t *sampling = obj_at(spec, "sampling");
    json_t *services = arr_at(spec, "services");
    size_t i;
    json_t *p;
    json_array_foreach(policies, i, p) {
        const json_t *names = policy_services(p);
        size_t k;
        json_t *nm;
        json_array_foreach(names, k, nm) {
            const char *svc_name = json_string_value(nm);
            size_t si = 0;
            const json_t *svc = svc_name ? find_service(services, svc_name, &si) : NULL;
            double head = head_rate(sampling, svc);
            if (head < 0 || head + 1e-12 >= rule_rate)
                continue;
            char hp[32], rp[32], hr[32], rr[32];
            fmt_num(head * 100, hp, sizeof(hp));
            fmt_num(rule_rate * 100, rp, sizeof(rp));
            fmt_num(head, hr, sizeof(hr));
            fmt_num(rule_rate, rr, sizeof(rr));
            int own = svc && present(svc, "samplingRate");
            char *path = own ? xasprintf("spec.services[%zu].samplingRate", si)
                             : xstrdup("spec.sampling.rate");
            diag_warn(v->d, path,
                      "head sampling keeps %s%% of \"%.80s\" traces (rate %s), but %s "
                      "(\"%.80s\") wants to keep %s%% of them (rate %s); tail sampling only "
                      "sees traces the head kept, so at most %s%% will be stored. Raise the "
                      "%s head rate to %s or lower the rule's rate",
                      hp, svc_name, hr, rule_path, rule_name, rp, rr, hp,
                      own ? "service's" : "model's", rr);
            free(path);
        }
    }
}

struct policy_names {
    json_t *names;      /* policy name -> path of the rule that produced it */
};

/* Parses and compiles one rule or tail policy; checks its generated policy names. */
static void check_rule(struct vctx *v, const json_t *spec, const json_t *rule,
                       const char *list, size_t idx, struct policy_names *pn) {
    const char *name = str_at(rule, "name"), *text = str_at(rule, "condition");
    double rate = 1.0;
    json_t *rate_j = json_object_get(rule, "rate");
    if (json_is_number(rate_j))
        rate = json_number_value(rate_j);
    char *rule_path = xasprintf("spec.sampling.%s[%zu]", list, idx);
    char *cond_path = xasprintf("%s.condition", rule_path);
    if (json_is_number(rate_j) && rate == 0.0)
        diag_warn(v->d, rule_path, "rate 0 never keeps a trace; remove the %s instead",
                  list[0] == 'r' ? "rule" : "policy");
    if (!text || !*text || !name || !(rate >= 0 && rate <= 1)) {
        free(rule_path);
        free(cond_path);
        return;     /* already reported by the schema pass */
    }
    struct cond *c = cond_parse(text, cond_path, v->d);
    json_t *policies = json_array();
    if (c && cond_to_policies(c, name, rate, policies, cond_path, v->d) == 0) {
        size_t i;
        json_t *p;
        json_array_foreach(policies, i, p) {
            const char *pname = str_at(p, "name");
            json_t *other = pname ? json_object_get(pn->names, pname) : NULL;
            if (other && strcmp(json_string_value(other), rule_path))
                diag_error(v->d, rule_path, "the tail-sampling policy name \"%s\" is also "
                           "produced by %s; rename one of them", pname,
                           json_string_value(other));
            else if (pname)
                json_object_set_new(pn->names, pname, json_string(rule_path));
        }
        check_consistency(v, spec, policies, rule_path, name, rate);
    }
    json_decref(policies);
    cond_free(c);
    free(rule_path);
    free(cond_path);
}

static int tail_enabled(const json_t *sampling) {
    json_t *tail = obj_at(sampling, "tail");
    json_t *en = tail ? json_object_get(tail, "enabled") : NULL;
    if (json_is_boolean(en))
        return json_is_true(en);
    json_t *rules = arr_at(sampling, "rules"), *pol = arr_at(tail, "policies");
    return (rules && json_array_size(rules)) || (pol && json_array_size(pol));
}

static void check_sampling(struct vctx *v, const json_t *spec) {
    json_t *s = obj_at(spec, "sampling");
    if (!s)
        return;
    const char *strategy = str_at(s, "strategy");
    if (strategy && !strcmp(strategy, "ratelimiting") && !present(s, "maxTracesPerSecond"))
        diag_error(v->d, "spec.sampling.maxTracesPerSecond",
                   "required when strategy is ratelimiting (traces per second each SDK keeps)");
    json_t *ad = obj_at(s, "adaptive");
    double mn = 0, mx = 0, tg = 0;
    int has_mn = num_at(ad, "minRate", &mn), has_mx = num_at(ad, "maxRate", &mx),
        has_tg = num_at(ad, "targetRate", &tg);
    if (has_mn && has_mx && mn > mx)
        diag_error(v->d, "spec.sampling.adaptive.minRate",
                   "minRate (%g) must not be above maxRate (%g)", mn, mx);
    if (has_tg && has_mn && tg < mn)
        diag_error(v->d, "spec.sampling.adaptive.targetRate",
                   "targetRate (%g) must be at least minRate (%g)", tg, mn);
    if (has_tg && has_mx && tg > mx)
        diag_error(v->d, "spec.sampling.adaptive.targetRate",
                   "targetRate (%g) must be at most maxRate (%g)", tg, mx);

    json_t *rules = arr_at(s, "rules");
    json_t *tail = obj_at(s, "tail");
    json_t *tpol = arr_at(tail, "policies");
    struct policy_names pn = {.names = json_object()};
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
        if (json_is_object(r))
            check_rule(v, spec, r, "rules", i, &pn);
    json_array_foreach(tpol, i, r)
        if (json_is_object(r))
            check_rule(v, spec, r, "tail.policies", i, &pn);
    json_decref(pn.names);

    size_t nrules = (rules ? json_array_size(rules) : 0) + (tpol ? json_array_size(tpol) : 0);
    json_t *en = tail ? json_object_get(tail, "enabled") : NULL;
    if (json_is_false(en) && nrules)
        diag_warn(v->d, "spec.sampling.tail.enabled",
                  "false, so the %zu sampling rule(s)/policies are not applied", nrules);
    if (!tail_enabled(s))
        return;
    if (!nrules)
        diag_warn(v->d, "spec.sampling.tail.enabled",
                  "tail sampling without rules or policies keeps every trace that reaches "
                  "the collector");
    const char *mode = str_at(obj_at(spec, "collector"), "mode");
    if (mode && (!strcmp(mode, "daemonset") || !strcmp(mode, "sidecar")))
        diag_error(v->d, "spec.collector.mode",
                   "%s cannot do tail sampling: each %s's collector would see only part of a "
                   "trace, and the decision needs every span; use deployment or statefulset "
                   "(several replicas get a trace-ID load-balancing tier)",
                   mode, !strcmp(mode, "daemonset") ? "node" : "pod");
    double head;
    if ((strategy && !strcmp(strategy, "always_off")) || (num_at(s, "rate", &head) && head == 0 &&
                                                       (!strategy || !strcmp(strategy, "probabilistic"))))
        diag_warn(v->d, "spec.sampling", "head sampling keeps no trace, so tail sampling "
                  "never sees one: raise sampling.rate or use strategy always_on");
}

/* ---- spec.propagation --------------------------------------------------- */

static int is_header_token(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

static void check_propagation(struct vctx *v, const json_t *spec) {
    json_t *p = obj_at(spec, "propagation");
    json_t *types = arr_at(p, "types");
    size_t i;
    json_t *t;
    int has_none = 0, has_tc = 0, has_alias = 0;
    json_array_foreach(types, i, t) {
        const char *s = json_string_value(t);
        if (!s)
            continue;
        has_none |= !strcmp(s, "none");
        has_tc |= !strcmp(s, "tracecontext");
        has_alias |= !strcmp(s, "w3c_tracecontext");
    }
    if (has_none && json_array_size(types) > 1)
        diag_error(v->d, "spec.propagation.types",
                   "'none' turns propagation off and cannot be combined with other types");
    if (has_tc && has_alias)
        diag_error(v->d, "spec.propagation.types",
                   "w3c_tracecontext is another name for tracecontext; list it once");
    json_t *hdrs = arr_at(obj_at(p, "correlation"), "headers");
    json_array_foreach(hdrs, i, t) {
        const char *s = json_string_value(t);
        if (s && *s && !is_header_token(s)) {
            char *path = xasprintf("spec.propagation.correlation.headers[%zu]", i);
            diag_error(v->d, path, "\"%.80s\" is not a valid HTTP header name", s);
            free(path);
        }
    }
}

/* ---- spec.collector ----------------------------------------------------- */

static void check_resources(struct vctx *v, const json_t *res) {
    json_t *req = obj_at(res, "requests"), *lim = obj_at(res, "limits");
    const char *key;
    json_t *rq;
    json_object_foreach(req, key, rq) {
        json_t *lm = json_object_get(lim, key);
        double a, b;
        int ok_a = json_is_number(rq) ? (a = json_number_value(rq), 1)
                 : json_is_string(rq) && !tm_parse_quantity(json_string_value(rq), &a);
        int ok_b = json_is_number(lm) ? (b = json_number_value(lm), 1)
                 : json_is_string(lm) && !tm_parse_quantity(json_string_value(lm), &b);
        if (ok_a && ok_b && a > b) {
            char *path = xasprintf("spec.collector.resources.requests[%s]", key);
            char ga[64], gb[64];
            fmt_value(rq, ga, sizeof(ga));
            fmt_value(lm, gb, sizeof(gb));
            diag_error(v->d, path, "request %s is above the limit %s; Kubernetes rejects the pod",
                       ga, gb);
            free(path);
        }
    }
}

static void check_collector(struct vctx *v, const json_t *spec) {
    json_t *c = obj_at(spec, "collector");
    if (!c)
        return;
    const char *mode = str_at(c, "mode");
    double reps;
    if (mode && (!strcmp(mode, "daemonset") || !strcmp(mode, "sidecar")) &&
        num_at(c, "replicas", &reps) && reps > 1)
        diag_warn(v->d, "spec.collector.replicas", "ignored in mode %s (one collector per %s)",
                  mode, !strcmp(mode, "daemonset") ? "node" : "pod");
    check_resources(v, obj_at(c, "resources"));
    json_t *b = obj_at(c, "batch");
    double sz, mx;
    if (num_at(b, "sendBatchSize", &sz) && num_at(b, "sendBatchMaxSize", &mx) && mx != 0 && mx < sz)
        diag_error(v->d, "spec.collector.batch.sendBatchMaxSize",
                   "must be 0 (no limit) or at least sendBatchSize (%g), got %g", sz, mx);
    json_t *m = obj_at(c, "memoryLimiter");
    double lp, sp;
    if (num_at(m, "limitPercentage", &lp) && num_at(m, "spikeLimitPercentage", &sp) && sp >= lp)
        diag_error(v->d, "spec.collector.memoryLimiter.spikeLimitPercentage",
                   "must be below limitPercentage (%g), got %g", lp, sp);
    json_t *buckets = arr_at(obj_at(c, "spanMetrics"), "histogramBuckets");
    int64_t prev = -1;
    size_t i;
    json_t *bk;
    json_array_foreach(buckets, i, bk) {
        int64_t ms;
        if (!json_is_string(bk) || parse_duration_ms(json_string_value(bk), &ms) != 0)
            continue;
        if (ms <= prev) {
            char *path = xasprintf("spec.collector.spanMetrics.histogramBuckets[%zu]", i);
            diag_error(v->d, path, "buckets must be in increasing order");
            free(path);
        }
        prev = ms;
    }
    json_t *k = obj_at(c, "kafka");
    if (k && (bool_at(k, "exporter", 0) || bool_at(k, "receiver", 0))) {
        json_t *brokers = arr_at(k, "brokers");
        if (!brokers || !json_array_size(brokers))
            diag_error(v->d, "spec.collector.kafka.brokers",
                       "required when the kafka exporter or receiver is on (host:port list)");
    }
}

/* ---- spec.backend ------------------------------------------------------- */

/* A URL with a scheme (http://h[:p][/...]) or host:port. */
static int endpoint_ok(const char *s) {
    const char *host = s, *sep = strstr(s, "://");
    if (sep) {
        for (const char *p = s; p < sep; p++)
            if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
                return 0;
        if (sep == s)
            return 0;
        host = sep + 3;
    }
    size_t hl = strcspn(host, ":/?#");
    if (hl == 0)
        return 0;
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)host[i]))
            return 0;
    if (host[hl] == ':') {
        char *end;
        long port = strtol(host + hl + 1, &end, 10);
        if (end == host + hl + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            return 0;
        return 1;
    }
    return sep != NULL;     /* without a scheme, the port is required */
}

static void check_backend(struct vctx *v, const json_t *spec) {
    json_t *b = obj_at(spec, "backend");
    const char *type = str_at(b, "type");
    if (!type)
        return;
    const char *ret = str_at(b, "retention");
    int64_t ms;
    if (ret && parse_duration_ms(ret, &ms) == 0 && ms == 0)
        diag_error(v->d, "spec.backend.retention", "must be longer than 0");
    static const char *const blocks[] = {"otlp", "jaeger", "tempo", NULL};
    for (size_t i = 0; blocks[i]; i++)
        if (strcmp(blocks[i], type) && present(b, blocks[i])) {
            char *path = xasprintf("spec.backend.%s", blocks[i]);
            diag_warn(v->d, path, "ignored because backend.type is %s", type);
            free(path);
        }
    if (!strcmp(type, "otlp")) {
        json_t *o = obj_at(b, "otlp");
        const char *ep = str_at(o, "endpoint");
        if (!present(o, "endpoint"))
            diag_error(v->d, "spec.backend.otlp.endpoint", "required when backend.type is otlp "
                       "(a URL such as https://otlp.example.com:4317, or host:port)");
        else if (ep && !endpoint_ok(ep))
            diag_error(v->d, "spec.backend.otlp.endpoint", "\"%.80s\" is not a URL with a scheme "
                       "(https://host:4317) or host:port", ep);
        if (ret)
            diag_warn(v->d, "spec.backend.retention",
                      "ignored for backend otlp: the external backend keeps its own retention");
    }
    json_t *j = obj_at(b, "jaeger");
    if (!strcmp(type, "jaeger") && j) {
        json_t *st = obj_at(j, "storage");
        const char *stype = str_at(st, "type");
        const char *dep = str_at(j, "deployment");
        if (dep && !strcmp(dep, "production") && (!stype || strcmp(stype, "elasticsearch")))
            diag_error(v->d, "spec.backend.jaeger.storage.type",
                       "production deployment needs storage type elasticsearch: the separate "
                       "collector and query pods cannot share %s storage",
                       stype ? stype : "memory");
        if (stype && !strcmp(stype, "elasticsearch")) {
            json_t *es = obj_at(st, "elasticsearch");
            const char *url = str_at(es, "url");
            if (!present(es, "url"))
                diag_error(v->d, "spec.backend.jaeger.storage.elasticsearch.url",
                           "required when storage type is elasticsearch "
                           "(e.g. https://elasticsearch:9200)");
            else if (url && !endpoint_ok(url))
                diag_error(v->d, "spec.backend.jaeger.storage.elasticsearch.url",
                           "\"%.80s\" is not a URL such as https://elasticsearch:9200", url);
        }
    }
    json_t *t = obj_at(b, "tempo");
    if (!strcmp(type, "tempo") && t) {
        json_t *st = obj_at(t, "storage");
        const char *stype = str_at(st, "type");
        if (stype && !strcmp(stype, "s3")) {
            json_t *s3 = obj_at(st, "s3");
            if (!present(s3, "bucket"))
                diag_error(v->d, "spec.backend.tempo.storage.s3.bucket",
                           "required when storage type is s3");
            if (!present(s3, "endpoint"))
                diag_error(v->d, "spec.backend.tempo.storage.s3.endpoint",
                           "required when storage type is s3 (e.g. s3.us-east-1.amazonaws.com)");
        }
    }
}

/* ---- spec.istio, analysis, grafana -------------------------------------- */

static void check_istio(struct vctx *v, const json_t *spec) {
    json_t *is = obj_at(spec, "istio");
    if (!is)
        return;
    const char *scope = str_at(is, "scope");
    const char *root = str_at(is, "meshRootNamespace");
    if (scope && !strcmp(scope, "mesh") && (!root || !*root) &&
        !(present(is, "meshRootNamespace") && !root))
        diag_error(v->d, "spec.istio.meshRootNamespace",
                   "required when scope is mesh (the namespace istiod treats as the mesh root, "
                   "usually istio-system)");
    json_t *tags = obj_at(is, "customTags");
    const char *key;
    json_t *tag;
    json_object_foreach(tags, key, tag) {
        if (!json_is_object(tag))
            continue;
        int kinds = present(tag, "literal") + present(tag, "header") + present(tag, "environment");
        if (kinds != 1) {
            char *path = xasprintf("spec.istio.customTags[%.200s]", key);
            diag_error(v->d, path, "needs exactly one of literal, header, environment (got %d)",
                       kinds);
            free(path);
        }
    }
    double pct, rate;
    json_t *s = obj_at(spec, "sampling");
    if (bool_at(is, "enabled", 0) && num_at(is, "samplingPercentage", &pct) &&
        num_at(s, "rate", &rate) && fabs(pct - rate * 100.0) > 1e-9)
        diag_warn(v->d, "spec.istio.samplingPercentage",
                  "%g%% differs from sampling.rate (%g%%); with parent-based SDK samplers the "
                  "sidecar's decision wins for traces that enter through the mesh",
                  pct, rate * 100.0);
}

static void check_analysis(struct vctx *v, const json_t *spec) {
    json_t *tp = obj_at(obj_at(spec, "analysis"), "throughput");
    double lo, hi;
    if (num_at(tp, "minRequestsPerSecond", &lo) && num_at(tp, "maxRequestsPerSecond", &hi) &&
        lo > hi)
        diag_error(v->d, "spec.analysis.throughput.minRequestsPerSecond",
                   "minRequestsPerSecond (%g) must not be above maxRequestsPerSecond (%g)", lo, hi);
    json_t *g = obj_at(spec, "grafana");
    const char *type = str_at(obj_at(spec, "backend"), "type");
    if (bool_at(g, "enabled", 0) && type && !strcmp(type, "otlp"))
        diag_warn(v->d, "spec.grafana.enabled",
                  "has no effect with backend otlp: there is no in-cluster query endpoint");
}

/* ---- public ------------------------------------------------------------- */

int tm_validate(const json_t *obj, int strict, struct diag *d) {
    size_t before = d->errors;
    struct vctx v = {.d = d, .strict = strict};
    v.cap = 256;
    v.path = xcalloc(1, v.cap);
    if (!json_is_object(obj)) {
        diag_error(d, "", "a TracingModel must be an object, got %s", obj ? json_kind(obj) : "nothing");
        free(v.path);
        return (int)(d->errors - before);
    }
    check_header(&v, obj);
    json_t *spec = json_object_get(obj, "spec");
    path_push(&v, "spec");
    if (!spec || json_is_null(spec)) {
        ERR(&v, "required (at least spec.backend.type)");
    } else if (!json_is_object(spec)) {
        ERR(&v, "must be an object, got %s", json_kind(spec));
    } else {
        check_object(&v, spec, tm_spec_schema());
        check_labels(&v, spec);
        check_sampling(&v, spec);
        check_propagation(&v, spec);
        check_collector(&v, spec);
        check_backend(&v, spec);
        check_istio(&v, spec);
        check_analysis(&v, spec);
    }
    free(v.path);
    return (int)(d->errors - before);
}
