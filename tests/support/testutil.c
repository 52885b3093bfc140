/* testutil.c - fixture and golden-file helpers for the unit tests (see testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "base/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *srcdir(void) {
    const char *d = getenv("OP_SOURCE_DIR");
    return d && *d ? d : ".";
}

const char *tu_path(const char *relpath) {
    static char buf[4096];
    if (relpath[0] == '/')
        snprintf(buf, sizeof(buf), "%s", relpath);
    else
        snprintf(buf, sizeof(buf), "%s/%s", srcdir(), relpath);
    return buf;
}

char *tu_read_file(const char *relpath, size_t *ret_len) {
    const char *p = tu_path(relpath);
    FILE *f = fopen(p, "rb");
    if (!f) {
        fail_msg("cannot open fixture %s", p);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (ret_len)
        *ret_len = got;
    return buf;
}

json_t *tu_load(const char *relpath) {
    size_t n;
    char *text = tu_read_file(relpath, &n);
    struct op_status st = {0};
    json_t *v = yaml_load_one(text, n, &st);
    free(text);
    if (!v)
        fail_msg("fixture %s: %s", relpath, st.msg);
    return v;
}

void tu_assert_json_equal(const json_t *want, const json_t *got, const char *what) {
    if (want && got && json_equal(want, got))
        return;
    char *w = want ? json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(null)");
    char *g = got ? json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(null)");
    print_error("%s differs\n--- want\n%s\n--- got\n%s\n", what ? what : "JSON", w, g);
    free(w);
    free(g);
    fail();
}

void tu_assert_golden(const char *text, const char *relpath) {
    const char *upd = getenv("OP_UPDATE_GOLDEN");
    if (upd && !strcmp(upd, "1")) {
        FILE *f = fopen(tu_path(relpath), "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return;
    }
    size_t n;
    char *want = tu_read_file(relpath, &n);
    if (strcmp(want, text) != 0) {
        /* find the first differing line to make the failure readable */
        size_t line = 1, i = 0;
        while (want[i] && text[i] && want[i] == text[i]) {
            if (want[i] == '\n')
                line++;
            i++;
        }
        size_t ls = i;
        while (ls > 0 && want[ls - 1] != '\n')
            ls--;
        print_error("golden %s differs at line %zu\n--- want: %.200s\n--- got:  %.200s\n"
                    "(run with OP_UPDATE_GOLDEN=1 to accept the new output)\n",
                    relpath, line, want + ls, text + ls);
        free(want);
        fail();
    }
    free(want);
}
