/* test_controller_runtime.c - the whole controller over the fake transport: it lists
 * and watches every kind (children by label selector only), waits for its caches,
 * wins the Lease, reconciles the one TracingModel it finds (real renderer), and on
 * stop ends its watches, releases the Lease and joins every thread quickly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/embed.h"
#include "base/log.h"
#include "base/yamljson.h"
#include "base/xalloc.h"
#include "controller/clock.h"
#include "controller/controller.h"
#include "fake_transport.h"
#include "kube/client.h"
#include "testutil.h"

#define SEL "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtracing-operator"
#define EMPTY_LIST                                                                         \
    "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},"        \
    "\"items\":[]}"
#define LEASE "/apis/coordination.k8s.io/v1/namespaces/default/leases"

static struct kube_transport *fake_factory(void *ud, struct op_status *st) {
    (void)st;
    return fake_transport_base(ud);
}

/* An informer's list (with body) and its watch, which idles until stopped. */
static void expect_informer(struct fake_transport *f, const char *base, int selected,
                            const char *list_body) {
    char path[512];
    snprintf(path, sizeof(path), "%s?%s%slimit=500", base, selected ? SEL : "",
             selected ? "&" : "");
    fake_respond(fake_expect(f, "GET", path), 200, list_body);
    snprintf(path, sizeof(path),
             "%s?watch=true&%s%sresourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=30",
             base, selected ? SEL : "", selected ? "&" : "");
    struct fake_exchange *w = fake_expect(f, "GET", path);
    fake_respond_status(w, 200);
    fake_respond_hold(w, 30000);
}

static void wait_until(int (*cond)(void *), void *arg, int ms) {
    for (int i = 0; i < ms / 5 && !cond(arg); i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

static int synced(void *c) { return controller_synced(c); }

static size_t count(struct fake_transport *f, const char *method, const char *suffix) {
    size_t n = 0;
    for (size_t i = 0; i < fake_request_count(f); i++) {
        const struct fake_request *r = fake_request_at(f, i);
        size_t pl = strlen(r->path), sl = strlen(suffix);
        n += !strcmp(r->method, method) && pl >= sl && !strcmp(r->path + pl - sl, suffix);
    }
    return n;
}

static int status_written(void *f) {
    return fake_transport_check(f, NULL, 0) == 0 && count(f, "PATCH", "/m/status") > 0;
}

static void runs_leads_reconciles_and_stops(void **state) {
    (void)state;
    log_set_level(LOG_ERROR);
    struct fake_transport *f = fake_transport_new();
    fake_transport_set_unordered(f, 1);
    struct fake_exchange *disc = fake_expect(f, "GET", "/apis");
    fake_respond(disc, 200,
                 "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"apps\",\"versions\":"
                 "[{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}]}]}");
    fake_expect_any_times(disc);

    char *model = tu_read_file("tests/fixtures/controller/model.json", NULL);
    char *models = xasprintf("{\"kind\":\"TracingModelList\",\"apiVersion\":"
                             "\"tracemodel.dev/v1alpha1\",\"metadata\":{\"resourceVersion\":\"1\"},"
                             "\"items\":[%s]}",
                             model);
    expect_informer(f, "/apis/tracemodel.dev/v1alpha1/tracingmodels", 0, models);
    expect_informer(f, "/apis/tracemodel.dev/v1alpha1/instrumentations", 0, EMPTY_LIST);
    expect_informer(f, "/api/v1/namespaces", 0, EMPTY_LIST);
    const char *children[] = {"/api/v1/configmaps", "/api/v1/services", "/api/v1/serviceaccounts",
                              "/api/v1/persistentvolumeclaims", "/apis/apps/v1/deployments",
                              "/apis/apps/v1/daemonsets", "/apis/apps/v1/statefulsets",
                              "/apis/batch/v1/cronjobs",
                              "/apis/rbac.authorization.k8s.io/v1/roles",
                              "/apis/rbac.authorization.k8s.io/v1/rolebindings"};
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
        expect_informer(f, children[i], 1, EMPTY_LIST);

    /* the Lease: absent, created, renewed, released */
    fake_respond(fake_expect(f, "GET", LEASE "/tracing-operator.tracemodel.dev"), 404,
                 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                 "\"reason\":\"NotFound\",\"code\":404}");
    const char *lease = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                        "\"metadata\":{\"name\":\"tracing-operator.tracemodel.dev\",\"namespace\":"
                        "\"default\",\"resourceVersion\":\"5\"},\"spec\":{\"holderIdentity\":"
                        "\"replica-1\",\"leaseDurationSeconds\":15,\"leaseTransitions\":0}}";
    struct fake_exchange *create = fake_expect(f, "POST", LEASE);
    fake_expect_body_contains(create, "application/json", "\"holderIdentity\":\"replica-1\"");
    fake_respond(create, 201, lease);
    struct fake_exchange *renew_get =
        fake_expect(f, "GET", LEASE "/tracing-operator.tracemodel.dev");
    fake_respond(renew_get, 200, lease);
    fake_expect_any_times(renew_get);
    struct fake_exchange *put = fake_expect(f, "PUT", LEASE "/tracing-operator.tracemodel.dev");
    fake_respond(put, 200, lease);
    fake_expect_any_times(put);

    /* the model's children (otlp backend) and its status; the answers do not echo the
     * objects, so a second reconcile (leadership gained while the first add is in
     * flight) applies again: any number of times */
    const char *applies[] = {
        "/api/v1/namespaces/ns/serviceaccounts/m-collector",
        "/api/v1/namespaces/ns/configmaps/m-collector",
        "/api/v1/namespaces/ns/services/m-collector",
        "/apis/apps/v1/namespaces/ns/deployments/m-collector",
    };
    for (size_t i = 0; i < 4; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s?fieldManager=tracing-operator&force=true", applies[i]);
        struct fake_exchange *x = fake_expect(f, "PATCH", p);
        fake_expect_body_contains(x, "application/apply-patch+yaml", "\"uid\":\"uid-m\"");
        fake_respond(x, 200, "{}");
        fake_expect_any_times(x);
    }
    struct fake_exchange *stx = fake_expect(
        f, "PATCH", "/apis/tracemodel.dev/v1alpha1/namespaces/ns/tracingmodels/m/status");
    fake_expect_body_contains(stx, "application/merge-patch+json", "\"observedGeneration\":2");
    fake_respond(stx, 200, "{}");
    fake_expect_any_times(stx);

    struct kube_config cfg;
    kube_config_init(&cfg);
    struct controller_opts o = {
        .kube = &cfg,
        .leader_elect = 1,
        .identity = "replica-1",
        .watch_timeout_s = 30,
        .new_transport = fake_factory,
        .transport_ud = f,
    };
    struct op_status st = {0};
    struct controller *c = controller_new(&o, &st);
    assert_non_null(c);
    assert_int_equal(controller_start(c, &st), 0);
    wait_until(synced, c, 5000);
    assert_true(controller_synced(c));
    assert_int_equal(controller_start_workers(c, &st), 0);
    wait_until(status_written, f, 10000);
    char why[4096] = "";
    if (fake_transport_check(f, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    assert_true(controller_is_leader(c));
    assert_true(count(f, "PATCH", "/deployments/m-collector?fieldManager=tracing-operator"
                                  "&force=true") >= 1);
    assert_int_equal(count(f, "POST", "/events"), 0);   /* nothing failed */
    struct ctrl_gauges g;
    controller_gauges(c, &g);
    assert_int_equal(g.models, 1);

    int64_t t0 = op_now_ms(&op_clock_system);
    assert_int_equal(controller_stop(c, 3000), 0);
    assert_true(op_now_ms(&op_clock_system) - t0 < 3000);
    assert_false(controller_is_leader(c));
    /* the last request released the Lease */
    const struct fake_request *last = fake_request_at(f, fake_request_count(f) - 1);
    assert_string_equal(last->method, "PUT");
    assert_non_null(strstr(last->body, "\"holderIdentity\":\"\""));
    unsigned long ok = atomic_load(&controller_metrics(c)->reconciles[RK_MODEL][RO_SUCCESS]);
    assert_true(ok >= 1);
    controller_free(c);
    kube_config_free(&cfg);
    fake_transport_free(f);
    free(model);
    free(models);
}

static void install_crds_applies_every_embedded_crd(void **state) {
    (void)state;
    struct fake_transport *f = fake_transport_new();
    size_t n = 0;
    for (const struct op_embedded_file *e = op_embedded_crds; e->name; e++) {
        json_t *docs = yaml_load_all(e->data, e->len, NULL);
        assert_non_null(docs);
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
            const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"),
                                                                 "name"));
            assert_non_null(name);
            char path[256];
            snprintf(path, sizeof(path),
                     "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s"
                     "?fieldManager=tracing-operator&force=true",
                     name);
            struct fake_exchange *x = fake_expect(f, "PATCH", path);
            fake_expect_body_contains(x, "application/apply-patch+yaml",
                                      "\"kind\":\"CustomResourceDefinition\"");
            fake_respond(x, 200, "{}");
            n++;
        }
        json_decref(docs);
    }
    assert_true(n >= 2);   /* TracingModel and Instrumentation */
    struct kube_config cfg;
    kube_config_init(&cfg);
    struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(f), NULL);
    struct op_status st = {0};
    assert_int_equal(ctrl_install_crds(c, &st), 0);
    fake_transport_assert_done(f);
    /* a refusal stops the installation and says why */
    struct fake_transport *g = fake_transport_new();
    fake_transport_set_unordered(g, 1);
    for (size_t i = 0; i < n; i++)
        fake_respond(fake_expect(g, "PATCH", fake_request_at(f, i)->path), 403,
                     "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                     "\"reason\":\"Forbidden\",\"code\":403,\"message\":\"no CRD rights\"}");
    struct kube_client *d = kube_client_new_with_transport(&cfg, fake_transport_base(g), NULL);
    assert_int_equal(ctrl_install_crds(d, &st), OP_EFORBIDDEN);
    assert_non_null(strstr(st.msg, "no CRD rights"));
    assert_int_equal(fake_request_count(g), 1);
    kube_client_free(c);
    kube_client_free(d);
    kube_config_free(&cfg);
    fake_transport_free(f);
    fake_transport_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_leads_reconciles_and_stops),
        cmocka_unit_test(install_crds_applies_every_embedded_crd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
