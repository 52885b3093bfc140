/* clock.h - injectable time and randomness for the controller.
 *
 * Everything in src/controller that needs "now" (work-queue delays, backoff,
 * leader election) or a random number (jitter) takes one of these, so tests
 * drive time by hand with struct op_fake_clock and get repeatable jitter. */
#ifndef OP_CONTROLLER_CLOCK_H
#define OP_CONTROLLER_CLOCK_H
#include <stdint.h>

struct op_clock {
    int64_t (*mono_ms)(void *ctx);   /* monotonic milliseconds (for intervals) */
    int64_t (*wall_ms)(void *ctx);   /* Unix epoch milliseconds (for timestamps) */
    double (*rand01)(void *ctx);     /* uniform in [0, 1) (for jitter) */
    void *ctx;
};

/* The real clocks (CLOCK_MONOTONIC, CLOCK_REALTIME) and a thread-safe PRNG. */
extern const struct op_clock op_clock_system;

/* A clock that only moves when a test moves it. rand01 returns `rnd` (default 0). */
struct op_fake_clock {
    int64_t mono, wall;
    double rnd;
    struct op_clock clock;   /* filled by op_fake_clock_init */
};
void op_fake_clock_init(struct op_fake_clock *f, int64_t mono, int64_t wall);
void op_fake_clock_advance(struct op_fake_clock *f, int64_t ms);

static inline int64_t op_now_ms(const struct op_clock *c) { return c->mono_ms(c->ctx); }
static inline int64_t op_wall_ms(const struct op_clock *c) { return c->wall_ms(c->ctx); }
static inline double op_rand01(const struct op_clock *c) { return c->rand01(c->ctx); }

/* Formats epoch milliseconds as RFC 3339 with microseconds (Kubernetes MicroTime:
 * "2024-05-01T10:00:00.123000Z") or seconds ("2024-05-01T10:00:00Z"). */
void op_format_microtime(int64_t wall_ms, char out[32]);
void op_format_time(int64_t wall_ms, char out[32]);
/* Parses RFC 3339 ("...Z" or with an offset, optional fraction); 0 or OP_EINVALID. */
int op_parse_time(const char *s, int64_t *ret_wall_ms);

#endif
