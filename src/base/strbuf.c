/* strbuf.c - growable buffer (see strbuf.h). */
#include "base/strbuf.h"
#include "base/err.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b, size_t limit) {
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void strbuf_free(struct strbuf *b) {
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

void strbuf_reset(struct strbuf *b) {
    b->len = 0;
    if (b->buf)
        b->buf[0] = '\0';
}

int strbuf_append(struct strbuf *b, const void *data, size_t n) {
    if (b->limit && b->len + n > b->limit)
        return OP_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->buf = xrealloc(b->buf, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

int strbuf_puts(struct strbuf *b, const char *s) { return strbuf_append(b, s, strlen(s)); }

int strbuf_printf(struct strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = strbuf_append(b, s, strlen(s));
    free(s);
    return rc;
}

char *strbuf_detach(struct strbuf *b, size_t *ret_len) {
    if (!b->buf)
        strbuf_append(b, "", 0);
    char *p = b->buf;
    if (ret_len)
        *ret_len = b->len;
    b->buf = NULL;
    b->len = b->cap = 0;
    return p;
}
