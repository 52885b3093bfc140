/* resource.h - addressing Kubernetes resources (pure): which group/version/
 * resource a kind lives at, the URL path of a resource, and query strings
 * with proper escaping. */
#ifndef OP_KUBE_RESOURCE_H
#define OP_KUBE_RESOURCE_H
#include <jansson.h>

#include "base/err.h"
#include "base/strbuf.h"

/* One resource or collection. All strings are borrowed. */
struct kube_ref {
    const char *group;        /* "" or NULL for the core group ("/api/v1") */
    const char *version;      /* "v1" */
    const char *resource;     /* lower-case plural: "deployments" */
    const char *ns;           /* NULL/"" = cluster-scoped, or all namespaces for a list/watch */
    const char *name;         /* NULL/"" = the collection */
    const char *subresource;  /* NULL, "status", "scale", ... (needs name) */
};

/* An entry of the kind table (static storage). */
struct kube_kind {
    const char *group;        /* "" for core */
    const char *version;
    const char *kind;         /* "Deployment" */
    const char *resource;     /* "deployments" */
    int namespaced;
};

/* The kinds the operator reads or creates: ConfigMap, Service, ServiceAccount,
 * Secret, Pod, Namespace, Event (core and events.k8s.io/v1), Deployment,
 * DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, Role, RoleBinding,
 * ClusterRole, ClusterRoleBinding, Lease, Mutating/ValidatingWebhookConfiguration,
 * CustomResourceDefinition, TracingModel, Instrumentation (tracemodel.dev),
 * Telemetry (telemetry.istio.io/v1), PrometheusRule, Jaeger, TempoMonolithic,
 * TempoStack. NULL when apiVersion ("apps/v1", "v1") + kind is not in it. */
const struct kube_kind *kube_kind_find(const char *api_version, const char *kind);

/* Fills ref for the collection of k (ns as given; ignored for cluster-scoped
 * kinds), name and subresource NULL. */
void kube_ref_from_kind(const struct kube_kind *k, const char *ns, struct kube_ref *ref);

/* Fills ref from a manifest's apiVersion, kind, metadata.namespace and
 * metadata.name (borrowed from obj / the kind table). OP_EINVALID naming the
 * field when apiVersion or kind is missing, or when a namespaced kind has no
 * metadata.namespace; OP_EUNSUPPORTED when the kind is not in the table.
 * metadata.name may be absent (a create with generateName); callers that need
 * it check ref->name. */
int kube_ref_from_object(const json_t *obj, struct kube_ref *ref, struct op_status *st);

/* Appends the URL path of ref: "/api/v1/namespaces/N/configmaps/X",
 * "/apis/apps/v1/deployments" (all namespaces), ".../status". Each segment
 * is percent-escaped. OP_EINVALID when version/resource is missing, a
 * segment is "." or "..", or a subresource has no name. */
int kube_ref_path(const struct kube_ref *ref, struct strbuf *out);

/* Appends "?key=value" (first parameter: when out has no '?') or "&key=value"
 * with key and value percent-escaped (RFC 3986 unreserved kept). value NULL or
 * "" appends nothing. */
void kube_query_add(struct strbuf *out, const char *key, const char *value);
void kube_query_add_int(struct strbuf *out, const char *key, long long value);

/* Percent-escapes s (everything but A-Z a-z 0-9 - . _ ~). */
void kube_escape(struct strbuf *out, const char *s);

#endif
