/* render.c - render_model(): a defaulted TracingModel -> the ordered list of manifests,
 * the capacity estimate and the OTLP endpoints (see render.h).
 *
 * Order: objects are stably sorted by kind in the order they can be applied
 * (ServiceAccounts and RBAC, ConfigMaps, PVCs, Services, workloads, CronJobs, then
 * the custom resources of other operators); within a kind, backend first, then
 * collector, then Istio/alerts/Grafana. Same model in, same bytes out. Pure. */
#include "render/render.h"
#include "render/render_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/units.h"
#include "model/model.h"

static int kind_rank(const char *kind) {
    /* clang-format off */
    static const char *const order[] = {
        "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "PersistentVolumeClaim",
        "Service", "StatefulSet", "Deployment", "DaemonSet", "CronJob",
        "Jaeger", "TempoMonolithic", "Telemetry", "ServiceMonitor", "PrometheusRule", NULL};
    /* clang-format on */
    for (int i = 0; order[i]; i++)
        if (kind && !strcmp(kind, order[i]))
            return i;
    return 100;
}

struct slot {
    int rank;
    size_t idx;
};

static int slot_cmp(const void *a, const void *b) {
    const struct slot *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* new ref: arr stably sorted by kind_rank. */
static json_t *sorted(const json_t *arr) {
    size_t n = json_array_size(arr);
    struct slot *s = calloc(n ? n : 1, sizeof(*s));
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++) {
        s[i].rank = kind_rank(json_string_value(json_object_get(json_array_get(arr, i), "kind")));
        s[i].idx = i;
    }
    qsort(s, n, sizeof(*s), slot_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, json_array_get(arr, s[i].idx));
    free(s);
    return out;
}

static int one_of(const char *s, const char *const *set) {
    for (size_t i = 0; s && set[i]; i++)
        if (!strcmp(s, set[i]))
            return 1;
    return 0;
}

/* Reads what every renderer needs; 0 or -1 with diagnostics. */
static int setup(struct rctx *c, const json_t *model) {
    static const char *const backends[] = {"jaeger", "tempo", "otlp", NULL};
    static const char *const modes[] = {"deployment", "daemonset", "statefulset", "sidecar", NULL};
    c->model = model;
    c->spec = r_get(model, "spec");
    if (!json_is_object(c->spec)) {
        diag_error(c->d, "spec", "required: the model has no spec object");
        return -1;
    }
    c->name = r_str(model, "metadata.name", NULL);
    if (!c->name || !is_dns_label(c->name) || strlen(c->name) > TM_NAME_MAX) {
        diag_error(c->d, "metadata.name",
                   "must be a DNS label of at most %d characters (the generated names add "
                   "suffixes such as -grafana-datasource)",
                   TM_NAME_MAX);
        return -1;
    }
    c->ns = r_str(model, "metadata.namespace", "default");
    if (!*c->ns)
        c->ns = "default";
    if (!is_dns_label(c->ns)) {
        diag_error(c->d, "metadata.namespace", "must be a DNS label, got \"%s\"", c->ns);
        return -1;
    }
    snprintf(c->owner, sizeof(c->owner), "%s/%s", c->ns, c->name);
    const char *v = r_str(c->spec, "version", NULL);
    c->version = v && *v && is_label_value(v) ? v : NULL;

    c->backend = r_str(c->spec, "backend.type", NULL);
    if (!one_of(c->backend, backends)) {
        diag_error(c->d, "spec.backend.type", "must be one of jaeger, tempo, otlp");
        return -1;
    }
    if (!strcmp(c->backend, "otlp") && !*r_str(c->spec, "backend.otlp.endpoint", "")) {
        diag_error(c->d, "spec.backend.otlp.endpoint", "required when backend.type is otlp");
        return -1;
    }
    c->mode = r_str(c->spec, "collector.mode", "deployment");
    if (!one_of(c->mode, modes)) {
        diag_error(c->d, "spec.collector.mode",
                   "must be one of deployment, daemonset, statefulset, sidecar");
        return -1;
    }
    long long replicas = r_int(c->spec, "collector.replicas", 1);
    if (replicas < 1 || replicas > 10000) {
        diag_error(c->d, "spec.collector.replicas", "must be within [1, 10000]");
        return -1;
    }
    c->replicas = (int)replicas;

    int analysis = r_bool(c->spec, "analysis.enabled", 0);
    c->spanmetrics = r_bool(c->spec, "collector.spanMetrics.enabled", analysis);
    c->servicegraph = r_bool(c->spec, "collector.serviceGraph.enabled", analysis);
    c->analysis = c->spanmetrics || c->servicegraph;
    const json_t *rules = r_get(c->spec, "sampling.rules");
    const json_t *pols = r_get(c->spec, "sampling.tail.policies");
    c->tail = r_bool(c->spec, "sampling.tail.enabled",
                     json_array_size(rules) > 0 || json_array_size(pols) > 0);
    int scalable = !strcmp(c->mode, "deployment") || !strcmp(c->mode, "statefulset");
    c->two_tier = c->tail && c->replicas > 1 && scalable;
    if (c->tail && !scalable)
        diag_warn(c->d, "spec.collector.mode",
                  "tail sampling in a %s collector decides on the spans of one %s only, not on "
                  "whole traces",
                  c->mode, strcmp(c->mode, "sidecar") ? "node" : "pod");

    if (!strcmp(c->backend, "jaeger")) {
        snprintf(c->backend_otlp, sizeof(c->backend_otlp), "%s-jaeger-collector.%s.svc:4317",
                 c->name, c->ns);
        snprintf(c->query_url, sizeof(c->query_url), "http://%s-jaeger-query.%s.svc:16686", c->name,
                 c->ns);
    } else if (!strcmp(c->backend, "tempo")) {
        /* the tempo-operator names its Service tempo-<CR name>; our CR is <m>-tempo */
        const char *pfx = r_bool(c->spec, "backend.tempo.useOperatorCR", 0) ? "tempo-" : "";
        snprintf(c->backend_otlp, sizeof(c->backend_otlp), "%s%s-tempo.%s.svc:4317", pfx, c->name,
                 c->ns);
        snprintf(c->query_url, sizeof(c->query_url), "http://%s%s-tempo.%s.svc:3200", pfx, c->name,
                 c->ns);
    }
    return 0;
}

static json_t *endpoints(const struct rctx *c) {
    if (!strcmp(c->mode, "sidecar")) /* the collector runs next to the app, in its pod */
        return json_pack("{s:s, s:s}", "otlpGrpc", "http://localhost:4317", "otlpHttp",
                         "http://localhost:4318");
    json_t *e = json_object();
    char buf[3 * R_NAME_MAX];
    snprintf(buf, sizeof(buf), "http://%s-collector.%s.svc:4317", c->name, c->ns);
    r_set(e, "otlpGrpc", r_s(buf));
    snprintf(buf, sizeof(buf), "http://%s-collector.%s.svc:4318", c->name, c->ns);
    r_set(e, "otlpHttp", r_s(buf));
    return e;
}

int render_model(const json_t *model, struct render_result *out, struct diag *d) {
    memset(out, 0, sizeof(*out));
    if (!json_is_object(model)) {
        diag_error(d, "", "the model must be a JSON object");
        return OP_EINVALID;
    }
    struct rctx c;
    memset(&c, 0, sizeof(c));
    c.d = d;
    if (setup(&c, model) < 0)
        return OP_EINVALID;
    c.out = json_array();
    render_jaeger(&c);
    render_tempo(&c);
    render_collector(&c);
    render_istio(&c);
    render_alerts(&c);
    render_grafana(&c);
    json_decref(c.pod_sec);
    json_decref(c.ctr_sec);
    if (c.failed) {
        json_decref(c.out);
        json_decref(c.docs);
        return OP_EINVALID;
    }
    r_texts_finish(&c);
    json_decref(c.docs);
    out->manifests = sorted(c.out);
    json_decref(c.out);
    out->capacity = render_capacity(&c);
    out->endpoints = endpoints(&c);
    return 0;
}

void render_result_done(struct render_result *r) {
    if (!r)
        return;
    json_decref(r->manifests);
    json_decref(r->capacity);
    json_decref(r->endpoints);
    memset(r, 0, sizeof(*r));
}
