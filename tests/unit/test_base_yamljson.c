/* test_base_yamljson.c - YAML reading/writing: scalar typing, documents, aliases, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/yamljson.h"
#include "base/xalloc.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static json_t *load1(const char *text) {
    struct op_status st = {0};
    json_t *v = yaml_load_one(text, strlen(text), &st);
    if (!v)
        fail_msg("load failed: %s", st.msg);
    return v;
}

static void scalar_typing(void **state) {
    json_t *v = load1("a: \"1.0\"\nb: 1.0\nc: true\nd: null\ne: ~\nf:\ng: 42\nh: '42'\n"
                      "i: 0x1f\nj: hello\nk: 1e3\nl: False\nm: yes\nn: -7\no: !!str 12\np: .inf\n");
    assert_true(json_is_string(json_object_get(v, "a")));
    assert_string_equal(json_string_value(json_object_get(v, "a")), "1.0");
    assert_true(json_is_real(json_object_get(v, "b")));
    assert_true(json_is_true(json_object_get(v, "c")));
    assert_true(json_is_null(json_object_get(v, "d")));
    assert_true(json_is_null(json_object_get(v, "e")));
    assert_true(json_is_null(json_object_get(v, "f")));
    assert_int_equal(json_integer_value(json_object_get(v, "g")), 42);
    assert_true(json_is_string(json_object_get(v, "h")));
    assert_int_equal(json_integer_value(json_object_get(v, "i")), 31);
    assert_string_equal(json_string_value(json_object_get(v, "j")), "hello");
    assert_true(json_is_real(json_object_get(v, "k")));
    assert_true(json_is_false(json_object_get(v, "l")));
    /* YAML 1.2: "yes" is a string, not a boolean */
    assert_string_equal(json_string_value(json_object_get(v, "m")), "yes");
    assert_int_equal(json_integer_value(json_object_get(v, "n")), -7);
    assert_string_equal(json_string_value(json_object_get(v, "o")), "12");
    assert_string_equal(json_string_value(json_object_get(v, "p")), ".inf");
    json_decref(v);
}

static void multi_document(void **state) {
    const char *t = "---\na: 1\n---\n---\nb: 2\n...\n---\n- x\n";
    struct op_status st = {0};
    json_t *docs = yaml_load_all(t, strlen(t), &st);
    assert_non_null(docs);
    assert_int_equal(json_array_size(docs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 1), "b")), 2);
    json_decref(docs);
    /* yaml_load_one refuses several documents */
    assert_null(yaml_load_one(t, strlen(t), &st));
    assert_non_null(strstr(st.msg, "exactly one"));
}

static void errors_have_positions(void **state) {
    struct op_status st = {0};
    const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
    assert_null(yaml_load_all(bad, strlen(bad), &st));
    assert_int_equal(st.code, OP_EPARSE);
    assert_non_null(strstr(st.msg, "line "));
    assert_non_null(strstr(st.msg, "column "));

    const char *dup = "a: 1\na: 2\n";
    assert_null(yaml_load_all(dup, strlen(dup), &st));
    assert_non_null(strstr(st.msg, "duplicate key \"a\""));
    assert_non_null(strstr(st.msg, "line 2"));

    const char *nul = "a: 1\0b";
    assert_null(yaml_load_all(nul, 6, &st));
    assert_non_null(strstr(st.msg, "NUL"));

    const char *complexkey = "? [a]\n: 1\n";
    assert_null(yaml_load_all(complexkey, strlen(complexkey), &st));
    assert_non_null(strstr(st.msg, "keys must be scalars"));
}

static void aliases_expand_and_bombs_fail(void **state) {
    json_t *v = load1("base: &b {x: 1, y: [1, 2]}\nother: *b\nmerged:\n  <<: *b\n  x: 5\n");
    assert_true(json_equal(json_object_get(v, "base"), json_object_get(v, "other")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "merged"), "x")), 5);
    assert_non_null(json_object_get(json_object_get(v, "merged"), "y"));
    json_decref(v);

    /* billion laughs: 10 levels of 10 aliases each */
    char bomb[4096] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; i++) {
        char line[256];
        snprintf(line, sizeof(line), "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(bomb, line);
    }
    struct op_status st = {0};
    assert_null(yaml_load_all(bomb, strlen(bomb), &st));
    assert_non_null(strstr(st.msg, "too many nodes"));

    const char *unknown = "a: *nope\n";
    assert_null(yaml_load_all(unknown, strlen(unknown), &st));
    assert_non_null(strstr(st.msg, "unknown alias"));
}

static void deep_nesting_is_an_error(void **state) {
    size_t n = 5000;
    char *t = malloc(2 * n + 1);
    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\0';
    struct op_status st = {0};
    assert_null(yaml_load_all(t, 2 * n, &st));
    assert_non_null(strstr(st.msg, "nesting deeper"));
    free(t);
}

static void dump_round_trips(void **state) {
    json_t *v = load1("s1: \"1.0\"\ns2: \"true\"\ns3: \"\"\nn: 1.5\ni: 3\nb: false\nz: null\n"
                      "multi: \"line1\\nline2\\n\"\nempty: []\nobj: {}\nlist: [a, 2]\n"
                      "key with: colon\n\"123\": numeric key\nr: 1.0\n");
    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(yaml_dump(v, &out), 0);
    assert_non_null(strstr(out.buf, "s1: \"1.0\""));
    assert_non_null(strstr(out.buf, "multi: |"));
    assert_non_null(strstr(out.buf, "r: 1.0"));
    struct op_status st = {0};
    json_t *back = yaml_load_one(out.buf, out.len, &st);
    tu_assert_json_equal(v, back, "round trip");
    json_decref(back);
    json_decref(v);
    strbuf_free(&out);
}

static void dump_all_separates_documents(void **state) {
    json_t *docs = json_pack("[{s:i},{s:s}]", "a", 1, "b", "x");
    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(yaml_dump_all(docs, &out), 0);
    assert_string_equal(out.buf, "a: 1\n---\nb: x\n");
    strbuf_free(&out);
    json_decref(docs);
}

static void dump_quotes_without_tags(void **state) {
    json_t *v = json_pack("{s:s,s:s,s:s}", "a", "{{ $value }} spans", "b", "- item", "c", "k: v");
    struct strbuf out;
    strbuf_init(&out, 0);
    assert_int_equal(yaml_dump(v, &out), 0);
    assert_null(strstr(out.buf, "!"));
    struct op_status st = {0};
    json_t *back = yaml_load_one(out.buf, out.len, &st);
    tu_assert_json_equal(v, back, "quoted strings");
    json_decref(back);
    json_decref(v);
    strbuf_free(&out);
}

static void json_input_is_yaml(void **state) {
    json_t *v = load1("{\"apiVersion\": \"v1\", \"n\": 2.50, \"s\": \"0.1\", \"t\": true}");
    assert_true(json_is_real(json_object_get(v, "n")));
    assert_true(json_is_string(json_object_get(v, "s")));
    json_decref(v);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalar_typing),
        cmocka_unit_test(multi_document),
        cmocka_unit_test(errors_have_positions),
        cmocka_unit_test(aliases_expand_and_bombs_fail),
        cmocka_unit_test(deep_nesting_is_an_error),
        cmocka_unit_test(dump_round_trips),
        cmocka_unit_test(dump_all_separates_documents),
        cmocka_unit_test(dump_quotes_without_tags),
        cmocka_unit_test(json_input_is_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
