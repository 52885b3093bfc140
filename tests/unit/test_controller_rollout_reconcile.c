/* test_controller_rollout_reconcile.c - the Instrumentation reconciler's pod checks and
 * rollouts over the fake transport, with the exact requests: the pod list (field
 * selector), the Warning Event when uninstrumented pods appear (once), the status
 * (injectionHash, uninstrumentedPods, Uninstrumented condition), restarts of owners
 * (Deployment found from the ReplicaSet name, restartedAt patch, throttled in memory
 * and by the template's restartedAt), rollouts when what is injected changes (also
 * through the TracingModel), none on the first reconcile, a failed patch keeps the
 * old hash, a follower writes nothing, streamed pod lists, and a pod list failure. */
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
#include "controller/list_stream.h"
#include "controller/reconcile.h"
#include "controller/rollout.h"
#include "controller/status.h"
#include "controller/store.h"
#include "fake_transport.h"
#include "kube/client.h"
#include "model/instrumentation.h"
#include "model/model.h"
#include "testutil.h"

#define FX "tests/fixtures/controller/rollout/"
#define P_PODS "/api/v1/namespaces/apps/pods?fieldSelector=status.phase%21%3DSucceeded" \
               "%2Cstatus.phase%21%3DFailed&limit=500"
#define P_DEPS "/apis/apps/v1/namespaces/apps/deployments?limit=500"
#define P_STS "/apis/apps/v1/namespaces/apps/statefulsets?limit=500"
#define P_DS "/apis/apps/v1/namespaces/apps/daemonsets?limit=500"
#define P_DEP(n) "/apis/apps/v1/namespaces/apps/deployments/" n
#define P_ONE_STS(n) "/apis/apps/v1/namespaces/apps/statefulsets/" n
#define P_ONE_DS(n) "/apis/apps/v1/namespaces/apps/daemonsets/" n
#define P_STATUS "/apis/tracemodel.dev/v1alpha1/namespaces/apps/instrumentations/inst/status"
#define P_EVENTS "/apis/events.k8s.io/v1/namespaces/apps/events"
#define MERGE "application/merge-patch+json"
#define NOW_WALL 1704070800000   /* 2024-01-01T01:00:00Z */
#define EMPTY_PODS "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[]}"

struct fx {
    struct fake_transport *f;
    struct kube_client *c;
    struct ctrl_caches caches;
    struct op_fake_clock clock;
    struct events *events;
    struct rollout_memory *mem;
    struct reconcile_env env;
    atomic_int leading;
};

static int setup(void **state) {
    struct fx *x = xcalloc(1, sizeof(*x));
    x->f = fake_transport_new();
    struct kube_config cfg;
    kube_config_init(&cfg);
    x->c = kube_client_new_with_transport(&cfg, fake_transport_base(x->f), NULL);
    kube_config_free(&cfg);
    x->caches.models = store_new();
    x->caches.instrumentations = store_new();
    x->caches.namespaces = store_new();
    x->caches.children = children_new();
    op_fake_clock_init(&x->clock, 1000, NOW_WALL);
    x->events = events_new("test-replica", &x->clock.clock);
    x->mem = rollout_memory_new();
    atomic_init(&x->leading, 1);
    x->env = (struct reconcile_env){.client = x->c, .caches = &x->caches,
                                    .clock = &x->clock.clock, .events = x->events,
                                    .leading = &x->leading, .rollout = x->mem};
    *state = x;
    return 0;
}

static int teardown(void **state) {
    struct fx *x = *state;
    kube_client_free(x->c);
    fake_transport_free(x->f);
    store_free(x->caches.models);
    store_free(x->caches.instrumentations);
    store_free(x->caches.namespaces);
    children_free(x->caches.children);
    events_free(x->events);
    rollout_memory_free(x->mem);
    free(x);
    return 0;
}

/* ---- helpers ---- */

static json_t *request_body(struct fx *x, size_t i) {
    const struct fake_request *r = fake_request_at(x->f, i);
    assert_non_null(r);
    assert_non_null(r->body);
    json_t *b = json_loads(r->body, 0, NULL);
    assert_non_null(b);
    return b;
}

/* The index of the last request to path, or fails. */
static size_t last_request(struct fx *x, const char *method, const char *path) {
    for (size_t i = fake_request_count(x->f); i-- > 0;) {
        const struct fake_request *r = fake_request_at(x->f, i);
        if (!strcmp(r->method, method) && !strcmp(r->path, path))
            return i;
    }
    fail_msg("no %s %s", method, path);
    return 0;
}

static size_t count_requests(struct fx *x, const char *method, const char *prefix) {
    size_t n = 0;
    for (size_t i = 0; i < fake_request_count(x->f); i++) {
        const struct fake_request *r = fake_request_at(x->f, i);
        n += !strcmp(r->method, method) && !strncmp(r->path, prefix, strlen(prefix));
    }
    return n;
}

static const json_t *cond(const json_t *status, const char *type) {
    const json_t *c = status_find_condition(status, type);
    assert_non_null(c);
    return c;
}

static const char *cstr(const json_t *c, const char *k) {
    return json_string_value(json_object_get(c, k));
}

/* The fixture Instrumentation (restartUninstrumented as given), with a status. */
static json_t *put_inst(struct fx *x, int restart, const json_t *status) {
    json_t *i = tu_load(FX "instrumentation.json");
    json_object_set_new(json_object_get(i, "spec"), "restartUninstrumented",
                        json_boolean(restart));
    if (status)
        json_object_set(i, "status", (json_t *)status);
    store_put(x->caches.instrumentations, json_incref(i), NULL);
    return i;
}

/* The status the last status patch sent, adopted by the cached Instrumentation as an
 * informer would (slimmed). Returns it (new ref). */
static json_t *adopt_status(struct fx *x, json_t *inst) {
    json_t *b = request_body(x, last_request(x, "PATCH", P_STATUS));
    json_t *st = json_incref(json_object_get(b, "status"));
    json_decref(b);
    json_t *copy = json_deep_copy(inst);
    json_object_set(copy, "status", st);
    status_slim(copy);
    store_put(x->caches.instrumentations, copy, NULL);
    return st;
}

static void expected_hash(const json_t *model, char out[65]) {
    json_t *i = tu_load(FX "instrumentation.json");
    json_t *di = tinst_default(i);
    json_t *dm = model ? tm_default(model) : NULL;
    rollout_fingerprint(di, dm, out);
    json_decref(i);
    json_decref(di);
    json_decref(dm);
}

static void put_namespace(struct fx *x, const char *inject_java) {
    json_t *ns = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", "apps", "annotations",
                           "tracemodel.dev/inject-java", inject_java);
    store_put(x->caches.namespaces, ns, NULL);
}

static char *pods_text(void) { return tu_read_file(FX "pods.json", NULL); }

/* ---- tests ---- */

static void first_check_counts_warns_once_and_rolls_nothing(void **state) {
    struct fx *x = *state;
    json_t *model = tu_load(FX "model.json");
    store_put(x->caches.models, json_incref(model), NULL);
    put_namespace(x, "true");
    json_t *inst = put_inst(x, 0, NULL);
    char *pods = pods_text();
    /* first reconcile: no previous hash, so no workload is listed even with rolloutOnChange */
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, pods);
    struct fake_exchange *ev = fake_expect(x->f, "POST", P_EVENTS);
    fake_expect_body_contains(ev, "application/json", "\"reason\":\"UninstrumentedPods\"");
    fake_respond(ev, 201, "{}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    assert_int_equal(x->env.requeue_after_ms, ROLLOUT_RECHECK_MS);
    fake_transport_assert_done(x->f);
    json_t *evb = request_body(x, 1);
    assert_string_equal(cstr(evb, "type"), "Warning");
    assert_non_null(strstr(cstr(evb, "note"), "6 pods asked for Instrumentation apps/inst"));
    json_decref(evb);
    char hash[65];
    expected_hash(model, hash);
    json_t *st = adopt_status(x, inst);
    assert_string_equal(json_string_value(json_object_get(st, "injectionHash")), hash);
    assert_int_equal(json_integer_value(json_object_get(st, "uninstrumentedPods")), 6);
    const json_t *u = cond(st, "Uninstrumented");
    assert_string_equal(cstr(u, "status"), "True");
    assert_string_equal(cstr(u, "reason"), "PodsWithoutInjection");
    assert_non_null(strstr(cstr(u, "message"), "agent-x1, api-0, bare"));
    assert_string_equal(cstr(cond(st, "Ready"), "status"), "True");
    json_decref(st);
    /* a minute later, the same pods: no Event again, no status write */
    op_fake_clock_advance(&x->clock, 60000);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, pods);
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 4);
    /* they are replaced by injected pods: the count and the condition go back */
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    st = adopt_status(x, inst);
    assert_int_equal(json_integer_value(json_object_get(st, "uninstrumentedPods")), 0);
    assert_string_equal(cstr(cond(st, "Uninstrumented"), "status"), "False");
    json_decref(st);
    free(pods);
    json_decref(inst);
    json_decref(model);
}

static void uninstrumented_owners_are_restarted_once(void **state) {
    struct fx *x = *state;
    json_t *model = tu_load(FX "model.json");
    store_put(x->caches.models, json_incref(model), NULL);
    put_namespace(x, "true");
    json_t *inst = put_inst(x, 1, NULL);
    char *pods = pods_text();
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, pods);
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");   /* UninstrumentedPods */
    /* web-7d9f8b6c5d -> Deployment web: read, then rolled */
    fake_respond(fake_expect(x->f, "GET", P_DEP("web")), 200,
                 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"template\":{\"metadata\":{}}}}");
    struct fake_exchange *p = fake_expect(x->f, "PATCH", P_DEP("web"));
    fake_expect_body(p, MERGE, "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                               "{\"tracemodel.dev/restartedAt\":\"2024-01-01T01:00:00Z\"}}}}}");
    fake_respond(p, 200, "{}");
    /* StatefulSet api: restarted after its pod was created (00:01): its rollout is pending */
    fake_respond(fake_expect(x->f, "GET", P_ONE_STS("api")), 200,
                 "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                 "{\"tracemodel.dev/restartedAt\":\"2024-01-01T00:30:00Z\"}}}}}");
    /* DaemonSet agent: gone */
    fake_respond(fake_expect(x->f, "GET", P_ONE_DS("agent")), 404,
                 "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}");
    struct fake_exchange *ev = fake_expect(x->f, "POST", P_EVENTS);
    fake_expect_body_contains(ev, "application/json", "\"reason\":\"RestartedUninstrumented\"");
    fake_respond(ev, 201, "{}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *evb = request_body(x, last_request(x, "POST", P_EVENTS));
    assert_string_equal(cstr(evb, "type"), "Normal");
    const char *note = cstr(evb, "note");
    assert_non_null(strstr(note, "restarted 1 workload whose pods came up without "
                                 "instrumentation: Deployment web"));
    assert_non_null(strstr(note, "not restarted"));   /* the bare pod and the Job's */
    json_decref(evb);
    json_decref(adopt_status(x, inst));
    /* a minute later the old pods are still there: Deployment web is not read or rolled
     * again (remembered), the others are read again and left alone */
    op_fake_clock_advance(&x->clock, 60000);
    size_t before = fake_request_count(x->f);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, pods);
    fake_respond(fake_expect(x->f, "GET", P_ONE_STS("api")), 200,
                 "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                 "{\"tracemodel.dev/restartedAt\":\"2024-01-01T00:30:00Z\"}}}}}");
    fake_respond(fake_expect(x->f, "GET", P_ONE_DS("agent")), 404, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), before + 3);
    free(pods);
    json_decref(inst);
    json_decref(model);
}

static char *deployments_at(const char *hash) {
    char *t = tu_read_file(FX "deployments.json", NULL);
    char *at = strstr(t, "@HASH@");
    assert_non_null(at);
    char *out = xasprintf("%.*s%s%s", (int)(at - t), t, hash, at + 6);
    free(t);
    return out;
}

static void expect_rollout(struct fx *x, const char *hash) {
    char *deps = deployments_at(hash);
    char *sts = tu_read_file(FX "statefulsets.json", NULL);
    char *ds = tu_read_file(FX "daemonsets.json", NULL);
    char *body = xasprintf("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                           "{\"tracemodel.dev/injection-hash\":\"%s\"}}}}}", hash);
    fake_respond(fake_expect(x->f, "GET", P_DEPS), 200, deps);
    struct fake_exchange *p = fake_expect(x->f, "PATCH", P_DEP("web"));
    fake_expect_body(p, MERGE, body);
    fake_respond(p, 200, "{}");
    fake_respond(fake_expect(x->f, "GET", P_STS), 200, sts);
    p = fake_expect(x->f, "PATCH", P_ONE_STS("api"));
    fake_expect_body(p, MERGE, body);
    fake_respond(p, 200, "{}");
    fake_respond(fake_expect(x->f, "GET", P_DS), 200, ds);
    struct fake_exchange *ev = fake_expect(x->f, "POST", P_EVENTS);
    fake_expect_body_contains(ev, "application/json", "\"reason\":\"RolloutTriggered\"");
    fake_respond(ev, 201, "{}");
    free(deps);
    free(sts);
    free(ds);
    free(body);
}

static void change_rolls_opted_in_workloads(void **state) {
    struct fx *x = *state;
    json_t *model = tu_load(FX "model.json");
    store_put(x->caches.models, json_incref(model), NULL);
    json_t *old = json_pack("{s:s,s:i}", "injectionHash", "0ld", "uninstrumentedPods", 0);
    json_t *inst = put_inst(x, 0, old);
    json_decref(old);
    char hash[65];
    expected_hash(model, hash);
    /* web (opted in, no hash) and api (old hash) roll; current (at the hash), plain (not
     * opted in: the namespace is not annotated) and elsewhere (another Instrumentation) not */
    expect_rollout(x, hash);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *evb = request_body(x, last_request(x, "POST", P_EVENTS));
    assert_non_null(strstr(cstr(evb, "note"), "rolled 2 workloads (Deployment web, "
                                              "StatefulSet api)"));
    json_decref(evb);
    json_t *st = adopt_status(x, inst);
    assert_string_equal(json_string_value(json_object_get(st, "injectionHash")), hash);
    json_decref(st);
    /* nothing changed: pods only */
    size_t before = fake_request_count(x->f);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), before + 1);
    /* the TracingModel's sampling rate changes: what the Instrumentation injects changed */
    json_object_set_new(json_object_get(json_object_get(model, "spec"), "sampling"), "rate",
                        json_real(0.1));
    store_put(x->caches.models, json_incref(model), NULL);
    char hash2[65];
    expected_hash(model, hash2);
    assert_string_not_equal(hash, hash2);
    expect_rollout(x, hash2);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    st = adopt_status(x, inst);
    assert_string_equal(json_string_value(json_object_get(st, "injectionHash")), hash2);
    json_decref(st);
    json_decref(inst);
    json_decref(model);
}

static void without_rollout_on_change_only_the_hash_moves(void **state) {
    struct fx *x = *state;
    json_t *old = json_pack("{s:s,s:i}", "injectionHash", "0ld", "uninstrumentedPods", 0);
    json_t *inst = put_inst(x, 0, old);
    json_object_set_new(json_object_get(inst, "spec"), "rolloutOnChange", json_false());
    store_put(x->caches.instrumentations, json_incref(inst), NULL);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    assert_int_equal(count_requests(x, "GET", "/apis/apps/"), 0);
    json_t *st = adopt_status(x, inst);
    assert_string_not_equal(json_string_value(json_object_get(st, "injectionHash")), "0ld");
    json_decref(st);
    json_decref(old);
    json_decref(inst);
}

static void failed_rollout_keeps_the_old_hash(void **state) {
    struct fx *x = *state;
    json_t *model = tu_load(FX "model.json");
    store_put(x->caches.models, json_incref(model), NULL);
    json_t *old = json_pack("{s:s,s:i}", "injectionHash", "0ld", "uninstrumentedPods", 0);
    json_t *inst = put_inst(x, 0, old);
    char hash[65];
    expected_hash(model, hash);
    char *deps = deployments_at(hash);
    fake_respond(fake_expect(x->f, "GET", P_DEPS), 200, deps);
    fake_respond(fake_expect(x->f, "PATCH", P_DEP("web")), 500,
                 "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd is sad\"}");
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, EMPTY_PODS);
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_true(reconcile_instrumentation(&x->env, "apps/inst") < 0);
    fake_transport_assert_done(x->f);
    json_t *b = request_body(x, last_request(x, "PATCH", P_STATUS));
    json_t *st = json_object_get(b, "status");
    /* the retry compares against the old hash again and rolls what is left */
    assert_true(json_object_get(st, "injectionHash") == NULL ||
                !strcmp(json_string_value(json_object_get(st, "injectionHash")), "0ld"));
    json_decref(b);
    free(deps);
    json_decref(old);
    json_decref(inst);
    json_decref(model);
}

static void follower_reads_but_writes_nothing(void **state) {
    struct fx *x = *state;
    json_t *model = tu_load(FX "model.json");
    store_put(x->caches.models, json_incref(model), NULL);
    json_t *old = json_pack("{s:s,s:i}", "injectionHash", "0ld", "uninstrumentedPods", 0);
    json_t *inst = put_inst(x, 1, old);
    char hash[65];
    expected_hash(model, hash);
    char *deps = deployments_at(hash);
    /* it lists, finds web to roll, and stops before the first write */
    fake_respond(fake_expect(x->f, "GET", P_DEPS), 200, deps);
    atomic_store(&x->leading, 0);
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_STOPPED);
    fake_transport_assert_done(x->f);
    free(deps);
    json_decref(old);
    json_decref(inst);
    json_decref(model);
}

static void streamed_pod_list_counts_the_same(void **state) {
    struct fx *x = *state;
    /* a client over a list filter, as the controller's workers have */
    struct list_filter *lf = list_filter_new(fake_transport_base(x->f));
    struct kube_config cfg;
    kube_config_init(&cfg);
    struct kube_client *c = kube_client_new_with_transport(&cfg, list_filter_transport(lf),
                                                           NULL);
    kube_config_free(&cfg);
    x->env.client = c;
    x->env.lf = lf;
    put_namespace(x, "true");
    json_t *inst = put_inst(x, 0, NULL);
    char *pods = pods_text();
    fake_respond(fake_expect(x->f, "GET", P_PODS), 200, pods);
    fake_respond(fake_expect(x->f, "POST", P_EVENTS), 201, "{}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_int_equal(reconcile_instrumentation(&x->env, "apps/inst"), RECONCILE_DONE);
    fake_transport_assert_done(x->f);
    json_t *b = request_body(x, 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "status"),
                                                        "uninstrumentedPods")),
                     6);
    json_decref(b);
    x->env.client = x->c;
    kube_client_free(c);
    free(pods);
    json_decref(inst);
}

static void pod_list_failure_keeps_the_count_and_retries(void **state) {
    struct fx *x = *state;
    json_t *old = json_pack("{s:i}", "uninstrumentedPods", 2);
    json_t *inst = put_inst(x, 0, old);
    fake_respond(fake_expect(x->f, "GET", P_PODS), 403,
                 "{\"kind\":\"Status\",\"code\":403,\"reason\":\"Forbidden\"}");
    fake_respond(fake_expect(x->f, "PATCH", P_STATUS), 200, "{}");
    assert_true(reconcile_instrumentation(&x->env, "apps/inst") < 0);
    fake_transport_assert_done(x->f);
    assert_int_equal(count_requests(x, "POST", P_EVENTS), 0);
    json_t *b = request_body(x, 1);
    json_t *st = json_object_get(b, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "uninstrumentedPods")), 2);
    assert_non_null(strstr(cstr(cond(st, "Uninstrumented"), "message"), "cannot be listed"));
    json_decref(b);
    json_decref(old);
    json_decref(inst);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_check_counts_warns_once_and_rolls_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(uninstrumented_owners_are_restarted_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(change_rolls_opted_in_workloads, setup, teardown),
        cmocka_unit_test_setup_teardown(without_rollout_on_change_only_the_hash_moves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_rollout_keeps_the_old_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_reads_but_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(streamed_pod_list_counts_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(pod_list_failure_keeps_the_count_and_retries, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
