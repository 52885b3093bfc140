/* policies.c - compiles a model's sampling.rules[] and sampling.tail.policies[]
 * into one tail_sampling policy list (tm_tail_policies). Pure. */
#include "model/condition.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/xalloc.h"

struct rule_ref {
    const json_t *rule;
    const char *list;       /* "rules" or "tail.policies" */
    size_t index;
    long long priority;
    size_t order;
};

static int by_priority(const void *a, const void *b) {
    const struct rule_ref *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static size_t collect(const json_t *arr, const char *list, int with_priority,
                      struct rule_ref *out, size_t n) {
    size_t i;
    const json_t *r;
    json_array_foreach(arr, i, r) {
        json_t *pr = json_object_get(r, "priority");
        out[n] = (struct rule_ref){
            .rule = r, .list = list, .index = i, .order = n,
            /* rules without a priority go last, in their order */
            .priority = with_priority && json_is_integer(pr) ? json_integer_value(pr)
                                                             : (long long)INT64_MAX,
        };
        n++;
    }
    return n;
}

int tm_tail_policies(const json_t *model, json_t *policies, struct diag *d) {
    json_t *rules = tm_get(model, "spec.sampling.rules");
    json_t *tail = tm_get(model, "spec.sampling.tail.policies");
    size_t nr = json_is_array(rules) ? json_array_size(rules) : 0;
    size_t nt = json_is_array(tail) ? json_array_size(tail) : 0;
    if (nr + nt == 0)
        return 0;
    struct rule_ref *refs = xcalloc(nr + nt, sizeof(*refs));
    size_t n = 0;
    if (nr)
        n = collect(rules, "rules", 1, refs, n);
    size_t first_tail = n;
    if (nt)
        n = collect(tail, "tail.policies", 0, refs, n);
    qsort(refs, first_tail, sizeof(*refs), by_priority);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = refs[i].rule;
        char *where = xasprintf("spec.sampling.%s[%zu].condition", refs[i].list, refs[i].index);
        const char *text = json_string_value(json_object_get(r, "condition"));
        const char *name = json_string_value(json_object_get(r, "name"));
        json_t *rate = json_object_get(r, "rate");
        char fallback[48];
        if (!name) {
            snprintf(fallback, sizeof(fallback), "%s-%zu",
                     refs[i].list[0] == 'r' ? "rule" : "policy", refs[i].index);
            name = fallback;
        }
        struct cond *c = NULL;
        if (!text) {
            if (d)
                diag_error(d, where, "required: a condition such as duration > 1s");
            rc = OP_EINVALID;
        } else if (!(c = cond_parse(text, where, d))) {
            rc = OP_EINVALID;
        } else if (cond_to_policies(c, name, json_is_number(rate) ? json_number_value(rate) : 1.0,
                                    policies, where, d) != 0) {
            rc = OP_EINVALID;
        }
        cond_free(c);
        free(where);
    }
    free(refs);
    return rc;
}
