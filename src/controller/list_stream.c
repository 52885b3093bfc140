/* list_stream.c - a byte-level splitter of LIST bodies and the transport filter that
 * uses it (see list_stream.h). The scanner tracks strings, escapes and nesting
 * only; each item is then parsed by jansson on its own. */
#include "controller/list_stream.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void list_splitter_init(struct list_splitter *s, list_item_fn cb, void *ud) {
    memset(s, 0, sizeof(*s));
    strbuf_init(&s->rest, 0);
    strbuf_init(&s->item, LIST_ITEM_MAX);
    s->cb = cb;
    s->ud = ud;
}

void list_splitter_free(struct list_splitter *s) {
    strbuf_free(&s->rest);
    strbuf_free(&s->item);
}

const char *list_splitter_rest(const struct list_splitter *s, size_t *ret_len) {
    if (ret_len)
        *ret_len = s->rest.len;
    return s->rest.buf ? s->rest.buf : "";
}

static int emit(struct list_splitter *s, struct op_status *st) {
    json_error_t je;
    json_t *item = json_loadb(s->item.buf, s->item.len, 0, &je);
    strbuf_reset(&s->item);
    s->in_element = 0;
    if (!item)
        return op_fail(st, OP_EPARSE, "list item %zu: %s", s->items + 1, je.text);
    s->items++;
    return s->cb ? s->cb(s->ud, item) : (json_decref(item), 0);
}

/* One byte inside the items array. */
static int items_byte(struct list_splitter *s, char ch, struct op_status *st) {
    if (!s->in_element) {
        if (ch == ']' && !s->in_string) {   /* end of the array */
            s->in_items = 0;
            s->depth--;
            return strbuf_append(&s->rest, "]", 1);
        }
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == ',')
            return 0;
        s->in_element = 1;
        s->elem_depth = s->depth;
    }
    if (strbuf_append(&s->item, &ch, 1) < 0)
        return op_fail(st, OP_ETOOBIG, "list item %zu is larger than %u bytes", s->items + 1,
                       LIST_ITEM_MAX);
    if (s->in_string) {
        if (s->escape)
            s->escape = 0;
        else if (ch == '\\')
            s->escape = 1;
        else if (ch == '"')
            s->in_string = 0;
        if (!s->in_string && s->depth == s->elem_depth)
            return emit(s, st);   /* a string element */
        return 0;
    }
    switch (ch) {
    case '"':
        s->in_string = 1;
        return 0;
    case '{':
    case '[':
        s->depth++;
        return 0;
    case '}':
    case ']':
        s->depth--;
        return s->depth == s->elem_depth ? emit(s, st) : 0;
    default:
        return 0;
    }
}

/* One byte outside the items array: copied to rest, with depth-1 keys watched. */
static int rest_byte(struct list_splitter *s, char ch) {
    int rc = strbuf_append(&s->rest, &ch, 1);
    if (rc < 0)
        return rc;
    if (s->in_string) {
        if (s->escape) {
            s->escape = 0;
        } else if (ch == '\\') {
            s->escape = 1;
        } else if (ch == '"') {
            s->in_string = 0;
            if (s->reading_key) {
                s->reading_key = 0;
                s->key_is_items = s->key_len == 5 && !memcmp(s->key, "items", 5);
            }
        } else if (s->reading_key && s->key_len < sizeof(s->key)) {
            s->key[s->key_len++] = ch;
        } else if (s->reading_key) {
            s->key_len = sizeof(s->key) + 1;   /* longer than "items" */
        }
        return 0;
    }
    switch (ch) {
    case '"':
        s->in_string = 1;
        if (s->depth == 1 && !s->after_colon) {
            s->reading_key = 1;
            s->key_len = 0;
        }
        return 0;
    case ':':
        if (s->depth == 1)
            s->after_colon = 1;
        return 0;
    case ',':
        if (s->depth == 1) {
            s->after_colon = 0;
            s->key_is_items = 0;
        }
        return 0;
    case '[':
        if (s->depth == 1 && s->after_colon && s->key_is_items) {
            s->in_items = 1;
            s->after_colon = 0;
        }
        s->depth++;
        return 0;
    case '{':
        s->depth++;
        return 0;
    case '}':
    case ']':
        s->depth--;
        return 0;
    default:
        return 0;
    }
}

int list_splitter_feed(struct list_splitter *s, const char *data, size_t len,
                       struct op_status *st) {
    for (size_t i = 0; i < len; i++) {
        int rc = s->in_items ? items_byte(s, data[i], st) : rest_byte(s, data[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the transport filter ---- */

struct list_filter {
    struct kube_transport base;   /* first: the client sees this */
    struct kube_transport *inner;
    list_item_fn cb;
    void *ud;
};

struct pass {
    struct list_filter *f;
    kube_body_fn sink;
    void *sink_ud;
    struct list_splitter sp;
    int splitting;      /* 200 answer to an armed request */
    int decided;
    int rc;             /* first splitter error */
    struct op_status *st;
};

static int filter_sink(void *ud, int http, const char *data, size_t len) {
    struct pass *p = ud;
    if (!p->decided) {
        p->decided = 1;
        p->splitting = http == 200;
    }
    if (!p->splitting)
        return p->sink(p->sink_ud, http, data, len);
    int rc = list_splitter_feed(&p->sp, data, len, p->st);
    if (rc != 0) {
        p->rc = rc < 0 ? rc : OP_EIO;
        return 1;
    }
    return 0;
}

static int filter_roundtrip(struct kube_transport *t, const struct kube_http_request *req,
                            kube_body_fn sink, void *ud, int *ret_http, struct op_status *st) {
    struct list_filter *f = (struct list_filter *)t;
    if (!f->cb || req->stream || strcmp(req->method, "GET") != 0)
        return f->inner->ops->roundtrip(f->inner, req, sink, ud, ret_http, st);
    struct pass p = {.f = f, .sink = sink, .sink_ud = ud, .st = st};
    list_splitter_init(&p.sp, f->cb, f->ud);
    int rc = f->inner->ops->roundtrip(f->inner, req, filter_sink, &p, ret_http, st);
    if (p.rc < 0) {
        rc = p.rc;
    } else if (rc == 0 && p.splitting) {
        size_t n = 0;
        const char *rest = list_splitter_rest(&p.sp, &n);
        if (n && sink(ud, *ret_http, rest, n) != 0)
            rc = KUBE_TRANSPORT_STOPPED;
    }
    list_splitter_free(&p.sp);
    return rc;
}

static void filter_destroy(struct kube_transport *t) {
    struct list_filter *f = (struct list_filter *)t;
    if (f->inner && f->inner->ops->destroy)
        f->inner->ops->destroy(f->inner);
    free(f);
}

static const struct kube_transport_ops filter_ops = {filter_roundtrip, filter_destroy};

struct list_filter *list_filter_new(struct kube_transport *inner) {
    struct list_filter *f = xcalloc(1, sizeof(*f));
    f->base.ops = &filter_ops;
    f->inner = inner;
    return f;
}

struct kube_transport *list_filter_transport(struct list_filter *f) { return &f->base; }

void list_filter_capture(struct list_filter *f, list_item_fn cb, void *ud) {
    f->cb = cb;
    f->ud = ud;
}
