/* test_base_suggest.c - "did you mean" for unknown field names: the name a user
 * meant is offered, and nothing is offered for a name unlike any known one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/suggest.h"

static const char *const sampling_fields[] = {
    "strategy", "rate", "parentBased", "maxTracesPerSecond", "operations", "rules",
    "adaptive", "tail", NULL,
};

static const char *best(const char *key, const char *const *names) {
    struct suggest s;
    suggest_init(&s, key);
    for (size_t i = 0; names[i]; i++)
        suggest_consider(&s, names[i]);
    return suggest_best(&s);
}

static void offers_the_meant_name(void **state) {
    (void)state;
    static const struct { const char *key, *want; } cases[] = {
        {"parent_based", "parentBased"},             /* snake case */
        {"max-traces-per-second", "maxTracesPerSecond"}, /* kebab case */
        {"Strategy", "strategy"},                    /* case */
        {"stratgy", "strategy"},                     /* a letter left out */
        {"startegy", "strategy"},                    /* two letters swapped */
        {"strateggy", "strategy"},                   /* a letter too many */
        {"rtae", "rate"},                            /* a swap in a short name */
        {"samplingRate", "rate"},                    /* a known name at the end */
        {"operationsList", "operations"},            /* ... or at the start */
        {"tails", "tail"},
        {"maxTraces", "maxTracesPerSecond"},         /* the start of a known name */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = best(cases[i].key, sampling_fields);
        if (!got || strcmp(got, cases[i].want))
            fail_msg("%s: want %s, got %s", cases[i].key, cases[i].want, got ? got : "nothing");
    }
}

static void offers_nothing_for_unlike_names(void **state) {
    (void)state;
    static const char *const keys[] = {
        "colour", "x", "ab", "priority", "decision", "samplingStrategyOverrideForEverything",
        "", NULL,
    };
    for (size_t i = 0; keys[i]; i++) {
        const char *got = best(keys[i], sampling_fields);
        if (got)
            fail_msg("%s: nothing expected, got %s", keys[i], got);
    }
    /* the closest wins, whatever the order of the candidates */
    static const char *const two[] = {"endpoint", "endpoints", NULL};
    assert_string_equal(best("endpont", two), "endpoint");
    assert_string_equal(best("endpoints_", two), "endpoints");
    /* a name longer than the folding buffer is never matched, and never overflows */
    char longkey[200];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    static const char *const as[] = {"aaaa", NULL};
    assert_null(best(longkey, as));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offers_the_meant_name),
        cmocka_unit_test(offers_nothing_for_unlike_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
