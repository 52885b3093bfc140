/* test_model_validate.c - tm_validate()/tm_load(): one table row per validation
 * rule (input -> path + message), warnings vs errors and --strict, and bad
 * inputs (wrong types everywhere, huge and deeply nested documents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strbuf.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "model/schema.h"
#include "testutil.h"

#define E DIAG_ERROR
#define W DIAG_WARNING
#define B "backend: {type: jaeger}"
#define ANY (-1)

struct vrow {
    const char *spec;   /* flow YAML of spec (metadata.name is "m"), or NULL */
    const char *doc;    /* a whole document, when spec is NULL */
    int strict;
    int level;          /* expected level, or 0 for "no diagnostics at all" */
    const char *path;
    const char *msg;    /* substring of the message */
    int nerr;           /* expected number of errors, or ANY */
};

static json_t *parse_doc(const struct vrow *r) {
    char buf[8192];
    const char *text = r->doc;
    if (r->spec) {
        snprintf(buf, sizeof(buf),
                 "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: m}\n"
                 "spec: %s\n", r->spec);
        text = buf;
    }
    struct op_status st = {0};
    json_t *doc = yaml_load_one(text, strlen(text), &st);
    if (!doc)
        fail_msg("bad test input %s: %s", text, st.msg);
    return doc;
}

static void dump(const struct diag *d) {
    for (size_t i = 0; i < d->len; i++)
        print_message("    %s %s: %s\n", d->items[i].level == E ? "E" : "W", d->items[i].where,
                      d->items[i].msg);
}

static int has_item(const struct diag *d, int level, const char *path, const char *msg) {
    for (size_t i = 0; i < d->len; i++)
        if ((int)d->items[i].level == level && !strcmp(d->items[i].where, path) &&
            strstr(d->items[i].msg, msg))
            return 1;
    return 0;
}

static void run_rows(const struct vrow *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const struct vrow *r = &rows[i];
        json_t *doc = parse_doc(r);
        struct diag d;
        diag_init(&d);
        json_t *m = tm_load(doc, r->strict, &d);
        int ok = 1;
        if (r->level == 0)
            ok = d.len == 0;
        else
            ok = has_item(&d, r->level, r->path, r->msg);
        if (ok && r->nerr != ANY)
            ok = (int)d.errors == r->nerr;
        if (ok)
            ok = (m != NULL) == (d.errors == 0);
        if (!ok) {
            print_message("row %zu: %s\n  want %s %s: ...%s... (%d errors), got:\n", i,
                          r->spec ? r->spec : r->doc, r->level == E ? "E" : "W", r->path,
                          r->msg, r->nerr);
            dump(&d);
            fail();
        }
        json_decref(m);
        json_decref(doc);
        diag_done(&d);
    }
}

/* apiVersion, kind, metadata, spec itself */
static void header_rules(void **state) {
    static const struct vrow rows[] = {
        {NULL, "apiVersion: v1\nkind: TracingModel\nmetadata: {name: m}\nspec: {" B "}", 0, E,
         "apiVersion", "must be tracemodel.dev/v1alpha1, got \"v1\"", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: Tracing\nmetadata: {name: m}\nspec: {" B "}",
         0, E, "kind", "must be TracingModel", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nspec: {" B "}", 0, E,
         "metadata", "required", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {}\nspec: {" B "}",
         0, E, "metadata.name", "required", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: Shop}\n"
               "spec: {" B "}", 0, E, "metadata.name", "not a valid name", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: a.b}\n"
               "spec: {" B "}", 0, E, "metadata.name", "must be a DNS label", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: 1abc}\n"
               "spec: {" B "}", 0, E, "metadata.name", "starting with a letter", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\n"
               "metadata: {name: abcdefghij-abcdefghij-abcdefghij-abcdefghij-x}\nspec: {" B "}", 0, E,
         "metadata.name", "at most 44 characters (got 45)", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\n"
               "metadata: {name: abcdefghij-abcdefghij-abcdefghij-abcdefghij-}\nspec: {" B "}", 0, E,
         "metadata.name", "not a valid name", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\n"
               "metadata: {name: m, namespace: Bad_NS}\nspec: {" B "}", 0, E, "metadata.namespace",
         "namespace name", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: m}\n", 0, E,
         "spec", "required", 1},
        {NULL, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: m}\n"
               "spec: [1]", 0, E, "spec", "must be an object, got a list", 1},
        {NULL, "[1, 2]", 0, E, "", "must be an object", 1},
        {"{}", NULL, 0, E, "spec.backend", "required", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* every field's type, enum and range */
static void field_rules(void **state) {
    static const struct vrow rows[] = {
        {"{" B "}", NULL, 0, 0, "", "", 0},
        {"{" B ", sampling: {rate: 1.5}}", NULL, 0, E, "spec.sampling.rate",
         "must be within [0, 1], got 1.5", 1},
        {"{" B ", sampling: {rate: -0.5}}", NULL, 0, E, "spec.sampling.rate",
         "must be within [0, 1], got -0.5", 1},
        {"{" B ", sampling: {rate: high}}", NULL, 0, E, "spec.sampling.rate",
         "must be a number, got a string \"high\"", 1},
        {"{" B ", sampling: {strategy: random}}", NULL, 0, E, "spec.sampling.strategy",
         "must be one of: probabilistic, ratelimiting, adaptive, always_on, always_off; got \"random\"", 1},
        /* an OpenTelemetry sampler name, or another case: what it is here */
        {"{" B ", sampling: {strategy: parentbased_traceidratio}}", NULL, 0, E,
         "spec.sampling.strategy", "got \"parentbased_traceidratio\" (did you mean "
         "\"probabilistic\"? parentBased: true is the default)", 1},
        {"{" B ", sampling: {strategy: TraceIdRatio}}", NULL, 0, E, "spec.sampling.strategy",
         "(did you mean \"probabilistic\"? then set parentBased: false)", 1},
        {"{" B ", sampling: {strategy: Adaptive}}", NULL, 0, E, "spec.sampling.strategy",
         "got \"Adaptive\" (did you mean \"adaptive\"?)", 1},
        {"{" B ", collector: {mode: DaemonSet}}", NULL, 0, E, "spec.collector.mode",
         "(did you mean \"daemonset\"?)", 1},
        {"{" B ", sampling: {parentBased: 'yes'}}", NULL, 0, E, "spec.sampling.parentBased",
         "must be a boolean", 1},
        {"{" B ", sampling: {maxTracesPerSecond: -1}}", NULL, 0, E,
         "spec.sampling.maxTracesPerSecond", "must be at least 0, got -1", 1},
        {"{" B ", sampling: {operations: [{name: a, rate: 2}]}}", NULL, 0, E,
         "spec.sampling.operations[0].rate", "must be within [0, 1], got 2", 1},
        {"{" B ", sampling: {operations: [{rate: 0.5}]}}", NULL, 0, E,
         "spec.sampling.operations[0].name", "required", 1},
        {"{" B ", sampling: {rules: [{name: a, condition: '*', rate: -0.1}]}}", NULL, 0, E,
         "spec.sampling.rules[0].rate", "must be within [0, 1], got -0.1", 1},
        {"{" B ", sampling: {rules: [{name: a, condition: '*', priority: 1.5}]}}", NULL, 0, E,
         "spec.sampling.rules[0].priority", "must be an integer, got a number 1.5", 1},
        {"{" B ", sampling: {rules: [{name: a}]}}", NULL, 0, E,
         "spec.sampling.rules[0].condition", "required", 1},
        {"{" B ", sampling: {rules: [{name: a, condition: ''}]}}", NULL, 0, E,
         "spec.sampling.rules[0].condition", "must not be empty", 1},
        {"{" B ", sampling: {adaptive: {targetRate: 3}}}", NULL, 0, E,
         "spec.sampling.adaptive.targetRate", "must be within [0, 1], got 3", 1},
        {"{" B ", sampling: {adaptive: {adjustmentInterval: '5'}}}", NULL, 0, E,
         "spec.sampling.adaptive.adjustmentInterval", "\"5\" is not a duration", 1},
        {"{" B ", sampling: {tail: {decisionWait: 10x}}}", NULL, 0, E,
         "spec.sampling.tail.decisionWait", "\"10x\" is not a duration", 1},
        {"{" B ", sampling: {tail: {numTraces: 0}}}", NULL, 0, E, "spec.sampling.tail.numTraces",
         "must be at least 1, got 0", 1},
        {"{" B ", sampling: {tail: {expectedNewTracesPerSec: -1}}}", NULL, 0, E,
         "spec.sampling.tail.expectedNewTracesPerSec", "must be at least 0, got -1", 1},
        {"{" B ", sampling: {tail: {policies: [{name: p, condition: '*', rate: 2}]}}}", NULL, 0, E,
         "spec.sampling.tail.policies[0].rate", "must be within [0, 1], got 2", 1},
        {"{" B ", propagation: {types: [tracecontext, zipkin]}}", NULL, 0, E,
         "spec.propagation.types[1]", "must be one of: tracecontext, baggage, b3, b3multi, jaeger, "
         "xray, ottrace, none, w3c_tracecontext; got \"zipkin\"", 1},
        {"{" B ", propagation: {types: b3}}", NULL, 0, E, "spec.propagation.types",
         "must be a list, got a string", 1},
        {"{" B ", propagation: {types: [b3, b3]}}", NULL, 0, E, "spec.propagation.types[1]",
         "duplicate propagation type \"b3\" (also spec.propagation.types[0])", 1},
        {"{" B ", propagation: {baggage: {maxEntries: -1}}}", NULL, 0, E,
         "spec.propagation.baggage.maxEntries", "must be at least 0, got -1", 1},
        {"{" B ", propagation: {correlation: {headers: ['X Request']}}}", NULL, 0, E,
         "spec.propagation.correlation.headers[0]", "not a valid HTTP header name", 1},
        {"{" B ", collector: {mode: pod}}", NULL, 0, E, "spec.collector.mode",
         "must be one of: deployment, daemonset, statefulset, sidecar; got \"pod\"", 1},
        {"{" B ", collector: {replicas: 0}}", NULL, 0, E, "spec.collector.replicas",
         "must be at least 1, got 0", 1},
        {"{" B ", collector: {replicas: 1.5}}", NULL, 0, E, "spec.collector.replicas",
         "must be an integer", 1},
        {"{" B ", collector: {image: ''}}", NULL, 0, E, "spec.collector.image", "must not be empty", 1},
        {"{" B ", collector: {resources: {limits: {memory: lots}}}}", NULL, 0, E,
         "spec.collector.resources.limits[memory]", "\"lots\" is not a Kubernetes quantity", 1},
        {"{" B ", collector: {resources: {requests: {cpu: [1]}}}}", NULL, 0, E,
         "spec.collector.resources.requests[cpu]", "must be a quantity", 1},
        {"{" B ", collector: {batch: {timeout: 5}}}", NULL, 0, E, "spec.collector.batch.timeout",
         "must be a duration string such as 500ms, 10s, 5m or 7d, got an integer 5", 1},
        {"{" B ", collector: {batch: {sendBatchSize: -1}}}", NULL, 0, E,
         "spec.collector.batch.sendBatchSize", "must be at least 0, got -1", 1},
        {"{" B ", collector: {memoryLimiter: {limitPercentage: 150}}}", NULL, 0, E,
         "spec.collector.memoryLimiter.limitPercentage", "must be within [1, 100], got 150", 1},
        {"{" B ", collector: {memoryLimiter: {checkInterval: often}}}", NULL, 0, E,
         "spec.collector.memoryLimiter.checkInterval", "is not a duration", 1},
        {"{" B ", collector: {redact: ['']}}", NULL, 0, E, "spec.collector.redact[0]",
         "must not be empty", 1},
        {"{" B ", collector: {receivers: {jaeger: 'true'}}}", NULL, 0, E,
         "spec.collector.receivers.jaeger", "must be a boolean (true or false), got a string", 1},
        {"{" B ", collector: {spanMetrics: {histogramBuckets: [1s, 2]}}}", NULL, 0, E,
         "spec.collector.spanMetrics.histogramBuckets[1]", "must be a duration string", 1},
        {"{" B ", collector: {kafka: {brokers: localhost}}}", NULL, 0, E,
         "spec.collector.kafka.brokers", "must be a list", 1},
        {"{backend: {type: zipkin}}", NULL, 0, E, "spec.backend.type",
         "must be one of: jaeger, tempo, otlp; got \"zipkin\"", 1},
        {"{backend: {}}", NULL, 0, E, "spec.backend.type", "required (one of: jaeger, tempo, otlp)", 1},
        {"{backend: {type: jaeger, retention: forever}}", NULL, 0, E, "spec.backend.retention",
         "\"forever\" is not a duration", 1},
        {"{backend: {type: jaeger, jaeger: {storage: {type: cassandra}}}}", NULL, 0, E,
         "spec.backend.jaeger.storage.type", "must be one of: memory, badger, elasticsearch", 1},
        {"{backend: {type: jaeger, jaeger: {deployment: streaming}}}", NULL, 0, E,
         "spec.backend.jaeger.deployment", "must be one of: allInOne, production", 1},
        {"{backend: {type: jaeger, jaeger: {storage: {type: badger, badger: {size: big}}}}}", NULL, 0,
         E, "spec.backend.jaeger.storage.badger.size", "is not a Kubernetes quantity", 1},
        {"{backend: {type: tempo, tempo: {storage: {type: gcs}}}}", NULL, 0, E,
         "spec.backend.tempo.storage.type", "must be one of: local, s3", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'a:4317', secretRef: {name: Bad_Name, key: k}}}}",
         NULL, 0, E, "spec.backend.otlp.secretRef.name", "not a valid Kubernetes object name", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'a:4317', secretRef: {name: s}}}}", NULL, 0, E,
         "spec.backend.otlp.secretRef.key", "required", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'a:4317', headers: {x-tenant: 5}}}}", NULL, 0, E,
         "spec.backend.otlp.headers[x-tenant]", "must be a string", 1},
        {"{" B ", istio: {samplingPercentage: 101}}", NULL, 0, E, "spec.istio.samplingPercentage",
         "must be within [0, 100], got 101", 1},
        {"{" B ", istio: {scope: cluster}}", NULL, 0, E, "spec.istio.scope",
         "must be one of: namespace, mesh", 1},
        {"{" B ", istio: {meshRootNamespace: Bad_NS}}", NULL, 0, E, "spec.istio.meshRootNamespace",
         "not a valid namespace name", 1},
        {"{" B ", istio: {customTags: {t: {literal: {}}}}}", NULL, 0, E,
         "spec.istio.customTags[t].literal.value", "required", 1},
        {"{" B ", services: [{name: a, samplingRate: 1.1}]}", NULL, 0, E,
         "spec.services[0].samplingRate", "must be within [0, 1], got 1.1", 1},
        {"{" B ", services: [{version: '1'}]}", NULL, 0, E, "spec.services[0].name", "required", 1},
        {"{" B ", services: [{name: a, operations: [{name: op, rate: 5}]}]}", NULL, 0, E,
         "spec.services[0].operations[0].rate", "must be within [0, 1], got 5", 1},
        {"{" B ", services: [{name: a, attributes: [1]}]}", NULL, 0, E,
         "spec.services[0].attributes[0]", "must be a string", 1},
        {"{" B ", services: {a: 1}}", NULL, 0, E, "spec.services", "must be a list, got an object", 1},
        {"{" B ", analysis: {latency: [{percentile: 0, threshold: 1s}]}}", NULL, 0, E,
         "spec.analysis.latency[0].percentile", "must be within (0, 1), got 0", 1},
        {"{" B ", analysis: {latency: [{percentile: 1, threshold: 1s}]}}", NULL, 0, E,
         "spec.analysis.latency[0].percentile", "must be within (0, 1), got 1", 1},
        {"{" B ", analysis: {latency: [{percentile: 0.9}]}}", NULL, 0, E,
         "spec.analysis.latency[0].threshold", "required", 1},
        {"{" B ", analysis: {errorRate: {threshold: 2}}}", NULL, 0, E,
         "spec.analysis.errorRate.threshold", "must be within [0, 1], got 2", 1},
        {"{" B ", analysis: {throughput: {minRequestsPerSecond: -1}}}", NULL, 0, E,
         "spec.analysis.throughput.minRequestsPerSecond", "must be at least 0, got -1", 1},
        {"{" B ", alerts: {rules: [{name: a}]}}", NULL, 0, E, "spec.alerts.rules[0].expr", "required", 1},
        {"{" B ", alerts: {rules: [{name: a, expr: up, for: '5'}]}}", NULL, 0, E,
         "spec.alerts.rules[0].for", "is not a duration", 1},
        {"{" B ", alerts: {spanDropRateThreshold: 1.2}}", NULL, 0, E,
         "spec.alerts.spanDropRateThreshold", "must be within [0, 1], got 1.2", 1},
        {"{" B ", grafana: {enabled: 'yes'}}", NULL, 0, E, "spec.grafana.enabled", "must be a boolean", 1},
        {"{" B ", capacity: {spanSizeBytes: 0}}", NULL, 0, E, "spec.capacity.spanSizeBytes",
         "must be at least 1, got 0", 1},
        {"{" B ", capacity: {peakFactor: 0.5}}", NULL, 0, E, "spec.capacity.peakFactor",
         "must be at least 1, got 0.5", 1},
        {"{" B ", capacity: {spansPerRequest: 0}}", NULL, 0, E, "spec.capacity.spansPerRequest",
         "must be greater than 0, got 0", 1},
        {"{" B ", capacity: {requestsPerSecond: -5}}", NULL, 0, E, "spec.capacity.requestsPerSecond",
         "must be at least 0, got -5", 1},
        {"{" B ", description: 5}", NULL, 0, E, "spec.description", "must be a string, got an integer 5", 1},
        {"{" B ", version: [1]}", NULL, 0, E, "spec.version", "must be a string, got a list", 1},
        {"{" B ", labels: {team: 5}}", NULL, 0, E, "spec.labels[team]", "must be a string", 1},
        {"{" B ", labels: [a]}", NULL, 0, E, "spec.labels", "must be an object, got a list", 1},
        {"{" B ", sampling: {rate: null}}", NULL, 0, 0, "", "", 0},
        {"{" B ", services: [null]}", NULL, 0, E, "spec.services[0]", "must not be null", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static void unknown_fields(void **state) {
    static const struct vrow rows[] = {
        {"{" B ", sampling: {foo: 1}}", NULL, 0, W, "spec.sampling.foo", "unknown field", 0},
        {"{" B ", sampling: {foo: 1}}", NULL, 1, E, "spec.sampling.foo", "unknown field", 1},
        {"{" B ", extra: {a: b}}", NULL, 0, W, "spec.extra", "unknown field", 0},
        {"{" B ", collector: {batch: {size: 5}}}", NULL, 0, W, "spec.collector.batch.size",
         "unknown field", 0},
        {"{" B ", services: [{name: a, rate: 0.5}]}", NULL, 0, W, "spec.services[0].rate",
         "unknown field (did you mean \"samplingRate\"?)", 0},
        {"{" B ", services: [{name: a, operations: [{name: o, samplingRate: 1}]}]}", NULL, 0, W,
         "spec.services[0].operations[0].samplingRate", "unknown field (did you mean \"rate\"?)", 1},
        {"{" B ", sampling: {stratgy: adaptive, parent_based: false}}", NULL, 0, W,
         "spec.sampling.stratgy", "unknown field (did you mean \"strategy\"?)", 0},
        {"{" B ", sampling: {stratgy: adaptive, parent_based: false}}", NULL, 0, W,
         "spec.sampling.parent_based", "unknown field (did you mean \"parentBased\"?)", 0},
        {"{backend: {type: jaeger, jaeger: {storage: {type: elasticsearch, elasticsearch: "
         "{url: 'http://es:9200', username: elastic, password: changeme}}}}}", NULL, 0, E,
         "spec.backend.jaeger.storage.elasticsearch.password",
         "credentials must not be written inline; put them in a Secret", 2},
        {"{backend: {type: jaeger, jaeger: {storage: {type: elasticsearch, elasticsearch: "
         "{url: 'http://es:9200', username: elastic}}}}}", NULL, 0, E,
         "spec.backend.jaeger.storage.elasticsearch.username", "secretRef", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'x:4317', token: abc}}}", NULL, 0, E,
         "spec.backend.otlp.token", "credentials must not be written inline", 1},
        {"{backend: {type: tempo, tempo: {storage: {type: s3, s3: {bucket: b, endpoint: e, "
         "secretAccessKey: k}}}}}", NULL, 0, E, "spec.backend.tempo.storage.s3.secretAccessKey",
         "put them in a Secret", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* rules across fields */
static void cross_field_rules(void **state) {
    static const struct vrow rows[] = {
        {"{" B ", services: [{name: x}, {name: y}, {name: x}]}", NULL, 0, E, "spec.services[2].name",
         "duplicate service name \"x\" (also spec.services[0])", 1},
        {"{" B ", services: [{name: a, operations: [{name: o, rate: 1}, {name: o, rate: 0}]}]}", NULL,
         0, E, "spec.services[0].operations[1].name",
         "duplicate operation name \"o\" (also spec.services[0].operations[0])", 1},
        {"{" B ", sampling: {rules: [{name: r, condition: '*'}, {name: r, condition: 'duration > 1s'}]}}",
         NULL, 0, E, "spec.sampling.rules[1].name",
         "duplicate rule name \"r\" (also spec.sampling.rules[0])", ANY},
        {"{" B ", sampling: {rules: [{name: r, condition: '*'}], tail: {policies: "
         "[{name: r, condition: 'status == ERROR'}]}}}", NULL, 0, E, "spec.sampling.tail.policies[0]",
         "policy name \"r\" is also produced by spec.sampling.rules[0]", 1},
        {"{" B ", sampling: {rules: [{name: r, condition: 'http.status_code >= '}]}}", NULL, 0, E,
         "spec.sampling.rules[0].condition", "column 18: expected a value after '>='", 1},
        {"{" B ", sampling: {tail: {policies: [{name: rare, condition: "
         "'service.name not in common_services'}]}}}", NULL, 0, E,
         "spec.sampling.tail.policies[0].condition",
         "column 21: list 'common_services' is not defined; write the values inline", 1},
        {"{" B ", sampling: {rules: [{name: r, condition: 'x > 5 and x < 3'}]}}", NULL, 0, E,
         "spec.sampling.rules[0].condition", "can never match", 1},
        {"{" B ", collector: {mode: daemonset}, sampling: {rules: [{name: r, condition: '*'}]}}",
         NULL, 0, E, "spec.collector.mode", "daemonset cannot do tail sampling: each node's "
         "collector would see only part of a trace", 1},
        {"{" B ", collector: {mode: sidecar}, sampling: {tail: {enabled: true, policies: "
         "[{name: p, condition: '*'}]}}}", NULL, 0, E, "spec.collector.mode",
         "sidecar cannot do tail sampling", 1},
        {"{" B ", collector: {mode: daemonset}, sampling: {tail: {enabled: false}}}", NULL, 0, 0, "",
         "", 0},
        {"{" B ", collector: {mode: statefulset, replicas: 3}, sampling: {rules: "
         "[{name: r, condition: '*'}]}}", NULL, 0, 0, "", "", 0},
        {"{" B ", istio: {scope: mesh, meshRootNamespace: ''}}", NULL, 0, E,
         "spec.istio.meshRootNamespace", "required when scope is mesh", 1},
        {"{" B ", istio: {scope: mesh}}", NULL, 0, 0, "", "", 0},
        {"{backend: {type: otlp}}", NULL, 0, E, "spec.backend.otlp.endpoint",
         "required when backend.type is otlp", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'not a url'}}}", NULL, 0, E,
         "spec.backend.otlp.endpoint", "is not a URL with a scheme", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'collector.obs'}}}", NULL, 0, E,
         "spec.backend.otlp.endpoint", "host:port", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'h:99999'}}}", NULL, 0, E,
         "spec.backend.otlp.endpoint", "host:port", 1},
        {"{backend: {type: otlp, otlp: {endpoint: 'collector.obs:4317'}}}", NULL, 0, 0, "", "", 0},
        {"{backend: {type: otlp, otlp: {endpoint: 'https://otlp.example.com'}}}", NULL, 0, 0, "", "", 0},
        {"{backend: {type: jaeger, jaeger: {storage: {type: elasticsearch}}}}", NULL, 0, E,
         "spec.backend.jaeger.storage.elasticsearch.url", "required when storage type is "
         "elasticsearch", 1},
        {"{backend: {type: jaeger, jaeger: {deployment: production}}}", NULL, 0, E,
         "spec.backend.jaeger.storage.type", "production deployment needs storage type "
         "elasticsearch", 1},
        {"{backend: {type: tempo, tempo: {storage: {type: s3}}}}", NULL, 0, E,
         "spec.backend.tempo.storage.s3.bucket", "required when storage type is s3", 2},
        {"{backend: {type: jaeger, retention: '0'}}", NULL, 0, E, "spec.backend.retention",
         "longer than 0", 1},
        {"{" B ", sampling: {adaptive: {minRate: 0.5, maxRate: 0.2}}}", NULL, 0, E,
         "spec.sampling.adaptive.minRate", "must not be above maxRate", 1},
        {"{" B ", sampling: {adaptive: {minRate: 0.1, targetRate: 0.05}}}", NULL, 0, E,
         "spec.sampling.adaptive.targetRate", "must be at least minRate", 1},
        {"{" B ", sampling: {adaptive: {maxRate: 0.1, targetRate: 0.5}}}", NULL, 0, E,
         "spec.sampling.adaptive.targetRate", "must be at most maxRate", 1},
        {"{" B ", sampling: {strategy: ratelimiting}}", NULL, 0, E,
         "spec.sampling.maxTracesPerSecond", "required when strategy is ratelimiting", 1},
        {"{" B ", sampling: {strategy: ratelimiting, maxTracesPerSecond: 100}}", NULL, 0, 0, "", "", 0},
        {"{" B ", propagation: {types: [none, b3]}}", NULL, 0, E, "spec.propagation.types",
         "'none' turns propagation off and cannot be combined", 1},
        {"{" B ", propagation: {types: [none]}}", NULL, 0, 0, "", "", 0},
        {"{" B ", labels: {'bad key!': x}}", NULL, 0, E, "spec.labels[bad key!]", "not a valid label key", 1},
        {"{" B ", labels: {'UPPER.example.com/x': y}}", NULL, 0, E,
         "spec.labels[UPPER.example.com/x]", "prefix before '/'", 1},
        {"{" B ", labels: {team: 'not valid!'}}", NULL, 0, E, "spec.labels[team]",
         "not a valid label value", 1},
        {"{" B ", labels: {tracemodel.dev/model: other}}", NULL, 0, E,
         "spec.labels[tracemodel.dev/model]", "set by the operator", 1},
        {"{" B ", labels: {example.com/team: a-b_c.d}}", NULL, 0, 0, "", "", 0},
        {"{" B ", collector: {resources: {requests: {cpu: 2}, limits: {cpu: 500m}}}}", NULL, 0, E,
         "spec.collector.resources.requests[cpu]", "request 2 is above the limit \"500m\"", 1},
        {"{" B ", collector: {resources: {requests: {memory: 1Gi}, limits: {memory: 1024Mi}}}}", NULL,
         0, 0, "", "", 0},
        {"{" B ", collector: {batch: {sendBatchSize: 100, sendBatchMaxSize: 50}}}", NULL, 0, E,
         "spec.collector.batch.sendBatchMaxSize", "at least sendBatchSize (100), got 50", 1},
        {"{" B ", collector: {batch: {sendBatchSize: 100, sendBatchMaxSize: 0}}}", NULL, 0, 0, "", "", 0},
        {"{" B ", collector: {memoryLimiter: {limitPercentage: 50, spikeLimitPercentage: 50}}}", NULL,
         0, E, "spec.collector.memoryLimiter.spikeLimitPercentage", "must be below limitPercentage", 1},
        {"{" B ", collector: {spanMetrics: {histogramBuckets: [1s, 100ms]}}}", NULL, 0, E,
         "spec.collector.spanMetrics.histogramBuckets[1]", "increasing order", 1},
        {"{" B ", collector: {kafka: {exporter: true}}}", NULL, 0, E, "spec.collector.kafka.brokers",
         "required when the kafka exporter or receiver is on", 1},
        {"{" B ", istio: {customTags: {a: {literal: {value: x}, header: {name: y}}}}}", NULL, 0, E,
         "spec.istio.customTags[a]", "exactly one of literal, header, environment (got 2)", 1},
        {"{" B ", istio: {customTags: {a: {}}}}", NULL, 0, E, "spec.istio.customTags[a]",
         "exactly one of", 1},
        {"{" B ", analysis: {throughput: {minRequestsPerSecond: 10, maxRequestsPerSecond: 5}}}", NULL,
         0, E, "spec.analysis.throughput.minRequestsPerSecond", "must not be above", 1},
        /* defaulting normalizes the alias first, so this is a plain duplicate */
        {"{" B ", propagation: {types: [tracecontext, w3c_tracecontext]}}", NULL, 0, E,
         "spec.propagation.types[1]", "duplicate propagation type \"tracecontext\"", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* warnings: the model works but probably not as meant */
static void warning_rules(void **state) {
    static const struct vrow rows[] = {
        {"{" B ", sampling: {rules: [{name: critical, condition: \"service.name in ['payment']\", "
         "rate: 1.0}]}, services: [{name: payment, samplingRate: 0.1}]}", NULL, 0, W,
         "spec.services[0].samplingRate", "head sampling keeps 10% of \"payment\" traces (rate 0.1), "
         "but spec.sampling.rules[0] (\"critical\") wants to keep 100% of them (rate 1); tail "
         "sampling only sees traces the head kept, so at most 10% will be stored", 0},
        {"{" B ", sampling: {rate: 0.25, rules: [{name: c, condition: \"service.name == 'cart' and "
         "duration > 1s\", rate: 0.5}]}}", NULL, 0, W, "spec.sampling.rate",
         "head sampling keeps 25% of \"cart\" traces", 0},
        {"{" B ", sampling: {rate: 0.1, rules: [{name: c, condition: \"service.name in ['a']\", "
         "rate: 0.5}]}, services: [{name: a, samplingRate: 0.5}]}", NULL, 0, 0, "", "", 0},
        {"{" B ", sampling: {rate: 0.1, rules: [{name: c, condition: 'status == ERROR', rate: 1}]}}",
         NULL, 0, 0, "", "", 0},
        {"{" B ", collector: {mode: daemonset, replicas: 3}}", NULL, 0, W, "spec.collector.replicas",
         "ignored in mode daemonset", 0},
        {"{backend: {type: tempo, jaeger: {image: x}}}", NULL, 0, W, "spec.backend.jaeger",
         "ignored because backend.type is tempo", 0},
        {"{backend: {type: otlp, retention: 7d, otlp: {endpoint: 'a:4317'}}}", NULL, 0, W,
         "spec.backend.retention", "ignored for backend otlp", 0},
        {"{" B ", sampling: {rules: [{name: r, condition: '*'}], tail: {enabled: false}}}", NULL, 0, W,
         "spec.sampling.tail.enabled", "not applied", 0},
        {"{" B ", sampling: {tail: {enabled: true}}}", NULL, 0, W, "spec.sampling.tail.enabled",
         "without rules or policies", 0},
        {"{" B ", sampling: {rules: [{name: r, condition: '*', rate: 0}]}}", NULL, 0, W,
         "spec.sampling.rules[0]", "rate 0 never keeps a trace", 0},
        {"{" B ", sampling: {strategy: always_off, rules: [{name: r, condition: '*'}]}}", NULL, 0, W,
         "spec.sampling", "head sampling keeps no trace", 0},
        {"{backend: {type: otlp, otlp: {endpoint: 'a:4317'}}, grafana: {enabled: true}}", NULL, 0, W,
         "spec.grafana.enabled", "no effect with backend otlp", 0},
        {"{" B ", sampling: {rate: 0.1}, istio: {enabled: true, samplingPercentage: 50}}", NULL, 0, W,
         "spec.istio.samplingPercentage", "differs from sampling.rate", 0},
        /* strict promotes unknown fields only */
        {"{" B ", collector: {mode: daemonset, replicas: 3}}", NULL, 1, W, "spec.collector.replicas",
         "ignored in mode daemonset", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Without defaulting, the alias is checked as written. */
static void raw_alias(void **state) {
    struct vrow r = {"{" B ", propagation: {types: [tracecontext, w3c_tracecontext]}}", NULL, 0, 0,
                     "", "", 0};
    json_t *doc = parse_doc(&r);
    struct diag d;
    diag_init(&d);
    assert_int_equal(tm_validate(doc, 0, &d), 1);
    assert_true(has_item(&d, E, "spec.propagation.types", "w3c_tracecontext is another name for "
                                                          "tracecontext; list it once"));
    diag_done(&d);
    json_decref(doc);
}

/* Every error is reported, not just the first; tm_validate counts only its own. */
static void collects_everything(void **state) {
    json_t *doc = tu_load("tests/fixtures/model/many-errors.yaml");
    struct diag d;
    diag_init(&d);
    diag_error(&d, "earlier", "an error from someone else");
    int n = tm_validate(doc, 0, &d);
    assert_int_equal(n, (int)d.errors - 1);
    assert_true(n >= 10);
    assert_true(has_item(&d, E, "spec.sampling.rate", "must be within [0, 1], got 1.5"));
    assert_true(has_item(&d, E, "spec.collector.replicas", "must be at least 1"));
    assert_true(has_item(&d, E, "spec.services[1].name", "duplicate service name \"cart\""));
    assert_true(has_item(&d, E, "spec.backend.otlp.endpoint", "required"));
    assert_true(has_item(&d, W, "spec.sampling.bogus", "unknown field"));
    assert_null(tm_load(doc, 0, &d));
    json_decref(doc);
    diag_done(&d);
}

/* The documented examples validate cleanly, defaulted or not, strict or not. */
static void valid_fixtures(void **state) {
    static const char *files[] = {
        "tests/fixtures/model/full.yaml", "tests/fixtures/model/minimal-jaeger.yaml",
        "tests/fixtures/model/otlp.yaml",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        json_t *doc = tu_load(files[i]);
        struct diag d;
        diag_init(&d);
        assert_int_equal(tm_validate(doc, 1, &d), 0);
        json_t *m = tm_load(doc, 1, &d);
        if (!m || d.len) {
            print_message("%s:\n", files[i]);
            dump(&d);
            fail();
        }
        /* defaulting is idempotent */
        json_t *again = tm_default(m);
        tu_assert_json_equal(m, again, files[i]);
        json_decref(again);
        json_decref(m);
        json_decref(doc);
        diag_done(&d);
    }
}

/* ---- bad inputs --------------------------------------------------------- */

static json_t *wrong_value(const struct tm_field *f) {
    switch (f->kind) {
    case TK_STRING:
    case TK_DURATION:
    case TK_QUANTITY: return json_pack("[i]", 1);
    case TK_BOOL: return json_string("yes");
    case TK_NUMBER:
    case TK_INT: return json_string("many");
    case TK_OBJECT:
    case TK_MAP: return json_integer(7);
    case TK_ARRAY: return json_pack("{s:i}", "a", 1);
    }
    return json_null();
}

/* Builds an object for `fields` where every field has the wrong type, and
 * records the path of each wrong leaf in `paths`. Objects are recursed into. */
static json_t *all_wrong(const struct tm_field *fields, const char *prefix, json_t *paths) {
    json_t *o = json_object();
    for (size_t i = 0; fields[i].name; i++) {
        const struct tm_field *f = &fields[i];
        char path[512];
        snprintf(path, sizeof(path), "%s.%s", prefix, f->name);
        if (f->flags & TF_FORBIDDEN)
            continue;
        if (f->kind == TK_OBJECT) {
            json_object_set_new(o, f->name, all_wrong(f->fields, path, paths));
        } else if (f->kind == TK_ARRAY && f->item->kind == TK_OBJECT) {
            char ipath[520];
            snprintf(ipath, sizeof(ipath), "%s[0]", path);
            json_object_set_new(o, f->name, json_pack("[o]", all_wrong(f->item->fields, ipath, paths)));
        } else {
            json_object_set_new(o, f->name, wrong_value(f));
            json_array_append_new(paths, json_string(path));
        }
    }
    return o;
}

static void wrong_types_everywhere(void **state) {
    json_t *paths = json_array();
    json_t *spec = all_wrong(tm_spec_schema(), "spec", paths);
    json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", TM_API_VERSION, "kind",
                            TM_KIND, "metadata", "name", "m", "spec", spec);
    struct diag d;
    diag_init(&d);
    d.max = 100000;
    json_t *m = tm_load(doc, 0, &d);
    assert_null(m);
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) {
        if (!has_item(&d, E, json_string_value(p), "must be")) {
            print_message("no type error at %s\n", json_string_value(p));
            dump(&d);
            fail();
        }
    }
    assert_true(json_array_size(paths) > 100);

    /* and one level up: every object or list of the spec is a scalar */
    json_t *spec2 = json_object();
    const struct tm_field *fs = tm_spec_schema();
    for (size_t k = 0; fs[k].name; k++)
        json_object_set_new(spec2, fs[k].name, wrong_value(&fs[k]));
    json_object_set_new(doc, "spec", spec2);
    diag_done(&d);
    diag_init(&d);
    assert_null(tm_load(doc, 0, &d));
    for (size_t k = 0; fs[k].name; k++) {
        char path[128];
        snprintf(path, sizeof(path), "spec.%s", fs[k].name);
        assert_true(has_item(&d, E, path, "must be"));
    }
    json_decref(doc);
    json_decref(paths);
    diag_done(&d);
}

/* ~10 MiB of services: linear-time duplicate detection, bounded diagnostics. */
static void huge_document(void **state) {
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: big}\n"
                    "spec:\n  backend: {type: tempo}\n  services:\n");
    size_t n = 0;
    while (b.len < 10u * 1024 * 1024) {
        strbuf_printf(&b, "  - {name: service-%06zu, samplingRate: 0.5, attributes: [http.method]}\n", n);
        n++;
    }
    strbuf_puts(&b, "  - {name: service-000007}\n");   /* one duplicate at the very end */
    struct op_status st = {0};
    clock_t t0 = clock();
    json_t *doc = yaml_load_one(b.buf, b.len, &st);
    assert_non_null(doc);
    struct diag d;
    diag_init(&d);
    json_t *m = tm_load(doc, 0, &d);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_null(m);
    assert_int_equal(d.errors, 1);
    char path[64];
    snprintf(path, sizeof(path), "spec.services[%zu].name", n);
    assert_true(has_item(&d, E, path, "duplicate service name \"service-000007\" "
                                      "(also spec.services[7])"));
    print_message("    %zu services, %.1f MiB, %.2f s\n", n, (double)b.len / 1048576.0, secs);
    assert_true(secs < 60);
    diag_done(&d);

    /* every service broken: diagnostics stay bounded, the count goes on */
    size_t i;
    json_t *svc;
    json_array_foreach(json_object_get(json_object_get(doc, "spec"), "services"), i, svc)
        json_object_set_new(svc, "samplingRate", json_real(2.0));
    diag_init(&d);
    assert_null(tm_load(doc, 0, &d));
    assert_int_equal(d.errors, n + 2);
    assert_true(d.len <= 1000);
    diag_done(&d);
    json_decref(doc);
    strbuf_free(&b);
}

/* Deeply nested junk in unknown fields and in typed fields. */
static void deep_junk(void **state) {
    json_t *junk = json_string("leaf");
    for (int i = 0; i <= 1500; i++)   /* ends with an object */
        junk = (i % 2) ? json_pack("[o]", junk) : json_pack("{s:o}", "k", junk);
    json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:{s:O}, s:{s:O}, s:O}}",
                            "apiVersion", TM_API_VERSION, "kind", TM_KIND, "metadata", "name", "m",
                            "spec", "backend", "type", "jaeger", "sampling", "junk", junk,
                            "collector", "resources", junk, "services", junk);
    json_decref(junk);
    struct diag d;
    diag_init(&d);
    json_t *m = tm_load(doc, 0, &d);
    assert_null(m);
    assert_true(has_item(&d, W, "spec.sampling.junk", "unknown field"));
    assert_true(has_item(&d, W, "spec.collector.resources.k", "unknown field"));
    assert_true(has_item(&d, E, "spec.services", "must be a list, got an object"));
    diag_done(&d);
    json_decref(doc);

    /* a YAML document nested as deep as the reader allows */
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, "apiVersion: tracemodel.dev/v1alpha1\nkind: TracingModel\nmetadata: {name: m}\n"
                    "spec: {backend: {type: tempo}, sampling: {tail: {policies: ");
    for (int i = 0; i < 90; i++)
        strbuf_puts(&b, "[");
    for (int i = 0; i < 90; i++)
        strbuf_puts(&b, "]");
    strbuf_puts(&b, "}}}\n");
    struct op_status st = {0};
    doc = yaml_load_one(b.buf, b.len, &st);
    assert_non_null(doc);
    diag_init(&d);
    assert_null(tm_load(doc, 0, &d));
    assert_true(has_item(&d, E, "spec.sampling.tail.policies[0]", "must be an object, got a list"));
    diag_done(&d);
    json_decref(doc);
    strbuf_free(&b);
}

/* Long and odd strings are cut in messages, never overflow. */
static void odd_strings(void **state) {
    char *name = malloc(1 << 20);
    memset(name, 'a', (1 << 20) - 1);
    name[(1 << 20) - 1] = '\0';
    json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:{s:s}, s:[{s:s}, {s:s}]}}",
                            "apiVersion", TM_API_VERSION, "kind", TM_KIND, "metadata", "name", name,
                            "spec", "backend", "type", name, "sampling", "strategy", name,
                            "services", "name", name, "name", name);
    struct diag d;
    diag_init(&d);
    assert_null(tm_load(doc, 0, &d));
    assert_true(d.errors >= 4);
    for (size_t i = 0; i < d.len; i++)
        assert_true(strlen(d.items[i].msg) < 1000);
    diag_done(&d);
    json_decref(doc);
    free(name);
    diag_init(&d);
    assert_int_equal(tm_validate(NULL, 0, &d), 1);
    diag_done(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_rules),
        cmocka_unit_test(field_rules),
        cmocka_unit_test(unknown_fields),
        cmocka_unit_test(cross_field_rules),
        cmocka_unit_test(warning_rules),
        cmocka_unit_test(raw_alias),
        cmocka_unit_test(collects_everything),
        cmocka_unit_test(valid_fixtures),
        cmocka_unit_test(wrong_types_everywhere),
        cmocka_unit_test(huge_document),
        cmocka_unit_test(deep_junk),
        cmocka_unit_test(odd_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
