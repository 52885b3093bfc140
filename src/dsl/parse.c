/* parse.c - recursive-descent parser of the tracing DSL (see ast.h for the grammar).
 *
 * Recursion is bounded by DSL_MAX_DEPTH; deeper input is reported and skipped
 * iteratively. After an error the parser resynchronises on the next member
 * (a key at the start of a line followed by ':'), the closing brace, or the
 * next block (`kind "name" {`), so one run reports many errors. */
#include "dsl/ast.h"
#include "base/err.h"
#include "base/xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    struct dsl_lexer lx;
    struct dsl_token la[3];     /* lookahead */
    int nla;
    struct dsl_token prev;      /* last consumed token */
    struct dsl_arena *arena;
    struct diag *d;
    size_t errors;              /* parser errors (the lexer counts its own) */
    int stop;                   /* too many errors */
    int unwind;                 /* a new block started inside an unclosed one */
    struct dsl_pos suspect_open; /* a '{' whose '}' is not aligned with its line */
    int have_suspect;
};

/* ---- tokens ---- */

static const struct dsl_token *peek(struct parser *p, int k) {
    while (p->nla <= k)
        p->la[p->nla++] = dsl_lex_next(&p->lx);
    return &p->la[k];
}

static struct dsl_token next(struct parser *p) {
    peek(p, 0);
    struct dsl_token t = p->la[0];
    memmove(&p->la[0], &p->la[1], (size_t)(p->nla - 1) * sizeof(p->la[0]));
    p->nla--;
    p->prev = t;
    return t;
}

static size_t total_errors(const struct parser *p) { return p->errors + p->lx.errors; }

static void perr(struct parser *p, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, struct dsl_pos pos, const char *fmt, ...) {
    if (p->stop)
        return;
    char where[512], msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dsl_where(where, sizeof(where), p->lx.file_name, pos);
    p->errors++;
    diag_add_text(p->d, DIAG_ERROR, where, msg);
}

static int check_stop(struct parser *p) {
    if (!p->stop && total_errors(p) >= DSL_MAX_ERRORS) {
        struct dsl_pos pos = peek(p, 0)->pos;
        perr(p, pos, "too many errors (%d), stopping", DSL_MAX_ERRORS);
        p->stop = 1;
    }
    return p->stop;
}

/* A short rendering of a token for messages: '}' or word 'foo' or string "x". */
static void tok_desc(const struct dsl_token *t, char *out, size_t n) {
    int len = t->len > 40 ? 40 : (int)t->len;
    const char *ell = t->len > 40 ? "..." : "";
    switch (t->type) {
    case TK_IDENT: snprintf(out, n, "word '%.*s%s'", len, t->text, ell); break;
    case TK_STRING: snprintf(out, n, "string \"%.*s%s\"", len, t->text, ell); break;
    case TK_NUMBER:
    case TK_QUANTITY: snprintf(out, n, "'%.*s%s'", len, t->text, ell); break;
    default: snprintf(out, n, "%s", dsl_tok_name(t->type)); break;
    }
}

/* `kind "name" {` ahead: the start of a block. */
static int at_block_start(struct parser *p) {
    const struct dsl_token *a = peek(p, 0);
    if (a->type != TK_IDENT)
        return 0;
    const struct dsl_token *b = peek(p, 1);
    if (b->type != TK_STRING)
        return 0;
    return peek(p, 2)->type == TK_LBRACE;
}

/* Skips a balanced group whose opening token was just consumed, without recursion. */
static void skip_balanced(struct parser *p) {
    size_t depth = 1;
    while (depth > 0) {
        const struct dsl_token *t = peek(p, 0);
        if (t->type == TK_EOF)
            return;
        if (t->type == TK_LBRACE || t->type == TK_LBRACK)
            depth++;
        else if (t->type == TK_RBRACE || t->type == TK_RBRACK)
            depth--;
        next(p);
    }
}

/* After an error inside an object: skip to the next member (a key at the start
 * of a later line followed by ':'), the object's '}' (not consumed), or a block. */
static void sync_member(struct parser *p, uint32_t err_line) {
    size_t depth = 0;
    while (!p->stop) {
        const struct dsl_token *t = peek(p, 0);
        if (t->type == TK_EOF)
            return;
        if (depth == 0) {
            if (t->type == TK_RBRACE || t->type == TK_RBRACK)
                return;
            if (t->pos.line > err_line && (t->type == TK_IDENT || t->type == TK_STRING) &&
                peek(p, 1)->type == TK_COLON)
                return;
            if (t->pos.line > err_line && at_block_start(p))
                return;
        }
        if (t->type == TK_LBRACE || t->type == TK_LBRACK)
            depth++;
        else if ((t->type == TK_RBRACE || t->type == TK_RBRACK) && depth > 0)
            depth--;
        next(p);
    }
}

/* ---- values ---- */

static struct dsl_value *new_value(struct parser *p, enum dsl_type type, struct dsl_pos pos) {
    struct dsl_value *v = dsl_arena_alloc(p->arena, sizeof(*v));
    v->type = type;
    v->pos = pos;
    return v;
}

static struct dsl_value *parse_value(struct parser *p, int depth);
static struct dsl_value *parse_scalar_value(struct parser *p, const struct dsl_token *t);

/* Indentation (in columns) of the line holding byte offset off. */
static uint32_t line_indent(const struct parser *p, size_t off) {
    size_t s = off;
    while (s > 0 && p->lx.src[s - 1] != '\n' && p->lx.src[s - 1] != '\r')
        s--;
    uint32_t n = 0;
    while (s + n < p->lx.len && (p->lx.src[s + n] == ' ' || p->lx.src[s + n] == '\t'))
        n++;
    return n + 1;
}

/* Remembers the first '{' closed by a '}' that is not aligned with the line of
 * the '{' (a hint for "never closed" errors). */
static void note_alignment(struct parser *p, const struct dsl_token *open,
                           const struct dsl_token *close) {
    if (p->have_suspect || open->pos.line == close->pos.line)
        return;
    if (line_indent(p, close->off) == close->pos.col &&
        line_indent(p, open->off) > close->pos.col) {
        p->suspect_open = open->pos;
        p->have_suspect = 1;
    }
}

static void report_unclosed(struct parser *p, const struct dsl_token *open, const char *what) {
    if (p->have_suspect && p->suspect_open.line != open->pos.line)
        perr(p, open->pos,
             "missing '}': the '{' of %s is never closed "
             "(perhaps the '{' at line %u lacks its '}')",
             what, p->suspect_open.line);
    else
        perr(p, open->pos, "missing '}': the '{' of %s is never closed", what);
}

struct member_vec {
    struct dsl_member *v;
    size_t n, cap;
};

static void mv_push(struct member_vec *mv, struct dsl_member m) {
    if (mv->n == mv->cap) {
        mv->cap = mv->cap ? mv->cap * 2 : 8;
        mv->v = xrealloc(mv->v, mv->cap * sizeof(*mv->v));
    }
    mv->v[mv->n++] = m;
}

static int cmp_member_idx(const void *a, const void *b, void *arg) {
    const struct dsl_member *base = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp(base[ia].key, base[ib].key);
    if (c)
        return c;
    return ia < ib ? -1 : ia > ib;
}

/* Reports every key that appears a second time, in source order. */
static void check_duplicates(struct parser *p, const struct dsl_member *m, size_t n) {
    if (n < 2)
        return;
    size_t *idx = xmalloc(n * sizeof(*idx));
    size_t *first = xmalloc(n * sizeof(*first));
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        first[i] = (size_t)-1;
    }
    qsort_r(idx, n, sizeof(*idx), cmp_member_idx, (void *)m);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(m[idx[i]].key, m[idx[i - 1]].key))
            first[idx[i]] = first[idx[i - 1]] != (size_t)-1 ? first[idx[i - 1]] : idx[i - 1];
    for (size_t i = 0; i < n; i++)
        if (first[i] != (size_t)-1)
            perr(p, m[i].kpos, "duplicate key '%s' (first set at line %u)", m[i].key,
                 m[first[i]].kpos.line);
    free(idx);
    free(first);
}

/* Is the next token a value that is missing? (`key:` followed by '}' or by
 * another `key:` on a later line). */
static int value_missing(struct parser *p, const struct dsl_token *colon) {
    const struct dsl_token *t = peek(p, 0);
    switch (t->type) {
    case TK_RBRACE: case TK_RBRACK: case TK_COMMA: case TK_SEMI: case TK_EOF: case TK_COLON:
        return 1;
    case TK_IDENT:
    case TK_STRING:
        return t->pos.line > colon->pos.line && peek(p, 1)->type == TK_COLON;
    default:
        return 0;
    }
}

/* Members up to the closing '}' (the '{' was consumed). */
static struct dsl_value *parse_object(struct parser *p, const struct dsl_token *open, int depth,
                                      const char *what) {
    struct dsl_value *obj = new_value(p, DSL_OBJECT, open->pos);
    struct member_vec mv = {0};
    while (!check_stop(p)) {
        const struct dsl_token *t = peek(p, 0);
        if (t->type == TK_RBRACE) {
            struct dsl_token close = next(p);
            note_alignment(p, open, &close);
            break;
        }
        if (t->type == TK_EOF) {
            report_unclosed(p, open, what);
            break;
        }
        if (at_block_start(p)) {
            if (p->have_suspect && p->suspect_open.line != open->pos.line)
                perr(p, open->pos, "missing '}': the '{' of %s is not closed before the block "
                     "'%s' at line %u (perhaps the '{' at line %u lacks its '}')", what, t->text,
                     t->pos.line, p->suspect_open.line);
            else
                perr(p, open->pos, "missing '}': the '{' of %s is not closed before the block "
                     "'%s' at line %u", what, t->text, t->pos.line);
            p->unwind = 1;
            break;
        }
        if (t->type == TK_COMMA || t->type == TK_SEMI) {
            next(p);
            continue;
        }
        if (t->type != TK_IDENT && t->type != TK_STRING) {
            char desc[80];
            tok_desc(t, desc, sizeof(desc));
            perr(p, t->pos, "expected a key or '}', found %s", desc);
            uint32_t line = t->pos.line;
            if (t->type == TK_RBRACK || t->type == TK_ERROR)
                next(p);
            sync_member(p, line);
            continue;
        }
        struct dsl_token key = next(p);
        if (key.type == TK_STRING && key.len == 0)
            perr(p, key.pos, "empty key");
        const struct dsl_token *sep = peek(p, 0);
        if (sep->type == TK_COLON || sep->type == TK_EQUALS) {
            next(p);
        } else if (sep->type != TK_LBRACE) {
            char desc[80];
            tok_desc(sep, desc, sizeof(desc));
            perr(p, sep->pos, "expected ':' after key '%s', found %s", key.text, desc);
            sync_member(p, key.pos.line);
            continue;
        }
        if (value_missing(p, &p->prev)) {
            perr(p, p->prev.pos, "missing value for key '%s'", key.text);
            if (peek(p, 0)->type == TK_COLON)
                sync_member(p, key.pos.line);
            continue;
        }
        uint32_t vline = peek(p, 0)->pos.line;
        struct dsl_value *v = parse_value(p, depth);
        if (p->unwind)
            break;
        if (!v) {
            sync_member(p, vline);
            continue;
        }
        struct dsl_member m = {key.text, key.pos, v};
        mv_push(&mv, m);
    }
    check_duplicates(p, mv.v, mv.n);
    obj->n = mv.n;
    if (mv.n) {
        obj->members = dsl_arena_alloc(p->arena, mv.n * sizeof(*mv.v));
        memcpy(obj->members, mv.v, mv.n * sizeof(*mv.v));
    }
    free(mv.v);
    return obj;
}

/* Items up to the closing ']' (the '[' was consumed). */
static struct dsl_value *parse_array(struct parser *p, const struct dsl_token *open, int depth) {
    struct dsl_value *arr = new_value(p, DSL_ARRAY, open->pos);
    struct dsl_value **items = NULL;
    size_t n = 0, cap = 0;
    while (!check_stop(p)) {
        const struct dsl_token *t = peek(p, 0);
        if (t->type == TK_RBRACK) {
            next(p);
            break;
        }
        if (t->type == TK_EOF || t->type == TK_RBRACE) {
            perr(p, open->pos, "missing ']': the '[' here is never closed");
            break;
        }
        if (at_block_start(p)) {
            perr(p, open->pos, "missing ']': the '[' here is not closed before the block '%s' "
                 "at line %u", t->text, t->pos.line);
            p->unwind = 1;
            break;
        }
        if (t->type == TK_COMMA) {
            next(p);
            continue;
        }
        struct dsl_value *v = parse_value(p, depth);
        if (p->unwind)
            break;
        if (!v)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            items = xrealloc(items, cap * sizeof(*items));
        }
        items[n++] = v;
    }
    arr->n = n;
    if (n) {
        arr->items = dsl_arena_alloc(p->arena, n * sizeof(*items));
        memcpy(arr->items, items, n * sizeof(*items));
    }
    free(items);
    return arr;
}

static struct dsl_value *parse_scalar(struct parser *p, const struct dsl_token *t) {
    struct dsl_value *v = parse_scalar_value(p, t);
    if (v)
        v->raw_len = t->end - t->off;
    return v;
}

static struct dsl_value *parse_scalar_value(struct parser *p, const struct dsl_token *t) {
    struct dsl_value *v;
    switch (t->type) {
    case TK_STRING:
    case TK_ENVREF:
    case TK_QUANTITY:
        v = new_value(p, t->type == TK_STRING ? DSL_STRING
                         : t->type == TK_ENVREF ? DSL_ENVREF : DSL_QUANTITY, t->pos);
        v->text = t->text;
        v->len = t->len;
        return v;
    case TK_NUMBER:
        v = new_value(p, DSL_NUMBER, t->pos);
        v->text = t->text;
        v->len = t->len;
        v->num = strtod(t->text, NULL);
        v->is_int = !strpbrk(t->text, ".eE");
        if (!isfinite(v->num)) {
            perr(p, t->pos, "number '%s' is out of range", t->text);
            return NULL;
        }
        return v;
    case TK_IDENT:
        if (!strcmp(t->text, "true") || !strcmp(t->text, "false")) {
            v = new_value(p, DSL_BOOL, t->pos);
            v->b = t->text[0] == 't';
        } else if (!strcmp(t->text, "null")) {
            v = new_value(p, DSL_NULL, t->pos);
        } else {
            v = new_value(p, DSL_WORD, t->pos);
        }
        v->text = t->text;
        v->len = t->len;
        return v;
    default:
        return NULL;
    }
}

static struct dsl_value *parse_value(struct parser *p, int depth) {
    struct dsl_token t = next(p);
    if (t.type == TK_LBRACE || t.type == TK_LBRACK) {
        if (depth + 1 > DSL_MAX_DEPTH) {
            perr(p, t.pos, "nesting deeper than %d levels", DSL_MAX_DEPTH);
            skip_balanced(p);
            return NULL;
        }
        return t.type == TK_LBRACE ? parse_object(p, &t, depth + 1, "this object")
                                   : parse_array(p, &t, depth + 1);
    }
    struct dsl_value *v = parse_scalar(p, &t);
    if (v || t.type == TK_NUMBER)
        return v;
    if (t.type != TK_ERROR) { /* the lexer already reported an invalid character */
        char desc[80];
        tok_desc(&t, desc, sizeof(desc));
        perr(p, t.pos, "expected a value, found %s", desc);
    }
    return NULL;
}

/* ---- blocks ---- */

/* Skips to the next `kind "name" {` (or a word at column 1). */
static void sync_block(struct parser *p) {
    while (!p->stop) {
        const struct dsl_token *t = peek(p, 0);
        if (t->type == TK_EOF || at_block_start(p))
            return;
        if (t->type == TK_IDENT && t->pos.col == 1 && p->prev.pos.line < t->pos.line &&
            (peek(p, 1)->type == TK_LBRACE || peek(p, 1)->type == TK_STRING))
            return;
        next(p);
    }
}

struct block_vec {
    struct dsl_block *v;
    size_t n, cap;
};

static void parse_block(struct parser *p, struct block_vec *bv) {
    struct dsl_token kind = next(p);
    struct dsl_block b;
    memset(&b, 0, sizeof(b));
    b.kind = kind.text;
    b.pos = kind.pos;
    b.name = "";
    b.name_pos = kind.pos;
    const struct dsl_token *t = peek(p, 0);
    if (t->type == TK_STRING || t->type == TK_IDENT) {
        struct dsl_token name = next(p);
        b.name = name.text;
        b.name_pos = name.pos;
        if (name.len == 0)
            perr(p, name.pos, "the name of block '%s' is empty", kind.text);
    } else if (t->type == TK_ENVREF) {
        perr(p, t->pos, "the name of block '%s' cannot be a ${...} reference", kind.text);
        next(p);
    } else if (t->type == TK_COLON) {
        perr(p, kind.pos, "'%s: ...' outside a block; a file holds blocks `kind \"name\" { ... }`",
             kind.text);
        next(p);
        sync_block(p);
        return;
    } else {
        perr(p, t->pos, "block '%s' needs a name: %s \"name\" { ... }", kind.text, kind.text);
    }
    t = peek(p, 0);
    if (t->type != TK_LBRACE) {
        char desc[80];
        tok_desc(t, desc, sizeof(desc));
        perr(p, t->pos, "expected '{' to open block %s \"%s\", found %s", b.kind, b.name, desc);
        sync_block(p);
        return;
    }
    struct dsl_token open = next(p);
    char what[200];
    snprintf(what, sizeof(what), "block %s \"%.100s\"", b.kind, b.name);
    b.body = parse_object(p, &open, 1, what);
    p->unwind = 0;
    if (bv->n == bv->cap) {
        bv->cap = bv->cap ? bv->cap * 2 : 8;
        bv->v = xrealloc(bv->v, bv->cap * sizeof(*bv->v));
    }
    bv->v[bv->n++] = b;
}

int dsl_parse(const char *text, size_t len, const char *file_name, uint32_t file_index,
              struct dsl_file *out, struct diag *d) {
    memset(out, 0, sizeof(*out));
    out->arena = dsl_arena_new();
    if (len > DSL_MAX_INPUT) {
        diag_error(d, file_name ? file_name : "<input>",
                   "input is %zu bytes; the limit is %u bytes", len, DSL_MAX_INPUT);
        return OP_ETOOBIG;
    }
    struct parser p;
    memset(&p, 0, sizeof(p));
    p.arena = out->arena;
    p.d = d;
    dsl_lex_init(&p.lx, text ? text : "", text ? len : 0, file_name, file_index, out->arena, d);
    struct block_vec bv = {0};
    while (!check_stop(&p)) {
        const struct dsl_token *t = peek(&p, 0);
        if (t->type == TK_EOF)
            break;
        if (t->type == TK_IDENT) {
            parse_block(&p, &bv);
            continue;
        }
        if (t->type != TK_ERROR) {
            char desc[80];
            tok_desc(t, desc, sizeof(desc));
            perr(&p, t->pos, "expected a block (kind \"name\" { ... }), found %s", desc);
        }
        next(&p);
        sync_block(&p);
    }
    out->n = bv.n;
    if (bv.n) {
        out->blocks = dsl_arena_alloc(out->arena, bv.n * sizeof(*bv.v));
        memcpy(out->blocks, bv.v, bv.n * sizeof(*bv.v));
    }
    free(bv.v);
    return total_errors(&p) ? OP_EPARSE : 0;
}

void dsl_file_free(struct dsl_file *f) {
    if (!f)
        return;
    dsl_arena_free(f->arena);
    memset(f, 0, sizeof(*f));
}

const struct dsl_member *dsl_member(const struct dsl_value *obj, const char *key) {
    if (!obj || obj->type != DSL_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->members[i].key, key))
            return &obj->members[i];
    return NULL;
}

const struct dsl_value *dsl_get(const struct dsl_value *obj, const char *key) {
    const struct dsl_member *m = dsl_member(obj, key);
    return m ? m->val : NULL;
}

const char *dsl_type_name(enum dsl_type t) {
    switch (t) {
    case DSL_NULL: return "null";
    case DSL_BOOL: return "boolean";
    case DSL_NUMBER: return "number";
    case DSL_STRING: return "string";
    case DSL_WORD: return "word";
    case DSL_QUANTITY: return "quantity";
    case DSL_ENVREF: return "${...} reference";
    case DSL_OBJECT: return "object";
    case DSL_ARRAY: return "array";
    }
    return "value";
}
