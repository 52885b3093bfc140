/* resource.c - the kind -> resource table, URL paths and query strings (pure). */
#include "kube/resource.h"

#include <stdio.h>
#include <string.h>

static const struct kube_kind kind_table[] = {
    /* core */
    {"", "v1", "ConfigMap", "configmaps", 1},
    {"", "v1", "Service", "services", 1},
    {"", "v1", "ServiceAccount", "serviceaccounts", 1},
    {"", "v1", "Secret", "secrets", 1},
    {"", "v1", "Pod", "pods", 1},
    {"", "v1", "Event", "events", 1},
    {"", "v1", "Endpoints", "endpoints", 1},
    {"", "v1", "Namespace", "namespaces", 0},
    {"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", 1},
    /* apps, batch */
    {"apps", "v1", "Deployment", "deployments", 1},
    {"apps", "v1", "DaemonSet", "daemonsets", 1},
    {"apps", "v1", "StatefulSet", "statefulsets", 1},
    {"apps", "v1", "ReplicaSet", "replicasets", 1},
    {"batch", "v1", "Job", "jobs", 1},
    {"batch", "v1", "CronJob", "cronjobs", 1},
    /* rbac */
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", 1},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", 1},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", 0},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", 0},
    /* cluster plumbing */
    {"events.k8s.io", "v1", "Event", "events", 1},
    {"coordination.k8s.io", "v1", "Lease", "leases", 1},
    {"admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
     "mutatingwebhookconfigurations", 0},
    {"admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
     "validatingwebhookconfigurations", 0},
    {"apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", 0},
    /* ours */
    {"tracemodel.dev", "v1alpha1", "TracingModel", "tracingmodels", 1},
    {"tracemodel.dev", "v1alpha1", "Instrumentation", "instrumentations", 1},
    /* optional integrations (present only when their CRDs are installed) */
    {"telemetry.istio.io", "v1", "Telemetry", "telemetries", 1},
    {"monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", 1},
    {"monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", 1},
    {"jaegertracing.io", "v1", "Jaeger", "jaegers", 1},
    {"tempo.grafana.com", "v1alpha1", "TempoMonolithic", "tempomonolithics", 1},
    {"tempo.grafana.com", "v1alpha1", "TempoStack", "tempostacks", 1},
};

/* Does "group/version" (or "version" for core) equal api_version? */
static int api_version_is(const struct kube_kind *k, const char *api_version) {
    size_t gl = strlen(k->group);
    if (gl == 0)
        return !strcmp(api_version, k->version);
    return !strncmp(api_version, k->group, gl) && api_version[gl] == '/' &&
           !strcmp(api_version + gl + 1, k->version);
}

const struct kube_kind *kube_kind_find(const char *api_version, const char *kind) {
    if (!api_version || !kind)
        return NULL;
    for (size_t i = 0; i < sizeof(kind_table) / sizeof(kind_table[0]); i++)
        if (!strcmp(kind_table[i].kind, kind) && api_version_is(&kind_table[i], api_version))
            return &kind_table[i];
    return NULL;
}

void kube_ref_from_kind(const struct kube_kind *k, const char *ns, struct kube_ref *ref) {
    memset(ref, 0, sizeof(*ref));
    ref->group = k->group;
    ref->version = k->version;
    ref->resource = k->resource;
    ref->ns = k->namespaced ? ns : NULL;
}

int kube_ref_from_object(const json_t *obj, struct kube_ref *ref, struct op_status *st) {
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!json_is_object(obj))
        return op_fail(st, OP_EINVALID, "object: must be a JSON object");
    if (!av || !*av)
        return op_fail(st, OP_EINVALID, "apiVersion: required (a string)");
    if (!kind || !*kind)
        return op_fail(st, OP_EINVALID, "kind: required (a string)");
    const struct kube_kind *k = kube_kind_find(av, kind);
    if (!k)
        return op_fail(st, OP_EUNSUPPORTED, "%s %s: kind not in the client's resource table",
                       av, kind);
    if (k->namespaced && (!ns || !*ns))
        return op_fail(st, OP_EINVALID, "metadata.namespace: required for the namespaced kind %s%s%s",
                       kind, name ? " " : "", name ? name : "");
    kube_ref_from_kind(k, ns, ref);
    ref->name = name;
    return 0;
}

static int unreserved(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

void kube_escape(struct strbuf *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p)) {
            strbuf_append(out, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            strbuf_append(out, e, 3);
        }
    }
}

static int set(const char *s) { return s && *s; }

/* A path segment must be non-empty and not "." or ".." (escaping keeps '.'). */
static int bad_segment(const char *s) { return !strcmp(s, ".") || !strcmp(s, ".."); }

static void segment(struct strbuf *out, const char *s) {
    strbuf_puts(out, "/");
    kube_escape(out, s);
}

int kube_ref_path(const struct kube_ref *ref, struct strbuf *out) {
    if (!set(ref->version) || !set(ref->resource))
        return OP_EINVALID;
    if (set(ref->subresource) && !set(ref->name))
        return OP_EINVALID;
    const char *parts[] = {ref->group, ref->version, ref->ns, ref->resource, ref->name,
                           ref->subresource};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (set(parts[i]) && bad_segment(parts[i]))
            return OP_EINVALID;
    if (set(ref->group)) {
        strbuf_puts(out, "/apis");
        segment(out, ref->group);
    } else {
        strbuf_puts(out, "/api");
    }
    segment(out, ref->version);
    if (set(ref->ns)) {
        strbuf_puts(out, "/namespaces");
        segment(out, ref->ns);
    }
    segment(out, ref->resource);
    if (set(ref->name))
        segment(out, ref->name);
    if (set(ref->subresource))
        segment(out, ref->subresource);
    return 0;
}

void kube_query_add(struct strbuf *out, const char *key, const char *value) {
    if (!set(value))
        return;
    strbuf_puts(out, out->buf && strchr(out->buf, '?') ? "&" : "?");
    kube_escape(out, key);
    strbuf_puts(out, "=");
    kube_escape(out, value);
}

void kube_query_add_int(struct strbuf *out, const char *key, long long value) {
    char num[32];
    snprintf(num, sizeof(num), "%lld", value);
    kube_query_add(out, key, num);
}
