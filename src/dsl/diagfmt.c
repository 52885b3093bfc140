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
    if (cp < 0x1100)
        return 0;
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

/* Byte offsets where each line of a source starts (built once per source), and
 * a cursor remembering where the last excerpt's window began, so that several
 * diagnostics on one long line do not each decode the line from its start. */
struct line_index {
    size_t *start;
    size_t n;
    uint32_t cur_line, cur_col;  /* column cur_col of line cur_line starts at ... */
    size_t cur_off;              /* ... byte cur_off of the line (0 = no cursor) */
    /* the text of the last excerpt, reused by the next diagnostic on the same
     * line and window (only its caret line differs) */
    uint32_t memo_line, memo_first;
    size_t memo_len;             /* 0 = none */
    char memo_text[EXCERPT_MAX_COLS * 4 + 8];
};

static void index_lines(const struct dsl_source *src, struct line_index *ix) {
    const char *t = src->text;
    size_t n = src->len, cap = 64;
    ix->start = xmalloc(cap * sizeof(*ix->start));
    ix->n = 0;
    size_t i = n >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0;
    ix->start[ix->n++] = i;
    /* jump from one line break to the next: the nearer of the next '\n' and
     * the next '\r', each searched again only once passed */
    size_t nl = 0, cr = 0;
    int have_nl = 0, have_cr = 0;
    for (; i < n; i++) {
        if (!have_nl || nl < i) {
            const char *q = memchr(t + i, '\n', n - i);
            nl = q ? (size_t)(q - t) : n;
            have_nl = 1;
        }
        if (!have_cr || cr < i) {
            const char *q = memchr(t + i, '\r', n - i);
            cr = q ? (size_t)(q - t) : n;
            have_cr = 1;
        }
        i = nl < cr ? nl : cr;
        if (i >= n)
            break;
        if (t[i] == '\r' && i + 1 < n && t[i + 1] == '\n')
            i++;
        if (ix->n == cap) {
            cap *= 2;
            ix->start = xrealloc(ix->start, cap * sizeof(*ix->start));
        }
        ix->start[ix->n++] = i + 1;
    }
}

/* Bytes of line `line` (1-based) from *s up to the end of the source; the line
 * itself ends at the first '\n' or '\r' (see line_end). -1 when out of range. */
static int find_line(const struct dsl_source *src, const struct line_index *ix, uint32_t line,
                     const unsigned char **s, size_t *avail) {
    if (line < 1 || line > ix->n)
        return -1;
    size_t i = ix->start[line - 1];
    *s = (const unsigned char *)src->text + i;
    *avail = src->len - i;
    return 0;
}

static int line_end(const unsigned char *s, size_t avail, size_t i) {
    return i >= avail || s[i] == '\n' || s[i] == '\r';
}

/* Byte offset of column `first` (code points from 1) of the line at s, or the
 * line's end when it is shorter; uses and moves the cursor of ix. */
static size_t skip_cols(struct line_index *ix, uint32_t line, const unsigned char *s,
                        size_t avail, uint32_t first) {
    uint32_t c = 1;
    size_t i = 0;
    if (ix->cur_off && ix->cur_line == line && ix->cur_col <= first) {
        c = ix->cur_col;
        i = ix->cur_off;
    }
    while (c < first && !line_end(s, avail, i)) {
        if (s[i] < 0x80) {
            i++;
        } else {
            uint32_t cp;
            i += decode(s + i, avail - i, &cp);
        }
        c++;
    }
    if (c == first && i > 0) {
        ix->cur_line = line;
        ix->cur_col = c;
        ix->cur_off = i;
    }
    return i;
}

/* Appends the excerpt of line `line` (at most EXCERPT_MAX_COLS code points
 * around column `col`) and a caret line under column col. Both lines are built
 * in fixed buffers: a code point takes at most 4 bytes of text and 2 of caret. */
static void excerpt(const struct dsl_source *src, struct line_index *ix, uint32_t line,
                    uint32_t col, struct strbuf *out) {
    const unsigned char *s;
    size_t avail;
    if (find_line(src, ix, line, &s, &avail) != 0)
        return;
    /* window: skip code points before the caret on long lines */
    uint32_t first = 1;
    if (col > EXCERPT_MAX_COLS - 20)
        first = col - (EXCERPT_MAX_COLS / 2);
    char text[EXCERPT_MAX_COLS * 4 + 8], caret[EXCERPT_MAX_COLS * 2 + 8];
    size_t tn = 0, cn = 0;
    size_t i = 0;
    /* text already made for this line and window: only the caret is walked,
     * and only up to the caret's column */
    int have = ix->memo_len && ix->memo_line == line && ix->memo_first == first;
    if (have) {
        memcpy(text, ix->memo_text, ix->memo_len);
        tn = ix->memo_len;
    }
    if (first > 1) {
        i = skip_cols(ix, line, s, avail, first);
        if (!have) {
            memcpy(text, "...", 3);
            tn = 3;
        }
        memcpy(caret, "   ", 3);
        cn = 3;
    }
    uint32_t c = first;
    int caret_done = 0;
    while (!line_end(s, avail, i) && c < first + EXCERPT_MAX_COLS && !(have && c > col)) {
        /* a run of printable ASCII, one column a byte: copied whole */
        size_t k = 0, room = first + EXCERPT_MAX_COLS - c;
        if (room > avail - i)
            room = avail - i;
        while (k < room && (unsigned char)(s[i + k] - 0x20) < 0x5F) /* 0x20..0x7E */
            k++;
        if (k) {
            if (!have) {
                memcpy(text + tn, s + i, k);
                tn += k;
            }
            if (col >= c) { /* spaces up to the caret, which may be in this run */
                size_t sp = col - c < k ? col - c : k;
                memset(caret + cn, ' ', sp);
                cn += sp;
                if (sp < k) {
                    caret[cn++] = '^';
                    caret_done = 1;
                }
            }
            i += k;
            c += (uint32_t)k;
            continue;
        }
        uint32_t cp;
        size_t l = decode(s + i, avail - i, &cp);
        if (c == col) {
            caret[cn++] = '^';
            caret_done = 1;
        }
        if (cp == '\t') {
            if (!have)
                text[tn++] = '\t';
            if (c < col)
                caret[cn++] = '\t';
        } else if (cp < 0x20 || cp == 0x7F || cp == 0xFFFD || (cp >= 0x80 && cp < 0xA0)) {
            if (!have)
                text[tn++] = '?';
            if (c < col)
                caret[cn++] = ' ';
        } else {
            if (!have) {
                memcpy(text + tn, s + i, l);
                tn += l;
            }
            if (c < col) {
                caret[cn++] = ' ';
                if (is_wide(cp))
                    caret[cn++] = ' ';
            }
        }
        i += l;
        c++;
    }
    if (!have) {
        if (!line_end(s, avail, i)) {
            memcpy(text + tn, "...", 3);
            tn += 3;
        }
        memcpy(ix->memo_text, text, tn);
        ix->memo_len = tn;
        ix->memo_line = line;
        ix->memo_first = first;
    }
    if (!caret_done)
        caret[cn++] = '^'; /* the column is at the end of the line (e.g. a missing value) */
    text[tn++] = '\n';
    caret[cn++] = '\n';
    strbuf_append(out, text, tn);
    strbuf_append(out, caret, cn);
}

/* Reads a decimal number >= 1 at *p (digits only), advancing *p; 0 when none. */
static unsigned read_uint(const char **p) {
    const char *s = *p;
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9' && v <= 0xFFFFFFFFul) {
        v = v * 10 + (unsigned)(*s - '0');
        s++;
    }
    if (s == *p || v > 0xFFFFFFFFul)
        return 0;
    *p = s;
    return (unsigned)v;
}

/* Splits "name:line:col" when name is one of srcs; returns the source's index or -1. */
static long parse_where(const struct dsl_source *srcs, size_t n, const char *where,
                        uint32_t *line, uint32_t *col) {
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(srcs[i].name);
        if (strncmp(where, srcs[i].name, l) || where[l] != ':')
            continue;
        const char *p = where + l + 1;
        unsigned ln = read_uint(&p), cl = 0;
        if (ln && *p == ':') {
            p++;
            cl = read_uint(&p);
        }
        if (ln && cl && !*p) {
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
        if (it->where && *it->where) {
            strbuf_puts(out, it->where);
            strbuf_puts(out, ": ");
        }
        strbuf_puts(out, lvl);
        strbuf_puts(out, ": ");
        strbuf_puts(out, it->msg);
        strbuf_puts(out, "\n");
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
