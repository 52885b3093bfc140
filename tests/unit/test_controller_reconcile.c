/* test_controller_reconcile.c - the TracingModel and Instrumentation reconcilers over
 * the fake transport: first apply (ownerReference, applied hash), a no-op reconcile
 * sends nothing, stale-child pruning with an Event, status written only on change,
 * skipped integrations picked up when their API appears (with the finalizer for the
 * object in another namespace), conflict retry on the finalizer, cleanup on deletion,
 * apply failures (Event de-duplicated, Degraded), invalid specs, lost leadership,
 * and Instrumentation status (model reference, language conflicts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "controller/children.h"
#include "controller/clock.h"
#include "controller/events.h"
#include "controller/reconcile.h"
#include "controller/status.h"
#include "controller/store.h"
#include "fake_transport.h"
#include "kube/client.h"
#include "testutil.h"

#define P_CM "/api/v1/namespaces/ns/configmaps/m-collector?fieldManager=tracing-operator&force=true"
#define P_DEP "/apis/apps/v1/namespaces/ns/deployments/m-collector?fieldManager=tracing-operator" \
              "&force=true"
#define P_TEL "/apis/telemetry.istio.io/v1/namespaces/istio-system/telemetries/m-tracing" \
              "?fieldManager=tracing-operator&force=true"
#define P_STATUS "/apis/tracemodel.dev/v1alpha1/namespaces/ns/tracingmodels/m/status"
#define P_MODEL "/apis/tracemodel.dev/v1alpha1/namespaces/ns/tracingmodels/m"
#define P_EVENTS "/apis/events.k8s.io/v1/namespaces/ns/events"

/* ---- a fake renderer: a ConfigMap, a Deployment, and a Telemetry when istio is on ---- */

static json_t *obj(const char *av, const char *kind, const char *name, const char *ns) {
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}}}", "apiVersion", av, "kind", kind, "metadata",
                     "name", name, "namespace", ns, "labels", "app.kubernetes.io/component",
                     "collector");
}

static int fake_render(const json_t *model, struct render_result *out, struct diag *d) {
    (void)d;
    const char *name = json_string_value(json_object_get(json_object_get(model, "metadata"),
                                                         "name"));
    const char *ns = json_string_value(json_object_get(json_object_get(model, "metadata"),
                                                       "namespace"));
    char n[128];
    memset(out, 0, sizeof(*out));
    out->manifests = json_array();
    snprintf(n, sizeof(n), "%s-collector", name);
    json_t *cm = obj("v1", "ConfigMap", n, ns);
    json_object_set_new(cm, "data", json_pack("{s:s}", "collector.yaml", "receivers: {}"));
    json_array_append_new(out->manifests, cm);
    json_t *dep = obj("apps/v1", "Deployment", n, ns);
    json_object_set_new(dep, "spec", json_pack("{s:i}", "replicas", 1));
    json_array_append_new(out->manifests, dep);
    json_t *istio = json_object_get(json_object_get(model, "spec"), "istio");
    if (json_is_true(json_object_get(istio, "enabled"))) {
        snprintf(n, sizeof(n), "%s-tracing", name);
        json_array_append_new(out->manifests,
                              obj("telemetry.istio.io/v1", "Telemetry", n, "istio-system"));
    }
    out->endpoints = json_pack("{s:s,s:s}", "otlpGrpc", "http://m-collector.ns.svc:4317",
                               "otlpHttp", "http://m-collector.ns.svc:4318");
    out->capacity = json_pack("{s:i}", "spansPerSecond", 100);
    return 0;
}

/* ---- fixture ---- */

struct fx {
    struct fake_transport *f;
    struct kube_client *c;
    struct ctrl_caches caches;
    struct op_fake_clock clock;
    struct events *events;
    struct reconcile_env env;
    atomic_int leading;
    int istio_served;
};

static int served(void *ud, const char *gv) {
    struct fx *x = ud;
    if (!strncmp(gv, "telemetry.istio.io/", 19))
        return x->istio_served;
    return 0;
}

static int setup(void **state) {
    struct fx *x = xcalloc(1, sizeof(*x));
    x->f = fake_transport_new();
    struct kube_config cfg;
    kube_config_init(&cfg);
    x->c = kube_client_new_with_transport(&cfg, fake_transport_base(x->f), NULL);
    kube_config_free(&cfg);
    x->caches.models = store_new();
    x->caches.instrumentations = store_new();
    x->caches.children = children_new();
    op_fake_clock_init(&x->clock, 1000, 1704067200000);
    x->events = events_new("test-replica", &x->clock.clock);
    atomic_init(&x->leading, 1);
    x->env = (struct reconcile_env){.client = x->c, .caches = &x->caches,
                                    .clock = &x->clock.clock, .render = fake_render,
                                    .api_served = served, .api_ud = x, .events = x->events,
                                    .leading = &x->leading};
    *state = x;
    return 0;
}

static int teardown(void **state) {
    struct fx *x = *state;
    kube_client_free(x->c);
    fake_transport_free(x->f);
    store_free(x->caches.models);
    store_free(x->caches.instrumentations);
    children_free(x->caches.children);
    events_free(x->events);
    free(x);
    return 0;
}

static json_t *put_model(struct fx *x, const char *fixture) {
    json_t *m = tu_load(fixture);
    store_put(x->caches.models, json_incref(m), NULL);
    return m;
}

/* The i-th desired child as the reconciler would apply it, as live (new ref). */
static json_t *live_child(const json_t *model, size_t i, const char *rv, int available) {
    struct render_result rr;
    fake_render(model, &rr, NULL);
    json_t *o = json_deep_copy(json_array_get(rr.manifests, i));
    render_result_done(&rr);
    char hash[65];
    prepare_child(o, model, hash);
    json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv));
    json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(1));
    if (!strcmp(json_string_value(json_object_get(o, "kind")), "Deployment"))
        json_object_set_new(o, "status",
                            json_pack("{s:i,s:i,s:i}", "observedGeneration", 1,
                                      "availableReplicas", available, "updatedReplicas",
                                      available));
    return o;
}

static void cache_child(struct fx *x, json_t *o /* stolen */) {
    children_put(x->caches.children, o, NULL, NULL);
    json_decref(o);
}

static char *dump(const json_t *o) { return json_dumps(o, JSON_COMPACT); }

static void respond_json(struct fake_exchange *e, int http, json_t *o /* stolen */) {
    char *s = dump(o);
    fake_respond(e, http, s);
    free(s);
    json_decref(o);
}

static json_t *request_body(struct fx *x, size_t i) {
    const struct fake_request *r = fake_request_at(x->f, i);
    assert_non_null(r);
    assert_non_null(r->body);
    json_t *b = json_loads(r->body, 0, NULL);
    assert_non_null(b);
    return b;
}

static const char *cond_field(const json_t *status, const char *type, const char *field) {
    return json_string_value(json_object_get(status_find_condition(status, type), field));
}

/* Simulates the watch event after our status patch: the model in the cache gets the
 * status that request i sent. */
static void adopt_status(struct fx *x, json_t *model, size_t i) {
    json_t *b = request_body(x, i);
    json_object_set(model, "status", json_object_get(b, "status"));
    json_decref(b);
    store_put(x->caches.models, json_deep_copy(model), NULL);
}

/* ---- tests ---- */

static void first_reconcile_applies_children_and_status(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    respond_json(fake_expect(x->f, "PATCH", P_CM), 200, live_child(m, 0, "101", 0));
    respond_json(fake_expect(x->f, "PATCH", P_DEP), 200, live_child(m, 1, "102", 1));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);

    const struct fake_request *r0 = fake_request_at(x->f, 0);
    assert_string_equal(r0->content_type, "application/apply-patch+yaml");
    json_t *cm = request_body(x, 0);
    json_t *md = json_object_get(cm, "metadata");
    json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
    assert_string_equal(json_string_value(json_object_get(ref, "uid")), "uid-m");
    assert_string_equal(json_string_value(json_object_get(ref, "kind")), "TracingModel");
    assert_true(json_is_true(json_object_get(ref, "controller")));
    assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
    json_t *ann = json_object_get(md, "annotations");
    assert_int_equal(strlen(json_string_value(json_object_get(ann, CHILD_ANN_HASH))), 64);
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"),
                                                           CHILD_LABEL_MANAGED_BY)),
                        "tracing-operator");
    json_decref(cm);

    const struct fake_request *r2 = fake_request_at(x->f, 2);
    assert_string_equal(r2->content_type, "application/merge-patch+json");
    json_t *sp = request_body(x, 2);
    json_t *st = json_object_get(sp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), 2);
    assert_true(json_is_false(json_object_get(st, "tailSampling"))); /* no rules: no tail sampling */
    assert_string_equal(cond_field(st, "Ready", "status"), "True");
    assert_string_equal(cond_field(st, "Ready", "reason"), "Available");
    assert_string_equal(cond_field(st, "Progressing", "status"), "False");
    assert_string_equal(cond_field(st, "Degraded", "status"), "False");
    json_t *children = json_object_get(st, "children");
    assert_int_equal(json_array_size(children), 2);
    assert_true(json_is_true(json_object_get(json_array_get(children, 1), "ready")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(children, 1),
                                                          "replicas")), "1/1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "endpoints"),
                                                          "otlpGrpc")),
                        "http://m-collector.ns.svc:4317");
    assert_non_null(json_object_get(st, "capacity"));
    json_decref(sp);
    json_decref(m);
}

static void noop_reconcile_sends_nothing(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    respond_json(fake_expect(x->f, "PATCH", P_CM), 200, live_child(m, 0, "101", 0));
    respond_json(fake_expect(x->f, "PATCH", P_DEP), 200, live_child(m, 1, "102", 1));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    adopt_status(x, m, 2);
    size_t before = fake_request_count(x->f);
    /* resyncs, an hour later: still nothing to write */
    for (int i = 0; i < 3; i++) {
        op_fake_clock_advance(&x->clock, 3600 * 1000);
        assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    }
    assert_int_equal(fake_request_count(x->f), before);
    fake_transport_assert_done(x->f);
    json_decref(m);
}

static void changed_child_is_applied_again(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    json_t *cm = live_child(m, 0, "101", 0);
    /* someone edited the ConfigMap: its hash annotation no longer matches */
    json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "annotations"),
                        CHILD_ANN_HASH, json_string("0000"));
    cache_child(x, cm);
    cache_child(x, live_child(m, 1, "102", 1));
    respond_json(fake_expect(x->f, "PATCH", P_CM), 200, live_child(m, 0, "103", 0));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_decref(m);
}

static void stale_child_is_pruned_with_an_event(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    cache_child(x, live_child(m, 0, "101", 0));
    cache_child(x, live_child(m, 1, "102", 1));
    json_t *old = live_child(m, 0, "90", 0);
    json_object_set_new(json_object_get(old, "metadata"), "name", json_string("m-old"));
    cache_child(x, old);
    /* a child of another model is never touched */
    json_t *other = live_child(m, 0, "91", 0);
    json_object_set_new(json_object_get(other, "metadata"), "name", json_string("x-collector"));
    json_object_set_new(json_object_get(json_object_get(other, "metadata"), "annotations"),
                        CHILD_ANN_OWNER, json_string("ns/x"));
    cache_child(x, other);
    fake_respond(fake_expect(x->f, "DELETE", "/api/v1/namespaces/ns/configmaps/m-old"), 200,
                 "{}");
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *ev = request_body(x, 1);
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "DeletedStaleChild");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Normal");
    assert_string_equal(json_string_value(json_object_get(ev, "reportingController")),
                        EVENTS_CONTROLLER);
    json_t *reg = json_object_get(ev, "regarding");
    assert_string_equal(json_string_value(json_object_get(reg, "uid")), "uid-m");
    assert_string_equal(json_string_value(json_object_get(reg, "kind")), "TracingModel");
    assert_non_null(strstr(json_string_value(json_object_get(ev, "note")), "m-old"));
    json_decref(ev);
    json_decref(m);
}

static void status_is_written_only_when_it_changes(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    cache_child(x, live_child(m, 0, "101", 0));
    cache_child(x, live_child(m, 1, "102", 1));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    adopt_status(x, m, 0);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), 1);
    /* the collector loses its pod: one status patch, Ready False, then quiet again */
    cache_child(x, live_child(m, 1, "103", 0));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    op_fake_clock_advance(&x->clock, 5000);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *b = request_body(x, 1);
    json_t *st = json_object_get(b, "status");
    assert_string_equal(cond_field(st, "Ready", "status"), "False");
    assert_string_equal(cond_field(st, "Ready", "reason"), "ChildrenNotReady");
    assert_non_null(strstr(cond_field(st, "Ready", "message"),
                           "Deployment m-collector (0/1 available)"));
    assert_string_equal(cond_field(st, "Progressing", "status"), "True");
    /* Degraded did not change: its lastTransitionTime is kept */
    assert_string_equal(cond_field(st, "Degraded", "lastTransitionTime"),
                        "2024-01-01T00:00:00Z");
    assert_string_equal(cond_field(st, "Ready", "lastTransitionTime"), "2024-01-01T00:00:05Z");
    json_decref(b);
    adopt_status(x, m, 1);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), 2);
    json_decref(m);
}

static void skipped_integration_is_picked_up_when_its_api_appears(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model_istio_mesh.json");
    cache_child(x, live_child(m, 0, "101", 0));
    cache_child(x, live_child(m, 1, "102", 1));
    /* Istio not installed: the Telemetry is skipped, a condition and an Event say so */
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *b = request_body(x, 0);
    json_t *st = json_object_get(b, "status");
    assert_string_equal(cond_field(st, "IstioSkipped", "status"), "True");
    assert_string_equal(cond_field(st, "IstioSkipped", "reason"), "CRDNotInstalled");
    assert_non_null(strstr(cond_field(st, "IstioSkipped", "message"), "telemetry.istio.io/v1"));
    assert_string_equal(cond_field(st, "Ready", "status"), "True");
    json_decref(b);
    json_t *ev = request_body(x, 1);
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "IstioSkipped");
    json_decref(ev);
    adopt_status(x, m, 0);
    /* a resync while still absent: nothing */
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), 2);

    /* the CRD appears: finalizer first (the Telemetry is in another namespace), then apply */
    x->istio_served = 1;
    struct fake_exchange *fin = fake_expect(x->f, "PATCH", P_MODEL);
    fake_expect_body(fin, "application/merge-patch+json",
                     "{\"metadata\":{\"finalizers\":[\"tracemodel.dev/cleanup\"],"
                     "\"resourceVersion\":\"200\"}}");
    json_t *with_fin = json_deep_copy(m);
    json_object_set_new(json_object_get(with_fin, "metadata"), "finalizers",
                        json_pack("[s]", TM_FINALIZER));
    json_object_set_new(json_object_get(with_fin, "metadata"), "resourceVersion",
                        json_string("201"));
    respond_json(fin, 200, json_incref(with_fin));
    fake_respond(fake_expect(x->f, "PATCH", P_TEL), 200, "{}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *tel = request_body(x, 3);
    json_t *md = json_object_get(tel, "metadata");
    assert_null(json_object_get(md, "ownerReferences"));   /* cross-namespace: no ownerRef */
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "annotations"),
                                                          CHILD_ANN_OWNER)), "ns/m");
    assert_string_equal(json_string_value(json_object_get(md, "namespace")), "istio-system");
    json_decref(tel);
    json_t *sp = request_body(x, 4);
    assert_null(status_find_condition(json_object_get(sp, "status"), "IstioSkipped"));
    /* the condition is removed from the stored status */
    json_decref(sp);
    json_decref(with_fin);
    json_decref(m);
}

static void finalizer_patch_retries_on_conflict(void **state) {
    struct fx *x = *state;
    x->istio_served = 1;
    json_t *m = put_model(x, "tests/fixtures/controller/model_istio_mesh.json");
    cache_child(x, live_child(m, 0, "101", 0));
    cache_child(x, live_child(m, 1, "102", 1));
    cache_child(x, live_child(m, 2, "103", 0));
    fake_respond(fake_expect(x->f, "PATCH", P_MODEL), 409,
                 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                 "\"reason\":\"Conflict\",\"code\":409,\"message\":\"the object has been "
                 "modified\"}");
    json_t *fresh = json_deep_copy(m);
    json_object_set_new(json_object_get(fresh, "metadata"), "resourceVersion",
                        json_string("205"));
    respond_json(fake_expect(x->f, "GET", P_MODEL), 200, json_incref(fresh));
    struct fake_exchange *again = fake_expect(x->f, "PATCH", P_MODEL);
    fake_expect_body(again, "application/merge-patch+json",
                     "{\"metadata\":{\"finalizers\":[\"tracemodel.dev/cleanup\"],"
                     "\"resourceVersion\":\"205\"}}");
    json_object_set_new(json_object_get(fresh, "metadata"), "finalizers",
                        json_pack("[s]", TM_FINALIZER));
    respond_json(again, 200, json_incref(fresh));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_decref(fresh);
    json_decref(m);
}

static void deletion_cleans_other_namespaces_then_drops_finalizer(void **state) {
    struct fx *x = *state;
    x->istio_served = 1;
    json_t *m = tu_load("tests/fixtures/controller/model_istio_mesh.json");
    json_t *md = json_object_get(m, "metadata");
    json_object_set_new(md, "deletionTimestamp", json_string("2024-01-01T00:00:00Z"));
    json_object_set_new(md, "finalizers", json_pack("[s,s]", "other.io/keep", TM_FINALIZER));
    store_put(x->caches.models, json_incref(m), NULL);
    cache_child(x, live_child(m, 0, "101", 0));
    cache_child(x, live_child(m, 2, "103", 0));
    fake_respond(fake_expect(x->f, "DELETE",
                             "/apis/telemetry.istio.io/v1/namespaces/istio-system/telemetries/"
                             "m-tracing"),
                 200, "{}");
    struct fake_exchange *fin = fake_expect(x->f, "PATCH", P_MODEL);
    fake_expect_body(fin, "application/merge-patch+json",
                     "{\"metadata\":{\"finalizers\":[\"other.io/keep\"],"
                     "\"resourceVersion\":\"200\"}}");
    fake_respond(fin, 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_decref(m);
}

static void apply_failure_is_reported_once_and_retried(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    const char *denied = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                         "\"Failure\",\"reason\":\"Forbidden\",\"code\":403,\"message\":"
                         "\"configmaps is forbidden\"}";
    fake_respond(fake_expect(x->f, "PATCH", P_CM), 403, denied);
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");
    respond_json(fake_expect(x->f, "PATCH", P_DEP), 200, live_child(m, 1, "102", 1));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_true(reconcile_model(&x->env, "ns/m") < 0);   /* retried with backoff */
    fake_transport_assert_done(x->f);
    json_t *ev = request_body(x, 1);
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "ApplyFailed");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
    assert_non_null(strstr(json_string_value(json_object_get(ev, "note")), "forbidden"));
    json_decref(ev);
    json_t *sp = request_body(x, 3);
    json_t *st = json_object_get(sp, "status");
    assert_string_equal(cond_field(st, "Degraded", "status"), "True");
    assert_string_equal(cond_field(st, "Degraded", "reason"), "ApplyFailed");
    assert_string_equal(cond_field(st, "Ready", "status"), "False");
    json_decref(sp);
    adopt_status(x, m, 3);
    /* the retry fails the same way: no second Event, no status write */
    fake_respond(fake_expect(x->f, "PATCH", P_CM), 403, denied);
    assert_true(reconcile_model(&x->env, "ns/m") < 0);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 5);
    json_decref(m);
}

static void invalid_spec_gets_status_and_no_children(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model_invalid.json");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *sp = request_body(x, 0);
    json_t *st = json_object_get(sp, "status");
    assert_string_equal(cond_field(st, "Ready", "reason"), "InvalidSpec");
    assert_non_null(strstr(cond_field(st, "Ready", "message"), "spec.sampling.rate"));
    assert_string_equal(cond_field(st, "Degraded", "status"), "True");
    assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), 4);
    json_decref(sp);
    json_decref(m);
}

static void follower_writes_nothing(void **state) {
    struct fx *x = *state;
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    atomic_store(&x->leading, 0);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_STOPPED);
    assert_int_equal(fake_request_count(x->f), 0);
    json_decref(m);
}

static void deleted_model_is_a_noop(void **state) {
    struct fx *x = *state;
    assert_int_equal(reconcile_model(&x->env, "ns/gone"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), 0);
}

static void prepare_child_hash_is_stable_and_owned(void **state) {
    (void)state;
    json_t *m = tu_load("tests/fixtures/controller/model.json");
    json_t *a = obj("v1", "ConfigMap", "m-collector", "ns");
    json_t *b = obj("v1", "ConfigMap", "m-collector", "ns");
    json_t *c = obj("v1", "ConfigMap", "m-collector", "ns");
    json_object_set_new(c, "data", json_pack("{s:s}", "k", "v"));
    char ha[65], hb[65], hc[65];
    assert_int_equal(prepare_child(a, m, ha), 0);
    assert_int_equal(prepare_child(b, m, hb), 0);
    assert_int_equal(prepare_child(c, m, hc), 0);
    assert_string_equal(ha, hb);
    assert_string_not_equal(ha, hc);
    /* preparing again (hash annotation present) gives the same hash */
    assert_int_equal(prepare_child(a, m, hb), 0);
    assert_string_equal(ha, hb);
    json_t *cross = obj("telemetry.istio.io/v1", "Telemetry", "m-tracing", "istio-system");
    assert_int_equal(prepare_child(cross, m, hc), 1);
    json_t *noname = json_pack("{s:s,s:s,s:{}}", "apiVersion", "v1", "kind", "ConfigMap",
                               "metadata");
    assert_true(prepare_child(noname, m, hc) < 0);
    assert_string_equal(integration_of("monitoring.coreos.com/v1"), "PrometheusOperator");
    assert_null(integration_of("apps/v1"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(cross);
    json_decref(noname);
    json_decref(m);
}

/* ---- Instrumentation ---- */

static json_t *inst(const char *name, const char *model, const char *lang) {
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:i,s:s},s:{}}", "apiVersion",
                          "tracemodel.dev/v1alpha1", "kind", "Instrumentation", "metadata",
                          "name", name, "namespace", "ns", "generation", 1, "resourceVersion",
                          "10", "spec");
    if (model)
        json_object_set_new(json_object_get(o, "spec"), "tracingModel", json_string(model));
    if (lang)
        json_object_set_new(json_object_get(o, "spec"), lang, json_object());
    return o;
}

static void instrumentation_status_reports_model_and_conflicts(void **state) {
    struct fx *x = *state;
    store_put(x->caches.instrumentations, inst("a", "m", "java"), NULL);
    store_put(x->caches.instrumentations, inst("b", NULL, "java"), NULL);
    store_put(x->caches.instrumentations, inst("c", NULL, "python"), NULL);
    const char *pa = "/apis/tracemodel.dev/v1alpha1/namespaces/ns/instrumentations/a/status";
    fake_respond(fake_expect(x->f, "PATCH", pa), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "ns/a"), RECONCILE_DONE);
    json_t *b = request_body(x, 0);
    json_t *st = json_object_get(b, "status");
    assert_string_equal(json_string_value(json_object_get(st, "tracingModel")), "ns/m");
    assert_string_equal(cond_field(st, "Ready", "reason"), "TracingModelNotFound");
    assert_string_equal(cond_field(st, "Conflict", "status"), "True");
    assert_string_equal(cond_field(st, "Degraded", "status"), "True");
    const char *msg = cond_field(st, "Conflict", "message");
    assert_non_null(strstr(msg, "b (java)"));
    assert_null(strstr(msg, "c ("));   /* python only: no conflict with a java-only peer */
    json_decref(b);
    /* the model appears and b goes away: Ready */
    json_t *m = put_model(x, "tests/fixtures/controller/model.json");
    store_remove(x->caches.instrumentations, "ns/b", NULL);
    fake_respond(fake_expect(x->f, "PATCH", pa), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "ns/a"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    b = request_body(x, 1);
    st = json_object_get(b, "status");
    assert_string_equal(cond_field(st, "Ready", "status"), "True");
    assert_null(status_find_condition(st, "Conflict"));
    assert_string_equal(cond_field(st, "Degraded", "status"), "False");
    /* unchanged: no write, even with another writer's field in the status */
    json_t *a = store_get(x->caches.instrumentations, "ns/a");
    json_t *a2 = json_deep_copy(a);
    json_t *st2 = json_deep_copy(st);
    json_object_set_new(st2, "uninstrumentedPods", json_integer(3));
    json_object_set_new(a2, "status", st2);
    store_put(x->caches.instrumentations, a2, NULL);
    assert_int_equal(reconcile_instrumentation(&x->env, "ns/a"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), 2);
    json_decref(a);
    json_decref(b);
    json_decref(m);
}

static void invalid_instrumentation_says_why(void **state) {
    struct fx *x = *state;
    json_t *i = inst("bad", NULL, NULL);
    json_object_set_new(json_object_get(i, "spec"), "sampler",
                        json_pack("{s:s,s:s}", "type", "traceidratio", "argument", "2"));
    store_put(x->caches.instrumentations, i, NULL);
    const char *p = "/apis/tracemodel.dev/v1alpha1/namespaces/ns/instrumentations/bad/status";
    fake_respond(fake_expect(x->f, "PATCH", p), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "ns/bad"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *b = request_body(x, 0);
    json_t *st = json_object_get(b, "status");
    assert_string_equal(cond_field(st, "Ready", "reason"), "InvalidSpec");
    assert_non_null(strstr(cond_field(st, "Ready", "message"), "spec.sampler.argument"));
    json_decref(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_reconcile_applies_children_and_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(noop_reconcile_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_child_is_applied_again, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_child_is_pruned_with_an_event, setup, teardown),
        cmocka_unit_test_setup_teardown(status_is_written_only_when_it_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(skipped_integration_is_picked_up_when_its_api_appears,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(finalizer_patch_retries_on_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(deletion_cleans_other_namespaces_then_drops_finalizer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(apply_failure_is_reported_once_and_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(invalid_spec_gets_status_and_no_children, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(follower_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_model_is_a_noop, setup, teardown),
        cmocka_unit_test(prepare_child_hash_is_stable_and_owned),
        cmocka_unit_test_setup_teardown(instrumentation_status_reports_model_and_conflicts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_instrumentation_says_why, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
