/* backoff.c - exponential backoff arithmetic (see backoff.h). */
#include "controller/backoff.h"

int64_t backoff_exp_ms(int64_t base_ms, int64_t max_ms, unsigned failures) {
    if (base_ms <= 0)
        return 0;
    int64_t d = base_ms;
    for (unsigned i = 0; i < failures; i++) {
        if (d >= max_ms / 2 + 1)   /* doubling would pass the cap (or overflow) */
            return max_ms;
        d *= 2;
    }
    return d < max_ms ? d : max_ms;
}

int64_t backoff_jitter_ms(int64_t d, double factor, double r) {
    if (factor <= 0 || r <= 0)
        return d;
    if (r >= 1)
        r = 0.999999;
    return d + (int64_t)((double)d * factor * r);
}

void backoff_init(struct backoff *b, int64_t base_ms, int64_t max_ms, double jitter) {
    b->base_ms = base_ms;
    b->max_ms = max_ms;
    b->jitter = jitter;
    b->attempts = 0;
}

int64_t backoff_next(struct backoff *b, double r) {
    int64_t d = backoff_exp_ms(b->base_ms, b->max_ms, b->attempts);
    if (b->attempts < 64)
        b->attempts++;
    return backoff_jitter_ms(d, b->jitter, r);
}

void backoff_reset(struct backoff *b) { b->attempts = 0; }
