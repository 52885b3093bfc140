/* jsonpatch.c - RFC 6902 JSON Patch builder with RFC 6901 pointer escaping (see jsonpatch.h). */
#include "webhook/jsonpatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void jp_path_push(struct strbuf *path, const char *token) {
    strbuf_append(path, "/", 1);
    for (const char *p = token; *p; p++) {
        if (*p == '~')
            strbuf_append(path, "~0", 2);
        else if (*p == '/')
            strbuf_append(path, "~1", 2);
        else
            strbuf_append(path, p, 1);
    }
}

void jp_path_push_index(struct strbuf *path, size_t index) {
    strbuf_printf(path, "/%zu", index);
}

char *jp_pointer(const char *first, ...) {
    struct strbuf b;
    strbuf_init(&b, 0);
    va_list ap;
    va_start(ap, first);
    for (const char *t = first; t; t = va_arg(ap, const char *))
        jp_path_push(&b, t);
    va_end(ap);
    return strbuf_detach(&b, NULL);
}

int jp_token_unescape(char *token) {
    char *w = token;
    for (const char *r = token; *r; r++) {
        if (*r != '~') {
            *w++ = *r;
            continue;
        }
        if (r[1] == '0')
            *w++ = '~';
        else if (r[1] == '1')
            *w++ = '/';
        else
            return -1;
        r++;
    }
    *w = '\0';
    return 0;
}

static void jp_op(json_t *patch, const char *op, const char *path, json_t *value) {
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string(op));
    json_object_set_new(o, "path", json_string(path));
    if (value)
        json_object_set_new(o, "value", value);
    json_array_append_new(patch, o);
}

void jp_add(json_t *patch, const char *path, json_t *value) { jp_op(patch, "add", path, value); }

void jp_replace(json_t *patch, const char *path, json_t *value) {
    jp_op(patch, "replace", path, value);
}

void jp_remove(json_t *patch, const char *path) { jp_op(patch, "remove", path, NULL); }

/* ---- fast compact serialization ---- */

void jp_quote(struct strbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    strbuf_append(b, "\"", 1);
    size_t run = 0;   /* start of the bytes not yet appended */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        strbuf_append(b, esc, len);
    }
    strbuf_append(b, s + run, n - run);
    strbuf_append(b, "\"", 1);
}

void jp_dump(struct strbuf *b, const json_t *v) {
    if (!v)
        return;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        strbuf_append(b, "{", 1);
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                strbuf_append(b, ",", 1);
            first = 0;
            jp_quote(b, json_object_iter_key(it), json_object_iter_key_len(it));
            strbuf_append(b, ":", 1);
            jp_dump(b, json_object_iter_value(it));
        }
        strbuf_append(b, "}", 1);
        return;
    }
    case JSON_ARRAY: {
        strbuf_append(b, "[", 1);
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i)
                strbuf_append(b, ",", 1);
            jp_dump(b, json_array_get(v, i));
        }
        strbuf_append(b, "]", 1);
        return;
    }
    case JSON_STRING:
        jp_quote(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        strbuf_append(b, num, (size_t)n);
        return;
    }
    case JSON_REAL: {   /* rare here: jansson's own formatting, to stay identical */
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s)
            strbuf_puts(b, s);
        free(s);
        return;
    }
    case JSON_TRUE: strbuf_append(b, "true", 4); return;
    case JSON_FALSE: strbuf_append(b, "false", 5); return;
    case JSON_NULL: strbuf_append(b, "null", 4); return;
    }
}
