/* diagfmt.c - prints DSL diagnostics with a source excerpt and a caret
 * (dsl_format_diags, see dsl.h). Pure: formats into a strbuf.
 *
 * The caret line copies the tabs of the source line and gives wide (CJK)
 * characters two columns, so the caret sits under the right character in a
 * terminal. Control bytes and invalid UTF-8 in the excerpt print as '?'. */
#include "dsl/dsl.h"
#include "base/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXCERPT_MAX_COLS 150   /* longer lines are shown as a window around the caret */

static int is_wide(uint32_t cp) {
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
           (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
           (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

/* Decodes one code point at s[0..n); returns its length (1 for an invalid byte,
 * with *cp = 0xFFFD). */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!len || len > n || (len > 1 && c > 0xF4)) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = len == 1 ? c : c & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* Byte offsets where each line of a source starts (built once per source). */
struct line_index {
    size_t *start;
    size_t n;
};

static void index_lines(const struct dsl_source *src, struct line_index *ix) {
    const char *t = src->text;
    size_t n = src->len, cap = 64;
    ix->start = xmalloc(cap * sizeof(*ix->start));
    ix->n = 0;
    size_t i = n >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0;
    ix->start[ix->n++] = i;
    for (; i < n; i++) {
        if (t[i] != '\n' && t[i] != '\r')
            continue;
        if (t[i] == '\r' && i + 1 < n && t[i + 1] == '\n')
            i++;
        if (ix->n == cap) {
            cap *= 2;
            ix->start = xrealloc(ix->start, cap * sizeof(*ix->start));
        }
        ix->start[ix->n++] = i + 1;
    }
}

/* Finds line `line` (1-based) of src: its start and length (without EOL). */
static int find_line(const struct dsl_source *src, const struct line_index *ix, uint32_t line,
                     size_t *start, size_t *len) {
    if (line < 1 || line > ix->n)
        return -1;
    size_t i = ix->start[line - 1], e = i;
    while (e < src->len && src->text[e] != '\n' && src->text[e] != '\r')
        e++;
    *start = i;
    *len = e - i;
    return 0;
}

static void excerpt(const struct dsl_source *src, const struct line_index *ix, uint32_t line,
                    uint32_t col, struct strbuf *out) {
    size_t start, len;
    if (find_line(src, ix, line, &start, &len) != 0)
        return;
    const unsigned char *s = (const unsigned char *)src->text + start;
    /* window: skip code points before the caret on long lines */
    uint32_t first = 1;
    if (col > EXCERPT_MAX_COLS - 20)
        first = col - (EXCERPT_MAX_COLS / 2);
    struct strbuf text, caret;
    strbuf_init(&text, 0);
    strbuf_init(&caret, 0);
    if (first > 1) {
        strbuf_puts(&text, "...");
        strbuf_puts(&caret, "   ");
    }
    uint32_t c = 1;
    size_t i = 0;
    int caret_done = 0;
    while (i < len && c < first + EXCERPT_MAX_COLS) {
        uint32_t cp;
        size_t l = decode(s + i, len - i, &cp);
        if (c >= first) {
            if (c == col) {
                strbuf_puts(&caret, "^");
                caret_done = 1;
            }
            if (cp == '\t') {
                strbuf_puts(&text, "\t");
                if (c < col)
                    strbuf_puts(&caret, "\t");
            } else if (cp < 0x20 || cp == 0x7F || cp == 0xFFFD || (cp >= 0x80 && cp < 0xA0)) {
                strbuf_puts(&text, "?");
                if (c < col)
                    strbuf_puts(&caret, " ");
            } else {
                strbuf_append(&text, s + i, l);
                if (c < col)
                    strbuf_puts(&caret, is_wide(cp) ? "  " : " ");
            }
        }
        i += l;
        c++;
    }
    if (i < len)
        strbuf_puts(&text, "...");
    if (!caret_done)
        strbuf_puts(&caret, "^"); /* the column is at the end of the line (e.g. a missing value) */
    strbuf_printf(out, "%s\n%s\n", text.buf ? text.buf : "", caret.buf ? caret.buf : "^");
    strbuf_free(&text);
    strbuf_free(&caret);
}

/* Splits "name:line:col" when name is one of srcs; returns the source's index or -1. */
static long parse_where(const struct dsl_source *srcs, size_t n, const char *where,
                        uint32_t *line, uint32_t *col) {
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(srcs[i].name);
        if (strncmp(where, srcs[i].name, l) || where[l] != ':')
            continue;
        unsigned ln, cl;
        char tail;
        if (sscanf(where + l + 1, "%u:%u%c", &ln, &cl, &tail) == 2 && ln > 0 && cl > 0) {
            *line = ln;
            *col = cl;
            return (long)i;
        }
    }
    return -1;
}

void dsl_format_diags(const struct dsl_source *srcs, size_t n, const struct diag *d,
                      struct strbuf *out) {
    struct line_index *ix = xcalloc(n ? n : 1, sizeof(*ix));
    for (size_t i = 0; i < d->len; i++) {
        const struct diag_item *it = &d->items[i];
        const char *lvl = it->level == DIAG_ERROR ? "error" : "warning";
        if (it->where && *it->where)
            strbuf_printf(out, "%s: %s: %s\n", it->where, lvl, it->msg);
        else
            strbuf_printf(out, "%s: %s\n", lvl, it->msg);
        uint32_t line, col;
        long s = it->where ? parse_where(srcs, n, it->where, &line, &col) : -1;
        if (s < 0)
            continue;
        if (!ix[s].start)
            index_lines(&srcs[s], &ix[s]);
        excerpt(&srcs[s], &ix[s], line, col, out);
    }
    for (size_t i = 0; i < n; i++)
        free(ix[i].start);
    free(ix);
    size_t hidden_e = d->errors, hidden_w = d->warnings;
    for (size_t i = 0; i < d->len; i++)
        d->items[i].level == DIAG_ERROR ? hidden_e-- : hidden_w--;
    if (hidden_e || hidden_w)
        strbuf_printf(out, "(%zu more errors and %zu more warnings not shown)\n", hidden_e,
                      hidden_w);
}
