/* condition.c - the sampling-rule condition language. FIRST CUT: stubs so
 * callers link; the lexer/parser/compiler land in the next commits. */
#include "model/condition.h"
#include "model/model.h"

#include <stdlib.h>

#include "base/err.h"
#include "base/xalloc.h"

struct cond {
    char *text;
};

struct cond *cond_parse(const char *text, const char *where, struct diag *d) {
    (void)where;
    (void)d;
    struct cond *c = xcalloc(1, sizeof(*c));
    c->text = xstrdup(text ? text : "");
    return c;
}

void cond_free(struct cond *c) {
    if (!c)
        return;
    free(c->text);
    free(c);
}

int cond_to_policies(const struct cond *c, const char *name, double rate, json_t *policies,
                     const char *where, struct diag *d) {
    (void)c; (void)name; (void)rate; (void)policies;
    diag_error(d, where, "condition compiler not implemented yet");
    return OP_EUNSUPPORTED;
}

char *cond_to_string(const struct cond *c) { return xstrdup(c->text); }

int tm_tail_policies(const json_t *model, json_t *policies, struct diag *d) {
    (void)model; (void)policies; (void)d;
    return 0;
}
