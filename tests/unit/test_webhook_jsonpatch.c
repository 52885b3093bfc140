/* test_webhook_jsonpatch.c - the JSON Patch builder (RFC 6901 escaping, operations) and the
 * test-side RFC 6902 applier the mutation tests rely on (RFC 6902 appendix A cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer_escaping),
        cmocka_unit_test(test_builder_ops_apply),
        cmocka_unit_test(test_applier_rfc_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
