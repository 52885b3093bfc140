/* cmd_validate.c - `tracing-operator validate`: checks TracingModel and Instrumentation
 * files with the same code the validating webhook runs, and prints every problem with
 * its field path. */
#include "cmd.h"
#include "cli_util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/yamljson.h"
#include "model/instrumentation.h"
#include "model/model.h"

static void validate_usage(FILE *f) {
    fprintf(f,
            "Usage: tracing-operator validate -f FILE [-f FILE ...] [--strict] [-q]\n\n"
            "Checks every TracingModel and Instrumentation in the files and prints each error and\n"
            "warning with its field path, e.g.\n"
            "  model.yaml (document 1, TracingModel default/shop): error: spec.sampling.rate: must be within [0, 1], got 1.5\n\n"
            "  -f, --filename FILE   file to check (YAML or JSON, several documents allowed; - = stdin)\n"
            "      --strict          unknown fields and warnings are errors\n"
            "  -q, --quiet           print problems only, not the \"ok\" lines\n"
            "  -h, --help            this help\n\n"
            "Exit status: 0 valid, 1 errors found, 2 usage or I/O error.\n");
}

/* Validates one document; returns the number of errors. */
static size_t validate_doc(const json_t *doc, const char *file, size_t idx, int strict, int quiet) {
    char prefix[768];
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const json_t *meta = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    snprintf(prefix, sizeof(prefix), "%s (document %zu, %s %s/%s)", file, idx + 1, kind ? kind : "?",
             ns ? ns : "default", name ? name : "?");
    struct diag d;
    diag_init(&d);
    if (!json_is_object(doc) || !kind)
        diag_error(&d, "kind", "not a Kubernetes object: kind is missing");
    else if (!strcmp(kind, TM_KIND))
        tm_validate(doc, strict, &d);
    else if (!strcmp(kind, TINST_KIND))
        tinst_validate(doc, strict, &d);
    else
        diag_error(&d, "kind", "\"%s\" is not a tracemodel.dev kind (expected %s or %s)", kind, TM_KIND,
                   TINST_KIND);
    if (strict)
        diag_promote_warnings(&d);
    cli_print_diag(stdout, prefix, &d);
    size_t errors = d.errors;
    if (!errors && !quiet)
        printf("%s: ok%s\n", prefix, d.warnings ? " (with warnings)" : "");
    diag_done(&d);
    return errors;
}

int cmd_validate(int argc, char **argv) {
    static const struct option opts[] = {
        {"filename", required_argument, NULL, 'f'}, {"strict", no_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *files[64];
    size_t nfiles = 0;
    int strict = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (nfiles == sizeof(files) / sizeof(files[0])) {
                fprintf(stderr, "tracing-operator validate: at most 64 files\n");
                return 2;
            }
            files[nfiles++] = optarg;
            break;
        case 's': strict = 1; break;
        case 'q': quiet = 1; break;
        case 'h': validate_usage(stdout); return 0;
        default: validate_usage(stderr); return 2;
        }
    }
    for (; optind < argc && nfiles < 64; optind++)
        files[nfiles++] = argv[optind]; /* positional files work too */
    if (!nfiles) {
        fprintf(stderr, "tracing-operator validate: -f FILE is required\n");
        validate_usage(stderr);
        return 2;
    }
    size_t errors = 0, objects = 0;
    int io_error = 0;
    for (size_t f = 0; f < nfiles; f++) {
        size_t len;
        char *text = cli_read_input("validate", files[f], &len);
        if (!text) {
            io_error = 1;
            continue;
        }
        struct op_status st = {0};
        json_t *docs = yaml_load_all(text, len, &st);
        free(text);
        if (!docs) {
            printf("%s: error: %s\n", files[f], st.msg);
            errors++;
            continue;
        }
        json_t *flat = cli_flatten_lists(docs);
        json_decref(docs);
        docs = flat;
        if (json_array_size(docs) == 0) {
            printf("%s: error: no documents in the file\n", files[f]);
            errors++;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
            errors += validate_doc(doc, files[f], i, strict, quiet);
            objects++;
        }
        json_decref(docs);
    }
    if (errors)
        fprintf(stderr, "validate: %zu error%s in %zu object%s\n", errors, errors == 1 ? "" : "s", objects,
                objects == 1 ? "" : "s");
    if (io_error)
        return 2;
    return errors ? 1 : 0;
}
