/* test_dsl_cli.c - `tracing-operator compile` as a user runs it (dsl_cli_run with
 * captured streams): exit codes, YAML and JSON output, --namespace, --strict, and
 * diagnostics printed with the source line and a caret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "dsl/dsl.h"
#include "dsl/ast.h"
#include "base/xalloc.h"
#include "base/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run {
    int rc;
    char *out, *err;
};

static char *slurp(FILE *f) {
    fflush(f);
    long n = ftell(f);
    rewind(f);
    char *buf = xmalloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* Runs compile with a NULL-terminated argument list. */
static void run(struct run *r, ...) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"compile";
    va_list ap;
    va_start(ap, r);
    for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    r->rc = dsl_cli_run(argc, argv, out, err);
    r->out = slurp(out);
    r->err = slurp(err);
}

static void run_done(struct run *r) {
    free(r->out);
    free(r->err);
}

static char *write_tmp(const char *text, size_t len) {
    char *path = xstrdup("/tmp/dsl-cli-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void usage_and_exit_codes(void **state) {
    struct run r;
    run(&r, "--help", NULL);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "Usage: tracing-operator compile FILE..."));
    run_done(&r);

    run(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "no input files"));
    run_done(&r);

    run(&r, "-o", "xml", "x.tdsl", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "-o takes yaml or json, not \"xml\""));
    run_done(&r);

    run(&r, "--namespace", "Bad_NS", "x.tdsl", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "\"Bad_NS\" is not a valid namespace"));
    run_done(&r);

    run(&r, "--bogus", "x.tdsl", NULL);
    assert_int_equal(r.rc, 2);
    run_done(&r);

    run(&r, "/nonexistent/model.tdsl", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "/nonexistent/model.tdsl: No such file or directory"));
    assert_string_equal(r.out, "");
    run_done(&r);
}

static void yaml_output(void **state) {
    struct run r;
    char path[4096];
    snprintf(path, sizeof(path), "%s", tu_path("examples/dsl/shop.tdsl"));
    run(&r, path, NULL);
    assert_int_equal(r.rc, 0);
    struct op_status st = {0};
    json_t *docs = yaml_load_all(r.out, strlen(r.out), &st);
    assert_non_null(docs);
    assert_int_equal(json_array_size(docs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "kind")),
                        "TracingModel");
    json_decref(docs);
    assert_non_null(strstr(r.err, "warning: trace_store \"shop_store\""));
    run_done(&r);
}

static void json_output_and_namespace(void **state) {
    struct run r;
    char path[4096];
    snprintf(path, sizeof(path), "%s", tu_path("examples/dsl/shop.tdsl"));
    run(&r, "-o", "json", "--namespace", "staging", path, NULL);
    assert_int_equal(r.rc, 0);
    json_error_t e;
    json_t *list = json_loads(r.out, 0, &e);
    assert_non_null(list);
    assert_string_equal(json_string_value(json_object_get(list, "kind")), "List");
    assert_string_equal(json_string_value(json_object_get(list, "apiVersion")), "v1");
    json_t *items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), 3);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        assert_string_equal(json_string_value(json_object_get(json_object_get(it, "metadata"),
                                                              "namespace")), "staging");
    }
    json_decref(list);
    run_done(&r);
}

static void strict_and_errors_with_excerpt(void **state) {
    struct run r;
    char path[4096];
    snprintf(path, sizeof(path), "%s", tu_path("examples/dsl/shop.tdsl"));
    run(&r, "--strict", path, NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, ": error: trace_store \"shop_store\""));
    assert_non_null(strstr(r.err, "(--strict: warnings count as errors)"));
    run_done(&r);

    static const char bad[] = "tracing_model \"m\" {\n  foo: \"bar\n}\n";
    char *tmp = write_tmp(bad, sizeof(bad) - 1);
    run(&r, tmp, NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    char *want = xasprintf("%s:2:8: error: unterminated string\n  foo: \"bar\n       ^\n"
                           "tracing-operator compile: 1 error(s)\n", tmp);
    assert_string_equal(r.err, want);
    free(want);
    run_done(&r);
    unlink(tmp);
    free(tmp);
}

static void too_big_input(void **state) {
    size_t n = (size_t)DSL_MAX_INPUT + 10;
    char *big = xmalloc(n);
    memset(big, ' ', n);
    char *tmp = write_tmp(big, n);
    free(big);
    struct run r;
    run(&r, tmp, NULL);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "the limit is 16777216 bytes"));
    run_done(&r);
    unlink(tmp);
    free(tmp);
}

/* The caret lines up under wide characters and tabs; long lines are windowed. */
static void excerpt_alignment(void **state) {
    const char *text = "m \"\xE4\xB8\xAD\xE6\x96\x87\" {\n\tkey: @\n}\n";
    struct dsl_source src = {"x.tdsl", text, strlen(text)};
    struct diag d;
    diag_init(&d);
    diag_error(&d, "x.tdsl:1:7", "after the name");
    diag_warn(&d, "x.tdsl:2:7", "at the @");
    diag_error(&d, "elsewhere", "not a position");
    struct strbuf out;
    strbuf_init(&out, 0);
    dsl_format_diags(&src, 1, &d, &out);
    assert_string_equal(out.buf,
                        "x.tdsl:1:7: error: after the name\n"
                        "m \"\xE4\xB8\xAD\xE6\x96\x87\" {\n"
                        "        ^\n"
                        "x.tdsl:2:7: warning: at the @\n"
                        "\tkey: @\n"
                        "\t     ^\n"
                        "elsewhere: error: not a position\n");
    strbuf_free(&out);
    diag_done(&d);

    char *line = xmalloc(1000);
    memset(line, 'x', 999);
    line[999] = '\0';
    struct dsl_source src2 = {"long.tdsl", line, 999};
    diag_init(&d);
    diag_error(&d, "long.tdsl:1:500", "deep in a long line");
    strbuf_init(&out, 0);
    dsl_format_diags(&src2, 1, &d, &out);
    const char *l2 = strchr(out.buf, '\n') + 1;
    const char *l3 = strchr(l2, '\n') + 1;
    assert_true(!strncmp(l2, "...", 3));
    assert_true(strlen(l3) < 200);
    assert_int_equal(strchr(l3, '^') - l3, 3 + 75); /* "..." + the columns before 500 */
    strbuf_free(&out);
    diag_done(&d);
    free(line);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_and_exit_codes),
        cmocka_unit_test(yaml_output),
        cmocka_unit_test(json_output_and_namespace),
        cmocka_unit_test(strict_and_errors_with_excerpt),
        cmocka_unit_test(too_big_input),
        cmocka_unit_test(excerpt_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
