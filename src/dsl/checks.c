/* checks.c - validation_rules, performance_validation and best_practices applied
 * to a compiled TracingModel (see check.h).
 *
 * Known rules get built-in checks (required_fields, valid_sampling_rate or any
 * condition over sampling_rate, valid_propagation_type, service_uniqueness,
 * sampling_consistency); a rule that cannot be decided at compile time is a
 * warning saying so, never a silent pass. Checks read the model with its
 * defaults applied (tm_default), since that is what will run. */
#include "dsl/check.h"
#include "model/model.h"
#include "base/units.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the small condition evaluator ---- */

/* Splits s at the word `w` (or the symbol sym) outside quotes: returns the
 * position of the first split point, or NULL. */
static const char *find_op(const char *s, const char *w, const char *sym) {
    size_t wl = strlen(w), sl = strlen(sym);
    for (const char *p = s; *p; p++) {
        if (!strncmp(p, sym, sl))
            return p;
        if (!strncasecmp(p, w, wl) && (p == s || isspace((unsigned char)p[-1])) &&
            (isspace((unsigned char)p[wl]) || !p[wl]))
            return p;
    }
    return NULL;
}

static int eval_cmp(const char *s, size_t n, const char *var, double value) {
    char buf[256];
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char lhs[128], op[4], rhs[128];
    if (sscanf(buf, " %127[A-Za-z0-9_.] %3[<>=!] %127s", lhs, op, rhs) != 3)
        return -1;
    char *end;
    double num = strtod(rhs, &end);
    if (*end || strcmp(lhs, var))
        return -1;
    if (!strcmp(op, ">="))
        return value >= num;
    if (!strcmp(op, ">"))
        return value > num;
    if (!strcmp(op, "<="))
        return value <= num;
    if (!strcmp(op, "<"))
        return value < num;
    if (!strcmp(op, "==") || !strcmp(op, "="))
        return value == num;
    if (!strcmp(op, "!="))
        return value != num;
    return -1;
}

static int eval_and(const char *s, size_t n, const char *var, double value) {
    char *part = xstrndup(s, n);
    int result = 1;
    const char *p = part;
    for (;;) {
        const char *a = find_op(p, "and", "&&");
        size_t len = a ? (size_t)(a - p) : strlen(p);
        int r = eval_cmp(p, len, var, value);
        if (r < 0) {
            result = -1;
            break;
        }
        result = result && r;
        if (!a)
            break;
        p = a + (a[0] == '&' ? 2 : 3);
    }
    free(part);
    return result;
}

int check_eval(const char *cond, const char *var, double value) {
    int result = 0;
    const char *p = cond;
    for (;;) {
        const char *o = find_op(p, "or", "||");
        size_t len = o ? (size_t)(o - p) : strlen(p);
        int r = eval_and(p, len, var, value);
        if (r < 0)
            return -1;
        result = result || r;
        if (!o)
            return result;
        p = o + 2;
    }
}

/* ---- reporting ---- */

/* Where the model field at path came from (or, for an object, its first field
 * that has a source; else its nearest parent that has one); NULL when unknown. */
static const char *prov_where(const struct mctx *m, const char *path) {
    json_t *exact = json_object_get(m->prov, path);
    if (exact)
        return json_string_value(json_object_get(exact, "where"));
    size_t pl = strlen(path);
    const char *k;
    json_t *child;
    json_object_foreach(m->prov, k, child) {
        if (!strncmp(k, path, pl) && (k[pl] == '.' || k[pl] == '['))
            return json_string_value(json_object_get(child, "where"));
    }
    char *p = xstrdup(path);
    const char *where = NULL;
    for (;;) {
        json_t *pv = json_object_get(m->prov, p);
        if (pv) {
            where = json_string_value(json_object_get(pv, "where"));
            break;
        }
        char *cut = strrchr(p, '.'), *br = strrchr(p, '[');
        if (br > cut)
            cut = br;
        if (!cut)
            break;
        *cut = '\0';
    }
    free(p);
    return where;
}

static void creport(struct mctx *m, const struct check_ctx *c, enum diag_level lvl,
                    const char *path, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void creport(struct mctx *m, const struct check_ctx *c, enum diag_level lvl,
                    const char *path, const char *rule, const char *fmt, ...) {
    char where[600];
    const char *w = path ? prov_where(m, path) : NULL;
    if (w)
        snprintf(where, sizeof(where), "%s", w);
    else
        mx_where(m, c->root ? c->root->pos : m->blk->pos, where, sizeof(where));
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_add(m->d, lvl, where, "%s \"%s\": %s: %s \"%s\": %s", m->blk->kind, m->blk->name, rule,
             c->root ? c->root->kind : "model", c->root ? c->root->name : "", msg);
    free(msg);
}

static const char *text_of(const struct dsl_value *obj, const char *key) {
    const struct dsl_value *v = dsl_get(obj, key);
    return v && (v->type == DSL_STRING || v->type == DSL_WORD || v->type == DSL_QUANTITY)
               ? v->text : NULL;
}

/* ---- the model's values ---- */

struct rate_ref {
    char path[128];
    double v;
};

/* Every rate of the model with its path (at most max). */
static size_t model_rates(const json_t *doc, struct rate_ref *out, size_t max) {
    size_t n = 0;
    const json_t *spec = json_object_get(doc, "spec");
    const json_t *s = json_object_get(spec, "sampling");
#define ADD(p, val) do { if (n < max) { snprintf(out[n].path, sizeof(out[n].path), "%s", p); \
                                         out[n].v = (val); n++; } } while (0)
    char p[128];
    json_t *x = json_object_get(s, "rate");
    if (json_is_number(x))
        ADD("spec.sampling.rate", json_number_value(x));
    static const char *const ad[] = {"targetRate", "minRate", "maxRate", NULL};
    for (size_t i = 0; ad[i]; i++) {
        x = json_object_get(json_object_get(s, "adaptive"), ad[i]);
        snprintf(p, sizeof(p), "spec.sampling.adaptive.%s", ad[i]);
        if (json_is_number(x))
            ADD(p, json_number_value(x));
    }
    static const struct { const char *path, *key; } lists[] = {
        {"operations", "rate"}, {"rules", "rate"},
    };
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(s, lists[l].path), i, it) {
            x = json_object_get(it, lists[l].key);
            snprintf(p, sizeof(p), "spec.sampling.%s[%zu].rate", lists[l].path, i);
            if (json_is_number(x))
                ADD(p, json_number_value(x));
        }
    }
    size_t i, k;
    json_t *it, *op;
    json_array_foreach(json_object_get(json_object_get(s, "tail"), "policies"), i, it) {
        x = json_object_get(it, "rate");
        snprintf(p, sizeof(p), "spec.sampling.tail.policies[%zu].rate", i);
        if (json_is_number(x))
            ADD(p, json_number_value(x));
    }
    json_array_foreach(json_object_get(spec, "services"), i, it) {
        x = json_object_get(it, "samplingRate");
        snprintf(p, sizeof(p), "spec.services[%zu].samplingRate", i);
        if (json_is_number(x))
            ADD(p, json_number_value(x));
        json_array_foreach(json_object_get(it, "operations"), k, op) {
            x = json_object_get(op, "rate");
            snprintf(p, sizeof(p), "spec.services[%zu].operations[%zu].rate", i, k);
            if (json_is_number(x))
                ADD(p, json_number_value(x));
        }
    }
#undef ADD
    return n;
}

static int has_type(const json_t *doc, const char *t) {
    size_t i;
    json_t *v;
    json_array_foreach(tm_get(doc, "spec.propagation.types"), i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), t))
            return 1;
    }
    return 0;
}

/* ---- validation_rules ---- */

struct vrule {
    const struct dsl_value *obj;
    const char *name, *message;
    enum diag_level lvl;
    char label[160];
};

static void vr_required(struct mctx *m, const struct check_ctx *c, struct vrule *r) {
    const struct dsl_value *f = dsl_get(r->obj, "fields");
    json_t *l;
    if (!f) {
        if (c->first)
            mx_error(m, r->obj->pos, "required_fields needs fields: [...]");
        return;
    }
    if (mx_str_list(m, f, &l) != 0)
        return;
    size_t i;
    json_t *x;
    json_array_foreach(l, i, x) {
        const char *k = json_string_value(x);
        int have = dsl_get(c->root->body, k) != NULL || (!strcmp(k, "namespace") && c->ns_given);
        if (!have)
            creport(m, c, r->lvl, NULL, r->label, "has no '%s'%s%s%s", k,
                    r->message ? " (" : "", r->message ? r->message : "", r->message ? ")" : "");
    }
    json_decref(l);
}

static void vr_condition(struct mctx *m, const struct check_ctx *c, struct vrule *r,
                         const json_t *dm) {
    const char *cond = text_of(r->obj, "condition");
    struct rate_ref rates[256];
    size_t n = model_rates(dm, rates, 256);
    if (check_eval(cond, "sampling_rate", 0.5) < 0) {
        if (c->first)
            mx_warn(m, dsl_get(r->obj, "condition")->pos, "%s: condition \"%s\" cannot be "
                    "checked at compile time (supported: comparisons of sampling_rate joined "
                    "by AND/OR)", r->name, cond);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!check_eval(cond, "sampling_rate", rates[i].v))
            creport(m, c, r->lvl, rates[i].path, r->label, "%s = %g does not satisfy \"%s\"%s%s%s",
                    rates[i].path, rates[i].v, cond, r->message ? " (" : "",
                    r->message ? r->message : "", r->message ? ")" : "");
}

static void vr_propagation(struct mctx *m, const struct check_ctx *c, struct vrule *r,
                           const json_t *dm) {
    const struct dsl_value *a = dsl_get(r->obj, "allowed_types");
    json_t *l;
    if (!a || mx_str_list(m, a, &l) != 0) {
        if (!a && c->first)
            mx_error(m, r->obj->pos, "valid_propagation_type needs allowed_types: [...]");
        return;
    }
    size_t i, k;
    json_t *t, *x;
    json_array_foreach(tm_get(dm, "spec.propagation.types"), i, t) {
        const char *have = json_string_value(t);
        if (!have || !strcmp(have, "baggage") || !strcmp(have, "none"))
            continue; /* baggage travels beside the trace context, not instead of it */
        int ok = 0;
        json_array_foreach(l, k, x) {
            const char *p = mx_propagator(json_string_value(x));
            if (p && !strcmp(p, have))
                ok = 1;
        }
        if (!ok)
            creport(m, c, r->lvl, "spec.propagation.types", r->label, "propagation type %s is "
                    "not allowed%s%s%s", have, r->message ? " (" : "",
                    r->message ? r->message : "", r->message ? ")" : "");
    }
    json_decref(l);
}

static void vr_unique(struct mctx *m, const struct check_ctx *c, struct vrule *r,
                      const json_t *dm) {
    const char *ns = tm_get_str(m->doc, "metadata.namespace", "");
    size_t i, j, k;
    json_t *s, *other, *s2;
    json_array_foreach(json_object_get(json_object_get(dm, "spec"), "services"), i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        json_array_foreach(c->models, j, other) {
            if (other == m->doc || strcmp(tm_get_str(other, "metadata.namespace", ""), ns))
                continue;
            json_array_foreach(json_object_get(json_object_get(other, "spec"), "services"), k, s2) {
                const char *n2 = json_string_value(json_object_get(s2, "name"));
                if (name && n2 && !strcmp(name, n2)) {
                    char path[64];
                    snprintf(path, sizeof(path), "spec.services[%zu]", i);
                    creport(m, c, r->lvl, path, r->label, "service \"%s\" is also defined by "
                            "TracingModel \"%s\" in the same namespace%s%s%s", name,
                            tm_get_str(other, "metadata.name", "?"), r->message ? " (" : "",
                            r->message ? r->message : "", r->message ? ")" : "");
                }
            }
        }
    }
}

/* Services a condition names: service.name == 'x' / in ['x', 'y']. */
static int cond_names_service(const char *cond, const char *svc) {
    if (!strstr(cond, "service.name"))
        return 0;
    size_t n = strlen(svc);
    for (const char *p = strstr(cond, svc); p; p = strstr(p + 1, svc))
        if (p > cond && (p[-1] == '\'' || p[-1] == '"') && (p[n] == '\'' || p[n] == '"'))
            return !strstr(cond, "not in") && !strstr(cond, "!=");
    return 0;
}

static void vr_consistency(struct mctx *m, const struct check_ctx *c, struct vrule *r,
                           const json_t *dm) {
    const json_t *spec = json_object_get(dm, "spec");
    double model_rate = tm_get_num(dm, "spec.sampling.rate", 1.0);
    static const char *const lists[] = {"rules", "tail.policies", NULL};
    for (size_t l = 0; lists[l]; l++) {
        char lp[64];
        snprintf(lp, sizeof(lp), "spec.sampling.%s", lists[l]);
        size_t i, k;
        json_t *rule, *svc;
        json_array_foreach(tm_get(dm, lp), i, rule) {
            const char *cond = json_string_value(json_object_get(rule, "condition"));
            json_t *rv = json_object_get(rule, "rate");
            double rate = json_is_number(rv) ? json_number_value(rv) : 1.0;
            json_array_foreach(json_object_get(spec, "services"), k, svc) {
                const char *name = json_string_value(json_object_get(svc, "name"));
                json_t *sr = json_object_get(svc, "samplingRate");
                double head = json_is_number(sr) ? json_number_value(sr) : model_rate;
                if (!cond || !name || !cond_names_service(cond, name) || head + 1e-12 >= rate)
                    continue;
                char path[64];
                snprintf(path, sizeof(path), "spec.services[%zu]%s", k,
                         json_is_number(sr) ? ".samplingRate" : "");
                creport(m, c, r->lvl, path, r->label, "service \"%s\" is head-sampled at %g but "
                        "rule \"%s\" wants %g of its traces%s%s%s", name, head,
                        json_string_value(json_object_get(rule, "name")), rate,
                        r->message ? " (" : "", r->message ? r->message : "",
                        r->message ? ")" : "");
            }
        }
    }
}

static void vr_rule(struct mctx *m, const struct check_ctx *c, const struct dsl_value *obj,
                    const json_t *dm) {
    struct vrule r = {obj, text_of(obj, "rule"), text_of(obj, "message"), DIAG_ERROR, ""};
    if (!r.name)
        r.name = text_of(obj, "name");
    if (!r.name) {
        if (c->first)
            mx_error(m, obj->pos, "a validation rule needs rule: \"<name>\"");
        return;
    }
    const char *sev = text_of(obj, "severity");
    if (sev && (!strcmp(sev, "warning") || !strcmp(sev, "warn")))
        r.lvl = DIAG_WARNING;
    else if (sev && strcmp(sev, "error") && c->first)
        mx_warn(m, dsl_get(obj, "severity")->pos, "severity is error or warning; using error");
    snprintf(r.label, sizeof(r.label), "%.70s[%.70s]", m->path, r.name);
    if (!c->root)
        return;
    if (!strcmp(r.name, "required_fields"))
        vr_required(m, c, &r);
    else if (!strcmp(r.name, "valid_propagation_type"))
        vr_propagation(m, c, &r, dm);
    else if (!strcmp(r.name, "service_uniqueness"))
        vr_unique(m, c, &r, dm);
    else if (!strcmp(r.name, "sampling_consistency"))
        vr_consistency(m, c, &r, dm);
    else if (text_of(obj, "condition"))
        vr_condition(m, c, &r, dm);
    else if (c->first)
        mx_warn(m, obj->pos, "rule \"%s\" cannot be checked at compile time (known rules: "
                "required_fields, valid_sampling_rate, valid_propagation_type, "
                "service_uniqueness, sampling_consistency, or a condition over sampling_rate)",
                r.name);
}

static void validation_rules(struct mctx *m, const struct check_ctx *c, const json_t *dm) {
    const struct dsl_value *b = m->blk->body;
    for (size_t i = 0; i < b->n; i++) {
        const struct dsl_member *mb = &b->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "description") || !strcmp(mb->key, "namespace") ||
            !strcmp(mb->key, "tracing_model")) {
            /* nothing to check */
        } else if (!strcmp(mb->key, "syntax") || !strcmp(mb->key, "semantic") ||
                   !strcmp(mb->key, "rules")) {
            if (mx_arr(m, mb->val) == 0)
                for (size_t k = 0; k < mb->val->n; k++) {
                    size_t o2 = mx_push_index(m, k);
                    if (mx_obj(m, mb->val->items[k]) == 0)
                        vr_rule(m, c, mb->val->items[k], dm);
                    mx_pop(m, o2);
                }
        } else if (c->first) {
            mx_warn(m, mb->kpos, "unknown key; ignored (rules go in syntax: or semantic:)");
        }
        mx_pop(m, old);
    }
}

/* ---- performance_validation ---- */

/* Spans per second after head sampling, or -1 when the model gives no load. */
static double spans_per_second(const json_t *dm) {
    double rps = tm_get_num(dm, "spec.capacity.requestsPerSecond", -1);
    if (rps < 0)
        return -1;
    double spr = tm_get_num(dm, "spec.capacity.spansPerRequest", 20);
    const char *strategy = tm_get_str(dm, "spec.sampling.strategy", "probabilistic");
    double rate = tm_get_num(dm, "spec.sampling.rate", 1.0);
    if (!strcmp(strategy, "always_off"))
        rate = 0;
    else if (!strcmp(strategy, "always_on"))
        rate = 1;
    else if (!strcmp(strategy, "ratelimiting") && rps > 0) {
        double mx = tm_get_num(dm, "spec.sampling.maxTracesPerSecond", rps);
        rate = mx < rps ? mx / rps : 1;
    }
    return rps * rate * spr;
}

static void pv_constraint(struct mctx *m, const struct check_ctx *c, const struct dsl_value *o,
                          const json_t *dm) {
    const char *metric = text_of(o, "metric"), *action = text_of(o, "action");
    const struct dsl_value *thr = dsl_get(o, "threshold");
    enum diag_level lvl = action && !strcmp(action, "error") ? DIAG_ERROR : DIAG_WARNING;
    if (!metric || !thr) {
        if (c->first)
            mx_error(m, o->pos, "a constraint needs metric and threshold");
        return;
    }
    if (action && strcmp(action, "error") && strcmp(action, "warn") && strcmp(action, "warning") &&
        c->first)
        mx_warn(m, dsl_get(o, "action")->pos, "action is warn or error; using warn");
    char label[200];
    snprintf(label, sizeof(label), "%.80s[%.80s]", m->path, metric);
    double limit;
    if (!strcmp(metric, "storage_usage")) {
        if (mx_size(m, thr, NULL, 0, &limit) != 0 || !c->root)
            return;
        double sps = spans_per_second(dm);
        int64_t ret_ms;
        const char *type = tm_get_str(dm, "spec.backend.type", "");
        if (!strcmp(type, "otlp")) {
            if (c->first)
                mx_warn(m, o->pos, "storage_usage cannot be estimated for an external otlp "
                        "backend");
            return;
        }
        if (sps < 0 || parse_duration_ms(tm_get_str(dm, "spec.backend.retention", ""), &ret_ms)) {
            creport(m, c, DIAG_WARNING, NULL, label, "storage_usage cannot be estimated without "
                    "capacity.requests_per_second in the model");
            return;
        }
        double bytes = sps * tm_get_num(dm, "spec.capacity.spanSizeBytes", 2048) *
                       ((double)ret_ms / 1000.0);
        if (bytes > limit)
            creport(m, c, lvl, "spec.capacity.requestsPerSecond", label,
                    "estimated storage %.4g GB over the "
                    "retention %s exceeds %s", bytes / 1e9,
                    tm_get_str(dm, "spec.backend.retention", "?"), thr->text);
    } else if (!strcmp(metric, "spans_per_second") || !strcmp(metric, "span_rate")) {
        if (mx_num(m, thr, &limit) != 0 || !c->root)
            return;
        double sps = spans_per_second(dm);
        if (sps < 0)
            creport(m, c, DIAG_WARNING, NULL, label, "spans_per_second cannot be estimated "
                    "without capacity.requests_per_second in the model");
        else if (sps > limit)
            creport(m, c, lvl, "spec.capacity.requestsPerSecond", label,
                    "estimated %.0f spans/s exceeds %g", sps,
                    limit);
    } else if (!strcmp(metric, "sampling_rate")) {
        if (mx_rate(m, thr, &limit) != 0 || !c->root)
            return;
        struct rate_ref rates[256];
        size_t n = model_rates(dm, rates, 256);
        for (size_t i = 0; i < n; i++)
            if (rates[i].v > limit)
                creport(m, c, lvl, rates[i].path, label, "%s = %g exceeds %g", rates[i].path,
                        rates[i].v, limit);
    } else if (c->first) {
        mx_warn(m, o->pos, "%s is measured at run time and cannot be checked when compiling "
                "(compile-time metrics: storage_usage, spans_per_second, sampling_rate)", metric);
    }
}

static void pv_optimization(struct mctx *m, const struct check_ctx *c, const struct dsl_value *o,
                            const json_t *dm) {
    const char *strategy = text_of(o, "strategy");
    const struct dsl_value *en = dsl_get(o, "enabled"), *tr = dsl_get(o, "target_rate");
    if (en && en->type == DSL_BOOL && !en->b)
        return;
    char label[200];
    snprintf(label, sizeof(label), "%.80s[%.80s]", m->path, strategy ? strategy : "?");
    if (strategy && !strcmp(strategy, "sampling_optimization") && tr) {
        double target;
        if (mx_rate(m, tr, &target) != 0 || !c->root)
            return;
        double rate = tm_get_num(dm, "spec.sampling.rate", 1.0);
        int adaptive = !strcmp(tm_get_str(dm, "spec.sampling.strategy", ""), "adaptive");
        if (!adaptive && rate > target + 1e-12)
            creport(m, c, DIAG_WARNING, "spec.sampling.rate", label, "head rate %g is above the "
                    "target %g: lower sampling.rate or use adaptive sampling", rate, target);
    } else if (c->first) {
        mx_warn(m, o->pos, "optimization \"%s\" is not something the compiler can check or "
                "apply; ignored", strategy ? strategy : "?");
    }
}

static void performance_validation(struct mctx *m, const struct check_ctx *c, const json_t *dm) {
    const struct dsl_value *b = m->blk->body;
    for (size_t i = 0; i < b->n; i++) {
        const struct dsl_member *mb = &b->members[i];
        size_t old = mx_push(m, mb->key);
        int cons = !strcmp(mb->key, "constraints"), opt = !strcmp(mb->key, "optimization");
        if (cons || opt) {
            if (mx_arr(m, mb->val) == 0)
                for (size_t k = 0; k < mb->val->n; k++) {
                    size_t o2 = mx_push_index(m, k);
                    if (mx_obj(m, mb->val->items[k]) == 0) {
                        if (cons)
                            pv_constraint(m, c, mb->val->items[k], dm);
                        else
                            pv_optimization(m, c, mb->val->items[k], dm);
                    }
                    mx_pop(m, o2);
                }
        } else if (strcmp(mb->key, "description") && strcmp(mb->key, "namespace") &&
                   strcmp(mb->key, "tracing_model") && c->first) {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

/* ---- best_practices ---- */

static void bp_pattern(struct mctx *m, const struct check_ctx *c, const struct dsl_value *o,
                       const json_t *dm) {
    const char *name = text_of(o, "name");
    const struct dsl_value *impl = dsl_get(o, "implementation");
    char label[200];
    snprintf(label, sizeof(label), "%.80s[%.80s]", m->path, name ? name : "?");
    if (!name) {
        if (c->first)
            mx_warn(m, o->pos, "a pattern needs a name; not checked");
        return;
    }
    if (!c->root)
        return;
    if (!strcmp(name, "distributed_context_propagation")) {
        const char *st = text_of(impl, "strategy"), *bg = text_of(impl, "baggage");
        const char *p = st ? mx_propagator(st) : "tracecontext";
        if (p && !has_type(dm, p))
            creport(m, c, DIAG_WARNING, "spec.propagation.types", label, "propagation does not "
                    "use %s", p);
        if (bg && !strcmp(bg, "enabled") && !has_type(dm, "baggage"))
            creport(m, c, DIAG_WARNING, "spec.propagation.types", label, "baggage is not "
                    "propagated");
    } else if (!strcmp(name, "adaptive_sampling")) {
        if (strcmp(tm_get_str(dm, "spec.sampling.strategy", ""), "adaptive") &&
            !tm_get_bool(dm, "spec.sampling.adaptive.enabled", 0))
            creport(m, c, DIAG_WARNING, "spec.sampling", label, "sampling is not adaptive");
    } else if (!strcmp(name, "correlation_tracking")) {
        json_t *h = tm_get(dm, "spec.propagation.correlation.headers");
        json_t *keys = tm_get(dm, "spec.propagation.baggage.allowedKeys");
        if (!json_array_size(h) && !json_array_size(keys))
            creport(m, c, DIAG_WARNING, "spec.propagation", label, "no correlation headers or "
                    "baggage keys carry a correlation id");
    } else if (c->first) {
        mx_warn(m, o->pos, "pattern \"%s\" has no lint (known: distributed_context_propagation, "
                "adaptive_sampling, correlation_tracking)", name);
    }
}

static void bp_anti(struct mctx *m, const struct check_ctx *c, const struct dsl_value *o,
                    const json_t *dm) {
    const char *name = text_of(o, "name");
    char label[200];
    snprintf(label, sizeof(label), "%.80s[%.80s]", m->path, name ? name : "?");
    if (!name) {
        if (c->first)
            mx_warn(m, o->pos, "an anti-pattern needs a name; not checked");
        return;
    }
    if (!c->root)
        return;
    const char *strategy = tm_get_str(dm, "spec.sampling.strategy", "probabilistic");
    double rate = tm_get_num(dm, "spec.sampling.rate", 1.0);
    int tail = tm_get_bool(dm, "spec.sampling.tail.enabled", 0);
    if (!strcmp(name, "over_tracing")) {
        if ((!strcmp(strategy, "always_on") || (!strcmp(strategy, "probabilistic") && rate >= 1)) &&
            !tail)
            creport(m, c, DIAG_WARNING, "spec.sampling.rate", label, "every trace is kept (head "
                    "rate 1, no tail sampling)");
    } else if (!strcmp(name, "under_tracing")) {
        if (!strcmp(strategy, "always_off") || (!strcmp(strategy, "probabilistic") && rate < 0.001))
            creport(m, c, DIAG_WARNING, "spec.sampling.rate", label, "head sampling keeps almost "
                    "no traces (rate %g)", rate);
        size_t i;
        json_t *s;
        json_array_foreach(tm_get(dm, "spec.services"), i, s) {
            json_t *r = json_object_get(s, "samplingRate");
            if (json_is_number(r) && json_number_value(r) == 0) {
                char path[64];
                snprintf(path, sizeof(path), "spec.services[%zu].samplingRate", i);
                creport(m, c, DIAG_WARNING, path, label, "service \"%s\" is not traced at all",
                        json_string_value(json_object_get(s, "name")));
            }
        }
    } else if (c->first) {
        mx_warn(m, o->pos, "anti-pattern \"%s\" has no lint (known: over_tracing, under_tracing)",
                name);
    }
}

static void best_practices(struct mctx *m, const struct check_ctx *c, const json_t *dm) {
    const struct dsl_value *b = m->blk->body;
    for (size_t i = 0; i < b->n; i++) {
        const struct dsl_member *mb = &b->members[i];
        size_t old = mx_push(m, mb->key);
        int pat = !strcmp(mb->key, "patterns"), anti = !strcmp(mb->key, "anti_patterns");
        if (pat || anti) {
            if (mx_arr(m, mb->val) == 0)
                for (size_t k = 0; k < mb->val->n; k++) {
                    size_t o2 = mx_push_index(m, k);
                    if (mx_obj(m, mb->val->items[k]) == 0) {
                        if (pat)
                            bp_pattern(m, c, mb->val->items[k], dm);
                        else
                            bp_anti(m, c, mb->val->items[k], dm);
                    }
                    mx_pop(m, o2);
                }
        } else if (strcmp(mb->key, "description") && strcmp(mb->key, "namespace") &&
                   strcmp(mb->key, "tracing_model") && c->first) {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

void check_block(struct mctx *m, const struct check_ctx *c) {
    json_t *dm = m->doc ? tm_default(m->doc) : json_object();
    if (mx_obj(m, m->blk->body) == 0) {
        if (!strcmp(m->blk->kind, "validation_rules"))
            validation_rules(m, c, dm);
        else if (!strcmp(m->blk->kind, "performance_validation"))
            performance_validation(m, c, dm);
        else
            best_practices(m, c, dm);
    }
    json_decref(dm);
}
