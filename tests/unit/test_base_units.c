/* test_base_units.c - durations, sizes, name checks and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/units.h"
#include "base/err.h"

static void durations(void **state) {
    static const struct { const char *in; int64_t ms; } ok[] = {
        {"500ms", 500}, {"1s", 1000}, {"5m", 300000}, {"7d", 604800000}, {"1h30m", 5400000},
        {"1.5s", 1500}, {"0", 0}, {"2w", 1209600000}, {"1y", 31536000000LL}, {"100us", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        assert_int_equal(parse_duration_ms(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].ms);
    }
    static const char *bad[] = {"", "5", "abc", "5x", "-1s", "1s2", "s", "1.2.3s", NULL};
    for (size_t i = 0; bad[i]; i++) {
        int64_t v;
        assert_int_equal(parse_duration_ms(bad[i], &v), OP_EINVALID);
    }
}

static void go_durations(void **state) {
    char b[32];
    format_duration_go(604800000, b, sizeof(b));
    assert_string_equal(b, "168h");
    format_duration_go(10000, b, sizeof(b));
    assert_string_equal(b, "10s");
    format_duration_go(90000, b, sizeof(b));
    assert_string_equal(b, "1m30s");
    format_duration_go(1500, b, sizeof(b));
    assert_string_equal(b, "1500ms");
    format_duration_go(300000, b, sizeof(b));
    assert_string_equal(b, "5m");
}

static void sizes(void **state) {
    double v;
    assert_int_equal(parse_size_bytes("10GB", &v), 0);
    assert_true(v == 1e10);
    assert_int_equal(parse_size_bytes("512Mi", &v), 0);
    assert_true(v == 536870912.0);
    assert_int_equal(parse_size_bytes("2048", &v), 0);
    assert_true(v == 2048);
    assert_int_equal(parse_size_bytes("10 GB", &v), 0);
    assert_int_equal(parse_size_bytes("10XB", &v), OP_EINVALID);
    assert_int_equal(parse_size_bytes("GB", &v), OP_EINVALID);
}

static void names(void **state) {
    assert_true(is_dns_label("my-model"));
    assert_false(is_dns_label("My_Model"));
    assert_false(is_dns_label("-a"));
    assert_true(is_dns_subdomain("a.b-c.d"));
    assert_false(is_dns_subdomain("a..b"));
    assert_true(is_label_value("1.0.0"));
    assert_false(is_label_value("has space"));
    char out[64];
    to_dns_label("Web_Service Tracing!", out, 63);
    assert_string_equal(out, "web-service-tracing");
}

static void doubles_and_hash(void **state) {
    char b[32];
    format_double(0.1, b, sizeof(b));
    assert_string_equal(b, "0.1");
    format_double(1.0, b, sizeof(b));
    assert_string_equal(b, "1");
    format_double(50, b, sizeof(b));
    assert_string_equal(b, "50");
    format_double(0.0005, b, sizeof(b));
    assert_string_equal(b, "0.0005");
    char h[65];
    sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations), cmocka_unit_test(go_durations), cmocka_unit_test(sizes),
        cmocka_unit_test(names), cmocka_unit_test(doubles_and_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
