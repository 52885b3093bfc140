/* ast.h - the tracing DSL's syntax tree, lexer and parser (pure; no I/O).
 *
 * A DSL file is a list of blocks `kind "name" { key: value ... }`. Values are
 * strings, numbers, booleans, null, bare words (`warning`), quantities (a number
 * with a unit written without quotes: `10GB`, `5m`, `80%`), `${ENV}` references
 * (kept as references, never resolved), objects `{ ... }` and arrays `[ ... ]`
 * (commas optional). Comments are `#`, `//` and C-style block comments.
 *
 * Every node remembers where it was written (file index, line, column; columns
 * count Unicode code points from 1). All nodes and strings live in one arena
 * owned by struct dsl_file, freed at once by dsl_file_free(). */
#ifndef OP_DSL_AST_H
#define OP_DSL_AST_H
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

#define DSL_MAX_DEPTH 64                       /* nesting of { } and [ ], blocks included */
#define DSL_MAX_INPUT (16u * 1024 * 1024)      /* bytes per file */
#define DSL_MAX_ERRORS 100                     /* the parser stops after this many errors */

struct dsl_pos {
    uint32_t file;   /* index into the caller's source list */
    uint32_t line;   /* 1-based */
    uint32_t col;    /* 1-based, in code points */
};

enum dsl_type {
    DSL_NULL,
    DSL_BOOL,
    DSL_NUMBER,    /* num; text is the literal as written */
    DSL_STRING,    /* quoted text, escapes decoded */
    DSL_WORD,      /* bare word: identifiers such as warning (not true/false/null) */
    DSL_QUANTITY,  /* unquoted number with a unit: 10GB, 5m, 80%, 1.0.0 */
    DSL_ENVREF,    /* a string holding one or more ${NAME} references; text is raw */
    DSL_OBJECT,
    DSL_ARRAY,
};

struct dsl_value;

struct dsl_member {
    const char *key;
    struct dsl_pos kpos;
    struct dsl_value *val;
};

struct dsl_value {
    enum dsl_type type;
    struct dsl_pos pos;
    int b;                      /* DSL_BOOL */
    double num;                 /* DSL_NUMBER */
    int is_int;                 /* DSL_NUMBER written without '.', 'e' */
    const char *text;           /* NUMBER, STRING, WORD, QUANTITY, ENVREF (NUL-terminated) */
    size_t len;                 /* length of text */
    size_t raw_len;             /* bytes the value takes in the source (quotes included) */
    struct dsl_member *members; /* DSL_OBJECT */
    struct dsl_value **items;   /* DSL_ARRAY */
    size_t n;                   /* number of members or items */
};

struct dsl_block {
    const char *kind;           /* tracing_model, trace_store, ... (not checked by the parser) */
    const char *name;           /* "" when missing (an error was reported) */
    struct dsl_pos pos;         /* of the kind word */
    struct dsl_pos name_pos;
    struct dsl_value *body;     /* DSL_OBJECT, never NULL */
};

struct dsl_arena;

struct dsl_file {
    struct dsl_block *blocks;
    size_t n;
    struct dsl_arena *arena;
};

/* Parses one source text. Errors and warnings go to d with `where` =
 * "name:line:col" (name = file_name). Parsing goes on after an error to report
 * more of them (up to DSL_MAX_ERRORS); blocks that parsed are kept in out even
 * when there were errors. Returns 0, or OP_EPARSE when errors were added,
 * OP_ETOOBIG when len > DSL_MAX_INPUT. out must be released with dsl_file_free(). */
int dsl_parse(const char *text, size_t len, const char *file_name, uint32_t file_index,
              struct dsl_file *out, struct diag *d);
void dsl_file_free(struct dsl_file *f);

/* Member of an object by key, or NULL (also NULL when obj is not an object). */
const struct dsl_value *dsl_get(const struct dsl_value *obj, const char *key);
const struct dsl_member *dsl_member(const struct dsl_value *obj, const char *key);
/* "string", "number", ... for messages. */
const char *dsl_type_name(enum dsl_type t);

/* ---- the lexer (exposed for tests) ---- */

enum dsl_tok {
    TK_EOF, TK_ERROR, TK_IDENT, TK_STRING, TK_NUMBER, TK_QUANTITY, TK_ENVREF,
    TK_LBRACE, TK_RBRACE, TK_LBRACK, TK_RBRACK, TK_COLON, TK_COMMA, TK_SEMI, TK_EQUALS,
};

struct dsl_token {
    enum dsl_tok type;
    struct dsl_pos pos;
    size_t off;            /* byte offset of the token's first byte */
    size_t end;            /* byte offset just after the token */
    const char *text;      /* STRING/ENVREF: decoded text in the arena; others: copy of raw text */
    size_t len;
    int has_env;           /* STRING containing an unescaped ${NAME} */
};

struct dsl_lexer {
    const char *src;
    size_t len, off;
    uint32_t line, col, file;
    const char *file_name;
    struct dsl_arena *arena;
    struct diag *d;
    size_t errors;         /* errors reported by the lexer */
};

void dsl_lex_init(struct dsl_lexer *lx, const char *src, size_t len, const char *file_name,
                  uint32_t file_index, struct dsl_arena *arena, struct diag *d);
/* Next token; lexical errors are reported to lx->d and skipped (TK_ERROR is
 * returned for a character that cannot start a token). */
struct dsl_token dsl_lex_next(struct dsl_lexer *lx);
const char *dsl_tok_name(enum dsl_tok t);
/* "file:line:col" into out (cap bytes), the location of a diagnostic. */
void dsl_where(char *out, size_t cap, const char *file, struct dsl_pos pos);

struct dsl_arena *dsl_arena_new(void);
void dsl_arena_free(struct dsl_arena *a);
void *dsl_arena_alloc(struct dsl_arena *a, size_t n);   /* zeroed, 8-byte aligned */
char *dsl_arena_strndup(struct dsl_arena *a, const char *s, size_t n);

#endif
