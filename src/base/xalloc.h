/* xalloc.h - allocation that aborts on out-of-memory, plus small string helpers.
 *
 * The operator is an application: running out of memory is fatal (like redis'
 * zmalloc). xalloc_init() also installs them into jansson (by way of jarena.h). */
#ifndef OP_BASE_XALLOC_H
#define OP_BASE_XALLOC_H
#include <stdarg.h>
#include <stddef.h>

void xalloc_init(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
