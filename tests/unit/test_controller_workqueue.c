/* test_controller_workqueue.c - the work queue's client-go semantics (de-duplication,
 * one worker per key, re-queue on done, delays, per-key backoff, shutdown) and the
 * backoff arithmetic, driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/backoff.h"
#include "controller/clock.h"
#include "controller/strmap.h"
#include "controller/workqueue.h"

static char *must_get(struct workqueue *q) {
    char *k = NULL;
    assert_int_equal(workqueue_try_get(q, &k), 1);
    assert_non_null(k);
    return k;
}

static void assert_empty(struct workqueue *q) {
    char *k = NULL;
    assert_int_equal(workqueue_try_get(q, &k), 0);
}

static void repeated_adds_collapse(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 1000, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add(q, "ns/a");
    workqueue_add(q, "ns/b");
    workqueue_add(q, "ns/a");
    workqueue_add(q, "ns/a");
    assert_int_equal(workqueue_len(q), 2);
    char *k = must_get(q);
    assert_string_equal(k, "ns/a");   /* fair: first in, first out */
    workqueue_done(q, k);
    free(k);
    k = must_get(q);
    assert_string_equal(k, "ns/b");
    workqueue_done(q, k);
    free(k);
    assert_empty(q);
    workqueue_free(q);
}

static void key_in_processing_is_not_handed_out_twice(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add(q, "ns/a");
    char *k = must_get(q);
    /* re-added while a worker holds it: not available to a second worker */
    workqueue_add(q, "ns/a");
    workqueue_add(q, "ns/a");
    assert_empty(q);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_done(q, k);
    free(k);
    /* ... but queued again (once) as soon as the first worker is done */
    assert_int_equal(workqueue_len(q), 1);
    k = must_get(q);
    assert_string_equal(k, "ns/a");
    workqueue_done(q, k);
    free(k);
    assert_empty(q);
    workqueue_free(q);
}

static void done_without_readd_does_not_requeue(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add(q, "a");
    char *k = must_get(q);
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_done(q, "never-seen");   /* harmless */
    assert_empty(q);
    workqueue_free(q);
}

static void add_after_waits_for_the_clock(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add_after(q, "late", 500);
    workqueue_add_after(q, "early", 100);
    assert_int_equal(workqueue_delayed_len(q), 2);
    assert_int_equal(workqueue_next_due_ms(q), 100);
    assert_empty(q);
    op_fake_clock_advance(&fc, 99);
    assert_empty(q);
    op_fake_clock_advance(&fc, 1);
    char *k = must_get(q);
    assert_string_equal(k, "early");
    workqueue_done(q, k);
    free(k);
    assert_empty(q);
    /* an earlier due time for a waiting key wins; a later one is ignored */
    workqueue_add_after(q, "late", 1000);
    workqueue_add_after(q, "late", 50);
    assert_int_equal(workqueue_delayed_len(q), 1);
    op_fake_clock_advance(&fc, 50);
    k = must_get(q);
    assert_string_equal(k, "late");
    workqueue_done(q, k);
    free(k);
    op_fake_clock_advance(&fc, 10000);
    assert_empty(q);   /* the stale (later) entries do not fire again */
    assert_int_equal(workqueue_next_due_ms(q), -1);
    workqueue_free(q);
}

static void add_after_zero_is_immediate(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add_after(q, "now", 0);
    char *k = must_get(q);
    workqueue_done(q, k);
    free(k);
    workqueue_free(q);
}

static void rate_limited_backoff_doubles_per_key(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    int64_t want[] = {5, 10, 20, 40, 80};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(workqueue_add_rate_limited(q, "bad"), want[i]);
        op_fake_clock_advance(&fc, want[i] - 1);
        assert_empty(q);
        op_fake_clock_advance(&fc, 1);
        char *k = must_get(q);
        workqueue_done(q, k);
        free(k);
    }
    assert_int_equal(workqueue_num_requeues(q, "bad"), 5);
    /* another key has its own count */
    assert_int_equal(workqueue_add_rate_limited(q, "other"), 5);
    /* forget resets the count */
    workqueue_forget(q, "bad");
    assert_int_equal(workqueue_num_requeues(q, "bad"), 0);
    assert_int_equal(workqueue_add_rate_limited(q, "bad"), 5);
    workqueue_free(q);
}

static void backoff_caps_at_1000_seconds(void **state) {
    (void)state;
    assert_int_equal(backoff_exp_ms(5, 1000000, 0), 5);
    assert_int_equal(backoff_exp_ms(5, 1000000, 1), 10);
    assert_int_equal(backoff_exp_ms(5, 1000000, 17), 655360);
    assert_int_equal(backoff_exp_ms(5, 1000000, 18), 1000000);
    assert_int_equal(backoff_exp_ms(5, 1000000, 200), 1000000);   /* no overflow */
    assert_int_equal(backoff_exp_ms(5, 1000000, UINT32_MAX), 1000000);
    assert_int_equal(backoff_exp_ms(0, 100, 3), 0);
    assert_int_equal(backoff_exp_ms(3, 5, 1), 5);
    /* the queue goes to the cap and stays there */
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    int64_t d = 0;
    for (int i = 0; i < 40; i++)
        d = workqueue_add_rate_limited(q, "k");
    assert_int_equal(d, BACKOFF_ITEM_MAX_MS);
    workqueue_free(q);
}

static void jitter_is_bounded(void **state) {
    (void)state;
    assert_int_equal(backoff_jitter_ms(1000, 1.0, 0.0), 1000);
    assert_int_equal(backoff_jitter_ms(1000, 1.0, 0.5), 1500);
    assert_true(backoff_jitter_ms(1000, 1.0, 0.9999999) < 2000);
    assert_int_equal(backoff_jitter_ms(1000, 0.0, 0.7), 1000);
    struct backoff b;
    backoff_init(&b, 800, 30000, 1.0);
    assert_int_equal(backoff_next(&b, 0), 800);
    assert_int_equal(backoff_next(&b, 0), 1600);
    assert_int_equal(backoff_next(&b, 0.5), 4800);
    for (int i = 0; i < 10; i++)
        backoff_next(&b, 0);
    assert_int_equal(backoff_next(&b, 0), 30000);
    assert_int_equal(backoff_next(&b, 0.5), 45000);
    backoff_reset(&b);
    assert_int_equal(backoff_next(&b, 0), 800);
}

static void shutdown_stops_get_and_ignores_adds(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 0);
    struct workqueue *q = workqueue_new(&fc.clock);
    workqueue_add(q, "a");
    workqueue_shutdown(q);
    assert_true(workqueue_shutting_down(q));
    char *k = NULL;
    assert_int_equal(workqueue_get(q, &k), 0);   /* does not block, does not drain */
    workqueue_add(q, "b");
    assert_int_equal(workqueue_try_get(q, &k), 0);
    workqueue_free(q);
}

/* --- concurrency: N workers never hold the same key at once --- */

struct race {
    struct workqueue *q;
    pthread_mutex_t mu;
    int active[8];
    int violations;
    int processed;
};

static void *worker(void *arg) {
    struct race *r = arg;
    char *k;
    while (workqueue_get(r->q, &k)) {
        int idx = k[0] - 'a';
        pthread_mutex_lock(&r->mu);
        if (r->active[idx])
            r->violations++;
        r->active[idx] = 1;
        pthread_mutex_unlock(&r->mu);
        usleep(200);
        pthread_mutex_lock(&r->mu);
        r->active[idx] = 0;
        r->processed++;
        pthread_mutex_unlock(&r->mu);
        workqueue_done(r->q, k);
        free(k);
    }
    return NULL;
}

static void workers_never_share_a_key(void **state) {
    (void)state;
    struct race r;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.mu, NULL);
    r.q = workqueue_new(&op_clock_system);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, &r);
    const char *keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int round = 0; round < 300; round++)
        workqueue_add(r.q, keys[round % 3]);   /* hammer three keys */
    for (int i = 0; i < 200; i++) {
        if (workqueue_len(r.q) == 0)
            break;
        usleep(2000);
    }
    usleep(20000);
    workqueue_shutdown(r.q);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r.violations, 0);
    assert_true(r.processed >= 3);
    assert_true(r.processed <= 300);
    workqueue_free(r.q);
    pthread_mutex_destroy(&r.mu);
}

static void get_blocks_until_delayed_key_is_due(void **state) {
    (void)state;
    struct workqueue *q = workqueue_new(&op_clock_system);
    int64_t t0 = op_now_ms(&op_clock_system);
    workqueue_add_after(q, "x", 30);
    char *k = NULL;
    assert_int_equal(workqueue_get(q, &k), 1);
    int64_t waited = op_now_ms(&op_clock_system) - t0;
    assert_true(waited >= 29);
    assert_string_equal(k, "x");
    workqueue_done(q, k);
    free(k);
    workqueue_free(q);
}

static void strmap_basics(void **state) {
    (void)state;
    struct strmap m;
    strmap_init(&m, free);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        strmap_put(&m, name, strdup(name));
    }
    assert_int_equal(m.len, 1000);
    assert_string_equal(strmap_get(&m, "k517"), "k517");
    strmap_put(&m, "k517", strdup("new"));   /* overwrite frees the old value */
    assert_string_equal(strmap_get(&m, "k517"), "new");
    assert_null(strmap_del(&m, "k517"));     /* freed by val_free */
    assert_false(strmap_has(&m, "k517"));
    size_t n = 0;
    for (struct strmap_entry *e = strmap_first(&m); e; e = strmap_next(&m, e))
        n++;
    assert_int_equal(n, 999);
    strmap_done(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeated_adds_collapse),
        cmocka_unit_test(key_in_processing_is_not_handed_out_twice),
        cmocka_unit_test(done_without_readd_does_not_requeue),
        cmocka_unit_test(add_after_waits_for_the_clock),
        cmocka_unit_test(add_after_zero_is_immediate),
        cmocka_unit_test(rate_limited_backoff_doubles_per_key),
        cmocka_unit_test(backoff_caps_at_1000_seconds),
        cmocka_unit_test(jitter_is_bounded),
        cmocka_unit_test(shutdown_stops_get_and_ignores_adds),
        cmocka_unit_test(workers_never_share_a_key),
        cmocka_unit_test(get_blocks_until_delayed_key_is_due),
        cmocka_unit_test(strmap_basics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
