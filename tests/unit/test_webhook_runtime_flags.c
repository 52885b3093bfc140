/* test_webhook_runtime_flags.c - the webhook's `run` flags: every flag's good and
 * bad values (table), repeatable --webhook-host, flags that are not the
 * webhook's, the checks across flags, and the --help text naming every flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "webhook/runtime.h"

struct flag_case {
    const char *name, *value;
    int want;                 /* 1 consumed, 0 not ours, <0 rejected */
    const char *msg_has;      /* for rejections: part of st.msg */
};

static const struct flag_case CASES[] = {
    {"webhook-bind-address", ":9443", 1, NULL},
    {"webhook-bind-address", "0", 1, NULL},
    {"webhook-bind-address", NULL, OP_EINVALID, "needs a value"},
    {"operator-namespace", "tracing-system", 1, NULL},
    {"operator-namespace", "Tracing_System", OP_EINVALID, "--operator-namespace"},
    {"operator-namespace", "", OP_EINVALID, "DNS label"},
    {"cert-mode", "self-signed", 1, NULL},
    {"cert-mode", "files", 1, NULL},
    {"cert-mode", "cert-manager", OP_EINVALID, "want self-signed or files"},
    {"cert-dir", "/etc/tracing-operator/certs", 1, NULL},
    {"cert-dir", "", OP_EINVALID, "--cert-dir"},
    {"webhook-host", "127.0.0.1", 1, NULL},
    {"webhook-host", "::1", 1, NULL},
    {"webhook-host", "hooks.example.com", 1, NULL},
    {"webhook-host", "bad host", OP_EINVALID, "DNS name or an IP"},
    {"webhook-host", "*.example.com", OP_EINVALID, "--webhook-host"},
    {"webhook-config", "manage", 1, NULL},
    {"webhook-config", "patch", 1, NULL},
    {"webhook-config", "create", OP_EINVALID, "want manage or patch"},
    {"webhook-url", "https://127.0.0.1:9443", 1, NULL},
    {"webhook-url", "https://hooks.example.com", 1, NULL},
    {"webhook-url", "http://127.0.0.1:9443", OP_EINVALID, "https://"},
    {"webhook-url", "https://", OP_EINVALID, "--webhook-url"},
    {"webhook-url", "https://:9443", OP_EINVALID, "--webhook-url"},
    {"webhook-service-name", "tracing-webhook", 1, NULL},
    {"webhook-service-name", "tracing.webhook", OP_EINVALID, "DNS label"},
    {"webhook-secret-name", "tracing.webhook-cert", 1, NULL},
    {"webhook-secret-name", "Cert", OP_EINVALID, "DNS name"},
    {"mutating-webhook-name", "tracing", 1, NULL},
    {"mutating-webhook-name", "-x", OP_EINVALID, "--mutating-webhook-name"},
    {"validating-webhook-name", "tracing", 1, NULL},
    {"validating-webhook-name", "a/b", OP_EINVALID, "--validating-webhook-name"},
    {"webhook-threads", "1", 1, NULL},
    {"webhook-threads", "16", 1, NULL},
    {"webhook-threads", "0", OP_EINVALID, "from 1 to 16"},
    {"webhook-threads", "17", OP_EINVALID, "from 1 to 16"},
    {"webhook-threads", "99999999999", OP_EINVALID, "--webhook-threads"},
    {"webhook-threads", "2x", OP_EINVALID, "--webhook-threads"},
    {"webhook-threads", "", OP_EINVALID, "--webhook-threads"},
    {"webhook-threads", "-1", OP_EINVALID, "--webhook-threads"},
    {"leader-elect", "true", 0, NULL},
    {"namespace", "shop", 0, NULL},
    {"webhook", "x", 0, NULL},
};

static void test_flag_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        const struct flag_case *c = &CASES[i];
        struct webhook_runtime_opts o = {0};
        struct op_status st = {0};
        int rc = webhook_runtime_flag(&o, c->name, c->value, &st);
        if (rc != c->want)
            fail_msg("--%s=%s: got %d, want %d (%s)", c->name, c->value ? c->value : "(none)",
                     rc, c->want, st.msg);
        if (c->msg_has && !strstr(st.msg, c->msg_has))
            fail_msg("--%s=%s: message \"%s\" lacks \"%s\"", c->name,
                     c->value ? c->value : "(none)", st.msg, c->msg_has);
        if (rc < 0 && !strstr(st.msg, c->name))
            fail_msg("--%s: the message does not name the flag: %s", c->name, st.msg);
    }
}

/* Every value lands in its field. */
static void test_flags_fill_fields(void **state) {
    (void)state;
    struct webhook_runtime_opts o = {0};
    struct op_status st = {0};
    const char *argv[][2] = {
        {"webhook-bind-address", "127.0.0.1:9443"}, {"operator-namespace", "ops"},
        {"cert-mode", "self-signed"},               {"webhook-config", "manage"},
        {"webhook-url", "https://127.0.0.1:9443"},  {"webhook-service-name", "svc"},
        {"webhook-secret-name", "sec"},             {"mutating-webhook-name", "mwc"},
        {"validating-webhook-name", "vwc"},         {"webhook-threads", "4"},
    };
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        assert_int_equal(webhook_runtime_flag(&o, argv[i][0], argv[i][1], &st), 1);
    assert_string_equal(o.bind_address, "127.0.0.1:9443");
    assert_string_equal(o.operator_namespace, "ops");
    assert_string_equal(o.cert_mode, "self-signed");
    assert_string_equal(o.webhook_config, "manage");
    assert_string_equal(o.webhook_url, "https://127.0.0.1:9443");
    assert_string_equal(o.service_name, "svc");
    assert_string_equal(o.secret_name, "sec");
    assert_string_equal(o.mutating_name, "mwc");
    assert_string_equal(o.validating_name, "vwc");
    assert_int_equal(o.threads, 4);
    assert_int_equal(webhook_runtime_flags_check(&o, &st), 0);
}

/* --webhook-host repeats (duplicates once), up to the limit. */
static void test_hosts_repeat(void **state) {
    (void)state;
    struct webhook_runtime_opts o = {0};
    struct op_status st = {0};
    assert_int_equal(webhook_runtime_flag(&o, "webhook-host", "a.example.com", &st), 1);
    assert_int_equal(webhook_runtime_flag(&o, "webhook-host", "10.0.0.1", &st), 1);
    assert_int_equal(webhook_runtime_flag(&o, "webhook-host", "a.example.com", &st), 1);
    assert_int_equal(o.nhosts, 2);
    assert_string_equal(o.hosts[0], "a.example.com");
    assert_string_equal(o.hosts[1], "10.0.0.1");
    static char names[WEBHOOK_RUNTIME_MAX_HOSTS][24];
    for (int i = 0; o.nhosts < WEBHOOK_RUNTIME_MAX_HOSTS; i++) {
        snprintf(names[i], sizeof(names[i]), "h%d.example", i);
        assert_int_equal(webhook_runtime_flag(&o, "webhook-host", names[i], &st), 1);
    }
    assert_int_equal(webhook_runtime_flag(&o, "webhook-host", "one-more.example", &st),
                     OP_EINVALID);
    assert_non_null(strstr(st.msg, "at most 16"));
}

struct check_case {
    const char *cert_mode, *cert_dir, *host, *bind;
    int want;
    const char *msg_has;
};

static void test_flags_check(void **state) {
    (void)state;
    static const struct check_case cases[] = {
        {NULL, NULL, NULL, NULL, 0, NULL},                      /* self-signed by default */
        {NULL, "/certs", NULL, NULL, 0, NULL},                  /* files by --cert-dir */
        {"files", "/certs", NULL, NULL, 0, NULL},
        {"self-signed", NULL, "127.0.0.1", NULL, 0, NULL},
        {"files", NULL, NULL, NULL, OP_EINVALID, "--cert-mode files needs --cert-dir"},
        {"self-signed", "/certs", NULL, NULL, OP_EINVALID, "--cert-dir is for --cert-mode files"},
        {NULL, "/certs", "127.0.0.1", NULL, OP_EINVALID, "--webhook-host is for"},
        {"files", NULL, NULL, "0", 0, NULL},                    /* disabled: nothing to check */
        {"files", NULL, NULL, "", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct webhook_runtime_opts o = {.cert_mode = cases[i].cert_mode,
                                         .cert_dir = cases[i].cert_dir,
                                         .bind_address = cases[i].bind};
        if (cases[i].host)
            o.hosts[o.nhosts++] = cases[i].host;
        struct op_status st = {0};
        int rc = webhook_runtime_flags_check(&o, &st);
        if (rc != cases[i].want)
            fail_msg("case %zu: got %d want %d (%s)", i, rc, cases[i].want, st.msg);
        if (cases[i].msg_has && !strstr(st.msg, cases[i].msg_has))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, st.msg, cases[i].msg_has);
    }
}

static void test_enabled(void **state) {
    (void)state;
    struct webhook_runtime_opts o = {0};
    assert_true(webhook_runtime_enabled(&o));
    o.bind_address = ":9443";
    assert_true(webhook_runtime_enabled(&o));
    o.bind_address = "0";
    assert_false(webhook_runtime_enabled(&o));
    o.bind_address = "";
    assert_false(webhook_runtime_enabled(&o));
}

/* --help names every flag, and every listed name is consumed. */
static void test_help_and_names(void **state) {
    (void)state;
    const char *help = webhook_runtime_flags_help();
    const char *const *names = webhook_runtime_flag_names();
    size_t n = 0;
    for (; names[n]; n++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s ", names[n]);
        if (!strstr(help, flag))
            fail_msg("--help lacks %s", flag);
        struct webhook_runtime_opts o = {0};
        assert_int_not_equal(webhook_runtime_flag(&o, names[n], "x", NULL), 0);
    }
    assert_int_equal(n, 12);
    assert_int_equal(help[strlen(help) - 1], '\n');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_table),     cmocka_unit_test(test_flags_fill_fields),
        cmocka_unit_test(test_hosts_repeat),   cmocka_unit_test(test_flags_check),
        cmocka_unit_test(test_enabled),        cmocka_unit_test(test_help_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
