/* test_controller_leader.c - the leader-election state machine with a fake clock:
 * create when absent, stand by while another holder renews, take over an expired
 * lease, lose leadership on a missed renew deadline or a foreign holder, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/clock.h"
#include "controller/leader.h"

static json_t *lease(const char *holder, const char *renew, int transitions, const char *rv) {
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:i,s:s,s:s,s:i}}", "apiVersion",
                     "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "op",
                     "namespace", "sys", "resourceVersion", rv, "spec", "holderIdentity", holder,
                     "leaseDurationSeconds", 15, "acquireTime", "2024-01-01T00:00:00.000000Z",
                     "renewTime", renew, "leaseTransitions", transitions);
}

static const char *holder_of(const json_t *body) {
    return json_string_value(json_object_get(json_object_get(body, "spec"), "holderIdentity"));
}

static void creates_absent_lease_and_leads(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 1000, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *body = NULL;
    assert_int_equal(leader_decide(&le, NULL, fc.mono, fc.wall, &body), LEADER_CREATE);
    assert_string_equal(holder_of(body), "me");
    json_t *spec = json_object_get(body, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 15);
    assert_string_equal(json_string_value(json_object_get(spec, "renewTime")),
                        "2024-01-01T00:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "metadata"),
                                                          "namespace")), "sys");
    assert_false(le.leading);   /* not before the write succeeded */
    leader_observe_write(&le, 1, fc.mono, fc.wall);
    assert_true(leader_check(&le, fc.mono));
    json_decref(body);
    leader_done(&le);
}

static void stands_by_while_holder_renews_then_takes_over(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *body = NULL;
    /* another replica renews every 2 s: we keep standing by, even past 15 s in total */
    char renew[32];
    for (int i = 0; i < 12; i++) {
        snprintf(renew, sizeof(renew), "2024-01-01T00:00:%02d.000000Z", i * 2);
        json_t *l = lease("other", renew, 3, "10");
        assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_STANDBY);
        assert_null(body);
        json_decref(l);
        op_fake_clock_advance(&fc, 2000);
    }
    /* the other replica stops renewing: the record stays the same */
    json_t *l = lease("other", "2024-01-01T00:00:30.000000Z", 3, "11");
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_STANDBY);
    op_fake_clock_advance(&fc, 14999);
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_STANDBY);
    op_fake_clock_advance(&fc, 1);   /* 15 s without a change: expired */
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_UPDATE);
    assert_string_equal(holder_of(body), "me");
    json_t *spec = json_object_get(body, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 4);
    /* optimistic concurrency: the update carries the version we read */
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "metadata"),
                                                          "resourceVersion")), "11");
    json_decref(body);
    json_decref(l);
    leader_done(&le);
}

static void renew_keeps_acquire_time_and_transitions(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067260000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *l = lease("me", "2024-01-01T00:00:58.000000Z", 2, "20");
    json_t *body = NULL;
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_UPDATE);
    json_t *spec = json_object_get(body, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 2);
    assert_string_equal(json_string_value(json_object_get(spec, "acquireTime")),
                        "2024-01-01T00:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(spec, "renewTime")),
                        "2024-01-01T00:01:00.000000Z");
    json_decref(body);
    json_decref(l);
    leader_done(&le);
}

static void loses_lead_after_renew_deadline(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *body = NULL;
    leader_decide(&le, NULL, fc.mono, fc.wall, &body);
    json_decref(body);
    leader_observe_write(&le, 1, fc.mono, fc.wall);
    /* renews fail (API unreachable, conflicts) every 2 s */
    for (int i = 0; i < 5; i++) {
        op_fake_clock_advance(&fc, 2000);
        leader_observe_write(&le, 0, fc.mono, fc.wall);
        assert_true(leader_check(&le, fc.mono));   /* 2..10 s: still within the deadline */
    }
    op_fake_clock_advance(&fc, 1);
    assert_false(leader_check(&le, fc.mono));      /* 10 s + 1 ms: lost */
    leader_done(&le);
}

static void successful_renews_keep_the_lead(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *body = NULL;
    leader_decide(&le, NULL, fc.mono, fc.wall, &body);
    json_decref(body);
    leader_observe_write(&le, 1, fc.mono, fc.wall);
    for (int i = 0; i < 100; i++) {
        op_fake_clock_advance(&fc, 2000);
        json_t *l = lease("me", "2024-01-01T00:00:00.000000Z", 0, "5");
        assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_UPDATE);
        leader_observe_write(&le, 1, fc.mono, fc.wall);
        assert_true(leader_check(&le, fc.mono));
        json_decref(body);
        json_decref(l);
    }
    leader_done(&le);
}

static void foreign_holder_means_lost_at_once(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *body = NULL;
    leader_decide(&le, NULL, fc.mono, fc.wall, &body);
    json_decref(body);
    leader_observe_write(&le, 1, fc.mono, fc.wall);
    op_fake_clock_advance(&fc, 2000);
    json_t *l = lease("other", "2024-01-01T00:00:02.000000Z", 1, "7");
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_STANDBY);
    assert_false(le.leading);
    assert_false(leader_check(&le, fc.mono));
    json_decref(l);
    leader_done(&le);
}

static void released_lease_is_taken_at_once(void **state) {
    (void)state;
    struct op_fake_clock fc;
    op_fake_clock_init(&fc, 0, 1704067200000);
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *l = lease("", "2024-01-01T00:00:02.000000Z", 1, "8");
    json_t *body = NULL;
    assert_int_equal(leader_decide(&le, l, fc.mono, fc.wall, &body), LEADER_UPDATE);
    assert_string_equal(holder_of(body), "me");
    json_decref(body);
    json_decref(l);
    leader_done(&le);
}

static void release_body_hands_the_lease_back(void **state) {
    (void)state;
    struct leader_elector le;
    leader_init(&le, "me", "sys", "op", 0, 0, 0);
    json_t *mine = lease("me", "2024-01-01T00:00:02.000000Z", 1, "9");
    json_t *theirs = lease("other", "2024-01-01T00:00:02.000000Z", 1, "9");
    json_t *body = leader_release_body(&le, mine, 1704067204000);
    assert_non_null(body);
    json_t *spec = json_object_get(body, "spec");
    assert_string_equal(holder_of(body), "");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "metadata"),
                                                          "resourceVersion")), "9");
    json_decref(body);
    assert_null(leader_release_body(&le, theirs, 0));   /* never release someone else's */
    assert_null(leader_release_body(&le, NULL, 0));
    json_decref(mine);
    json_decref(theirs);
    leader_done(&le);
}

static void time_format_roundtrip(void **state) {
    (void)state;
    char buf[32];
    op_format_microtime(1704067200123, buf);
    assert_string_equal(buf, "2024-01-01T00:00:00.123000Z");
    op_format_time(1704067200123, buf);
    assert_string_equal(buf, "2024-01-01T00:00:00Z");
    int64_t t;
    assert_int_equal(op_parse_time("2024-01-01T00:00:00.123456Z", &t), 0);
    assert_int_equal(t, 1704067200123);
    assert_int_equal(op_parse_time("2024-01-01T02:00:00+02:00", &t), 0);
    assert_int_equal(t, 1704067200000);
    assert_int_not_equal(op_parse_time("2024-01-01", &t), 0);
    assert_int_not_equal(op_parse_time("2024-13-01T00:00:00Z", &t), 0);
    assert_int_not_equal(op_parse_time("2024-01-01T00:00:00", &t), 0);
    assert_int_not_equal(op_parse_time("", &t), 0);
    assert_int_not_equal(op_parse_time(NULL, &t), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creates_absent_lease_and_leads),
        cmocka_unit_test(stands_by_while_holder_renews_then_takes_over),
        cmocka_unit_test(renew_keeps_acquire_time_and_transitions),
        cmocka_unit_test(loses_lead_after_renew_deadline),
        cmocka_unit_test(successful_renews_keep_the_lead),
        cmocka_unit_test(foreign_holder_means_lost_at_once),
        cmocka_unit_test(released_lease_is_taken_at_once),
        cmocka_unit_test(release_body_hands_the_lease_back),
        cmocka_unit_test(time_format_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
