/* watch.c - incremental decoder of newline-delimited watch events (pure). */
#include "kube/watch.h"

#include <string.h>

static const char *const type_names[] = {NULL, "ADDED", "MODIFIED", "DELETED", "BOOKMARK",
                                         "ERROR"};

const char *kube_event_type_name(enum kube_event_type t) {
    if (t < KUBE_EVENT_ADDED || t > KUBE_EVENT_ERROR)
        return "UNKNOWN";
    return type_names[t];
}

void watch_decoder_init(struct watch_decoder *d, size_t max_line) {
    memset(d, 0, sizeof(*d));
    d->max_line = max_line ? max_line : KUBE_WATCH_MAX_LINE;
    strbuf_init(&d->line, 0);
}

void watch_decoder_free(struct watch_decoder *d) { strbuf_free(&d->line); }

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* Decodes one complete line (without its '\n'). */
static int emit_line(struct watch_decoder *d, const char *s, size_t n, kube_event_fn cb,
                     void *ud, struct op_status *st) {
    if (blank(s, n))
        return 0;
    size_t num = d->events + 1;
    json_error_t jerr;
    json_t *ev = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!ev)
        return op_fail(st, OP_EPARSE, "watch event %zu: invalid JSON at column %d: %s", num,
                       jerr.column, jerr.text);
    int rc = 0;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    enum kube_event_type t = 0;
    for (int i = KUBE_EVENT_ADDED; i <= KUBE_EVENT_ERROR; i++)
        if (type && !strcmp(type, type_names[i]))
            t = (enum kube_event_type)i;
    if (!json_is_object(ev))
        rc = op_fail(st, OP_EPARSE, "watch event %zu: not a JSON object", num);
    else if (!type)
        rc = op_fail(st, OP_EPARSE, "watch event %zu: \"type\" is missing or not a string", num);
    else if (!t)
        rc = op_fail(st, OP_EPARSE, "watch event %zu: unknown type \"%.40s\"", num, type);
    else if (!json_is_object(obj))
        rc = op_fail(st, OP_EPARSE, "watch event %zu (%s): \"object\" is missing or not an object",
                     num, type);
    if (rc == 0) {
        d->events++;
        rc = cb(ud, t, obj);
    }
    json_decref(ev);
    return rc;
}

int watch_decoder_feed(struct watch_decoder *d, const char *data, size_t len, kube_event_fn cb,
                       void *ud, struct op_status *st) {
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (d->line.len + take > d->max_line)
            return op_fail(st, OP_ETOOBIG, "watch event %zu: line longer than %zu bytes",
                           d->events + 1, d->max_line);
        if (!nl) {
            strbuf_append(&d->line, data, take);
            return 0;
        }
        int rc;
        if (d->line.len == 0) {
            rc = emit_line(d, data, take, cb, ud, st);   /* whole line in this chunk: no copy */
        } else {
            strbuf_append(&d->line, data, take);
            rc = emit_line(d, d->line.buf, d->line.len, cb, ud, st);
            if (d->line.cap > 256 * 1024)
                strbuf_free(&d->line);   /* don't keep a huge buffer for a long watch */
            else
                strbuf_reset(&d->line);
        }
        if (rc)
            return rc;
        data += take + 1;
        len -= take + 1;
    }
    return 0;
}

int watch_decoder_finish(struct watch_decoder *d, kube_event_fn cb, void *ud,
                         struct op_status *st) {
    if (d->line.len == 0)
        return 0;
    int rc = emit_line(d, d->line.buf, d->line.len, cb, ud, st);
    strbuf_reset(&d->line);
    if (rc < 0 && rc != OP_ETOOBIG)
        return op_fail(st, OP_EPARSE, "watch stream ended in the middle of event %zu",
                       d->events + 1);
    return rc;
}
