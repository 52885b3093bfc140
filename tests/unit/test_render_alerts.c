/* test_render_alerts.c - the PrometheusRule (RED alerts on spanmetrics, tracing-health
 * alerts on the collector's metrics, alerts.rules[] verbatim), its ServiceMonitor, and the
 * capacity estimate of seed 004 section 9.3. */
#include "test_render_helpers.h"

#include <math.h>

#define BASE "tests/fixtures/render/base.yaml"

/* borrowed: the rule named alert in any group, or NULL. */
static json_t *find_rule(const json_t *pr, const char *alert) {
    size_t i, j;
    json_t *g, *r;
    json_array_foreach(tm_get(pr, "spec.groups"), i, g) {
        json_array_foreach(json_object_get(g, "rules"), j, r) {
            if (!strcmp(tm_get_str(r, "alert", ""), alert))
                return r;
        }
    }
    return NULL;
}

static json_t *analysis_model(void) {
    json_t *doc = tu_load(BASE);
    rt_set(doc, "spec.analysis",
           json_pack("{s:[{s:f, s:s}, {s:f, s:s}], s:{s:f}, s:{s:i, s:i}}", "latency",
                     "percentile", 0.95, "threshold", "2s", "percentile", 0.999, "threshold",
                     "750ms", "errorRate", "threshold", 0.05, "throughput",
                     "minRequestsPerSecond", 10, "maxRequestsPerSecond", 5000));
    rt_set(doc, "spec.alerts",
           json_pack("{s:f, s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}", "spanDropRateThreshold", 0.02,
                     "rules", "name", "Trace Export Failure", "expr",
                     "rate(trace_export_failures_total[5m]) > 0", "for", "1m", "severity",
                     "critical", "summary", "Trace export is failing", "description",
                     "{{ $labels.job }} cannot export"));
    json_t *m = tm_default(doc);
    json_decref(doc);
    return m;
}

static void red_alerts(void **state) {
    (void)state;
    json_t *m = analysis_model();
    struct render_result r = rt_render(m);
    json_t *pr = rt_find(r.manifests, "PrometheusRule", "demo-tracing-alerts");
    assert_non_null(pr);
    assert_string_equal(tm_get_str(pr, "apiVersion", ""), "monitoring.coreos.com/v1");

    json_t *p95 = find_rule(pr, "TracingLatencyP95High");
    assert_non_null(p95);
    const char *e = tm_get_str(p95, "expr", "");
    assert_non_null(strstr(e, "histogram_quantile(0.95, "));
    assert_non_null(strstr(e, "traces_span_metrics_duration_milliseconds_bucket{"));
    assert_non_null(strstr(e, "by (service_name, le)"));
    assert_non_null(strstr(e, "> 2000")); /* 2s in ms */
    assert_string_equal(tm_get_str(p95, "for", ""), "5m");
    assert_string_equal(tm_get_str(p95, "labels.severity", ""), "warning");
    assert_non_null(tm_get_str(p95, "annotations.summary", NULL));
    assert_non_null(tm_get_str(p95, "annotations.description", NULL));
    json_t *p999 = find_rule(pr, "TracingLatencyP99_9High");
    assert_non_null(p999);
    assert_non_null(strstr(tm_get_str(p999, "expr", ""), "histogram_quantile(0.999, "));
    assert_non_null(strstr(tm_get_str(p999, "expr", ""), "> 750"));

    json_t *err = find_rule(pr, "TracingErrorRateHigh");
    e = tm_get_str(err, "expr", "");
    assert_non_null(strstr(e, "traces_span_metrics_calls_total{"));
    assert_non_null(strstr(e, "status_code=\"STATUS_CODE_ERROR\""));
    assert_non_null(strstr(e, ") > 0.05"));
    /* series of this model's collectors only */
    assert_non_null(strstr(e, "namespace=\"obs\""));
    assert_non_null(strstr(e, "service=~\"demo-collector|demo-sampler-headless\""));

    /* throughput: sampled server spans scaled back by the head rate 0.1 */
    e = tm_get_str(find_rule(pr, "TracingThroughputLow"), "expr", "");
    assert_non_null(strstr(e, "[5m])) / 0.1 < 10"));
    e = tm_get_str(find_rule(pr, "TracingThroughputHigh"), "expr", "");
    assert_non_null(strstr(e, "[5m])) / 0.1 > 5000"));

    /* health: drop rate against alerts.spanDropRateThreshold, export failures */
    e = tm_get_str(find_rule(pr, "TracingSpanDropRateHigh"), "expr", "");
    assert_non_null(strstr(e, "otelcol_receiver_refused_spans(_total)?"));
    assert_non_null(strstr(e, "otelcol_processor_dropped_spans(_total)?"));
    assert_non_null(strstr(e, "otelcol_receiver_accepted_spans(_total)?"));
    assert_non_null(strstr(e, " > 0.02"));
    e = tm_get_str(find_rule(pr, "TracingExportFailing"), "expr", "");
    assert_non_null(strstr(e, "otelcol_exporter_send_failed_spans(_total)?"));
    assert_string_equal(tm_get_str(find_rule(pr, "TracingExportFailing"), "labels.severity", ""),
                        "critical");
    assert_null(find_rule(pr, "TracingTailSamplingDroppedTooEarly")); /* no tail sampling */

    /* alerts.rules[] as written */
    json_t *custom = find_rule(pr, "Trace Export Failure");
    json_t *want = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "alert",
                             "Trace Export Failure", "expr",
                             "rate(trace_export_failures_total[5m]) > 0", "for", "1m", "labels",
                             "severity", "critical", "tracing_model", "obs/demo", "annotations",
                             "summary", "Trace export is failing", "description",
                             "{{ $labels.job }} cannot export");
    tu_assert_json_equal(want, custom, "custom rule");
    json_decref(want);

    /* the ServiceMonitor scrapes the Services these series come from */
    json_t *sm = rt_find(r.manifests, "ServiceMonitor", "demo-collector");
    assert_non_null(sm);
    json_t *sel = tm_get(sm, "spec.selector.matchLabels");
    json_t *svc_labels = tm_get(rt_find(r.manifests, "Service", "demo-collector"),
                                "metadata.labels");
    const char *k;
    json_t *v;
    json_object_foreach(sel, k, v) assert_true(json_equal(v, json_object_get(svc_labels, k)));
    render_result_done(&r);

    /* with tail sampling, an alert on traces evicted before their decision */
    rt_set(m, "spec.sampling.tail.enabled", json_true());
    rt_set(m, "spec.sampling.tail.policies",
           json_pack("[{s:s, s:s}]", "name", "errors", "condition", "status == ERROR"));
    r = rt_render(m);
    pr = rt_find(r.manifests, "PrometheusRule", "demo-tracing-alerts");
    assert_non_null(find_rule(pr, "TracingTailSamplingDroppedTooEarly"));
    render_result_done(&r);
    json_decref(m);
}

static void alerts_off(void **state) {
    (void)state;
    json_t *m = rt_model(BASE); /* no analysis, no rules: alerts.enabled defaults to false */
    struct render_result r = rt_render(m);
    assert_int_equal(rt_count(r.manifests, "PrometheusRule"), 0);
    assert_int_equal(rt_count(r.manifests, "ServiceMonitor"), 0);
    render_result_done(&r);
    /* health alerts alone when asked for */
    rt_set(m, "spec.alerts.enabled", json_true());
    r = rt_render(m);
    json_t *pr = rt_find(r.manifests, "PrometheusRule", "demo-tracing-alerts");
    assert_non_null(find_rule(pr, "TracingExportFailing"));
    assert_null(find_rule(pr, "TracingErrorRateHigh"));
    render_result_done(&r);
    json_decref(m);
}

static double num(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void capacity_seed_example(void **state) {
    (void)state;
    /* seed 004 9.3: 10000 rps x 20 spans, 1%, ~2 KB spans, 7 days */
    json_t *m = rt_model(BASE);
    rt_set(m, "spec.sampling.rate", json_real(0.01));
    rt_set(m, "spec.backend.retention", json_string("7d"));
    rt_set(m, "spec.capacity",
           json_pack("{s:i, s:i, s:i, s:i}", "requestsPerSecond", 10000, "spansPerRequest", 20,
                     "spanSizeBytes", 2000, "peakFactor", 3));
    struct render_result r = rt_render(m);
    json_t *c = r.capacity;
    assert_true(num(c, "spansPerSecond") == 200000);
    assert_true(num(c, "sampledSpansPerSecond") == 2000);
    assert_true(num(c, "networkBytesPerSecond") == 4e6);      /* 4 MB/s */
    assert_true(num(c, "peakNetworkBytesPerSecond") == 12e6); /* x3 */
    assert_true(num(c, "bytesPerDay") == 345.6e9);            /* 345.6 GB/day */
    assert_true(num(c, "retentionDays") == 7);
    assert_true(num(c, "storageBytes") == 2419.2e9); /* ~2.4 TB */
    assert_string_equal(tm_get_str(c, "bytesPerDayHuman", ""), "345.6 GB/day");
    assert_string_equal(tm_get_str(c, "storageHuman", ""), "2.4 TB");
    const char *summary = tm_get_str(c, "summary", "");
    assert_non_null(strstr(summary, "345.6 GB/day"));
    assert_non_null(strstr(summary, "2.4 TB over 7d"));
    assert_non_null(strstr(summary, "4 MB/s (peak 12 MB/s)"));
    assert_null(json_object_get(c, "beforeTailSampling"));
    render_result_done(&r);
    json_decref(m);
}

static void capacity_rates(void **state) {
    (void)state;
    json_t *m = rt_model(BASE);
    /* no requestsPerSecond: no estimate */
    struct render_result r = rt_render(m);
    assert_true(json_is_null(r.capacity));
    render_result_done(&r);

    /* per-service rates: their average; a service without one counts the head rate (0.1) */
    rt_set(m, "spec.capacity.requestsPerSecond", json_integer(1000));
    rt_set(m, "spec.services",
           json_pack("[{s:s, s:f}, {s:s, s:f}, {s:s}]", "name", "a", "samplingRate", 0.5, "name",
                     "b", "samplingRate", 0.3, "name", "c"));
    r = rt_render(m);
    assert_true(fabs(num(r.capacity, "samplingRate") - 0.3) < 1e-9);
    /* defaults: 20 spans/request, 2048 bytes */
    assert_true(num(r.capacity, "spansPerSecond") == 20000);
    assert_true(num(r.capacity, "sampledSpansPerSecond") == 6000);
    assert_true(num(r.capacity, "networkBytesPerSecond") == 6000.0 * 2048);
    render_result_done(&r);

    /* rate limiting: 100 traces/s of 1000 requests/s is 10% */
    rt_set(m, "spec.services", json_array());
    rt_set(m, "spec.sampling.strategy", json_string("ratelimiting"));
    rt_set(m, "spec.sampling.maxTracesPerSecond", json_integer(100));
    r = rt_render(m);
    assert_true(fabs(num(r.capacity, "samplingRate") - 0.1) < 1e-12);
    render_result_done(&r);

    /* tail sampling is not estimated: the result says so */
    rt_set(m, "spec.sampling.strategy", json_string("always_on"));
    rt_set(m, "spec.sampling.tail.enabled", json_true());
    r = rt_render(m);
    assert_true(num(r.capacity, "samplingRate") == 1);
    assert_true(json_is_true(json_object_get(r.capacity, "beforeTailSampling")));
    assert_non_null(strstr(tm_get_str(r.capacity, "summary", ""), "before tail sampling"));
    render_result_done(&r);
    json_decref(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(red_alerts),
        cmocka_unit_test(alerts_off),
        cmocka_unit_test(capacity_seed_example),
        cmocka_unit_test(capacity_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
