/* fuzz_dsl.c - libFuzzer harness for the tracing DSL (src/dsl): the lexer and
 * parser, the mapping onto TracingModel/Instrumentation, and the diagnostics
 * printer. The input is DSL text; a line "#--" splits it into two files so that
 * references between files are exercised too. Never a crash, hang or leak, and:
 *   - dsl_parse() returns 0 exactly when it reported no error, and every
 *     diagnostic is located at "file:line:col" (line and column >= 1)
 *     (checked on the inputs of LLVMFuzzerTestOneInput's choosing);
 *   - dsl_compile() fails exactly when there are errors; on success every
 *     TracingModel passes tm_validate() without errors, the documents survive a
 *     YAML round trip, and no ${NAME} reference from the input reaches the
 *     output (input without backslashes cannot contain an escaped one);
 *   - with --strict the result is an error exactly when there were warnings
 *     (checked on the inputs that warn: strict only promotes warnings).
 *
 * Built by fuzz/CMakeLists.txt (cmake -DOP_FUZZ=ON with clang; scripts/fuzz.sh):
 *   build-fuzz/fuzz/fuzz_dsl -max_len=65536 fuzz/corpus/fuzz_dsl
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/ast.h"
#include "dsl/dsl.h"
#include "model/model.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct diag *d) {
    fprintf(stderr, "fuzz_dsl: %s\n", what);
    for (size_t i = 0; d && i < d->len; i++)
        fprintf(stderr, "  %s: %s: %s\n", d->items[i].where,
                d->items[i].level == DIAG_ERROR ? "error" : "warning", d->items[i].msg);
    abort();
}

/* "name:L:C" with L, C >= 1, or the bare name (input too big), or --namespace. */
static int located(const char *where, const char *name) {
    size_t n = strlen(name);
    if (strncmp(where, name, n))
        return 0;
    if (!where[n])
        return 1;
    const char *p = where + n;
    for (int part = 0; part < 2; part++) { /* ":L" then ":C", each a number >= 1 */
        if (*p++ != ':' || *p < '1' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static void check_parse(const char *text, size_t len) {
    struct diag d;
    diag_init(&d);
    struct dsl_file f;
    int rc = dsl_parse(text, len, "in.tdsl", 0, &f, &d);
    if ((rc == 0) != (d.errors == 0))
        fail("dsl_parse result disagrees with its diagnostics", &d);
    for (size_t i = 0; i < d.len; i++)
        if (!located(d.items[i].where, "in.tdsl"))
            fail("a parse diagnostic has no file:line:col", &d);
    for (size_t i = 0; i < f.n; i++)
        if (!f.blocks[i].body || f.blocks[i].body->type != DSL_OBJECT)
            fail("a block without an object body", &d);
    dsl_file_free(&f);
    diag_done(&d);
}

static int has_env_reference(const char *s) {
    static regex_t re;
    static int ready;
    if (!ready) {
        if (regcomp(&re, "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}", REG_EXTENDED | REG_NOSUB))
            abort();
        ready = 1;
    }
    return regexec(&re, s, 0, NULL, 0) == 0;
}

static void check_docs(const json_t *docs, int input_has_backslash, const struct diag *d) {
    if (!json_is_array(docs))
        fail("success without a document array", d);
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        if (!kind)
            fail("a document without a kind", d);
        if (!strcmp(kind, TM_KIND)) {
            struct diag v;
            diag_init(&v);
            tm_validate(doc, 0, &v);
            if (v.errors)
                fail("a compiled TracingModel fails tm_validate", &v);
            diag_done(&v);
        }
    }
    char *text = json_dumps(docs, JSON_COMPACT);
    if (!input_has_backslash && text && has_env_reference(text))
        fail("a ${NAME} reference reached the output", d);
    free(text);
    struct strbuf y;
    strbuf_init(&y, 0);
    if (yaml_dump_all(docs, &y) != 0)
        fail("the documents cannot be written as YAML", d);
    struct op_status st = {0};
    json_t *back = yaml_load_all(y.buf ? y.buf : "", y.len, &st);
    if (!back || !json_equal(back, docs))
        fail("the documents do not survive a YAML round trip", d);
    json_decref(back);
    strbuf_free(&y);
}

/* Compiles lax, then strict when the lax run warned. --strict is the lax
 * compile with its warnings promoted at the end (dsl_compile), so without
 * warnings the strict run is the lax one again: skipping it halves the cost of
 * the inputs that do not parse, most of what the fuzzer tries. The strict
 * documents are checked in full only when they differ from the lax ones. */
static void check_compile(const struct dsl_source *srcs, size_t n, int has_backslash) {
    json_t *lax_docs = NULL;
    size_t lax_warnings = 0;
    for (int strict = 0; strict <= 1 && (!strict || lax_warnings); strict++) {
        struct dsl_options opt = {NULL, strict};
        struct diag d;
        diag_init(&d);
        json_t *docs = NULL;
        int rc = dsl_compile(srcs, n, &opt, &docs, &d);
        if ((rc == 0) != (d.errors == 0))
            fail("dsl_compile result disagrees with its diagnostics", &d);
        if (rc != 0 && docs)
            fail("documents returned with an error", &d);
        if (strict && d.warnings)
            fail("--strict left a warning", &d);
        for (size_t i = 0; i < d.len; i++)
            if (!located(d.items[i].where, "a.tdsl") && !located(d.items[i].where, "b.tdsl"))
                fail("a compile diagnostic has no file:line:col", &d);
        if (rc == 0 && !(strict && lax_docs && json_equal(docs, lax_docs)))
            check_docs(docs, has_backslash, &d);
        struct strbuf out;
        strbuf_init(&out, 0);
        dsl_format_diags(srcs, n, &d, &out);
        strbuf_free(&out);
        if (strict) {
            json_decref(docs);
        } else {
            lax_docs = docs;
            lax_warnings = d.warnings;
        }
        diag_done(&d);
    }
    json_decref(lax_docs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        xalloc_init();
        init = 1;
    }
    const char *text = (const char *)data;
    struct dsl_source srcs[2] = {{"a.tdsl", text, size}, {"b.tdsl", "", 0}};
    size_t n = 1;
    const char *cut = memmem(text, size, "\n#--\n", 5);
    /* Unsplit, the compile below parses these very bytes again: dsl_parse's own
     * contract is checked on a quarter of those inputs (length a multiple of 4)
     * and on every split one, where the whole text is a parse of its own. */
    if (cut || (size & 3) == 0)
        check_parse(text, size);
    if (cut) {
        srcs[0].len = (size_t)(cut - text) + 1;
        srcs[1].text = cut + 5;
        srcs[1].len = size - (size_t)(cut + 5 - text);
        n = 2;
    }
    check_compile(srcs, n, memchr(text, '\\', size) != NULL);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
