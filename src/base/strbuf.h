/* strbuf.h - a growable byte buffer with an optional hard cap (init/free/reset triad). */
#ifndef OP_BASE_STRBUF_H
#define OP_BASE_STRBUF_H
#include <stddef.h>

struct strbuf {
    char *buf;      /* always NUL-terminated when not NULL */
    size_t len, cap;
    size_t limit;   /* 0 = unlimited; appends past it fail with OP_ETOOBIG */
};

void strbuf_init(struct strbuf *b, size_t limit);
void strbuf_free(struct strbuf *b);
void strbuf_reset(struct strbuf *b);
int strbuf_append(struct strbuf *b, const void *data, size_t n);   /* 0 or OP_ETOOBIG */
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the buffer to the caller (NUL-terminated, never NULL) and resets b. */
char *strbuf_detach(struct strbuf *b, size_t *ret_len);

#endif
