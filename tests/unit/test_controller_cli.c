/* test_controller_cli.c - `run` flag parsing: defaults, every flag in both forms,
 * repeated and comma-separated namespaces, and clear errors for bad values,
 * unknown flags and stray arguments; hook options are passed through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "controller/cli.h"

static int parse(struct ctrl_flags *f, char *err, const char *const *args) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"run";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return ctrl_flags_parse(argc, argv, NULL, f, err, 256);
}

static void defaults(void **state) {
    (void)state;
    struct ctrl_flags f;
    char err[256] = "";
    const char *args[] = {NULL};
    assert_int_equal(parse(&f, err, args), 0);
    assert_int_equal(f.concurrency, CTRL_DEFAULT_CONCURRENCY);
    assert_int_equal(f.n_namespaces, 0);
    assert_false(f.leader_elect);
    assert_false(f.install_crds);
    assert_string_equal(f.metrics_addr, ":8080");
    assert_string_equal(f.health_addr, ":8081");
    assert_string_equal(f.log_level, "info");
    assert_null(f.kubeconfig);
    ctrl_flags_done(&f);
}

static void every_flag(void **state) {
    (void)state;
    struct ctrl_flags f;
    char err[256] = "";
    const char *args[] = {"--kubeconfig", "/tmp/kc", "--context=dev", "--namespace", "a",
                          "--namespace=b,c", "--namespace", "a", "--concurrency", "8",
                          "--leader-elect", "--leader-election-namespace", "ops",
                          "--leader-election-id=my-lock", "--metrics-bind-address", "0",
                          "--health-probe-bind-address=:9000", "--log-level", "debug",
                          "--install-crds=true", NULL};
    assert_int_equal(parse(&f, err, args), 0);
    assert_string_equal(f.kubeconfig, "/tmp/kc");
    assert_string_equal(f.context, "dev");
    assert_int_equal(f.n_namespaces, 3);   /* "a" twice counts once */
    assert_string_equal(f.namespaces[0], "a");
    assert_string_equal(f.namespaces[1], "b");
    assert_string_equal(f.namespaces[2], "c");
    assert_int_equal(f.concurrency, 8);
    assert_true(f.leader_elect);
    assert_string_equal(f.leader_ns, "ops");
    assert_string_equal(f.leader_id, "my-lock");
    assert_false(ctrl_probes_addr_on(f.metrics_addr));
    assert_string_equal(f.health_addr, ":9000");
    assert_string_equal(f.log_level, "debug");
    assert_true(f.install_crds);
    ctrl_flags_done(&f);
    const char *off[] = {"--leader-elect=false", "--install-crds=0", NULL};
    assert_int_equal(parse(&f, err, off), 0);
    assert_false(f.leader_elect);
    assert_false(f.install_crds);
    ctrl_flags_done(&f);
}

struct bad {
    const char *args[4];
    const char *want;   /* part of the message */
};

static void bad_input_is_named(void **state) {
    (void)state;
    static const struct bad cases[] = {
        {{"--concurrency", "0", NULL}, "--concurrency"},
        {{"--concurrency", "4x", NULL}, "--concurrency"},
        {{"--concurrency=99999", NULL}, "--concurrency"},
        {{"--namespace", "Not_Valid", NULL}, "Not_Valid"},
        {{"--namespace", "a,,b", NULL}, "--namespace"},
        {{"--leader-elect=maybe", NULL}, "--leader-elect"},
        {{"--leader-election-namespace", "UP", NULL}, "--leader-election-namespace"},
        {{"--leader-election-id", "bad id", NULL}, "--leader-election-id"},
        {{"--log-level", "loud", NULL}, "--log-level"},
        {{"--no-such-flag", NULL}, "unknown flag"},
        {{"--kubeconfig", NULL}, "missing value"},
        {{"stray", NULL}, "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ctrl_flags f;
        char err[256] = "";
        assert_int_equal(parse(&f, err, cases[i].args), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err, cases[i].want);
        ctrl_flags_done(&f);
    }
}

static int hook_seen;
static int on_hook(void *ud, int val, const char *arg, char *err, size_t errlen) {
    (void)ud;
    if (val == CTRL_HOOK_OPTION_BASE && arg && !strcmp(arg, "/certs")) {
        hook_seen = 1;
        return 0;
    }
    snprintf(err, errlen, "--cert-dir: bad");
    return -1;
}

static void hook_options_pass_through(void **state) {
    (void)state;
    static const struct option extra[] = {{"cert-dir", required_argument, NULL,
                                           CTRL_HOOK_OPTION_BASE},
                                          {NULL, 0, NULL, 0}};
    struct ctrl_run_hooks hooks = {.options = extra, .on_option = on_hook};
    char *argv[] = {(char *)"run", (char *)"--cert-dir", (char *)"/certs", (char *)"--leader-elect",
                    NULL};
    struct ctrl_flags f;
    char err[256] = "";
    assert_int_equal(ctrl_flags_parse(4, argv, &hooks, &f, err, sizeof(err)), 0);
    assert_true(hook_seen);
    assert_true(f.leader_elect);
    ctrl_flags_done(&f);
    char *bad[] = {(char *)"run", (char *)"--cert-dir=/x", NULL};
    assert_int_equal(ctrl_flags_parse(2, bad, &hooks, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--cert-dir"));
    ctrl_flags_done(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(every_flag),
        cmocka_unit_test(bad_input_is_named),
        cmocka_unit_test(hook_options_pass_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
