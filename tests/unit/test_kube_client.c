/* test_kube_client.c - the client verbs over the fake transport: the exact
 * requests (verb, path, query, content type, body) and how answers are decoded;
 * paging, token rotation, discovery, size cap and metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_transport.h"
#include "kube/client.h"
#include "kube/client_internal.h"
#include "testutil.h"

static struct kube_client *client_over(struct fake_transport *f, const char *token,
                                       const char *token_file) {
    struct kube_config cfg;
    kube_config_init(&cfg);
    cfg.server = strdup("https://k8s.test:6443");
    cfg.ns = strdup("obs");
    if (token)
        cfg.token = strdup(token);
    if (token_file)
        cfg.token_file = strdup(token_file);
    struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(f), NULL);
    kube_config_free(&cfg);
    assert_non_null(c);
    return c;
}

static const char *s_of(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

#define CM_PATH "/api/v1/namespaces/obs/configmaps/m-collector"

static void get_found_and_not_found(void **state) {
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(f, "GET", CM_PATH);
    fake_expect_no_body(x);
    fake_expect_bearer(x, "tok");
    fake_respond(x, 200, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                         "\"m-collector\"},\"data\":{\"k\":\"v\"}}");
    fake_respond(fake_expect(f, "GET", CM_PATH), 404,
                 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"message\":"
                 "\"configmaps \\\"m-collector\\\" not found\",\"code\":404}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    assert_string_equal(kube_client_namespace(c), "obs");
    struct kube_ref ref = {.version = "v1", .resource = "configmaps", .ns = "obs",
                           .name = "m-collector"};
    json_t *obj = NULL;
    struct op_status st = {0};
    assert_int_equal(kube_get(c, &ref, &obj, &st), 0);
    assert_string_equal(s_of(json_object_get(obj, "data"), "k"), "v");
    json_decref(obj);
    obj = (json_t *)1;
    assert_int_equal(kube_get(c, &ref, &obj, &st), OP_ENOTFOUND);
    assert_null(obj);
    assert_int_equal(st.http, 404);
    assert_string_equal(st.reason, "NotFound");
    assert_string_equal(st.msg, "configmaps \"m-collector\" not found");
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_GET, 200), 1);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_GET, 404), 1);
    /* no name: refused before any request */
    ref.name = NULL;
    assert_int_equal(kube_get(c, &ref, NULL, &st), OP_EINVALID);
    assert_int_equal(fake_request_count(f), 2);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static void list_pages_with_continue(void **state) {
    struct fake_transport *f = fake_transport_new();
    const char *base = "/apis/apps/v1/namespaces/obs/deployments?labelSelector="
                       "app.kubernetes.io%2Fmanaged-by%3Dtracing-operator&limit=2";
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof(p1), "%s", base);
    snprintf(p2, sizeof(p2), "%s&continue=tok%%2B1%%3D", base);   /* "tok+1=" escaped */
    snprintf(p3, sizeof(p3), "%s&continue=tok2", base);
    fake_respond(fake_expect(f, "GET", p1), 200,
                 "{\"apiVersion\":\"apps/v1\",\"kind\":\"DeploymentList\",\"metadata\":{"
                 "\"resourceVersion\":\"500\",\"continue\":\"tok+1=\"},\"items\":["
                 "{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}");
    fake_respond(fake_expect(f, "GET", p2), 200,
                 "{\"apiVersion\":\"apps/v1\",\"kind\":\"DeploymentList\",\"metadata\":{"
                 "\"resourceVersion\":\"500\",\"continue\":\"tok2\"},\"items\":["
                 "{\"metadata\":{\"name\":\"c\"}},{\"metadata\":{\"name\":\"d\"}}]}");
    fake_respond(fake_expect(f, "GET", p3), 200,
                 "{\"apiVersion\":\"apps/v1\",\"kind\":\"DeploymentList\",\"metadata\":{"
                 "\"resourceVersion\":\"500\"},\"items\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
                 "\"Deployment\",\"metadata\":{\"name\":\"e\"}}]}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    struct kube_ref ref = {.group = "apps", .version = "v1", .resource = "deployments",
                           .ns = "obs"};
    struct kube_list_opts o = {.label_selector = "app.kubernetes.io/managed-by=tracing-operator",
                               .limit = 2};
    json_t *list = NULL;
    struct op_status st = {0};
    assert_int_equal(kube_list(c, &ref, &o, &list, &st), 0);
    json_t *want = json_loads(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"DeploymentList\",\"metadata\":{"
        "\"resourceVersion\":\"500\"},\"items\":["
        "{\"metadata\":{\"name\":\"a\"},\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"},"
        "{\"metadata\":{\"name\":\"b\"},\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"},"
        "{\"metadata\":{\"name\":\"c\"},\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"},"
        "{\"metadata\":{\"name\":\"d\"},\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"},"
        "{\"metadata\":{\"name\":\"e\"},\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}]}",
        0, NULL);
    tu_assert_json_equal(want, list, "merged list");
    json_decref(want);
    json_decref(list);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_LIST, 200), 3);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static void list_expired_continue_and_defaults(void **state) {
    struct fake_transport *f = fake_transport_new();
    /* default page size, resourceVersion only on the first page */
    fake_respond(fake_expect(f, "GET", "/api/v1/pods?limit=500&resourceVersion=0"), 200,
                 "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
                 "\"9\",\"continue\":\"c1\"},\"items\":[]}");
    fake_respond(fake_expect(f, "GET", "/api/v1/pods?limit=500&continue=c1"), 410,
                 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\",\"message\":"
                 "\"The provided continue parameter is too old\",\"code\":410}");
    /* a server that repeats its continue token must not loop forever */
    fake_respond(fake_expect(f, "GET", "/api/v1/pods?limit=500"), 200,
                 "{\"metadata\":{\"continue\":\"same\"},\"items\":[]}");
    struct fake_exchange *rep = fake_expect(f, "GET", "/api/v1/pods?limit=500&continue=same");
    fake_respond(rep, 200, "{\"metadata\":{\"continue\":\"same\"},\"items\":[]}");
    struct kube_client *c = client_over(f, NULL, NULL);
    struct kube_ref pods = {.version = "v1", .resource = "pods"};
    struct kube_list_opts o = {.resource_version = "0"};
    json_t *list = (json_t *)1;
    struct op_status st = {0};
    assert_int_equal(kube_list(c, &pods, &o, &list, &st), OP_EGONE);
    assert_null(list);
    assert_non_null(strstr(st.msg, "continue parameter is too old"));
    assert_int_equal(kube_list(c, &pods, NULL, &list, &st), OP_ESERVER);
    assert_non_null(strstr(st.msg, "repeated a continue token"));
    assert_null(fake_request_at(f, 0)->bearer);   /* no token configured: none sent */
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static json_t *deployment(void) {
    return json_loads("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                      "\"m-collector\",\"namespace\":\"obs\",\"labels\":{\"app.kubernetes.io/"
                      "managed-by\":\"tracing-operator\"}},\"spec\":{\"replicas\":2}}",
                      0, NULL);
}

static void apply_request(void **state) {
    struct fake_transport *f = fake_transport_new();
    json_t *obj = deployment();
    char *text = json_dumps(obj, JSON_COMPACT);
    struct fake_exchange *x = fake_expect(
        f, "PATCH",
        "/apis/apps/v1/namespaces/obs/deployments/m-collector?fieldManager=tracing-operator&force=true");
    fake_expect_body(x, "application/apply-patch+yaml", text);
    fake_respond(x, 200, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
                         "\"name\":\"m-collector\",\"resourceVersion\":\"77\"}}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    json_t *out = NULL;
    struct op_status st = {0};
    assert_int_equal(kube_apply(c, obj, &out, &st), 0);
    assert_string_equal(s_of(json_object_get(out, "metadata"), "resourceVersion"), "77");
    /* the body is exactly the object, byte for byte */
    assert_string_equal(fake_request_at(f, 0)->body, text);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_APPLY, 200), 1);
    json_decref(out);

    /* no name, unknown kind, no namespace: errors before any request */
    json_object_del(json_object_get(obj, "metadata"), "name");
    assert_int_equal(kube_apply(c, obj, NULL, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "metadata.name"));
    json_object_set_new(obj, "kind", json_string("Widget"));
    assert_int_equal(kube_apply(c, obj, NULL, &st), OP_EUNSUPPORTED);
    assert_int_equal(fake_request_count(f), 1);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    free(text);
    json_decref(obj);
}

static void create_and_already_exists(void **state) {
    struct fake_transport *f = fake_transport_new();
    json_t *ev = json_loads("{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":"
                            "{\"generateName\":\"m.\",\"namespace\":\"obs\"},\"reason\":"
                            "\"Rendered\",\"note\":\"7 objects\"}",
                            0, NULL);
    char *text = json_dumps(ev, JSON_COMPACT);
    const char *path = "/apis/events.k8s.io/v1/namespaces/obs/events";
    struct fake_exchange *x = fake_expect(f, "POST", path);
    fake_expect_body(x, "application/json", text);
    fake_respond(x, 201, "{\"metadata\":{\"name\":\"m.abc\"}}");
    x = fake_expect(f, "POST", path);
    fake_respond(x, 409, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"AlreadyExists\","
                         "\"message\":\"events \\\"m.abc\\\" already exists\",\"code\":409}");
    struct kube_client *c = client_over(f, "tok", NULL);
    json_t *out = NULL;
    struct op_status st = {0};
    assert_int_equal(kube_create(c, ev, &out, &st), 0);
    assert_string_equal(s_of(json_object_get(out, "metadata"), "name"), "m.abc");
    json_decref(out);
    assert_int_equal(kube_create(c, ev, NULL, &st), OP_EALREADY);
    assert_string_equal(st.reason, "AlreadyExists");
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    free(text);
    json_decref(ev);
}

static void status_merge_and_json_patch(void **state) {
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(
        f, "PATCH", "/apis/tracemodel.dev/v1alpha1/namespaces/obs/tracingmodels/m/status");
    fake_expect_body(x, "application/merge-patch+json",
                     "{\"status\":{\"observedGeneration\":3,\"conditions\":[{\"type\":\"Ready\","
                     "\"status\":\"True\"}]}}");
    fake_respond(x, 200, "{}");
    x = fake_expect(f, "PATCH",
                    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                    "tracing-operator");
    fake_expect_body(x, "application/json-patch+json",
                     "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\","
                     "\"value\":\"Q0E=\"}]");
    fake_respond(x, 200, "{}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_ref tm = {.group = "tracemodel.dev", .version = "v1alpha1",
                          .resource = "tracingmodels", .ns = "obs", .name = "m",
                          .subresource = "scale"};   /* replaced by "status" */
    json_t *patch = json_loads("{\"status\":{\"observedGeneration\":3,\"conditions\":[{\"type\":"
                               "\"Ready\",\"status\":\"True\"}]}}", 0, NULL);
    struct op_status st = {0};
    assert_int_equal(kube_patch_status(c, &tm, patch, NULL, &st), 0);
    json_decref(patch);
    struct kube_ref wh = {.group = "admissionregistration.k8s.io", .version = "v1",
                          .resource = "mutatingwebhookconfigurations", .name = "tracing-operator"};
    json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path",
                            "/webhooks/0/clientConfig/caBundle", "value", "Q0E=");
    json_t *out = NULL;
    assert_int_equal(kube_json_patch(c, &wh, ops, &out, &st), 0);
    assert_true(json_is_object(out));
    json_decref(out);
    /* shape errors are caught before the request */
    assert_int_equal(kube_json_patch(c, &wh, json_object_get(json_array_get(ops, 0), "op"), NULL,
                                     &st), OP_EINVALID);
    assert_int_equal(kube_merge_patch(c, &wh, ops, NULL, &st), OP_EINVALID);
    json_decref(ops);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static void update_lease_conflict(void **state) {
    struct fake_transport *f = fake_transport_new();
    json_t *lease = json_loads("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                               "\"metadata\":{\"name\":\"tracing-operator\",\"namespace\":\"obs\","
                               "\"resourceVersion\":\"41\"},\"spec\":{\"holderIdentity\":\"pod-a\","
                               "\"leaseDurationSeconds\":15}}",
                               0, NULL);
    char *text = json_dumps(lease, JSON_COMPACT);
    const char *path = "/apis/coordination.k8s.io/v1/namespaces/obs/leases/tracing-operator";
    struct fake_exchange *x = fake_expect(f, "PUT", path);
    fake_expect_body(x, "application/json", text);
    fake_respond(x, 409, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Conflict\","
                         "\"message\":\"Operation cannot be fulfilled on leases.coordination.k8s.io "
                         "\\\"tracing-operator\\\": the object has been modified\",\"code\":409}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct op_status st = {0};
    assert_int_equal(kube_update(c, lease, NULL, &st), OP_ECONFLICT);
    assert_string_equal(st.reason, "Conflict");
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    free(text);
    json_decref(lease);
}

static void delete_with_propagation(void **state) {
    struct fake_transport *f = fake_transport_new();
    const char *path = "/apis/apps/v1/namespaces/obs/statefulsets/m-tempo";
    struct fake_exchange *x = fake_expect(f, "DELETE", path);
    fake_expect_body(x, "application/json",
                     "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
                     "\"propagationPolicy\":\"Background\"}");
    fake_respond(x, 200, "{\"kind\":\"Status\",\"status\":\"Success\"}");
    x = fake_expect(f, "DELETE", path);
    fake_expect_body(x, "application/json",
                     "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
                     "\"propagationPolicy\":\"Foreground\"}");
    fake_respond(x, 404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\","
                         "\"code\":404}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    struct kube_ref ref = {.group = "apps", .version = "v1", .resource = "statefulsets",
                           .ns = "obs", .name = "m-tempo"};
    struct op_status st = {0};
    assert_int_equal(kube_delete(c, &ref, KUBE_PROPAGATE_BACKGROUND, &st), 0);
    assert_int_equal(kube_delete(c, &ref, KUBE_PROPAGATE_FOREGROUND, &st), OP_ENOTFOUND);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_DELETE, 200), 1);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_DELETE, 404), 1);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static void discovery(void **state) {
    struct fake_transport *f = fake_transport_new();
    fake_respond(fake_expect(f, "GET", "/apis"), 200,
                 "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":["
                 "{\"name\":\"apps\",\"versions\":[{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}]},"
                 "{\"name\":\"telemetry.istio.io\",\"versions\":["
                 "{\"groupVersion\":\"telemetry.istio.io/v1\",\"version\":\"v1\"},"
                 "{\"groupVersion\":\"telemetry.istio.io/v1alpha1\",\"version\":\"v1alpha1\"}]}]}");
    fake_respond(fake_expect(f, "GET", "/apis"), 200,
                 "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"monitoring.coreos.com\","
                 "\"versions\":[{\"groupVersion\":\"monitoring.coreos.com/v1\"}]}]}");
    fake_respond(fake_expect(f, "GET", "/apis"), 200, "{\"kind\":\"Status\"}");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct op_status st = {0};
    assert_false(kube_has_api(c, "telemetry.istio.io/v1"));   /* before discovery */
    assert_int_equal(kube_discover(c, &st), 0);
    assert_true(kube_has_api(c, "v1"));
    assert_true(kube_has_api(c, "apps/v1"));
    assert_true(kube_has_api(c, "telemetry.istio.io/v1"));
    assert_true(kube_has_api(c, "telemetry.istio.io/v1alpha1"));
    assert_false(kube_has_api(c, "monitoring.coreos.com/v1"));
    assert_false(kube_has_api(c, "telemetry.istio.io"));
    /* refreshed: Istio went away, Prometheus operator came */
    assert_int_equal(kube_discover(c, &st), 0);
    assert_false(kube_has_api(c, "telemetry.istio.io/v1"));
    assert_true(kube_has_api(c, "monitoring.coreos.com/v1"));
    /* a broken answer keeps the last good set */
    assert_int_equal(kube_discover(c, &st), OP_EPARSE);
    assert_true(kube_has_api(c, "monitoring.coreos.com/v1"));
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static time_t fake_now;
static time_t clock_fn(void) { return fake_now; }

static void write_token(const char *path, const char *tok) {
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", tok);
    fclose(fp);
}

static void token_rotation(void **state) {
    char dir[] = "/tmp/kube-token-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/token", dir);
    write_token(path, "tok-A");

    struct fake_transport *f = fake_transport_new();
    struct kube_ref ref = {.version = "v1", .resource = "configmaps", .ns = "obs",
                           .name = "m-collector"};
    const char *ok = "{\"kind\":\"ConfigMap\"}";
    const char *unauth = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Unauthorized\","
                         "\"code\":401}";
    struct fake_exchange *x;
    /* 1: first request reads the file */
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-A");
    fake_respond(x, 200, ok);
    /* 2: 30 s later, the file changed but the token is young: still A */
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-A");
    fake_respond(x, 200, ok);
    /* 3: 61 s after the read: re-read, B */
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-B");
    fake_respond(x, 200, ok);
    /* 4: a 401 with B; the file now has C: one retry with C */
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-B");
    fake_respond(x, 401, unauth);
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-C");
    fake_respond(x, 200, ok);
    /* 5: a 401 and the file has not changed: no retry, OP_EUNAUTHORIZED */
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-C");
    fake_respond(x, 401, unauth);

    fake_now = 1000;
    struct kube_client *c = client_over(f, NULL, path);
    kube_client_set_clock(c, clock_fn);
    struct op_status st = {0};
    assert_int_equal(kube_get(c, &ref, NULL, &st), 0);
    write_token(path, "tok-B");
    fake_now += 30;
    assert_int_equal(kube_get(c, &ref, NULL, &st), 0);
    fake_now += 31;
    assert_int_equal(kube_get(c, &ref, NULL, &st), 0);
    write_token(path, "tok-C");
    assert_int_equal(kube_get(c, &ref, NULL, &st), 0);
    assert_int_equal(kube_get(c, &ref, NULL, &st), OP_EUNAUTHORIZED);
    /* the file vanishes: the old token is kept */
    unlink(path);
    fake_now += 120;
    x = fake_expect(f, "GET", CM_PATH);
    fake_expect_bearer(x, "tok-C");
    fake_respond(x, 200, ok);
    assert_int_equal(kube_get(c, &ref, NULL, &st), 0);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    rmdir(dir);
}

static void size_cap_transport_error_bad_json(void **state) {
    struct fake_transport *f = fake_transport_new();
    char big[300];
    memset(big, ' ', sizeof(big) - 3);
    memcpy(big + sizeof(big) - 3, "{}", 3);
    fake_respond(fake_expect(f, "GET", CM_PATH), 200, big);
    fake_respond_error(fake_expect(f, "GET", CM_PATH), OP_ETRANSPORT,
                       "Failed to connect to k8s.test port 6443: Connection refused");
    fake_respond(fake_expect(f, "GET", CM_PATH), 200, "<html>not json</html>");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    kube_client_set_max_response(c, 256);
    struct kube_ref ref = {.version = "v1", .resource = "configmaps", .ns = "obs",
                           .name = "m-collector"};
    json_t *out = NULL;
    struct op_status st = {0};
    assert_int_equal(kube_get(c, &ref, &out, &st), OP_ETOOBIG);
    assert_non_null(strstr(st.msg, "larger than 256 bytes"));
    assert_int_equal(kube_get(c, &ref, &out, &st), OP_ETRANSPORT);
    assert_non_null(strstr(st.msg, "GET " CM_PATH));
    assert_non_null(strstr(st.msg, "Connection refused"));
    assert_int_equal(kube_get(c, &ref, &out, &st), OP_EPARSE);
    assert_null(out);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_GET, 0), 1);   /* no HTTP answer */
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_GET, 200), 2);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
}

static void metrics_format(void **state) {
    static struct kube_metrics m;   /* zero-initialized static: ready to use */
    kube_metrics_add(&m, KUBE_VERB_GET, 200);
    kube_metrics_add(&m, KUBE_VERB_GET, 200);
    kube_metrics_add(&m, KUBE_VERB_APPLY, 409);
    kube_metrics_add(&m, KUBE_VERB_WATCH, 0);
    kube_metrics_add(&m, KUBE_VERB_WATCH, 9999);   /* nonsense code: counted as error */
    struct strbuf b;
    strbuf_init(&b, 0);
    kube_metrics_format(&m, &b);
    assert_string_equal(b.buf,
                        "# HELP tracing_operator_kube_requests_total Kubernetes API requests by "
                        "verb and HTTP code.\n"
                        "# TYPE tracing_operator_kube_requests_total counter\n"
                        "tracing_operator_kube_requests_total{verb=\"get\",code=\"200\"} 2\n"
                        "tracing_operator_kube_requests_total{verb=\"watch\",code=\"error\"} 2\n"
                        "tracing_operator_kube_requests_total{verb=\"apply\",code=\"409\"} 1\n");
    strbuf_free(&b);
}

static void *hammer(void *arg) {
    for (int i = 0; i < 20000; i++)
        kube_metrics_add(arg, KUBE_VERB_LIST, 200);
    return NULL;
}

/* One struct shared by the clients of several threads loses no count. */
static void metrics_threads(void **state) {
    struct kube_metrics *m = calloc(1, sizeof(*m));
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(kube_metrics_get(m, KUBE_VERB_LIST, 200), 80000);
    free(m);
}

/* The fake itself: a mismatched request is reported, not silently answered. */
static void fake_reports_mismatch(void **state) {
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(f, "PATCH", CM_PATH);
    fake_expect_body(x, "application/merge-patch+json", "{\"data\":{\"a\":\"1\"}}");
    fake_respond(x, 200, "{}");
    fake_expect(f, "GET", "/never");
    struct kube_client *c = client_over(f, "tok", NULL);
    struct kube_ref ref = {.version = "v1", .resource = "configmaps", .ns = "obs",
                           .name = "m-collector"};
    json_t *patch = json_pack("{s:{s:s}}", "data", "a", "2");
    struct op_status st = {0};
    assert_int_equal(kube_merge_patch(c, &ref, patch, NULL, &st), OP_ETRANSPORT);
    char buf[2048];
    assert_int_equal(fake_transport_check(f, buf, sizeof(buf)), -1);
    assert_non_null(strstr(buf, "body differs"));
    assert_non_null(strstr(buf, "expected request never came: GET /never"));
    json_decref(patch);
    kube_client_free(c);
    fake_transport_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_found_and_not_found),
        cmocka_unit_test(list_pages_with_continue),
        cmocka_unit_test(list_expired_continue_and_defaults),
        cmocka_unit_test(apply_request),
        cmocka_unit_test(create_and_already_exists),
        cmocka_unit_test(status_merge_and_json_patch),
        cmocka_unit_test(update_lease_conflict),
        cmocka_unit_test(delete_with_propagation),
        cmocka_unit_test(discovery),
        cmocka_unit_test(token_rotation),
        cmocka_unit_test(size_cap_transport_error_bad_json),
        cmocka_unit_test(metrics_format),
        cmocka_unit_test(metrics_threads),
        cmocka_unit_test(fake_reports_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
