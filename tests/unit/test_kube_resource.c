/* test_kube_resource.c - URL paths, query escaping, the kind table and
 * manifest -> resource addressing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kube/resource.h"
#include "testutil.h"

static void check_path(const struct kube_ref *ref, const char *want) {
    struct strbuf b;
    strbuf_init(&b, 0);
    int rc = kube_ref_path(ref, &b);
    if (rc != 0 || strcmp(b.buf ? b.buf : "", want))
        fail_msg("path: got %d \"%s\", want \"%s\"", rc, b.buf ? b.buf : "", want);
    strbuf_free(&b);
}

static void paths(void **state) {
    check_path(&(struct kube_ref){.version = "v1", .resource = "pods"}, "/api/v1/pods");
    check_path(&(struct kube_ref){.group = "", .version = "v1", .resource = "configmaps",
                                  .ns = "obs", .name = "m-collector"},
               "/api/v1/namespaces/obs/configmaps/m-collector");
    check_path(&(struct kube_ref){.group = "apps", .version = "v1", .resource = "deployments",
                                  .ns = "obs"},
               "/apis/apps/v1/namespaces/obs/deployments");
    check_path(&(struct kube_ref){.group = "tracemodel.dev", .version = "v1alpha1",
                                  .resource = "tracingmodels", .ns = "a", .name = "m",
                                  .subresource = "status"},
               "/apis/tracemodel.dev/v1alpha1/namespaces/a/tracingmodels/m/status");
    check_path(&(struct kube_ref){.group = "admissionregistration.k8s.io", .version = "v1",
                                  .resource = "mutatingwebhookconfigurations",
                                  .name = "tracing-operator"},
               "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/tracing-operator");
    check_path(&(struct kube_ref){.version = "v1", .resource = "namespaces", .name = "kube-system"},
               "/api/v1/namespaces/kube-system");
    /* names with characters that need escaping (e.g. RBAC names with ':') */
    check_path(&(struct kube_ref){.group = "rbac.authorization.k8s.io", .version = "v1",
                                  .resource = "clusterroles", .name = "system:tracing/x y"},
               "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Atracing%2Fx%20y");
}

static void bad_refs(void **state) {
    struct kube_ref bad[] = {
        {.version = "v1"},                                                  /* no resource */
        {.resource = "pods"},                                               /* no version */
        {.version = "v1", .resource = "pods", .subresource = "status"},     /* no name */
        {.version = "v1", .resource = "pods", .ns = "..", .name = "x"},     /* traversal */
        {.version = "v1", .resource = "pods", .ns = "a", .name = "."},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct strbuf b;
        strbuf_init(&b, 0);
        if (kube_ref_path(&bad[i], &b) != OP_EINVALID)
            fail_msg("bad ref %zu accepted as \"%s\"", i, b.buf ? b.buf : "");
        strbuf_free(&b);
    }
}

static void query_escaping(void **state) {
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, "/api/v1/pods");
    kube_query_add(&b, "labelSelector", "app.kubernetes.io/name in (a,b),!canary");
    kube_query_add(&b, "fieldSelector", "spec.nodeName=node-1");
    kube_query_add(&b, "continue", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ==+/");
    kube_query_add(&b, "resourceVersion", NULL);   /* unset: nothing */
    kube_query_add(&b, "resourceVersion", "");
    kube_query_add_int(&b, "limit", 500);
    kube_query_add(&b, "fieldManager", "tracing-operator");
    assert_string_equal(b.buf, "/api/v1/pods"
                               "?labelSelector=app.kubernetes.io%2Fname%20in%20%28a%2Cb%29%2C%21canary"
                               "&fieldSelector=spec.nodeName%3Dnode-1"
                               "&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ%3D%3D%2B%2F"
                               "&limit=500&fieldManager=tracing-operator");
    strbuf_reset(&b);
    kube_escape(&b, "a&b=c?d#e%f~g_h.i-j\xc3\xa9");
    assert_string_equal(b.buf, "a%26b%3Dc%3Fd%23e%25f~g_h.i-j%C3%A9");
    strbuf_free(&b);
}

/* Every kind the operator creates or reads, and where it lives. */
static void kind_table(void **state) {
    static const struct {
        const char *api_version, *kind, *group, *resource;
        int namespaced;
    } want[] = {
        {"v1", "ConfigMap", "", "configmaps", 1},
        {"v1", "Service", "", "services", 1},
        {"v1", "ServiceAccount", "", "serviceaccounts", 1},
        {"v1", "Secret", "", "secrets", 1},
        {"v1", "Pod", "", "pods", 1},
        {"v1", "Namespace", "", "namespaces", 0},
        {"apps/v1", "Deployment", "apps", "deployments", 1},
        {"apps/v1", "DaemonSet", "apps", "daemonsets", 1},
        {"apps/v1", "StatefulSet", "apps", "statefulsets", 1},
        {"apps/v1", "ReplicaSet", "apps", "replicasets", 1},
        {"batch/v1", "CronJob", "batch", "cronjobs", 1},
        {"rbac.authorization.k8s.io/v1", "Role", "rbac.authorization.k8s.io", "roles", 1},
        {"rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.authorization.k8s.io",
         "rolebindings", 1},
        {"events.k8s.io/v1", "Event", "events.k8s.io", "events", 1},
        {"coordination.k8s.io/v1", "Lease", "coordination.k8s.io", "leases", 1},
        {"admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
         "admissionregistration.k8s.io", "mutatingwebhookconfigurations", 0},
        {"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
         "admissionregistration.k8s.io", "validatingwebhookconfigurations", 0},
        {"apiextensions.k8s.io/v1", "CustomResourceDefinition", "apiextensions.k8s.io",
         "customresourcedefinitions", 0},
        {"tracemodel.dev/v1alpha1", "TracingModel", "tracemodel.dev", "tracingmodels", 1},
        {"tracemodel.dev/v1alpha1", "Instrumentation", "tracemodel.dev", "instrumentations", 1},
        {"telemetry.istio.io/v1", "Telemetry", "telemetry.istio.io", "telemetries", 1},
        {"monitoring.coreos.com/v1", "PrometheusRule", "monitoring.coreos.com",
         "prometheusrules", 1},
        {"jaegertracing.io/v1", "Jaeger", "jaegertracing.io", "jaegers", 1},
        {"tempo.grafana.com/v1alpha1", "TempoMonolithic", "tempo.grafana.com",
         "tempomonolithics", 1},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct kube_kind *k = kube_kind_find(want[i].api_version, want[i].kind);
        if (!k)
            fail_msg("%s %s: not in the table", want[i].api_version, want[i].kind);
        assert_string_equal(k->group, want[i].group);
        assert_string_equal(k->resource, want[i].resource);
        assert_int_equal(k->namespaced, want[i].namespaced);
    }
    /* the apiVersion decides: same kind name, other group */
    assert_null(kube_kind_find("opentelemetry.io/v1alpha1", "Instrumentation"));
    assert_null(kube_kind_find("apps/v1beta1", "Deployment"));
    assert_null(kube_kind_find("v1", "Deployment"));
    assert_null(kube_kind_find("appsx/v1", "Deployment"));
    assert_null(kube_kind_find("v1", NULL));
}

static void ref_from_object(void **state) {
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "apps/v1", "kind",
                            "Deployment", "metadata", "name", "m-collector", "namespace", "obs");
    struct kube_ref ref;
    struct op_status st = {0};
    assert_int_equal(kube_ref_from_object(obj, &ref, &st), 0);
    check_path(&ref, "/apis/apps/v1/namespaces/obs/deployments/m-collector");
    json_decref(obj);

    /* cluster-scoped: a stray metadata.namespace is not put in the path */
    obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "admissionregistration.k8s.io/v1",
                    "kind", "MutatingWebhookConfiguration", "metadata", "name", "w", "namespace",
                    "obs");
    assert_int_equal(kube_ref_from_object(obj, &ref, &st), 0);
    check_path(&ref, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/w");
    json_decref(obj);

    static const struct {
        const char *json;
        int code;
        const char *msg;
    } bad[] = {
        {"[]", OP_EINVALID, "must be a JSON object"},
        {"{\"kind\": \"ConfigMap\"}", OP_EINVALID, "apiVersion: required"},
        {"{\"apiVersion\": \"v1\", \"kind\": 3}", OP_EINVALID, "kind: required"},
        {"{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"x\"}}",
         OP_EINVALID, "metadata.namespace: required for the namespaced kind ConfigMap x"},
        {"{\"apiVersion\": \"example.com/v1\", \"kind\": \"Widget\"}", OP_EUNSUPPORTED,
         "example.com/v1 Widget"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        int rc = kube_ref_from_object(o, &ref, &st);
        if (rc != bad[i].code || !strstr(st.msg, bad[i].msg))
            fail_msg("case %zu: got %d \"%s\"", i, rc, st.msg);
        json_decref(o);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths),
        cmocka_unit_test(bad_refs),
        cmocka_unit_test(query_escaping),
        cmocka_unit_test(kind_table),
        cmocka_unit_test(ref_from_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
