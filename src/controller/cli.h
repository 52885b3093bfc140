/* cli.h - `tracing-operator run`: flags, start-up and signal handling.
 *
 * Flags: --kubeconfig, --context, --namespace (repeatable or comma-separated;
 * default all), --concurrency, --leader-elect, --leader-election-namespace,
 * --leader-election-id, --metrics-bind-address, --health-probe-bind-address,
 * --log-level, --install-crds, --help. A `--flag=value` form works for all.
 *
 * Other parts of `run` (the admission webhook) hook in through struct
 * ctrl_run_hooks: their flags are parsed with ours, they start once the
 * controller's caches exist (lookups answer "not synced" until they are) and
 * stop first on SIGTERM. Logs are JSON lines; no token is ever logged. */
#ifndef OP_CONTROLLER_CLI_H
#define OP_CONTROLLER_CLI_H
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/controller.h"
#include "controller/probes.h"

/* Parsed flags (strings borrowed from argv). */
struct ctrl_flags {
    const char *kubeconfig, *context;
    const char *namespaces[CTRL_MAX_NAMESPACES];
    size_t n_namespaces;
    char *ns_copies[CTRL_MAX_NAMESPACES];   /* the split flag values (ctrl_flags_done) */
    size_t n_copies;
    int concurrency;
    int leader_elect;
    const char *leader_ns, *leader_id;
    const char *metrics_addr, *health_addr;
    const char *log_level;
    int install_crds;
    int help;
};

/* Codes >= CTRL_HOOK_OPTION_BASE are the hooks' own options. */
#define CTRL_HOOK_OPTION_BASE 1000

struct ctrl_run_hooks {
    const struct option *options;   /* extra long options ({0}-terminated), val >= 1000 */
    /* One of those options was given; 0, or -1 with a message in err (usage error). */
    int (*on_option)(void *ud, int val, const char *arg, char *err, size_t errlen);
    const char *usage;              /* extra lines for --help */
    /* After the controller started (caches filling). 0, or non-zero to exit with 1. */
    int (*start)(void *ud, struct controller *c);
    /* On shutdown, before the controller stops; must return within ~1 s. */
    void (*stop)(void *ud);
    /* Optional: more /metrics lines and a readiness /readyz also requires. */
    struct ctrl_probe_ext probes;
    void *ud;
};

/* Pure: parses argv (argv[0] = "run") into f. 0, or -1 with a message in err
 * (unknown flag, missing or bad value). */
int ctrl_flags_parse(int argc, char **argv, const struct ctrl_run_hooks *hooks,
                     struct ctrl_flags *f, char *err, size_t errlen);
void ctrl_flags_done(struct ctrl_flags *f);
void ctrl_usage(FILE *out, const struct ctrl_run_hooks *hooks);

/* The whole `run`; returns the exit code. hooks may be NULL. */
int controller_cli_run_hooks(int argc, char **argv, const struct ctrl_run_hooks *hooks);

#endif
