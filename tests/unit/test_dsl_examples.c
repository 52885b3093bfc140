/* test_dsl_examples.c - every examples/dsl/NAME.tdsl compiles to its golden YAML and
 * diagnostics (tests/golden/dsl/<name>.yaml / .diag), the output passes the
 * model's strict validation and, when OP_BIN is set, `validate` and `render` of
 * the real binary; and every ```dsl block of the seed document
 * ../shared/seeds/000_*.txt compiles without error (warnings are listed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "dsl/dsl.h"
#include "model/instrumentation.h"
#include "model/model.h"
#include "base/err.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending with suffix (and starting with prefix); caller frees. */
static size_t list_dir(const char *dir, const char *prefix, const char *suffix, char ***ret) {
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    if (!d) {
        *ret = NULL;
        return 0;
    }
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (l > sl && !strcmp(e->d_name + l - sl, suffix) &&
            !strncmp(e->d_name, prefix, strlen(prefix))) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = xstrdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    *ret = names;
    return n;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Runs `$OP_BIN <args> -f file` and returns its exit status (-1 when OP_BIN is unset). */
static int run_bin(const char *args, const char *file) {
    const char *bin = getenv("OP_BIN");
    if (!bin || !*bin || access(bin, X_OK) != 0)
        return -1;
    char *cmd = xasprintf("'%s' %s -f '%s' >/dev/null 2>&1", bin, args, file);
    int st = system(cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The model's own strict validation accepts every document. */
static void assert_valid(const json_t *docs, const char *what) {
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        struct diag d;
        diag_init(&d);
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        json_t *loaded = !strcmp(kind, "TracingModel") ? tm_load(doc, 1, &d) : tinst_load(doc, 1, &d);
        if (!loaded || d.errors) {
            for (size_t k = 0; k < d.len; k++)
                print_error("%s doc %zu: %s: %s\n", what, i, d.items[k].where, d.items[k].msg);
            fail_msg("%s: document %zu does not pass strict validation", what, i);
        }
        json_decref(loaded);
        diag_done(&d);
    }
}

static void examples_match_golden(void **state) {
    char **names;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_path("examples/dsl"));
    size_t n = list_dir(dir, "", ".tdsl", &names);
    assert_true(n >= 17); /* one per block kind (15) and two whole models */
    for (size_t i = 0; i < n; i++) {
        char rel[512], base[256];
        snprintf(rel, sizeof(rel), "examples/dsl/%s", names[i]);
        snprintf(base, sizeof(base), "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        size_t len;
        char *text = tu_read_file(rel, &len);
        struct dsl_source src = {rel, text, len};
        struct diag d;
        diag_init(&d);
        json_t *docs = NULL;
        int rc = dsl_compile(&src, 1, NULL, &docs, &d);
        struct strbuf msgs;
        strbuf_init(&msgs, 0);
        dsl_format_diags(&src, 1, &d, &msgs);
        if (rc != 0)
            fail_msg("%s does not compile:\n%s", rel, msgs.buf);
        struct strbuf yaml;
        strbuf_init(&yaml, 0);
        assert_int_equal(yaml_dump_all(docs, &yaml), 0);
        char golden[512];
        snprintf(golden, sizeof(golden), "tests/golden/dsl/%s.yaml", base);
        tu_assert_golden(yaml.buf, golden);
        snprintf(golden, sizeof(golden), "tests/golden/dsl/%s.diag", base);
        tu_assert_golden(msgs.buf ? msgs.buf : "", golden);
        assert_valid(docs, rel);

        /* the binary's validate and render accept the output */
        char tmp[] = "/tmp/dsl-example-XXXXXX";
        int fd = mkstemp(tmp);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, yaml.buf, yaml.len), (ssize_t)yaml.len);
        close(fd);
        int v = run_bin("validate -q", tmp);
        int r = run_bin("render", tmp);
        unlink(tmp);
        if (v >= 0 && (v != 0 || r != 0))
            fail_msg("%s: tracing-operator validate exit %d, render exit %d", rel, v, r);
        strbuf_free(&yaml);
        strbuf_free(&msgs);
        json_decref(docs);
        diag_done(&d);
        free(text);
    }
    free_list(names, n);
}

/* The examples directory has one example per block kind. */
static void examples_cover_every_block_kind(void **state) {
    static const char *const kinds[] = {
        "tracing_model", "sampling_strategy", "context_propagation", "trace_store", "trace_source",
        "distributed_tracing", "microservice_tracing", "performance_analysis", "real_time_tracing",
        "stream_tracing", "monitoring", "validation_rules", "performance_validation",
        "best_practices", "opentelemetry_integration", NULL};
    for (size_t i = 0; kinds[i]; i++) {
        char rel[256], head[256];
        snprintf(rel, sizeof(rel), "examples/dsl/%s.tdsl", kinds[i]);
        char *text = tu_read_file(rel, NULL);
        snprintf(head, sizeof(head), "\n%s \"", kinds[i]);
        if (!strstr(text, head))
            fail_msg("%s has no %s block", rel, kinds[i]);
        free(text);
    }
}

/* Broken inputs (tests/fixtures/dsl/NAME.tdsl) give the diagnostics a user sees,
 * recorded in tests/golden/dsl/errors/NAME.diag with the compile result. */
static void error_fixtures_match_golden(void **state) {
    char **names;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_path("tests/fixtures/dsl"));
    size_t n = list_dir(dir, "", ".tdsl", &names);
    assert_true(n >= 7);
    for (size_t i = 0; i < n; i++) {
        char rel[512], golden[512];
        snprintf(rel, sizeof(rel), "tests/fixtures/dsl/%s", names[i]);
        snprintf(golden, sizeof(golden), "tests/golden/dsl/errors/%.*s.diag",
                 (int)(strlen(names[i]) - 5), names[i]);
        size_t len;
        char *text = tu_read_file(rel, &len);
        struct dsl_source src = {names[i], text, len};
        struct diag d;
        diag_init(&d);
        json_t *docs = NULL;
        int rc = dsl_compile(&src, 1, NULL, &docs, &d);
        struct strbuf msgs;
        strbuf_init(&msgs, 0);
        dsl_format_diags(&src, 1, &d, &msgs);
        strbuf_printf(&msgs, "result: %s\n", rc == 0 ? "compiled" : op_errname(rc));
        tu_assert_golden(msgs.buf, golden);
        strbuf_free(&msgs);
        json_decref(docs);
        diag_done(&d);
        free(text);
    }
    free_list(names, n);
}

/* ---- the seed document ---- */

static void seed_blocks_compile(void **state) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_path("../shared/seeds"));
    char **names;
    size_t n = list_dir(dir, "000_", ".txt", &names);
    if (!n) {
        print_message("seed document %s/000_*.txt not present: skipped\n", dir);
        skip();
        return;
    }
    char rel[4200];
    snprintf(rel, sizeof(rel), "%s/%s", dir, names[0]);
    char *text = tu_read_file(rel, NULL);
    size_t blocks = 0, warnings = 0;
    const char *p = text;
    while ((p = strstr(p, "```dsl\n"))) {
        const char *start = p + 7;
        const char *end = strstr(start, "```");
        assert_non_null(end);
        unsigned line = 1;
        for (const char *q = text; q < start; q++)
            line += *q == '\n';
        char name[512];
        snprintf(name, sizeof(name), "%s#%zu(line %u)", names[0], blocks + 1, line);
        struct dsl_source src = {name, start, (size_t)(end - start)};
        struct diag d;
        diag_init(&d);
        json_t *docs = NULL;
        int rc = dsl_compile(&src, 1, NULL, &docs, &d);
        struct strbuf msgs;
        strbuf_init(&msgs, 0);
        dsl_format_diags(&src, 1, &d, &msgs);
        if (rc != 0)
            fail_msg("seed block %s does not compile:\n%s", name, msgs.buf);
        for (size_t k = 0; k < d.len; k++)
            print_message("  %s: warning: %s\n", d.items[k].where, d.items[k].msg);
        warnings += d.warnings;
        assert_valid(docs, name);
        json_decref(docs);
        diag_done(&d);
        strbuf_free(&msgs);
        blocks++;
        p = end + 3;
    }
    print_message("%zu seed blocks compiled, %zu warnings\n", blocks, warnings);
    assert_true(blocks >= 15);
    free(text);
    free_list(names, n);
}

/* All seed blocks compiled together form one model (one tracing_model root). */
static void seed_blocks_compile_together(void **state) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_path("../shared/seeds"));
    char **names;
    size_t n = list_dir(dir, "000_", ".txt", &names);
    if (!n) {
        skip();
        return;
    }
    char rel[4200];
    snprintf(rel, sizeof(rel), "%s/%s", dir, names[0]);
    char *text = tu_read_file(rel, NULL);
    struct dsl_source srcs[64];
    size_t ns = 0;
    for (const char *p = text; (p = strstr(p, "```dsl\n")) && ns < 64;) {
        const char *end = strstr(p + 7, "```");
        srcs[ns].name = xasprintf("seed#%zu", ns + 1);
        srcs[ns].text = p + 7;
        srcs[ns].len = (size_t)(end - p - 7);
        ns++;
        p = end + 3;
    }
    struct diag d;
    diag_init(&d);
    json_t *docs = NULL;
    assert_int_equal(dsl_compile(srcs, ns, NULL, &docs, &d), 0);
    assert_int_equal(json_array_size(docs), 2); /* the model and the trace source */
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 1), "kind")),
                        "Instrumentation");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(docs, 1), "spec"), "tracingModel")),
                        "web-service-tracing");
    assert_valid(docs, "seed (together)");
    json_decref(docs);
    diag_done(&d);
    for (size_t i = 0; i < ns; i++)
        free((char *)srcs[i].name);
    free(text);
    free_list(names, n);
}

int main(void) {
    xalloc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_match_golden),
        cmocka_unit_test(examples_cover_every_block_kind),
        cmocka_unit_test(error_fixtures_match_golden),
        cmocka_unit_test(seed_blocks_compile),
        cmocka_unit_test(seed_blocks_compile_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
