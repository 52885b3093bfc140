/* map_sampling.c - `sampling_strategy` blocks and inline `sampling: {}` objects ->
 * spec.sampling (strategy, rate, rules with conditions, adaptive, head and tail).
 *
 * Rule and policy conditions are checked here with the model's condition
 * language (model/condition.h): a syntax error is an error at the DSL line; a
 * condition that parses but cannot become a collector tail-sampling policy (for
 * example `x not in some_list` naming a list nobody defined) is a warning and
 * the rule is dropped. Named lists can be defined with `lists: { name: [...] }`. */
#include "dsl/mctx.h"
#include "model/condition.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- conditions ---- */

static int word_char(int c) { return isalnum(c) || c == '_' || c == '.'; }

/* Appends the list as ['a', 'b'] (values quoted with whichever quote they lack). */
static int append_list(struct strbuf *b, const json_t *list) {
    strbuf_puts(b, "[");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        char q = strchr(s, '\'') ? '"' : '\'';
        if (strchr(s, q))
            return -1;
        strbuf_printf(b, "%s%c%s%c", i ? ", " : "", q, s, q);
    }
    strbuf_puts(b, "]");
    return 0;
}

/* Replaces `in NAME` by the list NAME from lists (outside quotes). New string. */
static char *substitute_lists(const char *text, const json_t *lists) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        char c = text[i];
        if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < n && text[j] != c)
                j++;
            j = j < n ? j + 1 : n;
            strbuf_append(&b, text + i, j - i);
            i = j;
            continue;
        }
        int at_word = (i == 0 || !word_char((unsigned char)text[i - 1]));
        if (lists && at_word && i + 2 < n && strncasecmp(text + i, "in", 2) == 0 &&
            isspace((unsigned char)text[i + 2])) {
            size_t j = i + 2;
            while (j < n && isspace((unsigned char)text[j]))
                j++;
            size_t k = j;
            while (k < n && word_char((unsigned char)text[k]))
                k++;
            char *name = xstrndup(text + j, k - j);
            const json_t *list = json_object_get(lists, name);
            free(name);
            if (k > j && list) {
                struct strbuf tmp;
                strbuf_init(&tmp, 0);
                if (append_list(&tmp, list) == 0) {
                    strbuf_append(&b, text + i, j - i);
                    strbuf_append(&b, tmp.buf, tmp.len);
                    strbuf_free(&tmp);
                    i = k;
                    continue;
                }
                strbuf_free(&tmp);
            }
        }
        strbuf_append(&b, &c, 1);
        i++;
    }
    return strbuf_detach(&b, NULL);
}

/* Checks a condition. 0: ok (*ret_text: the condition with lists expanded,
 * caller frees); -1: an error was reported; -2: a warning was reported and the
 * rule must be dropped. */
static int check_condition(struct mctx *m, const struct dsl_value *v, const char *name,
                           double rate, char **ret_text) {
    const char *raw;
    if (mx_str(m, v, &raw) != 0)
        return -1;
    char *text = substitute_lists(raw, m->lists);
    struct diag tmp;
    diag_init(&tmp);
    struct cond *c = cond_parse(text, "", &tmp);
    int rc = 0;
    if (!c) {
        for (size_t i = 0; i < tmp.len; i++) {
            struct dsl_pos pos = v->pos;
            const char *msg = tmp.items[i].msg;
            unsigned col;
            int used = 0;
            /* "column N: ..." -> the DSL column itself, when the string has no escapes
             * (raw = text + quotes) and no list was expanded into it */
            if (sscanf(msg, "column %u: %n", &col, &used) == 1 && used > 0 && col > 0 &&
                v->raw_len == v->len + 2 && !strcmp(text, raw)) {
                pos.col += col;
                msg += used;
            }
            mx_error(m, pos, "condition \"%s\": %s", raw, msg);
        }
        rc = -1;
    } else {
        json_t *scratch = json_array();
        if (cond_to_policies(c, name, rate, scratch, "", &tmp) != 0) {
            for (size_t i = 0; i < tmp.len; i++)
                mx_warn(m, v->pos, "condition \"%s\" cannot become a tail-sampling policy: %s; "
                        "the rule is dropped", raw, tmp.items[i].msg);
            if (!tmp.len)
                mx_warn(m, v->pos, "condition \"%s\" cannot become a tail-sampling policy; "
                        "the rule is dropped", raw);
            rc = -2;
        }
        json_decref(scratch);
        cond_free(c);
    }
    diag_done(&tmp);
    if (rc == 0)
        *ret_text = text;
    else
        free(text);
    return rc;
}

/* One rule or policy {name, condition, rate[, priority]} -> new JSON object, or NULL. */
static json_t *map_rule(struct mctx *m, const struct dsl_value *it, int with_priority) {
    if (mx_obj(m, it) != 0)
        return NULL;
    const struct dsl_value *name = dsl_get(it, "name"), *cond = dsl_get(it, "condition");
    const struct dsl_value *rate = dsl_get(it, "rate"), *prio = dsl_get(it, "priority");
    const char *nm = NULL;
    double r = 1.0;
    long long pr = 0;
    int ok = 1;
    size_t old;
    if (!name) {
        mx_error(m, it->pos, "a rule needs a name");
        ok = 0;
    } else {
        old = mx_push(m, "name");
        ok &= mx_str(m, name, &nm) == 0;
        mx_pop(m, old);
    }
    if (!cond) {
        mx_error(m, it->pos, "a rule needs a condition (use \"*\" for every trace)");
        ok = 0;
    }
    if (rate) {
        old = mx_push(m, "rate");
        ok &= mx_rate(m, rate, &r) == 0;
        mx_pop(m, old);
    }
    if (prio && with_priority) {
        old = mx_push(m, "priority");
        ok &= mx_int(m, prio, 0, &pr) == 0;
        mx_pop(m, old);
    }
    for (size_t k = 0; k < it->n; k++) {
        const char *key = it->members[k].key;
        if (strcmp(key, "name") && strcmp(key, "condition") && strcmp(key, "rate") &&
            strcmp(key, "description") && (strcmp(key, "priority") || !with_priority))
            mx_warn(m, it->members[k].kpos, "unknown key '%s' in a rule; ignored", key);
    }
    if (!ok)
        return NULL;
    char *text = NULL;
    old = mx_push(m, "condition");
    int rc = check_condition(m, cond, nm, r, &text);
    mx_pop(m, old);
    if (rc != 0)
        return NULL;
    json_t *o = json_pack("{s:s, s:s}", "name", nm, "condition", text);
    free(text);
    if (rate)
        json_object_set_new(o, "rate", mx_number_json(rate));
    if (prio && with_priority)
        json_object_set_new(o, "priority", json_integer(pr));
    return o;
}

static void map_rules(struct mctx *m, const struct dsl_value *v, const char *path,
                      int with_priority) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        json_t *o = map_rule(m, v->items[i], with_priority);
        if (o)
            mx_spec_append(m, path, o, v->items[i]->pos);
        mx_pop(m, old);
    }
}

/* ---- fields ---- */

static void s_strategy(struct mctx *m, const struct dsl_value *v) {
    static const struct { const char *dsl, *model; } names[] = {
        {"probabilistic", "probabilistic"}, {"ratelimiting", "ratelimiting"},
        {"rate_limited", "ratelimiting"}, {"adaptive", "adaptive"}, {"always_on", "always_on"},
        {"always", "always_on"}, {"always_off", "always_off"}, {"never", "always_off"},
    };
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (mx_name_eq(s, names[i].dsl)) {
            mx_spec_set(m, "sampling", "strategy", json_string(names[i].model), v->pos);
            return;
        }
    mx_error(m, v->pos, "unknown sampling strategy \"%s\" (probabilistic, ratelimiting, adaptive, "
             "always_on, always_off)", s);
}

static void s_rate(struct mctx *m, const struct dsl_value *v) {
    double r;
    if (mx_rate(m, v, &r) == 0)
        mx_spec_set(m, "sampling", "rate", json_real(r), v->pos);
}

static void s_parent_based(struct mctx *m, const struct dsl_value *v) {
    int b;
    if (mx_bool(m, v, &b) == 0)
        mx_spec_set(m, "sampling", "parentBased", json_boolean(b), v->pos);
}

static void s_max_tps(struct mctx *m, const struct dsl_value *v) {
    double d;
    if (mx_num(m, v, &d) != 0)
        return;
    if (d < 0) {
        mx_error(m, v->pos, "must not be negative, got %s", v->text);
        return;
    }
    mx_spec_set(m, "sampling", "maxTracesPerSecond", mx_number_json(v), v->pos);
}

static void s_operations(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const struct dsl_value *n = dsl_get(it, "name"), *r = dsl_get(it, "rate");
        if (!n)
            n = dsl_get(it, "operation");
        const char *nm;
        double rate;
        if (mx_obj(m, it) == 0) {
            if (!n || !r)
                mx_error(m, it->pos, "an operation needs a name and a rate");
            else if (mx_str(m, n, &nm) == 0 && mx_rate(m, r, &rate) == 0)
                mx_spec_append(m, "sampling.operations",
                               json_pack("{s:s, s:f}", "name", nm, "rate", rate), it->pos);
        }
        mx_pop(m, old);
    }
}

static void s_rules(struct mctx *m, const struct dsl_value *v) {
    map_rules(m, v, "sampling.rules", 1);
}

static void s_services(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const struct dsl_value *n = dsl_get(it, "name"), *r = dsl_get(it, "rate");
        if (!n)
            n = dsl_get(it, "service");
        const char *nm;
        double rate;
        if (mx_obj(m, it) == 0) {
            if (!n || !r) {
                mx_error(m, it->pos, "a service needs a name and a rate");
            } else if (mx_str(m, n, &nm) == 0 && mx_rate(m, r, &rate) == 0) {
                char *path;
                json_t *svc = mx_service(m, nm, it->pos, &path);
                mx_set(m, svc, path, "samplingRate", json_real(rate), r->pos);
                free(path);
            }
        }
        mx_pop(m, old);
    }
}

static void a_field(struct mctx *m, const struct dsl_member *mb) {
    size_t old = mx_push(m, mb->key);
    const struct dsl_value *v = mb->val;
    int b;
    double r;
    const char *d;
    if (!strcmp(mb->key, "enabled")) {
        if (mx_bool(m, v, &b) == 0)
            mx_spec_set(m, "sampling.adaptive", "enabled", json_boolean(b), v->pos);
    } else if (!strcmp(mb->key, "target_rate") || !strcmp(mb->key, "min_rate") ||
               !strcmp(mb->key, "max_rate")) {
        const char *key = mb->key[0] == 't' ? "targetRate" : mb->key[1] == 'i' ? "minRate"
                                                                               : "maxRate";
        if (mx_rate(m, v, &r) == 0)
            mx_spec_set(m, "sampling.adaptive", key, json_real(r), v->pos);
    } else if (!strcmp(mb->key, "adjustment_interval")) {
        if (mx_duration(m, v, &d, NULL) == 0)
            mx_spec_set(m, "sampling.adaptive", "adjustmentInterval", json_string(d), v->pos);
    } else {
        mx_warn(m, mb->kpos, "unknown key; ignored");
    }
    mx_pop(m, old);
}

static void s_adaptive(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_BOOL) {
        mx_spec_set(m, "sampling.adaptive", "enabled", json_boolean(v->b), v->pos);
        return;
    }
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++)
        a_field(m, &v->members[i]);
}

static void s_head(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *en = dsl_get(v, "enabled");
    int enabled = 1;
    if (en && mx_bool(m, en, &enabled) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "enabled")) {
            /* handled above */
        } else if (!enabled) {
            mx_warn(m, mb->kpos, "head sampling is disabled (every trace is kept at the head), "
                    "so this is ignored");
        } else if (!strcmp(mb->key, "rate")) {
            s_rate(m, mb->val);
        } else if (!strcmp(mb->key, "max_qps") || !strcmp(mb->key, "max_traces_per_second")) {
            s_max_tps(m, mb->val);
        } else if (!strcmp(mb->key, "strategy") || !strcmp(mb->key, "type")) {
            s_strategy(m, mb->val);
        } else if (!strcmp(mb->key, "parent_based")) {
            s_parent_based(m, mb->val);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
    if (!enabled)
        mx_spec_set(m, "sampling", "rate", json_real(1.0), en->pos);
}

static void s_tail(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        const struct dsl_value *x = mb->val;
        int b;
        long long n;
        const char *d;
        if (!strcmp(mb->key, "enabled")) {
            if (mx_bool(m, x, &b) == 0)
                mx_spec_set(m, "sampling.tail", "enabled", json_boolean(b), x->pos);
        } else if (!strcmp(mb->key, "decision_wait")) {
            if (mx_duration(m, x, &d, NULL) == 0)
                mx_spec_set(m, "sampling.tail", "decisionWait", json_string(d), x->pos);
        } else if (!strcmp(mb->key, "num_traces")) {
            if (mx_int(m, x, 1, &n) == 0)
                mx_spec_set(m, "sampling.tail", "numTraces", json_integer(n), x->pos);
        } else if (!strcmp(mb->key, "expected_new_traces_per_sec")) {
            if (mx_int(m, x, 0, &n) == 0)
                mx_spec_set(m, "sampling.tail", "expectedNewTracesPerSec", json_integer(n),
                            x->pos);
        } else if (!strcmp(mb->key, "policies")) {
            map_rules(m, x, "sampling.tail.policies", 0);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static const struct mx_field sampling_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"lists", NULL, NULL},           /* read before the rules */
    {"type", s_strategy, NULL},
    {"strategy", s_strategy, NULL},
    {"rate", s_rate, NULL},
    {"parent_based", s_parent_based, NULL},
    {"max_traces_per_second", s_max_tps, NULL},
    {"max_qps", s_max_tps, NULL},
    {"operations", s_operations, NULL},
    {"services", s_services, NULL},
    {"rules", s_rules, NULL},
    {"adaptive", s_adaptive, NULL},
    {"head_sampling", s_head, NULL},
    {"tail_sampling", s_tail, NULL},
    {NULL, NULL, NULL},
};

/* lists: { name: ["a", "b"] } -> new JSON object of string arrays. */
static json_t *read_lists(struct mctx *m, const struct dsl_value *v) {
    json_t *lists = json_object();
    if (!v)
        return lists;
    size_t old = mx_push(m, "lists");
    if (mx_obj(m, v) == 0) {
        for (size_t i = 0; i < v->n; i++) {
            size_t o2 = mx_push(m, v->members[i].key);
            json_t *l;
            if (mx_arr(m, v->members[i].val) == 0 && mx_str_list(m, v->members[i].val, &l) == 0)
                json_object_set_new(lists, v->members[i].key, l);
            mx_pop(m, o2);
        }
    }
    mx_pop(m, old);
    return lists;
}

void map_sampling_obj(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_NUMBER || v->type == DSL_QUANTITY) {
        s_rate(m, v);   /* `sampling: 0.1` / `sampling: 10%`: the rate alone */
        return;
    }
    if (mx_obj(m, v) != 0)
        return;
    json_t *saved = m->lists;
    json_t *lists = read_lists(m, dsl_get(v, "lists"));
    m->lists = lists;
    mx_fields(m, v, sampling_fields);
    m->lists = saved;
    json_decref(lists);
}

void map_sampling_block(struct mctx *m) { map_sampling_obj(m, m->blk->body); }
