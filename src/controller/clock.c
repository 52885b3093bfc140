/* clock.c - the system clock, the fake clock for tests, and RFC 3339 helpers. */
#include "controller/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

static int64_t sys_mono(void *ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_wall(void *ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rand_state;

/* splitmix64 seeded from the clocks: jitter only needs to de-synchronise replicas. */
static double sys_rand(void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&rand_lock);
    if (!rand_state)
        rand_state = (uint64_t)sys_wall(NULL) * 2654435761u ^ (uint64_t)sys_mono(NULL) ^
                     (uint64_t)(uintptr_t)&rand_state;
    uint64_t z = (rand_state += 0x9e3779b97f4a7c15ull);
    pthread_mutex_unlock(&rand_lock);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

const struct op_clock op_clock_system = {sys_mono, sys_wall, sys_rand, NULL};

static int64_t fake_mono(void *ctx) { return ((struct op_fake_clock *)ctx)->mono; }
static int64_t fake_wall(void *ctx) { return ((struct op_fake_clock *)ctx)->wall; }
static double fake_rand(void *ctx) { return ((struct op_fake_clock *)ctx)->rnd; }

void op_fake_clock_init(struct op_fake_clock *f, int64_t mono, int64_t wall) {
    f->mono = mono;
    f->wall = wall;
    f->rnd = 0;
    f->clock = (struct op_clock){fake_mono, fake_wall, fake_rand, f};
}

void op_fake_clock_advance(struct op_fake_clock *f, int64_t ms) {
    f->mono += ms;
    f->wall += ms;
}

static void split_ms(int64_t wall_ms, struct tm *tm, int *ret_ms) {
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    gmtime_r(&secs, tm);
    *ret_ms = ms;
}

void op_format_microtime(int64_t wall_ms, char out[32]) {
    struct tm tm;
    int ms;
    split_ms(wall_ms, &tm, &ms);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03d000Z", ms);
}

void op_format_time(int64_t wall_ms, char out[32]) {
    struct tm tm;
    int ms;
    split_ms(wall_ms, &tm, &ms);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char **p, int n, int *ret) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

int op_parse_time(const char *s, int64_t *ret_wall_ms) {
    if (!s)
        return OP_EINVALID;
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return OP_EINVALID;
    if (*p != 'T' && *p != 't')
        return OP_EINVALID;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return OP_EINVALID;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0)
            return OP_EINVALID;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int off_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return OP_EINVALID;
        off_min = sign * (oh * 60 + om);
    } else {
        return OP_EINVALID;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return OP_EINVALID;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *ret_wall_ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
    return 0;
}
