/* cmd_run.c - `tracing-operator run`: the controller (src/controller) with the admission
 * webhook runtime (src/webhook/runtime) plugged in through the controller's run hooks:
 * the webhook's flags are parsed with the controller's, it starts once the controller's
 * caches exist (its lookups read them), only the leader writes certificates and webhook
 * configurations, /readyz waits for a usable certificate, and /metrics gains the
 * webhook's counters (webhook_runtime_metrics). */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "controller/caches.h"
#include "controller/cli.h"
#include "controller/controller.h"
#include "webhook/runtime.h"

#define RUN_MAX_HOOK_OPTIONS 32

struct run_webhook {
    struct webhook_runtime_opts opts;
    struct webhook_runtime *rt;
    struct controller *ctrl;
    struct option options[RUN_MAX_HOOK_OPTIONS + 1];
    const char *const *names;
};

static int run_is_leader(void *ud) { return controller_is_leader(((struct run_webhook *)ud)->ctrl); }

static int run_on_option(void *ud, int val, const char *arg, char *err, size_t errlen) {
    struct run_webhook *w = ud;
    int idx = val - CTRL_HOOK_OPTION_BASE;
    struct op_status st = {0};
    int rc = webhook_runtime_flag(&w->opts, w->names[idx], arg, &st);
    if (rc < 0 || rc == 0) {
        snprintf(err, errlen, "%s", rc < 0 ? st.msg : "unknown webhook flag");
        return -1;
    }
    return 0;
}

static int run_start(void *ud, struct controller *c) {
    struct run_webhook *w = ud;
    struct op_status st = {0};
    w->ctrl = c;
    w->opts.kube = controller_kube_config(c);
    w->opts.lookups = (struct admission_ctx){.user = controller_caches(c),
                                             .get_namespace = ctrl_lookup_namespace,
                                             .list_instrumentations = ctrl_lookup_instrumentations,
                                             .get_tracingmodel = ctrl_lookup_tracingmodel};
    w->opts.is_leader = run_is_leader;
    w->opts.leader_ud = w;
    w->rt = webhook_runtime_start(&w->opts, &st);
    if (!w->rt) {
        log_error("webhook", "cannot start the admission webhook", "err", st.msg);
        return 1;
    }
    return 0;
}

/* Stops serving; the runtime stays allocated because the probe server (stopped after
 * this hook) may still ask for readiness and metrics. The process exits right after. */
static void run_stop(void *ud) {
    struct run_webhook *w = ud;
    if (w->rt)
        webhook_runtime_shutdown(w->rt);
}

static int run_ready(void *ud) {
    struct run_webhook *w = ud;
    return w->rt && webhook_runtime_ready(w->rt);
}

static void run_metrics(void *ud, struct strbuf *out) {
    struct run_webhook *w = ud;
    if (w->rt)
        webhook_runtime_metrics(w->rt, out);
}

int cmd_run(int argc, char **argv) {
    static struct run_webhook w; /* lives as long as the process; the server thread reads it */
    memset(&w, 0, sizeof(w));
    w.names = webhook_runtime_flag_names();
    size_t n = 0;
    for (; w.names[n] && n < RUN_MAX_HOOK_OPTIONS; n++)
        w.options[n] = (struct option){w.names[n], required_argument, NULL, CTRL_HOOK_OPTION_BASE + (int)n};
    w.options[n] = (struct option){NULL, 0, NULL, 0};
    struct ctrl_run_hooks hooks = {
        .options = w.options,
        .on_option = run_on_option,
        .usage = webhook_runtime_flags_help(),
        .start = run_start,
        .stop = run_stop,
        .probes = {.metrics = run_metrics, .ready = run_ready, .ud = &w},
        .ud = &w,
    };
    return controller_cli_run_hooks(argc, argv, &hooks);
}
