/* workqueue.h - a de-duplicating FIFO of object keys for reconcilers (client-go semantics).
 *
 * - Fair: keys come out in the order they went in.
 * - Stingy: a key is never handed to two workers at once, and adding a key that is
 *   already waiting does nothing. Adding a key that is being processed marks it
 *   dirty; it goes back in the queue when workqueue_done() is called for it.
 * - Delayed adds (workqueue_add_after) and per-key exponential backoff
 *   (workqueue_add_rate_limited: 5 ms doubling to 1000 s until workqueue_forget).
 * - After workqueue_shutdown() adds are ignored and workqueue_get() returns 0 at
 *   once, so workers stop promptly.
 * Thread-safe (one mutex and a condition variable). Time comes from an op_clock. */
#ifndef OP_CONTROLLER_WORKQUEUE_H
#define OP_CONTROLLER_WORKQUEUE_H
#include <stddef.h>
#include <stdint.h>

#include "controller/clock.h"

struct workqueue;

/* Optional observer for metrics: called with the queue lock held, must be quick. */
enum wq_observation {
    WQ_OBS_ADD,          /* a key entered the queue (value: 0) */
    WQ_OBS_LATENCY,      /* a key left the queue after waiting value ms */
    WQ_OBS_WORK,         /* a key was processed for value ms (get -> done) */
    WQ_OBS_RETRY,        /* a rate-limited add with a delay of value ms */
};
typedef void (*wq_observer_fn)(void *ctx, enum wq_observation what, int64_t value);

struct workqueue *workqueue_new(const struct op_clock *clock);
/* Per-key backoff bounds (defaults BACKOFF_ITEM_BASE_MS / BACKOFF_ITEM_MAX_MS). */
void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms);
void workqueue_set_observer(struct workqueue *q, wq_observer_fn fn, void *ctx);
void workqueue_free(struct workqueue *q);   /* NULL-safe; call after every worker has stopped */

void workqueue_add(struct workqueue *q, const char *key);
/* Adds key once delay_ms have passed (delay <= 0: now). A key already waiting keeps the
 * earlier of its two due times. */
void workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms);
/* Adds key after its backoff (5 ms * 2^failures) and counts one more failure.
 * Returns the delay used. */
int64_t workqueue_add_rate_limited(struct workqueue *q, const char *key);
/* Clears key's failure count (call after a successful reconcile). */
void workqueue_forget(struct workqueue *q, const char *key);
unsigned workqueue_num_requeues(struct workqueue *q, const char *key);

/* Blocks until a key is ready or the queue is shut down. Returns 1 and a new string
 * in *ret_key (the caller frees it after workqueue_done), or 0 on shutdown. */
int workqueue_get(struct workqueue *q, char **ret_key);
/* Like workqueue_get, but returns 0 at once when nothing is ready (tests, draining). */
int workqueue_try_get(struct workqueue *q, char **ret_key);
/* Marks key as processed; if it was added meanwhile it is queued again. */
void workqueue_done(struct workqueue *q, const char *key);

void workqueue_shutdown(struct workqueue *q);
int workqueue_shutting_down(struct workqueue *q);

/* Keys ready to be handed out (the queue depth). */
size_t workqueue_len(struct workqueue *q);
/* Keys waiting for a delay to pass. */
size_t workqueue_delayed_len(struct workqueue *q);
/* Milliseconds until the next delayed key is due (-1 if none); for tests and idling. */
int64_t workqueue_next_due_ms(struct workqueue *q);

#endif
