/* map_services.c - `services: [...]` (per-service rates, versions, attributes and
 * operations -> spec.services[]) and `analysis: [...]` lists (dependency graphs,
 * bottleneck thresholds, error analysis -> spec.analysis and the collector's
 * spanmetrics/servicegraph connectors) of the model blocks. */
#include "dsl/mctx.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void svc_operations(struct mctx *m, const struct dsl_value *v, json_t *svc,
                           const char *path) {
    if (mx_arr(m, v) != 0)
        return;
    json_t *ops = json_object_get(svc, "operations");
    if (ops) {
        mx_warn(m, v->pos, "%s.operations is already set; ignored", path);
        return;
    }
    ops = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const struct dsl_value *n = dsl_get(it, "name"), *r = dsl_get(it, "rate");
        if (!r)
            r = dsl_get(it, "sampling_rate");
        const char *nm;
        double rate;
        if (mx_obj(m, it) == 0) {
            if (!n || !r)
                mx_error(m, it->pos, "an operation needs a name and a rate");
            else if (mx_str(m, n, &nm) == 0 && mx_rate(m, r, &rate) == 0)
                json_array_append_new(ops, json_pack("{s:s, s:f}", "name", nm, "rate", rate));
        }
        mx_pop(m, old);
    }
    char *full = xasprintf("%s.operations", path);
    json_object_set_new(svc, "operations", ops);
    mx_prov(m, full, v->pos);
    free(full);
}

static void svc_attributes(struct mctx *m, const struct dsl_value *v, json_t *svc,
                           const char *path) {
    json_t *l;
    if (mx_str_list(m, v, &l) == 0)
        mx_set(m, svc, path, "attributes", l, v->pos);
}

static void svc_rate(struct mctx *m, const struct dsl_value *v, json_t *svc, const char *path) {
    double r;
    if (mx_rate(m, v, &r) == 0)
        mx_set(m, svc, path, "samplingRate", json_real(r), v->pos);
}

/* tracing: { enabled, sampling_rate, attributes, operations } */
static void svc_tracing(struct mctx *m, const struct dsl_value *v, json_t *svc, const char *path) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *en = dsl_get(v, "enabled");
    int enabled = 1;
    if (en && mx_bool(m, en, &enabled) != 0)
        return;
    if (!enabled)
        mx_set(m, svc, path, "samplingRate", json_real(0.0), en->pos);
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "enabled")) {
            /* handled above */
        } else if (!strcmp(mb->key, "sampling_rate") || !strcmp(mb->key, "rate")) {
            if (enabled)
                svc_rate(m, mb->val, svc, path);
            else
                mx_warn(m, mb->kpos, "tracing is disabled for this service (rate 0); ignored");
        } else if (!strcmp(mb->key, "attributes")) {
            svc_attributes(m, mb->val, svc, path);
        } else if (!strcmp(mb->key, "operations")) {
            svc_operations(m, mb->val, svc, path);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static void map_service(struct mctx *m, const struct dsl_value *it) {
    if (mx_obj(m, it) != 0)
        return;
    const struct dsl_value *n = dsl_get(it, "name");
    const char *name;
    if (!n) {
        mx_error(m, it->pos, "a service needs a name");
        return;
    }
    if (mx_str(m, n, &name) != 0)
        return;
    char *path;
    json_t *svc = mx_service(m, name, it->pos, &path);
    for (size_t i = 0; i < it->n; i++) {
        const struct dsl_member *mb = &it->members[i];
        size_t old = mx_push(m, mb->key);
        const char *s;
        if (!strcmp(mb->key, "name") || !strcmp(mb->key, "description")) {
            /* name handled above; description is documentation */
        } else if (!strcmp(mb->key, "version")) {
            if (mb->val->type == DSL_NUMBER)
                mx_error(m, mb->val->pos, "a version is text: write \"%s\"", mb->val->text);
            else if (mx_str(m, mb->val, &s) == 0)
                mx_set(m, svc, path, "version", json_string(s), mb->val->pos);
        } else if (!strcmp(mb->key, "tracing")) {
            svc_tracing(m, mb->val, svc, path);
        } else if (!strcmp(mb->key, "sampling_rate") || !strcmp(mb->key, "rate")) {
            svc_rate(m, mb->val, svc, path);
        } else if (!strcmp(mb->key, "attributes")) {
            svc_attributes(m, mb->val, svc, path);
        } else if (!strcmp(mb->key, "operations")) {
            svc_operations(m, mb->val, svc, path);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
    free(path);
}

void map_services(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    json_t *seen = json_object(); /* name -> line of its first item in this list */
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_value *it = v->items[i];
        size_t old = mx_push_index(m, i);
        const struct dsl_value *n = dsl_get(it, "name");
        json_t *first = n && n->type == DSL_STRING ? json_object_get(seen, n->text) : NULL;
        if (first) {
            mx_error(m, n->pos, "service \"%s\" is listed twice (also at line %lld)", n->text,
                     (long long)json_integer_value(first));
        } else {
            if (n && n->type == DSL_STRING)
                json_object_set_new(seen, n->text, json_integer(n->pos.line));
            map_service(m, it);
        }
        mx_pop(m, old);
    }
    json_decref(seen);
}

/* ---- analysis: [...] ---- */

static int is_known_metric(const char *s) {
    return !strcmp(s, "latency") || !strcmp(s, "error_rate") || !strcmp(s, "throughput") ||
           !strcmp(s, "errors") || !strcmp(s, "duration") || !strcmp(s, "requests");
}

static void analysis_services(struct mctx *m, const struct dsl_value *v) {
    json_t *l;
    if (mx_str_list(m, v, &l) != 0)
        return;
    size_t i;
    json_t *s;
    int all = 0;
    json_array_foreach(l, i, s) {
        if (!strcmp(json_string_value(s), "*"))
            all = 1;
    }
    size_t declared = json_array_size(json_object_get(m->spec, "services"));
    if (!all && json_array_size(l) != declared)
        mx_warn(m, v->pos, "analysis covers every service of the model; limiting it to %zu of "
                "them is not supported", json_array_size(l));
    json_decref(l);
}

static void analysis_item(struct mctx *m, const struct dsl_value *it) {
    if (mx_obj(m, it) != 0)
        return;
    const struct dsl_value *t = dsl_get(it, "type");
    const char *type = "";
    if (t && mx_str(m, t, &type) != 0)
        return;
    int graph = mx_name_eq(type, "dependency_graph") || mx_name_eq(type, "service_graph");
    int perf = mx_name_eq(type, "performance_analysis") || mx_name_eq(type, "latency") ||
               mx_name_eq(type, "bottleneck");
    int err = mx_name_eq(type, "error_analysis") || mx_name_eq(type, "error");
    if (!t) {
        mx_error(m, it->pos, "an analysis needs a type (dependency_graph, performance_analysis, "
                 "error_analysis)");
        return;
    }
    if (!graph && !perf && !err) {
        mx_warn(m, t->pos, "unknown analysis type \"%s\" (dependency_graph, performance_analysis, "
                "error_analysis); ignored", type);
        return;
    }
    if (graph)
        mx_spec_set(m, "collector.serviceGraph", "enabled", json_true(), t->pos);
    if (err || perf)
        mx_spec_set(m, "analysis", "enabled", json_true(), t->pos);
    for (size_t i = 0; i < it->n; i++) {
        const struct dsl_member *mb = &it->members[i];
        size_t old = mx_push(m, mb->key);
        json_t *l;
        int b;
        if (!strcmp(mb->key, "name") || !strcmp(mb->key, "type") ||
            !strcmp(mb->key, "description")) {
            /* documentation, or handled above */
        } else if (!strcmp(mb->key, "services")) {
            analysis_services(m, mb->val);
        } else if (!strcmp(mb->key, "metrics")) {
            if (mx_str_list(m, mb->val, &l) == 0) {
                size_t k;
                json_t *s;
                json_array_foreach(l, k, s) {
                    if (!is_known_metric(json_string_value(s)))
                        mx_warn(m, mb->val->pos, "metric \"%s\" is not one the span metrics "
                                "provide (latency, error_rate, throughput); ignored",
                                json_string_value(s));
                }
                mx_spec_set(m, "collector.spanMetrics", "enabled", json_true(), mb->val->pos);
                json_decref(l);
            }
        } else if (!strcmp(mb->key, "threshold")) {
            mx_threshold_expr(m, mb->val);
        } else if (!strcmp(mb->key, "correlation")) {
            if (mx_bool(m, mb->val, &b) == 0 && b)
                mx_spec_set(m, "collector.serviceGraph", "enabled", json_true(), mb->val->pos);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

void map_analysis_list(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        analysis_item(m, v->items[i]);
        mx_pop(m, old);
    }
}
