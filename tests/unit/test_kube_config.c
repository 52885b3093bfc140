/* test_kube_config.c - kubeconfig parsing variants, the in-cluster config,
 * reading the referenced files, and kubectl's loading order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"
#include "testutil.h"

static int parse_fixture(const char *rel, const char *context, struct kube_config *cfg,
                         struct op_status *st) {
    size_t n;
    char *text = tu_read_file(rel, &n);
    char origin[4096];
    snprintf(origin, sizeof(origin), "%s", tu_path(rel));
    int rc = kube_config_parse(text, n, origin, context, cfg, st);
    free(text);
    return rc;
}

static void token_current_context(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/token.yaml", NULL, &cfg, &st), 0);
    assert_string_equal(cfg.server, "https://dev.example.com:6443");   /* trailing '/' dropped */
    assert_string_equal(cfg.context, "dev");
    assert_string_equal(cfg.user, "dev-user");
    assert_string_equal(cfg.ns, "tracing");
    assert_string_equal(cfg.token, "dev-token-123");
    assert_null(cfg.token_file);
    assert_false(cfg.insecure_skip_tls_verify);
    assert_null(cfg.proxy_url);
    assert_null(cfg.note);
    /* relative to the kubeconfig's directory, not the working directory */
    char want[4096];
    snprintf(want, sizeof(want), "%s", tu_path("tests/fixtures/kube/ca.crt"));
    assert_string_equal(cfg.ca_file, want);
    assert_null(cfg.ca_pem);

    /* the edge reads the CA file into bytes */
    assert_int_equal(kube_config_read_files(&cfg, &st), 0);
    size_t n;
    char *ca = tu_read_file("tests/fixtures/kube/ca.crt", &n);
    assert_int_equal(cfg.ca_len, n);
    assert_memory_equal(cfg.ca_pem, ca, n);
    free(ca);
    kube_config_free(&cfg);
}

static void context_override_insecure_token_file(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/token.yaml", "prod", &cfg, &st), 0);
    assert_string_equal(cfg.context, "prod");
    assert_string_equal(cfg.server, "https://prod.example.com");
    assert_true(cfg.insecure_skip_tls_verify);
    assert_string_equal(cfg.ns, "default");
    assert_null(cfg.token);
    assert_string_equal(cfg.token_file, "/var/run/prod-token");
    assert_null(cfg.ca_file);
    assert_string_equal(cfg.proxy_url, "http://proxy.corp:3128");
    assert_non_null(cfg.note);   /* tls-server-name is not silently dropped */
    assert_non_null(strstr(cfg.note, "tls-server-name (cluster \"prod-cluster\") is not supported"));
    kube_config_free(&cfg);
}

static void missing_context_lists_the_known_ones(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/token.yaml", "staging", &cfg, &st),
                     OP_EINVALID);
    assert_non_null(strstr(st.msg, "context \"staging\" not found"));
    assert_non_null(strstr(st.msg, "\"dev\", \"prod\""));
    assert_null(cfg.server);   /* nothing half-filled */
    kube_config_free(&cfg);
}

static void client_cert_data(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/certdata.yaml", NULL, &cfg, &st), 0);
    assert_string_equal(cfg.server, "https://127.0.0.1:36443");
    assert_int_equal(cfg.cert_len, strlen("client-cert-pem"));
    assert_string_equal(cfg.cert_pem, "client-cert-pem");
    assert_string_equal(cfg.key_pem, "client-key-pem");
    size_t n;
    char *ca = tu_read_file("tests/fixtures/kube/ca.crt", &n);
    assert_int_equal(cfg.ca_len, n);
    assert_memory_equal(cfg.ca_pem, ca, n);
    free(ca);
    assert_null(cfg.token);
    /* the data is already there: reading files changes nothing */
    assert_int_equal(kube_config_read_files(&cfg, &st), 0);
    assert_string_equal(cfg.key_pem, "client-key-pem");
    kube_config_free(&cfg);
}

static void exec_plugin_not_supported(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/exec.yaml", NULL, &cfg, &st),
                     OP_EUNSUPPORTED);
    assert_non_null(strstr(st.msg, "user \"arn:aws:eks:eu-west-1:1234:cluster/prod\""));
    assert_non_null(strstr(st.msg, ".exec"));
    assert_non_null(strstr(st.msg, "not supported"));
    kube_config_free(&cfg);
}

static void auth_provider_not_supported(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/authprovider.yaml", NULL, &cfg, &st),
                     OP_EUNSUPPORTED);
    assert_non_null(strstr(st.msg, "user \"gke-user\""));
    assert_non_null(strstr(st.msg, "auth-provider"));
    kube_config_free(&cfg);
}

static void malformed_yaml_has_line(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(parse_fixture("tests/fixtures/kube/malformed.yaml", NULL, &cfg, &st),
                     OP_EPARSE);
    assert_non_null(strstr(st.msg, "malformed.yaml: line 7"));
    kube_config_free(&cfg);
}

/* Inline kubeconfigs that are wrong in one way each, and the field the error names. */
static void bad_variants(void **state) {
    static const struct {
        const char *yaml;
        int code;
        const char *msg;
    } cases[] = {
        {"clusters: []\n", OP_EINVALID, "current-context is not set"},
        {"- a\n- b\n", OP_EINVALID, "must be a mapping"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {}}]\n",
         OP_EINVALID, "clusters[0].cluster.server (cluster \"k\"): required"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {server: \"ftp://x\"}}]\n",
         OP_EINVALID, "must start with https://"},
        {"current-context: c\ncontexts: [{name: c, context: {user: u}}]\n",
         OP_EINVALID, "contexts[0].context.cluster (context \"c\"): required"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
         "clusters: [{name: other, cluster: {server: \"https://x\"}}]\n",
         OP_EINVALID, "cluster \"k\" not found (clusters: \"other\")"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n",
         OP_EINVALID, "user \"u\" not found (users: none)"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: {token: 42}}]\n",
         OP_EINVALID, "users[0].user.token: must be a string"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: {token: \"a b\"}}]\n",
         OP_EINVALID, "token): contains whitespace"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: {client-certificate-data: Y2VydA==}}]\n",
         OP_EINVALID, "client-certificate and client-key must be given together"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: {client-certificate-data: \"not*base64\", client-key: k}}]\n",
         OP_EINVALID, "users[0].user.client-certificate-data: not valid base64"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\", insecure-skip-tls-verify: yes}}]\n",
         OP_EINVALID, "insecure-skip-tls-verify: must be true or false"},
        {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: {username: admin, password: secret}}]\n",
         OP_EUNSUPPORTED, "basic authentication is not supported"},
        {"current-context: c\ncontexts: {c: 1}\n", OP_EINVALID, "contexts: must be a list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kube_config cfg;
        struct op_status st = {0};
        kube_config_init(&cfg);
        int rc = kube_config_parse(cases[i].yaml, strlen(cases[i].yaml), "/k/config", NULL, &cfg,
                                   &st);
        if (rc != cases[i].code || !strstr(st.msg, cases[i].msg))
            fail_msg("case %zu: got %d \"%s\", want %d containing \"%s\"", i, rc, st.msg,
                     cases[i].code, cases[i].msg);
        assert_non_null(strstr(st.msg, "/k/config: "));   /* says which file */
        assert_null(strstr(st.msg, "secret"));             /* never echoes a password */
        kube_config_free(&cfg);
    }
}

static void in_cluster(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    assert_int_equal(kube_config_in_cluster("10.96.0.1", "443", NULL, &cfg, &st), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token_file, KUBE_SA_DIR "/token");
    assert_string_equal(cfg.ca_file, KUBE_SA_DIR "/ca.crt");
    assert_string_equal(cfg.ns_file, KUBE_SA_DIR "/namespace");
    assert_string_equal(cfg.context, "in-cluster");

    assert_int_equal(kube_config_in_cluster("fd00::1", "6443", NULL, &cfg, &st), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:6443");

    assert_int_equal(kube_config_in_cluster("", "443", NULL, &cfg, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "KUBERNETES_SERVICE_HOST"));
    assert_int_equal(kube_config_in_cluster("h", "https", NULL, &cfg, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "not a port number"));

    /* the service-account files: token (trimmed), CA, namespace */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_path("tests/fixtures/kube/serviceaccount"));
    assert_int_equal(kube_config_in_cluster("10.96.0.1", "443", dir, &cfg, &st), 0);
    assert_int_equal(kube_config_read_files(&cfg, &st), 0);
    assert_string_equal(cfg.token, "sa-token-abc");
    assert_string_equal(cfg.ns, "observability");
    assert_non_null(strstr(cfg.ca_pem, "BEGIN CERTIFICATE"));
    kube_config_free(&cfg);

    /* a missing token file is an error that names it */
    assert_int_equal(kube_config_in_cluster("10.96.0.1", "443", "/nonexistent-sa", &cfg, &st), 0);
    assert_int_equal(kube_config_read_files(&cfg, &st), OP_ENOTFOUND);
    assert_non_null(strstr(st.msg, "/nonexistent-sa/ca.crt"));
    kube_config_free(&cfg);
}

static char *write_temp(const char *content) {
    char *path = strdup("/tmp/kube-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static void token_file_reading(void **state) {
    char *tok = NULL;
    struct op_status st = {0};
    char *p = write_temp("abc.def-ghi\r\n\n");
    assert_int_equal(kube_read_token_file(p, &tok, &st), 0);
    assert_string_equal(tok, "abc.def-ghi");
    free(tok);
    unlink(p);
    free(p);

    p = write_temp("two words\n");
    assert_int_equal(kube_read_token_file(p, &tok, &st), OP_EINVALID);
    assert_null(strstr(st.msg, "two"));   /* the message never shows the token */
    unlink(p);
    free(p);

    p = write_temp("\n");
    assert_int_equal(kube_read_token_file(p, &tok, &st), OP_EINVALID);
    assert_non_null(strstr(st.msg, "empty"));
    unlink(p);
    free(p);
}

static void clear_env(void) {
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void loading_order(void **state) {
    struct kube_config cfg;
    struct op_status st = {0};
    char certdata[4096], token[4096], home[4096], sa[4096];
    snprintf(certdata, sizeof(certdata), "%s", tu_path("tests/fixtures/kube/certdata.yaml"));
    snprintf(token, sizeof(token), "%s", tu_path("tests/fixtures/kube/token.yaml"));
    snprintf(home, sizeof(home), "%s", tu_path("tests/fixtures/kube/home"));
    snprintf(sa, sizeof(sa), "%s", tu_path("tests/fixtures/kube/serviceaccount"));
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    kube_config_init(&cfg);
    clear_env();
    setenv("HOME", home, 1);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    char env[8300];
    snprintf(env, sizeof(env), "%s:%s", certdata, token);
    setenv("KUBECONFIG", env, 1);

    /* 1. --kubeconfig wins over everything */
    struct kube_load_opts o = {.kubeconfig = token, .sa_dir = sa};
    assert_int_equal(kube_config_load(&o, &cfg, &st), 0);
    assert_string_equal(cfg.context, "dev");
    assert_null(cfg.note);

    /* 2. then the first file of $KUBECONFIG, saying the rest is ignored */
    o.kubeconfig = NULL;
    assert_int_equal(kube_config_load(&o, &cfg, &st), 0);
    assert_string_equal(cfg.context, "kind-kind");
    assert_non_null(cfg.note);
    assert_non_null(strstr(cfg.note, "only the first"));

    /* 3. then in-cluster */
    unsetenv("KUBECONFIG");
    assert_int_equal(kube_config_load(&o, &cfg, &st), 0);
    assert_string_equal(cfg.context, "in-cluster");
    assert_string_equal(cfg.token, "sa-token-abc");
    assert_string_equal(cfg.ns, "observability");

    /* 4. then ~/.kube/config */
    clear_env();
    assert_int_equal(kube_config_load(&o, &cfg, &st), 0);
    assert_string_equal(cfg.context, "home-ctx");

    /* nothing at all: says what was tried */
    setenv("HOME", "/nonexistent-home", 1);
    assert_int_equal(kube_config_load(&o, &cfg, &st), OP_ENOTFOUND);
    assert_non_null(strstr(st.msg, "/nonexistent-home/.kube/config"));
    assert_null(cfg.server);

    /* an explicit file that does not exist names the flag */
    o.kubeconfig = "/nonexistent/kubeconfig";
    assert_int_equal(kube_config_load(&o, &cfg, &st), OP_ENOTFOUND);
    assert_non_null(strstr(st.msg, "--kubeconfig"));
    assert_non_null(strstr(st.msg, "/nonexistent/kubeconfig"));

    if (old_home)
        setenv("HOME", old_home, 1);
    free(old_home);
    kube_config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_current_context),
        cmocka_unit_test(context_override_insecure_token_file),
        cmocka_unit_test(missing_context_lists_the_known_ones),
        cmocka_unit_test(client_cert_data),
        cmocka_unit_test(exec_plugin_not_supported),
        cmocka_unit_test(auth_provider_not_supported),
        cmocka_unit_test(malformed_yaml_has_line),
        cmocka_unit_test(bad_variants),
        cmocka_unit_test(in_cluster),
        cmocka_unit_test(token_file_reading),
        cmocka_unit_test(loading_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
