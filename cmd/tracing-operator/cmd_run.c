/* cmd_run.c - `tracing-operator run`: the controller (src/controller) with the admission
 * webhook runtime (src/webhook/runtime) plugged in through the controller's run hooks:
 * the webhook's flags are parsed with the controller's, it starts once the controller's
 * caches exist (its lookups read them), only the leader writes certificates and webhook
 * configurations, /readyz waits for a usable certificate, and /metrics gains the
 * webhook's counters. */
#include "cmd.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "controller/caches.h"
#include "controller/cli.h"
#include "controller/controller.h"
#include "webhook/runtime.h"

#define RUN_MAX_HOOK_OPTIONS 32

/* Admissions by result, for /metrics (counted on the server thread). "allowed" is a
 * validation that passed or a pod left unchanged (not opted in, already injected). */
enum { ADM_INJECTED, ADM_SKIPPED, ADM_ERROR, ADM_ALLOWED, ADM_DENIED, ADM__N };
static const char *const adm_labels[ADM__N] = {"injected", "skipped", "error", "allowed", "denied"};

struct run_webhook {
    struct webhook_runtime_opts opts;
    struct webhook_runtime *rt;
    struct controller *ctrl;
    struct option options[RUN_MAX_HOOK_OPTIONS + 1];
    const char *const *names;
    atomic_uint_fast64_t adm[ADM__N];
    atomic_uint_fast64_t adm_us_sum;
};

static int run_is_leader(void *ud) { return controller_is_leader(((struct run_webhook *)ud)->ctrl); }

static void run_on_admission(void *ud, const struct admission_result *r, int64_t us) {
    struct run_webhook *w = ud;
    int k;
    switch (r->decision) {
    case MUTATE_INJECTED: k = ADM_INJECTED; break;
    case MUTATE_SKIPPED: k = ADM_SKIPPED; break;
    case MUTATE_ERROR: k = ADM_ERROR; break;
    default: k = r->allowed ? ADM_ALLOWED : ADM_DENIED; break;
    }
    atomic_fetch_add(&w->adm[k], 1);
    atomic_fetch_add(&w->adm_us_sum, (uint_fast64_t)(us > 0 ? us : 0));
}

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
    w->opts.on_admission = run_on_admission;
    w->opts.on_admission_ud = w;
    w->rt = webhook_runtime_start(&w->opts, &st);
    if (!w->rt) {
        log_error("webhook", "cannot start the admission webhook", "err", st.msg);
        return 1;
    }
    if (webhook_runtime_enabled(&w->opts))
        log_info("webhook", "admission webhook started", LOG_INT("port", webhook_runtime_port(w->rt)));
    return 0;
}

static void run_stop(void *ud) {
    struct run_webhook *w = ud;
    webhook_runtime_stop(w->rt);
    w->rt = NULL;
}

static int run_ready(void *ud) {
    struct run_webhook *w = ud;
    return w->rt && webhook_runtime_ready(w->rt);
}

static void run_metrics(void *ud, struct strbuf *out) {
    struct run_webhook *w = ud;
    if (!w->rt)
        return;
    struct webhook_runtime_stats s;
    webhook_runtime_get_stats(w->rt, &s);
    strbuf_puts(out, "# HELP tracing_operator_webhook_requests_total Admission requests by result.\n"
                     "# TYPE tracing_operator_webhook_requests_total counter\n");
    for (int i = 0; i < ADM__N; i++)
        strbuf_printf(out, "tracing_operator_webhook_requests_total{result=\"%s\"} %llu\n", adm_labels[i],
                      (unsigned long long)atomic_load(&w->adm[i]));
    strbuf_printf(out,
                  "# HELP tracing_operator_webhook_admission_seconds_total Time spent deciding admissions.\n"
                  "# TYPE tracing_operator_webhook_admission_seconds_total counter\n"
                  "tracing_operator_webhook_admission_seconds_total %.6f\n",
                  (double)atomic_load(&w->adm_us_sum) / 1e6);
    strbuf_printf(out,
                  "# HELP tracing_operator_webhook_events_total Pod Events about skipped injections.\n"
                  "# TYPE tracing_operator_webhook_events_total counter\n"
                  "tracing_operator_webhook_events_total{result=\"sent\"} %llu\n"
                  "tracing_operator_webhook_events_total{result=\"suppressed\"} %llu\n"
                  "tracing_operator_webhook_events_total{result=\"dropped\"} %llu\n"
                  "tracing_operator_webhook_events_total{result=\"failed\"} %llu\n"
                  "# HELP tracing_operator_webhook_certificate_changes_total Serving certificates installed.\n"
                  "# TYPE tracing_operator_webhook_certificate_changes_total counter\n"
                  "tracing_operator_webhook_certificate_changes_total %llu\n"
                  "# HELP tracing_operator_webhook_certificate_errors_total Failed certificate checks.\n"
                  "# TYPE tracing_operator_webhook_certificate_errors_total counter\n"
                  "tracing_operator_webhook_certificate_errors_total %llu\n"
                  "# HELP tracing_operator_webhook_ready Serving with a usable certificate.\n"
                  "# TYPE tracing_operator_webhook_ready gauge\n"
                  "tracing_operator_webhook_ready %d\n",
                  (unsigned long long)s.events_sent, (unsigned long long)s.events_suppressed,
                  (unsigned long long)s.events_dropped, (unsigned long long)s.events_failed,
                  (unsigned long long)s.cert_changes, (unsigned long long)s.cert_errors, s.ready);
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
