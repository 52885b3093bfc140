/* workqueue.c - de-duplicating, delaying, rate-limiting FIFO of keys (see workqueue.h).
 *
 * State, all under q->mu:
 *   ring        keys ready to hand out, in order (each key at most once)
 *   dirty       keys that need processing (in the ring, or processing and re-added);
 *               value: when the key was added (for the latency metric)
 *   processing  keys handed to a worker and not yet done; value: when handed out
 *   waiting     delayed keys -> due time; the heap orders them (stale heap entries,
 *               whose due no longer matches `waiting`, are skipped when popped)
 *   failures    per-key failure counts for the rate limiter */
#include "controller/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "controller/backoff.h"
#include "controller/strmap.h"

struct heap_item {
    int64_t due;
    char *key;
};

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    const struct op_clock *clock;
    char **ring;
    size_t head, count, cap;
    struct strmap dirty, processing, waiting, failures;
    struct heap_item *heap;
    size_t heap_len, heap_cap;
    int shutdown;
    int64_t base_ms, max_ms;
    wq_observer_fn observe;
    void *observe_ctx;
};

struct boxed {
    int64_t v;
};

static struct boxed *box(int64_t v) {
    struct boxed *b = xmalloc(sizeof(*b));
    b->v = v;
    return b;
}

static int64_t now(const struct workqueue *q) { return op_now_ms(q->clock); }

static void observe(struct workqueue *q, enum wq_observation what, int64_t v) {
    if (q->observe)
        q->observe(q->observe_ctx, what, v);
}

struct workqueue *workqueue_new(const struct op_clock *clock) {
    struct workqueue *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    q->clock = clock;
    strmap_init(&q->dirty, free);
    strmap_init(&q->processing, free);
    strmap_init(&q->waiting, free);
    strmap_init(&q->failures, free);
    q->base_ms = BACKOFF_ITEM_BASE_MS;
    q->max_ms = BACKOFF_ITEM_MAX_MS;
    return q;
}

void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms) {
    pthread_mutex_lock(&q->mu);
    q->base_ms = base_ms;
    q->max_ms = max_ms;
    pthread_mutex_unlock(&q->mu);
}

void workqueue_set_observer(struct workqueue *q, wq_observer_fn fn, void *ctx) {
    pthread_mutex_lock(&q->mu);
    q->observe = fn;
    q->observe_ctx = ctx;
    pthread_mutex_unlock(&q->mu);
}

void workqueue_free(struct workqueue *q) {
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        free(q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    for (size_t i = 0; i < q->heap_len; i++)
        free(q->heap[i].key);
    free(q->heap);
    strmap_done(&q->dirty);
    strmap_done(&q->processing);
    strmap_done(&q->waiting);
    strmap_done(&q->failures);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static void ring_push(struct workqueue *q, const char *key) {
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        char **n = xmalloc(ncap * sizeof(*n));
        for (size_t i = 0; i < q->count; i++)
            n[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->ring[(q->head + q->count) % q->cap] = xstrdup(key);
    q->count++;
}

static char *ring_pop(struct workqueue *q) {
    char *k = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return k;
}

/* client-go Add: collapse repeats; a key being processed waits for done(). */
static void add_locked(struct workqueue *q, const char *key) {
    if (q->shutdown || strmap_has(&q->dirty, key))
        return;
    strmap_put(&q->dirty, key, box(now(q)));
    if (strmap_has(&q->processing, key))
        return;
    ring_push(q, key);
    observe(q, WQ_OBS_ADD, 0);
    pthread_cond_signal(&q->cond);
}

void workqueue_add(struct workqueue *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

static void heap_push(struct workqueue *q, int64_t due, const char *key) {
    if (q->heap_len == q->heap_cap) {
        q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 16;
        q->heap = xrealloc(q->heap, q->heap_cap * sizeof(*q->heap));
    }
    size_t i = q->heap_len++;
    q->heap[i] = (struct heap_item){due, xstrdup(key)};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p].due <= q->heap[i].due)
            break;
        struct heap_item t = q->heap[p];
        q->heap[p] = q->heap[i];
        q->heap[i] = t;
        i = p;
    }
}

static struct heap_item heap_pop(struct workqueue *q) {
    struct heap_item top = q->heap[0];
    q->heap[0] = q->heap[--q->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && q->heap[l].due < q->heap[m].due)
            m = l;
        if (r < q->heap_len && q->heap[r].due < q->heap[m].due)
            m = r;
        if (m == i)
            break;
        struct heap_item t = q->heap[m];
        q->heap[m] = q->heap[i];
        q->heap[i] = t;
        i = m;
    }
    return top;
}

/* Drops stale heap heads (keys whose due time changed or that already fired). */
static void heap_skip_stale(struct workqueue *q) {
    while (q->heap_len) {
        struct boxed *b = strmap_get(&q->waiting, q->heap[0].key);
        if (b && b->v == q->heap[0].due)
            return;
        free(heap_pop(q).key);
    }
}

/* Moves every delayed key whose time has come into the ready queue. */
static void promote_due(struct workqueue *q) {
    int64_t t = now(q);
    for (;;) {
        heap_skip_stale(q);
        if (!q->heap_len || q->heap[0].due > t)
            return;
        struct heap_item it = heap_pop(q);
        strmap_del(&q->waiting, it.key);
        add_locked(q, it.key);
        free(it.key);
    }
}

static void add_after_locked(struct workqueue *q, const char *key, int64_t delay_ms) {
    if (q->shutdown)
        return;
    if (delay_ms <= 0) {
        add_locked(q, key);
        return;
    }
    int64_t due = now(q) + delay_ms;
    struct boxed *b = strmap_get(&q->waiting, key);
    if (b && b->v <= due)
        return;
    strmap_put(&q->waiting, key, box(due));
    heap_push(q, due, key);
    pthread_cond_signal(&q->cond);   /* a sleeping get() may need an earlier wake-up */
}

void workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms) {
    pthread_mutex_lock(&q->mu);
    add_after_locked(q, key, delay_ms);
    pthread_mutex_unlock(&q->mu);
}

int64_t workqueue_add_rate_limited(struct workqueue *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    struct boxed *f = strmap_get(&q->failures, key);
    unsigned n = f ? (unsigned)f->v : 0;
    int64_t delay = backoff_exp_ms(q->base_ms, q->max_ms, n);
    if (f)
        f->v = n < 64 ? n + 1 : n;
    else
        strmap_put(&q->failures, key, box(1));
    observe(q, WQ_OBS_RETRY, delay);
    add_after_locked(q, key, delay);
    pthread_mutex_unlock(&q->mu);
    return delay;
}

void workqueue_forget(struct workqueue *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    strmap_del(&q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

unsigned workqueue_num_requeues(struct workqueue *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    struct boxed *f = strmap_get(&q->failures, key);
    unsigned n = f ? (unsigned)f->v : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static char *take_locked(struct workqueue *q) {
    char *key = ring_pop(q);
    int64_t t = now(q);
    struct boxed *added = strmap_get(&q->dirty, key);
    if (added)
        observe(q, WQ_OBS_LATENCY, t - added->v);
    strmap_put(&q->processing, key, box(t));
    strmap_del(&q->dirty, key);
    return key;
}

/* Waits at most max_ms of real time for a signal. */
static void timed_wait(struct workqueue *q, int64_t max_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(max_ms / 1000);
    ts.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&q->cond, &q->mu, &ts);
}

int workqueue_get(struct workqueue *q, char **ret_key) {
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shutdown) {
            pthread_mutex_unlock(&q->mu);
            return 0;
        }
        promote_due(q);
        if (q->count)
            break;
        if (q->heap_len) {
            int64_t wait = q->heap[0].due - now(q);
            timed_wait(q, wait < 1 ? 1 : wait > 1000 ? 1000 : wait);
        } else {
            pthread_cond_wait(&q->cond, &q->mu);
        }
    }
    *ret_key = take_locked(q);
    pthread_mutex_unlock(&q->mu);
    return 1;
}

int workqueue_try_get(struct workqueue *q, char **ret_key) {
    pthread_mutex_lock(&q->mu);
    int got = 0;
    if (!q->shutdown) {
        promote_due(q);
        if (q->count) {
            *ret_key = take_locked(q);
            got = 1;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return got;
}

void workqueue_done(struct workqueue *q, const char *key) {
    pthread_mutex_lock(&q->mu);
    struct boxed *start = strmap_get(&q->processing, key);
    if (start) {
        observe(q, WQ_OBS_WORK, now(q) - start->v);
        strmap_del(&q->processing, key);
        if (strmap_has(&q->dirty, key) && !q->shutdown) {
            ring_push(q, key);
            pthread_cond_signal(&q->cond);
        }
    }
    pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown(struct workqueue *q) {
    pthread_mutex_lock(&q->mu);
    q->shutdown = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

int workqueue_shutting_down(struct workqueue *q) {
    pthread_mutex_lock(&q->mu);
    int s = q->shutdown;
    pthread_mutex_unlock(&q->mu);
    return s;
}

size_t workqueue_len(struct workqueue *q) {
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t workqueue_delayed_len(struct workqueue *q) {
    pthread_mutex_lock(&q->mu);
    size_t n = q->waiting.len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int64_t workqueue_next_due_ms(struct workqueue *q) {
    pthread_mutex_lock(&q->mu);
    heap_skip_stale(q);
    int64_t d = -1;
    if (q->heap_len) {
        d = q->heap[0].due - now(q);
        if (d < 0)
            d = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return d;
}
