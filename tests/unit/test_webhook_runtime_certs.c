/* test_webhook_runtime_certs.c - the webhook runtime's certificates over the fake
 * API server: self-signed first start (Secret created, CA published, then a real
 * HTTPS request verified against the Secret's CA), restart with a valid Secret
 * (no writes), the chart's empty Secret filled (Helm metadata kept), followers
 * that only read and wait, a follower elected leader, manage mode applying both
 * configurations with a url clientConfig, 409/422 on the caBundle patch, a
 * configuration that appears later, a caBundle removed and re-published, a pair
 * due for renewal, and the start-up errors (namespace, bind). */
#include "test_webhook_runtime_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The Secret the runtime POSTed (or PUT), read back. */
static void created_pair(struct fx *x, const char *method, const char *path,
                         struct certs_pair *p) {
    json_t *sec = fx_body(x, method, path, 0);
    assert_int_equal(certs_secret_read(sec, p, NULL), 0);
    assert_non_null(p->cert_pem);
    assert_non_null(p->key_pem);
    assert_non_null(p->ca_pem);
    assert_non_null(p->ca_key_pem);
    assert_string_equal(json_string_value(json_object_get(sec, "type")), "kubernetes.io/tls");
    json_decref(sec);
}

/* The n-th caBundle PATCH of path sets caBundle = base64(ca) on every webhook of it. */
static void assert_patch_sets_ca(struct fx *x, const char *path, size_t nth, const char *ca,
                                 size_t n_webhooks) {
    json_t *ops = fx_body(x, "PATCH", path, nth);
    char *want = b64(ca);
    size_t i, set = 0;
    json_t *op;
    json_array_foreach(ops, i, op) {
        const char *kind = json_string_value(json_object_get(op, "op"));
        const char *p = json_string_value(json_object_get(op, "path"));
        if (strcmp(kind, "add") != 0)
            continue;
        assert_non_null(strstr(p, "/clientConfig/caBundle"));
        assert_string_equal(json_string_value(json_object_get(op, "value")), want);
        set++;
    }
    assert_int_equal(set, n_webhooks);
    free(want);
    json_decref(ops);
}

/* Self-signed, leader, nothing in the cluster yet. */
static void test_first_start(void **state) {
    struct fx *x = *state;
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404,
                 "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}");
    expect_configs_patched(x->f);   /* trust first ... */
    struct fake_exchange *post = fake_expect(x->f, "POST", SECRETS_PATH);   /* ... then store */
    fake_expect_body_contains(post, "application/json", "\"kubernetes.io/tls\"");
    fake_respond(post, 201, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_true(webhook_runtime_ready(x->r));

    struct certs_pair p;
    created_pair(x, "POST", SECRETS_PATH, &p);
    assert_patch_sets_ca(x, MWC_PATH, 0, p.ca_pem, 1);
    assert_patch_sets_ca(x, VWC_PATH, 0, p.ca_pem, 2);
    /* the served certificate chains to the Secret's CA and names 127.0.0.1 */
    assert_int_equal(healthz(x, p.ca_pem), 200);
    struct certs_pair other;
    make_pair(&other, 86400);
    assert_true(healthz(x, other.ca_pem) < 0);   /* the client really verifies */
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    assert_int_equal(s.cert_rounds, 1);
    assert_int_equal(s.cert_errors, 0);
    assert_int_equal(s.cert_changes, 1);
    assert_true(s.ready);
    certs_pair_free(&p);
    certs_pair_free(&other);
}

/* A restart with a valid Secret and trusting configurations: GETs only. */
static void test_restart_no_writes(void **state) {
    struct fx *x = *state;
    struct certs_pair p;
    make_pair(&p, CERTS_CERT_VALIDITY_S);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&p, "7"));
    expect_configs_trusting(x->f, p.ca_pem);
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 3);
    assert_int_equal(fx_count(x, "GET"), 3);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(healthz(x, p.ca_pem), 200);
    certs_pair_free(&p);
}

/* The chart ships an empty kubernetes.io/tls Secret: it is filled with a PUT that
 * keeps Helm's labels and annotations and is conditional on its resourceVersion. */
static void test_chart_secret_filled(void **state) {
    struct fx *x = *state;
    char *chart = tu_read_file("tests/fixtures/wrun/chart-secret.json", NULL);
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 200, chart);
    free(chart);
    expect_configs_patched(x->f);
    fake_respond(fake_expect(x->f, "PUT", SECRET_PATH), 200, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_int_equal(fx_count(x, "POST"), 0);
    json_t *put = fx_body(x, "PUT", SECRET_PATH, 0);
    json_t *md = json_object_get(put, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), "42");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(md, "labels"), "app.kubernetes.io/managed-by")),
                        "Helm");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(md, "annotations"), "meta.helm.sh/release-name")),
                        "tracing");
    json_decref(put);
    struct certs_pair p;
    created_pair(x, "PUT", SECRET_PATH, &p);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(healthz(x, p.ca_pem), 200);
    certs_pair_free(&p);
}

/* A follower never writes: no Secret yet -> retries with backoff; the port is
 * bound meanwhile with a certificate nobody trusts. Once elected it does the
 * leader's work at once. */
static void test_follower_waits_then_leads(void **state) {
    struct fx *x = *state;
    atomic_store(&x->leader, 0);
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404, "{}");
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404, "{}");
    fx_start(x);
    fx_wait_requests(x, 1);
    assert_false(webhook_runtime_ready(x->r));
    assert_true(webhook_runtime_port(x->r) > 0);
    fc_advance(&x->clk, 999);   /* backoff 1 s: not yet */
    sleep_ms(50);
    assert_int_equal(fake_request_count(x->f), 1);
    fc_advance(&x->clk, 1);
    fx_wait_requests(x, 2);
    assert_int_equal(fx_count(x, "GET"), 2);   /* no configuration read, no write */
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    assert_int_equal(s.cert_errors, 2);
    assert_false(s.ready);

    /* elected: GET 404 -> publish -> create, without waiting for the 2 s backoff */
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404, "{}");
    expect_configs_patched(x->f);
    fake_respond(fake_expect(x->f, "POST", SECRETS_PATH), 201, "{}");
    atomic_store(&x->leader, 1);
    fx_wait_requests(x, 8);
    fake_transport_assert_done(x->f);
    assert_true(webhook_runtime_ready(x->r));
    struct certs_pair p;
    created_pair(x, "POST", SECRETS_PATH, &p);
    assert_int_equal(healthz(x, p.ca_pem), 200);
    certs_pair_free(&p);
}

/* A follower serves the leader's Secret and never touches the configurations. */
static void test_follower_uses_secret(void **state) {
    struct fx *x = *state;
    atomic_store(&x->leader, 0);
    struct certs_pair p;
    make_pair(&p, CERTS_CERT_VALIDITY_S);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&p, "7"));
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_int_equal(fake_request_count(x->f), 1);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(healthz(x, p.ca_pem), 200);
    certs_pair_free(&p);
}

/* --webhook-config manage with --webhook-url: both configurations are applied
 * (server-side apply) with a url clientConfig and the new CA, before the Secret. */
static void test_manage_applies_configs(void **state) {
    struct fx *x = *state;
    x->o.webhook_config = "manage";
    x->o.webhook_url = "https://127.0.0.1:9443";
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404, "{}");
    struct fake_exchange *m = fake_expect(x->f, "PATCH", MWC_PATH APPLY_QUERY);
    fake_expect_body_contains(m, CT_APPLY, "https://127.0.0.1:9443/mutate-v1-pod");
    fake_respond(m, 200, "{}");
    struct fake_exchange *v = fake_expect(x->f, "PATCH", VWC_PATH APPLY_QUERY);
    fake_expect_body_contains(v, CT_APPLY, "https://127.0.0.1:9443/validate-tracingmodel");
    fake_respond(v, 200, "{}");
    fake_respond(fake_expect(x->f, "POST", SECRETS_PATH), 201, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    struct certs_pair p;
    created_pair(x, "POST", SECRETS_PATH, &p);
    char *want = b64(p.ca_pem);
    const char *paths[] = {MWC_PATH, VWC_PATH};
    const char *kinds[] = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"};
    for (int i = 0; i < 2; i++) {
        json_t *cfg = fx_body(x, "PATCH", paths[i], 0);
        assert_string_equal(json_string_value(json_object_get(cfg, "kind")), kinds[i]);
        size_t k;
        json_t *h;
        json_array_foreach(json_object_get(cfg, "webhooks"), k, h) {
            json_t *cc = json_object_get(h, "clientConfig");
            assert_null(json_object_get(cc, "service"));
            assert_non_null(strstr(json_string_value(json_object_get(cc, "url")),
                                   "https://127.0.0.1:9443/"));
            assert_string_equal(json_string_value(json_object_get(cc, "caBundle")), want);
        }
        json_decref(cfg);
    }
    free(want);
    assert_true(webhook_runtime_ready(x->r));
    certs_pair_free(&p);
}

/* The caBundle patch raced with another writer (409, or 422 from a failed "test"
 * op): read again and patch once more. */
static void test_patch_retries_after_conflict(void **state) {
    struct fx *x = *state;
    struct certs_pair p;
    make_pair(&p, CERTS_CERT_VALIDITY_S);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&p, "7"));
    expect_text(x->f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", NULL));
    fake_respond(fake_expect(x->f, "PATCH", MWC_PATH), 409,
                 "{\"kind\":\"Status\",\"code\":409,\"reason\":\"Conflict\"}");
    expect_text(x->f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", NULL));
    fake_respond(fake_expect(x->f, "PATCH", MWC_PATH), 200, "{}");
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", NULL));
    fake_respond(fake_expect(x->f, "PATCH", VWC_PATH), 422,
                 "{\"kind\":\"Status\",\"code\":422,\"reason\":\"Invalid\"}");
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", NULL));
    fake_respond(fake_expect(x->f, "PATCH", VWC_PATH), 200, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_patch_sets_ca(x, MWC_PATH, 1, p.ca_pem, 1);
    assert_patch_sets_ca(x, VWC_PATH, 1, p.ca_pem, 2);
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    assert_int_equal(s.cert_errors, 0);
    assert_true(webhook_runtime_ready(x->r));
    certs_pair_free(&p);
}

/* A second failure is an error of the round (retried later); the pair from the
 * Secret is served all the same. */
static void test_patch_fails_twice(void **state) {
    struct fx *x = *state;
    struct certs_pair p;
    make_pair(&p, CERTS_CERT_VALIDITY_S);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&p, "7"));
    for (int i = 0; i < 2; i++) {
        expect_text(x->f, "GET", MWC_PATH, 200,
                    config_text("tests/fixtures/wrun/mwc.json", NULL));
        fake_respond(fake_expect(x->f, "PATCH", MWC_PATH), 409, "{}");
    }
    /* the other one is still looked at */
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", p.ca_pem));
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    assert_int_equal(s.cert_errors, 1);
    assert_true(s.ready);
    certs_pair_free(&p);
}

/* The configurations do not exist yet (helm still installing): the Secret is made
 * and served; the CA is published once they appear, at the next retry. */
static void test_config_appears_later(void **state) {
    struct fx *x = *state;
    fake_respond(fake_expect(x->f, "GET", SECRET_PATH), 404, "{}");
    fake_respond(fake_expect(x->f, "GET", MWC_PATH), 404, "{}");
    fake_respond(fake_expect(x->f, "GET", VWC_PATH), 404, "{}");
    fake_respond(fake_expect(x->f, "POST", SECRETS_PATH), 201, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_true(webhook_runtime_ready(x->r));
    struct certs_pair p;
    created_pair(x, "POST", SECRETS_PATH, &p);
    /* the retry reads the Secret it wrote and finds the configurations */
    json_t *sec = fx_body(x, "POST", SECRETS_PATH, 0);
    json_object_set_new(json_object_get(sec, "metadata"), "resourceVersion", json_string("9"));
    char *text = json_dumps(sec, 0);
    json_decref(sec);
    expect_text(x->f, "GET", SECRET_PATH, 200, text);
    expect_configs_patched(x->f);
    fc_advance(&x->clk, 1000);
    fx_wait_requests(x, 9);
    fake_transport_assert_done(x->f);
    assert_patch_sets_ca(x, MWC_PATH, 0, p.ca_pem, 1);
    assert_patch_sets_ca(x, VWC_PATH, 0, p.ca_pem, 2);
    assert_int_equal(fx_count(x, "PUT") + fx_count(x, "POST"), 1);   /* the Secret is kept */
    certs_pair_free(&p);
}

/* The leader looks at the configurations every minute: a caBundle dropped by a
 * helm upgrade comes back; otherwise only GETs. */
static void test_cabundle_republished(void **state) {
    struct fx *x = *state;
    struct certs_pair p;
    make_pair(&p, CERTS_CERT_VALIDITY_S);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&p, "7"));
    expect_configs_trusting(x->f, p.ca_pem);
    fx_start(x);
    fx_idle(x);
    expect_configs_trusting(x->f, p.ca_pem);
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 5);
    assert_int_equal(fx_count(x, "GET"), 5);
    expect_text(x->f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", NULL));
    fake_respond(fake_expect(x->f, "PATCH", MWC_PATH), 200, "{}");
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", p.ca_pem));
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 8);
    fake_transport_assert_done(x->f);
    assert_patch_sets_ca(x, MWC_PATH, 0, p.ca_pem, 1);
    certs_pair_free(&p);
}

/* A serving certificate due for renewal: the leader issues a new one from the same
 * CA, stores it and serves it without a restart. */
static void test_renewal_served(void **state) {
    struct fx *x = *state;
    struct certs_pair old;
    make_pair(&old, 10 * 86400);   /* less than 30 days left */
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&old, "7"));
    expect_configs_trusting(x->f, old.ca_pem);   /* same CA: nothing to patch */
    fake_respond(fake_expect(x->f, "PUT", SECRET_PATH), 200, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    struct certs_pair p;
    created_pair(x, "PUT", SECRET_PATH, &p);
    assert_string_not_equal(p.cert_pem, old.cert_pem);
    assert_string_equal(p.ca_key_pem, old.ca_key_pem);
    time_t na = 0;
    assert_int_equal(certs_not_after(p.cert_pem, &na, NULL), 0);
    assert_true(na > time(NULL) + 300 * 86400);
    assert_int_equal(healthz(x, old.ca_pem), 200);
    certs_pair_free(&p);
    certs_pair_free(&old);
}

/* A follower serving a pair that is due for renewal looks again every minute
 * (not every hour) and switches to the leader's new pair. */
static void test_follower_picks_up_renewal(void **state) {
    struct fx *x = *state;
    atomic_store(&x->leader, 0);
    struct certs_pair old, fresh;
    make_pair(&old, 10 * 86400);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&old, "7"));
    fx_start(x);
    fx_idle(x);
    assert_true(webhook_runtime_ready(x->r));   /* still valid: served meanwhile */
    fresh = old;
    fresh.cert_pem = fresh.key_pem = NULL;
    const char *extra[] = {"127.0.0.1"};
    size_t n = 0;
    char **hosts = certs_service_hosts(CERTS_DEFAULT_SERVICE, NS, extra, 1, &n);
    assert_int_equal(certs_gen_serving(old.ca_pem, old.ca_key_pem, (const char *const *)hosts, n,
                                       time(NULL), CERTS_CERT_VALIDITY_S, &fresh.cert_pem,
                                       &fresh.key_pem, NULL), 0);
    certs_hosts_free(hosts);
    expect_text(x->f, "GET", SECRET_PATH, 200, secret_text(&fresh, "8"));
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 2);
    fake_transport_assert_done(x->f);
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(x->r, &s);
    assert_int_equal(s.cert_changes, 2);
    assert_int_equal(s.cert_errors, 0);
    free(fresh.cert_pem);
    free(fresh.key_pem);
    certs_pair_free(&old);
}

/* Start-up errors: no namespace for self-signed; an address in use. The
 * namespace may come from $POD_NAMESPACE. */
static void test_start_errors(void **state) {
    struct fx *x = *state;
    struct op_status st = {0};
    x->o.operator_namespace = NULL;
    assert_null(webhook_runtime_start_with(&x->o, &x->h, &st));
    assert_non_null(strstr(st.msg, "--operator-namespace"));

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));
    x->h.pod_namespace = NS;
    x->o.bind_address = addr;
    memset(&st, 0, sizeof(st));
    assert_null(webhook_runtime_start_with(&x->o, &x->h, &st));
    assert_true(st.msg[0] != '\0');
    close(fd);
    x->o.cert_mode = "files";   /* files without --cert-dir */
    memset(&st, 0, sizeof(st));
    assert_null(webhook_runtime_start_with(&x->o, &x->h, &st));
    assert_non_null(strstr(st.msg, "--cert-dir"));
    assert_int_equal(fake_request_count(x->f), 0);
}

/* --webhook-bind-address 0: an inert runtime. */
static void test_disabled(void **state) {
    struct fx *x = *state;
    x->o.bind_address = "0";
    fx_start(x);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(webhook_runtime_port(x->r), -1);
    assert_int_equal(fake_request_count(x->f), 0);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_no_writes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_chart_secret_filled, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_follower_waits_then_leads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_follower_uses_secret, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_manage_applies_configs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_patch_retries_after_conflict, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_patch_fails_twice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_appears_later, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cabundle_republished, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_renewal_served, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_follower_picks_up_renewal, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_disabled, fx_setup, fx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
