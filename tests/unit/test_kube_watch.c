/* test_kube_watch.c - the incremental watch decoder (chunks split anywhere,
 * max line, ERROR events) and kube_watch over the fake transport (request,
 * events, 410 handling, stopping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_transport.h"
#include "kube/client.h"
#include "kube/client_internal.h"
#include "testutil.h"

/* Collects events as [[type, object], ...]. */
static int collect(void *ud, enum kube_event_type t, json_t *obj) {
    json_array_append_new((json_t *)ud, json_pack("[sO]", kube_event_type_name(t), obj));
    return 0;
}

/* Feeds text in chunks of the given sizes (the last size repeats). */
static int feed_chunks(const char *text, size_t len, const size_t *sizes, size_t nsizes,
                       json_t *events, size_t max_line, struct op_status *st) {
    struct watch_decoder d;
    watch_decoder_init(&d, max_line);
    size_t off = 0, k = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t n = sizes[k < nsizes ? k : nsizes - 1];
        k++;
        if (n > len - off)
            n = len - off;
        rc = watch_decoder_feed(&d, text + off, n, collect, events, st);
        off += n;
    }
    if (rc == 0)
        rc = watch_decoder_finish(&d, collect, events, st);
    watch_decoder_free(&d);
    return rc;
}

static void whole_stream(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_stream.jsonl", &len);
    json_t *ev = json_array();
    struct op_status st = {0};
    size_t all[] = {len};
    assert_int_equal(feed_chunks(text, len, all, 1, ev, 0, &st), 0);
    assert_int_equal(json_array_size(ev), 5);
    static const char *const types[] = {"ADDED", "MODIFIED", "BOOKMARK", "ADDED", "DELETED"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_array_get(json_array_get(ev, i), 0)), types[i]);
    json_t *first = json_array_get(json_array_get(ev, 0), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "spec"),
                                                          "description")),
                        "Bestellung \xe2\x80\x93 Zahlungsdienst \xe2\x9c\x93 \xe8\xbf\xbd\xe8\xb8\xaa");
    json_t *bm = json_array_get(json_array_get(ev, 2), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(bm, "metadata"),
                                                          "resourceVersion")),
                        "150");
    json_decref(ev);
    free(text);
}

static void split_at_every_offset(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_stream.jsonl", &len);
    json_t *want = json_array();
    struct op_status st = {0};
    size_t all[] = {len};
    assert_int_equal(feed_chunks(text, len, all, 1, want, 0, &st), 0);
    for (size_t cut = 0; cut <= len; cut++) {
        json_t *got = json_array();
        size_t two[] = {cut, len};
        assert_int_equal(feed_chunks(text, len, two, 2, got, 0, &st), 0);
        if (!json_equal(want, got))
            fail_msg("split at byte %zu gives other events", cut);
        json_decref(got);
    }
    /* 1-byte chunks (also splits every UTF-8 sequence) */
    json_t *got = json_array();
    size_t one[] = {1};
    assert_int_equal(feed_chunks(text, len, one, 1, got, 0, &st), 0);
    tu_assert_json_equal(want, got, "1-byte chunks");
    json_decref(got);
    /* uneven chunks */
    got = json_array();
    size_t odd[] = {3, 250, 1, 7, 64};
    assert_int_equal(feed_chunks(text, len, odd, 5, got, 0, &st), 0);
    tu_assert_json_equal(want, got, "uneven chunks");
    json_decref(got);
    json_decref(want);
    free(text);
}

static void max_line_enforced(void **state) {
    const char *line = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"aaaaaaaaaaaaaaaaaaaaaa\"}}}\n";
    size_t n = strlen(line);   /* including '\n' */
    struct op_status st = {0};
    json_t *ev = json_array();
    size_t all[] = {n}, one[] = {1};
    /* a line of exactly max_line bytes (without '\n') is fine */
    assert_int_equal(feed_chunks(line, n, all, 1, ev, n - 1, &st), 0);
    assert_int_equal(feed_chunks(line, n, one, 1, ev, n - 1, &st), 0);
    assert_int_equal(json_array_size(ev), 2);
    /* one byte less: refused, whether it arrives at once or byte by byte */
    assert_int_equal(feed_chunks(line, n, all, 1, ev, n - 2, &st), OP_ETOOBIG);
    assert_non_null(strstr(st.msg, "longer than"));
    assert_int_equal(feed_chunks(line, n, one, 1, ev, n - 2, &st), OP_ETOOBIG);
    assert_int_equal(json_array_size(ev), 2);
    /* an endless line without '\n' stops at the limit instead of growing */
    struct watch_decoder d;
    watch_decoder_init(&d, 1000);
    char junk[100];
    memset(junk, 'x', sizeof(junk));
    int rc = 0;
    size_t fed = 0;
    while (rc == 0 && fed < 100000) {
        rc = watch_decoder_feed(&d, junk, sizeof(junk), collect, ev, &st);
        fed += sizeof(junk);
    }
    assert_int_equal(rc, OP_ETOOBIG);
    assert_true(fed <= 1100);
    watch_decoder_free(&d);
    json_decref(ev);
}

static void error_event_410(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_gone.jsonl", &len);
    json_t *ev = json_array();
    struct op_status st = {0};
    size_t one[] = {1};
    assert_int_equal(feed_chunks(text, len, one, 1, ev, 0, &st), 0);
    assert_int_equal(json_array_size(ev), 2);
    json_t *e = json_array_get(ev, 1);
    assert_string_equal(json_string_value(json_array_get(e, 0)), "ERROR");
    assert_int_equal(kube_status_from_json(0, json_array_get(e, 1), &st), OP_EGONE);
    assert_string_equal(st.reason, "Expired");
    json_decref(ev);
    free(text);
}

static void bad_lines(void **state) {
    static const struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {"{\"type\":\"ADDED\",\"object\":{}}\n{nope}\n", OP_EPARSE, "watch event 2: invalid JSON"},
        {"[1,2]\n", OP_EPARSE, "watch event 1: not a JSON object"},
        {"{\"object\":{}}\n", OP_EPARSE, "\"type\" is missing"},
        {"{\"type\":\"SYNC\",\"object\":{}}\n", OP_EPARSE, "unknown type \"SYNC\""},
        {"{\"type\":\"ADDED\",\"object\":\"x\"}\n", OP_EPARSE, "\"object\" is missing or not"},
        {"{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"ADD", OP_EPARSE,
         "ended in the middle of event 2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *ev = json_array();
        struct op_status st = {0};
        size_t all[] = {strlen(cases[i].text)};
        int rc = feed_chunks(cases[i].text, strlen(cases[i].text), all, 1, ev, 0, &st);
        if (rc != cases[i].code || !strstr(st.msg, cases[i].msg))
            fail_msg("case %zu: got %d \"%s\"", i, rc, st.msg);
        json_decref(ev);
    }
    /* a last line without '\n' is still an event */
    json_t *ev = json_array();
    struct op_status st = {0};
    const char *t = "{\"type\":\"DELETED\",\"object\":{\"a\":1}}";
    size_t all[] = {strlen(t)};
    assert_int_equal(feed_chunks(t, strlen(t), all, 1, ev, 0, &st), 0);
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);
}

static int stop_after_two(void *ud, enum kube_event_type t, json_t *obj) {
    json_t *ev = ud;
    json_array_append_new(ev, json_string(kube_event_type_name(t)));
    return json_array_size(ev) == 2 ? 42 : 0;
}

static void callback_stops_decoder(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_stream.jsonl", &len);
    json_t *ev = json_array();
    struct watch_decoder d;
    watch_decoder_init(&d, 0);
    assert_int_equal(watch_decoder_feed(&d, text, len, stop_after_two, ev, NULL), 42);
    assert_int_equal(json_array_size(ev), 2);
    watch_decoder_free(&d);
    json_decref(ev);
    free(text);
}

/* ---------- kube_watch over the fake transport ---------- */

static struct kube_client *client_over(struct fake_transport *f) {
    struct kube_config cfg;
    kube_config_init(&cfg);
    cfg.server = strdup("https://k8s.test:6443");
    cfg.token = strdup("tok-1");
    cfg.ns = strdup("obs");
    struct kube_client *c = kube_client_new_with_transport(&cfg, fake_transport_base(f), NULL);
    kube_config_free(&cfg);
    assert_non_null(c);
    return c;
}

static const struct kube_ref tm_ref = {.group = "tracemodel.dev", .version = "v1alpha1",
                                       .resource = "tracingmodels", .ns = "obs"};

static void watch_request_and_events(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_stream.jsonl", &len);
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(
        f, "GET",
        "/apis/tracemodel.dev/v1alpha1/namespaces/obs/tracingmodels?watch=true"
        "&labelSelector=app%3Dx&resourceVersion=100&allowWatchBookmarks=true&timeoutSeconds=300");
    fake_expect_no_body(x);
    fake_expect_bearer(x, "tok-1");
    /* split mid-line and mid-UTF-8, as a proxy might */
    for (size_t off = 0; off < len; off += 97)
        fake_respond_chunk(x, text + off, len - off < 97 ? len - off : 97);
    struct kube_client *c = client_over(f);
    struct kube_metrics m = {0};
    kube_client_set_metrics(c, &m);
    json_t *ev = json_array();
    struct op_status st = {0};
    struct kube_watch_opts o = {.label_selector = "app=x", .resource_version = "100",
                                .timeout_seconds = 300};
    /* server closed the stream at its timeout: 0, watch again */
    assert_int_equal(kube_watch(c, &tm_ref, &o, collect, ev, &st), 0);
    assert_int_equal(json_array_size(ev), 5);
    assert_int_equal(fake_request_at(f, 0)->stream, 1);
    assert_int_equal(kube_metrics_get(&m, KUBE_VERB_WATCH, 200), 1);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
    free(text);
}

static void watch_by_name_no_bookmarks(void **state) {
    struct fake_transport *f = fake_transport_new();
    fake_respond(fake_expect(f, "GET", "/api/v1/namespaces/obs/configmaps?watch=true"
                                       "&fieldSelector=metadata.name%3Dm-collector"),
                 200, "");
    struct kube_client *c = client_over(f);
    struct kube_ref ref = {.version = "v1", .resource = "configmaps", .ns = "obs",
                           .name = "m-collector"};
    struct kube_watch_opts o = {.no_bookmarks = 1};
    json_t *ev = json_array();
    assert_int_equal(kube_watch(c, &ref, &o, collect, ev, NULL), 0);
    assert_int_equal(json_array_size(ev), 0);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
}

static void watch_gone(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_gone.jsonl", &len);
    struct fake_transport *f = fake_transport_new();
    const char *path = "/apis/tracemodel.dev/v1alpha1/namespaces/obs/tracingmodels?watch=true"
                       "&resourceVersion=5&allowWatchBookmarks=true";
    /* 1: an ERROR event with a 410 Status inside a 200 stream */
    fake_respond_chunk(fake_expect(f, "GET", path), text, len);
    /* 2: the server answers 410 right away */
    fake_respond(fake_expect(f, "GET", path), 410,
                 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\","
                 "\"message\":\"too old resource version: 5 (9000)\",\"code\":410}");
    struct kube_client *c = client_over(f);
    struct kube_watch_opts o = {.resource_version = "5"};
    json_t *ev = json_array();
    struct op_status st = {0};
    assert_int_equal(kube_watch(c, &tm_ref, &o, collect, ev, &st), OP_EGONE);
    assert_int_equal(json_array_size(ev), 1);   /* the ADDED before; ERROR is not an event */
    assert_non_null(strstr(st.msg, "too old resource version"));
    assert_int_equal(kube_watch(c, &tm_ref, &o, collect, ev, &st), OP_EGONE);
    assert_int_equal(st.http, 410);
    assert_int_equal(json_array_size(ev), 1);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
    free(text);
}

static void watch_callback_stop(void **state) {
    size_t len;
    char *text = tu_read_file("tests/fixtures/kube/watch_stream.jsonl", &len);
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(
        f, "GET", "/apis/tracemodel.dev/v1alpha1/tracingmodels?watch=true&allowWatchBookmarks=true");
    fake_respond_chunk(x, text, len);
    fake_respond_hold(x, 5000);
    struct kube_client *c = client_over(f);
    struct kube_ref all = tm_ref;
    all.ns = NULL;   /* all namespaces */
    json_t *ev = json_array();
    assert_int_equal(kube_watch(c, &all, NULL, stop_after_two, ev, NULL), KUBE_WATCH_STOPPED);
    assert_int_equal(json_array_size(ev), 2);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
    free(text);
}

struct stopper {
    atomic_int *flag;
};

static void *set_stop_later(void *arg) {
    struct stopper *s = arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(s->flag, 1);
    return NULL;
}

static void watch_stop_flag_is_prompt(void **state) {
    struct fake_transport *f = fake_transport_new();
    struct fake_exchange *x = fake_expect(
        f, "GET", "/apis/tracemodel.dev/v1alpha1/namespaces/obs/tracingmodels?watch=true"
                  "&allowWatchBookmarks=true");
    const char *one = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";
    fake_respond_chunk(x, one, strlen(one));
    fake_respond_hold(x, 10000);   /* an idle watch: only the stop flag ends it */
    struct kube_client *c = client_over(f);
    atomic_int stop = 0;
    struct stopper s = {.flag = &stop};
    pthread_t th;
    pthread_create(&th, NULL, set_stop_later, &s);
    struct kube_watch_opts o = {.stop = &stop};
    json_t *ev = json_array();
    time_t t0 = time(NULL);
    assert_int_equal(kube_watch(c, &tm_ref, &o, collect, ev, NULL), KUBE_WATCH_STOPPED);
    assert_true(time(NULL) - t0 < 5);
    pthread_join(th, NULL);
    assert_int_equal(json_array_size(ev), 1);
    /* already stopped: no request at all */
    assert_int_equal(kube_watch(c, &tm_ref, &o, collect, ev, NULL), KUBE_WATCH_STOPPED);
    assert_int_equal(fake_request_count(f), 1);
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
}

static void watch_line_limit_and_errors(void **state) {
    struct fake_transport *f = fake_transport_new();
    const char *path = "/api/v1/namespaces/obs/pods?watch=true&allowWatchBookmarks=true";
    char big[300];
    memset(big, 'x', sizeof(big));
    fake_respond_chunk(fake_expect(f, "GET", path), big, sizeof(big));
    fake_respond(fake_expect(f, "GET", path), 403,
                 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Forbidden\","
                 "\"message\":\"pods is forbidden: User \\\"system:serviceaccount:obs:op\\\" "
                 "cannot watch resource \\\"pods\\\"\",\"code\":403}");
    fake_respond_error(fake_expect(f, "GET", path), OP_ETIMEOUT, "operation timed out");
    struct kube_client *c = client_over(f);
    kube_client_set_max_watch_line(c, 256);
    struct kube_ref pods = {.version = "v1", .resource = "pods", .ns = "obs"};
    json_t *ev = json_array();
    struct op_status st = {0};
    assert_int_equal(kube_watch(c, &pods, NULL, collect, ev, &st), OP_ETOOBIG);
    assert_int_equal(kube_watch(c, &pods, NULL, collect, ev, &st), OP_EFORBIDDEN);
    assert_string_equal(st.reason, "Forbidden");
    assert_non_null(strstr(st.msg, "cannot watch resource"));
    assert_int_equal(kube_watch(c, &pods, NULL, collect, ev, &st), OP_ETIMEOUT);
    assert_non_null(strstr(st.msg, "watch pods"));
    fake_transport_assert_done(f);
    kube_client_free(c);
    fake_transport_free(f);
    json_decref(ev);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_stream),
        cmocka_unit_test(split_at_every_offset),
        cmocka_unit_test(max_line_enforced),
        cmocka_unit_test(error_event_410),
        cmocka_unit_test(bad_lines),
        cmocka_unit_test(callback_stops_decoder),
        cmocka_unit_test(watch_request_and_events),
        cmocka_unit_test(watch_by_name_no_bookmarks),
        cmocka_unit_test(watch_gone),
        cmocka_unit_test(watch_callback_stop),
        cmocka_unit_test(watch_stop_flag_is_prompt),
        cmocka_unit_test(watch_line_limit_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
