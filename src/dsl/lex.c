/* lex.c - the tracing DSL's lexer and the arena its tokens and trees live in.
 *
 * Hand-written, one pass, no backtracking beyond one character. Input is UTF-8
 * (a leading BOM is skipped; invalid sequences and NUL bytes are errors), lines
 * end with LF, CRLF or CR. Every error names file:line:col and the lexer goes on. */
#include "dsl/ast.h"
#include "base/err.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct dsl_chunk {
    struct dsl_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct dsl_arena {
    struct dsl_chunk *head;
    size_t next_cap;    /* size of the next chunk: grows from ARENA_FIRST to ARENA_MAX */
};

/* Chunks grow geometrically: a small file (most inputs) costs one small block,
 * a big one a few, never one malloc per node. */
#define ARENA_FIRST 2048
#define ARENA_MAX 65536

struct dsl_arena *dsl_arena_new(void) { return xcalloc(1, sizeof(struct dsl_arena)); }

void dsl_arena_free(struct dsl_arena *a) {
    if (!a)
        return;
    for (struct dsl_chunk *c = a->head, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    free(a);
}

void *dsl_arena_alloc(struct dsl_arena *a, size_t n) {
    n = (n + 7) & ~(size_t)7;
    struct dsl_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = a->next_cap ? a->next_cap : ARENA_FIRST;
        if (cap < ARENA_MAX)
            a->next_cap = cap * 2;
        if (cap < n)
            cap = n;
        c = xmalloc(sizeof(*c) + cap);
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *dsl_arena_strndup(struct dsl_arena *a, const char *s, size_t n) {
    char *p = dsl_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- diagnostics ---- */

/* Writes the digits of v at p; returns the end. */
static char *put_u32(char *p, uint32_t v) {
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

void dsl_where(char *out, size_t cap, const char *file, struct dsl_pos pos) {
    size_t fl = strlen(file);
    if (fl + 24 > cap) { /* a path too long for the buffer: rare, printf clips it */
        snprintf(out, cap, "%s:%u:%u", file, pos.line, pos.col);
        return;
    }
    memcpy(out, file, fl);
    char *p = out + fl;
    *p++ = ':';
    p = put_u32(p, pos.line);
    *p++ = ':';
    p = put_u32(p, pos.col);
    *p = '\0';
}

static void lex_error(struct dsl_lexer *lx, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void lex_error(struct dsl_lexer *lx, struct dsl_pos pos, const char *fmt, ...) {
    char where[512], msg[512];
    if (lx->errors >= DSL_MAX_ERRORS) { /* the parser reports "too many errors" */
        lx->errors++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dsl_where(where, sizeof(where), lx->file_name, pos);
    lx->errors++;
    diag_add_text(lx->d, DIAG_ERROR, where, msg);
}

static struct dsl_pos here(const struct dsl_lexer *lx) {
    struct dsl_pos p = {lx->file, lx->line, lx->col};
    return p;
}

/* ---- character handling ---- */

/* Character classes of the bytes, one table lookup instead of a chain of
 * comparisons per byte: the lexer touches every byte of a file three to five
 * times (space, words, strings, comments), and plain runs are consumed whole. */
enum {
    C_SPACE = 1,        /* ' ' \t \n \r \f \v */
    C_ID0 = 2,          /* may start a word: letters and '_' */
    C_ID = 4,           /* may continue a word: C_ID0, digits, '-', '.' */
    C_DIGIT = 8,
    C_STR = 16,         /* plain in a string: ASCII but NUL, '"', '\\', '$', \n, \r */
    C_CMT = 32,         /* plain in a comment: ASCII but NUL, '*', \n, \r */
};

static unsigned char cclass[256];

static unsigned classify(int c) {
    unsigned cls = 0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        cls |= C_SPACE;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        cls |= C_ID0 | C_ID;
    if (c >= '0' && c <= '9')
        cls |= C_ID | C_DIGIT;
    if (c == '-' || c == '.')
        cls |= C_ID;
    if (c > 0 && c < 0x80 && c != '\n' && c != '\r') {
        if (c != '"' && c != '\\' && c != '$')
            cls |= C_STR;
        if (c != '*')
            cls |= C_CMT;
    }
    return cls;
}

__attribute__((constructor)) static void cclass_init(void) {
    for (int c = 0; c < 256; c++)
        cclass[c] = (unsigned char)classify(c);
}

static int has_class(int c, unsigned cls) { return c >= 0 && (cclass[c] & cls); }

static int peekc(const struct dsl_lexer *lx, size_t ahead) {
    size_t i = lx->off + ahead;
    return i < lx->len ? (unsigned char)lx->src[i] : -1;
}

/* Bytes from the cursor that are all of class cls. */
static size_t run_of(const struct dsl_lexer *lx, unsigned cls) {
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t i = lx->off;
    while (i < lx->len && (cclass[s[i]] & cls))
        i++;
    return i - lx->off;
}

/* Advances over n ASCII bytes that hold no line break. */
static void adv_plain(struct dsl_lexer *lx, size_t n) {
    lx->off += n;
    lx->col += (uint32_t)n;
}

/* Advances over one byte, keeping line and column. A column counts code
 * points: UTF-8 continuation bytes do not move it. */
static void adv(struct dsl_lexer *lx) {
    unsigned char c = (unsigned char)lx->src[lx->off++];
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if (c == '\r') {
        if (lx->off < lx->len && lx->src[lx->off] == '\n')
            lx->off++;
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* Checks the byte at the cursor is the start of valid UTF-8 (or ASCII other
 * than NUL); reports and returns 0 otherwise. */
static size_t check_char(struct dsl_lexer *lx) {
    unsigned char c = (unsigned char)lx->src[lx->off];
    if (c == 0) {
        lex_error(lx, here(lx), "NUL byte in the input");
        return 0;
    }
    size_t n = utf8_len((const unsigned char *)lx->src + lx->off, lx->len - lx->off);
    if (!n)
        lex_error(lx, here(lx), "invalid UTF-8 byte 0x%02X", c);
    return n;
}

/* Skips n bytes of one code point (no newlines among them). */
static void adv_n(struct dsl_lexer *lx, size_t n) {
    for (size_t i = 0; i < n; i++)
        adv(lx);
}

static void skip_line(struct dsl_lexer *lx) {
    while (lx->off < lx->len) {
        adv_plain(lx, run_of(lx, C_CMT));
        int c = peekc(lx, 0);
        if (c < 0 || c == '\n' || c == '\r')
            return;
        size_t n = check_char(lx); /* '*', NUL or beyond ASCII */
        adv_n(lx, n ? n : 1);
    }
}

static void skip_block_comment(struct dsl_lexer *lx) {
    struct dsl_pos start = here(lx);
    adv(lx);
    adv(lx);
    while (lx->off < lx->len) {
        adv_plain(lx, run_of(lx, C_CMT));
        int c = peekc(lx, 0);
        if (c < 0)
            break;
        if (c == '*' && peekc(lx, 1) == '/') {
            adv(lx);
            adv(lx);
            return;
        }
        if (c == '\n' || c == '\r') {
            adv(lx);
            continue;
        }
        size_t n = check_char(lx);
        adv_n(lx, n ? n : 1);
    }
    lex_error(lx, start, "unterminated comment");
}

static void skip_space(struct dsl_lexer *lx) {
    while (lx->off < lx->len) {
        int c = peekc(lx, 0);
        if (has_class(c, C_SPACE))
            adv(lx);
        else if (c == '#' || (c == '/' && peekc(lx, 1) == '/'))
            skip_line(lx);
        else if (c == '/' && peekc(lx, 1) == '*')
            skip_block_comment(lx);
        else
            return;
    }
}

static int is_ident_start(int c) { return has_class(c, C_ID0); }
static int is_ident_char(int c) { return has_class(c, C_ID); }
static int is_digit(int c) { return has_class(c, C_DIGIT); }

/* ---- strings ---- */

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(struct strbuf *b, uint32_t cp) {
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    strbuf_append(b, o, n);
}

/* Reads the 4 hex digits after "\u" (cursor on 'u'); -1 when malformed. */
static long read_hex4(struct dsl_lexer *lx) {
    long v = 0;
    for (size_t i = 1; i <= 4; i++) {
        int h = hexval(peekc(lx, i));
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    adv_n(lx, 5);
    return v;
}

/* Decodes a \u escape (cursor on 'u'), joining surrogate pairs. */
static void lex_unicode_escape(struct dsl_lexer *lx, struct strbuf *b, struct dsl_pos epos) {
    long hi = read_hex4(lx);
    if (hi < 0) {
        lex_error(lx, epos, "\\u must be followed by 4 hex digits");
        return;
    }
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        long lo = -1;
        if (peekc(lx, 0) == '\\' && peekc(lx, 1) == 'u') {
            adv(lx);
            lo = read_hex4(lx);
        }
        if (lo < 0xDC00 || lo > 0xDFFF) {
            lex_error(lx, epos, "unpaired UTF-16 surrogate in \\u escape");
            return;
        }
        cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
        lex_error(lx, epos, "unpaired UTF-16 surrogate in \\u escape");
        return;
    }
    if (cp == 0) {
        lex_error(lx, epos, "\\u0000 (NUL) is not allowed in a string");
        return;
    }
    put_utf8(b, cp);
}

/* One escape sequence, cursor on the backslash. */
static void lex_escape(struct dsl_lexer *lx, struct strbuf *b) {
    struct dsl_pos epos = here(lx);
    adv(lx);
    int c = peekc(lx, 0);
    const char *simple = NULL;
    switch (c) {
    case '"': simple = "\""; break;
    case '\\': simple = "\\"; break;
    case '/': simple = "/"; break;
    case '$': simple = "$"; break;
    case 'b': simple = "\b"; break;
    case 'f': simple = "\f"; break;
    case 'n': simple = "\n"; break;
    case 'r': simple = "\r"; break;
    case 't': simple = "\t"; break;
    case 'u': lex_unicode_escape(lx, b, epos); return;
    default: break;
    }
    if (simple) {
        strbuf_append(b, simple, 1);
        adv(lx);
        return;
    }
    if (c < 0 || c == '\n' || c == '\r')
        return; /* the caller reports the unterminated string */
    lex_error(lx, epos, "unknown escape sequence '\\%c'", c >= 0x20 && c < 0x7F ? c : '?');
    size_t n = check_char(lx);
    adv_n(lx, n ? n : 1);
}

/* "${NAME}" at the cursor? Returns its length, or 0. */
static size_t envref_len(const struct dsl_lexer *lx) {
    if (peekc(lx, 0) != '$' || peekc(lx, 1) != '{' || !is_ident_start(peekc(lx, 2)))
        return 0;
    size_t i = 3;
    while (1) {
        int c = peekc(lx, i);
        if (c == '}')
            return i + 1;
        if (!(is_ident_start(c) || is_digit(c)))
            return 0;
        i++;
    }
}

static struct dsl_token lex_string(struct dsl_lexer *lx, struct dsl_token t) {
    adv(lx); /* opening quote */
    size_t simple = run_of(lx, C_STR);
    if (peekc(lx, simple) == '"') { /* no escape, ${, or byte beyond ASCII: the text as is */
        t.type = TK_STRING;
        t.len = simple;
        t.text = dsl_arena_strndup(lx->arena, lx->src + lx->off, simple);
        adv_plain(lx, simple + 1);
        return t;
    }
    struct strbuf b;
    strbuf_init(&b, 0);
    int closed = 0;
    while (lx->off < lx->len) {
        int c = peekc(lx, 0);
        if (c == '"') {
            adv(lx);
            closed = 1;
            break;
        }
        if (c == '\n' || c == '\r')
            break;
        size_t plain = run_of(lx, C_STR);
        if (plain) {
            strbuf_append(&b, lx->src + lx->off, plain);
            adv_plain(lx, plain);
            continue;
        }
        if (c == '\\') {
            lex_escape(lx, &b);
            continue;
        }
        size_t el = envref_len(lx);
        if (el) {
            t.has_env = 1;
            strbuf_append(&b, lx->src + lx->off, el);
            adv_n(lx, el);
            continue;
        }
        size_t n = check_char(lx);
        if (n)
            strbuf_append(&b, lx->src + lx->off, n);
        adv_n(lx, n ? n : 1);
    }
    if (!closed)
        lex_error(lx, t.pos, "unterminated string");
    t.type = t.has_env ? TK_ENVREF : TK_STRING;
    t.len = b.len;
    t.text = dsl_arena_strndup(lx->arena, b.buf ? b.buf : "", b.len);
    strbuf_free(&b);
    return t;
}

/* ---- words and numbers ---- */

/* A number is [+-]digits[.digits][(e|E)[+-]digits]; anything else glued to it
 * (units, a second dot) makes the word a quantity. */
static int is_number_text(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t d0 = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t ndig = i - d0;
    if (i < n && s[i] == '.') {
        i++;
        size_t f0 = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == f0)
            return 0;
        ndig += i - f0;
    }
    if (!ndig)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e0 = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == e0)
            return 0;
    }
    return i == n;
}

static struct dsl_token lex_numberish(struct dsl_lexer *lx, struct dsl_token t) {
    size_t start = lx->off;
    adv(lx);
    while (lx->off < lx->len) {
        int c = peekc(lx, 0);
        char prev = lx->src[lx->off - 1];
        /* '+' only right after an exponent marker: 1e+5 */
        if (!(is_ident_char(c) || c == '%' || (c == '+' && (prev == 'e' || prev == 'E'))))
            break;
        adv(lx);
    }
    t.len = lx->off - start;
    t.text = dsl_arena_strndup(lx->arena, lx->src + start, t.len);
    t.type = is_number_text(t.text, t.len) ? TK_NUMBER : TK_QUANTITY;
    return t;
}

static struct dsl_token lex_ident(struct dsl_lexer *lx, struct dsl_token t) {
    size_t start = lx->off;
    adv_plain(lx, run_of(lx, C_ID));
    t.type = TK_IDENT;
    t.len = lx->off - start;
    t.text = dsl_arena_strndup(lx->arena, lx->src + start, t.len);
    return t;
}

void dsl_lex_init(struct dsl_lexer *lx, const char *src, size_t len, const char *file_name,
                  uint32_t file_index, struct dsl_arena *arena, struct diag *d) {
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->col = 1;
    lx->file = file_index;
    lx->file_name = file_name ? file_name : "<input>";
    lx->arena = arena;
    lx->d = d;
    if (len >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3))
        lx->off = 3; /* BOM: not counted as a column */
}

static struct dsl_token punct(struct dsl_lexer *lx, struct dsl_token t, enum dsl_tok type) {
    t.type = type;
    t.text = lx->src + lx->off;
    t.len = 1;
    adv(lx);
    return t;
}

static struct dsl_token lex_token(struct dsl_lexer *lx) {
    skip_space(lx);
    struct dsl_token t;
    memset(&t, 0, sizeof(t));
    t.pos = here(lx);
    t.off = lx->off;
    if (lx->off >= lx->len) {
        t.type = TK_EOF;
        t.text = "";
        return t;
    }
    int c = peekc(lx, 0);
    switch (c) {
    case '{': return punct(lx, t, TK_LBRACE);
    case '}': return punct(lx, t, TK_RBRACE);
    case '[': return punct(lx, t, TK_LBRACK);
    case ']': return punct(lx, t, TK_RBRACK);
    case ':': return punct(lx, t, TK_COLON);
    case ',': return punct(lx, t, TK_COMMA);
    case ';': return punct(lx, t, TK_SEMI);
    case '=': return punct(lx, t, TK_EQUALS);
    case '"': return lex_string(lx, t);
    default: break;
    }
    if (is_digit(c) || ((c == '-' || c == '+' || c == '.') && is_digit(peekc(lx, 1))))
        return lex_numberish(lx, t);
    if (is_ident_start(c))
        return lex_ident(lx, t);
    size_t el = envref_len(lx);
    if (el) {
        t.type = TK_ENVREF;
        t.has_env = 1;
        t.len = el;
        t.text = dsl_arena_strndup(lx->arena, lx->src + lx->off, el);
        adv_n(lx, el);
        return t;
    }
    /* something that cannot start a token */
    size_t n = check_char(lx);
    if (n) {
        if (c == '\'')
            lex_error(lx, t.pos, "strings use double quotes (\"...\"), not single quotes");
        else if (n == 1 && c >= 0x20 && c < 0x7F)
            lex_error(lx, t.pos, "unexpected character '%c'", c);
        else if (n == 1)
            lex_error(lx, t.pos, "unexpected control character 0x%02X", c);
        else
            lex_error(lx, t.pos, "unexpected character '%.*s' outside a string", (int)n,
                      lx->src + lx->off);
    }
    adv_n(lx, n ? n : 1);
    t.type = TK_ERROR;
    t.text = "";
    return t;
}

struct dsl_token dsl_lex_next(struct dsl_lexer *lx) {
    struct dsl_token t = lex_token(lx);
    t.end = lx->off;
    return t;
}

const char *dsl_tok_name(enum dsl_tok t) {
    switch (t) {
    case TK_EOF: return "end of file";
    case TK_ERROR: return "invalid character";
    case TK_IDENT: return "word";
    case TK_STRING: return "string";
    case TK_NUMBER: return "number";
    case TK_QUANTITY: return "quantity";
    case TK_ENVREF: return "${...} reference";
    case TK_LBRACE: return "'{'";
    case TK_RBRACE: return "'}'";
    case TK_LBRACK: return "'['";
    case TK_RBRACK: return "']'";
    case TK_COLON: return "':'";
    case TK_COMMA: return "','";
    case TK_SEMI: return "';'";
    case TK_EQUALS: return "'='";
    }
    return "token";
}
