/* map_model.c - the DSL's model blocks -> TracingModel spec: `tracing_model`,
 * `distributed_tracing`, `microservice_tracing` (one key table for all three),
 * and the `context_propagation` block / inline `propagation: {}` object. */
#include "dsl/mctx.h"
#include "base/units.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- root fields ---- */

static void f_description(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) == 0 && m->root)
        mx_spec_set(m, "", "description", json_string(s), v->pos);
}

static void f_version(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (v->type == DSL_NUMBER) {
        mx_error(m, v->pos, "a version is text: write \"%s\"", v->text);
        return;
    }
    if (mx_str(m, v, &s) == 0 && m->root)
        mx_spec_set(m, "", "version", json_string(s), v->pos);
}

static void f_labels(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        const char *s = NULL;
        char num[64];
        if (mb->val->type == DSL_NUMBER || mb->val->type == DSL_BOOL) {
            snprintf(num, sizeof(num), "%s", mb->val->type == DSL_BOOL
                                                 ? (mb->val->b ? "true" : "false") : mb->val->text);
            s = num;
        } else if (mx_str(m, mb->val, &s) != 0) {
            s = NULL;
        }
        if (s)
            mx_spec_set(m, "labels", mb->key, json_string(s), mb->val->pos);
        mx_pop(m, old);
    }
}

/* `sampling: "name"`, `propagation: "name"`: references resolved by compile.c. */
static int is_reference(const struct dsl_value *v) {
    return v->type == DSL_STRING || v->type == DSL_WORD;
}

static void f_sampling(struct mctx *m, const struct dsl_value *v) {
    if (!is_reference(v))
        map_sampling_obj(m, v);
}

static void f_propagation(struct mctx *m, const struct dsl_value *v) {
    if (!is_reference(v))
        map_propagation_obj(m, v);
}

static void f_storage(struct mctx *m, const struct dsl_value *v) {
    if (is_reference(v))
        return;
    map_store_obj(m, v);
}

static void f_correlation(struct mctx *m, const struct dsl_value *v) { map_correlation_obj(m, v); }
static void f_services(struct mctx *m, const struct dsl_value *v) { map_services(m, v); }
static void f_analysis(struct mctx *m, const struct dsl_value *v) { map_analysis_list(m, v); }
static void f_monitoring(struct mctx *m, const struct dsl_value *v) {
    if (!is_reference(v))
        map_monitoring_obj(m, v);
}

/* ---- collector ---- */

static void c_mode(struct mctx *m, const struct dsl_value *v) {
    static const char *const modes[] = {"deployment", "daemonset", "statefulset", "sidecar", NULL};
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    for (size_t i = 0; modes[i]; i++)
        if (mx_name_eq(s, modes[i])) {
            mx_spec_set(m, "collector", "mode", json_string(modes[i]), v->pos);
            return;
        }
    mx_error(m, v->pos, "unknown collector mode \"%s\" (deployment, daemonset, statefulset, "
             "sidecar)", s);
}

static void c_replicas(struct mctx *m, const struct dsl_value *v) {
    long long n;
    if (mx_int(m, v, 1, &n) == 0)
        mx_spec_set(m, "collector", "replicas", json_integer(n), v->pos);
}

static void c_image(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) == 0)
        mx_spec_set(m, "collector", "image", json_string(s), v->pos);
}

static void c_redact(struct mctx *m, const struct dsl_value *v) {
    json_t *l;
    if (mx_str_list(m, v, &l) == 0)
        mx_spec_set(m, "collector", "redact", l, v->pos);
}

static void c_receivers(struct mctx *m, const struct dsl_value *v) {
    json_t *l;
    if (mx_str_list(m, v, &l) != 0)
        return;
    size_t i;
    json_t *r;
    json_array_foreach(l, i, r) {
        const char *s = json_string_value(r);
        if (!strcmp(s, "jaeger") || !strcmp(s, "zipkin"))
            mx_spec_set(m, "collector.receivers", s, json_true(), v->pos);
        else if (strcmp(s, "otlp"))
            mx_warn(m, v->pos, "receiver \"%s\" is not supported (otlp is always on; jaeger, "
                    "zipkin); ignored", s);
    }
    json_decref(l);
}

static void c_batch(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        const char *d;
        long long n;
        if (!strcmp(mb->key, "timeout")) {
            if (mx_duration(m, mb->val, &d, NULL) == 0)
                mx_spec_set(m, "collector.batch", "timeout", json_string(d), mb->val->pos);
        } else if (!strcmp(mb->key, "send_batch_size") || !strcmp(mb->key, "send_batch_max_size")) {
            if (mx_int(m, mb->val, 1, &n) == 0)
                mx_spec_set(m, "collector.batch",
                            strcmp(mb->key, "send_batch_size") ? "sendBatchMaxSize"
                                                               : "sendBatchSize",
                            json_integer(n), mb->val->pos);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static const struct mx_field collector_fields[] = {
    {"mode", c_mode, NULL},
    {"replicas", c_replicas, NULL},
    {"image", c_image, NULL},
    {"redact", c_redact, NULL},
    {"receivers", c_receivers, NULL},
    {"batch", c_batch, NULL},
    {NULL, NULL, NULL},
};

static void f_collector(struct mctx *m, const struct dsl_value *v) {
    mx_fields(m, v, collector_fields);
}

/* ---- istio ---- */

static void i_enabled(struct mctx *m, const struct dsl_value *v) {
    int b;
    if (mx_bool(m, v, &b) == 0)
        mx_spec_set(m, "istio", "enabled", json_boolean(b), v->pos);
}

static void i_provider(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) == 0)
        mx_spec_set(m, "istio", "provider", json_string(s), v->pos);
}

static void i_percentage(struct mctx *m, const struct dsl_value *v) {
    double d;
    if (mx_num(m, v, &d) != 0)
        return;
    if (d < 0 || d > 100) {
        mx_error(m, v->pos, "must be between 0 and 100, got %s", v->text);
        return;
    }
    mx_spec_set(m, "istio", "samplingPercentage", mx_number_json(v), v->pos);
}

static void i_scope(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (strcmp(s, "namespace") && strcmp(s, "mesh")) {
        mx_error(m, v->pos, "unknown scope \"%s\" (namespace, mesh)", s);
        return;
    }
    mx_spec_set(m, "istio", "scope", json_string(s), v->pos);
}

static void i_root_ns(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) == 0)
        mx_spec_set(m, "istio", "meshRootNamespace", json_string(s), v->pos);
}

static const struct mx_field istio_fields[] = {
    {"enabled", i_enabled, NULL},
    {"provider", i_provider, NULL},
    {"sampling_percentage", i_percentage, NULL},
    {"scope", i_scope, NULL},
    {"mesh_root_namespace", i_root_ns, NULL},
    {NULL, NULL, NULL},
};

static void f_istio(struct mctx *m, const struct dsl_value *v) { mx_fields(m, v, istio_fields); }

/* ---- capacity ---- */

static void f_capacity(struct mctx *m, const struct dsl_value *v) {
    static const struct { const char *dsl, *model; int is_int; } keys[] = {
        {"requests_per_second", "requestsPerSecond", 0},
        {"spans_per_request", "spansPerRequest", 1},
        {"span_size_bytes", "spanSizeBytes", 1},
        {"peak_factor", "peakFactor", 0},
    };
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key), k;
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (!strcmp(mb->key, keys[k].dsl))
                break;
        double d;
        long long n;
        if (k == sizeof(keys) / sizeof(keys[0]))
            mx_warn(m, mb->kpos, "unknown key; ignored");
        else if (keys[k].is_int ? mx_int(m, mb->val, 1, &n) == 0 : mx_num(m, mb->val, &d) == 0)
            mx_spec_set(m, "capacity", keys[k].model, mx_number_json(mb->val), mb->val->pos);
        mx_pop(m, old);
    }
}

/* A key naming other blocks (compile.c resolves the names): a name or a list of names. */
static void f_ref(struct mctx *m, const struct dsl_value *v) {
    if (is_reference(v))
        return;
    if (v->type == DSL_ARRAY) {
        for (size_t i = 0; i < v->n; i++)
            if (!is_reference(v->items[i]))
                mx_error(m, v->items[i]->pos, "expected a block name, got %s",
                         dsl_type_name(v->items[i]->type));
        return;
    }
    mx_error(m, v->pos, "expected the name of a block (or a list of names), got %s; settings "
             "written inline go under sampling:, propagation:, storage:, monitoring:, ...",
             dsl_type_name(v->type));
}

/* Keys a model block may use to name other blocks; compile.c resolves them. */
static const struct mx_field model_fields[] = {
    {"description", f_description, NULL},
    {"version", f_version, NULL},
    {"namespace", NULL, NULL},
    {"labels", f_labels, NULL},
    {"sampling", f_sampling, NULL},
    {"propagation", f_propagation, NULL},
    {"correlation", f_correlation, NULL},
    {"services", f_services, NULL},
    {"analysis", f_analysis, NULL},
    {"storage", f_storage, NULL},
    {"monitoring", f_monitoring, NULL},
    {"collector", f_collector, NULL},
    {"istio", f_istio, NULL},
    {"capacity", f_capacity, NULL},
    {"tracing_model", f_ref, NULL},
    {"sampling_strategy", f_ref, NULL},
    {"context_propagation", f_ref, NULL},
    {"trace_store", f_ref, NULL},
    {"trace_source", f_ref, NULL},
    {"trace_sources", f_ref, NULL},
    {"distributed_tracing", f_ref, NULL},
    {"microservice_tracing", f_ref, NULL},
    {"performance_analysis", f_ref, NULL},
    {"opentelemetry_integration", f_ref, NULL},
    {"real_time_tracing", f_ref, NULL},
    {"stream_tracing", f_ref, NULL},
    {"validation_rules", f_ref, NULL},
    {"performance_validation", f_ref, NULL},
    {"best_practices", f_ref, NULL},
    {"uses", f_ref, NULL},
    {NULL, NULL, NULL},
};

void map_model_block(struct mctx *m) { mx_fields(m, m->blk->body, model_fields); }

/* ---- propagation ---- */

/* The headers each propagator writes (lower-case). */
static const char *propagator_of_header(const char *h) {
    static const struct { const char *h, *p; } hs[] = {
        {"traceparent", "tracecontext"}, {"tracestate", "tracecontext"}, {"baggage", "baggage"},
        {"b3", "b3"}, {"x-b3-traceid", "b3multi"}, {"x-b3-spanid", "b3multi"},
        {"x-b3-parentspanid", "b3multi"}, {"x-b3-sampled", "b3multi"}, {"x-b3-flags", "b3multi"},
        {"uber-trace-id", "jaeger"}, {"x-amzn-trace-id", "xray"},
        {"ot-tracer-traceid", "ottrace"}, {"ot-tracer-spanid", "ottrace"},
        {"ot-tracer-sampled", "ottrace"},
    };
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!strcasecmp(h, hs[i].h))
            return hs[i].p;
    return NULL;
}

static void add_types(struct mctx *m, const struct dsl_value *v) {
    json_t *l;
    if (mx_str_list(m, v, &l) != 0)
        return;
    json_t *types = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(l, i, t) {
        const char *p = mx_propagator(json_string_value(t));
        if (!p)
            mx_error(m, v->type == DSL_ARRAY ? v->items[i]->pos : v->pos,
                     "unknown propagation type \"%s\" (w3c_tracecontext, baggage, b3, b3multi, "
                     "jaeger, xray, ottrace, none)", json_string_value(t));
        else
            json_array_append_new(types, json_string(p));
    }
    mx_spec_union(m, "propagation", "types", types, v->pos);
    json_decref(types);
    json_decref(l);
}

static void p_type(struct mctx *m, const struct dsl_value *v) { add_types(m, v); }

static void p_headers(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    json_t *corr = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const char *name = NULL;
        if (it->type == DSL_OBJECT) {
            const struct dsl_value *n = dsl_get(it, "name");
            if (!n)
                mx_error(m, it->pos, "a header needs a name");
            else if (mx_str(m, n, &name) != 0)
                name = NULL;
            for (size_t k = 0; k < it->n; k++)
                if (strcmp(it->members[k].key, "name") && strcmp(it->members[k].key, "format") &&
                    strcmp(it->members[k].key, "required") &&
                    strcmp(it->members[k].key, "description"))
                    mx_warn(m, it->members[k].kpos, "unknown key '%s' in a header; ignored",
                            it->members[k].key);
        } else if (mx_str(m, it, &name) != 0) {
            name = NULL;
        }
        if (name) {
            const char *p = propagator_of_header(name);
            if (!p) {
                json_array_append_new(corr, json_string(name));
            } else {
                json_t *types = json_object_get(mx_spec_obj(m, "propagation"), "types");
                int have = 0;
                size_t k;
                json_t *t;
                json_array_foreach(types, k, t) {
                    if (!strcmp(json_string_value(t), p))
                        have = 1;
                }
                if (!have && strcmp(p, "baggage"))
                    mx_warn(m, it->pos, "header \"%s\" is written by the %s propagator, which "
                            "this model does not use; add it to type", name, p);
            }
        }
        mx_pop(m, old);
    }
    if (json_array_size(corr))
        mx_spec_union(m, "propagation.correlation", "headers", corr, v->pos);
    json_decref(corr);
}

static void p_baggage(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_BOOL) {
        if (v->b) {
            json_t *t = json_pack("[s]", "baggage");
            mx_spec_union(m, "propagation", "types", t, v->pos);
            json_decref(t);
        }
        return;
    }
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *en = dsl_get(v, "enabled");
    int enabled = 1;
    if (en && mx_bool(m, en, &enabled) != 0)
        return;
    if (!enabled) {
        if (v->n > 1)
            mx_warn(m, v->pos, "baggage is disabled, so its other settings are ignored");
        return;
    }
    json_t *t = json_pack("[s]", "baggage");
    mx_spec_union(m, "propagation", "types", t, v->pos);
    json_decref(t);
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        long long n;
        json_t *l;
        if (!strcmp(mb->key, "enabled")) {
            /* handled above */
        } else if (!strcmp(mb->key, "max_entries")) {
            if (mx_int(m, mb->val, 1, &n) == 0)
                mx_spec_set(m, "propagation.baggage", "maxEntries", json_integer(n), mb->val->pos);
        } else if (!strcmp(mb->key, "max_value_length")) {
            if (mx_int(m, mb->val, 1, &n) == 0)
                mx_spec_set(m, "propagation.baggage", "maxValueLength", json_integer(n),
                            mb->val->pos);
        } else if (!strcmp(mb->key, "allowed_keys") || !strcmp(mb->key, "keys")) {
            if (mx_str_list(m, mb->val, &l) == 0) {
                mx_spec_union(m, "propagation.baggage", "allowedKeys", l, mb->val->pos);
                json_decref(l);
            }
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

/* injection / extraction: what the SDK's propagators touch. */
static void p_carriers(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        int b;
        int std = !strcmp(mb->key, "http_headers") || !strcmp(mb->key, "grpc_metadata") ||
                  !strcmp(mb->key, "messaging_headers");
        if (!std && strcmp(mb->key, "database_queries")) {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        } else if (mx_bool(m, mb->val, &b) == 0) {
            if (std && !b)
                mx_warn(m, mb->val->pos, "cannot be turned off: the SDKs' propagators always "
                        "use HTTP headers, gRPC metadata and message headers; ignored");
            else if (!std && b)
                mx_warn(m, mb->val->pos, "context in database queries (sqlcommenter) is not "
                        "injected by the operator; ignored");
        }
        mx_pop(m, old);
    }
}

static void p_corr_header(struct mctx *m, const struct dsl_value *v, struct dsl_pos pos) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    json_t *l = json_pack("[s]", s);
    mx_spec_union(m, "propagation.correlation", "headers", l, pos);
    json_decref(l);
}

void map_correlation_obj(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *en = dsl_get(v, "enabled");
    int enabled = 1;
    if (en && mx_bool(m, en, &enabled) != 0)
        return;
    if (!enabled)
        return;
    int analysis_warned = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        size_t kl = strlen(mb->key);
        json_t *l;
        if (!strcmp(mb->key, "enabled")) {
            /* handled above */
        } else if (kl > 7 && !strcmp(mb->key + kl - 7, "_header")) {
            p_corr_header(m, mb->val, mb->val->pos);
        } else if (!strcmp(mb->key, "headers")) {
            if (mx_str_list(m, mb->val, &l) == 0) {
                mx_spec_union(m, "propagation.correlation", "headers", l, mb->val->pos);
                json_decref(l);
            }
        } else if (!strcmp(mb->key, "correlation_key")) {
            const char *s;
            if (mx_str(m, mb->val, &s) == 0)
                mx_warn(m, mb->val->pos, "\"%s\" is a key, not a header: name the header that "
                        "carries it (e.g. request_id_header: \"X-Request-ID\"); ignored", s);
        } else if (!strcmp(mb->key, "services") || !strcmp(mb->key, "time_window")) {
            if (!analysis_warned)
                mx_warn(m, mb->kpos, "not compiled: correlating traces across services within a "
                        "time window is done by the tracing backend's queries, not the pipeline");
            analysis_warned = 1;
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static void p_correlation(struct mctx *m, const struct dsl_value *v) { map_correlation_obj(m, v); }

static const struct mx_field propagation_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", f_ref, NULL},
    {"type", p_type, NULL},
    {"types", p_type, NULL},
    {"headers", p_headers, NULL},
    {"baggage", p_baggage, NULL},
    {"correlation", p_correlation, NULL},
    {"injection", p_carriers, NULL},
    {"extraction", p_carriers, NULL},
    {NULL, NULL, NULL},
};

void map_propagation_obj(struct mctx *m, const struct dsl_value *v) {
    if (v->type == DSL_ARRAY) {
        add_types(m, v);   /* `propagation: [tracecontext, baggage]`: the types alone */
        return;
    }
    if (mx_obj(m, v) != 0)
        return;
    /* types first, so the header check knows them */
    const struct dsl_value *t = dsl_get(v, "type");
    if (!t)
        t = dsl_get(v, "types");
    if (t) {
        size_t old = mx_push(m, dsl_get(v, "type") ? "type" : "types");
        add_types(m, t);
        mx_pop(m, old);
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        if (!strcmp(mb->key, "type") || !strcmp(mb->key, "types"))
            continue;
        const struct mx_field *f = propagation_fields;
        while (f->key && strcmp(f->key, mb->key))
            f++;
        size_t old = mx_push(m, mb->key);
        if (!f->key)
            mx_warn(m, mb->kpos, "unknown key; ignored");
        else if (f->fn)
            f->fn(m, mb->val);
        mx_pop(m, old);
    }
}

void map_propagation_block(struct mctx *m) { map_propagation_obj(m, m->blk->body); }
