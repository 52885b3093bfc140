/* cli_flags.c - `tracing-operator run` flag parsing and usage (pure: argv in,
 * struct ctrl_flags out; see cli.h). */
#include "controller/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/xalloc.h"

enum {
    OPT_KUBECONFIG = 256,
    OPT_CONTEXT,
    OPT_NAMESPACE,
    OPT_CONCURRENCY,
    OPT_LEADER_ELECT,
    OPT_LEADER_NS,
    OPT_LEADER_ID,
    OPT_METRICS,
    OPT_HEALTH,
    OPT_LOG_LEVEL,
    OPT_INSTALL_CRDS,
};

static const struct option base_options[] = {
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"leader-elect", optional_argument, NULL, OPT_LEADER_ELECT},
    {"leader-election-namespace", required_argument, NULL, OPT_LEADER_NS},
    {"leader-election-id", required_argument, NULL, OPT_LEADER_ID},
    {"metrics-bind-address", required_argument, NULL, OPT_METRICS},
    {"health-probe-bind-address", required_argument, NULL, OPT_HEALTH},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"install-crds", optional_argument, NULL, OPT_INSTALL_CRDS},
    {"help", no_argument, NULL, 'h'},
};
#define N_BASE_OPTIONS (sizeof(base_options) / sizeof(base_options[0]))

void ctrl_usage(FILE *out, const struct ctrl_run_hooks *hooks) {
    fprintf(out,
            "Usage: tracing-operator run [flags]\n\n"
            "Runs the controller (and the admission webhook) against a cluster.\n\n"
            "Flags:\n"
            "  --kubeconfig PATH                 kubeconfig file (default: $KUBECONFIG, "
            "in-cluster, ~/.kube/config)\n"
            "  --context NAME                    kubeconfig context (default: current)\n"
            "  --namespace NS                    watch only NS; repeatable or a,b,c "
            "(default: all namespaces)\n"
            "  --concurrency N                   reconcile workers (default %d)\n"
            "  --leader-elect[=true|false]       elect a leader with a Lease (for more than "
            "one replica)\n"
            "  --leader-election-namespace NS    namespace of the Lease (default: the "
            "operator's own)\n"
            "  --leader-election-id NAME         name of the Lease (default %s)\n"
            "  --metrics-bind-address ADDR       /metrics listener (default %s; \"0\" = off)\n"
            "  --health-probe-bind-address ADDR  /healthz and /readyz listener (default %s; "
            "\"0\" = off)\n"
            "  --log-level LEVEL                 debug, info, warn or error (default info)\n"
            "  --install-crds[=true|false]       apply the embedded CRDs at start\n"
            "  -h, --help                        this help\n",
            CTRL_DEFAULT_CONCURRENCY, CTRL_DEFAULT_LEASE_ID, CTRL_DEFAULT_METRICS_ADDR,
            CTRL_DEFAULT_HEALTH_ADDR);
    if (hooks && hooks->usage)
        fputs(hooks->usage, out);
}

static int parse_bool(const char *arg, int *out) {
    if (!arg || !strcmp(arg, "true") || !strcmp(arg, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(arg, "false") || !strcmp(arg, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_int(const char *arg, int lo, int hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || !end || *end || end == arg || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Splits "a,b" into f->namespaces, each checked as a DNS label. */
static int add_namespaces(struct ctrl_flags *f, const char *arg, char *err, size_t errlen) {
    if (f->n_copies == CTRL_MAX_NAMESPACES) {
        snprintf(err, errlen, "--namespace: at most %d flags", CTRL_MAX_NAMESPACES);
        return -1;
    }
    char *copy = xstrdup(arg);
    f->ns_copies[f->n_copies++] = copy;
    for (char *tok = copy; tok;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (!is_dns_label(tok)) {
            snprintf(err, errlen, "--namespace: \"%s\" is not a valid namespace name", tok);
            return -1;
        }
        if (f->n_namespaces == CTRL_MAX_NAMESPACES) {
            snprintf(err, errlen, "--namespace: at most %d namespaces", CTRL_MAX_NAMESPACES);
            return -1;
        }
        int dup = 0;
        for (size_t i = 0; i < f->n_namespaces; i++)
            dup |= !strcmp(f->namespaces[i], tok);
        if (!dup)
            f->namespaces[f->n_namespaces++] = tok;
        tok = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int base_option(struct ctrl_flags *f, int c, const char *arg, char *err, size_t errlen) {
    int lvl_ok;
    switch (c) {
    case OPT_KUBECONFIG:
        f->kubeconfig = arg;
        return 0;
    case OPT_CONTEXT:
        f->context = arg;
        return 0;
    case OPT_NAMESPACE:
        return add_namespaces(f, arg, err, errlen);
    case OPT_CONCURRENCY:
        if (parse_int(arg, 1, 256, &f->concurrency) == 0)
            return 0;
        snprintf(err, errlen, "--concurrency: want a number from 1 to 256, got \"%s\"", arg);
        return -1;
    case OPT_LEADER_ELECT:
        if (parse_bool(arg, &f->leader_elect) == 0)
            return 0;
        snprintf(err, errlen, "--leader-elect: want true or false, got \"%s\"", arg);
        return -1;
    case OPT_LEADER_NS:
        if (is_dns_label(arg)) {
            f->leader_ns = arg;
            return 0;
        }
        snprintf(err, errlen, "--leader-election-namespace: \"%s\" is not a namespace name", arg);
        return -1;
    case OPT_LEADER_ID:
        if (is_dns_subdomain(arg)) {
            f->leader_id = arg;
            return 0;
        }
        snprintf(err, errlen, "--leader-election-id: \"%s\" is not a valid object name", arg);
        return -1;
    case OPT_METRICS:
        f->metrics_addr = arg;
        return 0;
    case OPT_HEALTH:
        f->health_addr = arg;
        return 0;
    case OPT_LOG_LEVEL:
        lvl_ok = !strcmp(arg, "debug") || !strcmp(arg, "info") || !strcmp(arg, "warn") ||
                 !strcmp(arg, "error");
        if (lvl_ok) {
            f->log_level = arg;
            return 0;
        }
        snprintf(err, errlen, "--log-level: want debug, info, warn or error, got \"%s\"", arg);
        return -1;
    case OPT_INSTALL_CRDS:
        if (parse_bool(arg, &f->install_crds) == 0)
            return 0;
        snprintf(err, errlen, "--install-crds: want true or false, got \"%s\"", arg);
        return -1;
    case 'h':
        f->help = 1;
        return 0;
    default:
        snprintf(err, errlen, "unknown flag");
        return -1;
    }
}

int ctrl_flags_parse(int argc, char **argv, const struct ctrl_run_hooks *hooks,
                     struct ctrl_flags *f, char *err, size_t errlen) {
    memset(f, 0, sizeof(*f));
    f->concurrency = CTRL_DEFAULT_CONCURRENCY;
    f->metrics_addr = CTRL_DEFAULT_METRICS_ADDR;
    f->health_addr = CTRL_DEFAULT_HEALTH_ADDR;
    f->log_level = "info";
    size_t extra = 0;
    while (hooks && hooks->options && hooks->options[extra].name)
        extra++;
    struct option *opts = xcalloc(N_BASE_OPTIONS + extra + 1, sizeof(*opts));
    memcpy(opts, base_options, sizeof(base_options));
    if (extra)
        memcpy(opts + N_BASE_OPTIONS, hooks->options, extra * sizeof(*opts));
    int rc = 0;
    optind = 1;
    opterr = 0;
    for (;;) {
        int longidx = -1;
        int c = getopt_long(argc, argv, "+:h", opts, &longidx);
        if (c == -1)
            break;
        if (c == '?' || c == ':') {
            const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
            snprintf(err, errlen, c == ':' ? "%s: missing value" : "unknown flag %s", bad);
            rc = -1;
            break;
        }
        if (c >= CTRL_HOOK_OPTION_BASE) {
            if (!hooks->on_option || hooks->on_option(hooks->ud, c, optarg, err, errlen) != 0) {
                rc = -1;
                break;
            }
            continue;
        }
        if (base_option(f, c, optarg, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        rc = -1;
    }
    free(opts);
    return rc;
}

void ctrl_flags_done(struct ctrl_flags *f) {
    for (size_t i = 0; i < f->n_copies; i++)
        free(f->ns_copies[i]);
    f->n_copies = 0;
}

