/* test_controller_informer.c - the informer over the fake transport: list then watch,
 * resume from the last resourceVersion after a dropped connection or a server
 * timeout, relist on 410 Gone (HTTP or ERROR event) with removal of what vanished,
 * prompt stop; and the leader-election thread's Lease traffic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "controller/clock.h"
#include "controller/informer.h"
#include "controller/leader.h"
#include "controller/store.h"
#include "fake_transport.h"
#include "kube/client.h"

#define SEL "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtracing-operator"
#define LIST "/api/v1/namespaces/ns/configmaps?" SEL "&limit=500"
#define WATCH(rv) "/api/v1/namespaces/ns/configmaps?watch=true&" SEL "&resourceVersion=" rv \
                  "&allowWatchBookmarks=true&timeoutSeconds=60"

struct sink {
    struct store *store;
    unsigned mark;
    int removed_on_relist;
    int restarts[3];
};

static void h_begin(void *ud) {
    struct sink *s = ud;
    s->mark = store_replace_begin(s->store);
}

static void h_upsert(void *ud, json_t *obj) {
    json_t *o = json_incref(obj);
    store_strip(o);
    store_put(((struct sink *)ud)->store, o, NULL);
}

static void h_remove(void *ud, json_t *obj) {
    char key[256];
    if (store_key_of(obj, key, sizeof(key)) == 0)
        store_remove(((struct sink *)ud)->store, key, NULL);
}

static void h_end(void *ud) {
    struct sink *s = ud;
    s->removed_on_relist += (int)store_replace_end(s->store, s->mark, "ns", NULL, NULL);
}

static void on_restart(void *ud, const char *name, enum informer_restart why) {
    (void)name;
    ((struct sink *)ud)->restarts[why]++;
}

struct fx {
    struct fake_transport *f;
    struct sink sink;
    struct informer *inf;
};

static int setup(void **state) {
    struct fx *x = xcalloc(1, sizeof(*x));
    x->f = fake_transport_new();
    x->sink.store = store_new();
    struct kube_config cfg;
    kube_config_init(&cfg);
    struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(x->f), NULL);
    kube_config_free(&cfg);
    struct informer_cfg ic = {
        .name = "configmaps",
        .ref = {.group = "", .version = "v1", .resource = "configmaps", .ns = "ns"},
        .label_selector = "app.kubernetes.io/managed-by=tracing-operator",
        .watch_timeout_s = 60,
        .handler = {h_begin, h_upsert, h_remove, h_end, &x->sink},
        .on_restart = on_restart,
        .restart_ud = &x->sink,
    };
    x->inf = informer_new(&ic, c, NULL);
    *state = x;
    return 0;
}

static int teardown(void **state) {
    struct fx *x = *state;
    informer_free(x->inf);
    fake_transport_free(x->f);
    store_free(x->sink.store);
    free(x);
    return 0;
}

static char *cm(const char *name, const char *rv, const char *value) {
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                     "\"namespace\":\"ns\",\"resourceVersion\":\"%s\",\"managedFields\":[{}]},"
                     "\"data\":{\"k\":\"%s\"}}",
                     name, rv, value);
}

static void expect_list(struct fx *x, const char *rv, const char *n1, const char *n2) {
    char *a = cm(n1, "5", "1"), *b = cm(n2, "6", "1");
    char *body = xasprintf("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":"
                           "{\"resourceVersion\":\"%s\"},\"items\":[%s,%s]}",
                           rv, a, b);
    fake_respond(fake_expect(x->f, "GET", LIST), 200, body);
    free(a);
    free(b);
    free(body);
}

static void chunk_event(struct fake_exchange *e, const char *type, char *obj /* freed */) {
    char *line = xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type, obj);
    /* split each line in two chunks: the decoder must join them */
    size_t n = strlen(line);
    fake_respond_chunk(e, line, n / 2);
    fake_respond_chunk(e, line + n / 2, n - n / 2);
    free(line);
    free(obj);
}

static const char *data_k(struct store *s, const char *key) {
    json_t *o = store_get(s, key);
    static char buf[32];
    snprintf(buf, sizeof(buf), "%s",
             o ? json_string_value(json_object_get(json_object_get(o, "data"), "k")) : "-");
    json_decref(o);
    return buf;
}

static void watch_resumes_from_last_version(void **state) {
    struct fx *x = *state;
    expect_list(x, "10", "a", "b");
    struct fake_exchange *w1 = fake_expect(x->f, "GET", WATCH("10"));
    fake_respond_status(w1, 200);
    chunk_event(w1, "MODIFIED", cm("a", "11", "2"));
    chunk_event(w1, "ADDED", cm("c", "12", "1"));
    chunk_event(w1, "DELETED", cm("b", "13", "1"));
    chunk_event(w1, "BOOKMARK",
                xstrdup("{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":"
                        "{\"resourceVersion\":\"15\"}}"));
    /* the connection drops: resume from 15, not from the list */
    fake_respond_error(fake_expect(x->f, "GET", WATCH("15")), OP_ETRANSPORT, "connection reset");
    struct fake_exchange *w3 = fake_expect(x->f, "GET", WATCH("15"));
    chunk_event(w3, "MODIFIED", cm("c", "16", "3"));

    assert_false(informer_synced(x->inf));
    assert_int_equal(informer_step(x->inf), 0);   /* list */
    assert_true(informer_synced(x->inf));
    assert_int_equal(store_len(x->sink.store), 2);
    json_t *a = store_get(x->sink.store, "ns/a");
    assert_null(json_object_get(json_object_get(a, "metadata"), "managedFields"));
    json_decref(a);

    assert_int_equal(informer_step(x->inf), 0);   /* watch until the server ends it */
    assert_string_equal(data_k(x->sink.store, "ns/a"), "2");
    assert_string_equal(data_k(x->sink.store, "ns/c"), "1");
    assert_null(store_get(x->sink.store, "ns/b"));
    char *rv = informer_resource_version(x->inf);
    assert_string_equal(rv, "15");
    free(rv);
    assert_int_equal(x->sink.restarts[INFORMER_RESTART_END], 1);

    assert_int_equal(informer_step(x->inf), OP_ETRANSPORT);
    assert_int_equal(x->sink.restarts[INFORMER_RESTART_ERROR], 1);
    assert_int_equal(informer_step(x->inf), 0);
    assert_string_equal(data_k(x->sink.store, "ns/c"), "3");
    rv = informer_resource_version(x->inf);
    assert_string_equal(rv, "16");
    free(rv);
    fake_transport_assert_done(x->f);
}

static void gone_means_relist(void **state) {
    struct fx *x = *state;
    expect_list(x, "10", "a", "b");
    fake_respond(fake_expect(x->f, "GET", WATCH("10")), 410,
                 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":"
                 "\"Expired\",\"code\":410,\"message\":\"too old resource version: 10 (50)\"}");
    expect_list(x, "60", "a", "d");   /* b was deleted while we were away */
    /* the same as an ERROR event inside the stream */
    struct fake_exchange *w = fake_expect(x->f, "GET", WATCH("60"));
    chunk_event(w, "ERROR",
                xstrdup("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        "\"reason\":\"Expired\",\"code\":410,\"message\":\"too old\"}"));
    expect_list(x, "70", "a", "d");

    assert_int_equal(informer_step(x->inf), 0);
    assert_int_equal(informer_step(x->inf), OP_EGONE);
    assert_int_equal(x->sink.restarts[INFORMER_RESTART_GONE], 1);
    assert_int_equal(informer_step(x->inf), 0);   /* relist */
    assert_int_equal(x->sink.removed_on_relist, 1);
    assert_null(store_get(x->sink.store, "ns/b"));
    json_t *d = store_get(x->sink.store, "ns/d");
    assert_non_null(d);
    json_decref(d);
    assert_int_equal(informer_step(x->inf), OP_EGONE);
    assert_int_equal(informer_step(x->inf), 0);
    assert_int_equal(x->sink.restarts[INFORMER_RESTART_GONE], 2);
    char *rv = informer_resource_version(x->inf);
    assert_string_equal(rv, "70");
    free(rv);
    fake_transport_assert_done(x->f);
}

static void stop_ends_an_idle_watch_promptly(void **state) {
    struct fx *x = *state;
    expect_list(x, "10", "a", "b");
    struct fake_exchange *w = fake_expect(x->f, "GET", WATCH("10"));
    fake_respond_hold(w, 20000);
    int64_t t0 = op_now_ms(&op_clock_system);
    assert_int_equal(informer_start(x->inf), 0);
    for (int i = 0; i < 200 && fake_request_count(x->f) < 2; i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    assert_true(informer_synced(x->inf));
    informer_stop(x->inf);
    assert_true(op_now_ms(&op_clock_system) - t0 < 2000);
    fake_transport_assert_done(x->f);
}

/* ---- leader-election thread over the fake ---- */

#define LEASES "/apis/coordination.k8s.io/v1/namespaces/sys/leases"

struct calls {
    int started, stopped;
};

static void cb_started(void *ud) { ((struct calls *)ud)->started++; }
static void cb_stopped(void *ud) { ((struct calls *)ud)->stopped++; }

static char *lease_json(const char *holder, const char *rv, const char *renew) {
    return xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":"
                     "{\"name\":\"op\",\"namespace\":\"sys\",\"resourceVersion\":\"%s\"},"
                     "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":15,"
                     "\"renewTime\":\"%s\",\"acquireTime\":\"2024-01-01T00:00:00.000000Z\","
                     "\"leaseTransitions\":0}}",
                     rv, holder, renew);
}

static void leader_loop_acquires_renews_loses_and_releases(void **state) {
    (void)state;
    struct fake_transport *f = fake_transport_new();
    struct kube_config cfg;
    kube_config_init(&cfg);
    struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(f), NULL);
    kube_config_free(&cfg);
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct calls calls = {0, 0};
    struct leader_callbacks cb = {cb_started, cb_stopped, &calls};
    struct leader_loop *ll = leader_loop_new(c, "me", "sys", "op", &fc.clock, &cb);

    fake_respond(fake_expect(f, "GET", LEASES "/op"), 404,
                 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":"
                 "\"NotFound\",\"code\":404}");
    char *mine1 = lease_json("me", "1", "2024-01-01T00:00:00.000000Z");
    struct fake_exchange *create = fake_expect(f, "POST", LEASES);
    fake_expect_body_contains(create, "application/json", "\"holderIdentity\":\"me\"");
    fake_respond(create, 201, mine1);
    assert_true(leader_loop_tick(ll));
    assert_int_equal(calls.started, 1);
    assert_true(leader_loop_is_leader(ll));

    op_fake_clock_advance(&fc, 2000);
    fake_respond(fake_expect(f, "GET", LEASES "/op"), 200, mine1);
    char *mine2 = lease_json("me", "2", "2024-01-01T00:00:02.000000Z");
    struct fake_exchange *renew = fake_expect(f, "PUT", LEASES "/op");
    fake_expect_body_contains(renew, "application/json", "\"resourceVersion\":\"1\"");
    fake_respond(renew, 200, mine2);
    assert_true(leader_loop_tick(ll));

    /* someone else holds it now (we were partitioned): stop at once */
    op_fake_clock_advance(&fc, 2000);
    char *theirs = lease_json("other", "9", "2024-01-01T00:00:30.000000Z");
    fake_respond(fake_expect(f, "GET", LEASES "/op"), 200, theirs);
    assert_false(leader_loop_tick(ll));
    assert_int_equal(calls.stopped, 1);
    assert_false(leader_loop_is_leader(ll));
    fake_transport_assert_done(f);

    /* 15 s later with no change the lease is ours again; then release on shutdown */
    fake_respond(fake_expect(f, "GET", LEASES "/op"), 200, theirs);
    assert_false(leader_loop_tick(ll));
    op_fake_clock_advance(&fc, 15000);
    fake_respond(fake_expect(f, "GET", LEASES "/op"), 200, theirs);
    char *mine3 = lease_json("me", "10", "2024-01-01T00:00:21.000000Z");
    fake_respond(fake_expect(f, "PUT", LEASES "/op"), 200, mine3);
    assert_true(leader_loop_tick(ll));
    assert_int_equal(calls.started, 2);
    struct fake_exchange *rel = fake_expect(f, "PUT", LEASES "/op");
    fake_expect_body_contains(rel, "application/json", "\"holderIdentity\":\"\"");
    fake_respond(rel, 200, "{}");
    leader_loop_stop_and_release(ll);
    assert_false(leader_loop_is_leader(ll));
    assert_int_equal(calls.stopped, 2);
    fake_transport_assert_done(f);
    leader_loop_free(ll);
    fake_transport_free(f);
    free(mine1);
    free(mine2);
    free(mine3);
    free(theirs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(watch_resumes_from_last_version, setup, teardown),
        cmocka_unit_test_setup_teardown(gone_means_relist, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_ends_an_idle_watch_promptly, setup, teardown),
        cmocka_unit_test(leader_loop_acquires_renews_loses_and_releases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
