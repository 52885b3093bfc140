/* model.c - TracingModel defaults (tm_default) and loading (tm_load).
 *
 * tm_default() applies exactly the defaults of docs/model.md's TracingModel
 * table to a deep copy. Rules it follows:
 *   - a field that is absent or JSON null gets its default; a field of the
 *     wrong type is left alone (tm_validate() reports it), and nothing is
 *     defaulted below an object that is not an object;
 *   - `collector.resources` is defaulted only as a whole: a user who writes
 *     only limits gets no requests from us (Kubernetes then uses the limits),
 *     since mixing our requests with their limits could make requests > limits;
 *   - backend-specific blocks are filled only for the selected backend type
 *     (`backend.jaeger.*` for jaeger, `backend.tempo.*` for tempo);
 *   - derived defaults are computed from the defaulted values, in this order:
 *     analysis.enabled -> spanMetrics/serviceGraph.enabled -> alerts.enabled;
 *     sampling.tail.enabled from rules/policies; istio.samplingPercentage from
 *     sampling.rate.
 * metadata and status are never touched. */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* ---- small helpers ------------------------------------------------------ */

static int absent(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return !v || json_is_null(v);
}

/* Sets obj[key] = v (stolen) when the key is absent or null; else drops v. */
static void def(json_t *obj, const char *key, json_t *v) {
    if (absent(obj, key))
        json_object_set_new(obj, key, v);
    else
        json_decref(v);
}

/* Borrowed child object obj[key], created when absent/null; NULL when obj is
 * not an object or the child has another type (left for validation). */
static json_t *child(json_t *obj, const char *key) {
    if (!json_is_object(obj))
        return NULL;
    if (absent(obj, key))
        json_object_set_new(obj, key, json_object());
    json_t *c = json_object_get(obj, key);
    return json_is_object(c) ? c : NULL;
}

/* Borrowed child object when it exists as an object; never creates one. */
static json_t *existing(json_t *obj, const char *key) {
    json_t *c = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(c) ? c : NULL;
}

static int nonempty_array(const json_t *obj, const char *key) {
    json_t *a = json_object_get(obj, key);
    return json_is_array(a) && json_array_size(a) > 0;
}

static int str_is(const json_t *obj, const char *key, const char *want) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && !strcmp(json_string_value(v), want);
}

/* The boolean obj[key], or dflt when it is not a boolean. */
static int bool_or(const json_t *obj, const char *key, int dflt) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static json_t *str_array(const char *const *items) {
    json_t *a = json_array();
    for (size_t i = 0; items[i]; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* ---- per-section defaults ----------------------------------------------- */

static void default_sampling(json_t *spec) {
    json_t *s = child(spec, "sampling");
    if (!s)
        return;
    def(s, "strategy", json_string("probabilistic"));
    def(s, "rate", json_real(1.0));
    def(s, "parentBased", json_true());
    json_t *ad = child(s, "adaptive");
    if (ad)
        def(ad, "enabled", json_boolean(str_is(s, "strategy", "adaptive")));
    json_t *tail = child(s, "tail");
    if (!tail)
        return;
    def(tail, "enabled", json_boolean(nonempty_array(s, "rules") ||
                                      nonempty_array(tail, "policies")));
    def(tail, "decisionWait", json_string("10s"));
    def(tail, "numTraces", json_integer(50000));
    def(tail, "expectedNewTracesPerSec", json_integer(0));
}

/* propagation.types: default list; `w3c_tracecontext` -> `tracecontext`. */
static void default_propagation(json_t *spec) {
    json_t *p = child(spec, "propagation");
    if (!p)
        return;
    static const char *const dflt[] = {"tracecontext", "baggage", NULL};
    def(p, "types", str_array(dflt));
    json_t *types = json_object_get(p, "types");
    if (!json_is_array(types))
        return;
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t) {
        if (json_is_string(t) && !strcmp(json_string_value(t), "w3c_tracecontext"))
            json_array_set_new(types, i, json_string("tracecontext"));
    }
}

static json_t *resource_list(const char *cpu, const char *mem) {
    return json_pack("{s:s, s:s}", "cpu", cpu, "memory", mem);
}

static void default_collector(json_t *spec, int analysis_enabled) {
    json_t *c = child(spec, "collector");
    if (!c)
        return;
    def(c, "mode", json_string("deployment"));
    def(c, "replicas", json_integer(1));
    def(c, "image", json_string(TM_DEFAULT_COLLECTOR_IMAGE));
    if (absent(c, "resources"))
        json_object_set_new(c, "resources",
                            json_pack("{s:o, s:o}", "requests", resource_list("100m", "256Mi"),
                                      "limits", resource_list("1", "1Gi")));
    json_t *b = child(c, "batch");
    if (b) {
        def(b, "timeout", json_string("1s"));
        def(b, "sendBatchSize", json_integer(1024));
        def(b, "sendBatchMaxSize", json_integer(2048));
    }
    json_t *m = child(c, "memoryLimiter");
    if (m) {
        def(m, "checkInterval", json_string("1s"));
        def(m, "limitPercentage", json_integer(80));
        def(m, "spikeLimitPercentage", json_integer(25));
    }
    static const char *const redact[] = {"db.statement", "password", "credit_card.number", NULL};
    def(c, "redact", str_array(redact));
    json_t *r = child(c, "receivers");
    if (r) {
        def(r, "jaeger", json_false());
        def(r, "zipkin", json_false());
    }
    json_t *sm = child(c, "spanMetrics");
    if (sm)
        def(sm, "enabled", json_boolean(analysis_enabled));
    json_t *sg = child(c, "serviceGraph");
    if (sg)
        def(sg, "enabled", json_boolean(analysis_enabled));
}

static void default_jaeger(json_t *backend) {
    json_t *j = child(backend, "jaeger");
    if (!j)
        return;
    def(j, "deployment", json_string("allInOne"));
    def(j, "useOperatorCR", json_false());
    /* production uses separate collector/query images chosen by the renderer */
    if (str_is(j, "deployment", "allInOne"))
        def(j, "image", json_string(TM_DEFAULT_JAEGER_IMAGE));
    json_t *st = child(j, "storage");
    if (!st)
        return;
    def(st, "type", json_string("memory"));
    if (str_is(st, "type", "badger")) {
        json_t *bd = child(st, "badger");
        if (bd)
            def(bd, "size", json_string("10Gi"));
    }
}

static void default_tempo(json_t *backend) {
    json_t *t = child(backend, "tempo");
    if (!t)
        return;
    def(t, "useOperatorCR", json_false());
    def(t, "image", json_string(TM_DEFAULT_TEMPO_IMAGE));
    json_t *st = child(t, "storage");
    if (!st)
        return;
    def(st, "type", json_string("local"));
    if (str_is(st, "type", "local"))
        def(st, "size", json_string("10Gi"));
}

static void default_backend(json_t *spec) {
    json_t *b = existing(spec, "backend");
    if (!b)
        return;     /* backend.type is required: nothing to default without it */
    if (str_is(b, "type", "jaeger")) {
        def(b, "retention", json_string("7d"));
        default_jaeger(b);
    } else if (str_is(b, "type", "tempo")) {
        def(b, "retention", json_string("48h"));
        default_tempo(b);
    }
}

static void default_istio(json_t *spec) {
    json_t *i = child(spec, "istio");
    if (!i)
        return;
    def(i, "enabled", json_false());
    def(i, "provider", json_string("otel-tracing"));
    json_t *s = existing(spec, "sampling");
    json_t *rate = s ? json_object_get(s, "rate") : NULL;
    /* an out-of-range rate is reported once, at sampling.rate */
    if (json_is_number(rate) && json_number_value(rate) >= 0 && json_number_value(rate) <= 1)
        def(i, "samplingPercentage",
            json_real(round(json_number_value(rate) * 100.0 * 1e9) / 1e9));    /* 7, not 7.000000000000001 */
    def(i, "scope", json_string("namespace"));
    def(i, "meshRootNamespace", json_string("istio-system"));
}

/* analysis.enabled: true when any threshold is set. Returns the effective value. */
static int default_analysis(json_t *spec) {
    json_t *a = child(spec, "analysis");
    if (!a)
        return 0;
    int any = nonempty_array(a, "latency");
    json_t *er = existing(a, "errorRate");
    if (er && !absent(er, "threshold"))
        any = 1;
    json_t *tp = existing(a, "throughput");
    if (tp && (!absent(tp, "minRequestsPerSecond") || !absent(tp, "maxRequestsPerSecond")))
        any = 1;
    def(a, "enabled", json_boolean(any));
    return bool_or(a, "enabled", 0);
}

static void default_alerts(json_t *spec, int analysis_enabled) {
    json_t *al = child(spec, "alerts");
    if (!al)
        return;
    def(al, "enabled", json_boolean(analysis_enabled || nonempty_array(al, "rules")));
    def(al, "spanDropRateThreshold", json_real(0.1));
}

static void default_grafana(json_t *spec) {
    json_t *g = child(spec, "grafana");
    if (!g)
        return;
    json_t *b = existing(spec, "backend");
    int want = b && (str_is(b, "type", "jaeger") || str_is(b, "type", "tempo"));
    def(g, "enabled", json_boolean(want));
}

static void default_capacity(json_t *spec) {
    json_t *c = child(spec, "capacity");
    if (!c)
        return;
    def(c, "spansPerRequest", json_integer(20));
    def(c, "spanSizeBytes", json_integer(2048));
    def(c, "peakFactor", json_integer(3));
}

/* ---- public ------------------------------------------------------------- */

json_t *tm_default(const json_t *obj) {
    if (!obj)
        return NULL;
    json_t *m = json_deep_copy(obj);
    if (!m)
        abort();    /* only on OOM: the allocator aborts first */
    json_t *spec = existing(m, "spec");
    if (!spec)
        return m;
    default_sampling(spec);
    default_propagation(spec);
    int analysis = default_analysis(spec);
    default_collector(spec, analysis);
    default_backend(spec);
    default_istio(spec);
    default_alerts(spec, analysis);
    default_grafana(spec);
    default_capacity(spec);
    return m;
}

json_t *tm_load(const json_t *obj, int strict, struct diag *d) {
    json_t *m = tm_default(obj);
    if (!m)
        return NULL;
    if (tm_validate(m, strict, d) > 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* ---- read helpers ------------------------------------------------------- */

json_t *tm_get(const json_t *obj, const char *path) {
    const json_t *cur = obj;
    const char *p = path;
    while (cur && p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, n);
        p = dot ? dot + 1 : NULL;
    }
    return (json_t *)cur;
}

const char *tm_get_str(const json_t *obj, const char *path, const char *dflt) {
    json_t *v = tm_get(obj, path);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

double tm_get_num(const json_t *obj, const char *path, double dflt) {
    json_t *v = tm_get(obj, path);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

long long tm_get_int(const json_t *obj, const char *path, long long dflt) {
    json_t *v = tm_get(obj, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int tm_get_bool(const json_t *obj, const char *path, int dflt) {
    json_t *v = tm_get(obj, path);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}
