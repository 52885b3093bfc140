/* test_webhook_runtime_logic.c - the runtime's pure decisions: which admissions
 * become Events, the Event itself (owner or Namespace, name, note limits, time
 * format), the 5-minute de-duplication, whether a caBundle already trusts the
 * served certificate (own CA, issuer chain with an intermediate, cert-manager
 * style), and the certificate Secret keeping the chart's Helm metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "testutil.h"
#include "webhook/certs.h"
#include "webhook/runtime_internal.h"

/* ---- which admissions ----------------------------------------------------------- */

static void test_wants_event(void **state) {
    (void)state;
    static const struct {
        enum mutate_decision d;
        int dry_run;
        const char *ns;
        int want;
    } cases[] = {
        {MUTATE_SKIPPED, 0, "shop", 1},   {MUTATE_SKIPPED, 1, "shop", 0},
        {MUTATE_DISABLED, 0, "shop", 0},  {MUTATE_INJECTED, 0, "shop", 0},
        {MUTATE_ERROR, 0, "shop", 0},     {MUTATE_NOT_REQUESTED, 0, "shop", 0},
        {MUTATE_ALREADY, 0, "shop", 0},   {MUTATE_SKIPPED, 0, "", 0},
        {MUTATE_SKIPPED, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct admission_result r = {.decision = cases[i].d, .dry_run = cases[i].dry_run,
                                     .pod_namespace = (char *)cases[i].ns};
        if (wrun_wants_event(&r) != cases[i].want)
            fail_msg("case %zu (%s, dry_run %d): want %d", i, mutate_decision_name(cases[i].d),
                     cases[i].dry_run, cases[i].want);
    }
    assert_false(wrun_wants_event(NULL));
}

/* ---- the Event ----------------------------------------------------------------------- */

static struct wrun_skip skip_of(const char *ns, const char *pod, const char *kind,
                                const char *name, const char *uid, const char *reason) {
    struct admission_result r = {.pod_namespace = (char *)ns, .pod_name = (char *)pod,
                                 .owner_kind = (char *)kind, .owner_name = (char *)name,
                                 .owner_uid = (char *)uid, .reason = (char *)reason};
    struct wrun_skip s;
    wrun_skip_from_result(&r, &s);
    return s;
}

static void test_microtime(void **state) {
    (void)state;
    char out[32];
    wrun_microtime(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
    wrun_microtime(1714557600123LL, out);
    assert_string_equal(out, "2024-05-01T10:00:00.123000Z");
    wrun_microtime(1714557600999LL, out);
    assert_string_equal(out, "2024-05-01T10:00:00.999000Z");
}

/* A ReplicaSet's pod: the Event is about the ReplicaSet. */
static void test_event_about_owner(void **state) {
    (void)state;
    struct wrun_skip s = skip_of("shop", "cart-7d9f8c6b5-", "ReplicaSet", "cart-7d9f8c6b5",
                                 "uid-1", "inject-java: no Instrumentation in namespace shop");
    json_t *ev = wrun_event_build(&s, "operator-0", 1714557600123LL, 7);
    char name[64];
    snprintf(name, sizeof(name), "cart-7d9f8c6b5.%llx", 1714557600123LL * 1000 + 7);
    json_t *want = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, "
        "s:s}}",
        "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", name,
        "namespace", "shop", "eventTime", "2024-05-01T10:00:00.123000Z", "reportingController",
        "tracemodel.dev/tracing-operator", "reportingInstance", "operator-0", "action", "Inject",
        "reason", "InjectionSkipped", "type", "Warning", "note",
        "inject-java: no Instrumentation in namespace shop", "regarding", "apiVersion",
        "apps/v1", "kind", "ReplicaSet", "name", "cart-7d9f8c6b5", "namespace", "shop", "uid",
        "uid-1");
    tu_assert_json_equal(want, ev, "Event about the owner");
    json_decref(want);
    json_decref(ev);
    wrun_skip_free(&s);
}

/* A full pod name is named as related; an unknown owner kind has no apiVersion. */
static void test_event_related_pod(void **state) {
    (void)state;
    struct wrun_skip s = skip_of("shop", "worker-0", "Widget", "w", "", "r");
    json_t *ev = wrun_event_build(&s, "i", 1000, 0);
    json_t *related = json_object_get(ev, "related");
    assert_non_null(related);
    assert_string_equal(json_string_value(json_object_get(related, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(related, "name")), "worker-0");
    json_t *reg = json_object_get(ev, "regarding");
    assert_null(json_object_get(reg, "apiVersion"));
    assert_null(json_object_get(reg, "uid"));
    assert_string_equal(json_string_value(json_object_get(reg, "kind")), "Widget");
    json_decref(ev);
    wrun_skip_free(&s);
}

/* A bare pod (no owner): the Event is about its Namespace, named after the pod
 * (generateName's trailing '-' dropped). */
static void test_event_about_namespace(void **state) {
    (void)state;
    struct wrun_skip s = skip_of("shop", "debug-", "", "", "", "why");
    json_t *ev = wrun_event_build(&s, "i", 1000, 0);
    json_t *reg = json_object_get(ev, "regarding");
    json_t *want = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Namespace", "name",
                             "shop");
    tu_assert_json_equal(want, reg, "regarding");
    json_decref(want);
    assert_null(json_object_get(ev, "related"));
    const char *name = json_string_value(json_object_get(json_object_get(ev, "metadata"), "name"));
    assert_string_equal(name, "debug.f4240");   /* 1000 ms = 1000000 us */
    json_decref(ev);
    wrun_skip_free(&s);
    /* no namespace: no Event */
    struct wrun_skip none = skip_of("", "p", "", "", "", "why");
    assert_null(wrun_event_build(&none, "i", 1000, 0));
    wrun_skip_free(&none);
}

/* Limits the API server enforces: name <= 253 (a DNS subdomain), note <= 1 KiB
 * and valid UTF-8, reportingInstance <= 128. */
static void test_event_limits(void **state) {
    (void)state;
    char owner[300], reason[3000], inst[200];
    memset(owner, 'a', sizeof(owner) - 1);
    owner[sizeof(owner) - 1] = '\0';
    owner[238] = '-';   /* 253 - 1 - 13 hex digits: the cut lands after a '-', trimmed too */
    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    memset(inst, 'h', sizeof(inst) - 1);
    inst[sizeof(inst) - 1] = '\0';
    struct wrun_skip s = skip_of("shop", "", "Deployment", owner, "", reason);
    json_t *ev = wrun_event_build(&s, inst, 1714557600123LL, 1);
    const char *name = json_string_value(json_object_get(json_object_get(ev, "metadata"), "name"));
    assert_true(strlen(name) <= 253);
    assert_non_null(strchr(name, '.'));
    assert_int_not_equal(strchr(name, '.')[-1], '-');
    const char *note = json_string_value(json_object_get(ev, "note"));
    assert_int_equal(strlen(note), 1024);
    assert_string_equal(note + 1021, "...");
    assert_int_equal(strlen(json_string_value(json_object_get(ev, "reportingInstance"))), 128);
    json_decref(ev);
    wrun_skip_free(&s);

    /* a reason cut inside a UTF-8 sequence upstream still gives a valid note */
    struct wrun_skip bad = skip_of("shop", "p", "", "", "", "caf\xc3");
    ev = wrun_event_build(&bad, "i", 1, 0);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "note")), "caf?");
    json_decref(ev);
    wrun_skip_free(&bad);
}

/* ---- de-duplication -------------------------------------------------------------------- */

static void test_dedup(void **state) {
    (void)state;
    struct wrun_dedup *d = wrun_dedup_new(3, 300000);
    struct wrun_skip a = skip_of("shop", "p1", "ReplicaSet", "cart", "", "no Instrumentation");
    struct wrun_skip a2 = skip_of("shop", "p2", "ReplicaSet", "cart", "", "no Instrumentation");
    struct wrun_skip other_reason = skip_of("shop", "p", "ReplicaSet", "cart", "", "other");
    struct wrun_skip other_ns = skip_of("web", "p", "ReplicaSet", "cart", "", "no Instrumentation");
    assert_int_equal(wrun_dedup_check(d, &a, 1000), 1);
    assert_int_equal(wrun_dedup_check(d, &a2, 2000), 0);         /* another pod, same owner */
    assert_int_equal(wrun_dedup_check(d, &a, 1000 + 299999), 0);
    assert_int_equal(wrun_dedup_check(d, &other_reason, 3000), 1);
    assert_int_equal(wrun_dedup_check(d, &other_ns, 3000), 1);
    assert_int_equal(wrun_dedup_check(d, &a, 1000 + 300000), 1); /* window over */
    /* full: a new key evicts the oldest, which may then be reported again */
    struct wrun_dedup *small = wrun_dedup_new(2, 300000);
    struct wrun_skip b = skip_of("shop", "p", "Job", "j", "", "r");
    assert_int_equal(wrun_dedup_check(small, &a, 1), 1);
    assert_int_equal(wrun_dedup_check(small, &b, 2), 1);
    assert_int_equal(wrun_dedup_check(small, &other_ns, 3), 1);   /* evicts a */
    assert_int_equal(wrun_dedup_check(small, &b, 4), 0);          /* b still known */
    assert_int_equal(wrun_dedup_check(small, &a, 5), 1);          /* a forgotten; evicts b */
    assert_int_equal(wrun_dedup_check(small, &other_ns, 6), 0);
    wrun_dedup_free(small);
    struct wrun_skip *all[] = {&a, &a2, &other_reason, &other_ns, &b};
    for (size_t i = 0; i < 5; i++)
        wrun_skip_free(all[i]);
    wrun_dedup_free(d);
}

/* ---- caBundle trust ---------------------------------------------------------------------- */

static char *b64(const char *s) {
    size_t n = strlen(s);
    char *out = malloc((n + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* A configuration with one webhook per bundle (NULL = no caBundle). */
static json_t *config_with(const char *const *bundles, size_t n) {
    json_t *hooks = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *cc = json_object();
        if (bundles[i]) {
            char *b = b64(bundles[i]);
            json_object_set_new(cc, "caBundle", json_string(b));
            free(b);
        }
        json_array_append_new(hooks, json_pack("{s:s, s:o}", "name", "h", "clientConfig", cc));
    }
    return json_pack("{s:o}", "webhooks", hooks);
}

struct ca {
    char *cert, *key;
};

static struct ca make_ca(time_t now) {
    struct ca c;
    assert_int_equal(certs_gen_ca("test", now, 86400 * 30, &c.cert, &c.key, NULL), 0);
    return c;
}

static void test_bundle_trusts_own_ca(void **state) {
    (void)state;
    time_t now = time(NULL);
    struct ca ca = make_ca(now), other = make_ca(now);
    const char *const hosts[] = {"svc.ns.svc"};
    char *leaf = NULL, *key = NULL;
    assert_int_equal(certs_gen_serving(ca.cert, ca.key, hosts, 1, now, 86400, &leaf, &key, NULL),
                     0);
    char *both = NULL;
    assert_true(asprintf(&both, "%s%s", other.cert, ca.cert) > 0);
    struct {
        const char *bundles[2];
        size_t n;
        time_t at;
        int want;
    } cases[] = {
        {{ca.cert, NULL}, 1, now, 1},
        {{ca.cert, ca.cert}, 2, now, 1},
        {{both, NULL}, 1, now, 1},              /* the right CA anywhere in the bundle */
        {{other.cert, NULL}, 1, now, 0},
        {{ca.cert, other.cert}, 2, now, 0},     /* every webhook must trust it */
        {{ca.cert, NULL}, 2, now, 0},           /* one webhook has no caBundle */
        {{NULL, NULL}, 0, now, 0},              /* no webhooks */
        {{ca.cert, NULL}, 1, now + 86400 * 2, 0},   /* the leaf has expired by then */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *cfg = config_with(cases[i].bundles, cases[i].n);
        if (wrun_bundle_trusts(cfg, leaf, cases[i].at) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
        json_decref(cfg);
    }
    /* not base64 / not PEM / no served certificate */
    json_t *cfg = json_pack("{s:[{s:s, s:{s:s}}]}", "webhooks", "name", "h", "clientConfig",
                            "caBundle", "!!not base64!!");
    assert_false(wrun_bundle_trusts(cfg, leaf, now));
    json_decref(cfg);
    char *junk = b64("hello");
    cfg = json_pack("{s:[{s:s, s:{s:s}}]}", "webhooks", "name", "h", "clientConfig", "caBundle",
                    junk);
    assert_false(wrun_bundle_trusts(cfg, leaf, now));
    json_decref(cfg);
    free(junk);
    const char *one[] = {ca.cert};
    cfg = config_with(one, 1);
    assert_false(wrun_bundle_trusts(cfg, NULL, now));
    assert_false(wrun_bundle_trusts(cfg, "not a cert", now));
    json_decref(cfg);
    free(both);
    free(leaf);
    free(key);
    free(ca.cert);
    free(ca.key);
    free(other.cert);
    free(other.key);
}

/* An issuer's chain (leaf + intermediate in tls.crt, root in ca.crt): the root
 * trusts it, so does the intermediate alone (Go treats any root-pool cert as an
 * anchor); an unrelated CA does not. */
static void test_bundle_trusts_chain(void **state) {
    (void)state;
    char *chain = tu_read_file("tests/fixtures/certs/chain/tls.crt", NULL);
    char *root = tu_read_file("tests/fixtures/certs/chain/ca.crt", NULL);
    const char *inter = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
    assert_non_null(inter);
    time_t now = time(NULL);
    const char *r[] = {root};
    json_t *cfg = config_with(r, 1);
    assert_true(wrun_bundle_trusts(cfg, chain, now));
    json_decref(cfg);
    const char *i[] = {inter};
    cfg = config_with(i, 1);
    assert_true(wrun_bundle_trusts(cfg, chain, now));
    json_decref(cfg);
    /* the leaf alone (no intermediate served) does not reach the root */
    char *leaf_only = strndup(chain, (size_t)(inter - chain));
    cfg = config_with(r, 1);
    assert_false(wrun_bundle_trusts(cfg, leaf_only, now));
    json_decref(cfg);
    struct ca other = make_ca(now);
    const char *o[] = {other.cert};
    cfg = config_with(o, 1);
    assert_false(wrun_bundle_trusts(cfg, chain, now));
    json_decref(cfg);
    free(other.cert);
    free(other.key);
    free(leaf_only);
    free(chain);
    free(root);
}

/* ---- the Secret keeps Helm's ownership ---------------------------------------------------- */

static void test_secret_merge(void **state) {
    (void)state;
    json_t *chart = tu_load("tests/fixtures/wrun/chart-secret.json");
    struct certs_pair p = {.cert_pem = (char *)"C", .key_pem = (char *)"K",
                           .ca_pem = (char *)"CA", .ca_key_pem = (char *)"CK"};
    json_t *built = certs_secret_build("ops", "tracing-operator-webhook-cert", &p, "42");
    json_t *m = wrun_secret_merge(chart, built);
    json_t *md = json_object_get(m, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), "42");
    assert_string_equal(json_string_value(json_object_get(md, "uid")),
                        "0b6f3a8e-1d2c-4e5f-9a7b-123456789abc");
    json_t *labels = json_object_get(md, "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")),
                        "Helm");
    assert_string_equal(json_string_value(json_object_get(labels, "app.kubernetes.io/component")),
                        "webhook");
    tu_assert_json_equal(json_object_get(json_object_get(chart, "metadata"), "annotations"),
                         json_object_get(md, "annotations"), "annotations kept");
    assert_null(json_object_get(md, "managedFields"));
    tu_assert_json_equal(json_object_get(built, "data"), json_object_get(m, "data"), "data");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "kubernetes.io/tls");
    json_decref(m);

    /* no existing object: the built one as is */
    m = wrun_secret_merge(NULL, built);
    tu_assert_json_equal(built, m, "built as is");
    json_decref(m);
    /* an existing Secret without labels gets the operator's */
    json_t *bare = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                             "metadata", "name", "x");
    m = wrun_secret_merge(bare, built);
    tu_assert_json_equal(json_object_get(json_object_get(built, "metadata"), "labels"),
                         json_object_get(json_object_get(m, "metadata"), "labels"), "labels");
    json_decref(m);
    json_decref(bare);
    json_decref(built);
    json_decref(chart);
}

/* ---- metrics ----------------------------------------------------------------------------- */

static void test_metrics_slots(void **state) {
    (void)state;
    assert_int_equal(wrun_hook_of("/mutate-v1-pod"), WRUN_HOOK_PODS);
    assert_int_equal(wrun_hook_of("/validate-tracingmodel"), WRUN_HOOK_TRACINGMODELS);
    assert_int_equal(wrun_hook_of("/validate-instrumentation"), WRUN_HOOK_INSTRUMENTATIONS);
    assert_int_equal(wrun_hook_of("/validate-workload"), WRUN_HOOK_WORKLOADS);
    assert_int_equal(wrun_hook_of("/healthz"), -1);
    assert_int_equal(wrun_hook_of(NULL), -1);
    struct admission_result r = {.decision = MUTATE_SKIPPED, .allowed = 1};
    assert_int_equal(wrun_result_of(WRUN_HOOK_PODS, &r), MUTATE_SKIPPED);
    assert_int_equal(wrun_result_of(WRUN_HOOK_TRACINGMODELS, &r), 0);
    r.allowed = 0;
    assert_int_equal(wrun_result_of(WRUN_HOOK_INSTRUMENTATIONS, &r), 1);
    r.decision = (enum mutate_decision)42;
    assert_int_equal(wrun_result_of(WRUN_HOOK_PODS, &r), MUTATE_ERROR);
    r.allowed = 1;   /* workloads: clean, or warned about */
    assert_int_equal(wrun_result_of(WRUN_HOOK_WORKLOADS, &r), 0);
    r.warnings = 2;
    assert_int_equal(wrun_result_of(WRUN_HOOK_WORKLOADS, &r), 1);
    static const struct {
        int64_t us;
        size_t bucket;
    } b[] = {{0, 0}, {100, 0}, {101, 1}, {1000, 3}, {1001, 4}, {1000000, 9}, {1000001, 10}};
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
        if (wrun_duration_bucket(b[i].us) != b[i].bucket)
            fail_msg("%lld us: bucket %zu, want %zu", (long long)b[i].us,
                     wrun_duration_bucket(b[i].us), b[i].bucket);
}

static void test_metrics_format(void **state) {
    (void)state;
    struct wrun_metrics m;
    memset(&m, 0, sizeof(m));
    m.requests[WRUN_HOOK_PODS][MUTATE_ERROR] = 3;
    m.requests[WRUN_HOOK_PODS][MUTATE_INJECTED] = 7;
    m.requests[WRUN_HOOK_TRACINGMODELS][1] = 2;
    m.requests[WRUN_HOOK_WORKLOADS][1] = 4;
    m.buckets[0] = 4;
    m.buckets[3] = 5;
    m.buckets[WRUN_DURATION_BUCKETS] = 1;
    m.count = 10;
    m.sum_us = 2500000;
    m.stats.events_sent = 6;
    m.stats.events_dropped = 1;
    m.stats.cert_rounds = 5;
    m.stats.cert_errors = 2;
    m.stats.ready = 1;
    m.cert_not_after = 1900000000;
    struct strbuf b;
    strbuf_init(&b, 0);
    wrun_metrics_format(&m, &b);
    static const char *const want[] = {
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"error\"} 3\n",
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"injected\"} 7\n",
        "tracing_operator_webhook_requests_total{webhook=\"pods\",result=\"skipped\"} 0\n",
        "tracing_operator_webhook_requests_total{webhook=\"tracingmodels\",result=\"denied\"} 2\n",
        "tracing_operator_webhook_requests_total{webhook=\"instrumentations\",result=\"allowed\"} "
        "0\n",
        "tracing_operator_webhook_requests_total{webhook=\"workloads\",result=\"clean\"} 0\n",
        "tracing_operator_webhook_requests_total{webhook=\"workloads\",result=\"warned\"} 4\n",
        "_bucket{le=\"0.0001\"} 4\n",
        "_bucket{le=\"0.0025\"} 9\n",   /* cumulative */
        "_bucket{le=\"1\"} 9\n",
        "_bucket{le=\"+Inf\"} 10\n",
        "tracing_operator_webhook_request_duration_seconds_sum 2.500000\n",
        "tracing_operator_webhook_request_duration_seconds_count 10\n",
        "tracing_operator_webhook_events_total{result=\"sent\"} 6\n",
        "tracing_operator_webhook_events_total{result=\"dropped\"} 1\n",
        "tracing_operator_webhook_certificate_checks_total{result=\"success\"} 3\n",
        "tracing_operator_webhook_certificate_checks_total{result=\"error\"} 2\n",
        "tracing_operator_webhook_certificate_expiry_timestamp_seconds 1900000000\n",
        "tracing_operator_webhook_ready 1\n",
        "# TYPE tracing_operator_webhook_request_duration_seconds histogram\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(b.buf, want[i]))
            fail_msg("metrics lack %s\n%s", want[i], b.buf);
    strbuf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wants_event),        cmocka_unit_test(test_microtime),
        cmocka_unit_test(test_event_about_owner),  cmocka_unit_test(test_event_related_pod),
        cmocka_unit_test(test_event_about_namespace), cmocka_unit_test(test_event_limits),
        cmocka_unit_test(test_dedup),              cmocka_unit_test(test_bundle_trusts_own_ca),
        cmocka_unit_test(test_bundle_trusts_chain), cmocka_unit_test(test_secret_merge),
        cmocka_unit_test(test_metrics_slots),      cmocka_unit_test(test_metrics_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
