/* runtime_internal.h - the webhook runtime's test hooks and its pure helpers
 * (runtime_logic.c), exposed for unit tests; production callers use runtime.h. */
#ifndef OP_WEBHOOK_RUNTIME_INTERNAL_H
#define OP_WEBHOOK_RUNTIME_INTERNAL_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/strbuf.h"
#include "webhook/runtime.h"

struct kube_transport;

/* ---- test hooks for webhook_runtime_start_with() ------------------------- */

struct webhook_runtime_hooks {
    /* The network under the runtime's client; NULL = libcurl from opts->kube. The
     * client calls its destroy (the fake's is a no-op). */
    struct kube_transport *(*new_transport)(void *ud, struct op_status *st);
    void *transport_ud;
    /* Clocks: monotonic ms (intervals, de-duplication) and Unix epoch ms
     * (certificate validity, eventTime). NULL = the system clocks. */
    int64_t (*mono_ms)(void *ud);
    int64_t (*wall_ms)(void *ud);
    void *clock_ud;
    const char *hostname;       /* reportingInstance; NULL = gethostname() */
    const char *pod_namespace;  /* stands for $POD_NAMESPACE; NULL = getenv */
    /* Intervals in ms (0 = the defaults of runtime.h). */
    int64_t tick_ms;            /* how often the thread looks at clocks and leadership: 1000 */
    int64_t retry_min_ms;       /* backoff after a failure: 1000 ... */
    int64_t retry_max_ms;       /* ... up to 60000 */
    int64_t recheck_ms;         /* full certificate check when all is well: 1 h */
    int64_t renew_check_ms;     /* while the pair is due for renewal: 60000 */
    int64_t publish_check_ms;   /* leader: the configurations' caBundle: 60000 */
    int64_t files_check_ms;     /* files mode: look at cert_dir: 60000 */
    int64_t dedup_ms;           /* WEBHOOK_RUNTIME_DEDUP_MS */
    size_t queue_max;           /* WEBHOOK_RUNTIME_QUEUE_MAX */
    int64_t cert_validity_s;    /* serving certificate lifetime; 0 = certs.h default */
};

struct webhook_runtime *webhook_runtime_start_with(const struct webhook_runtime_opts *o,
                                                   const struct webhook_runtime_hooks *h,
                                                   struct op_status *st);

/* What the server calls after every admission (server thread; only queues). */
void webhook_runtime_observe(void *ud, const char *path, const struct admission_result *r,
                             int64_t duration_us);

/* Waits (up to timeout_ms of real time) until the runtime thread has nothing
 * queued and is not inside a round. 0, or -1 on timeout. */
int webhook_runtime_wait_idle(struct webhook_runtime *r, int64_t timeout_ms);

/* Makes the runtime thread run a certificate round now. */
void webhook_runtime_kick(struct webhook_runtime *r);

/* ---- pure helpers (runtime_logic.c) --------------------------------------- */

/* 1 when the admission deserves an InjectionSkipped Event: decision
 * MUTATE_SKIPPED, not a dry run, the pod's namespace known. */
int wrun_wants_event(const struct admission_result *r);

/* What an Event needs from an admission (strings owned). */
struct wrun_skip {
    char *ns, *pod, *owner_kind, *owner_name, *owner_uid, *reason;
};
void wrun_skip_from_result(const struct admission_result *r, struct wrun_skip *out);
void wrun_skip_free(struct wrun_skip *s);

/* New ref: the events.k8s.io/v1 Warning Event for s: regarding the owner (or the
 * Namespace), related the Pod when its name is known, name
 * "<owner-or-pod>.<hex>" (hex from wall_ms and seq), eventTime from wall_ms.
 * NULL when s->ns is empty. */
json_t *wrun_event_build(const struct wrun_skip *s, const char *instance, int64_t wall_ms,
                         unsigned seq);

/* RFC 3339 with microseconds: "2024-05-01T10:00:00.123000Z". */
void wrun_microtime(int64_t wall_ms, char out[32]);

/* De-duplication of (namespace, owner, reason) within window_ms, at most cap
 * keys (expired ones, then the oldest, make room). */
struct wrun_dedup;
struct wrun_dedup *wrun_dedup_new(size_t cap, int64_t window_ms);
void wrun_dedup_free(struct wrun_dedup *d);
/* 1 = report it (and remember now_ms), 0 = reported less than window_ms ago. */
int wrun_dedup_check(struct wrun_dedup *d, const struct wrun_skip *s, int64_t now_ms);

/* 1 when config has at least one webhook and every webhook's
 * clientConfig.caBundle is set and verifies served_chain_pem (the leaf, then
 * intermediates) at now, any certificate of the bundle acting as a trust anchor
 * (as the API server's Go TLS does); else 0. */
int wrun_bundle_trusts(const json_t *config, const char *served_chain_pem, time_t now);

/* ---- metrics (pure formatting; runtime.c counts) --------------------------- */

enum {
    WRUN_HOOK_PODS = 0,
    WRUN_HOOK_TRACINGMODELS,
    WRUN_HOOK_INSTRUMENTATIONS,
    WRUN_HOOK_WORKLOADS,
    WRUN_HOOKS
};
/* pods: enum mutate_decision; validations: allowed, denied; workloads: clean, warned */
#define WRUN_RESULTS 6
#define WRUN_DURATION_BUCKETS 10    /* 100 us .. 1 s; +Inf implicit */

struct wrun_metrics {
    uint64_t requests[WRUN_HOOKS][WRUN_RESULTS];
    uint64_t buckets[WRUN_DURATION_BUCKETS + 1];   /* per bucket (not cumulative), last +Inf */
    uint64_t count, sum_us;
    struct webhook_runtime_stats stats;
    int64_t cert_not_after;         /* Unix seconds of the served certificate; 0 = none */
};

/* The webhook a request path belongs to, or -1 (unknown path: not counted). */
int wrun_hook_of(const char *path);
/* The result slot of r for that webhook. */
int wrun_result_of(int hook, const struct admission_result *r);
/* The duration bucket of us microseconds (WRUN_DURATION_BUCKETS = +Inf). */
size_t wrun_duration_bucket(int64_t us);
/* Appends the Prometheus text of m:
 *   tracing_operator_webhook_requests_total{webhook,result}   counter
 *   tracing_operator_webhook_request_duration_seconds         histogram
 *   tracing_operator_webhook_events_total{result}             counter
 *   tracing_operator_webhook_certificate_checks_total{result} counter
 *   tracing_operator_webhook_certificate_expiry_timestamp_seconds  gauge
 *   tracing_operator_webhook_ready                            gauge */
void wrun_metrics_format(const struct wrun_metrics *m, struct strbuf *out);

/* New ref: existing Secret with data (and type) replaced by built's and
 * metadata.resourceVersion from built; labels and annotations of the existing one
 * are kept (the chart's Helm ownership), built's labels added where absent. */
json_t *wrun_secret_merge(const json_t *existing, const json_t *built);

#endif
