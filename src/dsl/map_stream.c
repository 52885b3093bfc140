/* map_stream.c - `real_time_tracing` / `stream_tracing` blocks -> the collector's
 * Kafka exporter/receiver (spec.collector.kafka) and connectors.
 *
 * The stream engine's source topic is where the collector must *write* spans
 * (kafka exporter); a Kafka output whose encoding is a span encoding feeds
 * enriched spans back (kafka receiver). Graph building and metrics aggregation
 * map onto the servicegraph and spanmetrics connectors. Every other
 * stream-processing operation (enrichment, anomaly detection, pattern
 * detection, ...) cannot run in the collector and becomes a warning naming the
 * block and its line. */
#include "dsl/mctx.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_span_encoding(const char *s) {
    static const char *const enc[] = {"otlp_proto", "otlp_json", "jaeger_proto", "jaeger_json",
                                      "zipkin_proto", "zipkin_json", "zipkin_thrift", NULL};
    for (size_t i = 0; enc[i]; i++)
        if (!strcmp(s, enc[i]))
            return 1;
    return 0;
}

/* brokers / endpoint / bootstrap_servers of a source or output -> new JSON array or NULL. */
static json_t *brokers_of(struct mctx *m, const struct dsl_value *it) {
    static const char *const keys[] = {"brokers", "bootstrap_servers", "endpoint", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const struct dsl_value *v = dsl_get(it, keys[i]);
        json_t *l;
        if (v) {
            size_t old = mx_push(m, keys[i]);
            int rc = mx_str_list(m, v, &l);
            mx_pop(m, old);
            if (rc == 0 && json_array_size(l))
                return l;
            if (rc == 0)
                json_decref(l);
        }
    }
    return NULL;
}

static const char *text_of(const struct dsl_value *obj, const char *key) {
    const struct dsl_value *v = dsl_get(obj, key);
    return v && (v->type == DSL_STRING || v->type == DSL_WORD) ? v->text : NULL;
}

static void set_kafka(struct mctx *m, const struct dsl_value *it, const char *topic,
                      json_t *brokers, const char *role) {
    mx_spec_set(m, "collector.kafka", role, json_true(), it->pos);
    if (topic)
        mx_spec_set(m, "collector.kafka", "topic", json_string(topic), it->pos);
    if (brokers)
        mx_spec_set(m, "collector.kafka", "brokers", brokers, it->pos);
    const char *enc = text_of(it, "encoding");
    if (enc) {
        if (!is_span_encoding(enc))
            mx_error(m, dsl_get(it, "encoding")->pos, "unknown span encoding \"%s\" (otlp_proto, "
                     "otlp_json, jaeger_proto, jaeger_json, zipkin_proto, zipkin_json)", enc);
        else
            mx_spec_set(m, "collector.kafka", "encoding", json_string(enc), it->pos);
    }
}

/* First Kafka broker list among the outputs (sources often leave it out). */
static json_t *brokers_from_outputs(struct mctx *m, const char **from) {
    const struct dsl_value *outs = dsl_get(m->blk->body, "outputs");
    for (size_t i = 0; outs && outs->type == DSL_ARRAY && i < outs->n; i++) {
        const char *t = text_of(outs->items[i], "type");
        if (t && !strcmp(t, "kafka")) {
            json_t *b = brokers_of(m, outs->items[i]);
            if (b) {
                *from = text_of(outs->items[i], "name");
                return b;
            }
        }
    }
    return NULL;
}

static void st_sources(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    int used = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const char *type = text_of(it, "type"), *name = text_of(it, "name");
        const char *topic = text_of(it, "topic");
        if (mx_obj(m, it) != 0) {
            /* reported */
        } else if (!type || strcmp(type, "kafka")) {
            mx_warn(m, it->pos, "source \"%s\" of type \"%s\" is not fed by the collector (only "
                    "kafka is); ignored", name ? name : "?", type ? type : "?");
        } else if (used) {
            mx_warn(m, it->pos, "the collector exports to one Kafka topic; source \"%s\" is "
                    "ignored", name ? name : "?");
        } else {
            if (!topic)
                mx_warn(m, it->pos, "no topic: the collector's default topic otlp_spans is used");
            json_t *brokers = brokers_of(m, it);
            const char *from = NULL;
            if (!brokers) {
                brokers = brokers_from_outputs(m, &from);
                if (brokers)
                    mx_warn(m, it->pos, "no brokers for source \"%s\": using those of output "
                            "\"%s\"", name ? name : "?", from ? from : "?");
                else {
                    brokers = json_pack("[s]", "kafka:9092");
                    mx_warn(m, it->pos, "no brokers for source \"%s\": using kafka:9092; set "
                            "brokers: [\"host:port\"]", name ? name : "?");
                }
            }
            set_kafka(m, it, topic, brokers, "exporter");
            used = 1;
        }
        mx_pop(m, old);
    }
}

static void st_outputs(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const char *type = text_of(it, "type"), *name = text_of(it, "name");
        const char *enc = text_of(it, "encoding"), *topic = text_of(it, "topic");
        if (mx_obj(m, it) != 0) {
            /* reported */
        } else if (type && !strcmp(type, "kafka") && enc && is_span_encoding(enc)) {
            set_kafka(m, it, topic, brokers_of(m, it), "receiver");
        } else {
            mx_warn(m, it->pos, "output \"%s\" (%s%s%s) holds the stream engine's results, not "
                    "spans the collector can receive; not compiled", name ? name : "?",
                    type ? type : "?", topic ? ", topic " : "", topic ? topic : "");
        }
        mx_pop(m, old);
    }
}

static void operation(struct mctx *m, const struct dsl_value *op, const char *proc) {
    const char *type = text_of(op, "type");
    if (!type) {
        mx_error(m, op->pos, "an operation needs a type");
    } else if (!strcmp(type, "graph_building")) {
        mx_spec_set(m, "collector.serviceGraph", "enabled", json_true(), op->pos);
    } else if (!strcmp(type, "metrics_aggregation")) {
        mx_spec_set(m, "collector.spanMetrics", "enabled", json_true(), op->pos);
    } else {
        mx_warn(m, op->pos, "processing \"%s\": operation \"%s\" (line %u) cannot run in the "
                "collector; run it in the stream engine", proc, type, op->pos.line);
    }
}

static void st_processing(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const char *name = text_of(it, "name");
        const struct dsl_value *ops = dsl_get(it, "operations");
        if (mx_obj(m, it) != 0) {
            /* reported */
        } else if (!ops) {
            mx_warn(m, it->pos, "processing \"%s\" has no operations; ignored", name ? name : "?");
        } else if (mx_arr(m, ops) == 0) {
            size_t o2 = mx_push(m, "operations");
            for (size_t k = 0; k < ops->n; k++) {
                size_t o3 = mx_push_index(m, k);
                if (mx_obj(m, ops->items[k]) == 0)
                    operation(m, ops->items[k], name ? name : "?");
                mx_pop(m, o3);
            }
            mx_pop(m, o2);
        }
        mx_pop(m, old);
    }
}

static const struct mx_field stream_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"streaming", NULL, "the stream engine (its kind, mode and parallelism) is not deployed by "
     "the operator; the collector only feeds it through Kafka"},
    {"sources", st_sources, NULL},
    {"processing", st_processing, NULL},
    {"outputs", st_outputs, NULL},
    {"performance", NULL, "latency, throughput and scaling targets belong to the stream engine"},
    {"monitoring", NULL, "metrics, health checks and alerts of the stream engine are not "
     "compiled"},
    {NULL, NULL, NULL},
};

void map_stream_block(struct mctx *m) { mx_fields(m, m->blk->body, stream_fields); }
