/* map_analysis.c - `performance_analysis`, `monitoring` and
 * `opentelemetry_integration` blocks -> spec.analysis (latency percentiles,
 * error rate, throughput) and spec.alerts (rules, span drop rate).
 *
 * What these blocks describe but a TracingModel cannot carry (custom metric
 * definitions, alert actions and routing, bottleneck algorithms, optimisation
 * advice) is reported as a warning at its line, never silently dropped. */
#include "dsl/mctx.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- thresholds ---- */

/* "p95", "p95_latency", "p99.9_latency" -> 0.95 ...; -1 when not a percentile name. */
static double percentile_of(const char *name) {
    if (name[0] != 'p' && name[0] != 'P')
        return -1;
    char *end;
    double v = strtod(name + 1, &end);
    if (end == name + 1 || !(v > 0 && v < 100))
        return -1;
    if (*end && strcmp(end, "_latency") && strcmp(end, "_duration"))
        return -1;
    return v / 100.0;
}

static void set_error_rate(struct mctx *m, double r, struct dsl_pos pos) {
    mx_spec_set(m, "analysis.errorRate", "threshold", json_real(r), pos);
}

static void set_throughput(struct mctx *m, int max, const struct dsl_value *v) {
    double d;
    if (mx_num(m, v, &d) != 0)
        return;
    if (d < 0) {
        mx_error(m, v->pos, "must not be negative, got %s", v->text);
        return;
    }
    mx_spec_set(m, "analysis.throughput", max ? "maxRequestsPerSecond" : "minRequestsPerSecond",
                mx_number_json(v), v->pos);
}

static int is_rps_name(const char *s) {
    return !strcmp(s, "requests_per_second") || !strcmp(s, "rps") || !strcmp(s, "throughput");
}

void mx_threshold_expr(struct mctx *m, const struct dsl_value *v) {
    const char *text;
    if (mx_str(m, v, &text) != 0)
        return;
    /* IDENT op VALUE */
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    const char *id = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
        p++;
    char *ident = xstrndup(id, (size_t)(p - id));
    while (isspace((unsigned char)*p))
        p++;
    int gt = *p == '>', lt = *p == '<';
    if (gt || lt)
        p += p[1] == '=' ? 2 : 1;
    while (isspace((unsigned char)*p))
        p++;
    char *val = xstrdup(p);
    for (size_t n = strlen(val); n && isspace((unsigned char)val[n - 1]); n--)
        val[n - 1] = '\0';
    double pct = percentile_of(ident);
    int64_t ms;
    char *end;
    double num = strtod(val, &end);
    int is_num = *val && !*end;
    if ((gt || lt) && pct > 0 && parse_duration_ms(val, &ms) == 0 && gt) {
        mx_latency(m, pct, val, v->pos);
    } else if (gt && !strcmp(ident, "error_rate") && is_num && num >= 0 && num <= 1) {
        set_error_rate(m, num, v->pos);
    } else if ((gt || lt) && is_rps_name(ident) && is_num && num >= 0) {
        mx_spec_set(m, "analysis.throughput", gt ? "maxRequestsPerSecond" : "minRequestsPerSecond",
                    json_real(num), v->pos);
    } else {
        mx_warn(m, v->pos, "threshold \"%s\" cannot be compiled (supported: pNN_latency > "
                "DURATION, error_rate > RATE, requests_per_second > N or < N); ignored", text);
    }
    free(ident);
    free(val);
}

/* ---- performance_analysis ---- */

static void latency_metric(struct mctx *m, const struct dsl_value *it) {
    const struct dsl_value *n = dsl_get(it, "name"), *p = dsl_get(it, "percentile");
    const struct dsl_value *t = dsl_get(it, "threshold");
    double pct = -1;
    const char *thr;
    if (p) {
        if (mx_num(m, p, &pct) != 0)
            return;
        if (pct >= 1 && pct < 100)
            pct /= 100.0;
        if (!(pct > 0 && pct < 1)) {
            mx_error(m, p->pos, "a percentile is between 0 and 1 (0.95) or 1 and 100 (95), "
                     "got %s", p->text);
            return;
        }
    } else if (n && (n->type == DSL_STRING || n->type == DSL_WORD)) {
        pct = percentile_of(n->text);
    }
    if (pct < 0) {
        mx_error(m, it->pos, "a latency metric needs a percentile (or a name such as "
                 "p95_latency)");
        return;
    }
    if (!t) {
        mx_error(m, it->pos, "a latency metric needs a threshold");
        return;
    }
    if (mx_duration(m, t, &thr, NULL) == 0)
        mx_latency(m, pct, thr, t->pos);
}

static void throughput_metric(struct mctx *m, const struct dsl_value *it) {
    const struct dsl_value *n = dsl_get(it, "name");
    const char *name = n && (n->type == DSL_STRING || n->type == DSL_WORD) ? n->text : "";
    if (!is_rps_name(name)) {
        mx_warn(m, it->pos, "throughput metric \"%s\" is not supported (requests_per_second); "
                "ignored", name);
        return;
    }
    const struct dsl_value *thr = dsl_get(it, "threshold"), *mx = dsl_get(it, "max");
    const struct dsl_value *mn = dsl_get(it, "min");
    if (thr) /* a threshold is an upper bound, like every other threshold */
        set_throughput(m, 1, thr);
    if (mx)
        set_throughput(m, 1, mx);
    if (mn)
        set_throughput(m, 0, mn);
    if (!thr && !mx && !mn)
        mx_error(m, it->pos, "needs a threshold (or min / max)");
}

static void error_metric(struct mctx *m, const struct dsl_value *it) {
    const struct dsl_value *n = dsl_get(it, "name"), *t = dsl_get(it, "threshold");
    const char *name = n && (n->type == DSL_STRING || n->type == DSL_WORD) ? n->text : "";
    double r;
    if (strcmp(name, "error_rate")) {
        mx_warn(m, it->pos, "error metric \"%s\" is not supported (error_rate); ignored", name);
        return;
    }
    if (!t)
        mx_error(m, it->pos, "needs a threshold");
    else if (mx_rate(m, t, &r) == 0)
        set_error_rate(m, r, t->pos);
}

static void analysis_type(struct mctx *m, const struct dsl_value *it) {
    if (mx_obj(m, it) != 0)
        return;
    const struct dsl_value *t = dsl_get(it, "type"), *metrics = dsl_get(it, "metrics");
    const char *type;
    if (!t) {
        mx_error(m, it->pos, "needs a type (latency, throughput, error)");
        return;
    }
    if (mx_str(m, t, &type) != 0)
        return;
    void (*fn)(struct mctx *, const struct dsl_value *) = NULL;
    if (mx_name_eq(type, "latency"))
        fn = latency_metric;
    else if (mx_name_eq(type, "throughput"))
        fn = throughput_metric;
    else if (mx_name_eq(type, "error") || mx_name_eq(type, "errors"))
        fn = error_metric;
    if (!fn) {
        mx_warn(m, t->pos, "unknown analysis type \"%s\" (latency, throughput, error); ignored",
                type);
        return;
    }
    for (size_t i = 0; i < it->n; i++) {
        const char *k = it->members[i].key;
        if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "metrics") &&
            strcmp(k, "description"))
            mx_warn(m, it->members[i].kpos, "unknown key '%s'; ignored", k);
    }
    if (!metrics)
        return;
    size_t old = mx_push(m, "metrics");
    if (mx_arr(m, metrics) == 0)
        for (size_t i = 0; i < metrics->n; i++) {
            size_t o2 = mx_push_index(m, i);
            if (mx_obj(m, metrics->items[i]) == 0)
                fn(m, metrics->items[i]);
            mx_pop(m, o2);
        }
    mx_pop(m, old);
}

static void pa_types(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        analysis_type(m, v->items[i]);
        mx_pop(m, old);
    }
}

static const struct mx_field perf_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"analysis_types", pa_types, NULL},
    {"bottleneck_detection", NULL, "bottleneck algorithms (critical path, hotspots, contention) "
     "run in the tracing backend's UI, not in the pipeline; the latency thresholds above still "
     "raise alerts"},
    {"optimization_suggestions", NULL, "suggestions are advice for people; nothing to deploy"},
    {NULL, NULL, NULL},
};

void map_perf_block(struct mctx *m) { mx_fields(m, m->blk->body, perf_fields); }

/* ---- alert rules ---- */

/* Rewrites "x > 10GB" to "x > 10000000000" and "x > 2s" to "x > 2" (seconds):
 * PromQL has no units. Only values right after a comparison are touched, so
 * range selectors like [5m] stay. New string. */
static char *promql_units(const char *expr) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t n = strlen(expr);
    for (size_t i = 0; i < n;) {
        char c = expr[i];
        strbuf_append(&b, &c, 1);
        i++;
        if (!(c == '>' || c == '<' || c == '='))
            continue;
        if (i < n && expr[i] == '=') {
            strbuf_append(&b, "=", 1);
            i++;
        }
        size_t j = i;
        while (j < n && expr[j] == ' ')
            j++;
        size_t k = j;
        while (k < n && (isalnum((unsigned char)expr[k]) || expr[k] == '.'))
            k++;
        if (k == j || !isdigit((unsigned char)expr[j]))
            continue;
        char *tok = xstrndup(expr + j, k - j);
        double bytes;
        int64_t ms;
        char out[64] = "";
        if (strspn(tok, "0123456789.") != strlen(tok)) {
            if (parse_duration_ms(tok, &ms) == 0)
                format_double((double)ms / 1000.0, out, sizeof(out));
            else if (parse_size_bytes(tok, &bytes) == 0)
                snprintf(out, sizeof(out), "%.0f", bytes);
        }
        if (*out) {
            strbuf_append(&b, expr + i, j - i);
            strbuf_puts(&b, out);
            i = k;
        }
        free(tok);
    }
    return strbuf_detach(&b, NULL);
}

struct rule_acc {
    json_t *rule;
    int ok;
};

static void rule_str(struct mctx *m, const struct dsl_value *v, struct rule_acc *r,
                     const char *key) {
    const char *s;
    if (mx_str(m, v, &s) == 0)
        json_object_set_new(r->rule, key, json_string(s));
    else
        r->ok = 0;
}

/* labels {severity, ...} / annotations {summary, description, ...} of a rule. */
static void rule_map(struct mctx *m, const struct dsl_value *v, struct rule_acc *r,
                     const char *const *keys) {
    if (mx_obj(m, v) != 0) {
        r->ok = 0;
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], mb->key))
            k++;
        size_t old = mx_push(m, mb->key);
        if (keys[k])
            rule_str(m, mb->val, r, keys[k]);
        else
            mx_warn(m, mb->kpos, "only %s%s%s can be set here; ignored", keys[0],
                    keys[1] ? " and " : "", keys[1] ? keys[1] : "");
        mx_pop(m, old);
    }
}

/* {name, expr|condition, for, severity, summary, description, labels, annotations, action} */
static void alert_rule(struct mctx *m, const struct dsl_value *it, int *action_warned) {
    if (mx_obj(m, it) != 0)
        return;
    struct rule_acc r = {json_object(), 1};
    static const char *const label_keys[] = {"severity", NULL};
    static const char *const ann_keys[] = {"summary", "description", NULL};
    const struct dsl_value *expr = dsl_get(it, "expr");
    if (!expr)
        expr = dsl_get(it, "condition");
    if (!dsl_get(it, "name")) {
        mx_error(m, it->pos, "an alert needs a name");
        r.ok = 0;
    }
    if (!expr) {
        mx_error(m, it->pos, "an alert needs an expr (or condition)");
        r.ok = 0;
    }
    const char *action = NULL;
    for (size_t i = 0; i < it->n; i++) {
        const struct dsl_member *mb = &it->members[i];
        const char *k = mb->key;
        size_t old = mx_push(m, k);
        const char *s, *d;
        if (!strcmp(k, "name") || !strcmp(k, "severity") || !strcmp(k, "summary") ||
            !strcmp(k, "description")) {
            rule_str(m, mb->val, &r, k);
        } else if (mb->val == expr) {
            if (mx_str(m, expr, &s) == 0) {
                char *e = promql_units(s);
                json_object_set_new(r.rule, "expr", json_string(e));
                free(e);
            } else {
                r.ok = 0;
            }
        } else if (!strcmp(k, "for")) {
            if (mx_duration(m, mb->val, &d, NULL) == 0)
                json_object_set_new(r.rule, "for", json_string(d));
            else
                r.ok = 0;
        } else if (!strcmp(k, "labels")) {
            rule_map(m, mb->val, &r, label_keys);
        } else if (!strcmp(k, "annotations")) {
            rule_map(m, mb->val, &r, ann_keys);
        } else if (!strcmp(k, "action")) {
            if (mx_str(m, mb->val, &s) == 0) {
                action = s;
                if (!*action_warned)
                    mx_warn(m, mb->kpos, "alerts only notify: actions such as \"%s\" are not "
                            "run; they are written into the alert's description", s);
                *action_warned = 1;
            }
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
    if (action && !json_object_get(r.rule, "description")) {
        char *desc = xasprintf("Suggested action: %s", action);
        json_object_set_new(r.rule, "description", json_string(desc));
        free(desc);
    }
    if (r.ok)
        mx_spec_append(m, "alerts.rules", r.rule, it->pos);
    else
        json_decref(r.rule);
}

static void alert_list(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    int action_warned = 0;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        alert_rule(m, v->items[i], &action_warned);
        mx_pop(m, old);
    }
}

/* ---- monitoring ---- */

/* alerting: { on_high_latency: {threshold, percentile, severity}, ... } */
static void alerting_entry(struct mctx *m, const struct dsl_member *mb, int *routing_warned) {
    const struct dsl_value *v = mb->val;
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *t = dsl_get(v, "threshold");
    const char *k = mb->key;
    double r;
    const char *d;
    int known = 1;
    if (!t) {
        mx_error(m, v->pos, "needs a threshold");
        return;
    }
    if (!strcmp(k, "on_high_latency")) {
        const struct dsl_value *p = dsl_get(v, "percentile");
        double pct = 0.95;
        if (p && mx_rate(m, p, &pct) != 0)
            return;
        if (!p)
            mx_warn(m, mb->kpos, "no percentile given: the threshold applies to p95");
        if (mx_duration(m, t, &d, NULL) == 0)
            mx_latency(m, pct, d, t->pos);
    } else if (!strcmp(k, "on_high_error_rate")) {
        if (mx_rate(m, t, &r) == 0)
            set_error_rate(m, r, t->pos);
    } else if (!strcmp(k, "on_trace_generation_failure") || !strcmp(k, "on_span_drop") ||
               !strcmp(k, "on_export_failure") || !strcmp(k, "on_high_drop_rate")) {
        if (mx_rate(m, t, &r) == 0)
            mx_spec_set(m, "alerts", "spanDropRateThreshold", json_real(r), t->pos);
    } else if (!strcmp(k, "on_low_throughput") || !strcmp(k, "on_high_throughput")) {
        set_throughput(m, k[3] == 'h', t);
    } else {
        known = 0;
        mx_warn(m, mb->kpos, "no alert of the model matches \"%s\" (on_high_latency, "
                "on_high_error_rate, on_trace_generation_failure, on_low_throughput, "
                "on_high_throughput); write it as a rule in alerts: [...]; ignored", k);
    }
    for (size_t i = 0; known && i < v->n; i++) {
        const char *key = v->members[i].key;
        if (!strcmp(key, "threshold") || !strcmp(key, "percentile"))
            continue;
        if (!strcmp(key, "severity") || !strcmp(key, "notification")) {
            if (!*routing_warned)
                mx_warn(m, v->members[i].kpos, "severity and notification of the built-in "
                        "alerts are fixed; route them in Alertmanager; ignored");
            *routing_warned = 1;
        } else {
            mx_warn(m, v->members[i].kpos, "unknown key '%s'; ignored", key);
        }
    }
}

static void mon_alerting(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    int routing_warned = 0;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push(m, v->members[i].key);
        alerting_entry(m, &v->members[i], &routing_warned);
        mx_pop(m, old);
    }
}

static const struct mx_field monitoring_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"metrics", NULL, "custom metric definitions are not created; the collector's own metrics "
     "and the span metrics (latency, calls, errors) are what the alerts use"},
    {"alerts", alert_list, NULL},
    {"alerting", mon_alerting, NULL},
    {"health_checks", NULL, "the operator's readiness checks cover the pipeline's workloads"},
    {NULL, NULL, NULL},
};

void map_monitoring_obj(struct mctx *m, const struct dsl_value *v) {
    mx_fields(m, v, monitoring_fields);
}

void map_monitoring_block(struct mctx *m) { map_monitoring_obj(m, m->blk->body); }

/* ---- opentelemetry_integration ---- */

static const struct mx_field otel_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"metrics", NULL, "custom metric definitions are not created; the rules below may use any "
     "metric Prometheus scrapes"},
    {"rules", alert_list, NULL},
    {"alertmanager", NULL, "Alertmanager receivers are configured in Alertmanager, not in the "
     "model"},
    {NULL, NULL, NULL},
};

void map_otel_block(struct mctx *m) { mx_fields(m, m->blk->body, otel_fields); }
