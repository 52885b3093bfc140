/* alerts.c - PrometheusRule `<m>-tracing-alerts` and the ServiceMonitor that feeds it.
 *
 * Groups: RED alerts on the spanmetrics connector's series (latency percentiles,
 * error rate, throughput), tracing-health alerts of seed 004 section 9.2 on the
 * collector's own metrics (span drop rate, export failures, tail sampling
 * evicting traces too early), and alerts.rules[] as written.
 *
 * Metric names. spanmetrics with namespace traces.span.metrics (pinned in
 * collector.yaml) through the prometheus exporter (unit and _total suffixes on):
 * traces_span_metrics_calls_total and traces_span_metrics_duration_milliseconds_bucket,
 * labels service_name, span_kind (SPAN_KIND_SERVER...), status_code
 * (STATUS_CODE_ERROR...). The collector's own counters gained a _total suffix in
 * 0.120 and lost it again in 0.153, so those are matched with
 * {__name__=~"<name>(_total)?"} to work on either side of both changes.
 * Series are narrowed to this model's collectors by the namespace/service target
 * labels the ServiceMonitor gives them. Spans dropped by head sampling never reach
 * the collector, so throughput is scaled back up by the effective head rate. Pure. */
#include "render/render_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"

#define CALLS "traces_span_metrics_calls_total"
#define DURATION_BUCKET "traces_span_metrics_duration_milliseconds_bucket"

struct actx {
    struct rctx *c;
    char sel[3 * R_NAME_MAX]; /* label matchers of this model's collector series */
};

/* new ref: printf into a JSON string (a stack buffer; the heap only for longer text). */
static json_t *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static json_t *fmt(const char *f, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(buf))
        return r_s(buf);
    va_start(ap, f);
    char *s = xvasprintf(f, ap);
    va_end(ap);
    json_t *j = r_s(s);
    free(s);
    return j;
}

/* expr, summary and description are stolen. */
static json_t *rule(const struct actx *a, const char *alert, json_t *expr, const char *for_,
                    const char *severity, json_t *summary, json_t *description) {
    return r_kv("alert", r_s(alert), "expr", expr, "for", r_s(for_), "labels",
                r_kv("severity", r_s(severity), "tracing_model", r_s(a->c->owner), NULL),
                "annotations", r_kv("summary", summary, "description", description, NULL), NULL);
}

/* "95" for 0.95, "99_9" for 0.999 (alert names allow [A-Za-z0-9_]). */
static void percentile_name(double p, char *out, size_t n) {
    r_fmt_num(round(p * 1e8) / 1e6, out, n);
    for (char *s = out; *s; s++)
        if (*s == '.')
            *s = '_';
}

/* "5%" for 0.05. */
static void percent(double v, char *out, size_t n) {
    char num[32];
    r_fmt_num(round(v * 1e8) / 1e6, num, sizeof(num));
    snprintf(out, n, "%s%%", num);
}

static void red_rules(const struct actx *a, json_t *rules) {
    const json_t *spec = a->c->spec;
    size_t i;
    json_t *l;
    json_array_foreach((json_t *)r_get(spec, "analysis.latency"), i, l) {
        double p = r_num(l, "percentile", 0);
        const char *th = r_str(l, "threshold", NULL);
        int64_t ms;
        if (p <= 0 || p >= 1 || !th || parse_duration_ms(th, &ms) < 0)
            continue; /* validation reports it */
        char pn[32], pv[32], alert[64];
        percentile_name(p, pn, sizeof(pn));
        r_fmt_num(p, pv, sizeof(pv));
        snprintf(alert, sizeof(alert), "TracingLatencyP%sHigh", pn);
        json_array_append_new(
            rules,
            rule(a, alert,
                 fmt("histogram_quantile(%s, sum by (service_name, le) (rate(" DURATION_BUCKET
                     "{%s, span_kind=\"SPAN_KIND_SERVER\"}[5m]))) > %lld",
                     pv, a->sel, (long long)ms),
                 "5m", "warning",
                 fmt("p%s latency of {{ $labels.service_name }} is above %s", pn, th),
                 fmt("The %s percentile of server span durations of "
                     "{{ $labels.service_name }} is {{ $value | humanize }}ms, above the "
                     "%s threshold of tracing model %s.",
                     pv, th, a->c->owner)));
    }
    const json_t *er = r_get(spec, "analysis.errorRate.threshold");
    if (json_is_number(er)) {
        char th[32], pct[40];
        r_fmt_num(json_number_value(er), th, sizeof(th));
        percent(json_number_value(er), pct, sizeof(pct));
        json_array_append_new(
            rules,
            rule(a, "TracingErrorRateHigh",
                 fmt("(sum by (service_name) (rate(" CALLS "{%s, span_kind=\"SPAN_KIND_SERVER\", "
                     "status_code=\"STATUS_CODE_ERROR\"}[5m])) / sum by (service_name) (rate(" CALLS
                     "{%s, span_kind=\"SPAN_KIND_SERVER\"}[5m]))) > %s",
                     a->sel, a->sel, th),
                 "5m", "critical", fmt("Error rate of {{ $labels.service_name }} is above %s", pct),
                 fmt("Of the requests of {{ $labels.service_name }}, "
                     "{{ $value | humanizePercentage }} end in an error span, above the %s "
                     "threshold of tracing model %s.",
                     pct, a->c->owner)));
    }
    double rate = r_effective_rate(a->c);
    char scale[64] = "";
    if (rate > 0 && rate < 1) {
        char rv[32];
        r_fmt_num(rate, rv, sizeof(rv));
        snprintf(scale, sizeof(scale), " / %s", rv);
    }
    static const struct {
        const char *field, *alert, *op, *word;
    } tp[] = {{"analysis.throughput.minRequestsPerSecond", "TracingThroughputLow", "<", "below"},
              {"analysis.throughput.maxRequestsPerSecond", "TracingThroughputHigh", ">", "above"}};
    for (size_t k = 0; k < sizeof(tp) / sizeof(tp[0]); k++) {
        const json_t *v = r_get(spec, tp[k].field);
        if (!json_is_number(v))
            continue;
        char th[32];
        r_fmt_num(json_number_value(v), th, sizeof(th));
        json_array_append_new(
            rules,
            rule(a, tp[k].alert,
                 fmt("sum(rate(" CALLS "{%s, span_kind=\"SPAN_KIND_SERVER\"}[5m]))%s %s %s", a->sel,
                     scale, tp[k].op, th),
                 "10m", "warning",
                 fmt("Request rate of tracing model %s is %s %s/s", a->c->owner, tp[k].word, th),
                 fmt("About {{ $value | humanize }} requests/s (server spans divided by "
                     "the head sampling rate) are %s the %s/s threshold.",
                     tp[k].word, th)));
    }
}

/* sum by (service) (rate({__name__=~"<metric>(_total)?", <sel>}[5m])) into out */
static void collector_rate(const struct actx *a, const char *metric, const char *by, char *out,
                           size_t n) {
    snprintf(out, n, "sum by (%s) (rate({__name__=~\"%s(_total)?\", %s}[5m]))", by, metric, a->sel);
}

static void health_rules(const struct actx *a, json_t *rules) {
    char th[32], pct[40];
    double thv = r_num(a->c->spec, "alerts.spanDropRateThreshold", 0.1);
    r_fmt_num(thv, th, sizeof(th));
    percent(thv, pct, sizeof(pct));
    /* (sel is bounded: a namespace <= 63 and a model name <= 44 characters) */
    char acc[1024], ref[1024], drop[1024];
    collector_rate(a, "otelcol_receiver_accepted_spans", "service", acc, sizeof(acc));
    collector_rate(a, "otelcol_receiver_refused_spans", "service", ref, sizeof(ref));
    collector_rate(a, "otelcol_processor_dropped_spans", "service", drop, sizeof(drop));
    /* "or A * 0": a counter that was never incremented may not exist yet */
    json_array_append_new(
        rules, rule(a, "TracingSpanDropRateHigh",
                    fmt("((%s or %s * 0) + (%s or %s * 0)) / (%s + (%s or %s * 0)) > %s", ref, acc,
                        drop, acc, acc, ref, acc, th),
                    "5m", "warning",
                    fmt("Collector {{ $labels.service }} drops more than %s of spans", pct),
                    fmt("Of the spans offered to {{ $labels.service }} of tracing model %s, "
                        "{{ $value | humanizePercentage }} are refused (memory_limiter) or "
                        "dropped.",
                        a->c->owner)));
    char failed[1024];
    collector_rate(a, "otelcol_exporter_send_failed_spans", "service, exporter", failed,
                   sizeof(failed));
    json_array_append_new(
        rules, rule(a, "TracingExportFailing", fmt("%s > 0", failed), "5m", "critical",
                    r_s("Collector {{ $labels.service }} cannot export spans"),
                    fmt("Exporter {{ $labels.exporter }} of {{ $labels.service }} (tracing model "
                        "%s) fails to send {{ $value | humanize }} spans/s.",
                        a->c->owner)));
    if (!a->c->tail)
        return;
    char early[1024];
    collector_rate(a, "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early", "service",
                   early, sizeof(early));
    json_array_append_new(
        rules, rule(a, "TracingTailSamplingDroppedTooEarly", fmt("%s > 0", early), "10m", "warning",
                    r_s("Tail sampling evicts traces before deciding on them"),
                    fmt("{{ $labels.service }} of tracing model %s drops traces before their "
                        "decision_wait ends; raise spec.sampling.tail.numTraces.",
                        a->c->owner)));
}

static void custom_rules(const struct actx *a, json_t *rules) {
    size_t i;
    json_t *cr;
    json_array_foreach((json_t *)r_get(a->c->spec, "alerts.rules"), i, cr) {
        const char *name = r_str(cr, "name", NULL), *expr = r_str(cr, "expr", NULL);
        if (!name || !expr)
            continue;
        json_t *r = json_object();
        r_set(r, "alert", r_s(name));
        r_set(r, "expr", r_s(expr));
        const char *f = r_str(cr, "for", NULL);
        if (f)
            r_set(r, "for", r_s(f));
        r_set(r, "labels",
              json_pack("{s:s, s:s}", "severity", r_str(cr, "severity", "warning"), "tracing_model",
                        a->c->owner));
        json_t *ann = json_object();
        const char *s = r_str(cr, "summary", NULL), *d = r_str(cr, "description", NULL);
        if (s)
            r_set(ann, "summary", r_s(s));
        if (d)
            r_set(ann, "description", r_s(d));
        if (json_object_size(ann))
            r_set(r, "annotations", ann);
        else
            json_decref(ann);
        json_array_append_new(rules, r);
    }
}

static void add_group(json_t *groups, const struct rctx *c, const char *suffix, json_t *rules) {
    if (!json_array_size(rules)) {
        json_decref(rules);
        return;
    }
    char name[2 * R_NAME_MAX];
    snprintf(name, sizeof(name), "%s.%s.%s", c->ns, c->name, suffix);
    json_array_append_new(groups, r_kv("name", r_s(name), "rules", rules, NULL));
}

/* Scrapes the collectors' own metrics (8888) and the spanmetrics exporter (8889). */
static void render_service_monitor(struct rctx *c) {
    char name[R_NAME_MAX];
    json_t *sm = r_object(c, "monitoring.coreos.com/v1", "ServiceMonitor",
                          r_name(c, "collector", name), "alerts", NULL);
    json_t *spec = json_object();
    r_set(spec, "selector",
          json_pack("{s:{s:s, s:s, s:s}}", "matchLabels", R_LABEL_MANAGED_BY, R_OPERATOR,
                    R_LABEL_MODEL, c->name, R_LABEL_COMPONENT, "collector"));
    r_set(spec, "namespaceSelector", json_pack("{s:[s]}", "matchNames", c->ns));
    r_set(spec, "endpoints",
          json_pack("[{s:s, s:s}, {s:s, s:s}]", "port", "metrics", "interval", "30s", "port",
                    "prom", "interval", "30s"));
    r_set(sm, "spec", spec);
    r_emit(c, sm);
}

void render_alerts(struct rctx *c) {
    if (!r_bool(c->spec, "alerts.enabled", 0))
        return;
    struct actx a = {.c = c};
    snprintf(a.sel, sizeof(a.sel),
             "namespace=\"%s\", service=~\"%s-collector|%s-sampler-headless\"", c->ns, c->name,
             c->name);
    json_t *groups = json_array();
    json_t *red = json_array();
    if (c->spanmetrics && r_bool(c->spec, "analysis.enabled", 0))
        red_rules(&a, red);
    add_group(groups, c, "red", red);
    json_t *health = json_array();
    if (strcmp(c->mode, "sidecar") != 0) /* sidecars are not scraped through a Service */
        health_rules(&a, health);
    add_group(groups, c, "health", health);
    json_t *custom = json_array();
    custom_rules(&a, custom);
    add_group(groups, c, "rules", custom);
    if (!json_array_size(groups)) {
        json_decref(groups);
        return;
    }
    if (strcmp(c->mode, "sidecar") != 0)
        render_service_monitor(c);
    char name[R_NAME_MAX];
    json_t *pr = r_object(c, "monitoring.coreos.com/v1", "PrometheusRule",
                          r_name(c, "tracing-alerts", name), "alerts", NULL);
    r_set(pr, "spec", r_kv("groups", groups, NULL));
    r_emit(c, pr);
}
