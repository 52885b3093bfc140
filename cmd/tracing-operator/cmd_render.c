/* cmd_render.c - `tracing-operator render`: the manifests TracingModels become, printed as
 * multi-document YAML (or a JSON List), the way `helm template` works: no cluster needed. */
#include "cmd.h"
#include "cli_util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "render/render.h"

static void render_usage(FILE *f) {
    fprintf(f,
            "Usage: tracing-operator render -f FILE|- [-o yaml|json] [-n NAMESPACE] [--strict]\n\n"
            "Prints the Kubernetes manifests every TracingModel in FILE becomes.\n\n"
            "  -f, --filename FILE   model file (YAML or JSON, several documents allowed; - = stdin)\n"
            "  -o, --output FORMAT   yaml (default: multi-document YAML) or json (a v1 List)\n"
            "  -n, --namespace NS    namespace for models that do not set metadata.namespace\n"
            "      --strict          unknown fields are errors, not warnings\n"
            "  -h, --help            this help\n\n"
            "Exit status: 0 rendered, 1 the model has errors (all are printed), 2 usage or I/O error.\n");
}

/* Sets or checks metadata.namespace; returns 0, or -1 with a message when it conflicts. */
static int apply_namespace(json_t *doc, const char *ns, const char *prefix) {
    json_t *meta = json_object_get(doc, "metadata");
    if (!json_is_object(meta))
        return 0; /* validation reports it */
    const char *have = json_string_value(json_object_get(meta, "namespace"));
    if (!ns)
        return 0;
    if (have && strcmp(have, ns) != 0) {
        fprintf(stderr, "%s: error: metadata.namespace: the model says \"%s\" but -n says \"%s\"\n",
                prefix, have, ns);
        return -1;
    }
    json_object_set_new(meta, "namespace", json_string(ns));
    return 0;
}

int cmd_render(int argc, char **argv) {
    static const struct option opts[] = {
        {"filename", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"namespace", required_argument, NULL, 'n'}, {"strict", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *output = "yaml", *ns = NULL;
    int strict = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': file = optarg; break;
        case 'o': output = optarg; break;
        case 'n': ns = optarg; break;
        case 's': strict = 1; break;
        case 'h': render_usage(stdout); return 0;
        default: render_usage(stderr); return 2;
        }
    }
    if (!file || optind < argc || (strcmp(output, "yaml") && strcmp(output, "json"))) {
        if (!file)
            fprintf(stderr, "tracing-operator render: -f FILE is required\n");
        else if (optind < argc)
            fprintf(stderr, "tracing-operator render: unexpected argument \"%s\"\n", argv[optind]);
        else
            fprintf(stderr, "tracing-operator render: -o must be yaml or json, not \"%s\"\n", output);
        render_usage(stderr);
        return 2;
    }

    size_t len;
    char *text = cli_read_input("render", file, &len);
    if (!text)
        return 2;
    struct op_status st = {0};
    json_t *docs = yaml_load_all(text, len, &st);
    free(text);
    if (!docs) {
        fprintf(stderr, "%s: error: %s\n", file, st.msg);
        return 1;
    }
    json_t *flat = cli_flatten_lists(docs);
    json_decref(docs);
    docs = flat;

    json_t *all = json_array();
    struct strbuf header;
    strbuf_init(&header, 0);
    int rc = 0, models = 0;
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        char prefix[512];
        snprintf(prefix, sizeof(prefix), "%s (document %zu)", file, i + 1);
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        if (!json_is_object(doc) || !kind) {
            fprintf(stderr, "%s: error: not a Kubernetes object (no kind)\n", prefix);
            rc = 1;
            continue;
        }
        if (strcmp(kind, TM_KIND) != 0) {
            fprintf(stderr, "%s: note: skipping %s (render only renders TracingModels)\n", prefix, kind);
            continue;
        }
        models++;
        if (apply_namespace(doc, ns, prefix) < 0) {
            rc = 1;
            continue;
        }
        struct diag d;
        diag_init(&d);
        json_t *model = tm_load(doc, strict, &d);
        cli_print_diag(stderr, prefix, &d);
        diag_done(&d);
        if (!model) {
            rc = 1;
            continue;
        }
        struct render_result r = {0};
        diag_init(&d);
        if (render_model(model, &r, &d) < 0) {
            cli_print_diag(stderr, prefix, &d);
            rc = 1;
        } else {
            cli_print_diag(stderr, prefix, &d);
            json_t *meta = json_object_get(model, "metadata");
            strbuf_printf(&header, "# TracingModel %s/%s: %zu objects",
                          json_string_value(json_object_get(meta, "namespace")),
                          json_string_value(json_object_get(meta, "name")), json_array_size(r.manifests));
            const char *human = json_string_value(json_object_get(r.capacity, "summary"));
            if (human)
                strbuf_printf(&header, "; capacity: %s", human);
            strbuf_puts(&header, "\n");
            json_array_extend(all, r.manifests);
        }
        diag_done(&d);
        render_result_done(&r);
        json_decref(model);
    }
    json_decref(docs);
    if (models == 0 && rc == 0) {
        fprintf(stderr, "%s: error: no TracingModel found (kind: TracingModel, apiVersion: %s)\n", file,
                TM_API_VERSION);
        rc = 1;
    }
    if (rc == 0) {
        if (!strcmp(output, "json")) {
            json_t *list = json_pack("{s:s,s:s,s:O}", "apiVersion", "v1", "kind", "List", "items", all);
            json_dumpf(list, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(list);
        } else {
            struct strbuf out;
            strbuf_init(&out, 0);
            yaml_dump_all(all, &out);
            fputs(header.buf ? header.buf : "", stdout);
            fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
            strbuf_free(&out);
        }
    }
    strbuf_free(&header);
    json_decref(all);
    return rc;
}
