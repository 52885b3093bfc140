/* test_webhook_jsonpatch.c - the JSON Patch builder (RFC 6901 escaping, operations), the
 * test-side RFC 6902 applier the mutation tests rely on (RFC 6902 appendix A cases), and
 * the fast reader/writer (jp_load, jp_dump) against jansson's own json_loadb/json_dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "jsonpatch_apply.h"
#include "testutil.h"
#include "webhook/jsonpatch.h"

static void test_pointer_escaping(void **state) {
    (void)state;
    char *p = jp_pointer("metadata", "annotations", "tracemodel.dev/injected", NULL);
    assert_string_equal(p, "/metadata/annotations/tracemodel.dev~1injected");
    free(p);
    p = jp_pointer("a~b", "c/d~/", "", NULL);
    assert_string_equal(p, "/a~0b/c~1d~0~1/");
    free(p);
    struct strbuf b;
    strbuf_init(&b, 0);
    jp_path_push(&b, "spec");
    jp_path_push(&b, "containers");
    jp_path_push_index(&b, 12);
    assert_string_equal(b.buf, "/spec/containers/12");
    strbuf_free(&b);

    static const char *const round[] = {"plain", "a/b", "~", "~1", "/~0/", "", "x~y/z"};
    for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
        char *ptr = jp_pointer(round[i], NULL);
        char *tok = xstrdup(ptr + 1);
        assert_int_equal(jp_token_unescape(tok), 0);
        assert_string_equal(tok, round[i]);
        free(tok);
        free(ptr);
    }
    static const char *const bad[] = {"~", "a~", "~2", "x~x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok = xstrdup(bad[i]);
        assert_int_equal(jp_token_unescape(tok), -1);
        free(tok);
    }
}

static void test_builder_ops_apply(void **state) {
    (void)state;
    json_t *doc = json_loads("{\"metadata\": {\"annotations\": {\"a/b\": \"1\"}}, \"spec\": "
                             "{\"containers\": [{\"name\": \"c\", \"env\": [{\"name\": \"X\"}]}]}}",
                             0, NULL);
    json_t *patch = json_array();
    char *p = jp_pointer("metadata", "annotations", "tracemodel.dev/x~y", NULL);
    jp_add(patch, p, json_string("v"));
    free(p);
    jp_replace(patch, "/metadata/annotations/a~1b", json_string("2"));
    jp_add(patch, "/spec/containers/0/env/-", json_pack("{s:s}", "name", "Y"));
    jp_remove(patch, "/spec/containers/0/env/0");
    json_t *want_patch = json_loads(
        "[{\"op\": \"add\", \"path\": \"/metadata/annotations/tracemodel.dev~1x~0y\", \"value\": "
        "\"v\"}, {\"op\": \"replace\", \"path\": \"/metadata/annotations/a~1b\", \"value\": \"2\"},"
        " {\"op\": \"add\", \"path\": \"/spec/containers/0/env/-\", \"value\": {\"name\": \"Y\"}},"
        " {\"op\": \"remove\", \"path\": \"/spec/containers/0/env/0\"}]", 0, NULL);
    tu_assert_json_equal(want_patch, patch, "patch");
    char err[256];
    json_t *out = jpa_apply(doc, patch, err, sizeof(err));
    assert_non_null(out);
    json_t *want = json_loads("{\"metadata\": {\"annotations\": {\"a/b\": \"2\", "
                              "\"tracemodel.dev/x~y\": \"v\"}}, \"spec\": {\"containers\": "
                              "[{\"name\": \"c\", \"env\": [{\"name\": \"Y\"}]}]}}", 0, NULL);
    tu_assert_json_equal(want, out, "patched");
    json_decref(want);
    json_decref(out);
    json_decref(want_patch);
    json_decref(patch);
    json_decref(doc);
}

/* RFC 6902 appendix A, plus failures the applier must report. */
static void test_applier_rfc_examples(void **state) {
    (void)state;
    static const struct { const char *doc, *patch, *want; } rows[] = {
        {"{\"foo\": \"bar\"}", "[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\"}]",
         "{\"baz\": \"qux\", \"foo\": \"bar\"}"},
        {"{\"foo\": [\"bar\", \"baz\"]}",
         "[{\"op\": \"add\", \"path\": \"/foo/1\", \"value\": \"qux\"}]",
         "{\"foo\": [\"bar\", \"qux\", \"baz\"]}"},
        {"{\"baz\": \"qux\", \"foo\": \"bar\"}", "[{\"op\": \"remove\", \"path\": \"/baz\"}]",
         "{\"foo\": \"bar\"}"},
        {"{\"foo\": [\"bar\", \"qux\", \"baz\"]}", "[{\"op\": \"remove\", \"path\": \"/foo/1\"}]",
         "{\"foo\": [\"bar\", \"baz\"]}"},
        {"{\"baz\": \"qux\", \"foo\": \"bar\"}",
         "[{\"op\": \"replace\", \"path\": \"/baz\", \"value\": \"boo\"}]",
         "{\"baz\": \"boo\", \"foo\": \"bar\"}"},
        {"{\"foo\": {\"bar\": \"baz\", \"waldo\": \"fred\"}, \"qux\": {\"corge\": \"grault\"}}",
         "[{\"op\": \"move\", \"from\": \"/foo/waldo\", \"path\": \"/qux/thud\"}]",
         "{\"foo\": {\"bar\": \"baz\"}, \"qux\": {\"corge\": \"grault\", \"thud\": \"fred\"}}"},
        {"{\"foo\": [\"all\", \"grass\", \"cows\", \"eat\"]}",
         "[{\"op\": \"move\", \"from\": \"/foo/1\", \"path\": \"/foo/3\"}]",
         "{\"foo\": [\"all\", \"cows\", \"eat\", \"grass\"]}"},
        {"{\"baz\": \"qux\", \"foo\": [\"a\", 2, \"c\"]}",
         "[{\"op\": \"test\", \"path\": \"/baz\", \"value\": \"qux\"}, {\"op\": \"test\", "
         "\"path\": \"/foo/1\", \"value\": 2}]", "{\"baz\": \"qux\", \"foo\": [\"a\", 2, \"c\"]}"},
        {"{\"foo\": \"bar\"}",
         "[{\"op\": \"add\", \"path\": \"/child\", \"value\": {\"grandchild\": {}}}]",
         "{\"foo\": \"bar\", \"child\": {\"grandchild\": {}}}"},
        {"{\"foo\": [\"bar\"]}", "[{\"op\": \"add\", \"path\": \"/foo/-\", \"value\": [\"abc\"]}]",
         "{\"foo\": [\"bar\", [\"abc\"]]}"},
        {"{\"/\": 9, \"~1\": 10}", "[{\"op\": \"test\", \"path\": \"/~01\", \"value\": 10}, "
         "{\"op\": \"copy\", \"from\": \"/~1\", \"path\": \"/x\"}]",
         "{\"/\": 9, \"~1\": 10, \"x\": 9}"},
        {"{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"\", \"value\": [1]}]", "[1]"},
        /* failures */
        {"{\"baz\": \"qux\"}", "[{\"op\": \"test\", \"path\": \"/baz\", \"value\": \"bar\"}]",
         NULL},
        {"{\"foo\": \"bar\"}", "[{\"op\": \"add\", \"path\": \"/baz/bat\", \"value\": \"qux\"}]",
         NULL},
        {"{\"foo\": [1]}", "[{\"op\": \"add\", \"path\": \"/foo/2\", \"value\": 2}]", NULL},
        {"{\"foo\": [1]}", "[{\"op\": \"add\", \"path\": \"/foo/01\", \"value\": 2}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"remove\", \"path\": \"/bar\"}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"replace\", \"path\": \"/bar\", \"value\": 1}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"add\", \"path\": \"foo\", \"value\": 1}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"add\", \"path\": \"/a~2\", \"value\": 1}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"frobnicate\", \"path\": \"/foo\"}]", NULL},
        {"{\"foo\": 1}", "[{\"op\": \"add\", \"path\": \"/x\"}]", NULL},
        {"{\"foo\": 1}", "{\"op\": \"add\"}", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *doc = json_loads(rows[i].doc, 0, NULL);
        json_t *patch = json_loads(rows[i].patch, 0, NULL);
        assert_non_null(doc);
        assert_non_null(patch);
        char err[256] = "";
        json_t *out = jpa_apply(doc, patch, err, sizeof(err));
        if (rows[i].want) {
            if (!out)
                fail_msg("row %zu: %s", i, err);
            json_t *want = json_loads(rows[i].want, JSON_DECODE_ANY, NULL);
            tu_assert_json_equal(want, out, "applied");
            json_decref(want);
        } else {
            if (out)
                fail_msg("row %zu: the patch should fail", i);
            assert_true(strlen(err) > 0);
        }
        /* the input document is never modified */
        json_t *orig = json_loads(rows[i].doc, 0, NULL);
        assert_true(json_equal(orig, doc));
        json_decref(orig);
        json_decref(out);
        json_decref(patch);
        json_decref(doc);
    }
}


/* ---- jp_load / jp_dump: the same values and bytes as jansson ---- */

/* jp_dump(v) must be byte for byte json_dumps(v, JSON_COMPACT). */
static void check_dump(const json_t *v, const char *what) {
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    struct strbuf b;
    strbuf_init(&b, 0);
    jp_dump(&b, v);
    if (!want || !b.buf || strcmp(want, b.buf))
        fail_msg("%s: jp_dump differs\n want %s\n got  %s", what, want ? want : "(null)",
                 b.buf ? b.buf : "(null)");
    assert_int_equal(strlen(b.buf), b.len);
    free(want);
    strbuf_free(&b);
}

/* jp_load(text) must be what json_loadb(text, 0) is: same value (and bytes when dumped,
 * so key order too), or the same failure with the same message. */
static void check_load(const char *text, size_t len, const char *what) {
    json_error_t e1, e2;
    json_t *want = json_loadb(text, len, 0, &e1);
    json_t *got = jp_load(text, len, &e2);
    if (!want || !got) {
        if (want || got)
            fail_msg("%s: json_loadb %s but jp_load %s", what, want ? "parses" : "fails",
                     got ? "parses" : "fails");
        assert_string_equal(e1.text, e2.text);
        assert_int_equal(e1.position, e2.position);
        return;
    }
    char *a = json_dumps(want, JSON_COMPACT), *b = json_dumps(got, JSON_COMPACT);
    if (strcmp(a, b))
        fail_msg("%s: different values\n want %s\n got  %s", what, a, b);
    assert_true(json_equal(want, got));
    check_dump(got, what);
    free(a);
    free(b);
    json_decref(want);
    json_decref(got);
}

static void test_load_same_as_jansson(void **state) {
    (void)state;
    static const char *rows[] = {
        /* accepted by the fast scanner */
        "{}", "[]", " \t\r\n{ } \n", "[1,-2,0,-0,123456789012345678,-123456789012345678]",
        "{\"a\":true,\"b\":false,\"c\":null,\"d\":\"x\",\"e\":[],\"f\":{}}",
        "{\"z\":1,\"a\":2,\"m\":{\"y\":[1,{\"q\":\"r\"}],\"b\":\"\"}}",
        "{\"a\":1,\"b\":2,\"a\":3}",   /* duplicate key: the last value wins, first place */
        "{\"esc\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t end\"}",
        "{\"u\":\"\\u00e9 \\u20AC \\ud83d\\ude00 \\u003cb\\u003e \\u0001\"}",
        "{\"raw\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}",
        "{\"k\\u00e9y \\\"q\\\"\":\"v\\n\",\"\":\"empty key\"}",
        "{\"long escaped key ..................................................................."
        "......................................................\\t\":\"value \\\"with\\\" escapes\"}",
        "[\"a\" , \"b\" ,\n\"c\"]",
        /* handed to json_loadb (reals, huge numbers, NUL, bad input) */
        "[1.5,-0.25,1e3,2E-2,0.0]", "[1234567890123456789]", "[9223372036854775807]",
        "[9223372036854775808]", "[-9223372036854775809]", "[01]", "[-]", "[1x]", "[- 1]",
        "{\"a\":\"\\u0000\"}", "{\"a\\u0000b\":1}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"tab\there\"}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":truex}",
        "", "   ", "1", "\"s\"", "null", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1",
        "{\"a\":1,}", "[1,]", "{,}", "{\"a\" 1}", "{a:1}", "{\"a\":1} x", "[] []",
        "{\"a\":1}}", "[1 2]", "{\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char what[32];
        snprintf(what, sizeof(what), "row %zu", i);
        check_load(rows[i], strlen(rows[i]), what);
    }
    /* an embedded NUL byte, outside and inside a string */
    check_load("{\"a\":1}\0", 8, "NUL after the value");
    check_load("{\"a\":\"x\0y\"}", 11, "NUL in a string");
    /* a prefix of a valid document is never accepted */
    const char *doc = "{\"a\":[1,{\"b\":\"c\\n\"}],\"d\":null}";
    for (size_t n = 0; n < strlen(doc); n++)
        check_load(doc, n, "prefix");
    /* nesting: deeper than the scanner goes (jansson parses it), deeper than jansson allows */
    size_t depths[] = {100, 600, 3000};
    for (size_t i = 0; i < 3; i++) {
        struct strbuf b;
        strbuf_init(&b, 0);
        for (size_t d = 0; d < depths[i]; d++)
            strbuf_puts(&b, "[");
        for (size_t d = 0; d < depths[i]; d++)
            strbuf_puts(&b, "]");
        check_load(b.buf, b.len, "nesting");
        strbuf_free(&b);
    }
}

/* Every JSON file of the test and bench fixtures, and the goldens. */
static void test_load_dump_fixtures(void **state) {
    (void)state;
    static const char *patterns[] = {"tests/fixtures/*/*.json", "tests/fixtures/*/*/*.json",
                                     "tests/golden/*/*.json", "tests/golden/*/*/*.json",
                                     "bench/webhook/fixtures/*.json"};
    size_t files = 0;
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        glob_t g;
        if (glob(tu_path(patterns[p]), 0, NULL, &g))
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *rel = strstr(g.gl_pathv[i], patterns[p][0] == 'b' ? "bench/" : "tests/");
            size_t len;
            char *text = tu_read_file(rel, &len);
            check_load(text, len, rel);
            free(text);
            files++;
        }
        globfree(&g);
    }
    assert_true(files >= 10);
}

static void test_dump_strings(void **state) {
    (void)state;
    /* every byte below 0x20, quote, backslash, slash, DEL, UTF-8 */
    char all[40];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++)
        all[n++] = (char)c;
    all[n++] = '"';
    all[n++] = '\\';
    all[n++] = '/';
    all[n++] = 0x7f;
    json_t *v = json_pack("{s:s%, s:s, s:s, s:[s, i, i, b, b, n]}", "ctl", all, n, "utf8",
                          "\xc3\xa9\xe2\x82\xac", "ke\"y\n", "v",
                          "arr", "", (json_int_t)-9223372036854775807LL - 1,
                          (json_int_t)9223372036854775807LL, 1, 0);
    assert_non_null(v);
    json_object_set_new(v, "nul", json_stringn("a\0b", 3));
    json_object_set_new(v, "real", json_real(0.1));
    check_dump(v, "strings");
    json_decref(v);
    struct strbuf b;
    strbuf_init(&b, 0);
    jp_dump(&b, NULL);
    assert_int_equal(b.len, 0);
    jp_quote(&b, "a\"b", 3);
    assert_string_equal(b.buf, "\"a\\\"b\"");
    strbuf_free(&b);
}

/* jp_load_pruned: the named members are left out (nested, per array element), what
 * is left equals json_loadb's value without them, a left-out member is still checked
 * as JSON, and a NULL list is jp_load. */
static void test_load_pruned(void **state) {
    (void)state;
    static const struct jp_prune ITEM[] = {{"probe", NULL, 0}, {NULL, NULL, 0}};
    static const struct jp_prune SPEC[] = {{"items", ITEM, 1}, {"noise", NULL, 0},
                                           {NULL, NULL, 0}};
    static const struct jp_prune TOP[] = {{"spec", SPEC, 0}, {"status", NULL, 0},
                                          {NULL, NULL, 0}};
    const char *doc =
        "{\"spec\": {\"items\": [{\"name\": \"a\", \"probe\": {\"x\": [1, -25, 0]}},"
        " {\"name\": \"b\", \"probe\": \"caf\\u00e9\"}, 7, [{\"probe\": 1}]],"
        " \"noise\": [true, false, null, {\"deep\": {\"er\": []}}], \"keep\": {\"probe\": 1}},"
        " \"status\": {}, \"kind\": \"Pod\"}";
    json_error_t err;
    json_t *got = jp_load_pruned(doc, strlen(doc), TOP, &err);
    assert_non_null(got);
    json_t *want = json_loads(doc, 0, &err);
    assert_non_null(want);
    json_t *spec = json_object_get(want, "spec");
    json_object_del(json_array_get(json_object_get(spec, "items"), 0), "probe");
    json_object_del(json_array_get(json_object_get(spec, "items"), 1), "probe");
    json_object_del(spec, "noise");
    json_object_del(want, "status");
    /* kept: a "probe" outside the pruned places, and elements that are not objects
     * or sit in nested arrays */
    tu_assert_json_equal(want, got, "jp_load_pruned");
    json_decref(got);
    json_decref(want);

    /* no list: exactly jp_load */
    got = jp_load_pruned(doc, strlen(doc), NULL, &err);
    want = jp_load(doc, strlen(doc), &err);
    tu_assert_json_equal(want, got, "jp_load_pruned");
    json_decref(got);
    json_decref(want);

    /* a left-out member that is not JSON makes the document fail like json_loadb */
    const char *bad[] = {
        "{\"status\": 01, \"kind\": 1}",     "{\"status\": 1., \"kind\": 1}",
        "{\"status\": [1,], \"kind\": 1}",   "{\"status\": {\"a\" 1}, \"kind\": 1}",
        "{\"status\": \"\\x\", \"kind\": 1}", "{\"status\": tru, \"kind\": 1}",
        "{\"status\": -, \"kind\": 1}",      "{\"status\": 1e, \"kind\": 1}",
        "{\"status\": [1 2], \"kind\": 1}",  "{\"status\": {\"a\":1,}, \"kind\": 1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = jp_load_pruned(bad[i], strlen(bad[i]), TOP, &err);
        if (v)
            fail_msg("accepted invalid JSON in a left-out member: %s", bad[i]);
        assert_true(err.text[0] != '\0');
    }
    /* numbers the fast scanner does not take (reals, huge integers) send the whole
     * document to json_loadb: a value json_loadb takes is there in full, one it
     * refuses fails the document, as without pruning */
    const char *real = "{\"status\": [2.5e3], \"kind\": 1}";
    got = jp_load_pruned(real, strlen(real), TOP, &err);
    want = json_loads(real, 0, &err);
    tu_assert_json_equal(want, got, "a real in a left-out member");
    json_decref(got);
    json_decref(want);
    const char *huge = "{\"status\": 1e400, \"kind\": 1}";
    assert_null(jp_load_pruned(huge, strlen(huge), TOP, &err));
    assert_null(json_loads(huge, 0, &err));
    /* deep nesting in a left-out member is fine up to the limit json_loadb has */
    char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"status\": ");
    for (int i = 0; i < 600; i++)
        deep[n++] = '[';
    for (int i = 0; i < 600; i++)
        deep[n++] = ']';
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, ", \"kind\": 1}");
    got = jp_load_pruned(deep, n, TOP, &err);
    assert_non_null(got);
    assert_int_equal(json_integer_value(json_object_get(got, "kind")), 1);
    json_decref(got);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer_escaping),
        cmocka_unit_test(test_builder_ops_apply),
        cmocka_unit_test(test_applier_rfc_examples),
        cmocka_unit_test(test_load_same_as_jansson),
        cmocka_unit_test(test_load_dump_fixtures),
        cmocka_unit_test(test_dump_strings),
        cmocka_unit_test(test_load_pruned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
