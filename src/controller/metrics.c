/* metrics.c - controller metrics and Prometheus text (see metrics.h). */
#include "controller/metrics.h"

#include <stdio.h>
#include <string.h>

void histogram_init(struct histogram *h) {
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    static const double b[HIST_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,   0.25,   0.5,   1,    5,     60};
    memcpy(h->bounds, b, sizeof(b));
}

void histogram_done(struct histogram *h) { pthread_mutex_destroy(&h->mu); }

void histogram_observe(struct histogram *h, double seconds) {
    pthread_mutex_lock(&h->mu);
    size_t i = 0;
    while (i < HIST_BUCKETS && seconds > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&h->mu);
}

void histogram_format(struct histogram *h, const char *name, const char *labels,
                      struct strbuf *out) {
    const char *sep = labels && *labels ? "," : "";
    const char *lb = labels ? labels : "";
    pthread_mutex_lock(&h->mu);
    unsigned long cum = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        cum += h->counts[i];
        strbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, lb, sep, h->bounds[i], cum);
    }
    cum += h->counts[HIST_BUCKETS];
    strbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, lb, sep, cum);
    if (*lb) {
        strbuf_printf(out, "%s_sum{%s} %.6f\n", name, lb, h->sum);
        strbuf_printf(out, "%s_count{%s} %lu\n", name, lb, h->count);
    } else {
        strbuf_printf(out, "%s_sum %.6f\n%s_count %lu\n", name, h->sum, name, h->count);
    }
    pthread_mutex_unlock(&h->mu);
}

void ctrl_metrics_init(struct ctrl_metrics *m) {
    memset(m, 0, sizeof(*m));
    for (int k = 0; k < RK__COUNT; k++)
        histogram_init(&m->reconcile_duration[k]);
    histogram_init(&m->queue_latency);
    pthread_mutex_init(&m->watch_mu, NULL);
}

void ctrl_metrics_done(struct ctrl_metrics *m) {
    for (int k = 0; k < RK__COUNT; k++)
        histogram_done(&m->reconcile_duration[k]);
    histogram_done(&m->queue_latency);
    pthread_mutex_destroy(&m->watch_mu);
}

void ctrl_metrics_reconciled(struct ctrl_metrics *m, enum reconcile_kind k,
                             enum reconcile_outcome_kind r, double seconds) {
    atomic_fetch_add(&m->reconciles[k][r], 1);
    histogram_observe(&m->reconcile_duration[k], seconds);
}

void ctrl_metrics_watch_restart(void *ud, const char *resource, enum informer_restart why) {
    struct ctrl_metrics *m = ud;
    pthread_mutex_lock(&m->watch_mu);
    struct watch_counter *w = NULL;
    for (size_t i = 0; i < m->n_watches; i++)
        if (!strcmp(m->watches[i].name, resource))
            w = &m->watches[i];
    if (!w && m->n_watches < METRICS_MAX_WATCHES) {
        w = &m->watches[m->n_watches++];
        snprintf(w->name, sizeof(w->name), "%s", resource);
    }
    pthread_mutex_unlock(&m->watch_mu);
    if (w && (unsigned)why < 3)
        atomic_fetch_add(&w->by_reason[why], 1);
}

void ctrl_metrics_queue_observe(void *ud, enum wq_observation what, int64_t value) {
    struct ctrl_metrics *m = ud;
    switch (what) {
    case WQ_OBS_ADD:
        atomic_fetch_add(&m->queue_adds, 1);
        break;
    case WQ_OBS_LATENCY:
        histogram_observe(&m->queue_latency, (double)value / 1000.0);
        break;
    case WQ_OBS_RETRY:
        atomic_fetch_add(&m->queue_retries, 1);
        break;
    case WQ_OBS_WORK:
        break;
    }
}

static const char *const kind_names[RK__COUNT] = {"TracingModel", "Instrumentation"};
static const char *const result_names[RO__COUNT] = {"success", "error", "requeue", "stopped"};
static const char *const restart_names[3] = {"timeout", "error", "gone"};

void ctrl_metrics_format(struct ctrl_metrics *m, const struct ctrl_gauges *g, struct strbuf *out) {
    strbuf_puts(out, "# HELP tracing_operator_reconcile_total Reconciles by kind and result.\n"
                     "# TYPE tracing_operator_reconcile_total counter\n");
    for (int k = 0; k < RK__COUNT; k++)
        for (int r = 0; r < RO__COUNT; r++)
            strbuf_printf(out, "tracing_operator_reconcile_total{kind=\"%s\",result=\"%s\"} %lu\n",
                          kind_names[k], result_names[r], atomic_load(&m->reconciles[k][r]));
    strbuf_puts(out, "# HELP tracing_operator_reconcile_duration_seconds Time spent in one "
                     "reconcile.\n# TYPE tracing_operator_reconcile_duration_seconds histogram\n");
    for (int k = 0; k < RK__COUNT; k++) {
        char lb[64];
        snprintf(lb, sizeof(lb), "kind=\"%s\"", kind_names[k]);
        histogram_format(&m->reconcile_duration[k], "tracing_operator_reconcile_duration_seconds",
                         lb, out);
    }
    strbuf_printf(out, "# HELP tracing_operator_workqueue_depth Keys waiting in the work queue.\n"
                       "# TYPE tracing_operator_workqueue_depth gauge\n"
                       "tracing_operator_workqueue_depth %zu\n", g ? g->queue_depth : 0);
    strbuf_printf(out, "# HELP tracing_operator_workqueue_adds_total Keys added to the queue.\n"
                       "# TYPE tracing_operator_workqueue_adds_total counter\n"
                       "tracing_operator_workqueue_adds_total %lu\n",
                  atomic_load(&m->queue_adds));
    strbuf_printf(out, "# HELP tracing_operator_workqueue_retries_total Rate-limited re-adds.\n"
                       "# TYPE tracing_operator_workqueue_retries_total counter\n"
                       "tracing_operator_workqueue_retries_total %lu\n",
                  atomic_load(&m->queue_retries));
    strbuf_puts(out, "# HELP tracing_operator_workqueue_queue_duration_seconds Time a key waits "
                     "in the queue.\n"
                     "# TYPE tracing_operator_workqueue_queue_duration_seconds histogram\n");
    histogram_format(&m->queue_latency, "tracing_operator_workqueue_queue_duration_seconds", "",
                     out);
    strbuf_puts(out, "# HELP tracing_operator_watch_restarts_total Watches re-established.\n"
                     "# TYPE tracing_operator_watch_restarts_total counter\n");
    pthread_mutex_lock(&m->watch_mu);
    for (size_t i = 0; i < m->n_watches; i++)
        for (int r = 0; r < 3; r++)
            strbuf_printf(out,
                          "tracing_operator_watch_restarts_total{resource=\"%s\",reason=\"%s\"} "
                          "%lu\n",
                          m->watches[i].name, restart_names[r],
                          atomic_load(&m->watches[i].by_reason[r]));
    pthread_mutex_unlock(&m->watch_mu);
    strbuf_puts(out, "# HELP tracing_operator_kube_requests_total API requests by verb and "
                     "HTTP code.\n");
    kube_metrics_format(&m->kube, out);
    strbuf_printf(out, "# HELP tracing_operator_leader 1 while this replica holds the lease.\n"
                       "# TYPE tracing_operator_leader gauge\ntracing_operator_leader %d\n",
                  atomic_load(&m->leader));
    if (g) {
        strbuf_puts(out, "# HELP tracing_operator_objects_cached Objects in the informer "
                         "caches.\n# TYPE tracing_operator_objects_cached gauge\n");
        strbuf_printf(out, "tracing_operator_objects_cached{cache=\"tracingmodels\"} %zu\n",
                      g->models);
        strbuf_printf(out, "tracing_operator_objects_cached{cache=\"instrumentations\"} %zu\n",
                      g->instrumentations);
        strbuf_printf(out, "tracing_operator_objects_cached{cache=\"children\"} %zu\n",
                      g->children);
        strbuf_printf(out, "tracing_operator_objects_cached{cache=\"namespaces\"} %zu\n",
                      g->namespaces);
    }
}
