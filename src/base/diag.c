/* diag.c - the diagnostics list (see diag.h). */
#include "base/diag.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diag_init(struct diag *d) { memset(d, 0, sizeof(*d)); }

void diag_done(struct diag *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->len; i++) {
        free(d->items[i].where);
        free(d->items[i].msg);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}

static void diag_push(struct diag *d, enum diag_level lvl, char *where, char *msg) {
    size_t max = d->max ? d->max : 1000;
    if (lvl == DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
    if (d->len >= max) {
        free(where);
        free(msg);
        return;
    }
    if (d->len == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    d->items[d->len].level = lvl;
    d->items[d->len].where = where;
    d->items[d->len].msg = msg;
    d->len++;
}

void diag_add(struct diag *d, enum diag_level lvl, const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_push(d, lvl, xstrdup(where ? where : ""), msg);
}

void diag_add_text(struct diag *d, enum diag_level lvl, const char *where, const char *msg) {
    diag_push(d, lvl, xstrdup(where ? where : ""), xstrdup(msg));
}

void diag_move(struct diag *dst, struct diag *src, const char *prefix) {
    for (size_t i = 0; i < src->len; i++) {
        struct diag_item *it = &src->items[i];
        char *where = it->where;
        if (prefix && *prefix) {
            where = xasprintf("%s%s", prefix, it->where);
            free(it->where);
        }
        diag_push(dst, it->level, where, it->msg);
    }
    /* items beyond src->max were counted but not kept */
    size_t kept_err = 0, kept_warn = 0;
    for (size_t i = 0; i < src->len; i++)
        src->items[i].level == DIAG_ERROR ? kept_err++ : kept_warn++;
    dst->errors += src->errors - kept_err;
    dst->warnings += src->warnings - kept_warn;
    free(src->items);
    memset(src, 0, sizeof(*src));
}

void diag_promote_warnings(struct diag *d) {
    for (size_t i = 0; i < d->len; i++)
        d->items[i].level = DIAG_ERROR;
    d->errors += d->warnings;
    d->warnings = 0;
}

char *diag_item_format(const struct diag_item *it) {
    if (it->where && *it->where)
        return xasprintf("%s: %s", it->where, it->msg);
    return xstrdup(it->msg);
}
