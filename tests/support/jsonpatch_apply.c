/* jsonpatch_apply.c - RFC 6902 applier for tests (see jsonpatch_apply.h). Strict: a
 * pointer into a missing member, an index past the end, or a malformed "~" escape
 * fails the whole patch, like the API server's applier. */
#include "jsonpatch_apply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ptr {
    char **tok;
    size_t n;
};

static void ptr_free(struct ptr *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
}

/* Splits "/a/b~1c" into unescaped tokens. -1 when malformed. */
static int ptr_parse(const char *s, struct ptr *p) {
    p->tok = NULL;
    p->n = 0;
    if (!*s)
        return 0;
    if (*s != '/')
        return -1;
    size_t cap = 1;
    for (const char *c = s; *c; c++)
        cap += *c == '/';
    p->tok = calloc(cap, sizeof(char *));
    const char *start = s + 1;
    for (;;) {
        const char *end = strchr(start, '/');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *t = malloc(len + 1), *w = t;
        for (size_t i = 0; i < len; i++) {
            if (start[i] != '~') {
                *w++ = start[i];
            } else if (i + 1 < len && (start[i + 1] == '0' || start[i + 1] == '1')) {
                *w++ = start[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                free(t);
                ptr_free(p);
                return -1;
            }
        }
        *w = '\0';
        p->tok[p->n++] = t;
        if (!end)
            break;
        start = end + 1;
    }
    return 0;
}

/* Array index token: "0" or digits without a leading zero. -1 when not one. */
static long parse_index(const char *t) {
    if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 9)
        return -1;
    for (const char *c = t; *c; c++)
        if (!isdigit((unsigned char)*c))
            return -1;
    return atol(t);
}

/* The value at tokens [0, n), or NULL. */
static json_t *walk(json_t *doc, const struct ptr *p, size_t n) {
    json_t *cur = doc;
    for (size_t i = 0; i < n && cur; i++) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, p->tok[i]);
        } else if (json_is_array(cur)) {
            long idx = parse_index(p->tok[i]);
            cur = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
        } else {
            cur = NULL;
        }
    }
    return cur;
}

/* Operations on the parent of the last token. value is stolen by add. */
static int op_add(json_t **doc, const struct ptr *p, json_t *value) {
    if (!p->n) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    json_t *parent = walk(*doc, p, p->n - 1);
    const char *last = p->tok[p->n - 1];
    if (json_is_object(parent))
        return json_object_set_new(parent, last, value);
    if (json_is_array(parent)) {
        if (!strcmp(last, "-"))
            return json_array_append_new(parent, value);
        long idx = parse_index(last);
        if (idx >= 0 && (size_t)idx <= json_array_size(parent))
            return json_array_insert_new(parent, (size_t)idx, value);
    }
    json_decref(value);
    return -1;
}

static int op_remove(json_t *doc, const struct ptr *p) {
    if (!p->n)
        return -1;
    json_t *parent = walk(doc, p, p->n - 1);
    const char *last = p->tok[p->n - 1];
    if (json_is_object(parent))
        return json_object_get(parent, last) ? json_object_del(parent, last) : -1;
    long idx = json_is_array(parent) ? parse_index(last) : -1;
    if (idx < 0 || (size_t)idx >= json_array_size(parent))
        return -1;
    return json_array_remove(parent, (size_t)idx);
}

static int apply_one(json_t **doc, const json_t *op, char *why, size_t n) {
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    json_t *value = json_object_get(op, "value");
    struct ptr p, from = {NULL, 0};
    if (!name || !path || ptr_parse(path, &p))
        return snprintf(why, n, "missing or malformed op/path"), -1;
    int rc = -1;
    if (!strcmp(name, "add")) {
        rc = value ? op_add(doc, &p, json_deep_copy(value)) : -1;
    } else if (!strcmp(name, "remove")) {
        rc = op_remove(*doc, &p);
    } else if (!strcmp(name, "replace")) {
        rc = value && walk(*doc, &p, p.n) ? 0 : -1;
        if (!rc && p.n)
            rc = op_remove(*doc, &p) || op_add(doc, &p, json_deep_copy(value));
        else if (!rc)
            rc = op_add(doc, &p, json_deep_copy(value));
    } else if (!strcmp(name, "test")) {
        json_t *cur = walk(*doc, &p, p.n);
        rc = value && cur && json_equal(cur, value) ? 0 : -1;
    } else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
        const char *f = json_string_value(json_object_get(op, "from"));
        json_t *src = NULL;
        if (f && !ptr_parse(f, &from))
            src = walk(*doc, &from, from.n);
        if (src) {
            json_t *copy = json_deep_copy(src);
            rc = !strcmp(name, "move") ? op_remove(*doc, &from) : 0;
            rc = rc ? (json_decref(copy), -1) : op_add(doc, &p, copy);
        }
        ptr_free(&from);
    } else {
        snprintf(why, n, "unknown op \"%s\"", name);
        ptr_free(&p);
        return -1;
    }
    if (rc)
        snprintf(why, n, "%s %s failed", name, path);
    ptr_free(&p);
    return rc ? -1 : 0;
}

json_t *jpa_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen) {
    if (!json_is_array(patch)) {
        snprintf(err, errlen, "the patch is not an array");
        return NULL;
    }
    json_t *out = json_deep_copy(doc);
    size_t i;
    json_t *op;
    json_array_foreach(patch, i, op) {
        char why[256] = "";
        if (!json_is_object(op) || apply_one(&out, op, why, sizeof(why))) {
            snprintf(err, errlen, "operation %zu: %s", i, why[0] ? why : "not an object");
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
