/* test_webhook_runtime_files.c - the webhook runtime with --cert-mode files over the
 * fake API server: no ca.crt means no API call at all; with ca.crt the caBundle is
 * patched only where it is empty or does not verify the served certificate (so
 * cert-manager's injection is left alone); followers never write; manage applies
 * the configurations with ca.crt; files that appear after start are served. */
#include "test_webhook_runtime_helpers.h"

/* A CA and a pair for 127.0.0.1 in x->dir (ca.crt only when with_ca). */
static void write_certs(struct fx *x, struct certs_pair *p, int with_ca) {
    memset(p, 0, sizeof(*p));
    time_t now = time(NULL);
    assert_int_equal(certs_gen_ca("issuer", now, 86400 * 30, &p->ca_pem, &p->ca_key_pem, NULL),
                     0);
    const char *hosts[] = {"localhost", "127.0.0.1"};
    assert_int_equal(certs_gen_serving(p->ca_pem, p->ca_key_pem, hosts, 2, now, 86400 * 20,
                                       &p->cert_pem, &p->key_pem, NULL), 0);
    write_file(x->dir, "tls.crt", p->cert_pem);
    write_file(x->dir, "tls.key", p->key_pem);
    if (with_ca)
        write_file(x->dir, "ca.crt", p->ca_pem);
}

static void files_mode(struct fx *x) {
    x->o.cert_mode = "files";
    x->o.cert_dir = x->dir;
    x->o.nhosts = 0;
    x->h.files_check_ms = 60000;
}

static void assert_patch_value(struct fx *x, const char *path, size_t nth, const char *ca) {
    json_t *ops = fx_body(x, "PATCH", path, nth);
    char *want = b64(ca);
    size_t i, n = 0;
    json_t *op;
    json_array_foreach(ops, i, op) {
        if (strcmp(json_string_value(json_object_get(op, "op")), "add") != 0)
            continue;
        assert_string_equal(json_string_value(json_object_get(op, "value")), want);
        n++;
    }
    assert_true(n > 0);
    free(want);
    json_decref(ops);
}

/* No ca.crt, patch: the API server is never called (cert-manager or the chart
 * sets caBundle); the files are served. */
static void test_no_ca_no_calls(void **state) {
    struct fx *x = *state;
    files_mode(x);
    struct certs_pair p;
    write_certs(x, &p, 0);
    fx_start(x);
    fx_idle(x);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(healthz(x, p.ca_pem), 200);
    fc_advance(&x->clk, 60000);
    sleep_ms(50);
    fx_idle(x);
    assert_int_equal(fake_request_count(x->f), 0);
    certs_pair_free(&p);
}

/* ca.crt present: the mutating configuration has no caBundle -> patched with
 * ca.crt; the validating one already trusts the served certificate (as
 * cert-manager's cainjector left it) -> untouched. The next look only reads. */
static void test_patch_only_missing(void **state) {
    struct fx *x = *state;
    files_mode(x);
    struct certs_pair p;
    write_certs(x, &p, 1);
    expect_text(x->f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", NULL));
    struct fake_exchange *e = fake_expect(x->f, "PATCH", MWC_PATH);
    fake_expect_body_contains(e, CT_JSON_PATCH, "caBundle");
    fake_respond(e, 200, "{}");
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", p.ca_pem));
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_patch_value(x, MWC_PATH, 0, p.ca_pem);
    assert_int_equal(fx_count(x, "PATCH"), 1);
    expect_configs_trusting(x->f, p.ca_pem);
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 5);
    fake_transport_assert_done(x->f);
    assert_int_equal(fx_count(x, "PATCH"), 1);
    certs_pair_free(&p);
}

/* A caBundle that is set but does not verify the served certificate (a stale CA)
 * is replaced; one with a different CA bundle that still verifies is kept even
 * though it is not byte-equal to ca.crt. */
static void test_stale_bundle_replaced(void **state) {
    struct fx *x = *state;
    files_mode(x);
    struct certs_pair p, stale;
    write_certs(x, &p, 1);
    assert_int_equal(certs_gen_ca("old", time(NULL), 86400, &stale.ca_pem, &stale.ca_key_pem,
                                  NULL), 0);
    char *both = NULL;
    assert_true(asprintf(&both, "%s%s", stale.ca_pem, p.ca_pem) > 0);
    expect_text(x->f, "GET", MWC_PATH, 200, config_text("tests/fixtures/wrun/mwc.json", both));
    expect_text(x->f, "GET", VWC_PATH, 200,
                config_text("tests/fixtures/wrun/vwc.json", stale.ca_pem));
    fake_respond(fake_expect(x->f, "PATCH", VWC_PATH), 200, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    assert_patch_value(x, VWC_PATH, 0, p.ca_pem);
    free(both);
    free(stale.ca_pem);
    free(stale.ca_key_pem);
    certs_pair_free(&p);
}

/* A follower serves the files and never calls the API server. */
static void test_follower_files(void **state) {
    struct fx *x = *state;
    files_mode(x);
    atomic_store(&x->leader, 0);
    struct certs_pair p;
    write_certs(x, &p, 1);
    fx_start(x);
    fx_idle(x);
    assert_true(webhook_runtime_ready(x->r));
    assert_int_equal(fake_request_count(x->f), 0);
    certs_pair_free(&p);
}

/* manage + --webhook-url: both configurations applied with ca.crt as caBundle;
 * afterwards only GETs while they still match. */
static void test_manage_files(void **state) {
    struct fx *x = *state;
    files_mode(x);
    x->o.webhook_config = "manage";
    x->o.webhook_url = "https://127.0.0.1:9443/";
    struct certs_pair p;
    write_certs(x, &p, 1);
    char *want = b64(p.ca_pem);
    struct fake_exchange *m = fake_expect(x->f, "PATCH", MWC_PATH APPLY_QUERY);
    fake_expect_body_contains(m, CT_APPLY, want);
    fake_respond(m, 200, "{}");
    struct fake_exchange *v = fake_expect(x->f, "PATCH", VWC_PATH APPLY_QUERY);
    fake_expect_body_contains(v, CT_APPLY, "https://127.0.0.1:9443/validate-instrumentation");
    fake_respond(v, 200, "{}");
    fx_start(x);
    fx_idle(x);
    fake_transport_assert_done(x->f);
    json_t *cfg = fx_body(x, "PATCH", MWC_PATH, 0);
    json_t *cc = json_object_get(json_array_get(json_object_get(cfg, "webhooks"), 0),
                                 "clientConfig");
    assert_string_equal(json_string_value(json_object_get(cc, "url")),
                        "https://127.0.0.1:9443/mutate-v1-pod");
    assert_string_equal(json_string_value(json_object_get(cc, "caBundle")), want);
    json_decref(cfg);
    /* the next look: both match -> reads only; one deleted -> applied again */
    expect_configs_trusting(x->f, p.ca_pem);
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 4);
    fake_respond(fake_expect(x->f, "GET", MWC_PATH), 404, "{}");
    fake_respond(fake_expect(x->f, "PATCH", MWC_PATH APPLY_QUERY), 200, "{}");
    expect_text(x->f, "GET", VWC_PATH, 200, config_text("tests/fixtures/wrun/vwc.json", p.ca_pem));
    fc_advance(&x->clk, 60000);
    fx_wait_requests(x, 7);
    fake_transport_assert_done(x->f);
    free(want);
    certs_pair_free(&p);
}

/* The files are not there at start (a Secret volume still syncing): start anyway,
 * not ready, and serve them as soon as they appear. */
static void test_files_appear_later(void **state) {
    struct fx *x = *state;
    files_mode(x);
    fx_start(x);
    fx_idle(x);
    assert_false(webhook_runtime_ready(x->r));
    assert_int_equal(webhook_runtime_port(x->r), -1);
    struct certs_pair p;
    write_certs(x, &p, 0);
    fc_advance(&x->clk, 1000);   /* the first retry */
    for (int i = 0; i < 2000 && !webhook_runtime_ready(x->r); i++)
        sleep_ms(5);
    assert_true(webhook_runtime_ready(x->r));
    assert_true(webhook_runtime_port(x->r) > 0);
    assert_int_equal(healthz(x, p.ca_pem), 200);
    assert_int_equal(fake_request_count(x->f), 0);
    certs_pair_free(&p);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_ca_no_calls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_patch_only_missing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stale_bundle_replaced, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_follower_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_manage_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_appear_later, fx_setup, fx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
