/* controller.h - the controller runtime: informers, work queue, workers, leader
 * election, discovery of optional APIs, and the /metrics /healthz /readyz server.
 *
 * Threads: one per informer (each with its own kube client), `concurrency`
 * workers (each with its own client), the leader-election thread, a maintenance
 * thread (API discovery every 30 s, full resync every 10 min). Informers run on
 * every replica (followers keep their caches warm); workers reconcile only while
 * this replica leads. The /metrics /healthz /readyz server is probes.h.
 *
 * Lifecycle:
 *   controller_new -> controller_start (CRDs, discovery, informers; does not block)
 *   -> controller_synced() polls -> controller_start_workers -> ... ->
 *   controller_stop(deadline) -> controller_free (only when stop joined everything). */
#ifndef OP_CONTROLLER_CONTROLLER_H
#define OP_CONTROLLER_CONTROLLER_H
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "controller/caches.h"
#include "controller/clock.h"
#include "controller/metrics.h"
#include "controller/reconcile.h"
#include "kube/config.h"

#define CTRL_DEFAULT_CONCURRENCY 2
#define CTRL_DEFAULT_LEASE_ID "tracing-operator.tracemodel.dev"
#define CTRL_RESYNC_MS (10 * 60 * 1000)
#define CTRL_DISCOVERY_MS (30 * 1000)
#define CTRL_MAX_NAMESPACES 64

struct kube_client;
struct kube_transport;

struct controller_opts {
    const struct kube_config *kube;          /* each thread's client is made from it */
    const char *const *namespaces;           /* watched namespaces; none = all */
    size_t n_namespaces;
    int concurrency;                         /* workers; 0 = CTRL_DEFAULT_CONCURRENCY */
    int leader_elect;
    const char *leader_ns;                   /* Lease namespace; NULL = the client's */
    const char *leader_id;                   /* Lease name; NULL = CTRL_DEFAULT_LEASE_ID */
    const char *identity;                    /* NULL = "<hostname>_<random>" */
    int install_crds;                        /* apply the embedded CRDs at start */
    int64_t resync_ms;                       /* 0 = CTRL_RESYNC_MS */
    int64_t discovery_ms;                    /* 0 = CTRL_DISCOVERY_MS */
    int watch_timeout_s;                     /* 0 = 5..10 min, random per watch */
    const struct op_clock *clock;            /* NULL = op_clock_system */
    render_fn render;                        /* NULL = render_model */
    /* The network under every client; NULL = kube_transport_curl_new(kube). Tests
     * give the fake transport (its destroy must be a no-op: it is shared). */
    struct kube_transport *(*new_transport)(void *ud, struct op_status *st);
    void *transport_ud;
};

struct controller;

/* Copies opts. NULL with st filled when opts are unusable. */
struct controller *controller_new(const struct controller_opts *opts, struct op_status *st);
/* Installs CRDs (when asked), discovers APIs, starts informers and the maintenance
 * thread. Does not wait for caches. 0 or OP_E* (st filled). */
int controller_start(struct controller *c, struct op_status *st);
/* 1 once every informer delivered its first list. */
int controller_synced(struct controller *c);
/* Starts leader election (or leads at once without --leader-elect) and the workers. */
int controller_start_workers(struct controller *c, struct op_status *st);
/* Stops workers (no write after this returns or the deadline passes), releases the
 * Lease, stops informers and servers. Returns 0 when every thread ended by
 * deadline_ms from now, -1 when some are still blocked (then do not free c: exit). */
int controller_stop(struct controller *c, int64_t deadline_ms);
/* NULL-safe; only after a controller_stop() that returned 0. */
void controller_free(struct controller *c);

struct ctrl_caches *controller_caches(struct controller *c);   /* borrowed */
/* The configuration the controller was made with (borrowed; opts.kube). */
const struct kube_config *controller_kube_config(struct controller *c);
struct ctrl_metrics *controller_metrics(struct controller *c); /* borrowed */
int controller_is_leader(struct controller *c);
size_t controller_queue_len(struct controller *c);
/* Queue depth and cache sizes, for /metrics. */
void controller_gauges(struct controller *c, struct ctrl_gauges *g);

/* Process-wide memory tuning for a long-running, many-threaded, small-heap process:
 * at most two malloc arenas (glibc gives every thread its own otherwise, each
 * keeping freed memory resident). Call once at start, before threads. */
void ctrl_tune_memory(void);

/* Applies every embedded CRD (base/embed.h) with server-side apply. 0 or OP_E*. */
int ctrl_install_crds(struct kube_client *client, struct op_status *st);

/* `tracing-operator run`: parses flags, runs until SIGTERM/SIGINT. Exit code. */
int controller_cli_run(int argc, char **argv);

#endif
