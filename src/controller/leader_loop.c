/* leader_loop.c - the leader-election thread: GET/create/update the Lease every retry
 * period through a kube client and report gaining/losing leadership (edge; the
 * decisions are leader.c's). */
#include "controller/leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"

struct leader_loop {
    struct leader_elector le;
    struct kube_client *client;
    const struct op_clock *clock;
    struct leader_callbacks cb;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_int stop;
    atomic_int leading;   /* mirror of le.leading for other threads */
    json_t *last_lease;   /* last Lease read or written (for release) */
    int running;
    pthread_t thread;
};

struct leader_loop *leader_loop_new(struct kube_client *client, const char *identity,
                                    const char *ns, const char *name,
                                    const struct op_clock *clock,
                                    const struct leader_callbacks *cb) {
    struct leader_loop *ll = xcalloc(1, sizeof(*ll));
    leader_init(&ll->le, identity, ns, name, 0, 0, 0);
    ll->client = client;
    ll->clock = clock ? clock : &op_clock_system;
    if (cb)
        ll->cb = *cb;
    pthread_mutex_init(&ll->mu, NULL);
    pthread_cond_init(&ll->wake, NULL);
    atomic_init(&ll->stop, 0);
    atomic_init(&ll->leading, 0);
    return ll;
}

void leader_loop_free(struct leader_loop *ll) {
    if (!ll)
        return;
    leader_loop_stop_and_release(ll);
    kube_client_free(ll->client);
    json_decref(ll->last_lease);
    leader_done(&ll->le);
    pthread_cond_destroy(&ll->wake);
    pthread_mutex_destroy(&ll->mu);
    free(ll);
}

int leader_loop_is_leader(struct leader_loop *ll) { return atomic_load(&ll->leading); }

static void remember(struct leader_loop *ll, json_t *lease /* stolen */) {
    json_decref(ll->last_lease);
    ll->last_lease = lease;
}

static void publish(struct leader_loop *ll, int was) {
    int now = ll->le.leading;
    atomic_store(&ll->leading, now);
    if (now == was)
        return;
    if (now) {
        log_info("leader", "became leader", "lease", ll->le.name, "identity", ll->le.identity);
        if (ll->cb.started)
            ll->cb.started(ll->cb.ud);
    } else {
        log_warn("leader", "lost leadership, stopping reconciles", "lease", ll->le.name,
                 "identity", ll->le.identity);
        if (ll->cb.stopped)
            ll->cb.stopped(ll->cb.ud);
    }
}

int leader_loop_tick(struct leader_loop *ll) {
    int was = ll->le.leading;
    struct kube_ref ref = {.group = "coordination.k8s.io", .version = "v1",
                           .resource = "leases", .ns = ll->le.ns, .name = ll->le.name};
    struct op_status st = {0};
    json_t *lease = NULL;
    int rc = kube_get(ll->client, &ref, &lease, &st);
    if (rc < 0 && rc != OP_ENOTFOUND) {
        log_warn("leader", "cannot read the lease, will retry", "lease", ll->le.name,
                 "err", op_errname(rc), "detail", st.msg);
        goto check;
    }
    json_t *body = NULL;
    enum leader_action act = leader_decide(&ll->le, rc == 0 ? lease : NULL,
                                           op_now_ms(ll->clock), op_wall_ms(ll->clock), &body);
    if (act != LEADER_STANDBY) {
        json_t *written = NULL;
        memset(&st, 0, sizeof(st));
        rc = act == LEADER_CREATE ? kube_create(ll->client, body, &written, &st)
                                  : kube_update(ll->client, body, &written, &st);
        leader_observe_write(&ll->le, rc == 0, op_now_ms(ll->clock), op_wall_ms(ll->clock));
        if (rc == 0) {
            remember(ll, written);
        } else {
            json_decref(written);
            if (rc != OP_ECONFLICT && rc != OP_EALREADY)
                log_warn("leader", "cannot write the lease, will retry", "lease", ll->le.name,
                         "err", op_errname(rc), "detail", st.msg);
        }
        json_decref(body);
    }
    if (lease && !ll->le.leading)
        remember(ll, json_incref(lease));
    json_decref(lease);
check:
    leader_check(&ll->le, op_now_ms(ll->clock));
    publish(ll, was);
    return ll->le.leading;
}

static void *run(void *arg) {
    struct leader_loop *ll = arg;
    while (!atomic_load(&ll->stop)) {
        leader_loop_tick(ll);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ms = ll->le.retry_ms;
        ts.tv_sec += (time_t)(ms / 1000);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&ll->mu);
        while (!atomic_load(&ll->stop))
            if (pthread_cond_timedwait(&ll->wake, &ll->mu, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&ll->mu);
    }
    return NULL;
}

int leader_loop_start(struct leader_loop *ll) {
    if (ll->running)
        return 0;
    if (pthread_create(&ll->thread, NULL, run, ll) != 0)
        return OP_EIO;
    ll->running = 1;
    return 0;
}

void leader_loop_stop_and_release(struct leader_loop *ll) {
    pthread_mutex_lock(&ll->mu);
    atomic_store(&ll->stop, 1);
    pthread_cond_broadcast(&ll->wake);
    pthread_mutex_unlock(&ll->mu);
    if (ll->running) {
        pthread_join(ll->thread, NULL);
        ll->running = 0;
    }
    if (!ll->le.leading)
        return;
    int was = ll->le.leading;
    json_t *body = leader_release_body(&ll->le, ll->last_lease, op_wall_ms(ll->clock));
    if (body) {
        struct op_status st = {0};
        int rc = kube_update(ll->client, body, NULL, &st);
        if (rc == 0)
            log_info("leader", "released the lease", "lease", ll->le.name);
        else
            log_warn("leader", "cannot release the lease", "lease", ll->le.name,
                     "err", op_errname(rc), "detail", st.msg);
        json_decref(body);
    }
    ll->le.leading = 0;
    atomic_store(&ll->leading, 0);
    if (was && ll->cb.stopped)
        ll->cb.stopped(ll->cb.ud);
}

char *leader_make_identity(void) {
    char host[256] = "tracing-operator";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "tracing-operator");
    host[sizeof(host) - 1] = 0;
    double r1 = op_rand01(&op_clock_system), r2 = op_rand01(&op_clock_system);
    return xasprintf("%s_%08x%08x", host, (unsigned)(r1 * 4294967295.0),
                     (unsigned)(r2 * 4294967295.0));
}
