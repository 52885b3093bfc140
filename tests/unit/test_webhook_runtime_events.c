/* test_webhook_runtime_events.c - InjectionSkipped Events from the webhook
 * runtime over the fake API server: one Event per (namespace, owner, reason) per
 * 5 minutes, none for dry runs, explicit "false" or injected pods; a real
 * AdmissionReview over HTTPS produces one; a full queue drops and counts; a
 * transient API error is retried, a refusal is not. The runtime runs in files
 * mode without ca.crt so Events are its only API calls. */
#include "test_webhook_runtime_helpers.h"

#include "base/strbuf.h"

#define EVENTS_SHOP "/apis/events.k8s.io/v1/namespaces/shop/events"

/* Starts the runtime; returns the CA of the served certificate (malloc'd). */
static char *start_quiet(struct fx *x) {
    struct certs_pair p;
    memset(&p, 0, sizeof(p));
    time_t now = time(NULL);
    assert_int_equal(certs_gen_ca("issuer", now, 86400, &p.ca_pem, &p.ca_key_pem, NULL), 0);
    const char *hosts[] = {"127.0.0.1"};
    assert_int_equal(certs_gen_serving(p.ca_pem, p.ca_key_pem, hosts, 1, now, 86400,
                                       &p.cert_pem, &p.key_pem, NULL), 0);
    write_file(x->dir, "tls.crt", p.cert_pem);
    write_file(x->dir, "tls.key", p.key_pem);
    char *ca = strdup(p.ca_pem);   /* for HTTPS clients; no ca.crt: nothing to publish */
    certs_pair_free(&p);
    x->o.cert_mode = "files";
    x->o.cert_dir = x->dir;
    x->o.nhosts = 0;
    fx_start(x);
    fx_idle(x);
    assert_int_equal(fake_request_count(x->f), 0);
    return ca;
}

static void observe(struct fx *x, enum mutate_decision d, int dry_run, const char *owner,
                    const char *reason) {
    struct admission_result r = {
        .decision = d,
        .dry_run = dry_run,
        .pod_namespace = (char *)"shop",
        .pod_name = (char *)"cart-7d9f8c6b5-",
        .owner_kind = (char *)(owner ? "ReplicaSet" : ""),
        .owner_name = (char *)(owner ? owner : ""),
        .owner_uid = (char *)"",
        .reason = (char *)reason,
    };
    webhook_runtime_observe(x->r, "/mutate-v1-pod", &r, 120);
}

static struct webhook_runtime_stats stats(struct fx *x) {
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    return s;
}

/* Two identical skips -> one Event; dry runs, "false" and injected pods -> none;
 * another reason -> its own Event; after 5 minutes the same one again. */
static void test_dedup_and_filters(void **state) {
    struct fx *x = *state;
    free(start_quiet(x));
    struct fake_exchange *e = fake_expect(x->f, "POST", EVENTS_SHOP);
    fake_expect_body_contains(e, "application/json", "\"InjectionSkipped\"");
    fake_respond(e, 201, "{}");
    observe(x, MUTATE_SKIPPED, 0, "cart-7d9f8c6b5", "inject-java: no Instrumentation");
    observe(x, MUTATE_SKIPPED, 0, "cart-7d9f8c6b5", "inject-java: no Instrumentation");
    observe(x, MUTATE_SKIPPED, 1, "cart-other", "dry run");
    observe(x, MUTATE_DISABLED, 0, "cart-7d9f8c6b5", "disabled");
    observe(x, MUTATE_INJECTED, 0, "cart-7d9f8c6b5", "");
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 1);
    json_t *ev = fx_body(x, "POST", EVENTS_SHOP, 0);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
    assert_string_equal(json_string_value(json_object_get(ev, "note")),
                        "inject-java: no Instrumentation");
    assert_string_equal(json_string_value(json_object_get(ev, "reportingInstance")), "operator-0");
    json_t *reg = json_object_get(ev, "regarding");
    assert_string_equal(json_string_value(json_object_get(reg, "kind")), "ReplicaSet");
    assert_string_equal(json_string_value(json_object_get(reg, "name")), "cart-7d9f8c6b5");
    json_decref(ev);

    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    observe(x, MUTATE_SKIPPED, 0, "cart-7d9f8c6b5", "inject-python: other reason");
    fx_wait_requests(x, 2);
    fc_advance(&x->clk, 4 * 60 * 1000);
    observe(x, MUTATE_SKIPPED, 0, "cart-7d9f8c6b5", "inject-java: no Instrumentation");
    fx_idle(x);
    assert_int_equal(fake_request_count(x->f), 2);   /* 4 minutes: still suppressed */
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    fc_advance(&x->clk, 60 * 1000);
    observe(x, MUTATE_SKIPPED, 0, "cart-7d9f8c6b5", "inject-java: no Instrumentation");
    fx_wait_requests(x, 3);
    fake_transport_assert_done(x->f);
    struct webhook_runtime_stats s = stats(x);
    assert_int_equal(s.events_sent, 3);
    assert_int_equal(s.events_suppressed, 2);
    assert_int_equal(s.events_dropped, 0);
    assert_int_equal(atomic_load(&x->admissions), 8);   /* the metrics hook sees them all */
    struct strbuf b;
    strbuf_init(&b, 0);
    webhook_runtime_metrics(x->r, &b);
    static const char *const want[] = {
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"skipped\"} 6\n",
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"disabled\"} 1\n",
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"injected\"} 1\n",
        "tracing_operator_webhook_request_duration_seconds_bucket{le=\"0.00025\"} 8\n",
        "tracing_operator_webhook_events_total{result=\"sent\"} 3\n",
        "tracing_operator_webhook_events_total{result=\"suppressed\"} 2\n",
        "tracing_operator_webhook_ready 1\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(b.buf, want[i]))
            fail_msg("metrics lack %s\n%s", want[i], b.buf);
    strbuf_free(&b);
}

static json_t *no_instrumentations(void *user, const char *ns, int *failed) {
    (void)user;
    (void)ns;
    *failed = 0;
    return json_array();
}

/* A pod admitted over HTTPS that asks for Java with no Instrumentation in its
 * namespace: allowed, marked skipped, and an Event about its ReplicaSet. */
static void test_https_admission_event(void **state) {
    struct fx *x = *state;
    x->o.lookups.list_instrumentations = no_instrumentations;
    char *ca = start_quiet(x);
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    char *review = tu_read_file("tests/fixtures/wrun/review-skip.json", NULL);
    struct buf out;
    long code = https_call(webhook_runtime_port(x->r), "/mutate-v1-pod", ca, review, &out);
    free(review);
    free(ca);
    assert_int_equal(code, 200);
    json_t *resp = json_loads(out.data, 0, NULL);
    assert_non_null(resp);
    assert_true(json_is_true(json_object_get(json_object_get(resp, "response"), "allowed")));
    json_decref(resp);
    fx_wait_requests(x, 1);
    fake_transport_assert_done(x->f);
    json_t *ev = fx_body(x, "POST", EVENTS_SHOP, 0);
    json_t *reg = json_object_get(ev, "regarding");
    assert_string_equal(json_string_value(json_object_get(reg, "kind")), "ReplicaSet");
    assert_string_equal(json_string_value(json_object_get(reg, "apiVersion")), "apps/v1");
    assert_string_equal(json_string_value(json_object_get(reg, "uid")),
                        "5d1e7c2a-0000-4000-8000-000000000001");
    assert_non_null(strstr(json_string_value(json_object_get(ev, "note")), "inject-java"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "metadata"),
                                                          "namespace")), "shop");
    json_decref(ev);
    assert_int_equal(atomic_load(&x->admissions), 1);
}

/* queue_max 2: while the sender is stuck on the first Event, two more fit and the
 * rest are dropped (counted); the stuck one, failing, cannot be put back into
 * the full queue and is dropped too. */
static void test_queue_full(void **state) {
    struct fx *x = *state;
    x->h.queue_max = 2;
    free(start_quiet(x));
    struct fake_exchange *stuck = fake_expect(x->f, "POST", EVENTS_SHOP);
    fake_respond_hold(stuck, 1500);   /* then a timeout: retryable */
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    observe(x, MUTATE_SKIPPED, 0, "a", "r");
    for (int i = 0; i < 2000 && fake_request_count(x->f) < 1; i++)
        sleep_ms(1);
    observe(x, MUTATE_SKIPPED, 0, "b", "r");
    observe(x, MUTATE_SKIPPED, 0, "c", "r");
    observe(x, MUTATE_SKIPPED, 0, "d", "r");
    observe(x, MUTATE_SKIPPED, 0, "e", "r");
    struct webhook_runtime_stats s = stats(x);
    assert_int_equal(s.events_dropped, 2);
    fx_wait_requests(x, 3);
    fake_transport_assert_done(x->f);
    s = stats(x);
    assert_int_equal(s.events_sent, 2);
    assert_int_equal(s.events_dropped, 3);
    json_t *ev = fx_body(x, "POST", EVENTS_SHOP, 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "regarding"),
                                                          "name")), "b");
    json_decref(ev);
}

/* A transport error: tried again after a backoff; a 403 is not retried. */
static void test_retry_and_refusal(void **state) {
    struct fx *x = *state;
    free(start_quiet(x));
    fake_respond_error(fake_expect(x->f, "POST", EVENTS_SHOP), OP_ETRANSPORT, "connection reset");
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 201, "{}");
    observe(x, MUTATE_SKIPPED, 0, "a", "r");
    for (int i = 0; i < 4000 && fake_request_count(x->f) < 2; i++) {
        fc_advance(&x->clk, 500);   /* the retry waits 2 s of the runtime's clock */
        sleep_ms(5);
    }
    fx_wait_requests(x, 2);
    struct webhook_runtime_stats s = stats(x);
    assert_int_equal(s.events_sent, 1);
    assert_int_equal(s.events_failed, 0);
    fake_respond(fake_expect(x->f, "POST", EVENTS_SHOP), 403,
                 "{\"kind\":\"Status\",\"code\":403,\"reason\":\"Forbidden\"}");
    observe(x, MUTATE_SKIPPED, 0, "b", "r");
    fx_wait_requests(x, 3);
    fc_advance(&x->clk, 60000);
    sleep_ms(50);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 3);
    s = stats(x);
    assert_int_equal(s.events_failed, 1);
}

/* Stopping with Events still queued frees them (ASan checks) and returns; between
 * shutdown and stop the runtime still answers probes. */
static void test_stop_with_queue(void **state) {
    struct fx *x = *state;
    free(start_quiet(x));
    struct fake_exchange *stuck = fake_expect(x->f, "POST", EVENTS_SHOP);
    fake_respond_hold(stuck, 300);
    observe(x, MUTATE_SKIPPED, 0, "a", "r");
    for (int i = 0; i < 2000 && fake_request_count(x->f) < 1; i++)
        sleep_ms(1);
    observe(x, MUTATE_SKIPPED, 0, "b", "r");
    observe(x, MUTATE_SKIPPED, 0, "c", "r");
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(webhook_runtime_shutdown(x->r), 0);
    /* after shutdown: not ready, not listening, metrics still answer */
    assert_false(webhook_runtime_ready(x->r));
    assert_int_equal(webhook_runtime_port(x->r), -1);
    struct strbuf b;
    strbuf_init(&b, 0);
    webhook_runtime_metrics(x->r, &b);
    assert_non_null(strstr(b.buf, "tracing_operator_webhook_ready 0\n"));
    assert_non_null(strstr(b.buf, "{webhook=\"pods\",result=\"skipped\"} 3\n"));
    strbuf_free(&b);
    assert_int_equal(webhook_runtime_shutdown(x->r), 0);   /* again: harmless */
    webhook_runtime_stop(x->r);
    x->r = NULL;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dedup_and_filters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_https_admission_event, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_and_refusal, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_queue, fx_setup, fx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
