/* dsl.h - the tracing DSL compiler: `kind "name" { ... }` files -> TracingModel and
 * Instrumentation objects (docs/model.md), plus the `compile` subcommand.
 *
 * dsl_compile() is pure (no I/O): it takes the files' text and returns the
 * documents and diagnostics located at "file:line:col". The mapping of every
 * block kind is described in examples/dsl/README.md. */
#ifndef OP_DSL_DSL_H
#define OP_DSL_DSL_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "base/diag.h"
#include "base/strbuf.h"

struct dsl_source {
    const char *name;   /* shown in diagnostics, e.g. "models/web.tdsl" */
    const char *text;   /* need not be NUL-terminated */
    size_t len;
};

struct dsl_options {
    const char *ns;     /* --namespace: metadata.namespace of every document, or NULL */
    int strict;         /* --strict: warnings are errors */
};

/* Compiles the sources together (blocks in one file may name blocks in another).
 * On success (no errors; warnings allowed unless strict) returns 0 and sets
 * *ret_docs to a new ref: a JSON array of TracingModel and Instrumentation
 * objects in a stable order. Otherwise returns OP_EINVALID, OP_EPARSE or
 * OP_ETOOBIG and sets *ret_docs to NULL. Every problem is appended to d. */
int dsl_compile(const struct dsl_source *srcs, size_t n, const struct dsl_options *opt,
                json_t **ret_docs, struct diag *d);

/* Appends the diagnostics as the CLI prints them:
 *   file:3:14: error: unterminated string
 *     foo: "bar
 *          ^
 * The excerpt (the source line, tabs kept, and a caret under the column,
 * allowing for wide CJK characters) is shown when `where` is file:line:col of
 * one of srcs. */
void dsl_format_diags(const struct dsl_source *srcs, size_t n, const struct diag *d,
                      struct strbuf *out);

/* `tracing-operator compile FILE... [-o yaml|json] [--namespace NS] [--strict]`.
 * Prints the documents on stdout (YAML documents separated by ---, or with
 * -o json a v1 List), diagnostics on stderr. Exit code 0, 1 (errors), 2 (usage/IO). */
int dsl_cli_compile(int argc, char **argv);
/* The same with explicit streams (tests). */
int dsl_cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif
