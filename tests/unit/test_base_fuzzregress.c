/* test_base_fuzzregress.c - inputs found by the fuzzers (fuzz/) that once broke
 * the base layer, kept so they stay fixed. Each case says which target found it.
 *
 * 2026-11-22, fuzz_model and fuzz_render: format_double() converted its argument
 * to long long before checking the range, which is undefined behaviour (UBSan:
 * "7.77778e+117 is outside the range of representable values of type 'long
 * long'") for any number at or beyond 2^63, e.g. `spanSizeBytes: 7777...2048`
 * in a TracingModel, printed in the validator's "must be an integer" message. *
 * The undefined conversion gives the right text on x86-64, so only UBSan sees
 * it: clang's -fsanitize=undefined includes float-cast-overflow; GCC's does
 * not (add -fsanitize=float-cast-overflow). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/units.h"

/* Every value prints as text that reads back as the same number. */
static void format_double_out_of_long_long_range(void **state) {
    static const double vals[] = {
        7.77778e+117, 8.1e+93, -8.1e+93, 9223372036854775808.0 /* 2^63 */,
        -9223372036854775808.0 * 2, 1e300, -1e300, 1.7976931348623157e308, 1e15, -1e15,
    };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char b[64];
        format_double(vals[i], b, sizeof(b));
        assert_true(strlen(b) > 0);
        assert_true(strtod(b, NULL) == vals[i]);
    }
    /* integral values within the plain range still print without an exponent */
    char b[64];
    format_double(123456789012345.0, b, sizeof(b));
    assert_string_equal(b, "123456789012345");
    format_double(-42.0, b, sizeof(b));
    assert_string_equal(b, "-42");
}

/* NaN and infinities are not JSON numbers, but the printer must not trip on them. */
static void format_double_non_finite(void **state) {
    char b[64];
    format_double(INFINITY, b, sizeof(b));
    assert_true(strlen(b) > 0);
    format_double(-INFINITY, b, sizeof(b));
    assert_true(strlen(b) > 0);
    format_double(NAN, b, sizeof(b));
    assert_true(strlen(b) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_double_out_of_long_long_range),
        cmocka_unit_test(format_double_non_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
