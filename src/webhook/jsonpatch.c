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
