/* yamljson.c - libyaml event stream -> jansson, and jansson -> libyaml emitter. */
#include "base/yamljson.h"
#include "base/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---------- scalar resolution (YAML 1.2 core schema) ---------- */

static int all_digits(const char *s, size_t n, int base) {
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (base == 10 && !(c >= '0' && c <= '9'))
            return 0;
        if (base == 8 && !(c >= '0' && c <= '7'))
            return 0;
        if (base == 16 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int is_null(const char *s, size_t n) {
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static int is_bool(const char *s, size_t n, int *val) {
    if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))) {
        *val = 1;
        return 1;
    }
    if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))) {
        *val = 0;
        return 1;
    }
    return 0;
}

/* 1 = integer syntax (value may overflow), with base in *base and digits offset. */
static int is_int(const char *s, size_t n, int *base) {
    size_t i = 0;
    if (n > 2 && s[0] == '0' && s[1] == 'o') {
        *base = 8;
        return all_digits(s + 2, n - 2, 8);
    }
    if (n > 2 && s[0] == '0' && s[1] == 'x') {
        *base = 16;
        return all_digits(s + 2, n - 2, 16);
    }
    if (n && (s[0] == '-' || s[0] == '+'))
        i = 1;
    *base = 10;
    return all_digits(s + i, n - i, 10);
}

static int is_float(const char *s, size_t n) {
    size_t i = 0, digits = 0;
    if (n && (s[0] == '-' || s[0] == '+'))
        i = 1;
    const char *r = s + i;
    size_t rn = n - i;
    if (rn == 4 && r[0] == '.' && (!memcmp(r, ".inf", 4) || !memcmp(r, ".Inf", 4) || !memcmp(r, ".INF", 4)))
        return 2;
    if (i == 0 && n == 4 && (!memcmp(s, ".nan", 4) || !memcmp(s, ".NaN", 4) || !memcmp(s, ".NAN", 4)))
        return 2;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            e++;
        }
        if (!e)
            return 0;
    }
    return i == n;
}

int yaml_plain_is_special(const char *s, size_t n) {
    int b, base;
    return is_null(s, n) || is_bool(s, n, &b) || is_int(s, n, &base) || is_float(s, n);
}

static json_t *number_from(const char *s, size_t n) {
    char tmp[128];
    int base;
    if (n >= sizeof(tmp))
        return NULL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (is_int(s, n, &base)) {
        const char *digits = tmp;
        if (base != 10)
            digits += 2;
        errno = 0;
        long long v = strtoll(digits, NULL, base);
        if (errno == 0)
            return json_integer(v);
        /* too large for an integer: fall through to a real */
        if (base != 10)
            return NULL;
    }
    if (is_float(s, n) == 1) {
        double d = strtod(tmp, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    return NULL; /* .inf / .nan are not representable in JSON: keep as string */
}

static json_t *resolve_scalar(const yaml_event_t *ev) {
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                 ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                 ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                 ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
    if (tag && strcmp(tag, "!") != 0) {
        if (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "tag:yaml.org,2002:binary") || !strcmp(tag, YAML_TIMESTAMP_TAG))
            return json_stringn(s, n);
        if (!strcmp(tag, YAML_NULL_TAG))
            return json_null();
        if (!strcmp(tag, YAML_BOOL_TAG)) {
            int b;
            if (is_bool(s, n, &b))
                return json_boolean(b);
            return json_stringn(s, n);
        }
        if (!strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG)) {
            json_t *v = number_from(s, n);
            return v ? v : json_stringn(s, n);
        }
        /* unknown tag: resolve as untagged */
    } else if (tag) {
        quoted = 1; /* "!" non-specific tag forces string */
    }
    if (quoted)
        return json_stringn(s, n);
    int b;
    if (is_null(s, n))
        return json_null();
    if (is_bool(s, n, &b))
        return json_boolean(b);
    json_t *num = number_from(s, n);
    if (num)
        return num;
    return json_stringn(s, n);
}

/* ---------- loader ---------- */

struct anchor {
    char *name;
    json_t *value;
    size_t nodes;   /* size of the subtree, for the expansion cap */
};

struct loader {
    yaml_parser_t parser;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes;
    struct op_status *err;
};

__attribute__((format(printf, 3, 4)))
static int loader_fail(struct loader *L, const yaml_mark_t *m, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return op_fail(L->err, OP_EPARSE, "line %zu, column %zu: %s", m->line + 1, m->column + 1, what);
}

static void anchors_clear(struct loader *L) {
    for (size_t i = 0; i < L->nanchors; i++) {
        free(L->anchors[i].name);
        json_decref(L->anchors[i].value);
    }
    L->nanchors = 0;
}

static int anchor_set(struct loader *L, const char *name, json_t *v, size_t nodes) {
    for (size_t i = 0; i < L->nanchors; i++)
        if (!strcmp(L->anchors[i].name, name)) {
            json_decref(L->anchors[i].value);
            L->anchors[i].value = json_incref(v);
            L->anchors[i].nodes = nodes;
            return 0;
        }
    if (L->nanchors == L->capanchors) {
        L->capanchors = L->capanchors ? L->capanchors * 2 : 8;
        L->anchors = xrealloc(L->anchors, L->capanchors * sizeof(*L->anchors));
    }
    L->anchors[L->nanchors].name = xstrdup(name);
    L->anchors[L->nanchors].value = json_incref(v);
    L->anchors[L->nanchors].nodes = nodes;
    L->nanchors++;
    return 0;
}

static int next_event(struct loader *L, yaml_event_t *ev) {
    if (!yaml_parser_parse(&L->parser, ev)) {
        const char *problem = L->parser.problem ? L->parser.problem : "invalid YAML";
        const yaml_mark_t *m = &L->parser.problem_mark;
        if (L->parser.context)
            return op_fail(L->err, OP_EPARSE, "line %zu, column %zu: %s %s", m->line + 1,
                           m->column + 1, problem, L->parser.context);
        return op_fail(L->err, OP_EPARSE, "line %zu, column %zu: %s", m->line + 1, m->column + 1,
                       problem);
    }
    return 0;
}

/* Parses one node whose first event is ev (consumed). On success *out is a new ref. */
static int load_node(struct loader *L, yaml_event_t *ev, int depth, json_t **out, size_t *nodes_out);

static int load_collection(struct loader *L, yaml_event_t *start, int depth, json_t **out,
                           size_t *nodes_out) {
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    json_t *c = is_map ? json_object() : json_array();
    json_t *from_merge = NULL; /* keys that came from "<<" and may still be overridden */
    size_t nodes = 1;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(L, &ev)) < 0)
            break;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        if (is_map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = loader_fail(L, &ev.start_mark, "mapping keys must be scalars");
                yaml_event_delete(&ev);
                break;
            }
            yaml_mark_t km = ev.start_mark;
            char *key = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            if (strlen(key) != ev.data.scalar.length) {
                free(key);
                rc = loader_fail(L, &km, "mapping key contains a NUL byte");
                yaml_event_delete(&ev);
                break;
            }
            yaml_event_delete(&ev);
            if ((rc = next_event(L, &ev)) < 0) {
                free(key);
                break;
            }
            json_t *val = NULL;
            size_t vn = 0;
            rc = load_node(L, &ev, depth + 1, &val, &vn);
            if (rc < 0) {
                free(key);
                break;
            }
            if (!strcmp(key, "<<") && json_is_object(val)) {
                /* merge key: copy entries that are not already set */
                const char *k;
                json_t *v;
                if (!from_merge)
                    from_merge = json_object();
                json_object_foreach(val, k, v) if (!json_object_get(c, k)) {
                    json_object_set(c, k, v);
                    json_object_set_new(from_merge, k, json_true());
                }
                json_decref(val);
            } else if (from_merge && json_object_get(from_merge, key)) {
                json_object_del(from_merge, key);
                json_object_set_new(c, key, val);
            } else if (json_object_get(c, key)) {
                rc = loader_fail(L, &km, "duplicate key \"%s\"", key);
                free(key);
                json_decref(val);
                break;
            } else if (json_object_set_new(c, key, val) < 0) {
                rc = loader_fail(L, &km, "mapping key is not valid UTF-8");
                free(key);
                break;
            }
            free(key);
            nodes += vn;
        } else {
            json_t *val = NULL;
            size_t vn = 0;
            rc = load_node(L, &ev, depth + 1, &val, &vn);
            if (rc < 0)
                break;
            json_array_append_new(c, val);
            nodes += vn;
        }
    }
    json_decref(from_merge);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *out = c;
    *nodes_out = nodes;
    return 0;
}

static int load_node(struct loader *L, yaml_event_t *ev, int depth, json_t **out, size_t *nodes_out) {
    int rc = 0;
    const char *anchor = NULL;
    if (depth > YJ_MAX_DEPTH) {
        rc = loader_fail(L, &ev->start_mark, "nesting deeper than %d levels", YJ_MAX_DEPTH);
        yaml_event_delete(ev);
        return rc;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        json_t *v = resolve_scalar(ev);
        if (!v) {
            rc = loader_fail(L, &ev->start_mark, "scalar is not valid UTF-8 or contains a NUL byte");
            break;
        }
        L->nodes++;
        anchor = (const char *)ev->data.scalar.anchor;
        if (anchor)
            anchor_set(L, anchor, v, 1);
        *out = v;
        *nodes_out = 1;
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        char *anc = NULL;
        const char *a = ev->type == YAML_MAPPING_START_EVENT ? (const char *)ev->data.mapping_start.anchor
                                                              : (const char *)ev->data.sequence_start.anchor;
        if (a)
            anc = xstrdup(a);
        L->nodes++;
        rc = load_collection(L, ev, depth, out, nodes_out);
        if (rc == 0 && anc)
            anchor_set(L, anc, *out, *nodes_out);
        free(anc);
        break;
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        size_t i;
        for (i = 0; i < L->nanchors; i++)
            if (!strcmp(L->anchors[i].name, name))
                break;
        if (i == L->nanchors) {
            rc = loader_fail(L, &ev->start_mark, "unknown alias \"%s\"", name);
            break;
        }
        L->nodes += L->anchors[i].nodes;
        if (L->nodes > YJ_MAX_NODES) {
            rc = loader_fail(L, &ev->start_mark,
                             "aliases expand to too many nodes (alias \"%s\"); refusing", name);
            break;
        }
        *out = json_deep_copy(L->anchors[i].value);
        *nodes_out = L->anchors[i].nodes;
        break;
    }
    default:
        rc = loader_fail(L, &ev->start_mark, "unexpected YAML event");
        break;
    }
    if (rc == 0 && L->nodes > YJ_MAX_NODES)
        rc = loader_fail(L, &ev->start_mark, "document has too many nodes");
    yaml_event_delete(ev);
    return rc;
}

json_t *yaml_load_all(const char *text, size_t len, struct op_status *err) {
    struct loader L;
    memset(&L, 0, sizeof(L));
    L.err = err;
    if (len > YJ_MAX_INPUT) {
        op_fail(err, OP_ETOOBIG, "input is %zu bytes; the limit is %u bytes", len, YJ_MAX_INPUT);
        return NULL;
    }
    if (memchr(text, '\0', len)) {
        op_fail(err, OP_EPARSE, "input contains a NUL byte (binary data?)");
        return NULL;
    }
    yaml_parser_initialize(&L.parser);
    yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, len);
    json_t *docs = json_array();
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(&L, &ev)) < 0)
            break;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        yaml_event_delete(&ev);
        if ((rc = next_event(&L, &ev)) < 0)
            break;
        json_t *doc = NULL;
        size_t n = 0;
        if (ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if ((rc = load_node(&L, &ev, 0, &doc, &n)) < 0)
            break;
        if ((rc = next_event(&L, &ev)) < 0) {
            json_decref(doc);
            break;
        }
        yaml_event_delete(&ev); /* DOCUMENT_END */
        anchors_clear(&L);      /* anchors are per document */
        if (json_is_null(doc))
            json_decref(doc);   /* "---" followed by nothing, or a lone "~" */
        else
            json_array_append_new(docs, doc);
    }
    anchors_clear(&L);
    free(L.anchors);
    yaml_parser_delete(&L.parser);
    if (rc < 0) {
        json_decref(docs);
        return NULL;
    }
    return docs;
}

json_t *yaml_load_one(const char *text, size_t len, struct op_status *err) {
    json_t *docs = yaml_load_all(text, len, err);
    if (!docs)
        return NULL;
    if (json_array_size(docs) != 1) {
        op_fail(err, OP_EINVALID, "expected exactly one YAML document, found %zu",
                json_array_size(docs));
        json_decref(docs);
        return NULL;
    }
    json_t *d = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return d;
}

/* ---------- emitter ---------- */

static int write_cb(void *data, unsigned char *buffer, size_t size) {
    return strbuf_append((struct strbuf *)data, buffer, size) == 0;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev) { return yaml_emitter_emit(e, ev) ? 0 : OP_EIO; }

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t n, yaml_scalar_style_t style) {
    yaml_event_t ev;
    int plain = style == YAML_PLAIN_SCALAR_STYLE || style == YAML_ANY_SCALAR_STYLE;
    /* quoted_implicit=1: when libyaml must quote a string itself ("{{ x }}", "- a",
     * "k: v"), the quotes alone say "string"; no "!" tag is written. */
    yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)YAML_STR_TAG, (yaml_char_t *)s, (int)n,
                                 plain, 1, style);
    return emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, const json_t *v) {
    yaml_event_t ev;
    char num[64];
    int rc = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_MAP_TAG, 1, YAML_BLOCK_MAPPING_STYLE);
        if ((rc = emit(e, &ev)) < 0)
            return rc;
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)v, k, val) {
            size_t kn = strlen(k);
            yaml_scalar_style_t ks = yaml_plain_is_special(k, kn) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                                 : YAML_ANY_SCALAR_STYLE;
            if ((rc = emit_scalar(e, k, kn, ks)) < 0 || (rc = emit_value(e, val)) < 0)
                return rc;
        }
        yaml_mapping_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_ARRAY: {
        yaml_sequence_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_SEQ_TAG, 1,
                                             json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                : YAML_FLOW_SEQUENCE_STYLE);
        if ((rc = emit(e, &ev)) < 0)
            return rc;
        size_t i;
        json_t *val;
        json_array_foreach((json_t *)v, i, val) if ((rc = emit_value(e, val)) < 0) return rc;
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        yaml_scalar_style_t st = YAML_ANY_SCALAR_STYLE;
        if (memchr(s, '\n', n) && n > 1)
            st = YAML_LITERAL_SCALAR_STYLE;
        else if (yaml_plain_is_special(s, n))
            st = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return emit_scalar(e, s, n, st);
    }
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL: {
        double d = json_real_value(v);
        snprintf(num, sizeof(num), "%.17g", d);
        /* shortest representation that reads back exactly */
        for (int prec = 1; prec <= 17; prec++) {
            char t[64];
            snprintf(t, sizeof(t), "%.*g", prec, d);
            if (strtod(t, NULL) == d) {
                memcpy(num, t, sizeof(t));
                break;
            }
        }
        if (!strpbrk(num, ".eEn"))
            strcat(num, ".0");
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    }
    case JSON_TRUE:
        return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
    default:
        return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
}

static int dump_docs(const json_t *const *docs, size_t n, struct strbuf *out) {
    yaml_emitter_t e;
    yaml_event_t ev;
    int rc = 0;
    yaml_emitter_initialize(&e);
    yaml_emitter_set_output(&e, write_cb, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = emit(&e, &ev);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, i == 0);
        if ((rc = emit(&e, &ev)) < 0 || (rc = emit_value(&e, docs[i])) < 0)
            break;
        yaml_document_end_event_initialize(&ev, 1);
        rc = emit(&e, &ev);
    }
    if (rc == 0) {
        yaml_stream_end_event_initialize(&ev);
        rc = emit(&e, &ev);
    }
    yaml_emitter_delete(&e);
    return rc;
}

int yaml_dump(const json_t *value, struct strbuf *out) { return dump_docs(&value, 1, out); }

int yaml_dump_all(const json_t *docs, struct strbuf *out) {
    size_t n = json_array_size(docs);
    if (n == 0)
        return 0;
    const json_t **v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(docs, i);
    int rc = dump_docs(v, n, out);
    free(v);
    return rc;
}
