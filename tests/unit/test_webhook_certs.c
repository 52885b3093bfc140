/* test_webhook_certs.c - the self-signed CA and serving certificate, the
 * rotation rule, the Secret round trip, the caBundle patch, the managed webhook
 * configurations and certs_ensure() against a fake cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "webhook/certs.h"

#define T0 ((time_t)1767225600)   /* 2026-01-01T00:00:00Z */
#define DAY 86400

static X509 *pem_cert(const char *pem) {
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *pem_key(const char *pem) {
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

static void assert_p256(EVP_PKEY *k) {
    char group[64] = "";
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof(group), &n), 1);
    assert_string_equal(group, "prime256v1");
}

static time_t asn1_time(const ASN1_TIME *t) {
    struct tm tm;
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return timegm(&tm);
}

struct ca {
    char *cert, *key;
};

static struct ca make_ca(time_t now, int64_t validity) {
    struct ca c = {0};
    struct op_status st = {0};
    assert_int_equal(certs_gen_ca("test-ca", now, validity, &c.cert, &c.key, &st), 0);
    return c;
}

static void free_ca(struct ca *c) {
    free(c->cert);
    free(c->key);
}

/* ---- generation ------------------------------------------------------------ */

static void test_ca_properties(void **state) {
    (void)state;
    struct ca c = make_ca(T0, CERTS_CA_VALIDITY_S);
    X509 *x = pem_cert(c.cert);
    EVP_PKEY *k = pem_key(c.key);
    assert_int_equal(X509_check_ca(x), 1);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_p256(k);
    assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
    assert_true(asn1_time(X509_get0_notBefore(x)) == T0 - CERTS_BACKDATE_S);
    assert_true(asn1_time(X509_get0_notAfter(x)) == T0 + CERTS_CA_VALIDITY_S);
    /* self-signed: verifies with its own key */
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_int_equal(X509_verify(x, pub), 1);
    X509_free(x);
    EVP_PKEY_free(k);
    free_ca(&c);
}

static void test_serving_chain_sans_and_key(void **state) {
    (void)state;
    struct ca c = make_ca(T0, CERTS_CA_VALIDITY_S);
    const char *extra[] = {"127.0.0.1", "::1", "webhook.example.com"};
    size_t n = 0;
    char **hosts = certs_service_hosts("tracing-operator-webhook", "ops", extra, 3, &n);
    assert_int_equal(n, 7);
    assert_string_equal(hosts[2], "tracing-operator-webhook.ops.svc");
    assert_string_equal(hosts[3], "tracing-operator-webhook.ops.svc.cluster.local");
    char *cert = NULL, *key = NULL;
    struct op_status st = {0};
    assert_int_equal(certs_gen_serving(c.cert, c.key, (const char *const *)hosts, n, T0,
                                       CERTS_CERT_VALIDITY_S, &cert, &key, &st), 0);

    /* the chain verifies with plain OpenSSL, for TLS server use, at T0 */
    X509 *leaf = pem_cert(cert), *ca = pem_cert(c.cert);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), T0);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);

    /* names: DNS for the service names and the host name, IP for the literals */
    assert_int_equal(X509_check_host(leaf, "tracing-operator-webhook.ops.svc", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "tracing-operator-webhook", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "webhook.example.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "other.ops.svc", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.1", 0), 0);
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);

    EVP_PKEY *k = pem_key(key);
    assert_p256(k);
    assert_int_equal(X509_check_private_key(leaf, k), 1);
    assert_true(asn1_time(X509_get0_notAfter(leaf)) == T0 + CERTS_CERT_VALIDITY_S);

    /* and our own checks agree */
    assert_int_equal(certs_verify(cert, c.cert, T0, (const char *const *)hosts, n, &st), 0);
    assert_int_equal(certs_check_key(cert, key, &st), 0);

    EVP_PKEY_free(k);
    X509_free(leaf);
    X509_free(ca);
    free(cert);
    free(key);
    certs_hosts_free(hosts);
    free_ca(&c);
}

static void test_serving_capped_by_ca(void **state) {
    (void)state;
    struct ca c = make_ca(T0, 100 * DAY);
    const char *hosts[] = {"svc.ns.svc"};
    char *cert = NULL, *key = NULL;
    assert_int_equal(certs_gen_serving(c.cert, c.key, hosts, 1, T0, 365 * DAY, &cert, &key,
                                       NULL), 0);
    time_t na = 0, ca_na = 0;
    assert_int_equal(certs_not_after(cert, &na, NULL), 0);
    assert_int_equal(certs_not_after(c.cert, &ca_na, NULL), 0);
    assert_true(na == ca_na);
    free(cert);
    free(key);
    free_ca(&c);
}

static void test_serving_bad_input(void **state) {
    (void)state;
    struct ca c = make_ca(T0, CERTS_CA_VALIDITY_S);
    struct ca other = make_ca(T0, CERTS_CA_VALIDITY_S);
    char *cert = NULL, *key = NULL;
    struct op_status st = {0};
    const char *bad[] = {"good.example", "evil,DNS:attacker.example"};
    assert_int_equal(certs_gen_serving(c.cert, c.key, bad, 2, T0, DAY, &cert, &key, &st),
                     OP_EINVALID);
    assert_non_null(strstr(st.msg, "evil,DNS"));
    assert_null(cert);
    const char *badip[] = {"1:2:3:zz::1"};
    assert_int_equal(certs_gen_serving(c.cert, c.key, badip, 1, T0, DAY, &cert, &key, &st),
                     OP_EINVALID);
    const char *ok[] = {"a.example"};
    /* CA key of another CA */
    assert_int_equal(certs_gen_serving(c.cert, other.key, ok, 1, T0, DAY, &cert, &key, &st),
                     OP_EINVALID);
    assert_int_equal(certs_gen_serving("garbage", c.key, ok, 1, T0, DAY, &cert, &key, &st),
                     OP_EINVALID);
    assert_int_equal(certs_gen_serving(c.cert, c.key, ok, 0, T0, DAY, &cert, &key, &st),
                     OP_EINVALID);
    assert_null(cert);
    assert_null(key);
    free_ca(&c);
    free_ca(&other);
}

static void test_serials_differ(void **state) {
    (void)state;
    struct ca a = make_ca(T0, DAY), b = make_ca(T0, DAY);
    char sa[80], sb[80];
    assert_int_equal(certs_serial_hex(a.cert, sa, sizeof(sa), NULL), 0);
    assert_int_equal(certs_serial_hex(b.cert, sb, sizeof(sb), NULL), 0);
    assert_int_equal(strlen(sa), 32);
    assert_string_not_equal(sa, sb);
    free_ca(&a);
    free_ca(&b);
}

/* ---- rotation rule ------------------------------------------------------------ */

static void test_rotation_table(void **state) {
    (void)state;
    /* one-year certificate: lifetime 365d + 1h (backdated); a third is ~121.7 days */
    struct ca year = make_ca(T0, 365 * DAY);
    /* 60-day certificate: a third (20d) is less than renew_before (30d) */
    struct ca short_ = make_ca(T0, 60 * DAY);
    struct {
        const char *what;
        const char *pem;
        time_t now;
        int want;
    } rows[] = {
        {"fresh", year.cert, T0, 0},
        {"200 days in", year.cert, T0 + 200 * DAY, 0},
        {"243 days in (122d left)", year.cert, T0 + 243 * DAY, 0},
        {"244 days in (121d left < a third)", year.cert, T0 + 244 * DAY, 1},
        {"expired", year.cert, T0 + 366 * DAY, 1},
        {"exactly notAfter", year.cert, T0 + 365 * DAY, 1},
        {"before notBefore (clock went back)", year.cert, T0 - 2 * 3600, 1},
        {"short fresh", short_.cert, T0, 0},
        {"short, 31 days left", short_.cert, T0 + 29 * DAY, 0},
        {"short, 29 days left (< renew_before)", short_.cert, T0 + 31 * DAY, 1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = certs_need_rotation(rows[i].pem, rows[i].now, CERTS_RENEW_BEFORE_S);
        if (got != rows[i].want)
            fail_msg("%s: want %d got %d", rows[i].what, rows[i].want, got);
    }
    assert_int_equal(certs_need_rotation("not a certificate", T0, CERTS_RENEW_BEFORE_S),
                     OP_EINVALID);
    assert_int_equal(certs_need_rotation("", T0, CERTS_RENEW_BEFORE_S), OP_EINVALID);
    free_ca(&year);
    free_ca(&short_);
}

static void test_verify_failures(void **state) {
    (void)state;
    struct ca c = make_ca(T0, CERTS_CA_VALIDITY_S), other = make_ca(T0, CERTS_CA_VALIDITY_S);
    const char *hosts[] = {"svc.ns.svc"};
    char *cert = NULL, *key = NULL;
    assert_int_equal(certs_gen_serving(c.cert, c.key, hosts, 1, T0, 30 * DAY, &cert, &key,
                                       NULL), 0);
    struct op_status st = {0};
    assert_int_equal(certs_verify(cert, c.cert, T0, hosts, 1, &st), 0);
    assert_int_equal(certs_verify(cert, other.cert, T0, hosts, 1, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "does not verify"));
    assert_int_equal(certs_verify(cert, c.cert, T0 + 31 * DAY, hosts, 1, &st), OP_EINVALID);
    const char *wrong[] = {"other.ns.svc"};
    assert_int_equal(certs_verify(cert, c.cert, T0, wrong, 1, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "other.ns.svc"));
    /* a bundle with the other CA first still verifies */
    char *bundle = NULL;
    assert_true(asprintf(&bundle, "%s%s", other.cert, c.cert) > 0);
    assert_int_equal(certs_verify(cert, bundle, T0, hosts, 1, &st), 0);
    /* key checks */
    assert_int_equal(certs_check_key(cert, key, &st), 0);
    assert_int_equal(certs_check_key(cert, c.key, &st), OP_EINVALID);
    assert_int_equal(certs_check_key(cert, "nope", &st), OP_EINVALID);
    free(bundle);
    free(cert);
    free(key);
    free_ca(&c);
    free_ca(&other);
}

/* ---- Secret ------------------------------------------------------------------- */

static void test_secret_round_trip(void **state) {
    (void)state;
    struct certs_pair p = {
        .cert_pem = strdup("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"),
        .key_pem = strdup("k"),
        .ca_pem = strdup("ca\n"),
        .ca_key_pem = strdup("cak"),
    };
    json_t *s = certs_secret_build("ops", "cert", &p, "42");
    json_t *want = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:s, s:{s:s, s:s, s:s, s:s}}",
        "apiVersion", "v1", "kind", "Secret", "metadata", "name", "cert", "namespace", "ops",
        "resourceVersion", "42", "labels", "app.kubernetes.io/managed-by", "tracing-operator",
        "app.kubernetes.io/component", "webhook-cert", "type", "kubernetes.io/tls", "data",
        "tls.crt",
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==",
        "tls.key", "aw==", "ca.crt", "Y2EK", "ca.key", "Y2Fr");
    tu_assert_json_equal(want, s, "secret");
    struct certs_pair back = {0};
    assert_int_equal(certs_secret_read(s, &back, NULL), 0);
    assert_string_equal(back.cert_pem, p.cert_pem);
    assert_string_equal(back.key_pem, p.key_pem);
    assert_string_equal(back.ca_pem, p.ca_pem);
    assert_string_equal(back.ca_key_pem, p.ca_key_pem);
    certs_pair_free(&back);
    json_decref(want);
    json_decref(s);

    /* no resourceVersion when creating */
    s = certs_secret_build("ops", "cert", &p, NULL);
    assert_null(json_object_get(json_object_get(s, "metadata"), "resourceVersion"));
    json_decref(s);
    certs_pair_free(&p);
}

static void test_secret_bad_input(void **state) {
    (void)state;
    struct {
        const char *json;
        const char *want_in_msg;
    } rows[] = {
        {"{\"kind\":\"ConfigMap\"}", "kind"},
        {"{\"kind\":\"Secret\",\"data\":[]}", "data"},
        {"{\"kind\":\"Secret\",\"data\":{\"tls.crt\":\"%%%%\"}}", "data.tls.crt"},
        {"{\"kind\":\"Secret\",\"data\":{\"tls.key\":\"YQ\"}}", "data.tls.key"},
        {"{\"kind\":\"Secret\",\"data\":{\"ca.crt\":5}}", "data.ca.crt"},
        {"{\"kind\":\"Secret\",\"data\":{\"ca.key\":\"YQBi\"}}", "data.ca.key"}, /* NUL inside */
        {"[]", "not an object"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *v = json_loads(rows[i].json, 0, NULL);
        assert_non_null(v);
        struct certs_pair p = {0};
        struct op_status st = {0};
        assert_int_equal(certs_secret_read(v, &p, &st), OP_EINVALID);
        if (!strstr(st.msg, rows[i].want_in_msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", rows[i].json, st.msg,
                     rows[i].want_in_msg);
        assert_null(p.cert_pem);
        assert_null(p.key_pem);
        json_decref(v);
    }
    /* a Secret without data is empty, not an error */
    json_t *v = json_pack("{s:s}", "kind", "Secret");
    struct certs_pair p = {0};
    assert_int_equal(certs_secret_read(v, &p, NULL), 0);
    assert_null(p.cert_pem);
    json_decref(v);
}

/* ---- webhook configurations ----------------------------------------------------- */

static void test_cabundle_patch(void **state) {
    (void)state;
    json_t *cfg = json_loads("{\"kind\":\"ValidatingWebhookConfiguration\",\"webhooks\":["
                             "{\"name\":\"a.tracemodel.dev\",\"clientConfig\":{\"caBundle\":\"b2xk\"}},"
                             "{\"name\":\"b.tracemodel.dev\",\"clientConfig\":{\"caBundle\":\"Y2EK\"}},"
                             "{\"name\":\"c.tracemodel.dev\",\"clientConfig\":{\"service\":{}}},"
                             "{\"name\":\"d.tracemodel.dev\"}]}",
                             0, NULL);
    json_t *ops = certs_cabundle_patch(cfg, "ca\n");
    json_t *want = json_loads(
        "[{\"op\":\"test\",\"path\":\"/webhooks/0/name\",\"value\":\"a.tracemodel.dev\"},"
        " {\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"Y2EK\"},"
        " {\"op\":\"test\",\"path\":\"/webhooks/2/name\",\"value\":\"c.tracemodel.dev\"},"
        " {\"op\":\"add\",\"path\":\"/webhooks/2/clientConfig/caBundle\",\"value\":\"Y2EK\"},"
        " {\"op\":\"test\",\"path\":\"/webhooks/3/name\",\"value\":\"d.tracemodel.dev\"},"
        " {\"op\":\"add\",\"path\":\"/webhooks/3/clientConfig\",\"value\":{\"caBundle\":\"Y2EK\"}}]",
        0, NULL);
    tu_assert_json_equal(want, ops, "caBundle patch");
    json_decref(ops);
    json_decref(want);
    /* once applied, nothing to do */
    json_t *same = json_loads("{\"webhooks\":[{\"name\":\"a\",\"clientConfig\":{\"caBundle\":"
                              "\"Y2EK\"}}]}", 0, NULL);
    assert_null(certs_cabundle_patch(same, "ca\n"));
    json_t *none = json_loads("{\"webhooks\":[]}", 0, NULL);
    assert_null(certs_cabundle_patch(none, "ca\n"));
    json_t *missing = json_loads("{}", 0, NULL);
    assert_null(certs_cabundle_patch(missing, "ca\n"));
    json_decref(same);
    json_decref(none);
    json_decref(missing);
    json_decref(cfg);
}

static void check_golden(json_t *v, const char *rel) {
    assert_non_null(v);
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = strlen(text);
    text = realloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    tu_assert_golden(text, rel);
    free(text);
    json_decref(v);
}

static void test_managed_configs(void **state) {
    (void)state;
    struct certs_webhook_opts o = {.namespace = "tracing-system", .ca_pem = "ca\n"};
    json_t *m = certs_mutating_config(&o);
    /* what the product promises, asserted directly ... */
    json_t *h = json_array_get(json_object_get(m, "webhooks"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "name")), CERTS_WEBHOOK_POD);
    assert_string_equal(json_string_value(json_object_get(h, "failurePolicy")), "Ignore");
    assert_string_equal(json_string_value(json_object_get(h, "reinvocationPolicy")), "IfNeeded");
    assert_string_equal(json_string_value(json_object_get(h, "sideEffects")), "None");
    assert_int_equal(json_integer_value(json_object_get(h, "timeoutSeconds")), 5);
    json_t *vals = json_object_get(json_array_get(json_object_get(json_object_get(h,
                                   "namespaceSelector"), "matchExpressions"), 0), "values");
    assert_string_equal(json_string_value(json_array_get(vals, 0)), "kube-system");
    assert_string_equal(json_string_value(json_array_get(vals, 1)), "tracing-system");
    /* opt-in fail-closed: namespaces labelled injection-policy=required go to a second
     * pod webhook with failurePolicy Fail; the first one never sees them */
    json_t *hooks = json_object_get(m, "webhooks");
    assert_int_equal(json_array_size(hooks), 2);
    static const char *const ops[2] = {"NotIn", "In"};
    for (size_t i = 0; i < 2; i++) {
        json_t *ph = json_array_get(hooks, i);
        json_t *exprs = json_object_get(json_object_get(ph, "namespaceSelector"),
                                        "matchExpressions");
        json_t *pol = json_array_get(exprs, 1);
        assert_string_equal(json_string_value(json_object_get(pol, "key")), CERTS_POLICY_LABEL);
        assert_string_equal(json_string_value(json_object_get(pol, "operator")), ops[i]);
        assert_string_equal(json_string_value(json_array_get(json_object_get(pol, "values"), 0)),
                            "required");
        assert_string_equal(json_string_value(json_object_get(ph, "failurePolicy")),
                            i ? "Fail" : "Ignore");
        assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                                ph, "clientConfig"), "service"), "path")), "/mutate-v1-pod");
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(hooks, 1), "name")),
                        CERTS_WEBHOOK_POD_REQUIRED);
    /* ... and the whole objects as golden files */
    check_golden(m, "tests/golden/webhook/certs_mutating_service.json");
    json_t *v = certs_validating_config(&o);
    hooks = json_object_get(v, "webhooks");
    assert_int_equal(json_array_size(hooks), 3);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(hooks, i),
                                                               "failurePolicy")), "Fail");
    /* the workload webhook only warns: it may never stand in a Deployment's way */
    h = json_array_get(hooks, 2);
    assert_string_equal(json_string_value(json_object_get(h, "name")), CERTS_WEBHOOK_WORKLOAD);
    assert_string_equal(json_string_value(json_object_get(h, "failurePolicy")), "Ignore");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(h,
                        "clientConfig"), "service"), "path")), "/validate-workload");
    vals = json_object_get(json_array_get(json_object_get(json_object_get(h,
                           "namespaceSelector"), "matchExpressions"), 0), "values");
    assert_int_equal(json_array_size(vals), 2);   /* the pod webhook's namespaces */
    assert_string_equal(json_string_value(json_array_get(vals, 1)), "tracing-system");
    check_golden(v, "tests/golden/webhook/certs_validating_service.json");

    struct certs_webhook_opts u = {.namespace = "kube-system", .url = "https://10.0.0.5:9443/",
                                   .config_name = "dev"};
    check_golden(certs_mutating_config(&u), "tests/golden/webhook/certs_mutating_url.json");
    check_golden(certs_validating_config(&u), "tests/golden/webhook/certs_validating_url.json");

    struct certs_webhook_opts bad = {.namespace = "ops", .url = "http://insecure:9443"};
    assert_null(certs_mutating_config(&bad));
    assert_null(certs_validating_config(&bad));
    struct certs_webhook_opts nons = {.namespace = NULL};
    assert_null(certs_mutating_config(&nons));
}

/* ---- certs_ensure against a fake cluster ------------------------------------------ */

struct fake {
    json_t *secret;       /* what the "API server" holds */
    int rv;
    char log[512];        /* call order */
    char *published;      /* last bundle */
    int fail_get;         /* error code to return from get */
    int fail_publish;
    int conflicts;        /* update: return OP_ECONFLICT this many times, after swapping in
                           * the "other replica's" Secret */
    int already;          /* create: return OP_EALREADY once, after storing other's Secret */
    json_t *other;        /* the other replica's Secret */
};

static void note(struct fake *f, const char *what) {
    strncat(f->log, what, sizeof(f->log) - strlen(f->log) - 2);
    strcat(f->log, ",");
}

static void store(struct fake *f, const json_t *sec) {
    json_decref(f->secret);
    f->secret = json_deep_copy(sec);
    char rv[16];
    snprintf(rv, sizeof(rv), "%d", ++f->rv);
    json_object_set_new(json_object_get(f->secret, "metadata"), "resourceVersion",
                        json_string(rv));
}

static int f_get(void *ud, const char *ns, const char *name, json_t **ret,
                 struct op_status *st) {
    struct fake *f = ud;
    note(f, "get");
    assert_string_equal(ns, "ops");
    assert_string_equal(name, CERTS_DEFAULT_SECRET);
    if (f->fail_get)
        return op_fail(st, f->fail_get, "injected");
    if (!f->secret)
        return op_fail(st, OP_ENOTFOUND, "not found");
    *ret = json_deep_copy(f->secret);
    return 0;
}

static int f_create(void *ud, const json_t *sec, struct op_status *st) {
    struct fake *f = ud;
    note(f, "create");
    if (f->already) {
        f->already = 0;
        store(f, f->other);
        return op_fail(st, OP_EALREADY, "exists");
    }
    if (f->secret)
        return op_fail(st, OP_EALREADY, "exists");
    store(f, sec);
    return 0;
}

static int f_update(void *ud, const json_t *sec, struct op_status *st) {
    struct fake *f = ud;
    note(f, "update");
    const char *rv = json_string_value(json_object_get(json_object_get(sec, "metadata"),
                                                       "resourceVersion"));
    const char *have = json_string_value(json_object_get(json_object_get(f->secret,
                                                         "metadata"), "resourceVersion"));
    if (f->conflicts) {
        f->conflicts--;
        store(f, f->other);
        return op_fail(st, OP_ECONFLICT, "conflict");
    }
    if (!rv || !have || strcmp(rv, have) != 0)
        return op_fail(st, OP_ECONFLICT, "conflict");
    store(f, sec);
    return 0;
}

static int f_publish(void *ud, const char *bundle, struct op_status *st) {
    struct fake *f = ud;
    note(f, "publish");
    if (f->fail_publish)
        return op_fail(st, f->fail_publish, "injected");
    free(f->published);
    f->published = strdup(bundle);
    return 0;
}

static const struct certs_store_ops FAKE_OPS = {f_get, f_create, f_update, f_publish};

static void fake_free(struct fake *f) {
    json_decref(f->secret);
    json_decref(f->other);
    free(f->published);
}

static const struct certs_opts OPTS = {.namespace = "ops"};

static void assert_pair_good(const struct certs_pair *p, time_t now) {
    assert_non_null(p->cert_pem);
    size_t n = 0;
    char **hosts = certs_service_hosts(CERTS_DEFAULT_SERVICE, "ops", NULL, 0, &n);
    struct op_status st = {0};
    if (certs_verify(p->cert_pem, p->ca_pem, now, (const char *const *)hosts, n, &st))
        fail_msg("pair does not verify: %s", st.msg);
    assert_int_equal(certs_check_key(p->cert_pem, p->key_pem, NULL), 0);
    certs_hosts_free(hosts);
}

static void serial(const char *pem, char out[80]) {
    assert_int_equal(certs_serial_hex(pem, out, 80, NULL), 0);
}

static int count_certs(const char *bundle) {
    int n = 0;
    for (const char *p = bundle; (p = strstr(p, "BEGIN CERTIFICATE")); p++)
        n++;
    return n;
}

static void test_ensure_lifecycle(void **state) {
    (void)state;
    struct fake f = {0};
    struct certs_pair p1 = {0}, p2 = {0}, p3 = {0}, p4 = {0};
    struct op_status st = {0};

    /* 1. nothing stored: create, and publish BEFORE storing */
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &p1, &st), 0);
    assert_string_equal(f.log, "get,publish,create,");
    assert_pair_good(&p1, T0);
    assert_string_equal(f.published, p1.ca_pem);
    struct certs_pair stored = {0};
    assert_int_equal(certs_secret_read(f.secret, &stored, NULL), 0);
    assert_string_equal(stored.cert_pem, p1.cert_pem);
    assert_string_equal(stored.ca_key_pem, p1.ca_key_pem);
    certs_pair_free(&stored);

    /* 2. a day later: nothing to write, same pair, bundle published again */
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0 + DAY, &p2, &st), 0);
    assert_string_equal(f.log, "get,publish,");
    assert_string_equal(p2.cert_pem, p1.cert_pem);

    /* 3. 300 days later the serving certificate is renewed by the SAME CA */
    f.log[0] = '\0';
    time_t t3 = T0 + 300 * DAY;
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, t3, &p3, &st), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_string_equal(p3.ca_pem, p1.ca_pem);
    assert_string_equal(p3.ca_key_pem, p1.ca_key_pem);
    char s1[80], s3[80];
    serial(p1.cert_pem, s1);
    serial(p3.cert_pem, s3);
    assert_string_not_equal(s1, s3);
    assert_pair_good(&p3, t3);

    /* 4. the CA has less than a third of its 5 years left 1218 days in. Just before,
     * the serving certificate is renewed as usual ... */
    struct certs_pair p3b = {0};
    time_t t3b = T0 + 1200 * DAY, t4 = T0 + 1220 * DAY;
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, t3b, &p3b, &st), 0);
    assert_string_equal(p3b.ca_pem, p1.ca_pem);
    /* ... then the CA is renewed and the bundle trusts the old and the new one */
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, t4, &p4, &st), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_string_not_equal(p4.ca_key_pem, p1.ca_key_pem);
    assert_int_equal(count_certs(p4.ca_pem), 2);
    assert_non_null(strstr(p4.ca_pem, p1.ca_pem));          /* previous CA kept ... */
    assert_true(strstr(p4.ca_pem, p1.ca_pem) != p4.ca_pem); /* ... after the new one */
    assert_string_equal(f.published, p4.ca_pem);
    assert_pair_good(&p4, t4);
    /* replicas still serving the previous certificate are trusted too: no gap */
    size_t n = 0;
    char **hosts = certs_service_hosts(CERTS_DEFAULT_SERVICE, "ops", NULL, 0, &n);
    assert_int_equal(certs_verify(p3b.cert_pem, p4.ca_pem, t4, (const char *const *)hosts, n,
                                  NULL), 0);
    certs_hosts_free(hosts);
    certs_pair_free(&p3b);

    certs_pair_free(&p1);
    certs_pair_free(&p2);
    certs_pair_free(&p3);
    certs_pair_free(&p4);
    fake_free(&f);
}

/* A complete Secret as another replica would have written it. */
static json_t *other_secret(time_t now) {
    struct certs_pair p = {0};
    struct fake tmp = {0};
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &tmp, now, &p, NULL), 0);
    json_t *s = json_deep_copy(tmp.secret);
    certs_pair_free(&p);
    fake_free(&tmp);
    return s;
}

static void test_ensure_races(void **state) {
    (void)state;
    /* create loses: the winner's pair is served */
    struct fake f = {.already = 1, .other = other_secret(T0)};
    struct certs_pair p = {0}, winner = {0};
    assert_int_equal(certs_secret_read(f.other, &winner, NULL), 0);
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &p, NULL), 0);
    assert_string_equal(f.log, "get,publish,create,get,publish,");
    assert_string_equal(p.cert_pem, winner.cert_pem);
    assert_string_equal(f.published, winner.ca_pem);
    certs_pair_free(&p);

    /* update loses (renewal raced): the winner's pair is served */
    f.log[0] = '\0';
    f.conflicts = 1;
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0 + 300 * DAY, &p, NULL), 0);
    /* the winner's Secret is as old as ours, so it is renewed again */
    assert_string_equal(f.log, "get,publish,update,get,publish,update,");
    assert_pair_good(&p, T0 + 300 * DAY);
    certs_pair_free(&p);

    /* always losing: gives up with a conflict */
    json_decref(f.secret);
    f.secret = json_deep_copy(f.other);   /* back to the Secret that needs renewing */
    f.log[0] = '\0';
    f.conflicts = 5;
    struct op_status st = {0};
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0 + 300 * DAY, &p, &st),
                     OP_ECONFLICT);
    assert_string_equal(f.log, "get,publish,update,get,publish,update,get,publish,update,");
    /* the stored pair is still valid, so it is what to serve meanwhile */
    assert_non_null(p.cert_pem);
    assert_string_equal(p.cert_pem, winner.cert_pem);
    certs_pair_free(&p);
    certs_pair_free(&winner);
    fake_free(&f);
}

static void test_ensure_repairs(void **state) {
    (void)state;
    struct fake f = {0};
    struct certs_pair p = {0}, q = {0};
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &p, NULL), 0);

    /* garbage in tls.crt: the serving certificate is regenerated, the CA kept */
    json_object_set_new(json_object_get(f.secret, "data"), "tls.crt", json_string("!!"));
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &q, NULL), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_pair_good(&q, T0);
    assert_string_equal(q.ca_pem, p.ca_pem);
    certs_pair_free(&q);

    /* not a Secret at all: everything regenerated */
    json_object_set_new(f.secret, "data", json_string("x"));
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &q, NULL), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_pair_good(&q, T0);
    assert_string_not_equal(q.ca_pem, p.ca_pem);
    certs_pair_free(&q);

    /* a new --webhook-host: the serving certificate is reissued, the CA stays */
    struct certs_opts o = OPTS;
    const char *extra[] = {"127.0.0.1"};
    o.extra_hosts = extra;
    o.n_extra_hosts = 1;
    struct certs_pair before = {0};
    assert_int_equal(certs_secret_read(f.secret, &before, NULL), 0);
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&o, &FAKE_OPS, &f, T0, &q, NULL), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_string_equal(q.ca_pem, before.ca_pem);
    assert_int_equal(certs_verify(q.cert_pem, q.ca_pem, T0, extra, 1, NULL), 0);
    certs_pair_free(&q);

    /* a key that does not match its certificate: reissued */
    json_t *data = json_object_get(f.secret, "data");
    json_object_set(data, "tls.key", json_object_get(data, "ca.key"));
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&o, &FAKE_OPS, &f, T0, &q, NULL), 0);
    assert_string_equal(f.log, "get,publish,update,");
    assert_int_equal(certs_check_key(q.cert_pem, q.key_pem, NULL), 0);
    certs_pair_free(&q);
    certs_pair_free(&before);
    certs_pair_free(&p);
    fake_free(&f);
}

static void test_ensure_failures(void **state) {
    (void)state;
    struct op_status st = {0};
    struct certs_pair p = {0}, q = {0};

    /* the API refuses the read: error, nothing written */
    struct fake f = {.fail_get = OP_EFORBIDDEN};
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &p, &st), OP_EFORBIDDEN);
    assert_string_equal(f.log, "get,");
    assert_null(p.cert_pem);

    /* publishing fails during a renewal: nothing stored, the old pair still served */
    f.fail_get = 0;
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0, &q, NULL), 0);
    f.fail_publish = OP_ETIMEOUT;
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&OPTS, &FAKE_OPS, &f, T0 + 300 * DAY, &p, &st), OP_ETIMEOUT);
    assert_string_equal(f.log, "get,publish,");
    assert_string_equal(p.cert_pem, q.cert_pem);
    certs_pair_free(&p);

    /* read-only replica: never writes */
    f.fail_publish = 0;
    f.log[0] = '\0';
    struct certs_opts ro = OPTS;
    ro.read_only = 1;
    assert_int_equal(certs_ensure(&ro, &FAKE_OPS, &f, T0 + DAY, &p, &st), 0);
    assert_string_equal(f.log, "get,publish,");
    assert_string_equal(p.cert_pem, q.cert_pem);
    certs_pair_free(&p);
    f.log[0] = '\0';
    assert_int_equal(certs_ensure(&ro, &FAKE_OPS, &f, T0 + 300 * DAY, &p, &st), OP_ENOTFOUND);
    assert_string_equal(f.log, "get,");
    assert_string_equal(p.cert_pem, q.cert_pem);   /* still valid, so still served */
    certs_pair_free(&p);
    struct fake empty = {0};
    assert_int_equal(certs_ensure(&ro, &FAKE_OPS, &empty, T0, &p, &st), OP_ENOTFOUND);
    assert_null(p.cert_pem);
    assert_non_null(strstr(st.msg, "ops/" CERTS_DEFAULT_SECRET));

    /* bad options */
    struct certs_opts none = {0};
    assert_int_equal(certs_ensure(&none, &FAKE_OPS, &empty, T0, &p, &st), OP_EINVALID);
    certs_pair_free(&q);
    fake_free(&f);
    fake_free(&empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_properties),
        cmocka_unit_test(test_serving_chain_sans_and_key),
        cmocka_unit_test(test_serving_capped_by_ca),
        cmocka_unit_test(test_serving_bad_input),
        cmocka_unit_test(test_serials_differ),
        cmocka_unit_test(test_rotation_table),
        cmocka_unit_test(test_verify_failures),
        cmocka_unit_test(test_secret_round_trip),
        cmocka_unit_test(test_secret_bad_input),
        cmocka_unit_test(test_cabundle_patch),
        cmocka_unit_test(test_managed_configs),
        cmocka_unit_test(test_ensure_lifecycle),
        cmocka_unit_test(test_ensure_races),
        cmocka_unit_test(test_ensure_repairs),
        cmocka_unit_test(test_ensure_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
