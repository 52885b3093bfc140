/* backoff.h - exponential backoff arithmetic (pure).
 *
 * Work-queue retries use the client-go item limiter: 5 ms doubling per failure,
 * capped at 1000 s. Watch/list errors use a jittered backoff (800 ms doubling to
 * 30 s, plus up to 100% random jitter) so replicas do not retry in lockstep. */
#ifndef OP_CONTROLLER_BACKOFF_H
#define OP_CONTROLLER_BACKOFF_H
#include <stdint.h>

#define BACKOFF_ITEM_BASE_MS 5
#define BACKOFF_ITEM_MAX_MS (1000 * 1000)

/* base_ms * 2^failures, capped at max_ms; never overflows. failures = 0 gives base_ms. */
int64_t backoff_exp_ms(int64_t base_ms, int64_t max_ms, unsigned failures);

/* d plus a random share of d: d + d * factor * r, with r in [0, 1). */
int64_t backoff_jitter_ms(int64_t d, double factor, double r);

/* A retry sequence: next() gives the wait before the next attempt, reset() after success. */
struct backoff {
    int64_t base_ms, max_ms;
    double jitter;          /* factor for backoff_jitter_ms; 0 = none */
    unsigned attempts;
};
void backoff_init(struct backoff *b, int64_t base_ms, int64_t max_ms, double jitter);
/* r: a uniform random number in [0, 1) (op_rand01). */
int64_t backoff_next(struct backoff *b, double r);
void backoff_reset(struct backoff *b);

#endif
