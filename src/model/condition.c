/* condition.c - the sampling-rule condition language: a hand-written lexer, a
 * recursive-descent parser into an AST, a printer, and the compiler into
 * OpenTelemetry Collector tail_sampling policies (grammar and mapping in
 * condition.h). Pure: no I/O, no globals.
 *
 * Compilation works in three steps:
 *   1. every comparison becomes a "literal" that one collector policy can
 *      decide (a latency range, a numeric range, a set of string values, a set
 *      of status codes, a boolean); `not` is pushed down to the literals
 *      (a negated literal flips invert_match, complements the status set, or
 *      complements the latency range);
 *   2. the expression is expanded into an OR of ANDs (at most COND_MAX_TERMS),
 *      and literals of one AND on the same key are merged (`x >= 400 and
 *      x < 500` -> one range; two latency bounds -> threshold_ms+upper);
 *   3. each AND becomes one policy: a plain policy for a single literal, else
 *      an `and` policy; a rate < 1 adds a probabilistic sub-policy; an inverted
 *      literal is always wrapped in `and`, because a top-level inverted
 *      decision vetoes every other policy (the collector README's deprecated
 *      "inverted not sample" rule) while inside `and` it is a plain decision.
 * The collector samples a trace when any policy says so, so the OR branches
 * are simply separate policies. */
#include "model/condition.h"
#include "model/model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"

#define COND_MAX_LEN 4096   /* characters of condition text */
#define COND_MAX_DEPTH 32   /* nesting of parentheses and `not` */
#define COND_MAX_TERMS 32   /* policies one condition may expand into */
#define LAT_INF INT64_MAX   /* no upper latency bound */

/* ---- AST ---------------------------------------------------------------- */

enum vkind { V_NUM, V_DUR, V_STR, V_WORD };

struct value {
    enum vkind kind;
    int col;
    int is_int;         /* V_NUM: integral and within int64 */
    int big;            /* V_NUM: an integer beyond int64 */
    long long i;        /* V_NUM integral value; V_DUR milliseconds */
    double f;           /* V_NUM value */
    char *text;         /* V_STR/V_WORD: the string; V_NUM/V_DUR: the lexeme */
};

enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE };
static const char *const op_text[] = {"==", "!=", ">", ">=", "<", "<="};

enum ckind { C_ALL, C_AND, C_OR, C_NOT, C_CMP, C_IN, C_INREF };

struct cond {
    enum ckind kind;
    int col;                    /* column of the node's first token */
    struct cond **kids;         /* C_AND/C_OR: n >= 2; C_NOT: 1 */
    size_t nkids;
    char *ident;                /* C_CMP/C_IN/C_INREF: the attribute */
    enum op op;                 /* C_CMP */
    struct value val;           /* C_CMP */
    struct value *list;         /* C_IN */
    size_t nlist;
    int not_in;                 /* C_IN/C_INREF: `not in` */
    char *ref;                  /* C_INREF: the list's name */
    int ref_col;
};

static void value_free(struct value *v) { free(v->text); }

void cond_free(struct cond *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        cond_free(c->kids[i]);
    free(c->kids);
    free(c->ident);
    value_free(&c->val);
    for (size_t i = 0; i < c->nlist; i++)
        value_free(&c->list[i]);
    free(c->list);
    free(c->ref);
    free(c);
}

static struct cond *cond_new(enum ckind k, int col) {
    struct cond *c = xcalloc(1, sizeof(*c));
    c->kind = k;
    c->col = col;
    return c;
}

/* ---- lexer -------------------------------------------------------------- */

enum tkind {
    T_EOF, T_IDENT, T_NUM, T_DUR, T_STR, T_AND, T_OR, T_NOT, T_IN,
    T_OP, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_STAR,
};

struct tok {
    enum tkind kind;
    int col;
    enum op op;         /* T_OP */
    char *text;         /* identifier, string contents, or number lexeme */
    long long i;        /* T_NUM integral value, T_DUR milliseconds */
    double f;
    int is_int;
    int big;            /* T_NUM: an integer beyond int64 */
};

struct parser {
    const char *src;
    size_t pos;
    struct tok tok;     /* the current token */
    int prev_col;       /* column of the previous token */
    char prev_text[48]; /* the previous token as written (for messages) */
    int depth;
    int failed;
    const char *where;
    struct diag *d;
};

/* 1-based column of byte offset off, counting UTF-8 characters. */
static int column_of(const char *s, size_t off) {
    int col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            col++;
    return col;
}

static void perr(struct parser *p, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, int col, const char *fmt, ...) {
    if (p->failed)
        return;     /* one diagnostic per condition: the first error */
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (p->d)
        diag_error(p->d, p->where, "column %d: %s", col, msg);
    free(msg);
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident_char(int c) { return isalnum(c) || c == '_' || c == '.' || c == '-'; }

static int word_is(const char *s, size_t n, const char *kw) {
    return strlen(kw) == n && !strncasecmp(s, kw, n);
}

/* How a token reads in a message: `'>='`, `'foo'`, `the end of the condition`. */
static void tok_describe(const struct parser *p, const struct tok *t, char *out, size_t n) {
    (void)p;
    static const char *const punct[] = {
        [T_LPAREN] = "'('", [T_RPAREN] = "')'", [T_LBRACK] = "'['", [T_RBRACK] = "']'",
        [T_COMMA] = "','", [T_STAR] = "'*'", [T_AND] = "'and'", [T_OR] = "'or'",
        [T_NOT] = "'not'", [T_IN] = "'in'",
    };
    switch (t->kind) {
    case T_EOF:
        snprintf(out, n, "the end of the condition");
        return;
    case T_STR:
        snprintf(out, n, "the string '%.24s'", t->text ? t->text : "");
        return;
    case T_OP:
        snprintf(out, n, "'%s'", op_text[t->op]);
        return;
    case T_IDENT:
    case T_NUM:
    case T_DUR:
        snprintf(out, n, "'%.32s'", t->text ? t->text : "");
        return;
    default:
        if (t->text)
            snprintf(out, n, "'%.32s'", t->text);
        else
            snprintf(out, n, "%s", punct[t->kind] ? punct[t->kind] : "?");
        return;
    }
}

static void lex_number(struct parser *p, size_t start) {
    const char *s = p->src;
    size_t i = start;
    if (s[i] == '-' || s[i] == '+')
        i++;
    while (isdigit((unsigned char)s[i]) || s[i] == '.')
        i++;
    int has_exp = 0;
    if ((s[i] == 'e' || s[i] == 'E') &&
        (isdigit((unsigned char)s[i + 1]) ||
         ((s[i + 1] == '-' || s[i + 1] == '+') && isdigit((unsigned char)s[i + 2])))) {
        has_exp = 1;
        i += 2;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    size_t num_end = i;
    /* a unit right after the number makes it a duration: 500ms, 1h30m, 1.5s */
    while (isalnum((unsigned char)s[i]) || s[i] == '.' || (unsigned char)s[i] >= 0x80)
        i++;
    p->tok.text = xstrndup(s + start, i - start);
    p->tok.col = column_of(s, start);
    p->pos = i;
    if (i > num_end) {
        int64_t ms;
        if (has_exp || s[start] == '-' || s[start] == '+' ||
            parse_duration_ms(p->tok.text, &ms) != 0) {
            perr(p, p->tok.col,
                 "'%s' is neither a number nor a duration (a number with a unit: ns, us, ms, "
                 "s, m, h, d)", p->tok.text);
            p->tok.kind = T_EOF;
            return;
        }
        p->tok.kind = T_DUR;
        p->tok.i = ms;
        return;
    }
    char *end;
    errno = 0;
    double f = strtod(p->tok.text, &end);
    if (*end || end == p->tok.text || !isfinite(f)) {
        perr(p, p->tok.col, "'%s' is not a number", p->tok.text);
        p->tok.kind = T_EOF;
        return;
    }
    p->tok.kind = T_NUM;
    p->tok.f = f;
    p->tok.is_int = 0;
    if (!strpbrk(p->tok.text, ".eE")) {
        /* an integer as written: exact, or out of the int64 range */
        errno = 0;
        long long v = strtoll(p->tok.text, &end, 10);
        if (errno == ERANGE || *end) {
            p->tok.big = 1;
        } else {
            p->tok.is_int = 1;
            p->tok.i = v;
        }
    } else if (f == floor(f) && f >= -9.2233720368547758e18 && f < 9.2233720368547758e18) {
        p->tok.is_int = 1;  /* 400.0 */
        p->tok.i = (long long)f;
    }
}

static void lex_string(struct parser *p, size_t start) {
    const char *s = p->src;
    char q = s[start];
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t i = start + 1;
    for (; s[i] && s[i] != q; i++) {
        char c = s[i];
        if (c == '\\' && s[i + 1]) {
            i++;
            c = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
        }
        strbuf_append(&b, &c, 1);
    }
    p->tok.col = column_of(s, start);
    if (!s[i]) {
        strbuf_free(&b);
        perr(p, p->tok.col, "unterminated string: add the closing %c", q);
        p->tok.kind = T_EOF;
        p->pos = i;
        return;
    }
    p->tok.kind = T_STR;
    p->tok.text = strbuf_detach(&b, NULL);
    p->pos = i + 1;
}

/* Reads the next token into p->tok. On a lexical error reports it and yields T_EOF. */
static void next(struct parser *p) {
    if (p->tok.kind != T_EOF || p->tok.text) {
        p->prev_col = p->tok.col;
        char desc[48];
        tok_describe(p, &p->tok, desc, sizeof(desc));
        snprintf(p->prev_text, sizeof(p->prev_text), "%s", desc);
    }
    free(p->tok.text);
    memset(&p->tok, 0, sizeof(p->tok));
    if (p->failed) {
        p->tok.kind = T_EOF;
        return;
    }
    const char *s = p->src;
    size_t i = p->pos;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    p->tok.col = column_of(s, i);
    p->pos = i + 1;
    char c = s[i];
    char c1 = c ? s[i + 1] : '\0';
    switch (c) {
    case '\0':
        p->tok.kind = T_EOF;
        p->pos = i;
        return;
    case '(': p->tok.kind = T_LPAREN; return;
    case ')': p->tok.kind = T_RPAREN; return;
    case '[': p->tok.kind = T_LBRACK; return;
    case ']': p->tok.kind = T_RBRACK; return;
    case ',': p->tok.kind = T_COMMA; return;
    case '*': p->tok.kind = T_STAR; return;
    case '\'':
    case '"':
        lex_string(p, i);
        return;
    default:
        break;
    }
    p->tok.kind = T_OP;
    p->pos = i + 2;
    if (c == '=' && c1 == '=') { p->tok.op = OP_EQ; return; }
    if (c == '!' && c1 == '=') { p->tok.op = OP_NE; return; }
    if (c == '>' && c1 == '=') { p->tok.op = OP_GE; return; }
    if (c == '<' && c1 == '=') { p->tok.op = OP_LE; return; }
    p->pos = i + 1;
    if (c == '>') { p->tok.op = OP_GT; return; }
    if (c == '<') { p->tok.op = OP_LT; return; }
    if (c == '&' && c1 == '&') { p->tok.kind = T_AND; p->pos = i + 2; return; }
    if (c == '|' && c1 == '|') { p->tok.kind = T_OR; p->pos = i + 2; return; }
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)c1)) ||
        ((c == '-' || c == '+') && (isdigit((unsigned char)c1) || c1 == '.'))) {
        lex_number(p, i);
        return;
    }
    if (is_ident_start((unsigned char)c)) {
        size_t j = i;
        while (is_ident_char((unsigned char)s[j]))
            j++;
        size_t n = j - i;
        p->pos = j;
        p->tok.kind = word_is(s + i, n, "and") ? T_AND
                    : word_is(s + i, n, "or")  ? T_OR
                    : word_is(s + i, n, "not") ? T_NOT
                    : word_is(s + i, n, "in")  ? T_IN
                    : T_IDENT;
        p->tok.text = xstrndup(s + i, n);
        return;
    }
    p->tok.kind = T_EOF;
    if (c == '=')
        perr(p, p->tok.col, "unexpected '='; compare with '=='");
    else if (c == '!')
        perr(p, p->tok.col, "unexpected '!'; negate with 'not'");
    else if (c == '&' || c == '|')
        perr(p, p->tok.col, "unexpected '%c'; combine with 'and'/'&&' or 'or'/'||'", c);
    else if ((unsigned char)c < 0x20 || c == 0x7f)
        perr(p, p->tok.col, "unexpected control character 0x%02x", (unsigned char)c);
    else if ((unsigned char)c >= 0x80)
        perr(p, p->tok.col, "unexpected non-ASCII character; quote it in a string");
    else
        perr(p, p->tok.col, "unexpected '%c'", c);
}

/* ---- parser ------------------------------------------------------------- */

static struct cond *parse_or(struct parser *p);

static void describe_cur(struct parser *p, char *out, size_t n) {
    tok_describe(p, &p->tok, out, n);
}

/* Moves the current token's value into v (which must then be freed). */
static int take_value(struct parser *p, struct value *v, const char *after) {
    memset(v, 0, sizeof(*v));
    v->col = p->tok.col;
    switch (p->tok.kind) {
    case T_NUM:
        v->kind = V_NUM;
        v->f = p->tok.f;
        v->i = p->tok.i;
        v->is_int = p->tok.is_int;
        v->big = p->tok.big;
        break;
    case T_DUR:
        v->kind = V_DUR;
        v->i = p->tok.i;
        break;
    case T_STR:
        v->kind = V_STR;
        break;
    case T_IDENT:
        v->kind = V_WORD;
        break;
    default: {
        if (p->failed)
            return -1;
        char desc[48];
        describe_cur(p, desc, sizeof(desc));
        if (p->tok.kind == T_EOF)
            perr(p, p->prev_col, "expected a value after %s", after);
        else
            perr(p, p->tok.col, "expected a value after %s, found %s", after, desc);
        return -1;
    }
    }
    v->text = p->tok.text;
    p->tok.text = NULL;
    next(p);
    return 0;
}

static int parse_list(struct parser *p, struct cond *c) {
    int open_col = p->tok.col;
    next(p);    /* '[' */
    size_t cap = 0;
    for (;;) {
        if (p->tok.kind == T_RBRACK && c->nlist > 0) {   /* trailing comma */
            next(p);
            return 0;
        }
        if (p->tok.kind == T_RBRACK) {
            perr(p, p->tok.col, "empty list: write at least one value");
            return -1;
        }
        if (p->tok.kind == T_EOF) {
            perr(p, open_col, "the '[' here is not closed with ']'");
            return -1;
        }
        if (c->nlist == cap) {
            cap = cap ? cap * 2 : 4;
            c->list = xrealloc(c->list, cap * sizeof(*c->list));
        }
        if (take_value(p, &c->list[c->nlist], c->nlist ? "','" : "'['") != 0)
            return -1;
        c->nlist++;
        if (p->tok.kind == T_COMMA) {
            next(p);
            continue;
        }
        if (p->tok.kind == T_RBRACK) {
            next(p);
            return 0;
        }
        char desc[48];
        describe_cur(p, desc, sizeof(desc));
        if (p->tok.kind == T_EOF)
            perr(p, open_col, "the '[' here is not closed with ']'");
        else
            perr(p, p->tok.col, "expected ',' or ']' in the list, found %s", desc);
        return -1;
    }
}

static struct cond *parse_cmp(struct parser *p) {
    struct cond *c = cond_new(C_CMP, p->tok.col);
    c->ident = p->tok.text;
    p->tok.text = NULL;
    next(p);
    char after[80];
    snprintf(after, sizeof(after), "'%.60s'", c->ident);
    if (p->tok.kind == T_OP) {
        c->op = p->tok.op;
        snprintf(after, sizeof(after), "'%s'", op_text[c->op]);
        next(p);
        if (take_value(p, &c->val, after) != 0)
            goto fail;
        return c;
    }
    int not_col = 0;
    if (p->tok.kind == T_NOT) {
        not_col = p->tok.col;
        next(p);
        if (p->tok.kind != T_IN) {
            perr(p, not_col, "expected 'in' after 'not' (write '%s not in [...]')", c->ident);
            goto fail;
        }
    }
    if (p->tok.kind == T_IN) {
        c->not_in = not_col != 0;
        next(p);
        if (p->tok.kind == T_LBRACK) {
            c->kind = C_IN;
            if (parse_list(p, c) != 0)
                goto fail;
            return c;
        }
        if (p->tok.kind == T_IDENT) {
            c->kind = C_INREF;
            c->ref = p->tok.text;
            c->ref_col = p->tok.col;
            p->tok.text = NULL;
            next(p);
            return c;
        }
        char desc[48];
        describe_cur(p, desc, sizeof(desc));
        perr(p, p->tok.kind == T_EOF ? p->prev_col : p->tok.col,
             "expected a list such as ['a', 'b'] after 'in', found %s", desc);
        goto fail;
    }
    if (!p->failed) {
        char desc[48];
        describe_cur(p, desc, sizeof(desc));
        perr(p, p->tok.kind == T_EOF ? c->col : p->tok.col,
             "expected an operator (==, !=, >, >=, <, <=, in, not in) after %s, found %s",
             after, desc);
    }
fail:
    cond_free(c);
    return NULL;
}

static struct cond *parse_unary(struct parser *p) {
    if (p->failed)
        return NULL;
    if (p->depth >= COND_MAX_DEPTH) {
        perr(p, p->tok.col, "nested too deeply (more than %d levels)", COND_MAX_DEPTH);
        return NULL;
    }
    struct cond *c = NULL;
    int col = p->tok.col;
    switch (p->tok.kind) {
    case T_NOT: {
        next(p);
        p->depth++;
        struct cond *k = parse_unary(p);
        p->depth--;
        if (!k)
            return NULL;
        c = cond_new(C_NOT, col);
        c->kids = xmalloc(sizeof(*c->kids));
        c->kids[0] = k;
        c->nkids = 1;
        return c;
    }
    case T_LPAREN:
        next(p);
        p->depth++;
        c = parse_or(p);
        p->depth--;
        if (!c)
            return NULL;
        if (p->tok.kind != T_RPAREN) {
            char desc[48];
            describe_cur(p, desc, sizeof(desc));
            if (p->tok.kind == T_EOF)
                perr(p, col, "the '(' here is not closed with ')'");
            else
                perr(p, p->tok.col, "expected ')' to close the '(' at column %d, found %s",
                     col, desc);
            cond_free(c);
            return NULL;
        }
        next(p);
        return c;
    case T_STAR:
        next(p);
        return cond_new(C_ALL, col);
    case T_IDENT:
        return parse_cmp(p);
    default: {
        char desc[48];
        describe_cur(p, desc, sizeof(desc));
        if (p->tok.kind == T_EOF && p->prev_text[0])
            perr(p, p->prev_col, "expected a condition after %s", p->prev_text);
        else
            perr(p, col, "expected a condition (such as duration > 1s, or *), found %s", desc);
        return NULL;
    }
    }
}

/* n-ary AND/OR so that long chains do not make deep trees */
static struct cond *parse_chain(struct parser *p, enum tkind sep, enum ckind kind,
                                struct cond *(*sub)(struct parser *)) {
    struct cond *first = sub(p);
    if (!first || p->tok.kind != sep)
        return first;
    struct cond *c = cond_new(kind, first->col);
    size_t cap = 4;
    c->kids = xmalloc(cap * sizeof(*c->kids));
    c->kids[c->nkids++] = first;
    while (p->tok.kind == sep) {
        next(p);
        struct cond *k = sub(p);
        if (!k) {
            cond_free(c);
            return NULL;
        }
        if (c->nkids == cap) {
            cap *= 2;
            c->kids = xrealloc(c->kids, cap * sizeof(*c->kids));
        }
        c->kids[c->nkids++] = k;
    }
    return c;
}

static struct cond *parse_and(struct parser *p) {
    return parse_chain(p, T_AND, C_AND, parse_unary);
}

static struct cond *parse_or(struct parser *p) {
    return parse_chain(p, T_OR, C_OR, parse_and);
}

struct cond *cond_parse(const char *text, const char *where, struct diag *d) {
    struct parser p = {.src = text ? text : "", .where = where, .d = d};
    size_t n = strlen(p.src);
    if (n > COND_MAX_LEN) {
        perr(&p, 1, "condition too long (%zu bytes, at most %d)", n, COND_MAX_LEN);
        return NULL;
    }
    p.tok.kind = T_EOF;
    next(&p);
    if (p.tok.kind == T_EOF && !p.failed) {
        perr(&p, 1, "empty condition: write one such as duration > 1s, or * for every trace");
        return NULL;
    }
    struct cond *c = parse_or(&p);
    if (c && p.tok.kind != T_EOF) {
        char desc[48];
        describe_cur(&p, desc, sizeof(desc));
        perr(&p, p.tok.col, "unexpected %s; expected 'and', 'or' or the end", desc);
    }
    free(p.tok.text);
    if (p.failed) {
        cond_free(c);
        return NULL;
    }
    return c;
}

/* ---- printer ------------------------------------------------------------ */

static void print_value(struct strbuf *b, const struct value *v) {
    if (v->kind != V_STR) {
        strbuf_puts(b, v->text);
        return;
    }
    strbuf_puts(b, "'");
    for (const char *s = v->text; *s; s++) {
        if (*s == '\'' || *s == '\\')
            strbuf_puts(b, "\\");
        strbuf_append(b, s, 1);
    }
    strbuf_puts(b, "'");
}

static void print_cond(struct strbuf *b, const struct cond *c, enum ckind parent) {
    switch (c->kind) {
    case C_ALL:
        strbuf_puts(b, "*");
        return;
    case C_CMP:
        strbuf_printf(b, "%s %s ", c->ident, op_text[c->op]);
        print_value(b, &c->val);
        return;
    case C_IN:
        strbuf_printf(b, "%s %sin [", c->ident, c->not_in ? "not " : "");
        for (size_t i = 0; i < c->nlist; i++) {
            if (i)
                strbuf_puts(b, ", ");
            print_value(b, &c->list[i]);
        }
        strbuf_puts(b, "]");
        return;
    case C_INREF:
        strbuf_printf(b, "%s %sin %s", c->ident, c->not_in ? "not " : "", c->ref);
        return;
    case C_NOT:
        strbuf_puts(b, "not ");
        print_cond(b, c->kids[0], C_NOT);
        return;
    case C_AND:
    case C_OR: {
        /* parentheses when a looser operator sits under a tighter one */
        int paren = parent == C_NOT || (c->kind == C_OR && parent == C_AND);
        if (paren)
            strbuf_puts(b, "(");
        for (size_t i = 0; i < c->nkids; i++) {
            if (i)
                strbuf_puts(b, c->kind == C_AND ? " and " : " or ");
            print_cond(b, c->kids[i], c->kind);
        }
        if (paren)
            strbuf_puts(b, ")");
        return;
    }
    }
}

char *cond_to_string(const struct cond *c) {
    struct strbuf b;
    strbuf_init(&b, 0);
    if (c)
        print_cond(&b, c, C_ALL);
    return strbuf_detach(&b, NULL);
}

/* ---- compiler: literals ------------------------------------------------- */

enum ltype { L_LAT, L_NUM, L_STR, L_BOOL, L_STATUS };

/* status_code bits, in the order the collector README lists them */
enum { ST_OK = 1, ST_ERROR = 2, ST_UNSET = 4, ST_ALL = 7 };

struct lit {
    enum ltype t;
    const char *key;        /* attribute key (borrowed from the AST) */
    long long lo, hi;       /* L_LAT: ms, hi may be LAT_INF; L_NUM: inclusive range */
    int invert;             /* L_NUM, L_STR: "no span matches" */
    const char **vals;      /* L_STR: values (array owned, strings borrowed) */
    size_t nvals;
    int bval;               /* L_BOOL */
    unsigned mask;          /* L_STATUS */
};

struct conj {               /* AND of literals; n == 0 means "every trace" */
    struct lit *v;
    size_t n;
};

struct disj {               /* OR of conjunctions; n == 0 means "no trace" */
    struct conj *v;
    size_t n;
};

struct comp {
    const char *where;
    struct diag *d;
    int failed;
};

static void cerr(struct comp *cc, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cerr(struct comp *cc, int col, const char *fmt, ...) {
    if (cc->failed)
        return;
    cc->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (cc->d)
        diag_error(cc->d, cc->where, "column %d: %s", col, msg);
    free(msg);
}

static void lit_done(struct lit *l) { free(l->vals); }

static struct lit lit_copy(const struct lit *l) {
    struct lit c = *l;
    if (l->nvals) {
        c.vals = xmalloc(l->nvals * sizeof(*c.vals));
        memcpy(c.vals, l->vals, l->nvals * sizeof(*c.vals));
    }
    return c;
}

static void conj_done(struct conj *c) {
    for (size_t i = 0; i < c->n; i++)
        lit_done(&c->v[i]);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static void disj_done(struct disj *d) {
    for (size_t i = 0; i < d->n; i++)
        conj_done(&d->v[i]);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

static void conj_push(struct conj *c, struct lit l) {
    c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n++] = l;
}

static void disj_push(struct disj *d, struct conj c) {
    d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
    d->v[d->n++] = c;
}

static struct disj disj_true(void) {
    struct disj d = {0};
    disj_push(&d, (struct conj){0});
    return d;
}

static struct disj disj_lit(struct lit l) {
    struct disj d = {0};
    struct conj c = {0};
    conj_push(&c, l);
    disj_push(&d, c);
    return d;
}

/* a OR b (both consumed) */
static struct disj disj_or(struct disj a, struct disj b) {
    for (size_t i = 0; i < b.n; i++)
        disj_push(&a, b.v[i]);
    free(b.v);
    return a;
}

/* a AND b (both consumed); errors when the expansion grows too large */
static int disj_and(struct comp *cc, int col, struct disj *a, struct disj b) {
    if (a->n * b.n > COND_MAX_TERMS) {
        cerr(cc, col, "the condition expands into more than %d policies; simplify it",
             COND_MAX_TERMS);
        disj_done(&b);
        return -1;
    }
    struct disj r = {0};
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b.n; j++) {
            struct conj c = {0};
            for (size_t k = 0; k < a->v[i].n; k++)
                conj_push(&c, lit_copy(&a->v[i].v[k]));
            for (size_t k = 0; k < b.v[j].n; k++)
                conj_push(&c, lit_copy(&b.v[j].v[k]));
            disj_push(&r, c);
        }
    disj_done(a);
    disj_done(&b);
    *a = r;
    return 0;
}

static int is_duration_ident(const char *s) {
    return !strcmp(s, "duration") || !strcmp(s, "latency");
}

static int is_status_ident(const char *s) {
    return !strcmp(s, "status") || !strcmp(s, "status.code");
}

static unsigned status_bit(const struct value *v) {
    if (v->kind != V_STR && v->kind != V_WORD)
        return 0;
    if (!strcasecmp(v->text, "OK"))
        return ST_OK;
    if (!strcasecmp(v->text, "ERROR"))
        return ST_ERROR;
    if (!strcasecmp(v->text, "UNSET"))
        return ST_UNSET;
    return 0;
}

static int is_bool_word(const struct value *v) {
    return v->kind == V_WORD && (!strcasecmp(v->text, "true") || !strcasecmp(v->text, "false"));
}

/* The complement of latency range [lo, hi] (ms): up to two ranges. */
static struct disj lat_complement(long long lo, long long hi) {
    struct disj d = {0};
    if (lo > 0)
        d = disj_lit((struct lit){.t = L_LAT, .lo = 0, .hi = lo - 1});
    if (hi != LAT_INF)
        d = disj_or(d, disj_lit((struct lit){.t = L_LAT, .lo = hi + 1, .hi = LAT_INF}));
    return d;
}

static int cmp_duration(struct comp *cc, const struct cond *c, int neg, struct disj *out) {
    const struct value *v = &c->val;
    long long ms;
    if (v->kind == V_DUR) {
        ms = v->i;
    } else if (v->kind == V_NUM && v->is_int && v->i == 0) {
        ms = 0;
    } else {
        cerr(cc, v->col, "'%s' is compared with a duration such as 500ms or 1s, got '%s'",
             c->ident, v->text);
        return -1;
    }
    /* millisecond precision; `>` includes its bound like the policy's threshold_ms */
    long long lo = 0, hi = LAT_INF;
    switch (c->op) {
    case OP_EQ:
    case OP_NE: lo = ms; hi = ms; break;
    case OP_GT:
    case OP_GE: lo = ms; break;
    case OP_LT: hi = ms - 1; break;
    case OP_LE: hi = ms; break;
    }
    if (c->op == OP_NE)
        neg = !neg;
    if (hi < lo) {  /* duration < 0 */
        *out = neg ? disj_true() : (struct disj){0};
        return 0;
    }
    *out = neg ? lat_complement(lo, hi) : disj_lit((struct lit){.t = L_LAT, .lo = lo, .hi = hi});
    return 0;
}

static int cmp_status(struct comp *cc, const struct cond *c, const struct value *vals,
                      size_t n, int negate, struct disj *out) {
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned b = status_bit(&vals[i]);
        if (!b) {
            cerr(cc, vals[i].col, "'%s' is one of OK, ERROR, UNSET, got '%s'", c->ident,
                 vals[i].text);
            return -1;
        }
        mask |= b;
    }
    if (negate)
        mask = ~mask & ST_ALL;
    *out = mask ? disj_lit((struct lit){.t = L_STATUS, .mask = mask}) : (struct disj){0};
    return 0;
}

static int check_int(struct comp *cc, const struct value *v) {
    if (v->kind == V_NUM && v->is_int)
        return 0;
    if (v->kind == V_NUM && v->big)
        cerr(cc, v->col, "'%s' is out of range (64-bit integers)", v->text);
    else if (v->kind == V_NUM)
        cerr(cc, v->col, "the collector compares numeric attributes as integers "
             "(numeric_attribute); '%s' is not an integer", v->text);
    else
        cerr(cc, v->col, "'%s' is a duration; only 'duration' is compared with durations",
             v->text);
    return -1;
}

static int cmp_attr(struct comp *cc, const struct cond *c, int neg, struct disj *out) {
    const struct value *v = &c->val;
    int ordering = c->op != OP_EQ && c->op != OP_NE;
    if (v->kind == V_STR || v->kind == V_WORD) {
        if (ordering) {
            cerr(cc, v->col, "'%s' compares numbers, but '%s' is a string", op_text[c->op],
                 v->text);
            return -1;
        }
        if (is_bool_word(v)) {
            int b = !strcasecmp(v->text, "true");
            if ((c->op == OP_NE) != !!neg)
                b = !b;
            *out = disj_lit((struct lit){.t = L_BOOL, .key = c->ident, .bval = b});
            return 0;
        }
        struct lit l = {.t = L_STR, .key = c->ident, .invert = (c->op == OP_NE) != !!neg};
        l.vals = xmalloc(sizeof(*l.vals));
        l.vals[0] = v->text;
        l.nvals = 1;
        *out = disj_lit(l);
        return 0;
    }
    if (check_int(cc, v) != 0)
        return -1;
    long long x = v->i, lo = INT64_MIN, hi = INT64_MAX;
    switch (c->op) {
    case OP_EQ:
    case OP_NE: lo = hi = x; break;
    case OP_GT:
        if (x == INT64_MAX)
            goto empty;
        lo = x + 1;
        break;
    case OP_GE: lo = x; break;
    case OP_LT:
        if (x == INT64_MIN)
            goto empty;
        hi = x - 1;
        break;
    case OP_LE: hi = x; break;
    }
    *out = disj_lit((struct lit){.t = L_NUM, .key = c->ident, .lo = lo, .hi = hi,
                                 .invert = (c->op == OP_NE) != !!neg});
    return 0;
empty:
    *out = neg ? disj_true() : (struct disj){0};
    return 0;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* x [not] in [numbers]: runs of consecutive integers become one range; the
 * ranges are ORed (in) or their inversions ANDed (not in). */
static int in_numbers(struct comp *cc, const struct cond *c, int invert, struct disj *out) {
    long long *xs = xmalloc(c->nlist * sizeof(*xs));
    for (size_t i = 0; i < c->nlist; i++)
        xs[i] = c->list[i].i;
    qsort(xs, c->nlist, sizeof(*xs), cmp_ll);
    struct disj d = {0};
    struct conj all = {0};
    size_t i = 0, ranges = 0;
    while (i < c->nlist) {
        size_t j = i;
        while (j + 1 < c->nlist && (xs[j + 1] == xs[j] || xs[j + 1] == xs[j] + 1))
            j++;
        struct lit l = {.t = L_NUM, .key = c->ident, .lo = xs[i], .hi = xs[j], .invert = invert};
        if (invert) {
            conj_push(&all, l);
        } else {
            struct conj one = {0};
            conj_push(&one, l);
            disj_push(&d, one);
        }
        ranges++;
        i = j + 1;
    }
    free(xs);
    if (!invert && ranges > COND_MAX_TERMS) {
        disj_done(&d);
        cerr(cc, c->col, "the list expands into more than %d policies; use a range "
             "such as %s >= 500 and %s < 600", COND_MAX_TERMS, c->ident, c->ident);
        return -1;
    }
    if (invert)
        disj_push(&d, all);
    *out = d;
    return 0;
}

static int in_list(struct comp *cc, const struct cond *c, int neg, struct disj *out) {
    int invert = c->not_in != !!neg;
    if (is_duration_ident(c->ident)) {
        cerr(cc, c->col, "'in' does not apply to '%s'; compare it with <, <=, >, >=",
             c->ident);
        return -1;
    }
    if (is_status_ident(c->ident))
        return cmp_status(cc, c, c->list, c->nlist, invert, out);
    size_t nums = 0;
    for (size_t i = 0; i < c->nlist; i++) {
        const struct value *v = &c->list[i];
        if (v->kind == V_DUR || v->kind == V_NUM) {
            if (check_int(cc, v) != 0)
                return -1;
            nums++;
        }
    }
    if (nums && nums != c->nlist) {
        cerr(cc, c->list[0].col, "the list mixes numbers and strings; quote the numbers "
             "to compare strings");
        return -1;
    }
    if (nums)
        return in_numbers(cc, c, invert, out);
    struct lit l = {.t = L_STR, .key = c->ident, .invert = invert};
    l.vals = xmalloc(c->nlist * sizeof(*l.vals));
    for (size_t i = 0; i < c->nlist; i++) {
        size_t k = 0;
        while (k < l.nvals && strcmp(l.vals[k], c->list[i].text))
            k++;
        if (k == l.nvals)
            l.vals[l.nvals++] = c->list[i].text;
    }
    *out = disj_lit(l);
    return 0;
}

static int to_dnf(struct comp *cc, const struct cond *c, int neg, struct disj *out);

/* AND (conjunctive) or OR of the children, each possibly negated. */
static int combine(struct comp *cc, const struct cond *c, int conjunctive, int neg,
                   struct disj *out) {
    struct disj acc = conjunctive ? disj_true() : (struct disj){0};
    for (size_t i = 0; i < c->nkids; i++) {
        struct disj k;
        if (to_dnf(cc, c->kids[i], neg, &k) != 0) {
            disj_done(&acc);
            return -1;
        }
        if (!conjunctive) {
            acc = disj_or(acc, k);
            if (acc.n > COND_MAX_TERMS) {
                disj_done(&acc);
                cerr(cc, c->col, "the condition expands into more than %d policies; "
                     "simplify it", COND_MAX_TERMS);
                return -1;
            }
        } else if (disj_and(cc, c->kids[i]->col, &acc, k) != 0) {
            disj_done(&acc);
            return -1;
        }
    }
    *out = acc;
    return 0;
}

/* The condition (negated when neg) as an OR of ANDs of literals. */
static int to_dnf(struct comp *cc, const struct cond *c, int neg, struct disj *out) {
    switch (c->kind) {
    case C_ALL:
        *out = neg ? (struct disj){0} : disj_true();
        return 0;
    case C_NOT:
        return to_dnf(cc, c->kids[0], !neg, out);
    case C_AND:
        return combine(cc, c, !neg, neg, out);     /* De Morgan when negated */
    case C_OR:
        return combine(cc, c, neg, neg, out);
    case C_CMP:
        if (is_duration_ident(c->ident))
            return cmp_duration(cc, c, neg, out);
        if (is_status_ident(c->ident)) {
            if (c->op != OP_EQ && c->op != OP_NE) {
                cerr(cc, c->col, "'%s' is compared with == or != (values OK, ERROR, UNSET)",
                     c->ident);
                return -1;
            }
            return cmp_status(cc, c, &c->val, 1, (c->op == OP_NE) != !!neg, out);
        }
        return cmp_attr(cc, c, neg, out);
    case C_IN:
        return in_list(cc, c, neg, out);
    case C_INREF:
        cerr(cc, c->ref_col, "list '%s' is not defined; write the values inline: "
             "%s %sin ['value1', 'value2']", c->ref, c->ident, c->not_in ? "not " : "");
        return -1;
    }
    return -1;
}

/* ---- compiler: simplification ------------------------------------------- */

static int has_val(const struct lit *l, const char *s) {
    for (size_t i = 0; i < l->nvals; i++)
        if (!strcmp(l->vals[i], s))
            return 1;
    return 0;
}

/* Merges b into a when both constrain the same thing. Returns 1 when merged
 * (b is then dropped), 0 when not mergeable, -1 when the pair cannot hold. */
static int lit_merge(struct lit *a, const struct lit *b) {
    if (a->t != b->t)
        return 0;
    if (a->t != L_LAT && a->t != L_STATUS && strcmp(a->key, b->key))
        return 0;
    switch (a->t) {
    case L_LAT:
        a->lo = a->lo > b->lo ? a->lo : b->lo;
        a->hi = a->hi < b->hi ? a->hi : b->hi;
        return a->lo <= a->hi ? 1 : -1;
    case L_STATUS:
        a->mask &= b->mask;
        return a->mask ? 1 : -1;
    case L_BOOL:
        return a->bval == b->bval ? 1 : -1;
    case L_NUM:
        if (a->invert != b->invert)
            return 0;
        if (a->invert)
            return a->lo == b->lo && a->hi == b->hi;
        a->lo = a->lo > b->lo ? a->lo : b->lo;
        a->hi = a->hi < b->hi ? a->hi : b->hi;
        return a->lo <= a->hi ? 1 : -1;
    case L_STR:
        if (a->invert != b->invert)
            return 0;
        if (a->invert) {    /* not in A and not in B = not in A+B */
            for (size_t i = 0; i < b->nvals; i++)
                if (!has_val(a, b->vals[i])) {
                    a->vals = xrealloc(a->vals, (a->nvals + 1) * sizeof(*a->vals));
                    a->vals[a->nvals++] = b->vals[i];
                }
            return 1;
        }
        size_t k = 0;       /* in A and in B = in A*B */
        for (size_t i = 0; i < a->nvals; i++)
            if (has_val(b, a->vals[i]))
                a->vals[k++] = a->vals[i];
        a->nvals = k;
        return k ? 1 : -1;
    }
    return 0;
}

/* Simplifies one AND in place. Returns 0 when it can never hold. */
static int conj_simplify(struct conj *c) {
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = i + 1; j < c->n;) {
            int r = lit_merge(&c->v[i], &c->v[j]);
            if (r < 0)
                return 0;
            if (r == 0) {
                j++;
                continue;
            }
            lit_done(&c->v[j]);
            memmove(&c->v[j], &c->v[j + 1], (c->n - j - 1) * sizeof(*c->v));
            c->n--;
        }
    }
    /* latency [0, inf) holds for every trace */
    for (size_t i = 0; i < c->n;) {
        if (c->v[i].t == L_LAT && c->v[i].lo == 0 && c->v[i].hi == LAT_INF) {
            memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(*c->v));
            c->n--;
            continue;
        }
        if (c->v[i].t == L_LAT && c->v[i].hi == 0)
            return 0;   /* the latency policy cannot select zero-length traces */
        i++;
    }
    return 1;
}

/* Drops the ANDs that cannot hold; an AND that always holds absorbs the rest. */
static void disj_simplify(struct disj *d) {
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (!conj_simplify(&d->v[i])) {
            conj_done(&d->v[i]);
            continue;
        }
        d->v[k++] = d->v[i];
    }
    d->n = k;
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].n == 0) {
            struct disj t = disj_true();
            disj_done(d);
            *d = t;
            return;
        }
    }
}

/* ---- compiler: policies ------------------------------------------------- */

static const char *lit_type(const struct lit *l) {
    switch (l->t) {
    case L_LAT: return "latency";
    case L_NUM: return "numeric_attribute";
    case L_STR: return "string_attribute";
    case L_BOOL: return "boolean_attribute";
    case L_STATUS: return "status_code";
    }
    return "?";
}

static json_t *lit_block(const struct lit *l) {
    json_t *o = json_object();
    switch (l->t) {
    case L_LAT:
        if (l->hi == LAT_INF) {
            json_object_set_new(o, "threshold_ms", json_integer(l->lo));
        } else {
            /* with an upper bound the policy is threshold_ms < d <= upper_threshold_ms */
            json_object_set_new(o, "threshold_ms", json_integer(l->lo > 0 ? l->lo - 1 : 0));
            json_object_set_new(o, "upper_threshold_ms", json_integer(l->hi));
        }
        break;
    case L_NUM:
        json_object_set_new(o, "key", json_string(l->key));
        json_object_set_new(o, "min_value", json_integer(l->lo));
        json_object_set_new(o, "max_value", json_integer(l->hi));
        if (l->invert)
            json_object_set_new(o, "invert_match", json_true());
        break;
    case L_STR: {
        json_object_set_new(o, "key", json_string(l->key));
        json_t *vals = json_array();
        for (size_t i = 0; i < l->nvals; i++)
            json_array_append_new(vals, json_string(l->vals[i]));
        json_object_set_new(o, "values", vals);
        if (l->invert)
            json_object_set_new(o, "invert_match", json_true());
        break;
    }
    case L_BOOL:
        json_object_set_new(o, "key", json_string(l->key));
        json_object_set_new(o, "value", json_boolean(l->bval));
        break;
    case L_STATUS: {
        json_t *codes = json_array();
        if (l->mask & ST_OK)
            json_array_append_new(codes, json_string("OK"));
        if (l->mask & ST_ERROR)
            json_array_append_new(codes, json_string("ERROR"));
        if (l->mask & ST_UNSET)
            json_array_append_new(codes, json_string("UNSET"));
        json_object_set_new(o, "status_codes", codes);
        break;
    }
    }
    return o;
}

static json_t *policy(const char *name, const char *type, json_t *block) {
    json_t *p = json_pack("{s:s, s:s}", "name", name, "type", type);
    if (block)
        json_object_set_new(p, type, block);
    return p;
}

/* sampling_percentage for rate: an integer when whole (50), else 12.5 */
static json_t *percentage(double rate) {
    double pct = round(rate * 100.0 * 1e6) / 1e6;
    if (pct == floor(pct))
        return json_integer((json_int_t)pct);
    return json_real(pct);
}

static json_t *probabilistic(const char *name, double rate) {
    return policy(name, "probabilistic",
                  json_pack("{s:o}", "sampling_percentage", percentage(rate)));
}

static json_t *conj_policy(const struct conj *c, const char *pname, double rate) {
    if (c->n == 0)
        return rate >= 1.0 ? policy(pname, "always_sample", NULL) : probabilistic(pname, rate);
    if (c->n == 1 && rate >= 1.0 && !c->v[0].invert)
        return policy(pname, lit_type(&c->v[0]), lit_block(&c->v[0]));
    json_t *subs = json_array();
    for (size_t i = 0; i < c->n; i++) {
        const char *type = lit_type(&c->v[i]);
        size_t same = 1;
        for (size_t j = 0; j < i; j++)
            same += !strcmp(lit_type(&c->v[j]), type);
        char *sub = same > 1 ? xasprintf("%s-%s-%zu", pname, type, same)
                             : xasprintf("%s-%s", pname, type);
        json_array_append_new(subs, policy(sub, type, lit_block(&c->v[i])));
        free(sub);
    }
    if (rate < 1.0) {
        char *sub = xasprintf("%s-probabilistic", pname);
        json_array_append_new(subs, probabilistic(sub, rate));
        free(sub);
    }
    return policy(pname, "and", json_pack("{s:o}", "and_sub_policy", subs));
}

int cond_to_policies(const struct cond *c, const char *name, double rate, json_t *policies,
                     const char *where, struct diag *d) {
    struct comp cc = {.where = where, .d = d};
    if (!c || !json_is_array(policies)) {
        if (d)
            diag_error(d, where, "no condition to compile");
        return OP_EINVALID;
    }
    if (!(rate >= 0.0 && rate <= 1.0)) {    /* also rejects NaN */
        if (d)
            diag_error(d, where, "rate must be within [0, 1], got %g", rate);
        return OP_EINVALID;
    }
    if (!name || !*name)
        name = "policy";
    struct disj dn;
    if (to_dnf(&cc, c, 0, &dn) != 0)
        return OP_EINVALID;
    disj_simplify(&dn);
    if (dn.n == 0) {
        disj_done(&dn);
        cerr(&cc, c->col, "the condition can never match a trace");
        return OP_EINVALID;
    }
    for (size_t i = 0; i < dn.n; i++) {
        char *pname = dn.n > 1 ? xasprintf("%s-%zu", name, i + 1) : xstrdup(name);
        json_array_append_new(policies, conj_policy(&dn.v[i], pname, rate));
        free(pname);
    }
    disj_done(&dn);
    return 0;
}
