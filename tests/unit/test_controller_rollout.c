/* test_controller_rollout.c - the pure half of Instrumentation rollouts (rollout.h):
 * the injection fingerprint (what changes it and what does not), opt-in resolution
 * like the webhook's (table), pod classification and owners over a pod list fixture,
 * the scan's count, names and owners, restart throttling, workload selection for a
 * rollout, the template patch, and the restart memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/clock.h"
#include "controller/rollout.h"
#include "model/instrumentation.h"
#include "model/model.h"
#include "testutil.h"

#define FX "tests/fixtures/controller/rollout/"

static int64_t at(const char *rfc3339) {
    int64_t ms = 0;
    assert_int_equal(op_parse_time(rfc3339, &ms), 0);
    return ms;
}

/* ---- fingerprint ---- */

static void hash_of(const json_t *inst, const json_t *model, char out[65]) {
    json_t *i = tinst_default(inst);
    json_t *m = model ? tm_default(model) : NULL;
    rollout_fingerprint(i, m, out);
    json_decref(i);
    json_decref(m);
}

static void fingerprint_is_a_sha256_and_ignores_rollout_flags(void **state) {
    (void)state;
    json_t *inst = tu_load(FX "instrumentation.json");
    json_t *model = tu_load(FX "model.json");
    char a[65], b[65];
    hash_of(inst, model, a);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    /* the flags that only say what the controller does are not injected */
    json_t *spec = json_object_get(inst, "spec");
    json_object_set_new(spec, "rolloutOnChange", json_false());
    json_object_del(spec, "restartUninstrumented");
    /* nor the object's bookkeeping */
    json_object_set_new(json_object_get(inst, "metadata"), "resourceVersion", json_string("41"));
    json_object_set_new(json_object_get(model, "metadata"), "generation", json_integer(9));
    hash_of(inst, model, b);
    assert_string_equal(a, b);
    /* the same content with its spec keys in reverse order */
    json_t *rev = json_object();
    const char *keys[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(spec, k, v) if (n < 32) keys[n++] = k;
    while (n--)
        json_object_set(rev, keys[n], json_object_get(spec, keys[n]));
    json_t *inst2 = json_pack("{s:O,s:O,s:O,s:o}", "apiVersion", json_object_get(inst, "apiVersion"),
                              "kind", json_object_get(inst, "kind"), "metadata",
                              json_object_get(inst, "metadata"), "spec", rev);
    hash_of(inst2, model, b);
    assert_string_equal(a, b);
    json_decref(inst2);
    json_decref(inst);
    json_decref(model);
}

/* One change to the Instrumentation or the model: does it change the fingerprint? */
struct change {
    const char *what;
    const char *target;   /* "inst" or "model" */
    const char *path;     /* object under the root, dotted; the last part is set */
    const char *json;     /* the new value */
    int changes;
};

static const struct change changes[] = {
    {"env value", "inst", "spec.env", "[{\"name\":\"OTEL_RESOURCE_ATTRIBUTES\",\"value\":\"t=2\"}]",
     1},
    {"java image", "inst", "spec.java.image", "\"ghcr.io/x/java:2\"", 1},
    {"explicit sampler", "inst", "spec.sampler", "{\"type\":\"always_on\"}", 1},
    {"another model", "inst", "spec.tracingModel", "\"m2\"", 1},
    {"nodejs image", "inst", "spec.nodejs", "{\"image\":\"ghcr.io/x/node:2\"}", 1},
    /* an empty block is the defaults the webhook injects anyway */
    {"empty nodejs block", "inst", "spec.nodejs", "{}", 0},
    {"model rate", "model", "spec.sampling.rate", "0.5", 1},
    {"model strategy", "model", "spec.sampling.strategy", "\"always_on\"", 1},
    {"model parentBased", "model", "spec.sampling.parentBased", "false", 1},
    {"model adaptive", "model", "spec.sampling.adaptive", "{\"enabled\":true}", 1},
    {"service rate", "model", "spec.services",
     "[{\"name\":\"checkout\",\"samplingRate\":0.5},{\"name\":\"cart\"}]", 1},
    {"propagation", "model", "spec.propagation.types", "[\"tracecontext\"]", 1},
    {"backend type", "model", "spec.backend.type", "\"jaeger\"", 1},
    {"collector replicas", "model", "spec.collector.replicas", "5", 0},
    {"tail rules", "model", "spec.sampling.rules",
     "[{\"name\":\"errors\",\"condition\":\"status == error\"}]", 0},
    {"service version", "model", "spec.services",
     "[{\"name\":\"checkout\",\"samplingRate\":1.0,\"version\":\"2\"},{\"name\":\"cart\"}]", 0},
    {"rolloutOnChange", "inst", "spec.rolloutOnChange", "false", 0},
};

static void set_path(json_t *root, const char *path, json_t *value) {
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *o = root;
    char *save = NULL, *part = strtok_r(buf, ".", &save);
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        if (!next) {
            json_object_set_new(o, part, value);
            return;
        }
        json_t *child = json_object_get(o, part);
        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(o, part, child);
        }
        o = child;
        part = next;
    }
}

static void fingerprint_follows_what_is_injected(void **state) {
    (void)state;
    json_t *inst = tu_load(FX "instrumentation.json");
    json_t *model = tu_load(FX "model.json");
    char base[65];
    hash_of(inst, model, base);
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        const struct change *c = &changes[i];
        json_t *ci = json_deep_copy(inst), *cm = json_deep_copy(model);
        json_t *v = json_loads(c->json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        set_path(!strcmp(c->target, "inst") ? ci : cm, c->path, v);
        char h[65];
        hash_of(ci, cm, h);
        if ((strcmp(h, base) != 0) != c->changes)
            fail_msg("%s: fingerprint %s", c->what, c->changes ? "did not change" : "changed");
        json_decref(ci);
        json_decref(cm);
    }
    /* without a model (not found yet), the hash differs from with it */
    char none[65];
    hash_of(inst, NULL, none);
    assert_string_not_equal(none, base);
    json_decref(inst);
    json_decref(model);
}

static void injected_view_names_the_collector_and_drops_the_flags(void **state) {
    (void)state;
    json_t *inst = tu_load(FX "instrumentation.json");
    json_t *raw = tu_load(FX "model.json");
    json_t *dm = tm_default(raw);
    json_t *v = rollout_injected_view(inst, dm);
    json_t *spec = json_object_get(v, "spec");
    assert_null(json_object_get(spec, "rolloutOnChange"));
    assert_null(json_object_get(spec, "restartUninstrumented"));
    assert_non_null(json_object_get(spec, "java"));
    json_t *m = json_object_get(v, "model");
    assert_string_equal(json_string_value(json_object_get(m, "name")), "m");
    assert_string_equal(json_string_value(json_object_get(m, "namespace")), "apps");
    assert_true(json_number_value(json_object_get(m, "rate")) == 0.25);
    assert_true(json_is_true(json_object_get(m, "parentBased")));   /* the default */
    assert_true(json_number_value(json_object_get(json_object_get(m, "serviceRates"),
                                                  "checkout")) == 1.0);
    assert_null(json_object_get(json_object_get(m, "serviceRates"), "cart"));
    assert_int_equal(json_array_size(json_object_get(m, "propagation")), 3);
    json_decref(v);
    json_decref(dm);
    json_decref(raw);
    json_decref(inst);
}

/* ---- opt-in ---- */

struct optin_case {
    const char *what;
    const char *obj_ns;
    const char *obj_ann;   /* JSON object or NULL */
    const char *ns_ann;
    size_t peers;
    unsigned want;
};

#define J (1u << TINST_JAVA)
#define P (1u << TINST_PYTHON)
#define S (1u << TINST_SDK)

static const struct optin_case optins[] = {
    {"pod true, only Instrumentation", "apps", "{\"tracemodel.dev/inject-java\":\"true\"}", NULL,
     1, J},
    {"pod true, two in the namespace (webhook skips)", "apps",
     "{\"tracemodel.dev/inject-java\":\"true\"}", NULL, 2, 0},
    {"pod TRUE (case-insensitive)", "apps", "{\"tracemodel.dev/inject-java\":\"TRUE\"}", NULL, 1,
     J},
    {"pod names it", "apps", "{\"tracemodel.dev/inject-python\":\"inst\"}", NULL, 2, P},
    {"pod names it with its namespace", "other", "{\"tracemodel.dev/inject-sdk\":\"apps/inst\"}",
     NULL, 1, S},
    {"pod true in another namespace", "other", "{\"tracemodel.dev/inject-java\":\"true\"}", NULL,
     1, 0},
    {"pod names another", "apps", "{\"tracemodel.dev/inject-java\":\"other\"}", NULL, 1, 0},
    {"pod malformed reference", "apps", "{\"tracemodel.dev/inject-java\":\"a/b/c\"}", NULL, 1,
     0},
    {"namespace true", "apps", NULL, "{\"tracemodel.dev/inject-java\":\"true\"}", 1, J},
    {"pod false beats namespace true", "apps", "{\"tracemodel.dev/inject-java\":\"false\"}",
     "{\"tracemodel.dev/inject-java\":\"true\"}", 1, 0},
    {"pod true takes the namespace's name", "apps", "{\"tracemodel.dev/inject-java\":\"true\"}",
     "{\"tracemodel.dev/inject-java\":\"inst\"}", 3, J},
    {"pod true, namespace names another", "apps", "{\"tracemodel.dev/inject-java\":\"true\"}",
     "{\"tracemodel.dev/inject-java\":\"other\"}", 1, 0},
    {"pod names it over a namespace naming another", "apps",
     "{\"tracemodel.dev/inject-java\":\"inst\"}", "{\"tracemodel.dev/inject-java\":\"other\"}", 2,
     J},
    {"empty value is absent", "apps", "{\"tracemodel.dev/inject-java\":\"\"}",
     "{\"tracemodel.dev/inject-java\":\"true\"}", 1, J},
    {"two languages", "apps",
     "{\"tracemodel.dev/inject-java\":\"true\",\"tracemodel.dev/inject-python\":\"inst\"}", NULL,
     1, J | P},
    {"sidecar only is not an Instrumentation", "apps",
     "{\"tracemodel.dev/inject-sidecar\":\"true\"}", NULL, 1, 0},
    {"no annotations", "apps", NULL, NULL, 1, 0},
    {"non-string value", "apps", "{\"tracemodel.dev/inject-java\":true}", NULL, 1, 0},
};

static void opt_in_resolves_like_the_webhook(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(optins) / sizeof(optins[0]); i++) {
        const struct optin_case *c = &optins[i];
        struct rollout_target t = {.ns = "apps", .name = "inst", .peers = c->peers};
        json_t *oa = c->obj_ann ? json_loads(c->obj_ann, 0, NULL) : NULL;
        json_t *na = c->ns_ann ? json_loads(c->ns_ann, 0, NULL) : NULL;
        unsigned got = rollout_opts_in(&t, c->obj_ns, oa, na);
        if (got != c->want)
            fail_msg("%s: mask %#x, want %#x", c->what, got, c->want);
        json_decref(oa);
        json_decref(na);
    }
    struct rollout_target t = {.ns = "apps", .name = "inst", .peers = 1};
    assert_int_equal(rollout_opts_in(&t, NULL, NULL, NULL), 0);
    assert_int_equal(rollout_opts_in(NULL, "apps", NULL, NULL), 0);
}

/* ---- pods ---- */

static const json_t *pod_named(const json_t *list, const char *name) {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(list, "items"), i, p) {
        const char *n = json_string_value(
            json_object_get(json_object_get(p, "metadata"), "name"));
        if (n && !strcmp(n, name))
            return p;
    }
    fail_msg("no pod %s in the fixture", name);
    return NULL;
}

static void pods_are_classified(void **state) {
    (void)state;
    json_t *pods = tu_load(FX "pods.json");
    json_t *ns_ann = json_pack("{s:s}", "tracemodel.dev/inject-java", "true");
    struct rollout_target t = {.ns = "apps", .name = "inst", .peers = 1};
    static const struct {
        const char *pod;
        enum rollout_pod_state with_ns, without_ns;
    } want[] = {
        {"web-7d9f8b6c5d-aaaaa", ROLLOUT_POD_UNINSTRUMENTED, ROLLOUT_POD_UNINSTRUMENTED},
        {"web-7d9f8b6c5d-ccccc", ROLLOUT_POD_INJECTED, ROLLOUT_POD_INJECTED},
        {"api-0", ROLLOUT_POD_UNINSTRUMENTED, ROLLOUT_POD_UNINSTRUMENTED},
        {"skipped-1", ROLLOUT_POD_SKIPPED, ROLLOUT_POD_SKIPPED},
        {"other-1", ROLLOUT_POD_OTHER, ROLLOUT_POD_OTHER},
        {"done-1", ROLLOUT_POD_OTHER, ROLLOUT_POD_OTHER},
        {"going-1", ROLLOUT_POD_OTHER, ROLLOUT_POD_OTHER},
        {"bare", ROLLOUT_POD_UNINSTRUMENTED, ROLLOUT_POD_UNINSTRUMENTED},
        {"agent-x1", ROLLOUT_POD_UNINSTRUMENTED, ROLLOUT_POD_OTHER},
        {"optout-1", ROLLOUT_POD_OTHER, ROLLOUT_POD_OTHER},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const json_t *p = pod_named(pods, want[i].pod);
        if (rollout_pod_classify(&t, p, ns_ann) != want[i].with_ns)
            fail_msg("%s with the namespace opted in: state %d, want %d", want[i].pod,
                     rollout_pod_classify(&t, p, ns_ann), want[i].with_ns);
        if (rollout_pod_classify(&t, p, NULL) != want[i].without_ns)
            fail_msg("%s: state %d, want %d", want[i].pod, rollout_pod_classify(&t, p, NULL),
                     want[i].without_ns);
    }
    json_decref(ns_ann);
    json_decref(pods);
}

static void owners_go_through_workloads(void **state) {
    (void)state;
    json_t *pods = tu_load(FX "pods.json");
    static const struct {
        const char *pod, *kind, *name;
        int rollable;
    } want[] = {
        {"web-7d9f8b6c5d-aaaaa", "Deployment", "web", 1},
        {"api-0", "StatefulSet", "api", 1},
        {"agent-x1", "DaemonSet", "agent", 1},
        {"batch-1-zzzzz", "Job", "batch-1", 0},
        {"bare", "", "", 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct rollout_owner o;
        int r = rollout_pod_owner(pod_named(pods, want[i].pod), &o);
        if (r != want[i].rollable || strcmp(o.kind, want[i].kind) || strcmp(o.name, want[i].name))
            fail_msg("%s: %d %s/%s, want %d %s/%s", want[i].pod, r, o.kind, o.name,
                     want[i].rollable, want[i].kind, want[i].name);
    }
    json_decref(pods);
    /* a ReplicaSet whose name does not end in the pod's hash is not guessed at */
    static const char *const odd[] = {
        "{\"metadata\":{\"labels\":{\"pod-template-hash\":\"abc12\"},\"ownerReferences\":"
        "[{\"kind\":\"ReplicaSet\",\"name\":\"web-zzzzz\",\"controller\":true}]}}",
        "{\"metadata\":{\"ownerReferences\":"
        "[{\"kind\":\"ReplicaSet\",\"name\":\"web-abc12\",\"controller\":true}]}}",
        "{\"metadata\":{\"labels\":{\"pod-template-hash\":\"abc12\"},\"ownerReferences\":"
        "[{\"kind\":\"ReplicaSet\",\"name\":\"abc12\",\"controller\":true}]}}",
        "{\"metadata\":{\"ownerReferences\":[{\"kind\":\"StatefulSet\",\"name\":\"s\"}]}}",
        "{\"metadata\":{\"ownerReferences\":\"nope\"}}",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        json_t *p = json_loads(odd[i], 0, NULL);
        assert_non_null(p);
        struct rollout_owner o;
        if (rollout_pod_owner(p, &o) != 0)
            fail_msg("case %zu: rolled through %s/%s", i, o.kind, o.name);
        json_decref(p);
    }
}

static void scan_counts_names_and_owners(void **state) {
    (void)state;
    json_t *pods = tu_load(FX "pods.json");
    json_t *ns_ann = json_pack("{s:s}", "tracemodel.dev/inject-java", "true");
    struct rollout_target t = {.ns = "apps", .name = "inst", .peers = 1};
    struct rollout_scan s;
    rollout_scan_init(&s, &t, ns_ann);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(pods, "items"), i, p) rollout_scan_pod(&s, p);
    /* web aaaaa + bbbbb, api-0, bare, agent-x1, batch-1 */
    assert_int_equal(s.uninstrumented, 6);
    assert_int_equal(s.unrollable, 2);   /* bare, the Job's pod */
    assert_int_equal(json_array_size(s.names), ROLLOUT_MAX_NAMED);
    assert_int_equal(json_object_size(s.owners), 3);
    /* the newest uninstrumented pod of each owner */
    assert_int_equal(json_integer_value(json_object_get(s.owners, "Deployment/web")),
                     at("2024-01-01T00:05:00Z"));
    assert_int_equal(json_integer_value(json_object_get(s.owners, "StatefulSet/api")),
                     at("2024-01-01T00:01:00Z"));
    assert_non_null(json_object_get(s.owners, "DaemonSet/agent"));
    char *msg = rollout_scan_message(&s);
    assert_non_null(strstr(msg, "6 pods asked for Instrumentation apps/inst"));
    assert_non_null(strstr(msg, ": agent-x1, api-0, bare, web-7d9f8b6c5d-aaaaa, "
                                "web-7d9f8b6c5d-bbbbb and 1 more"));
    free(msg);
    rollout_scan_done(&s);
    /* one pod: singular, no "more" */
    rollout_scan_init(&s, &t, NULL);
    rollout_scan_pod(&s, pod_named(pods, "api-0"));
    msg = rollout_scan_message(&s);
    assert_non_null(strstr(msg, "1 pod asked for"));
    assert_non_null(strstr(msg, "runs without it"));
    assert_null(strstr(msg, "more"));
    free(msg);
    rollout_scan_done(&s);
    json_decref(ns_ann);
    json_decref(pods);
}

/* ---- decisions ---- */

static void restarts_are_throttled(void **state) {
    (void)state;
    int64_t pod = at("2024-01-01T00:05:00Z");
    int64_t now = at("2024-01-01T01:00:00Z");
    json_t *before = json_pack("{s:s}", ROLLOUT_ANN_RESTARTED, "2024-01-01T00:04:59Z");
    json_t *after = json_pack("{s:s}", ROLLOUT_ANN_RESTARTED, "2024-01-01T00:05:00Z");
    json_t *junk = json_pack("{s:s}", ROLLOUT_ANN_RESTARTED, "yesterday");
    assert_true(rollout_should_restart(NULL, pod, 0, now));
    assert_true(rollout_should_restart(before, pod, 0, now));   /* pod came after a restart */
    assert_false(rollout_should_restart(after, pod, 0, now));   /* old pod, rollout pending */
    assert_true(rollout_should_restart(junk, pod, 0, now));
    /* remembered restarts hold back for ten minutes */
    assert_false(rollout_should_restart(NULL, pod, now - ROLLOUT_RESTART_MIN_MS + 1, now));
    assert_true(rollout_should_restart(NULL, pod, now - ROLLOUT_RESTART_MIN_MS, now));
    json_decref(before);
    json_decref(after);
    json_decref(junk);
}

static void workloads_to_roll(void **state) {
    (void)state;
    json_t *deps = tu_load(FX "deployments.json");
    struct rollout_target t = {.ns = "apps", .name = "inst", .peers = 1};
    const json_t *items = json_object_get(deps, "items");
    /* web: opted in, no hash; current: at @HASH@; plain: not opted in; elsewhere: other */
    assert_true(rollout_workload_wants(&t, json_array_get(items, 0), NULL, "h1"));
    assert_false(rollout_workload_wants(&t, json_array_get(items, 1), NULL, "@HASH@"));
    assert_true(rollout_workload_wants(&t, json_array_get(items, 1), NULL, "h1"));
    assert_false(rollout_workload_wants(&t, json_array_get(items, 2), NULL, "h1"));
    assert_false(rollout_workload_wants(&t, json_array_get(items, 3), NULL, "h1"));
    /* the namespace opts plain in */
    json_t *ns_ann = json_pack("{s:s}", "tracemodel.dev/inject-java", "inst");
    assert_true(rollout_workload_wants(&t, json_array_get(items, 2), ns_ann, "h1"));
    assert_false(rollout_workload_wants(&t, json_array_get(items, 3), ns_ann, "h1"));
    json_decref(ns_ann);
    json_decref(deps);
    json_t *patch = rollout_template_patch(ROLLOUT_ANN_HASH, "h1");
    json_t *want = json_loads("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                              "{\"tracemodel.dev/injection-hash\":\"h1\"}}}}}", 0, NULL);
    tu_assert_json_equal(want, patch, "template patch");
    json_decref(want);
    json_decref(patch);
}

static void memory_remembers_and_forgets(void **state) {
    (void)state;
    struct rollout_memory *m = rollout_memory_new();
    assert_int_equal(rollout_memory_last(m, "Deployment/apps/web"), 0);
    rollout_memory_note(m, "Deployment/apps/web", 1000);
    assert_int_equal(rollout_memory_last(m, "Deployment/apps/web"), 1000);
    /* a later note drops entries that no longer hold anything back */
    rollout_memory_note(m, "StatefulSet/apps/api", 1000 + ROLLOUT_RESTART_MIN_MS);
    assert_int_equal(rollout_memory_last(m, "Deployment/apps/web"), 0);
    assert_int_equal(rollout_memory_last(m, "StatefulSet/apps/api"),
                     1000 + ROLLOUT_RESTART_MIN_MS);
    rollout_memory_free(m);
    rollout_memory_free(NULL);
}

static void bad_input_is_not_a_crash(void **state) {
    (void)state;
    char h[65];
    json_t *odd = json_pack("{s:s}", "spec", "not an object");
    rollout_fingerprint(odd, NULL, h);
    assert_int_equal(strlen(h), 64);
    json_decref(odd);
    struct rollout_target t = {.ns = "apps", .name = "inst", .peers = 1};
    json_t *pod = json_pack("{s:[]}", "metadata");
    assert_int_equal(rollout_pod_classify(&t, pod, NULL), ROLLOUT_POD_OTHER);
    struct rollout_scan s;
    rollout_scan_init(&s, &t, NULL);
    assert_int_equal(rollout_scan_pod(&s, pod), ROLLOUT_POD_OTHER);
    assert_int_equal(rollout_scan_pod(&s, NULL), ROLLOUT_POD_OTHER);
    rollout_scan_done(&s);
    assert_false(rollout_workload_wants(&t, pod, NULL, "h"));
    json_decref(pod);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingerprint_is_a_sha256_and_ignores_rollout_flags),
        cmocka_unit_test(fingerprint_follows_what_is_injected),
        cmocka_unit_test(injected_view_names_the_collector_and_drops_the_flags),
        cmocka_unit_test(opt_in_resolves_like_the_webhook),
        cmocka_unit_test(pods_are_classified),
        cmocka_unit_test(owners_go_through_workloads),
        cmocka_unit_test(scan_counts_names_and_owners),
        cmocka_unit_test(restarts_are_throttled),
        cmocka_unit_test(workloads_to_roll),
        cmocka_unit_test(memory_remembers_and_forgets),
        cmocka_unit_test(bad_input_is_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
