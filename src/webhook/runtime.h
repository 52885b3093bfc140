/* runtime.h - the admission webhook inside `tracing-operator run` (edge): its
 * flags, its certificates, its HTTPS server and the Events it emits.
 *
 * What it does once started:
 *   --cert-mode self-signed  A CA and a serving pair live in the Secret
 *       <secret-name> (kubernetes.io/tls) in the operator's namespace. The leader
 *       creates them (also into an empty Secret the chart shipped, keeping the
 *       Secret's labels and annotations), renews them (certs.h) and publishes the
 *       CA: it patches clientConfig.caBundle of every webhook of the
 *       MutatingWebhookConfiguration <mutating-name> and the
 *       ValidatingWebhookConfiguration <validating-name> (--webhook-config patch),
 *       or server-side applies both configurations (--webhook-config manage,
 *       Service or --webhook-url clientConfig). Followers only read the Secret
 *       and retry until the leader wrote it. The pair is kept in memory; the
 *       server is replaced in place when it changes. Until the first usable pair
 *       the port is bound with a throw-away certificate nobody trusts, so a bind
 *       error shows at start.
 *   --cert-mode files  The server reads --cert-dir/tls.crt + tls.key and reloads
 *       them when they change. The leader publishes --cert-dir/ca.crt: always with
 *       manage; with patch only where a webhook's caBundle is empty or does not
 *       verify the served certificate (so cert-manager's CA injection is left alone).
 *   Timers: every hour a full certificate check (every minute while there is no
 *       usable pair, with backoff from 1 s, or while the pair is due for renewal);
 *       the leader looks at the configurations' caBundle every minute (a helm
 *       upgrade that dropped it is repaired within a minute; GETs only when
 *       nothing changed); a replica that becomes leader does its writes at once.
 *   Events: a pod the webhook could not instrument (decision MUTATE_SKIPPED, not a
 *       dry run; an explicit "false" is MUTATE_DISABLED and silent) gets a Warning
 *       events.k8s.io/v1 Event "InjectionSkipped" in the pod's namespace, about the
 *       pod's owner (or its Namespace when it has none). The same (namespace,
 *       owner, reason) is reported at most once per 5 minutes; the queue between
 *       the server thread and the sender holds 1000 Events (more are dropped and
 *       counted).
 *   Nothing here ever blocks a pod: every failure is logged (never a key or a
 *   token) and retried with backoff; the pod webhook's failurePolicy Ignore
 *   covers the time without a trusted certificate.
 *
 * Threads: the server's service thread (admissions; the observe hook only
 * queues) and one runtime thread with its own kube client (certificates,
 * configurations, Events).
 *
 * Wiring into `run` (controller/cli.h hooks; webhook does not link the controller):
 *   options    one getopt entry per webhook_runtime_flag_names()[i], required_argument,
 *              val = CTRL_HOOK_OPTION_BASE + i; on_option -> webhook_runtime_flag();
 *              usage = webhook_runtime_flags_help(); after parsing
 *              webhook_runtime_flags_check() (a usage error).
 *   start(c)   opts.kube = controller_kube_config(c); opts.lookups = {controller_caches(c),
 *              ctrl_lookup_namespace, ctrl_lookup_instrumentations, ctrl_lookup_tracingmodel};
 *              opts.is_leader = a wrapper of controller_is_leader(c); then
 *              webhook_runtime_start() (NULL = exit 1).
 *   probes     ready -> webhook_runtime_ready(), metrics -> webhook_runtime_metrics()
 *              (both accept NULL before start).
 *   stop       webhook_runtime_shutdown() (probes may still call in); free with
 *              webhook_runtime_stop() once the probes are stopped, or never. */
#ifndef OP_WEBHOOK_RUNTIME_H
#define OP_WEBHOOK_RUNTIME_H
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "webhook/admission.h"

#define WEBHOOK_RUNTIME_MAX_HOSTS 16
#define WEBHOOK_RUNTIME_EVENT_REASON "InjectionSkipped"
#define WEBHOOK_RUNTIME_EVENT_ACTION "Inject"
#define WEBHOOK_RUNTIME_CONTROLLER "tracemodel.dev/tracing-operator"
#define WEBHOOK_RUNTIME_DEDUP_MS (5 * 60 * 1000)
#define WEBHOOK_RUNTIME_QUEUE_MAX 1000

struct kube_config;

/* Zero-initialize, then fill with webhook_runtime_flag(). NULL/0 fields take the
 * defaults named below. Strings are borrowed by the flag parser (argv) and copied
 * by webhook_runtime_start(). */
struct webhook_runtime_opts {
    const char *bind_address;        /* --webhook-bind-address; NULL = ":9443"; "" or "0" = no webhook */
    const char *operator_namespace;  /* --operator-namespace; NULL = $POD_NAMESPACE, else the
                                      * in-cluster namespace; required for self-signed and manage */
    const char *cert_mode;           /* --cert-mode self-signed|files; NULL = files when
                                      * cert_dir is set, else self-signed */
    const char *cert_dir;            /* --cert-dir: tls.crt, tls.key (+ ca.crt published as caBundle) */
    const char *hosts[WEBHOOK_RUNTIME_MAX_HOSTS]; /* --webhook-host (repeatable): extra SANs */
    size_t nhosts;
    const char *webhook_config;      /* --webhook-config manage|patch; NULL = patch */
    const char *webhook_url;         /* --webhook-url https://host:port: clientConfig.url (manage) */
    const char *service_name;        /* --webhook-service-name; NULL = tracing-operator-webhook */
    const char *secret_name;         /* --webhook-secret-name; NULL = tracing-operator-webhook-cert */
    const char *mutating_name;       /* --mutating-webhook-name; NULL = tracing-operator */
    const char *validating_name;     /* --validating-webhook-name; NULL = tracing-operator */
    unsigned threads;                /* --webhook-threads 1..16; 0 = WEBHOOK_DEFAULT_THREADS */
    const struct kube_config *kube;  /* the runtime's own client is made from it (copied) */
    struct admission_ctx lookups;    /* from the controller's caches (controller/caches.h) */
    /* Only the leader writes the Secret and the configurations; NULL = always leader.
     * Called from the runtime thread: must be cheap and thread-safe. */
    int (*is_leader)(void *ud);
    void *leader_ud;
    /* Optional, for metrics: every admission (pods and validations) with the time
     * admission_handle() took. Runs on the server threads (several at once with
     * --webhook-threads > 1): must not block and must be thread-safe. */
    void (*on_admission)(void *ud, const struct admission_result *r, int64_t duration_us);
    void *on_admission_ud;
};

/* Parses one `run` flag that belongs to the webhook: name without the leading
 * dashes ("cert-mode"), value as given (NULL for a flag without "=value").
 * Returns 1 consumed, 0 not a webhook flag, OP_EINVALID for a bad value (st->msg
 * names the flag and says why; the caller exits with a usage error). */
int webhook_runtime_flag(struct webhook_runtime_opts *o, const char *name, const char *value,
                         struct op_status *st);

/* NULL-terminated list of the flag names webhook_runtime_flag() consumes, all
 * taking a value (for building a getopt_long table). Static storage. */
const char *const *webhook_runtime_flag_names(void);

/* The flags' lines for `run --help` (static storage, ends with '\n'). */
const char *webhook_runtime_flags_help(void);

/* Pure check of the flags together, after parsing (no environment is read):
 * --cert-mode files needs --cert-dir; --cert-dir is only for files and
 * --webhook-host only for self-signed. 0 or OP_EINVALID with st->msg naming the
 * flags. (--webhook-url is accepted with patch, where it has no effect, because
 * the chart passes it in both modes.) */
int webhook_runtime_flags_check(const struct webhook_runtime_opts *o, struct op_status *st);

/* 1 when the flags ask for a webhook (bind address not "" / "0"). */
int webhook_runtime_enabled(const struct webhook_runtime_opts *o);

struct webhook_runtime;

/* Checks the options, binds the port and starts the runtime thread; does not
 * wait for the API server. NULL with st filled for bad options (also the
 * combination checks above, and a missing operator namespace), an address that
 * cannot be bound or a client that cannot be made. With the webhook disabled it
 * returns an inert runtime (ready, nothing served). */
struct webhook_runtime *webhook_runtime_start(const struct webhook_runtime_opts *o,
                                              struct op_status *st);

/* 1 when serving with a usable certificate (self-signed: a pair from the Secret;
 * files: the files loaded), or when the webhook is disabled. Any thread. */
int webhook_runtime_ready(struct webhook_runtime *r);

/* The bound TCP port (after ":0"), or -1 (disabled / not bound). */
int webhook_runtime_port(struct webhook_runtime *r);

struct webhook_runtime_stats {
    uint64_t events_sent;        /* Events created */
    uint64_t events_suppressed;  /* same (namespace, owner, reason) within 5 minutes */
    uint64_t events_dropped;     /* queue full */
    uint64_t events_failed;      /* the API server refused them (after retries) */
    uint64_t cert_rounds;        /* certificate checks run */
    uint64_t cert_errors;        /* of which failed (retried with backoff) */
    uint64_t cert_changes;       /* serving pairs installed into the server */
    int ready;
};
/* Counters for /metrics (any thread). */
void webhook_runtime_get_stats(struct webhook_runtime *r, struct webhook_runtime_stats *s);

/* Appends the webhook's Prometheus metrics to out (any thread; NULL r appends
 * nothing): tracing_operator_webhook_requests_total{webhook,result},
 * ..._request_duration_seconds (histogram), ..._events_total{result},
 * ..._certificate_checks_total{result}, ..._certificate_expiry_timestamp_seconds,
 * ..._ready. */
struct strbuf;
void webhook_runtime_metrics(struct webhook_runtime *r, struct strbuf *out);

/* Stops serving at once, then ends the runtime thread (waited for up to ~2 s).
 * r stays valid afterwards: ready 0, port -1, stats and metrics frozen, so a
 * probe server still running may keep calling them. 0, or -1 when the thread is
 * stuck in an API call (then r must never be freed; the process is exiting).
 * Call from one thread; repeating it is harmless. */
int webhook_runtime_shutdown(struct webhook_runtime *r);

/* webhook_runtime_shutdown() and frees r (not when the thread was stuck). Only
 * when nothing else can still call into r. NULL is fine. */
void webhook_runtime_stop(struct webhook_runtime *r);

#endif
