/* test_controller_store.c - the caches: store mark-and-sweep relists (per namespace,
 * concurrent), put-if-newer, the compact children cache (owner index, readiness,
 * change detection, stale versions), the webhook lookups, the compact status
 * stand-in, and the LIST splitter that streams items (chunked at every offset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "controller/caches.h"
#include "controller/children.h"
#include "controller/list_stream.h"
#include "controller/status.h"
#include "controller/store.h"

static json_t *cm(const char *ns, const char *name, const char *rv) {
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:[{}]}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "namespace", ns, "resourceVersion", rv,
                     "managedFields");
}

static void relist_sweeps_only_its_namespace(void **state) {
    (void)state;
    struct store *s = store_new();
    store_put(s, cm("a", "x", "1"), NULL);
    store_put(s, cm("a", "y", "1"), NULL);
    store_put(s, cm("b", "x", "1"), NULL);
    /* two informers relist at the same time, interleaved */
    unsigned ma = store_replace_begin(s);
    store_put(s, cm("a", "x", "2"), NULL);
    unsigned mb = store_replace_begin(s);
    store_put(s, cm("b", "z", "2"), NULL);
    assert_int_equal(store_replace_end(s, ma, "a", NULL, NULL), 1);   /* a/y vanished */
    assert_int_equal(store_replace_end(s, mb, "b", NULL, NULL), 1);   /* b/x vanished */
    assert_int_equal(store_len(s), 2);
    json_t *o = store_get(s, "a/x");
    assert_non_null(o);
    json_decref(o);
    assert_null(store_get(s, "a/y"));
    o = store_get_nn(s, "b", "z");
    assert_non_null(o);
    json_decref(o);
    json_t *list = store_list(s, "a");
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    store_free(s);
}

static void put_if_newer_keeps_the_newest(void **state) {
    (void)state;
    struct store *s = store_new();
    assert_int_equal(store_put_if_newer(s, cm("a", "x", "10")), 1);
    assert_int_equal(store_put_if_newer(s, cm("a", "x", "9")), 0);   /* a late, older event */
    json_t *o = store_get(s, "a/x");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                          "resourceVersion")), "10");
    json_decref(o);
    assert_int_equal(store_put_if_newer(s, cm("a", "x", "11")), 1);
    assert_int_equal(store_put_if_newer(s, json_pack("{s:{}}", "metadata")), OP_EINVALID);
    char key[8];
    json_t *big = cm("ns", "a-long-name", "1");
    assert_int_equal(store_key_of(big, key, sizeof(key)), OP_EINVALID);
    json_decref(big);
    store_free(s);
}

static void strip_drops_managed_fields(void **state) {
    (void)state;
    json_t *o = cm("a", "x", "1");
    json_object_set_new(json_object_get(o, "metadata"), "annotations",
                        json_pack("{s:s}", "kubectl.kubernetes.io/last-applied-configuration",
                                  "{...}"));
    store_strip(o);
    assert_null(json_object_get(json_object_get(o, "metadata"), "managedFields"));
    assert_null(json_object_get(json_object_get(o, "metadata"), "annotations"));
    json_decref(o);
}

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static json_t *deployment(const char *name, const char *rv, int want, int avail, int gen,
                          int observed) {
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i,s:{s:s,s:s},s:{s:s}},s:{s:i},"
                     "s:{s:i,s:i,s:i}}",
                     "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name,
                     "namespace", "ns", "resourceVersion", rv, "generation", gen, "labels",
                     CHILD_LABEL_MANAGED_BY, CHILD_MANAGED_BY, CHILD_LABEL_MODEL, "m",
                     "annotations", CHILD_ANN_HASH, H64, "spec", "replicas", want, "status",
                     "availableReplicas", avail, "updatedReplicas", avail, "observedGeneration",
                     observed);
}

static void children_track_owner_and_readiness(void **state) {
    (void)state;
    struct children *cc = children_new();
    char *owner = NULL, *old = NULL;
    json_t *d = deployment("m-collector", "5", 2, 1, 3, 3);
    assert_int_equal(children_put(cc, d, &owner, &old), 1);
    assert_string_equal(owner, "ns/m");
    assert_null(old);
    free(owner);
    json_decref(d);
    struct child c;
    assert_int_equal(children_lookup(cc, "apps/v1", "Deployment", "ns", "m-collector", &c), 0);
    assert_string_equal(c.hash, H64);
    assert_true(c.workload);
    assert_false(child_is_ready(&c));   /* 1 of 2 */
    child_done(&c);
    /* same content again (a duplicate watch event): not a change */
    d = deployment("m-collector", "5", 2, 1, 3, 3);
    assert_int_equal(children_put(cc, d, NULL, NULL), 0);
    json_decref(d);
    /* an older version arriving late is ignored */
    d = deployment("m-collector", "4", 2, 0, 3, 3);
    assert_int_equal(children_put(cc, d, NULL, NULL), 0);
    json_decref(d);
    /* ready now */
    d = deployment("m-collector", "6", 2, 2, 3, 3);
    assert_int_equal(children_put(cc, d, NULL, NULL), 1);
    json_decref(d);
    children_lookup(cc, "apps/v1", "Deployment", "ns", "m-collector", &c);
    assert_true(child_is_ready(&c));
    child_done(&c);
    /* a new generation not yet observed by the Deployment controller: not ready */
    d = deployment("m-collector", "7", 2, 2, 4, 3);
    children_put(cc, d, NULL, NULL);
    json_decref(d);
    children_lookup(cc, "apps/v1", "Deployment", "ns", "m-collector", &c);
    assert_false(child_is_ready(&c));
    child_done(&c);
    /* a cross-namespace child names its owner in the annotation */
    json_t *t = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}}}", "apiVersion",
                          "telemetry.istio.io/v1", "kind", "Telemetry", "metadata", "name",
                          "m-tracing", "namespace", "istio-system", "annotations",
                          CHILD_ANN_OWNER, "ns/m");
    children_put(cc, t, NULL, NULL);
    struct child *arr = NULL;
    size_t n = children_of(cc, "ns/m", &arr);
    assert_int_equal(n, 2);
    children_array_free(arr, n);
    owner = NULL;
    assert_int_equal(children_remove(cc, t, &owner), 0);
    assert_string_equal(owner, "ns/m");
    free(owner);
    json_decref(t);
    n = children_of(cc, "ns/m", &arr);
    assert_int_equal(n, 1);
    children_array_free(arr, n);
    /* relist of Deployments in ns without it: swept, owner reported */
    unsigned mark = children_replace_begin(cc);
    assert_int_equal(children_replace_end(cc, mark, "apps/v1", "Deployment", "ns", NULL, NULL),
                     1);
    assert_int_equal(children_len(cc), 0);
    children_free(cc);
}

static void lookups_answer_from_the_caches(void **state) {
    (void)state;
    struct ctrl_caches c = {store_new(), store_new(), store_new(), children_new()};
    int failed = 0;
    assert_null(ctrl_lookup_instrumentations(&c, "ns", &failed));
    assert_int_equal(failed, 1);   /* not synced: the webhook must know */
    store_put(c.instrumentations, json_pack("{s:{s:s,s:s}}", "metadata", "name", "i",
                                            "namespace", "ns"), NULL);
    store_set_synced(c.instrumentations, 1);
    json_t *l = ctrl_lookup_instrumentations(&c, "ns", &failed);
    assert_int_equal(failed, 0);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    l = ctrl_lookup_instrumentations(&c, "other", &failed);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    store_put(c.namespaces, json_pack("{s:{s:s}}", "metadata", "name", "ns"), NULL);
    json_t *n = ctrl_lookup_namespace(&c, "ns");
    assert_non_null(n);
    json_decref(n);
    assert_null(ctrl_lookup_tracingmodel(&c, "ns", "m"));
    store_free(c.models);
    store_free(c.instrumentations);
    store_free(c.namespaces);
    children_free(c.children);
}

static void slim_status_keeps_what_the_next_status_needs(void **state) {
    (void)state;
    json_t *full = json_pack("{s:I,s:[{s:s,s:s,s:s,s:s,s:s}],s:[{s:s}],s:{s:s}}",
                             "observedGeneration", (json_int_t)3, "conditions", "type", "Ready",
                             "status", "True", "reason", "Available", "message", "all good",
                             "lastTransitionTime", "2024-01-01T00:00:00Z", "children", "name",
                             "m-collector", "endpoints", "otlpGrpc", "x");
    json_t *obj = json_pack("{s:O}", "status", full);
    status_slim(obj);
    json_t *slim = json_object_get(obj, "status");
    assert_null(json_object_get(slim, "children"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(slim, "conditions"), 0), "reason")),
                        "Available");
    assert_true(status_same(slim, full));
    /* a different time for the same condition is still the same status */
    json_t *later = json_deep_copy(full);
    json_object_set_new(json_array_get(json_object_get(later, "conditions"), 0),
                        "lastTransitionTime", json_string("2025-01-01T00:00:00Z"));
    assert_true(status_same(slim, later));
    json_object_set_new(later, "observedGeneration", json_integer(4));
    assert_false(status_same(slim, later));
    /* another writer's field does not make it different, and is not ours to remove */
    json_object_set_new(later, "observedGeneration", json_integer(3));
    json_object_set_new(later, "uninstrumentedPods", json_integer(2));
    assert_true(status_same(slim, later));
    json_t *keys = status_live_keys(later);
    assert_int_equal(json_array_size(keys), 4);
    json_decref(keys);
    keys = status_live_keys(slim);
    assert_int_equal(json_array_size(keys), 4);
    json_decref(keys);
    json_decref(later);
    json_decref(full);
    json_decref(obj);
}

/* ---- the LIST splitter ---- */

struct got {
    json_t *items;
};

static int collect(void *ud, json_t *item) {
    json_array_append_new(((struct got *)ud)->items, item);
    return 0;
}

static const char *LIST_BODY =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"42\","
    "\"continue\":\"abc\",\"note\":\"items: [\\\"not\\\", {this}]\"},\"items\": [\n"
    "  {\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"}]{[\\\\\\\"\"}},\"data\":{}},\n"
    "  {\"metadata\":{\"name\":\"b\"},\"data\":{\"items\":\"[1,2]\",\"n\":[[],{}]}}\n"
    "],\"extra\":{\"items\":[1]}}";

static void check_split(const char *body, size_t chunk) {
    struct got g = {json_array()};
    struct list_splitter sp;
    list_splitter_init(&sp, collect, &g);
    size_t len = strlen(body);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        assert_int_equal(list_splitter_feed(&sp, body + off, n, NULL), 0);
    }
    assert_int_equal(json_array_size(g.items), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(g.items, 0), "metadata"), "name")),
                        "a");
    json_t *want = json_loads(body, 0, NULL);
    assert_true(json_equal(json_object_get(json_array_get(g.items, 1), "data"),
                           json_object_get(json_array_get(json_object_get(want, "items"), 1),
                                           "data")));
    size_t rl = 0;
    const char *rest = list_splitter_rest(&sp, &rl);
    json_t *r = json_loadb(rest, rl, 0, NULL);
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "metadata"),
                                                          "continue")), "abc");
    assert_true(json_equal(json_object_get(r, "extra"), json_object_get(want, "extra")));
    json_decref(r);
    json_decref(want);
    list_splitter_free(&sp);
    json_decref(g.items);
}

static void splitter_streams_items_at_any_chunking(void **state) {
    (void)state;
    size_t len = strlen(LIST_BODY);
    for (size_t chunk = 1; chunk <= len; chunk++)
        check_split(LIST_BODY, chunk);
}

static void splitter_reports_a_broken_item(void **state) {
    (void)state;
    const char *bad = "{\"items\":[{\"a\":1,}]}";
    struct got g = {json_array()};
    struct list_splitter sp;
    list_splitter_init(&sp, collect, &g);
    struct op_status st = {0};
    assert_int_equal(list_splitter_feed(&sp, bad, strlen(bad), &st), OP_EPARSE);
    assert_non_null(strstr(st.msg, "list item 1"));
    list_splitter_free(&sp);
    json_decref(g.items);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relist_sweeps_only_its_namespace),
        cmocka_unit_test(put_if_newer_keeps_the_newest),
        cmocka_unit_test(strip_drops_managed_fields),
        cmocka_unit_test(children_track_owner_and_readiness),
        cmocka_unit_test(lookups_answer_from_the_caches),
        cmocka_unit_test(slim_status_keeps_what_the_next_status_needs),
        cmocka_unit_test(splitter_streams_items_at_any_chunking),
        cmocka_unit_test(splitter_reports_a_broken_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
