/* test_controller_drift.c - drift detection on children: the hash of our managedFields
 * entry (manager tracing-operator, operation Apply) and what the children cache and
 * the TracingModel reconciler do with it, over the fake transport:
 *   - another field manager takes a field we applied (our fieldsV1 loses it): the
 *     owner is requeued and exactly that child is applied again, once (force);
 *   - only another manager's entry changes: nothing is written;
 *   - our own applies (this replica's answers, another replica's watch events) and
 *     resyncs with nothing changed never count as drift;
 *   - objects without managedFields (not from an API server) never drift. */
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
#define P_STATUS "/apis/tracemodel.dev/v1alpha1/namespaces/ns/tracingmodels/m/status"

/* Our field set on the ConfigMap, and the same after another manager took
 * data.collector.yaml (an Update that changed its value moves the field to it). */
#define OURS_CM "{\"f:data\":{\".\":{},\"f:collector.yaml\":{}},\"f:metadata\":" \
                "{\"f:labels\":{\"f:app.kubernetes.io/component\":{}}}}"
#define OURS_CM_LOST "{\"f:data\":{\".\":{}},\"f:metadata\":" \
                     "{\"f:labels\":{\"f:app.kubernetes.io/component\":{}}}}"
#define OURS_DEP "{\"f:spec\":{\"f:replicas\":{}}}"
#define EDIT_FIELDS "{\"f:data\":{\"f:collector.yaml\":{}}}"
#define OTHER_FIELDS "{\"f:metadata\":{\"f:labels\":{\"f:team\":{}}}}"
#define OTHER_FIELDS2 "{\"f:metadata\":{\"f:labels\":{\"f:team\":{},\"f:tier\":{}}}}"

/* ---- a fake renderer: a ConfigMap and a Deployment ---- */

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
    out->endpoints = json_pack("{s:s}", "otlpGrpc", "http://m-collector.ns.svc:4317");
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
    json_t *model;
};

static int no_api(void *ud, const char *gv) {
    (void)ud;
    (void)gv;
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
                                    .api_served = no_api, .api_ud = x, .events = x->events,
                                    .leading = &x->leading};
    x->model = tu_load("tests/fixtures/controller/model.json");
    store_put(x->caches.models, json_incref(x->model), NULL);
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
    json_decref(x->model);
    free(x);
    return 0;
}

/* One managedFields entry (new ref). */
static json_t *mf_entry(const char *manager, const char *op, const char *fields_json) {
    json_t *fields = json_loads(fields_json, 0, NULL);
    assert_non_null(fields);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "manager", manager, "operation", op,
                     "apiVersion", "v1", "time", "2024-01-01T00:00:00Z", "fieldsType",
                     "FieldsV1", "fieldsV1", fields);
}

/* The i-th desired child as the API server would answer or send it (new ref): our
 * entry with ours_json (NULL: no managedFields at all) and, when other_json is set,
 * an entry of manager other (operation op). */
static json_t *live_child(const json_t *model, size_t i, const char *rv, const char *ours_json,
                          const char *other, const char *op, const char *other_json) {
    struct render_result rr;
    fake_render(model, &rr, NULL);
    json_t *o = json_deep_copy(json_array_get(rr.manifests, i));
    render_result_done(&rr);
    char hash[65];
    prepare_child(o, model, hash);
    json_t *md = json_object_get(o, "metadata");
    json_object_set_new(md, "resourceVersion", json_string(rv));
    json_object_set_new(md, "generation", json_integer(1));
    if (!strcmp(json_string_value(json_object_get(o, "kind")), "Deployment"))
        json_object_set_new(o, "status",
                            json_pack("{s:i,s:i,s:i}", "observedGeneration", 1,
                                      "availableReplicas", 1, "updatedReplicas", 1));
    if (ours_json) {
        json_t *mf = json_array();
        json_array_append_new(mf, mf_entry("tracing-operator", "Apply", ours_json));
        if (other_json)
            json_array_append_new(mf, mf_entry(other, op, other_json));
        json_object_set_new(md, "managedFields", mf);
    }
    return o;
}

static void respond_json(struct fake_exchange *e, int http, json_t *o /* stolen */) {
    char *s = json_dumps(o, JSON_COMPACT);
    fake_respond(e, http, s);
    free(s);
    json_decref(o);
}

/* A watch event for a child: children_put as the informer handler does it; returns
 * what it returned and checks the owner it names. */
static int event(struct fx *x, json_t *o /* stolen */) {
    char *owner = NULL, *old_owner = NULL;
    int rc = children_put(x->caches.children, o, &owner, &old_owner);
    if (rc > 0) {
        assert_non_null(owner);
        assert_string_equal(owner, "ns/m");
    }
    free(owner);
    free(old_owner);
    json_decref(o);
    return rc;
}

static int cm_drift(struct fx *x) {
    struct child c;
    assert_int_equal(children_lookup(x->caches.children, "v1", "ConfigMap", "ns", "m-collector",
                                     &c), 0);
    int d = c.drift;
    child_done(&c);
    return d;
}

/* First reconcile: both children applied (answers carry our managedFields), status
 * written; then the watch events of those applies and of the status arrive. */
static void converge(struct fx *x) {
    respond_json(fake_expect(x->f, "PATCH", P_CM), 200,
                 live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL));
    respond_json(fake_expect(x->f, "PATCH", P_DEP), 200,
                 live_child(x->model, 1, "102", OURS_DEP, NULL, NULL, NULL));
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    const struct fake_request *r = fake_request_at(x->f, 2);
    json_t *b = json_loads(r->body, 0, NULL);
    assert_non_null(b);
    json_object_set(x->model, "status", json_object_get(b, "status"));
    json_decref(b);
    store_put(x->caches.models, json_deep_copy(x->model), NULL);
    assert_int_equal(event(x, live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL)), 0);
    assert_int_equal(event(x, live_child(x->model, 1, "102", OURS_DEP, NULL, NULL, NULL)), 0);
    assert_false(cm_drift(x));
}

/* ---- the hash (pure) ---- */

static void object_without_managed_fields_has_no_hash(void **state) {
    (void)state;
    uint64_t h = 1;
    json_t *bare = obj("v1", "ConfigMap", "c", "ns");
    assert_int_equal(child_owned_fields_hash(bare, &h), 0);
    assert_true(h == 0);
    json_object_set_new(json_object_get(bare, "metadata"), "managedFields", json_string("x"));
    assert_int_equal(child_owned_fields_hash(bare, &h), 0);
    json_decref(bare);
}

static void hash_table(void **state) {
    struct fx *x = *state;
    uint64_t base = 0, h = 0;
    json_t *o = live_child(x->model, 0, "1", OURS_CM, NULL, NULL, NULL);
    assert_int_equal(child_owned_fields_hash(o, &base), 1);
    json_decref(o);
    struct {
        const char *what, *ours, *other, *op, *other_fields;
        int same;
    } rows[] = {
        {"another manager's entry added", OURS_CM, "kubectl-edit", "Update", OTHER_FIELDS, 1},
        {"another manager's entry changed", OURS_CM, "kubectl-edit", "Update", OTHER_FIELDS2, 1},
        {"another applier", OURS_CM, "someone", "Apply", OTHER_FIELDS, 1},
        {"status manager", OURS_CM, "kube-controller-manager", "Update", EDIT_FIELDS, 1},
        {"keys in another order", "{\"f:metadata\":{\"f:labels\":{\"f:app.kubernetes.io/"
         "component\":{}}},\"f:data\":{\"f:collector.yaml\":{},\".\":{}}}", NULL, NULL, NULL, 1},
        {"our entry lost a field", OURS_CM_LOST, "kubectl-edit", "Update", EDIT_FIELDS, 0},
        {"our entry gained a field", OURS_DEP, NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        o = live_child(x->model, 0, "1", rows[i].ours, rows[i].other, rows[i].op,
                       rows[i].other_fields);
        assert_int_equal(child_owned_fields_hash(o, &h), 1);
        if ((h == base) != rows[i].same)
            fail_msg("%s: hash %s", rows[i].what, rows[i].same ? "changed" : "did not change");
        json_decref(o);
    }
    /* our entry gone entirely (someone took every field): a value of its own */
    o = live_child(x->model, 0, "1", OURS_CM, NULL, NULL, NULL);
    json_t *mf = json_object_get(json_object_get(o, "metadata"), "managedFields");
    json_array_clear(mf);
    json_array_append_new(mf, mf_entry("kubectl-edit", "Update", OURS_CM));
    assert_int_equal(child_owned_fields_hash(o, &h), 1);
    assert_true(h != base);
    /* a status entry of ours (subresource) is not our Apply entry */
    json_t *st = mf_entry("tracing-operator", "Apply", OURS_CM);
    json_object_set_new(st, "subresource", json_string("status"));
    json_array_append_new(mf, st);
    uint64_t h2 = 0;
    assert_int_equal(child_owned_fields_hash(o, &h2), 1);
    assert_true(h2 == h);
    json_decref(o);
}

/* ---- the cache ---- */

static void cache_drift_rules(void **state) {
    struct fx *x = *state;
    json_t *ans = live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL);
    assert_int_equal(children_put_applied(x->caches.children, ans), 1);
    json_decref(ans);
    /* the watch event of our apply */
    assert_int_equal(event(x, live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL)), 0);
    assert_false(cm_drift(x));
    /* another manager adds its own label: not ours, no drift, nothing to do */
    assert_int_equal(event(x, live_child(x->model, 0, "102", OURS_CM, "kubectl-edit", "Update",
                                         OTHER_FIELDS)), 0);
    assert_false(cm_drift(x));
    /* it takes data.collector.yaml: drift, the owner is requeued */
    assert_int_equal(event(x, live_child(x->model, 0, "103", OURS_CM_LOST, "kubectl-edit",
                                         "Update", EDIT_FIELDS)), 1);
    assert_true(cm_drift(x));
    /* an older version arriving late changes nothing */
    assert_int_equal(event(x, live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL)), 0);
    assert_true(cm_drift(x));
    /* our re-apply takes the field back: the answer is the new base */
    ans = live_child(x->model, 0, "104", OURS_CM, "kubectl-edit", "Update", "{}");
    assert_int_equal(children_put_applied(x->caches.children, ans), 1);
    json_decref(ans);
    assert_false(cm_drift(x));
    assert_int_equal(event(x, live_child(x->model, 0, "104", OURS_CM, "kubectl-edit", "Update",
                                         "{}")), 0);
    assert_false(cm_drift(x));
}

static void apply_answer_older_than_an_event_still_sets_the_base(void **state) {
    struct fx *x = *state;
    json_t *ans = live_child(x->model, 0, "101", OURS_DEP, NULL, NULL, NULL);
    children_put_applied(x->caches.children, ans);
    json_decref(ans);
    /* our next apply (field set OURS_CM) is seen as an event, rv 110, before its answer
     * (rv 105 here, as if a later write followed): the annotation is unchanged in this
     * fake, so until the answer comes it looks like drift */
    event(x, live_child(x->model, 0, "110", OURS_CM, NULL, NULL, NULL));
    assert_true(cm_drift(x));
    ans = live_child(x->model, 0, "105", OURS_CM, NULL, NULL, NULL);
    assert_int_equal(children_put_applied(x->caches.children, ans), 0);
    json_decref(ans);
    assert_false(cm_drift(x));
}

static void another_replicas_apply_moves_the_base(void **state) {
    struct fx *x = *state;
    /* a standby's view: first seen, then the leader applies a new version of the
     * object (new applied-hash annotation) with a different field set */
    assert_int_equal(event(x, live_child(x->model, 0, "101", OURS_DEP, NULL, NULL, NULL)), 1);
    json_t *o = live_child(x->model, 0, "102", OURS_CM, NULL, NULL, NULL);
    json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
                        CHILD_ANN_HASH, json_string("1111111111111111111111111111111111111111"
                                                    "111111111111111111111111"));
    event(x, o);
    assert_false(cm_drift(x));
}

static void objects_without_managed_fields_never_drift(void **state) {
    struct fx *x = *state;
    json_t *ans = live_child(x->model, 0, "101", NULL, NULL, NULL, NULL);
    children_put_applied(x->caches.children, ans);
    json_decref(ans);
    assert_int_equal(event(x, live_child(x->model, 0, "102", NULL, NULL, NULL, NULL)), 0);
    assert_false(cm_drift(x));
    /* ...and a version without them after one with them keeps what we knew */
    assert_int_equal(event(x, live_child(x->model, 0, "103", OURS_CM, NULL, NULL, NULL)), 0);
    assert_int_equal(event(x, live_child(x->model, 0, "104", NULL, NULL, NULL, NULL)), 0);
    assert_false(cm_drift(x));
}

/* ---- the reconciler ---- */

static void lost_field_is_applied_again_exactly_once(void **state) {
    struct fx *x = *state;
    converge(x);
    size_t before = fake_request_count(x->f);
    assert_int_equal(event(x, live_child(x->model, 0, "103", OURS_CM_LOST, "kubectl-edit",
                                         "Update", EDIT_FIELDS)), 1);
    /* the answer: our field back (force), the other manager's entry emptied */
    respond_json(fake_expect(x->f, "PATCH", P_CM), 200,
                 live_child(x->model, 0, "104", OURS_CM, "kubectl-edit", "Update", "{}"));
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), before + 1);
    const struct fake_request *r = fake_request_at(x->f, before);
    assert_string_equal(r->method, "PATCH");
    assert_string_equal(r->content_type, "application/apply-patch+yaml");
    json_t *b = json_loads(r->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "data"),
                                                          "collector.yaml")),
                        "receivers: {}");
    json_decref(b);
    /* the watch event of the re-apply, then resyncs: nothing more */
    assert_int_equal(event(x, live_child(x->model, 0, "104", OURS_CM, "kubectl-edit", "Update",
                                         "{}")), 0);
    for (int i = 0; i < 3; i++) {
        op_fake_clock_advance(&x->clock, 3600 * 1000);
        assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    }
    assert_int_equal(fake_request_count(x->f), before + 1);
}

static void other_managers_change_writes_nothing(void **state) {
    struct fx *x = *state;
    converge(x);
    size_t before = fake_request_count(x->f);
    assert_int_equal(event(x, live_child(x->model, 0, "103", OURS_CM, "kubectl-edit", "Update",
                                         OTHER_FIELDS)), 0);
    assert_int_equal(event(x, live_child(x->model, 0, "104", OURS_CM, "kubectl-edit", "Update",
                                         OTHER_FIELDS2)), 0);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), before);
    fake_transport_assert_done(x->f);
}

static void resync_relist_writes_nothing(void **state) {
    struct fx *x = *state;
    converge(x);
    size_t before = fake_request_count(x->f);
    /* a relist (after a 410 or a restart of the watch) hands every child again */
    unsigned mark = children_replace_begin(x->caches.children);
    assert_int_equal(event(x, live_child(x->model, 0, "101", OURS_CM, NULL, NULL, NULL)), 0);
    assert_int_equal(event(x, live_child(x->model, 1, "102", OURS_DEP, NULL, NULL, NULL)), 0);
    children_replace_end(x->caches.children, mark, "v1", "ConfigMap", NULL, NULL, NULL);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_DONE);
    assert_int_equal(fake_request_count(x->f), before);
}

static void no_write_without_leadership_even_on_drift(void **state) {
    struct fx *x = *state;
    converge(x);
    size_t before = fake_request_count(x->f);
    event(x, live_child(x->model, 0, "103", OURS_CM_LOST, "kubectl-edit", "Update",
                        EDIT_FIELDS));
    atomic_store(&x->leading, 0);
    assert_int_equal(reconcile_model(&x->env, "ns/m"), RECONCILE_STOPPED);
    assert_int_equal(fake_request_count(x->f), before);
    assert_true(cm_drift(x));   /* still to do for the next leader */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(object_without_managed_fields_has_no_hash),
        cmocka_unit_test_setup_teardown(hash_table, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_drift_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(apply_answer_older_than_an_event_still_sets_the_base,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(another_replicas_apply_moves_the_base, setup, teardown),
        cmocka_unit_test_setup_teardown(objects_without_managed_fields_never_drift, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lost_field_is_applied_again_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(other_managers_change_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_relist_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(no_write_without_leadership_even_on_drift, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
