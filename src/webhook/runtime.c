/* runtime.c - the admission webhook inside `tracing-operator run` (edge): starts
 * the HTTPS server, keeps its certificate (self-signed Secret or --cert-dir),
 * publishes the CA to the webhook configurations and sends the InjectionSkipped
 * Events, all from one thread with its own kube client (see runtime.h). */
#include "webhook/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "webhook/certs.h"
#include "webhook/runtime_internal.h"
#include "webhook/server.h"

#define LOGGER "webhook"
#define MAX_PEM_FILE (1024 * 1024)
#define EVENT_ATTEMPTS 3
#define STOP_WAIT_MS 2000

enum { MWC = 0, VWC = 1 };

struct queued_event {
    struct wrun_skip s;
    int attempts;
};

struct webhook_runtime {
    /* ---- configuration (owned copies, read-only after start) ---- */
    int disabled, files, manage;
    unsigned threads;
    char *bind, *ns, *cert_dir, *url, *service, *secret, *config_name[2];
    char *hosts[WEBHOOK_RUNTIME_MAX_HOSTS];
    size_t nhosts;
    char *instance;
    struct admission_ctx lookups;
    struct webhook_admission adm;
    int (*is_leader)(void *ud);
    void *leader_ud;
    void (*on_admission)(void *ud, const struct admission_result *r, int64_t duration_us);
    void *on_admission_ud;
    struct webhook_runtime_hooks h;   /* intervals resolved */

    /* ---- the server: srv_lock guards srv against stop vs. the thread ---- */
    pthread_mutex_t srv_lock;
    struct webhook_server *srv;
    atomic_int srv_port;
    atomic_llong served_not_after;    /* Unix seconds; 0 = nothing usable served */

    /* ---- admission metrics (server thread adds, any thread reads) ---- */
    atomic_ulong requests[WRUN_HOOKS][WRUN_RESULTS];
    atomic_ulong dur_buckets[WRUN_DURATION_BUCKETS + 1];
    atomic_ulong dur_count, dur_sum_us;

    /* ---- shared with the server thread and callers, under lock ---- */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, kick, busy;
    atomic_int shut_down;             /* webhook_runtime_shutdown() ran */
    int stuck;                        /* ... and its join timed out */
    struct queued_event *q;           /* ring of h.queue_max */
    size_t q_head, q_len;
    struct wrun_dedup *dedup;
    struct webhook_runtime_stats stats;
    int64_t next_event;               /* mono ms: retry of the queue head */

    /* ---- runtime thread only ---- */
    struct kube_client *kc;
    pthread_t thread;
    int thread_started;
    struct certs_pair pair;           /* self-signed: the served pair */
    json_t *last_secret;              /* the Secret as last read (its metadata is kept) */
    int was_leader;
    int64_t next_round, next_publish, backoff_ms;
    int publish_pending;              /* a configuration was missing */
    int applied[2];                   /* manage: applied since start */
    int warned_missing[2];
    int files_warned;
    unsigned seq;
};

/* ---- clocks ------------------------------------------------------------------ */

static int64_t sys_mono(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_wall(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono(const struct webhook_runtime *r) { return r->h.mono_ms(r->h.clock_ud); }
static int64_t wall_ms(const struct webhook_runtime *r) { return r->h.wall_ms(r->h.clock_ud); }
static time_t wall_s(const struct webhook_runtime *r) { return (time_t)(wall_ms(r) / 1000); }

static int leading(const struct webhook_runtime *r) {
    return !r->is_leader || r->is_leader(r->leader_ud);
}

/* ---- files ------------------------------------------------------------------- */

/* The file's text, or NULL when it is missing, unreadable or over 1 MiB. */
static char *read_text(const char *dir, const char *name) {
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    char *buf = xmalloc(MAX_PEM_FILE + 1);
    size_t n = fread(buf, 1, MAX_PEM_FILE + 1, f);
    int bad = ferror(f) || n > MAX_PEM_FILE;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- the server ----------------------------------------------------------------- */

static void set_served(struct webhook_runtime *r, const char *cert_pem) {
    time_t na = 0;
    if (cert_pem && certs_not_after(cert_pem, &na, NULL) == 0)
        atomic_store(&r->served_not_after, (long long)na);
}

/* Starts the server (srv_lock held, r->srv NULL) from cert_dir or a pair in memory. */
static int server_start_locked(struct webhook_runtime *r, const char *cert, const char *key,
                               struct op_status *st) {
    struct webhook_server_opts so = {
        .bind_address = r->bind,
        .cert_dir = cert ? NULL : r->cert_dir,
        .cert_pem = cert,
        .key_pem = key,
        .threads = r->threads,
        .handler = webhook_admission_handler,
        .handler_ud = &r->adm,
    };
    r->srv = webhook_server_start(&so, st);
    if (!r->srv)
        return st && st->code ? st->code : OP_EIO;
    atomic_store(&r->srv_port, webhook_server_port(r->srv));
    return 0;
}

/* A throw-away pair (nobody trusts it) so the port is bound before the Secret is
 * read: a bind error shows at start, not in a retry loop. */
static int placeholder_pair(const struct webhook_runtime *r, char **cert, char **key,
                            struct op_status *st) {
    char *ca = NULL, *ca_key = NULL;
    const char *const hosts[] = {"tracing-operator-webhook-placeholder"};
    time_t now = wall_s(r);
    int rc = certs_gen_ca("tracing-operator-placeholder", now, 86400, &ca, &ca_key, st);
    if (rc == 0)
        rc = certs_gen_serving(ca, ca_key, hosts, 1, now, 86400, cert, key, st);
    free(ca);
    free(ca_key);
    return rc;
}

/* Serves p when it differs from the served pair; takes p's strings on success. */
static void install_pair(struct webhook_runtime *r, struct certs_pair *p) {
    if (r->pair.cert_pem && !strcmp(r->pair.cert_pem, p->cert_pem) &&
        !strcmp(r->pair.key_pem, p->key_pem)) {
        set_served(r, r->pair.cert_pem);
        return;
    }
    struct op_status st = {0};
    pthread_mutex_lock(&r->srv_lock);
    if (!r->srv) {   /* stopping */
        pthread_mutex_unlock(&r->srv_lock);
        return;
    }
    int rc = webhook_server_set_cert(r->srv, p->cert_pem, p->key_pem, &st);
    pthread_mutex_unlock(&r->srv_lock);
    if (rc) {
        log_error(LOGGER, "cannot serve the webhook certificate", "error", st.msg);
        return;
    }
    certs_pair_free(&r->pair);
    r->pair = *p;
    memset(p, 0, sizeof(*p));
    set_served(r, r->pair.cert_pem);
    char serial[80] = "";
    certs_serial_hex(r->pair.cert_pem, serial, sizeof(serial), NULL);
    pthread_mutex_lock(&r->lock);
    r->stats.cert_changes++;
    pthread_mutex_unlock(&r->lock);
    log_info(LOGGER, "serving the webhook certificate", "serial", serial, "secret", r->secret,
             "namespace", r->ns);
}

/* ---- the Secret (certs_store_ops over the runtime's client) ---------------------- */

static void secret_ref(const char *ns, const char *name, struct kube_ref *ref) {
    kube_ref_from_kind(kube_kind_find("v1", "Secret"), ns, ref);
    ref->name = name;
}

static int store_get(void *ud, const char *ns, const char *name, json_t **ret,
                     struct op_status *st) {
    struct webhook_runtime *r = ud;
    struct kube_ref ref;
    secret_ref(ns, name, &ref);
    *ret = NULL;
    int rc = kube_get(r->kc, &ref, ret, st);
    json_decref(r->last_secret);
    r->last_secret = rc == 0 ? json_incref(*ret) : NULL;
    return rc;
}

static int store_create(void *ud, const json_t *secret, struct op_status *st) {
    struct webhook_runtime *r = ud;
    int rc = kube_create(r->kc, secret, NULL, st);
    if (rc == 0)
        log_info(LOGGER, "created the webhook certificate Secret", "secret", r->secret,
                 "namespace", r->ns);
    return rc;
}

static int store_update(void *ud, const json_t *secret, struct op_status *st) {
    struct webhook_runtime *r = ud;
    json_t *obj = wrun_secret_merge(r->last_secret, secret);
    int rc = kube_update(r->kc, obj, NULL, st);
    json_decref(obj);
    if (rc == 0)
        log_info(LOGGER, "stored a new webhook certificate in the Secret", "secret", r->secret,
                 "namespace", r->ns);
    return rc;
}

/* ---- the webhook configurations ------------------------------------------------ */

static const char *config_kind(int which) {
    return which == MWC ? "MutatingWebhookConfiguration" : "ValidatingWebhookConfiguration";
}

static void config_ref(const struct webhook_runtime *r, int which, struct kube_ref *ref) {
    kube_ref_from_kind(kube_kind_find("admissionregistration.k8s.io/v1", config_kind(which)),
                       NULL, ref);
    ref->name = r->config_name[which];
}

static int apply_config(struct webhook_runtime *r, int which, const char *ca,
                        struct op_status *st) {
    struct certs_webhook_opts wo = {
        .config_name = r->config_name[which],
        .namespace = r->ns,
        .service = r->service,
        .url = r->url,
        .ca_pem = ca,
    };
    json_t *cfg = which == MWC ? certs_mutating_config(&wo) : certs_validating_config(&wo);
    if (!cfg)
        return op_fail(st, OP_EINVALID, "cannot build the %s: --operator-namespace missing or "
                       "--webhook-url not https://", config_kind(which));
    int rc = kube_apply(r->kc, cfg, NULL, st);
    json_decref(cfg);
    if (rc == 0) {
        r->applied[which] = 1;
        log_info(LOGGER, "applied the webhook configuration", "kind", config_kind(which), "name",
                 r->config_name[which]);
    }
    return rc;
}

static int missing_config(struct webhook_runtime *r, int which) {
    r->publish_pending = 1;
    if (!r->warned_missing[which])
        log_warn(LOGGER, "webhook configuration not found; its caBundle is set once it exists",
                 "kind", config_kind(which), "name", r->config_name[which]);
    r->warned_missing[which] = 1;
    return 0;
}

/* Makes config `which` trust ca (NULL: only make sure it exists, manage). served
 * (files mode with patch): leave a caBundle alone that already trusts it. */
static int publish_one(struct webhook_runtime *r, int which, const char *ca, const char *served,
                       struct op_status *st) {
    if (r->manage && !r->applied[which])
        return apply_config(r, which, ca, st);
    struct kube_ref ref;
    config_ref(r, which, &ref);
    for (int attempt = 0;; attempt++) {
        json_t *obj = NULL;
        int rc = kube_get(r->kc, &ref, &obj, st);
        if (rc == OP_ENOTFOUND)
            return r->manage ? apply_config(r, which, ca, st) : missing_config(r, which);
        if (rc)
            return rc;
        r->warned_missing[which] = 0;
        json_t *patch = ca ? certs_cabundle_patch(obj, ca) : NULL;
        int keep = !patch || (served && wrun_bundle_trusts(obj, served, wall_s(r)));
        json_decref(obj);
        if (keep) {
            json_decref(patch);
            return 0;
        }
        if (r->manage) {
            json_decref(patch);
            return apply_config(r, which, ca, st);
        }
        rc = kube_json_patch(r->kc, &ref, patch, NULL, st);
        json_decref(patch);
        if (rc == 0) {
            log_info(LOGGER, "published the CA to the webhook configuration", "kind",
                     config_kind(which), "name", r->config_name[which]);
            return 0;
        }
        int raced = rc == OP_ECONFLICT || (rc == OP_EINVALID && st && st->http == 422);
        if (!raced || attempt == 1)
            return rc;   /* else someone edited it meanwhile: read it again */
    }
}

static int publish_both(struct webhook_runtime *r, const char *ca, const char *served,
                        struct op_status *st) {
    int first = 0;
    for (int which = MWC; which <= VWC; which++) {
        struct op_status one = {0};
        int rc = publish_one(r, which, ca, served, &one);
        if (rc && !first) {
            first = rc;
            if (st)
                *st = one;
        }
    }
    return first;
}

static int store_publish(void *ud, const char *ca_bundle_pem, struct op_status *st) {
    return publish_both(ud, ca_bundle_pem, NULL, st);
}

/* ---- scheduling ------------------------------------------------------------------ */

static void schedule_retry(struct webhook_runtime *r, int64_t now) {
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : r->h.retry_min_ms;
    if (r->backoff_ms > r->h.retry_max_ms)
        r->backoff_ms = r->h.retry_max_ms;
    r->next_round = now + r->backoff_ms;
}

static void count_round(struct webhook_runtime *r, int failed) {
    pthread_mutex_lock(&r->lock);
    r->stats.cert_rounds++;
    if (failed)
        r->stats.cert_errors++;
    pthread_mutex_unlock(&r->lock);
}

/* ---- self-signed ------------------------------------------------------------------ */

static void round_self_signed(struct webhook_runtime *r, int lead) {
    struct certs_opts co = {
        .namespace = r->ns,
        .secret_name = r->secret,
        .service = r->service,
        .extra_hosts = (const char *const *)r->hosts,
        .n_extra_hosts = r->nhosts,
        .cert_validity_s = r->h.cert_validity_s,
        .read_only = !lead,
    };
    struct certs_store_ops ops = {
        .get_secret = store_get,
        .create_secret = store_create,
        .update_secret = store_update,
        .publish_ca = lead ? store_publish : NULL,
    };
    struct certs_pair p = {0};
    struct op_status st = {0};
    r->publish_pending = 0;
    int rc = certs_ensure(&co, &ops, r, wall_s(r), &p, &st);
    if (p.cert_pem && p.key_pem)
        install_pair(r, &p);
    certs_pair_free(&p);
    int64_t now = mono(r);
    r->next_publish = now + r->h.publish_check_ms;
    /* a follower waiting for the leader's renewal keeps serving: not an error */
    int waiting = rc == OP_ENOTFOUND && !lead && r->pair.cert_pem;
    count_round(r, rc != 0 && !waiting);
    if (rc && !waiting) {
        const char *msg = rc == OP_ENOTFOUND && !lead
                              ? "waiting for the leader to write the webhook certificate"
                          : r->pair.cert_pem ? "webhook certificate check failed; retrying"
                                             : "no webhook certificate yet; retrying";
        log_warn(LOGGER, msg, "secret", r->secret, "namespace", r->ns, "code", op_errname(rc), "error",
                 st.msg);
        schedule_retry(r, now);
        return;
    }
    if (r->publish_pending) {
        schedule_retry(r, now);
        return;
    }
    r->backoff_ms = 0;
    int renew = waiting || !r->pair.cert_pem ||
                certs_need_rotation(r->pair.cert_pem, wall_s(r), 0) != 0;
    r->next_round = now + (renew ? r->h.renew_check_ms : r->h.recheck_ms);
}

/* Leader, between full rounds: the configurations still trust the served CA? */
static void check_published(struct webhook_runtime *r) {
    int64_t now = mono(r);
    r->next_publish = now + r->h.publish_check_ms;
    if (r->files || !r->pair.ca_pem)
        return;   /* files mode publishes in its own round */
    struct op_status st = {0};
    r->publish_pending = 0;
    int rc = publish_both(r, r->pair.ca_pem, NULL, &st);
    if (rc)
        log_warn(LOGGER, "cannot publish the webhook CA; retrying", "code", op_errname(rc),
                 "error", st.msg);
    if (rc || r->publish_pending)
        r->next_publish = now + r->h.retry_min_ms * 10;
}

/* ---- files ------------------------------------------------------------------------- */

static void round_files(struct webhook_runtime *r, int lead) {
    int64_t now = mono(r);
    char *cert = read_text(r->cert_dir, "tls.crt");
    char *key = read_text(r->cert_dir, "tls.key");
    char *ca = read_text(r->cert_dir, "ca.crt");
    int usable = cert && key && certs_check_key(cert, key, NULL) == 0;
    int failed = 0;
    struct op_status st = {0};
    pthread_mutex_lock(&r->srv_lock);
    int started = r->srv != NULL;
    if (!started && usable) {
        started = server_start_locked(r, NULL, NULL, &st) == 0;
        if (!started)
            log_error(LOGGER, "cannot start the webhook server", "error", st.msg);
    }
    pthread_mutex_unlock(&r->srv_lock);
    if (!usable && !r->files_warned)
        log_warn(LOGGER, "no usable tls.crt/tls.key in --cert-dir yet", "dir", r->cert_dir);
    r->files_warned = !usable;
    if (usable && started)
        set_served(r, cert);
    failed = !started;
    if (started && lead && (ca || r->manage)) {
        r->publish_pending = 0;
        int rc = publish_both(r, ca, r->manage ? NULL : cert, &st);
        if (rc)
            log_warn(LOGGER, "cannot publish --cert-dir/ca.crt; retrying", "code",
                     op_errname(rc), "error", st.msg);
        failed |= rc != 0 || r->publish_pending;
    }
    count_round(r, failed);
    if (failed)
        schedule_retry(r, now);
    else {
        r->backoff_ms = 0;
        r->next_round = now + r->h.files_check_ms;
    }
    r->next_publish = r->next_round;
    free(cert);
    free(key);
    free(ca);
}

/* ---- Events ---------------------------------------------------------------------------- */

static int retryable(int rc) {
    return rc == OP_ETRANSPORT || rc == OP_ETIMEOUT || rc == OP_ESERVER || rc == OP_ETHROTTLED;
}

/* Sends e; returns 1 when it should be tried again later. */
static int send_event(struct webhook_runtime *r, struct queued_event *e) {
    json_t *ev = wrun_event_build(&e->s, r->instance, wall_ms(r), r->seq++);
    if (!ev)
        return 0;
    struct op_status st = {0};
    int rc = kube_create(r->kc, ev, NULL, &st);
    json_decref(ev);
    pthread_mutex_lock(&r->lock);
    if (rc == 0)
        r->stats.events_sent++;
    else if (!retryable(rc) || e->attempts + 1 >= EVENT_ATTEMPTS)
        r->stats.events_failed++;
    pthread_mutex_unlock(&r->lock);
    if (rc == 0)
        return 0;
    if (retryable(rc) && ++e->attempts < EVENT_ATTEMPTS)
        return 1;
    log_warn(LOGGER, "cannot record the InjectionSkipped Event", "namespace", e->s.ns, "code",
             op_errname(rc), "error", st.msg);
    return 0;
}

/* Under lock: takes the queue head into *out. */
static void queue_pop(struct webhook_runtime *r, struct queued_event *out) {
    *out = r->q[r->q_head];
    r->q_head = (r->q_head + 1) % r->h.queue_max;
    r->q_len--;
}

/* Under lock: puts e back at the head (a retry); 0 when the queue filled up
 * meanwhile (e is dropped and counted). */
static int queue_unpop(struct webhook_runtime *r, struct queued_event *e) {
    if (r->q_len == r->h.queue_max) {
        r->stats.events_dropped++;
        wrun_skip_free(&e->s);
        return 0;
    }
    r->q_head = (r->q_head + r->h.queue_max - 1) % r->h.queue_max;
    r->q[r->q_head] = *e;
    r->q_len++;
    return 1;
}

void webhook_runtime_observe(void *ud, const char *path, const struct admission_result *res,
                             int64_t duration_us) {
    struct webhook_runtime *r = ud;
    int hook = wrun_hook_of(path);
    if (hook >= 0) {
        int64_t us = duration_us > 0 ? duration_us : 0;
        atomic_fetch_add(&r->requests[hook][wrun_result_of(hook, res)], 1);
        atomic_fetch_add(&r->dur_buckets[wrun_duration_bucket(us)], 1);
        atomic_fetch_add(&r->dur_count, 1);
        atomic_fetch_add(&r->dur_sum_us, (unsigned long)us);
    }
    if (r->on_admission)
        r->on_admission(r->on_admission_ud, res, duration_us);
    if (!wrun_wants_event(res))
        return;
    struct queued_event e = {.attempts = 0};
    wrun_skip_from_result(res, &e.s);
    pthread_mutex_lock(&r->lock);
    uint64_t dropped = 0;
    int queued = 0;
    if (r->q_len == r->h.queue_max) {
        dropped = ++r->stats.events_dropped;
    } else if (!wrun_dedup_check(r->dedup, &e.s, mono(r))) {
        r->stats.events_suppressed++;
    } else {
        r->q[(r->q_head + r->q_len) % r->h.queue_max] = e;
        r->q_len++;
        queued = 1;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    if (!queued)
        wrun_skip_free(&e.s);
    if (dropped % 1000 == 1)
        log_warn(LOGGER, "Event queue full: InjectionSkipped Events dropped",
                 LOG_INT("dropped", dropped));
}

/* ---- the thread ----------------------------------------------------------------------- */

static void run_round(struct webhook_runtime *r, int lead, int full) {
    if (r->files)
        round_files(r, lead);
    else if (full)
        round_self_signed(r, lead);
    else
        check_published(r);
}

/* Under lock: real milliseconds to sleep before something is due (at most a tick). */
static int64_t wait_ms(const struct webhook_runtime *r, int64_t now, int lead) {
    int64_t due = r->next_round;
    if (lead && !r->files && r->next_publish < due)
        due = r->next_publish;
    if (r->q_len && r->next_event < due)
        due = r->next_event;
    int64_t d = due - now;
    if (d > r->h.tick_ms)
        d = r->h.tick_ms;
    return d < 1 ? 1 : d;
}

static void timed_wait(struct webhook_runtime *r, int64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->cond, &r->lock, &ts);
}

/* Under lock; returns with the lock held. One Event from the queue. */
static void event_step(struct webhook_runtime *r) {
    struct queued_event e;
    queue_pop(r, &e);
    r->busy = 1;
    pthread_mutex_unlock(&r->lock);
    int again = send_event(r, &e);
    pthread_mutex_lock(&r->lock);
    r->busy = 0;
    if (again) {
        if (queue_unpop(r, &e))
            r->next_event = mono(r) + r->h.retry_min_ms * (1 << e.attempts);
    } else {
        wrun_skip_free(&e.s);
    }
    pthread_cond_broadcast(&r->cond);
}

static void *thread_main(void *arg) {
    struct webhook_runtime *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        int64_t now = mono(r);
        if (r->q_len && now >= r->next_event) {
            event_step(r);
            continue;
        }
        pthread_mutex_unlock(&r->lock);
        int lead = leading(r);
        pthread_mutex_lock(&r->lock);
        if (lead && !r->was_leader)
            r->kick = 1;   /* newly elected: do the leader's writes now */
        r->was_leader = lead;
        int full = r->kick || now >= r->next_round;
        int publish = lead && now >= r->next_publish;
        if (full || publish) {
            r->kick = 0;
            r->busy = 1;
            pthread_mutex_unlock(&r->lock);
            run_round(r, lead, full);
            pthread_mutex_lock(&r->lock);
            r->busy = 0;
            pthread_cond_broadcast(&r->cond);
            continue;
        }
        timed_wait(r, wait_ms(r, now, lead));
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- start / stop ---------------------------------------------------------------------------- */

static char *dup_or(const char *s, const char *dflt) {
    return s ? xstrdup(s) : dflt ? xstrdup(dflt) : NULL;
}

static int64_t or_default(int64_t v, int64_t d) { return v > 0 ? v : d; }

static void resolve_hooks(struct webhook_runtime *r, const struct webhook_runtime_hooks *h) {
    if (h)
        r->h = *h;
    if (!r->h.mono_ms || !r->h.wall_ms) {
        r->h.mono_ms = sys_mono;
        r->h.wall_ms = sys_wall;
    }
    r->h.tick_ms = or_default(r->h.tick_ms, 1000);
    r->h.retry_min_ms = or_default(r->h.retry_min_ms, 1000);
    r->h.retry_max_ms = or_default(r->h.retry_max_ms, 60000);
    r->h.recheck_ms = or_default(r->h.recheck_ms, 3600 * 1000);
    r->h.renew_check_ms = or_default(r->h.renew_check_ms, 60000);
    r->h.publish_check_ms = or_default(r->h.publish_check_ms, 60000);
    r->h.files_check_ms = or_default(r->h.files_check_ms, 60000);
    r->h.dedup_ms = or_default(r->h.dedup_ms, WEBHOOK_RUNTIME_DEDUP_MS);
    if (!r->h.queue_max)
        r->h.queue_max = WEBHOOK_RUNTIME_QUEUE_MAX;
}

/* The operator's namespace: the flag, $POD_NAMESPACE, else the in-cluster one. */
static const char *operator_ns(const struct webhook_runtime_opts *o,
                               const struct webhook_runtime_hooks *h) {
    if (o->operator_namespace && *o->operator_namespace)
        return o->operator_namespace;
    const char *env = h && h->pod_namespace ? h->pod_namespace : getenv("POD_NAMESPACE");
    if (env && *env)
        return env;
    if (o->kube && o->kube->context && strcmp(o->kube->context, "in-cluster") == 0)
        return o->kube->ns;
    return NULL;
}

static char *hostname_or(const struct webhook_runtime_hooks *h) {
    if (h && h->hostname)
        return xstrdup(h->hostname);
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
        return xstrdup("tracing-operator");
    return xstrdup(host);
}

static int copy_opts(struct webhook_runtime *r, const struct webhook_runtime_opts *o,
                     const struct webhook_runtime_hooks *h, struct op_status *st) {
    int rc = webhook_runtime_flags_check(o, st);
    if (rc)
        return rc;
    r->files = o->cert_mode ? strcmp(o->cert_mode, "files") == 0 : o->cert_dir != NULL;
    r->manage = o->webhook_config && strcmp(o->webhook_config, "manage") == 0;
    const char *ns = operator_ns(o, h);
    if (!ns && (!r->files || r->manage))
        return op_fail(st, OP_EINVALID, "the webhook needs --operator-namespace (or "
                       "$POD_NAMESPACE) for %s", r->files ? "--webhook-config manage"
                                                          : "--cert-mode self-signed");
    if (ns && !is_dns_label(ns))
        return op_fail(st, OP_EINVALID, "operator namespace \"%s\" is not a namespace name", ns);
    if (!o->kube && !(h && h->new_transport))
        return op_fail(st, OP_EINVALID, "the webhook runtime needs a kube config");
    r->bind = dup_or(o->bind_address, WEBHOOK_DEFAULT_BIND);
    r->threads = o->threads ? o->threads : WEBHOOK_DEFAULT_THREADS;
    r->ns = dup_or(ns, NULL);
    r->cert_dir = dup_or(o->cert_dir, NULL);
    r->url = dup_or(o->webhook_url, NULL);
    r->service = dup_or(o->service_name, CERTS_DEFAULT_SERVICE);
    r->secret = dup_or(o->secret_name, CERTS_DEFAULT_SECRET);
    r->config_name[MWC] = dup_or(o->mutating_name, CERTS_DEFAULT_CONFIG);
    r->config_name[VWC] = dup_or(o->validating_name, CERTS_DEFAULT_CONFIG);
    for (size_t i = 0; i < o->nhosts && i < WEBHOOK_RUNTIME_MAX_HOSTS; i++)
        r->hosts[r->nhosts++] = xstrdup(o->hosts[i]);
    r->instance = hostname_or(h);
    r->lookups = o->lookups;
    r->is_leader = o->is_leader;
    r->leader_ud = o->leader_ud;
    r->on_admission = o->on_admission;
    r->on_admission_ud = o->on_admission_ud;
    return 0;
}

static int make_client(struct webhook_runtime *r, const struct webhook_runtime_opts *o,
                       const struct webhook_runtime_hooks *h, struct op_status *st) {
    struct kube_config empty;
    kube_config_init(&empty);
    const struct kube_config *cfg = o->kube ? o->kube : &empty;
    if (h && h->new_transport) {
        struct kube_transport *t = h->new_transport(h->transport_ud, st);
        r->kc = t ? kube_client_new_with_transport(cfg, t, st) : NULL;
    } else {
        r->kc = kube_client_new(cfg, st);
    }
    kube_config_free(&empty);
    return r->kc ? 0 : (st && st->code ? st->code : OP_EINVALID);
}

/* Binds the port: the placeholder pair (self-signed) or the files when usable. */
static int bind_server(struct webhook_runtime *r, struct op_status *st) {
    int rc = 0;
    pthread_mutex_lock(&r->srv_lock);
    if (!r->files) {
        char *cert = NULL, *key = NULL;
        rc = placeholder_pair(r, &cert, &key, st);
        if (rc == 0)
            rc = server_start_locked(r, cert, key, st);
        free(cert);
        free(key);
    } else {
        char *cert = read_text(r->cert_dir, "tls.crt");
        char *key = read_text(r->cert_dir, "tls.key");
        if (cert && key && certs_check_key(cert, key, NULL) == 0) {
            rc = server_start_locked(r, NULL, NULL, st);
            if (rc == 0)
                set_served(r, cert);
        } else {
            log_warn(LOGGER, "no usable tls.crt/tls.key in --cert-dir yet; serving once they "
                     "appear", "dir", r->cert_dir);
            r->files_warned = 1;
        }
        free(cert);
        free(key);
    }
    pthread_mutex_unlock(&r->srv_lock);
    return rc;
}

static void runtime_free(struct webhook_runtime *r) {
    admission_cache_free(r->adm.cache); /* the server is stopped: no admission uses it */
    if (r->kc)
        kube_client_free(r->kc);
    for (size_t i = 0; r->q && i < r->q_len; i++)
        wrun_skip_free(&r->q[(r->q_head + i) % r->h.queue_max].s);
    free(r->q);
    wrun_dedup_free(r->dedup);
    certs_pair_free(&r->pair);
    json_decref(r->last_secret);
    char **strs[] = {&r->bind, &r->ns, &r->cert_dir, &r->url, &r->service, &r->secret,
                     &r->config_name[MWC], &r->config_name[VWC], &r->instance};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    for (size_t i = 0; i < r->nhosts; i++)
        free(r->hosts[i]);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->srv_lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

static struct webhook_runtime *runtime_new(const struct webhook_runtime_hooks *h) {
    struct webhook_runtime *r = xcalloc(1, sizeof(*r));
    resolve_hooks(r, h);
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->srv_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&r->srv_port, -1);
    atomic_init(&r->served_not_after, 0);
    return r;
}

struct webhook_runtime *webhook_runtime_start_with(const struct webhook_runtime_opts *o,
                                                   const struct webhook_runtime_hooks *h,
                                                   struct op_status *st) {
    if (!o) {
        op_fail(st, OP_EINVALID, "webhook runtime: no options");
        return NULL;
    }
    struct webhook_runtime *r = runtime_new(h);
    if (!webhook_runtime_enabled(o)) {
        r->disabled = 1;
        log_info(LOGGER, "admission webhook disabled (--webhook-bind-address 0)");
        return r;
    }
    if (copy_opts(r, o, h, st) || make_client(r, o, h, st))
        goto fail;
    r->adm.ctx = &r->lookups;
    r->adm.cache = admission_cache_new(); /* defaulted TracingModels kept between requests */
    r->adm.observe = webhook_runtime_observe;
    r->adm.observe_ud = r;
    r->q = xcalloc(r->h.queue_max, sizeof(*r->q));
    r->dedup = wrun_dedup_new(512, r->h.dedup_ms);
    if (bind_server(r, st))
        goto fail;
    r->kick = 1;   /* the first round at once */
    if (pthread_create(&r->thread, NULL, thread_main, r) != 0) {
        op_fail(st, OP_EIO, "cannot start the webhook runtime thread: %s", strerror(errno));
        goto fail;
    }
    r->thread_started = 1;
    log_info(LOGGER, "admission webhook started", "address", r->bind, "cert_mode",
             r->files ? "files" : "self-signed", "webhook_config",
             r->manage ? "manage" : "patch", LOG_INT("port", atomic_load(&r->srv_port)));
    return r;
fail:
    webhook_server_stop(r->srv);
    runtime_free(r);
    return NULL;
}

struct webhook_runtime *webhook_runtime_start(const struct webhook_runtime_opts *o,
                                              struct op_status *st) {
    return webhook_runtime_start_with(o, NULL, st);
}

int webhook_runtime_ready(struct webhook_runtime *r) {
    if (!r)
        return 0;
    if (r->disabled)
        return !atomic_load(&r->shut_down);
    long long na = atomic_load(&r->served_not_after);
    return na > 0 && (time_t)na > wall_s(r);
}

int webhook_runtime_port(struct webhook_runtime *r) {
    return r && !r->disabled ? atomic_load(&r->srv_port) : -1;
}

void webhook_runtime_get_stats(struct webhook_runtime *r, struct webhook_runtime_stats *s) {
    memset(s, 0, sizeof(*s));
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    *s = r->stats;
    pthread_mutex_unlock(&r->lock);
    s->ready = webhook_runtime_ready(r);
}

void webhook_runtime_metrics(struct webhook_runtime *r, struct strbuf *out) {
    if (!r || r->disabled)
        return;
    struct wrun_metrics m;
    memset(&m, 0, sizeof(m));
    for (int h = 0; h < WRUN_HOOKS; h++)
        for (int i = 0; i < WRUN_RESULTS; i++)
            m.requests[h][i] = atomic_load(&r->requests[h][i]);
    for (size_t i = 0; i <= WRUN_DURATION_BUCKETS; i++)
        m.buckets[i] = atomic_load(&r->dur_buckets[i]);
    m.count = atomic_load(&r->dur_count);
    m.sum_us = atomic_load(&r->dur_sum_us);
    webhook_runtime_get_stats(r, &m.stats);
    m.cert_not_after = atomic_load(&r->served_not_after);
    wrun_metrics_format(&m, out);
}

void webhook_runtime_kick(struct webhook_runtime *r) {
    pthread_mutex_lock(&r->lock);
    r->kick = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

int webhook_runtime_wait_idle(struct webhook_runtime *r, int64_t timeout_ms) {
    int64_t end = sys_mono(NULL) + timeout_ms;
    pthread_mutex_lock(&r->lock);
    while (r->thread_started && (r->q_len || r->busy || r->kick)) {
        int64_t left = end - sys_mono(NULL);
        if (left <= 0) {
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        timed_wait(r, left < 50 ? left : 50);
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int webhook_runtime_shutdown(struct webhook_runtime *r) {
    if (!r)
        return 0;
    if (atomic_load(&r->shut_down))
        return r->stuck ? -1 : 0;
    atomic_store(&r->shut_down, 1);
    pthread_mutex_lock(&r->srv_lock);
    webhook_server_stop(r->srv);   /* no admission (and no observe) after this */
    r->srv = NULL;
    atomic_store(&r->served_not_after, 0);
    atomic_store(&r->srv_port, -1);
    pthread_mutex_unlock(&r->srv_lock);
    if (!r->thread_started)
        return 0;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += STOP_WAIT_MS / 1000;
    if (pthread_timedjoin_np(r->thread, NULL, &ts) != 0) {
        log_warn(LOGGER, "webhook runtime thread still in an API call at shutdown; leaving it");
        r->stuck = 1;
        return -1;
    }
    pthread_mutex_lock(&r->lock);
    r->thread_started = 0;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void webhook_runtime_stop(struct webhook_runtime *r) {
    if (!r || webhook_runtime_shutdown(r) != 0)
        return;   /* a stuck thread still uses r: leave it to the exiting process */
    runtime_free(r);
}
