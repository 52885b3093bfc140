/* cli.c - the `tracing-operator compile` subcommand (the only I/O in src/dsl):
 * reads the DSL files, calls dsl_compile(), prints the documents on stdout and
 * the diagnostics (with source excerpts) on stderr. */
#include "dsl/dsl.h"
#include "base/jarena.h"
#include "dsl/ast.h"
#include "base/err.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "base/yamljson.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "Usage: tracing-operator compile FILE... [-o yaml|json] [--namespace NS] [--strict]\n\n"
            "Compiles tracing DSL files (kind \"name\" { ... } blocks, usually *.tdsl) into\n"
            "TracingModel and Instrumentation objects. Files compiled together may refer to\n"
            "each other's blocks by name (trace_store: \"jaeger_store\").\n\n"
            "  -o, --output FORMAT   yaml (default): documents separated by ---;\n"
            "                        json: one v1 List holding every object\n"
            "  -n, --namespace NS    metadata.namespace of every object (overrides the DSL's)\n"
            "      --strict          warnings are errors\n"
            "  -h, --help            this help\n\n"
            "FILE - reads standard input. Diagnostics go to standard error as\n"
            "file:line:column: error|warning: message, with the source line and a caret.\n"
            "Exit status: 0 compiled (warnings allowed), 1 errors, 2 usage or I/O error.\n");
}

/* Reads a file (or stdin for "-"), at most DSL_MAX_INPUT + 1 bytes so that the
 * compiler can report an oversized input. NULL on I/O error (printed). */
static char *read_input(const char *path, size_t *ret_len, FILE *err) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(err, "tracing-operator compile: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0, max = (size_t)DSL_MAX_INPUT + 1;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t want = cap - len < max - len ? cap - len : max - len;
        size_t got = fread(buf + len, 1, want, f);
        len += got;
        if (got < want || len >= max)
            break;
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(err, "tracing-operator compile: %s: read error\n", path);
        free(buf);
        return NULL;
    }
    *ret_len = len;
    return buf;
}

static int print_docs(const json_t *docs, int json_out, FILE *out) {
    if (json_out) {
        json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items",
                                 docs);
        char *s = jarena_dumps(list, JSON_INDENT(2));
        json_decref(list);
        if (!s)
            return -1;
        fprintf(out, "%s\n", s);
        free(s);
        return 0;
    }
    struct strbuf b;
    strbuf_init(&b, 0);
    int rc = yaml_dump_all(docs, &b);
    if (rc == 0 && b.len) {
        fwrite(b.buf, 1, b.len, out);
        if (b.buf[b.len - 1] != '\n')
            fputc('\n', out);
    }
    strbuf_free(&b);
    return rc;
}

int dsl_cli_run(int argc, char **argv, FILE *out, FILE *err) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"namespace", required_argument, NULL, 'n'},
        {"strict", no_argument, NULL, 's'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dsl_options opt = {NULL, 0};
    int json_out = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!strcmp(optarg, "json")) {
                json_out = 1;
            } else if (strcmp(optarg, "yaml")) {
                fprintf(err, "tracing-operator compile: -o takes yaml or json, not \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case 'n': opt.ns = optarg; break;
        case 's': opt.strict = 1; break;
        case 'h': usage(out); return 0;
        default:
            fprintf(err, "tracing-operator compile: unknown or incomplete option \"%s\"\n\n",
                    argv[optind - 1]);
            usage(err);
            return 2;
        }
    }
    if (opt.ns && !is_dns_label(opt.ns)) {
        fprintf(err, "tracing-operator compile: --namespace \"%s\" is not a valid namespace "
                "(lower-case letters, digits and '-', at most 63)\n", opt.ns);
        return 2;
    }
    size_t n = (size_t)(argc - optind);
    if (n == 0) {
        fprintf(err, "tracing-operator compile: no input files\n\n");
        usage(err);
        return 2;
    }
    struct dsl_source *srcs = xcalloc(n, sizeof(*srcs));
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        srcs[i].name = strcmp(argv[optind + (int)i], "-") ? argv[optind + (int)i] : "<stdin>";
        srcs[i].text = read_input(argv[optind + (int)i], &srcs[i].len, err);
        if (!srcs[i].text)
            rc = 2;
    }
    if (!rc) {
        struct diag d;
        diag_init(&d);
        json_t *docs = NULL;
        int crc = dsl_compile(srcs, n, &opt, &docs, &d);
        struct strbuf msgs;
        strbuf_init(&msgs, 0);
        dsl_format_diags(srcs, n, &d, &msgs);
        if (msgs.len)
            fwrite(msgs.buf, 1, msgs.len, err);
        strbuf_free(&msgs);
        if (crc == 0 && print_docs(docs, json_out, out) != 0) {
            fprintf(err, "tracing-operator compile: cannot write the output\n");
            rc = 2;
        } else if (crc != 0) {
            fprintf(err, "tracing-operator compile: %zu error(s)%s\n", d.errors,
                    opt.strict && d.errors ? " (--strict: warnings count as errors)" : "");
            rc = 1;
        }
        json_decref(docs);
        diag_done(&d);
    }
    for (size_t i = 0; i < n; i++)
        free((char *)srcs[i].text);
    free(srcs);
    return rc;
}

int dsl_cli_compile(int argc, char **argv) { return dsl_cli_run(argc, argv, stdout, stderr); }
