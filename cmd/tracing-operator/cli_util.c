/* cli_util.c - input reading and diagnostic printing for the CLI (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

char *cli_read_input(const char *cmd, const char *path, size_t *ret_len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tracing-operator %s: %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    struct strbuf b;
    strbuf_init(&b, CLI_MAX_INPUT);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((rc = strbuf_append(&b, chunk, n)) < 0)
            break;
    int rerr = ferror(f);
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        fprintf(stderr, "tracing-operator %s: %s: input larger than %u bytes, refusing\n", cmd, path,
                CLI_MAX_INPUT);
        strbuf_free(&b);
        return NULL;
    }
    if (rerr) {
        fprintf(stderr, "tracing-operator %s: %s: read error (is it a directory?)\n", cmd, path);
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_detach(&b, ret_len);
}

void cli_print_diag(FILE *f, const char *prefix, const struct diag *d) {
    for (size_t i = 0; i < d->len; i++) {
        const struct diag_item *it = &d->items[i];
        const char *lvl = it->level == DIAG_ERROR ? "error" : "warning";
        if (it->where && *it->where)
            fprintf(f, "%s: %s: %s: %s\n", prefix, lvl, it->where, it->msg);
        else
            fprintf(f, "%s: %s: %s\n", prefix, lvl, it->msg);
    }
    size_t shown = d->len, total = d->errors + d->warnings;
    if (total > shown)
        fprintf(f, "%s: ... and %zu more\n", prefix, total - shown);
}

json_t *cli_flatten_lists(json_t *docs) {
    json_t *out = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        json_t *items = json_object_get(doc, "items");
        size_t kl = kind ? strlen(kind) : 0;
        if (kind && kl >= 4 && !strcmp(kind + kl - 4, "List") && json_is_array(items))
            json_array_extend(out, items);
        else
            json_array_append(out, doc);
    }
    return out;
}
