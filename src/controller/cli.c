/* cli.c - `tracing-operator run` (see cli.h): the start-up sequence and the
 * signal-driven shutdown (edge); the flags are cli_flags.c. */
#include "controller/cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "controller/probes.h"
#include "kube/client.h"

#define SHUTDOWN_BUDGET_MS 4500   /* SIGTERM -> exit within 5 s */

/* ---- the run ---- */

static int wait_signal(const sigset_t *set, int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

static int run(const struct ctrl_flags *f, const struct ctrl_run_hooks *hooks) {
    struct kube_config cfg;
    kube_config_init(&cfg);
    struct op_status st = {0};
    struct kube_load_opts lo = {.kubeconfig = f->kubeconfig, .context = f->context};
    if (kube_config_load(&lo, &cfg, &st) < 0) {
        log_error("run", "cannot load the API server configuration", "err", op_errname(st.code),
                  "detail", st.msg);
        kube_config_free(&cfg);
        return 2;
    }
    if (cfg.note)
        log_info("run", cfg.note);
    log_info("run", "starting", "version", OP_VERSION, "server", cfg.server, "context",
             cfg.context, "from", cfg.origin, LOG_INT("concurrency", f->concurrency),
             LOG_INT("namespaces", f->n_namespaces), LOG_INT("leaderElect", f->leader_elect));

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* every thread created from here inherits it */
    signal(SIGPIPE, SIG_IGN);

    struct controller_opts o = {
        .kube = &cfg,
        .namespaces = f->namespaces,
        .n_namespaces = f->n_namespaces,
        .concurrency = f->concurrency,
        .leader_elect = f->leader_elect,
        .leader_ns = f->leader_ns,
        .leader_id = f->leader_id,
        .install_crds = f->install_crds,
    };
    struct controller *c = controller_new(&o, &st);
    struct ctrl_probes *probes = NULL;
    int code = 0;
    if (!c || controller_start(c, &st) < 0) {
        log_error("run", "cannot start the controller", "err", op_errname(st.code), "detail",
                  st.msg);
        code = 1;
    } else if (!(probes = ctrl_probes_start(c, f->metrics_addr, f->health_addr,
                                            hooks ? &hooks->probes : NULL, &st)) &&
               (ctrl_probes_addr_on(f->metrics_addr) || ctrl_probes_addr_on(f->health_addr))) {
        log_error("run", "cannot serve /metrics and the probes", "err", op_errname(st.code),
                  "detail", st.msg);
        code = 1;
    } else if (hooks && hooks->start && hooks->start(hooks->ud, c) != 0) {
        code = 1;
    }
    int workers = 0, sig = 0;
    int64_t waiting_since = op_now_ms(&op_clock_system), last_note = waiting_since;
    while (code == 0 && !(sig = wait_signal(&set, 200))) {
        if (workers || !controller_synced(c)) {
            int64_t now = op_now_ms(&op_clock_system);
            if (!workers && now - last_note > 30000) {
                last_note = now;
                log_warn("run", "still waiting for the informer caches to sync (are the CRDs "
                         "installed and is the operator allowed to list them?)");
            }
            continue;
        }
        log_info("run", "caches synced", LOG_INT("ms", op_now_ms(&op_clock_system) -
                                                           waiting_since));
        if (controller_start_workers(c, &st) < 0) {
            log_error("run", "cannot start the workers", "err", op_errname(st.code), "detail",
                      st.msg);
            code = 1;
        }
        workers = 1;
    }
    if (sig)
        log_info("run", "signal received, shutting down", "signal",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (hooks && hooks->stop && c)
        hooks->stop(hooks->ud);
    ctrl_probes_stop(probes);
    int joined = c ? controller_stop(c, SHUTDOWN_BUDGET_MS) : 0;
    if (joined != 0) {
        log_warn("run", "exiting with threads still blocked on the network");
        _exit(code);
    }
    controller_free(c);
    kube_config_free(&cfg);
    log_info("run", "stopped");
    return code;
}

int controller_cli_run_hooks(int argc, char **argv, const struct ctrl_run_hooks *hooks) {
    struct ctrl_flags f;
    char err[512] = "";
    if (ctrl_flags_parse(argc, argv, hooks, &f, err, sizeof(err)) != 0) {
        fprintf(stderr, "tracing-operator run: %s\n\n", err);
        ctrl_usage(stderr, hooks);
        ctrl_flags_done(&f);
        return 2;
    }
    if (f.help) {
        ctrl_usage(stdout, hooks);
        ctrl_flags_done(&f);
        return 0;
    }
    log_set_level_name(f.log_level);
    ctrl_tune_memory();
    int code = run(&f, hooks);
    ctrl_flags_done(&f);
    return code;
}

int controller_cli_run(int argc, char **argv) { return controller_cli_run_hooks(argc, argv, NULL); }
