/* test_base_jarena.c - the per-request jansson arena (base/jarena.h): values built
 * inside a request come from the arena and cost no free; values built outside,
 * while paused, or too large for the arena come from malloc and stay valid after
 * the request; jarena_dumps() results are free()-able; threads do not share an
 * arena; under ASan the arena is poisoned once a request ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/xalloc.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static void inside_a_request_values_come_from_the_arena(void **state) {
    (void)state;
    assert_int_equal(jarena_used(), 0);
    assert_false(jarena_active());
    jarena_begin();
    assert_true(jarena_active());
    json_t *o = json_pack("{s:s, s:[i,i,i], s:{s:b}}", "name", "checkout", "ports", 1, 2, 3,
                          "flags", "on", 1);
    assert_non_null(o);
    size_t used = jarena_used();
    assert_true(used > 0);
    /* reading and dropping the value works like any jansson value */
    assert_string_equal(json_string_value(json_object_get(o, "name")), "checkout");
    assert_int_equal(json_array_size(json_object_get(o, "ports")), 3);
    json_decref(o);
    assert_int_equal(jarena_used(), used);   /* frees inside the arena are no-ops */
    jarena_end();
    assert_int_equal(jarena_used(), 0);
    assert_false(jarena_active());
}

static void values_built_outside_survive_the_request(void **state) {
    (void)state;
    json_t *before = json_pack("{s:s}", "kept", "yes");   /* malloc memory */
    jarena_begin();
    json_t *arena = json_array();
    json_array_append(arena, before);                      /* an arena array holds it */
    jarena_pause();
    assert_false(jarena_active());
    size_t used = jarena_used();
    json_t *cached = json_pack("{s:s}", "cache", "entry");    /* malloc memory, paused */
    assert_int_equal(jarena_used(), used);
    jarena_resume();
    assert_true(jarena_active());
    json_decref(arena);
    jarena_end();
    /* both are intact after the arena was dropped */
    assert_string_equal(json_string_value(json_object_get(before, "kept")), "yes");
    assert_string_equal(json_string_value(json_object_get(cached, "cache")), "entry");
    json_decref(before);
    json_decref(cached);
}

static void nested_requests_reset_only_at_the_outermost_end(void **state) {
    (void)state;
    jarena_begin();
    json_t *outer = json_string("outer value");
    jarena_begin();
    json_t *inner = json_string("inner value");
    jarena_end();
    assert_true(jarena_active());
    assert_true(jarena_used() > 0);
    assert_string_equal(json_string_value(outer), "outer value");
    assert_string_equal(json_string_value(inner), "inner value");
    json_decref(inner);
    json_decref(outer);
    jarena_end();
    assert_false(jarena_active());
    jarena_end();   /* unbalanced end: ignored */
    assert_false(jarena_active());
}

static void dumps_inside_a_request_is_freeable(void **state) {
    (void)state;
    jarena_begin();
    json_t *o = json_pack("{s:i}", "a", 1);
    char *s = jarena_dumps(o, JSON_COMPACT);
    json_decref(o);
    jarena_end();
    assert_string_equal(s, "{\"a\":1}");
    free(s);   /* malloc memory: ASan would report a bad free otherwise */
}

static void a_value_larger_than_the_arena_comes_from_malloc(void **state) {
    (void)state;
    size_t big = (size_t)20 << 20;   /* over the 16 MiB of an arena */
    char *text = xmalloc(big + 1);
    memset(text, 'x', big);
    text[big] = '\0';
    jarena_begin();
    size_t used = jarena_used();
    json_t *s = json_stringn(text, big);
    assert_non_null(s);
    assert_int_equal(json_string_length(s), big);
    assert_true(jarena_used() - used < 4096);   /* the struct maybe, not the text */
    json_decref(s);   /* the text goes back to malloc */
    jarena_end();
    free(text);
}

static void non_arena_memory_is_freed(void **state) {
    (void)state;
    void *p = xmalloc(64);
    jarena_free(p);   /* goes to free(): LeakSanitizer would report it otherwise */
    jarena_free(NULL);
    jarena_begin();
    void *a = jarena_malloc(32);
    assert_non_null(a);
    memset(a, 0xab, 32);
    jarena_free(a);   /* arena memory: nothing */
    jarena_end();
}

#ifdef TEST_ASAN
static void the_arena_is_poisoned_after_the_request(void **state) {
    (void)state;
    jarena_begin();
    char *a = jarena_malloc(40);
    assert_false(__asan_address_is_poisoned(a));
    assert_false(__asan_address_is_poisoned(a + 39));
    assert_true(__asan_address_is_poisoned(a + 40));   /* red zone after the block */
    jarena_end();
    assert_true(__asan_address_is_poisoned(a));         /* a use after the request */
}
#endif

#define THREADS 12   /* more than the arena has slots: the rest use malloc */

struct worker_arg {
    int id;
    int ok;
    pthread_barrier_t *barrier;
};

static void *worker(void *p) {
    struct worker_arg *w = p;
    w->ok = 1;
    for (int round = 0; round < 50; round++) {
        jarena_begin();
        json_t *arr = json_array();
        for (int i = 0; i < 100; i++)
            json_array_append_new(arr, json_integer(w->id * 1000 + i));
        if (round == 0)
            pthread_barrier_wait(w->barrier);   /* every thread inside a request at once */
        for (int i = 0; i < 100; i++)
            if (json_integer_value(json_array_get(arr, (size_t)i)) != w->id * 1000 + i)
                w->ok = 0;
        json_decref(arr);
        jarena_end();
    }
    return NULL;
}

static void *late_thread(void *p) {
    jarena_begin();
    json_t *v = json_string("after");
    *(int *)p = jarena_used() > 0;
    json_decref(v);
    jarena_end();
    return NULL;
}

static void threads_have_their_own_arenas(void **state) {
    (void)state;
    pthread_t t[THREADS];
    struct worker_arg a[THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct worker_arg){i, 0, &barrier};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    pthread_barrier_destroy(&barrier);
    /* the slots came back when the threads exited: a new thread gets one */
    pthread_t late;
    int used = 0;
    assert_int_equal(pthread_create(&late, NULL, late_thread, &used), 0);
    pthread_join(late, NULL);
    assert_true(used);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inside_a_request_values_come_from_the_arena),
        cmocka_unit_test(values_built_outside_survive_the_request),
        cmocka_unit_test(nested_requests_reset_only_at_the_outermost_end),
        cmocka_unit_test(dumps_inside_a_request_is_freeable),
        cmocka_unit_test(a_value_larger_than_the_arena_comes_from_malloc),
        cmocka_unit_test(non_arena_memory_is_freed),
#ifdef TEST_ASAN
        cmocka_unit_test(the_arena_is_poisoned_after_the_request),
#endif
        cmocka_unit_test(threads_have_their_own_arenas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
