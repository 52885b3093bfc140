/* test_dsl_parse.c - the DSL lexer and parser: tokens, positions, values, and
 * the errors a user sees for broken input (with their file:line:col). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dsl/ast.h"
#include "base/err.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

struct lexed {
    struct dsl_arena *arena;
    struct diag d;
    struct dsl_token t[64];
    size_t n;
};

static void lex_all(struct lexed *L, const char *src, size_t len) {
    memset(L, 0, sizeof(*L));
    L->arena = dsl_arena_new();
    diag_init(&L->d);
    struct dsl_lexer lx;
    dsl_lex_init(&lx, src, len, "t.tdsl", 0, L->arena, &L->d);
    do {
        L->t[L->n] = dsl_lex_next(&lx);
    } while (L->t[L->n++].type != TK_EOF && L->n < 64);
}

static void lexed_done(struct lexed *L) {
    dsl_arena_free(L->arena);
    diag_done(&L->d);
}

struct parsed {
    struct dsl_file f;
    struct diag d;
    int rc;
};

static void parse(struct parsed *P, const char *src) {
    diag_init(&P->d);
    P->rc = dsl_parse(src, strlen(src), "t.tdsl", 0, &P->f, &P->d);
}

static void parsed_done(struct parsed *P) {
    dsl_file_free(&P->f);
    diag_done(&P->d);
}

/* Asserts diagnostic i is an error at `where` whose message contains `needle`. */
static void assert_diag(const struct diag *d, size_t i, const char *where, const char *needle) {
    if (i >= d->len) {
        print_error("only %zu diagnostics, wanted #%zu (%s %s)\n", d->len, i, where, needle);
        for (size_t k = 0; k < d->len; k++)
            print_error("  %s: %s\n", d->items[k].where, d->items[k].msg);
        fail();
    }
    if (strcmp(d->items[i].where, where) || !strstr(d->items[i].msg, needle)) {
        print_error("diag #%zu is '%s: %s', wanted '%s: ...%s...'\n", i, d->items[i].where,
                    d->items[i].msg, where, needle);
        fail();
    }
}

/* ---- lexer ---- */

static void lex_token_kinds(void **state) {
    struct lexed L;
    const char *src = "a \"b\" { c: 1.5, d: [x y] e: 10GB f: \"${X}\" g: -3 h: 1e3 v: 1.0.0 "
                      "p: 80% ; = }";
    lex_all(&L, src, strlen(src));
    static const enum dsl_tok want[] = {
        TK_IDENT, TK_STRING, TK_LBRACE, TK_IDENT, TK_COLON, TK_NUMBER, TK_COMMA, TK_IDENT,
        TK_COLON, TK_LBRACK, TK_IDENT, TK_IDENT, TK_RBRACK, TK_IDENT, TK_COLON, TK_QUANTITY,
        TK_IDENT, TK_COLON, TK_ENVREF, TK_IDENT, TK_COLON, TK_NUMBER, TK_IDENT, TK_COLON,
        TK_NUMBER, TK_IDENT, TK_COLON, TK_QUANTITY, TK_IDENT, TK_COLON, TK_QUANTITY, TK_SEMI,
        TK_EQUALS, TK_RBRACE, TK_EOF,
    };
    assert_int_equal(L.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < L.n; i++)
        assert_int_equal(L.t[i].type, want[i]);
    assert_string_equal(L.t[15].text, "10GB");
    assert_string_equal(L.t[18].text, "${X}");
    assert_string_equal(L.t[21].text, "-3");
    assert_string_equal(L.t[27].text, "1.0.0");
    assert_string_equal(L.t[30].text, "80%");
    assert_int_equal(L.d.len, 0);
    lexed_done(&L);
}

static void lex_string_escapes(void **state) {
    struct lexed L;
    const char *src = "\"q\\\" b\\\\ n\\n t\\t \\u00e9 \\ud83d\\ude00 \\${X} /\\/\"";
    lex_all(&L, src, strlen(src));
    assert_int_equal(L.t[0].type, TK_STRING); /* \${X} is a literal, not a reference */
    assert_string_equal(L.t[0].text, "q\" b\\ n\n t\t \xC3\xA9 \xF0\x9F\x98\x80 ${X} //");
    assert_int_equal(L.d.len, 0);
    lexed_done(&L);

    lex_all(&L, "\"Bearer ${TOKEN} x\"", 19);
    assert_int_equal(L.t[0].type, TK_ENVREF);
    assert_string_equal(L.t[0].text, "Bearer ${TOKEN} x");
    lexed_done(&L);

    /* "${" that is not a reference stays text */
    lex_all(&L, "\"${} {{ .x }} $5\"", 17);
    assert_int_equal(L.t[0].type, TK_STRING);
    lexed_done(&L);
}

static void lex_positions_utf8_crlf_bom(void **state) {
    struct lexed L;
    /* BOM, CRLF, a CR-only line break, Chinese text counted as one column per character */
    const char *src = "\xEF\xBB\xBF" "a\r\n  b: \"\xE4\xB8\xAD\xE6\x96\x87\" c\rd";
    lex_all(&L, src, strlen(src));
    assert_int_equal(L.t[0].pos.line, 1);
    assert_int_equal(L.t[0].pos.col, 1);
    assert_int_equal(L.t[1].pos.line, 2); /* b */
    assert_int_equal(L.t[1].pos.col, 3);
    assert_int_equal(L.t[3].pos.col, 6);  /* the string */
    assert_string_equal(L.t[3].text, "\xE4\xB8\xAD\xE6\x96\x87");
    assert_int_equal(L.t[4].pos.col, 11); /* c: after 2 quotes + 2 characters */
    assert_int_equal(L.t[5].pos.line, 3); /* d after a lone CR */
    assert_int_equal(L.d.len, 0);
    lexed_done(&L);
}

static void lex_comments(void **state) {
    struct lexed L;
    const char *src = "# hash \xE4\xB8\xAD\na // slash\n/* block\n comment */ b";
    lex_all(&L, src, strlen(src));
    assert_int_equal(L.n, 3);
    assert_string_equal(L.t[0].text, "a");
    assert_string_equal(L.t[1].text, "b");
    assert_int_equal(L.t[1].pos.line, 4);
    assert_int_equal(L.d.len, 0);
    lexed_done(&L);
}

static void lex_errors(void **state) {
    struct lexed L;
    static const char nul[] = "a \0 b";
    lex_all(&L, nul, sizeof(nul) - 1);
    assert_diag(&L.d, 0, "t.tdsl:1:3", "NUL byte");
    lexed_done(&L);

    lex_all(&L, "\"ok \xFF\"", 6);
    assert_diag(&L.d, 0, "t.tdsl:1:5", "invalid UTF-8 byte 0xFF");
    lexed_done(&L);

    lex_all(&L, "x \xC3\x28", 4); /* truncated sequence outside a string */
    assert_diag(&L.d, 0, "t.tdsl:1:3", "invalid UTF-8");
    lexed_done(&L);

    lex_all(&L, "\"a\\qb\"", 6);
    assert_diag(&L.d, 0, "t.tdsl:1:3", "unknown escape sequence '\\q'");
    assert_string_equal(L.t[0].text, "ab");
    lexed_done(&L);

    lex_all(&L, "  foo: \"bar\n  x: 1", 18);
    assert_diag(&L.d, 0, "t.tdsl:1:8", "unterminated string");
    assert_int_equal(L.t[3].type, TK_IDENT); /* the next line lexes normally */
    assert_int_equal(L.t[3].pos.line, 2);
    lexed_done(&L);

    lex_all(&L, "/* never closed", 15);
    assert_diag(&L.d, 0, "t.tdsl:1:1", "unterminated comment");
    lexed_done(&L);

    lex_all(&L, "'single'", 8);
    assert_diag(&L.d, 0, "t.tdsl:1:1", "double quotes");
    lexed_done(&L);

    lex_all(&L, "\"\\u0000\" \"\\ud800\" \"\\u12\"", 24);
    assert_diag(&L.d, 0, "t.tdsl:1:2", "NUL");
    assert_diag(&L.d, 1, "t.tdsl:1:11", "surrogate");
    assert_diag(&L.d, 2, "t.tdsl:1:20", "4 hex digits");
    lexed_done(&L);
}

/* ---- parser ---- */

static void parse_seed_block(void **state) {
    struct parsed P;
    parse(&P,
          "tracing_model \"web_service_tracing\" {\n"
          "  description: \"Web\xE6\x9C\x8D\xE5\x8A\xA1\"\n"
          "  version: \"1.0.0\"\n"
          "  labels: {\n    service: \"web-service\"\n  }\n"
          "  sampling: { rate: 0.1, strategy: \"probabilistic\" }\n"
          "  headers: [\"traceparent\", \"tracestate\"]\n"
          "  list: [ { a: 1 } { a: 2 } ]\n"
          "  flag: true\n  none: null\n  level: warning\n  size: 10GB\n"
          "}\n"
          "trace_store jaeger_store { password: \"${ES_PASSWORD}\" }\n");
    assert_int_equal(P.rc, 0);
    assert_int_equal(P.d.len, 0);
    assert_int_equal(P.f.n, 2);
    const struct dsl_block *b = &P.f.blocks[0];
    assert_string_equal(b->kind, "tracing_model");
    assert_string_equal(b->name, "web_service_tracing");
    assert_int_equal(b->name_pos.col, 15);
    const struct dsl_value *s = dsl_get(b->body, "sampling");
    assert_non_null(s);
    assert_int_equal(s->type, DSL_OBJECT);
    const struct dsl_value *rate = dsl_get(s, "rate");
    assert_int_equal(rate->type, DSL_NUMBER);
    assert_true(rate->num == 0.1);
    assert_false(rate->is_int);
    assert_int_equal(rate->pos.line, 7);
    const struct dsl_value *h = dsl_get(b->body, "headers");
    assert_int_equal(h->type, DSL_ARRAY);
    assert_int_equal(h->n, 2);
    assert_string_equal(h->items[1]->text, "tracestate");
    const struct dsl_value *l = dsl_get(b->body, "list");
    assert_int_equal(l->n, 2);
    assert_true(dsl_get(l->items[1], "a")->num == 2);
    assert_true(dsl_get(l->items[1], "a")->is_int);
    assert_int_equal(dsl_get(b->body, "flag")->type, DSL_BOOL);
    assert_int_equal(dsl_get(b->body, "none")->type, DSL_NULL);
    assert_int_equal(dsl_get(b->body, "level")->type, DSL_WORD);
    assert_int_equal(dsl_get(b->body, "size")->type, DSL_QUANTITY);
    assert_string_equal(P.f.blocks[1].name, "jaeger_store");
    assert_int_equal(dsl_get(P.f.blocks[1].body, "password")->type, DSL_ENVREF);
    assert_null(dsl_get(b->body, "missing"));
    parsed_done(&P);
}

static void parse_error_unterminated_string_goes_on(void **state) {
    struct parsed P;
    parse(&P, "tracing_model \"m\" {\n"
              "  description: \"never closed\n"
              "  version: 1.0\n"
              "  sampling: { rate: }\n"
              "}\n");
    assert_int_equal(P.rc, OP_EPARSE);
    assert_diag(&P.d, 0, "t.tdsl:2:16", "unterminated string");
    assert_diag(&P.d, 1, "t.tdsl:4:19", "missing value for key 'rate'");
    assert_int_equal(P.d.errors, 2);
    assert_int_equal(P.f.n, 1); /* the block is still there */
    assert_non_null(dsl_get(P.f.blocks[0].body, "version"));
    parsed_done(&P);
}

static void parse_error_missing_brace(void **state) {
    struct parsed P;
    parse(&P, "tracing_model \"a\" {\n"
              "  sampling: {\n"
              "    rate: 0.1\n"
              "\n"
              "}\n"
              "trace_store \"b\" {\n  type: \"jaeger\"\n}\n");
    assert_int_equal(P.rc, OP_EPARSE);
    assert_diag(&P.d, 0, "t.tdsl:1:19",
                "missing '}': the '{' of block tracing_model \"a\" is not closed before the block "
                "'trace_store' at line 6");
    assert_true(strstr(P.d.items[0].msg, "line 2") != NULL); /* the hint names sampling's '{' */
    assert_int_equal(P.d.errors, 1);
    assert_int_equal(P.f.n, 2); /* the next block parses */
    assert_string_equal(P.f.blocks[1].kind, "trace_store");
    parsed_done(&P);

    parse(&P, "tracing_model \"a\" {\n  x: 1\n");
    assert_diag(&P.d, 0, "t.tdsl:1:19", "never closed");
    parsed_done(&P);

    parse(&P, "m \"a\" {\n  x: [1, 2\n}\n");
    assert_diag(&P.d, 0, "t.tdsl:2:6", "missing ']'");
    assert_int_equal(P.d.errors, 1);
    parsed_done(&P);
}

static void parse_error_duplicate_key(void **state) {
    struct parsed P;
    parse(&P, "m \"a\" {\n  rate: 1\n  x: { y: 1, y: 2 }\n  rate: 2\n  rate: 3\n}\n");
    assert_int_equal(P.rc, OP_EPARSE);
    assert_diag(&P.d, 0, "t.tdsl:3:14", "duplicate key 'y' (first set at line 3)");
    assert_diag(&P.d, 1, "t.tdsl:4:3", "duplicate key 'rate' (first set at line 2)");
    assert_diag(&P.d, 2, "t.tdsl:5:3", "duplicate key 'rate' (first set at line 2)");
    assert_int_equal(P.d.errors, 3);
    parsed_done(&P);
}

static void parse_error_misc(void **state) {
    static const struct { const char *src, *where, *msg; } cases[] = {
        {"key: 1\n", "t.tdsl:1:1", "outside a block"},
        {"m {\n}\n", "t.tdsl:1:3", "needs a name"},
        {"m \"a\" x: 1 }\n", "t.tdsl:1:7", "expected '{' to open block m \"a\""},
        {"m \"a\" {\n  a 1\n}\n", "t.tdsl:2:5", "expected ':' after key 'a', found '1'"},
        {"m \"a\" {\n  a: :\n}\n", "t.tdsl:2:4", "missing value for key 'a'"},
        {"m \"a\" {\n  a:\n  b: 1\n}\n", "t.tdsl:2:4", "missing value for key 'a'"},
        {"m \"a\" {\n  5: 1\n}\n", "t.tdsl:2:3", "expected a key or '}', found '5'"},
        {"m \"a\" {\n  a: 1e999\n}\n", "t.tdsl:2:6", "out of range"},
        {"{ }\n", "t.tdsl:1:1", "expected a block"},
        {"m ${X} { }\n", "t.tdsl:1:3", "cannot be a ${...} reference"},
        {"m \"\" { }\n", "t.tdsl:1:3", "is empty"},
        {"m \"a\" { \"\": 1 }\n", "t.tdsl:1:9", "empty key"},
        {"m \"a\" { a: @ }\n", "t.tdsl:1:12", "unexpected character '@'"},
        {"m \"a\" { a: \xE4\xB8\xAD }\n", "t.tdsl:1:12", "outside a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct parsed P;
        parse(&P, cases[i].src);
        assert_int_equal(P.rc, OP_EPARSE);
        assert_diag(&P.d, 0, cases[i].where, cases[i].msg);
        parsed_done(&P);
    }
}

static void parse_accepts_variants(void **state) {
    /* block-style members, '=' separators, semicolons, unquoted names, trailing commas */
    struct parsed P;
    parse(&P, "m a {\n  s { rate = 0.5; }\n  l: [1, 2, 3,]\n  \"quoted key\": ${ENV_X}\n}\n");
    assert_int_equal(P.rc, 0);
    assert_int_equal(P.d.len, 0);
    const struct dsl_value *b = P.f.blocks[0].body;
    assert_true(dsl_get(dsl_get(b, "s"), "rate")->num == 0.5);
    assert_int_equal(dsl_get(b, "l")->n, 3);
    assert_int_equal(dsl_get(b, "quoted key")->type, DSL_ENVREF);
    assert_string_equal(dsl_get(b, "quoted key")->text, "${ENV_X}");
    parsed_done(&P);
}

static void parse_depth_limit(void **state) {
    /* 100000 nested '[' and '{': one error, no stack overflow */
    size_t depth = 100000;
    char *src = xmalloc(depth * 2 + 64);
    size_t n = (size_t)sprintf(src, "m \"a\" {\n a: ");
    for (size_t i = 0; i < depth; i++)
        src[n++] = '[';
    src[n] = '\0';
    struct parsed P;
    parse(&P, src);
    assert_int_equal(P.rc, OP_EPARSE);
    assert_diag(&P.d, 0, "t.tdsl:2:68", "nesting deeper than 64 levels");
    parsed_done(&P);

    /* exactly at the limit is fine: the block counts as level 1 */
    n = (size_t)sprintf(src, "m \"a\" { a: ");
    for (int i = 0; i < DSL_MAX_DEPTH - 1; i++)
        src[n++] = '[';
    for (int i = 0; i < DSL_MAX_DEPTH - 1; i++)
        src[n++] = ']';
    strcpy(src + n, " }");
    parse(&P, src);
    assert_int_equal(P.rc, 0);
    parsed_done(&P);
    free(src);
}

static void parse_big_input(void **state) {
    /* about 5 MiB of valid blocks parses, quickly */
    struct strbuf_like { char *p; size_t n, cap; } b = {xmalloc(6u << 20), 0, 6u << 20};
    size_t blocks = 0;
    while (b.n < (5u << 20)) {
        b.n += (size_t)snprintf(b.p + b.n, b.cap - b.n,
                                "distributed_tracing \"d%zu\" {\n  services: [\n"
                                "    { name: \"svc-%zu\" tracing: { sampling_rate: 0.5 "
                                "attributes: [\"http.method\", \"user.id\"] } }\n  ]\n}\n",
                                blocks, blocks);
        blocks++;
    }
    clock_t t0 = clock();
    struct dsl_file f;
    struct diag d;
    diag_init(&d);
    assert_int_equal(dsl_parse(b.p, b.n, "big.tdsl", 0, &f, &d), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(f.n, blocks);
    assert_true(secs < 20.0); /* generous for sanitizer builds; it takes well under 1s */
    dsl_file_free(&f);
    diag_done(&d);

    /* 5 MiB of garbage: errors stop at the limit, no time blow-up */
    memset(b.p, '@', 5u << 20);
    diag_init(&d);
    assert_int_equal(dsl_parse(b.p, 5u << 20, "junk.tdsl", 0, &f, &d), OP_EPARSE);
    assert_true(d.len <= DSL_MAX_ERRORS + 1);
    assert_true(strstr(d.items[d.len - 1].msg, "too many errors") != NULL);
    dsl_file_free(&f);
    diag_done(&d);
    free(b.p);
}

static void parse_too_big(void **state) {
    struct dsl_file f;
    struct diag d;
    diag_init(&d);
    /* the size check happens before the text is read */
    assert_int_equal(dsl_parse("", DSL_MAX_INPUT + 1, "huge.tdsl", 0, &f, &d), OP_ETOOBIG);
    assert_diag(&d, 0, "huge.tdsl", "the limit is");
    dsl_file_free(&f);
    diag_done(&d);
}

static void parse_error_limit(void **state) {
    char *src = xmalloc(100000);
    size_t n = (size_t)sprintf(src, "m \"a\" {\n");
    for (int i = 0; i < 500; i++)
        n += (size_t)sprintf(src + n, "  k%d: @\n", i);
    strcpy(src + n, "}\n");
    struct parsed P;
    parse(&P, src);
    assert_int_equal(P.rc, OP_EPARSE);
    assert_int_equal(P.d.errors, DSL_MAX_ERRORS + 1);
    assert_true(strstr(P.d.items[DSL_MAX_ERRORS].msg, "too many errors") != NULL);
    parsed_done(&P);
    free(src);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lex_token_kinds),
        cmocka_unit_test(lex_string_escapes),
        cmocka_unit_test(lex_positions_utf8_crlf_bom),
        cmocka_unit_test(lex_comments),
        cmocka_unit_test(lex_errors),
        cmocka_unit_test(parse_seed_block),
        cmocka_unit_test(parse_error_unterminated_string_goes_on),
        cmocka_unit_test(parse_error_missing_brace),
        cmocka_unit_test(parse_error_duplicate_key),
        cmocka_unit_test(parse_error_misc),
        cmocka_unit_test(parse_accepts_variants),
        cmocka_unit_test(parse_depth_limit),
        cmocka_unit_test(parse_big_input),
        cmocka_unit_test(parse_too_big),
        cmocka_unit_test(parse_error_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
