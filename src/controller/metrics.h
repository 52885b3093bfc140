/* metrics.h - the controller's Prometheus metrics (thread-safe counters and
 * histograms) and their text exposition (pure formatting).
 *
 *   tracing_operator_reconcile_total{kind,result}       counter (result: success,
 *                                                         error, requeue, stopped)
 *   tracing_operator_reconcile_duration_seconds{kind}   histogram
 *   tracing_operator_workqueue_depth                    gauge
 *   tracing_operator_workqueue_adds_total               counter
 *   tracing_operator_workqueue_retries_total            counter
 *   tracing_operator_workqueue_queue_duration_seconds   histogram (add -> get)
 *   tracing_operator_watch_restarts_total{resource,reason}  counter
 *   tracing_operator_kube_requests_total{verb,code}     counter (kube/metrics.h)
 *   tracing_operator_leader                             gauge (1 while leading)
 *   tracing_operator_objects_cached{cache}              gauge */
#ifndef OP_CONTROLLER_METRICS_H
#define OP_CONTROLLER_METRICS_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "controller/informer.h"
#include "controller/workqueue.h"
#include "kube/metrics.h"

#define HIST_BUCKETS 12

struct histogram {
    pthread_mutex_t mu;
    double bounds[HIST_BUCKETS];   /* upper bounds, seconds; +Inf implicit */
    unsigned long counts[HIST_BUCKETS + 1];
    unsigned long count;
    double sum;
};

void histogram_init(struct histogram *h);   /* 1 ms .. ~60 s, roughly x2.7 per bucket */
void histogram_done(struct histogram *h);
void histogram_observe(struct histogram *h, double seconds);
/* Appends the _bucket/_sum/_count lines (labels: "" or `kind="x"` without braces). */
void histogram_format(struct histogram *h, const char *name, const char *labels,
                      struct strbuf *out);

enum reconcile_kind { RK_MODEL = 0, RK_INSTRUMENTATION, RK__COUNT };
enum reconcile_outcome_kind { RO_SUCCESS = 0, RO_ERROR, RO_REQUEUE, RO_STOPPED, RO__COUNT };

#define METRICS_MAX_WATCHES 64

struct watch_counter {
    char name[48];
    atomic_ulong by_reason[3];   /* enum informer_restart */
};

struct ctrl_metrics {
    atomic_ulong reconciles[RK__COUNT][RO__COUNT];
    struct histogram reconcile_duration[RK__COUNT];
    struct histogram queue_latency;
    atomic_ulong queue_adds, queue_retries;
    pthread_mutex_t watch_mu;
    struct watch_counter watches[METRICS_MAX_WATCHES];
    size_t n_watches;
    atomic_int leader;
    struct kube_metrics kube;   /* shared by every kube client of the process */
};

void ctrl_metrics_init(struct ctrl_metrics *m);
void ctrl_metrics_done(struct ctrl_metrics *m);

void ctrl_metrics_reconciled(struct ctrl_metrics *m, enum reconcile_kind k,
                             enum reconcile_outcome_kind r, double seconds);
/* Counts a watch restart of resource (informer_cfg.on_restart signature, ud = m). */
void ctrl_metrics_watch_restart(void *m, const char *resource, enum informer_restart why);
/* A wq_observer_fn (ud = m). */
void ctrl_metrics_queue_observe(void *m, enum wq_observation what, int64_t value);

struct ctrl_gauges {
    size_t queue_depth;
    size_t models, instrumentations, children, namespaces;
};

/* Appends the whole exposition. */
void ctrl_metrics_format(struct ctrl_metrics *m, const struct ctrl_gauges *g, struct strbuf *out);

#endif
