/* informer.c - list/watch loop feeding a cache (see informer.h). */
#include "controller/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "controller/backoff.h"
#include "controller/list_stream.h"

#define INFORMER_BACKOFF_BASE_MS 800
#define INFORMER_BACKOFF_MAX_MS 30000

struct informer {
    struct informer_cfg cfg;
    struct kube_client *client;
    struct list_filter *lf;
    const struct op_clock *clock;
    pthread_mutex_t mu;         /* guards rv and the stop wake-up */
    pthread_cond_t wake;
    char *rv;                   /* last resourceVersion seen; NULL = must list */
    int need_list;
    atomic_int stop;
    atomic_int synced;
    int running;
    pthread_t thread;
    struct backoff backoff;
};

struct informer *informer_new(const struct informer_cfg *cfg, struct kube_client *client,
                              struct list_filter *lf) {
    struct informer *inf = xcalloc(1, sizeof(*inf));
    inf->cfg = *cfg;
    inf->client = client;
    inf->lf = lf;
    inf->clock = cfg->clock ? cfg->clock : &op_clock_system;
    pthread_mutex_init(&inf->mu, NULL);
    pthread_cond_init(&inf->wake, NULL);
    inf->need_list = 1;
    atomic_init(&inf->stop, 0);
    atomic_init(&inf->synced, 0);
    backoff_init(&inf->backoff, INFORMER_BACKOFF_BASE_MS, INFORMER_BACKOFF_MAX_MS, 1.0);
    return inf;
}

void informer_free(struct informer *inf) {
    if (!inf)
        return;
    informer_stop(inf);
    kube_client_free(inf->client);
    free(inf->rv);
    pthread_cond_destroy(&inf->wake);
    pthread_mutex_destroy(&inf->mu);
    free(inf);
}

const char *informer_name(const struct informer *inf) { return inf->cfg.name; }

int informer_synced(struct informer *inf) { return atomic_load(&inf->synced); }

char *informer_resource_version(struct informer *inf) {
    pthread_mutex_lock(&inf->mu);
    char *rv = inf->rv ? xstrdup(inf->rv) : NULL;
    pthread_mutex_unlock(&inf->mu);
    return rv;
}

static void set_rv(struct informer *inf, const char *rv) {
    if (!rv || !*rv)
        return;
    pthread_mutex_lock(&inf->mu);
    free(inf->rv);
    inf->rv = xstrdup(rv);
    pthread_mutex_unlock(&inf->mu);
}

static const char *obj_rv(const json_t *obj) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                             "resourceVersion"));
}

static void restarted(struct informer *inf, enum informer_restart why) {
    if (inf->cfg.on_restart)
        inf->cfg.on_restart(inf->cfg.restart_ud, inf->cfg.name, why);
}

/* List items come without apiVersion/kind; watch objects normally carry them. */
static void fill_type_meta(const struct informer *inf, json_t *obj) {
    if (inf->cfg.api_version && !json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string(inf->cfg.api_version));
    if (inf->cfg.kind && !json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(inf->cfg.kind));
}

static int streamed_item(void *ud, json_t *item) {
    struct informer *inf = ud;
    fill_type_meta(inf, item);
    if (inf->cfg.handler.upsert)
        inf->cfg.handler.upsert(inf->cfg.handler.ud, item);
    json_decref(item);
    return atomic_load(&inf->stop) ? 1 : 0;
}

static int do_list(struct informer *inf) {
    struct kube_list_opts lo = {.label_selector = inf->cfg.label_selector,
                                .field_selector = inf->cfg.field_selector};
    struct op_status st = {0};
    json_t *list = NULL;
    const struct informer_handler *h = &inf->cfg.handler;
    if (h->replace_begin)
        h->replace_begin(h->ud);
    if (inf->lf)
        list_filter_capture(inf->lf, streamed_item, inf);
    int rc = kube_list(inf->client, &inf->cfg.ref, &lo, &list, &st);
    if (inf->lf)
        list_filter_capture(inf->lf, NULL, NULL);
    if (rc < 0) {
        log_warn("informer", "list failed, will retry", "resource", inf->cfg.name,
                 "err", op_errname(rc), LOG_INT("http", st.http), "detail", st.msg);
        json_decref(list);
        return rc;
    }
    json_t *items = json_object_get(list, "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        fill_type_meta(inf, it);
        if (h->upsert)
            h->upsert(h->ud, it);
    }
    if (h->replace_end)
        h->replace_end(h->ud);
    set_rv(inf, obj_rv(list));
    log_debug("informer", "listed", "resource", inf->cfg.name);
    json_decref(list);
    inf->need_list = 0;
    atomic_store(&inf->synced, 1);
    return 0;
}

static int on_event(void *ud, enum kube_event_type type, json_t *obj) {
    struct informer *inf = ud;
    const struct informer_handler *h = &inf->cfg.handler;
    const char *rv = obj_rv(obj);
    char *rv_copy = rv ? xstrdup(rv) : NULL;   /* the handler may modify obj */
    if (type != KUBE_EVENT_BOOKMARK && type != KUBE_EVENT_ERROR)
        fill_type_meta(inf, obj);
    switch (type) {
    case KUBE_EVENT_ADDED:
    case KUBE_EVENT_MODIFIED:
        if (h->upsert)
            h->upsert(h->ud, obj);
        break;
    case KUBE_EVENT_DELETED:
        if (h->remove)
            h->remove(h->ud, obj);
        break;
    case KUBE_EVENT_BOOKMARK:
    case KUBE_EVENT_ERROR:
        break;
    }
    if (type != KUBE_EVENT_ERROR)
        set_rv(inf, rv_copy);
    free(rv_copy);
    return atomic_load(&inf->stop) ? 1 : 0;
}

static int do_watch(struct informer *inf) {
    char *rv = informer_resource_version(inf);
    int timeout = inf->cfg.watch_timeout_s;
    if (timeout <= 0)   /* client-go: 5..10 minutes, so watches do not all end together */
        timeout = 300 + (int)(op_rand01(inf->clock) * 300);
    struct kube_watch_opts wo = {
        .label_selector = inf->cfg.label_selector,
        .field_selector = inf->cfg.field_selector,
        .resource_version = rv,
        .timeout_seconds = timeout,
        .stop = &inf->stop,
    };
    struct op_status st = {0};
    int rc = kube_watch(inf->client, &inf->cfg.ref, &wo, on_event, inf, &st);
    free(rv);
    if (rc == KUBE_WATCH_STOPPED || atomic_load(&inf->stop))
        return KUBE_WATCH_STOPPED;
    if (rc == OP_EGONE) {
        log_info("informer", "resourceVersion too old, relisting", "resource", inf->cfg.name);
        inf->need_list = 1;
        restarted(inf, INFORMER_RESTART_GONE);
        return rc;
    }
    if (rc < 0) {
        log_warn("informer", "watch failed, will resume", "resource", inf->cfg.name,
                 "err", op_errname(rc), LOG_INT("http", st.http), "detail", st.msg);
        restarted(inf, INFORMER_RESTART_ERROR);
        return rc;
    }
    restarted(inf, INFORMER_RESTART_END);
    return 0;
}

int informer_step(struct informer *inf) {
    if (atomic_load(&inf->stop))
        return KUBE_WATCH_STOPPED;
    if (inf->need_list)
        return do_list(inf);
    return do_watch(inf);
}

/* Sleeps ms unless stopped first. */
static void nap(struct informer *inf, int64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&inf->mu);
    while (!atomic_load(&inf->stop)) {
        if (pthread_cond_timedwait(&inf->wake, &inf->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&inf->mu);
}

static void *run(void *arg) {
    struct informer *inf = arg;
    while (!atomic_load(&inf->stop)) {
        int rc = informer_step(inf);
        if (rc == KUBE_WATCH_STOPPED)
            break;
        if (rc == 0) {
            backoff_reset(&inf->backoff);
            continue;
        }
        if (rc == OP_EGONE) /* relist at once: the version is simply too old */
            continue;
        nap(inf, backoff_next(&inf->backoff, op_rand01(inf->clock)));
    }
    return NULL;
}

int informer_start(struct informer *inf) {
    if (inf->running)
        return 0;
    if (pthread_create(&inf->thread, NULL, run, inf) != 0)
        return OP_EIO;
    inf->running = 1;
    return 0;
}

void informer_request_stop(struct informer *inf) {
    pthread_mutex_lock(&inf->mu);
    atomic_store(&inf->stop, 1);
    pthread_cond_broadcast(&inf->wake);
    pthread_mutex_unlock(&inf->mu);
}

int informer_join(struct informer *inf, int64_t deadline_wall_ms) {
    if (!inf->running)
        return 0;
    struct timespec ts = {.tv_sec = (time_t)(deadline_wall_ms / 1000),
                          .tv_nsec = (long)(deadline_wall_ms % 1000) * 1000000L};
    if (pthread_timedjoin_np(inf->thread, NULL, &ts) != 0)
        return -1;
    inf->running = 0;
    return 0;
}

void informer_stop(struct informer *inf) {
    informer_request_stop(inf);
    if (inf->running) {
        pthread_join(inf->thread, NULL);
        inf->running = 0;
    }
}
