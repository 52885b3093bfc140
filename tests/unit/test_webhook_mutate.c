/* test_webhook_mutate.c - pod mutation, one fixture per language and annotation case.
 *
 * Each tests/fixtures/webhook/mutate/<case>.yaml holds the inputs (pod, namespace,
 * Instrumentations, TracingModels; shared ones under shared/) and an `expect` block
 * written by hand from the rules (decision, status annotation, env values,
 * containers...). The test also compares the exact patch and the patched pod with
 * tests/golden/webhook/mutate/<case>.{patch.json,pod.yaml} (OP_UPDATE_GOLDEN=1
 * rewrites them), applies the patch with an independent RFC 6902 applier, and checks
 * that admitting the mutated pod again changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "jsonpatch_apply.h"
#include "testutil.h"
#include "webhook/mutate.h"

static const char *const cases[] = {
    "java", "nodejs", "python", "dotnet", "go", "go-no-target", "go-disabled", "sdk",
    "ns-only", "pod-override", "pod-true-ns-named", "false", "named", "cross-namespace",
    "container-names", "container-names-missing", "already-injected", "user-env",
    "valuefrom", "valuefrom-agent-var", "no-instrumentation", "two-instrumentations",
    "sidecar", "sidecar-only", "adaptive", "multi-language", "multi-language-no-names",
    "guaranteed", "small-pod", "not-requested", "cronjob", "service-annotation",
    "invalid-instrumentation", "model-missing", "dotnet-conflict", "grpc-protocol",
    "bad-annotation", "cache-object", "adaptive-java",
};

/* ---- loading a case ------------------------------------------------------- */

struct tcase {
    json_t *doc;
    json_t *ns_obj, *insts, *models;
};

static void append_files(json_t *arr, const json_t *files) {
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        char *rel = xasprintf("tests/fixtures/webhook/%s", json_string_value(f));
        json_array_append_new(arr, tu_load(rel));
        free(rel);
    }
}

static void load_case(const char *name, struct tcase *c) {
    char *rel = xasprintf("tests/fixtures/webhook/mutate/%s.yaml", name);
    c->doc = tu_load(rel);
    free(rel);
    c->insts = json_array();
    c->models = json_array();
    append_files(c->insts, json_object_get(c->doc, "instrumentationFiles"));
    append_files(c->models, json_object_get(c->doc, "modelFiles"));
    json_array_extend(c->insts, json_object_get(c->doc, "instrumentations"));
    json_array_extend(c->models, json_object_get(c->doc, "models"));
    c->ns_obj = json_incref(json_object_get(c->doc, "nsObject"));
    const char *nsf = json_string_value(json_object_get(c->doc, "namespaceFile"));
    if (nsf) {
        rel = xasprintf("tests/fixtures/webhook/%s", nsf);
        c->ns_obj = tu_load(rel);
        free(rel);
    }
}

static void free_case(struct tcase *c) {
    json_decref(c->doc);
    json_decref(c->ns_obj);
    json_decref(c->insts);
    json_decref(c->models);
}

static int run_mutate(const struct tcase *c, const json_t *pod, struct mutate_result *res) {
    struct mutate_input in = {
        .pod = pod,
        .namespace = json_string_value(json_object_get(c->doc, "namespace")),
        .ns_obj = c->ns_obj,
        .instrumentations = c->insts,
        .models = c->models,
    };
    return mutate_pod(&in, res);
}

/* ---- looking into the patched pod ------------------------------------------- */

static const json_t *find_named(const json_t *arr, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && !strcmp(n, name))
            return v;
    }
    return NULL;
}

static const json_t *container(const json_t *pod, const char *name) {
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *c = find_named(json_object_get(spec, "containers"), name);
    if (!c)
        fail_msg("container %s not in the patched pod", name);
    return c;
}

static json_t *names_of(const json_t *arr) {
    if (!arr)
        return json_null();
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) json_array_append(out, json_object_get(v, "name"));
    return out;
}

static void check_names(const json_t *want, const json_t *arr, const char *what) {
    if (!want)
        return;
    json_t *got = names_of(arr);
    tu_assert_json_equal(want, got, what);
    json_decref(got);
}

static void check_env(const json_t *pod, const json_t *want) {
    const char *cname;
    json_t *vars;
    json_object_foreach((json_t *)want, cname, vars) {
        const json_t *env = json_object_get(container(pod, cname), "env");
        const char *var;
        json_t *val;
        json_object_foreach(vars, var, val) {
            const json_t *e = find_named(env, var);
            if (!e)
                fail_msg("%s: env %s missing", cname, var);
            if (json_is_string(val)) {
                const char *got = json_string_value(json_object_get(e, "value"));
                if (!got || strcmp(got, json_string_value(val)))
                    fail_msg("%s: env %s = \"%s\", want \"%s\"", cname, var,
                             got ? got : "(none)", json_string_value(val));
                continue;
            }
            const json_t *got = json_object_get(e, "valueFrom");
            char what[256];
            snprintf(what, sizeof(what), "%s env %s", cname, var);
            tu_assert_json_equal(val, got, what);
        }
    }
}

static void check_env_absent(const json_t *pod, const json_t *want) {
    const char *cname;
    json_t *vars;
    json_object_foreach((json_t *)want, cname, vars) {
        const json_t *env = json_object_get(container(pod, cname), "env");
        size_t i;
        json_t *v;
        json_array_foreach(vars, i, v) {
            if (find_named(env, json_string_value(v)))
                fail_msg("%s: env %s should not be set", cname, json_string_value(v));
        }
    }
}

/* envContains / envNotContains: items of a comma-separated value */
static void check_env_items(const json_t *pod, const json_t *want, int present) {
    const char *cname;
    json_t *vars;
    json_object_foreach((json_t *)want, cname, vars) {
        const json_t *env = json_object_get(container(pod, cname), "env");
        const char *var;
        json_t *items;
        json_object_foreach(vars, var, items) {
            const char *value = json_string_value(json_object_get(find_named(env, var), "value"));
            assert_non_null(value);
            char *wrapped = xasprintf(",%s,", value);
            size_t i;
            json_t *it;
            json_array_foreach(items, i, it) {
                const char *item = json_string_value(it);
                char *needle = strchr(item, '"') ? xstrdup(item) : xasprintf(",%s,", item);
                int found = strstr(wrapped, needle) != NULL;
                if (found != present)
                    fail_msg("%s: %s=\"%s\" %s \"%s\"", cname, var, value,
                             present ? "lacks" : "should not contain", item);
                free(needle);
            }
            free(wrapped);
        }
    }
}

static void check_env_count(const json_t *pod, const json_t *want) {
    const char *cname;
    json_t *vars;
    json_object_foreach((json_t *)want, cname, vars) {
        const json_t *env = json_object_get(container(pod, cname), "env");
        const char *var;
        json_t *n;
        json_object_foreach(vars, var, n) {
            json_int_t count = 0;
            size_t i;
            json_t *e;
            json_array_foreach(env, i, e) {
                const char *nm = json_string_value(json_object_get(e, "name"));
                count += nm && !strcmp(nm, var);
            }
            if (count != json_integer_value(n))
                fail_msg("%s: %s appears %lld times, want %lld", cname, var, (long long)count,
                         (long long)json_integer_value(n));
        }
    }
}

static void check_last_env(const json_t *pod, const json_t *want) {
    const char *cname;
    json_t *var;
    json_object_foreach((json_t *)want, cname, var) {
        const json_t *env = json_object_get(container(pod, cname), "env");
        const json_t *last = json_array_get(env, json_array_size(env) - 1);
        assert_string_equal(json_string_value(json_object_get(last, "name")),
                            json_string_value(var));
    }
}

static void check_init(const json_t *pod, const json_t *exp) {
    const json_t *inits = json_object_get(json_object_get(pod, "spec"), "initContainers");
    const json_t *first = json_array_get(inits, 0);
    const json_t *want;
    if ((want = json_object_get(exp, "initResources")))
        tu_assert_json_equal(want, json_object_get(first, "resources"), "init resources");
    if ((want = json_object_get(exp, "initCommand")))
        tu_assert_json_equal(want, json_object_get(first, "command"), "init command");
    if ((want = json_object_get(exp, "initRunAsUser")))
        tu_assert_json_equal(want, json_object_get(json_object_get(first, "securityContext"),
                                                   "runAsUser"), "init runAsUser");
    if (json_is_true(json_object_get(exp, "initSecurity"))) {
        const json_t *sc = json_object_get(first, "securityContext");
        assert_true(json_is_true(json_object_get(sc, "runAsNonRoot")));
        assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
        assert_true(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
        /* resources derived from the pod, never the fixed 256Mi of other operators */
        const json_t *req = json_object_get(json_object_get(first, "resources"), "requests");
        assert_non_null(json_object_get(req, "memory"));
        assert_non_null(json_object_get(req, "cpu"));
    }
}

static const char *status_of(const json_t *pod) {
    return json_string_value(json_object_get(
        json_object_get(json_object_get(pod, "metadata"), "annotations"), MUTATE_ANN_STATUS));
}

static void check_expect(const json_t *exp, const json_t *pod, const struct mutate_result *res) {
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *want;
    if ((want = json_object_get(exp, "status"))) {
        if (json_is_null(want))
            assert_null(status_of(pod));
        else
            assert_string_equal(status_of(pod), json_string_value(want));
    }
    if ((want = json_object_get(exp, "reasonContains")) &&
        !strstr(res->reason, json_string_value(want)))
        fail_msg("reason \"%s\" lacks \"%s\"", res->reason, json_string_value(want));
    if ((want = json_object_get(exp, "instrumentation")))
        assert_string_equal(res->instrumentation, json_string_value(want));
    if (json_is_true(json_object_get(exp, "emptyPatch")))
        assert_int_equal(json_array_size(res->patch), 0);
    check_names(json_object_get(exp, "initContainers"), json_object_get(spec, "initContainers"),
                "initContainers");
    check_names(json_object_get(exp, "containers"), json_object_get(spec, "containers"),
                "containers");
    check_names(json_object_get(exp, "volumes"), json_object_get(spec, "volumes"), "volumes");
    check_env(pod, json_object_get(exp, "env"));
    check_env_absent(pod, json_object_get(exp, "envAbsent"));
    check_env_items(pod, json_object_get(exp, "envContains"), 1);
    check_env_items(pod, json_object_get(exp, "envNotContains"), 0);
    check_env_count(pod, json_object_get(exp, "envCount"));
    check_last_env(pod, json_object_get(exp, "lastEnv"));
    check_init(pod, exp);
}

/* ---- the case runner ----------------------------------------------------------- */

static void run_case(void **state) {
    const char *name = *state;
    struct tcase c;
    load_case(name, &c);
    const json_t *pod = json_object_get(c.doc, "pod");
    const json_t *exp = json_object_get(c.doc, "expect");
    struct mutate_result res;
    assert_int_equal(run_mutate(&c, pod, &res), 0);
    const char *want_decision = json_string_value(json_object_get(exp, "decision"));
    if (strcmp(mutate_decision_name(res.decision), want_decision))
        fail_msg("%s: decision %s (%s), want %s", name, mutate_decision_name(res.decision),
                 res.reason, want_decision);

    char *patch_text = json_dumps(res.patch, JSON_INDENT(2));
    char *gold = xasprintf("tests/golden/webhook/mutate/%s.patch.json", name);
    struct strbuf t;
    strbuf_init(&t, 0);
    strbuf_printf(&t, "%s\n", patch_text);
    tu_assert_golden(t.buf, gold);
    strbuf_free(&t);
    free(gold);
    free(patch_text);

    char err[512];
    json_t *patched = jpa_apply(pod, res.patch, err, sizeof(err));
    if (!patched)
        fail_msg("%s: the patch does not apply: %s", name, err);
    strbuf_init(&t, 0);
    assert_int_equal(yaml_dump(patched, &t), 0);
    gold = xasprintf("tests/golden/webhook/mutate/%s.pod.yaml", name);
    tu_assert_golden(t.buf, gold);
    free(gold);
    strbuf_free(&t);

    check_expect(exp, patched, &res);

    /* admitting the result again changes nothing */
    struct mutate_result again;
    assert_int_equal(run_mutate(&c, patched, &again), 0);
    if (json_array_size(again.patch)) {
        char *s = json_dumps(again.patch, JSON_INDENT(2));
        fail_msg("%s: re-admission is not a no-op (%s): %s", name,
                 mutate_decision_name(again.decision), s);
    }
    if (res.decision == MUTATE_INJECTED)
        assert_int_equal(again.decision, MUTATE_ALREADY);
    mutate_result_free(&again);
    json_decref(patched);
    mutate_result_free(&res);
    free_case(&c);
}

/* ---- malformed input: an error, never a crash --------------------------------------- */

static void expect_error(const char *pod_json, const char *ns) {
    json_t *pod = json_loads(pod_json, 0, NULL);
    struct mutate_input in = {.pod = pod, .namespace = ns};
    struct mutate_result res;
    assert_int_equal(mutate_pod(&in, &res), OP_EINVALID);
    assert_int_equal(res.decision, MUTATE_ERROR);
    assert_int_equal(json_array_size(res.patch), 0);
    assert_true(strlen(res.reason) > 0);
    mutate_result_free(&res);
    json_decref(pod);
}

static void test_malformed_pods(void **state) {
    (void)state;
    expect_error("[1, 2]", "shop");
    expect_error("{\"metadata\": {}}", "shop");
    expect_error("{\"spec\": {\"containers\": []}}", "shop");
    expect_error("{\"spec\": {\"containers\": [{\"image\": \"x\"}]}}", "shop");
    expect_error("{\"spec\": {\"containers\": [{\"name\": \"a\", \"env\": {}}]}}", "shop");
    expect_error("{\"spec\": {\"containers\": [{\"name\": \"a\", \"env\": [3]}]}}", "shop");
    expect_error("{\"metadata\": {\"annotations\": []}, \"spec\": {\"containers\": "
                 "[{\"name\": \"a\"}]}}", "shop");
    expect_error("{\"spec\": {\"volumes\": {}, \"containers\": [{\"name\": \"a\"}]}}", "shop");
    expect_error("{\"spec\": {\"containers\": [{\"name\": \"a\"}]}}", "");
    struct mutate_result res;
    assert_int_equal(mutate_pod(NULL, &res), OP_EINVALID);
    mutate_result_free(&res);
}

/* Wrong types in the annotations and the Instrumentation list do not crash either. */
static void test_wrong_types(void **state) {
    (void)state;
    json_t *pod = json_loads("{\"metadata\": {\"annotations\": {\"tracemodel.dev/inject-java\":"
                             " 7, \"tracemodel.dev/inject-python\": \"true\"}}, \"spec\": "
                             "{\"containers\": [{\"name\": \"a\"}]}}", 0, NULL);
    json_t *insts = json_loads("[3, {\"metadata\": 1}, {\"metadata\": {\"name\": 5}}]", 0, NULL);
    struct mutate_input in = {.pod = pod, .namespace = "shop", .instrumentations = insts};
    struct mutate_result res;
    assert_int_equal(mutate_pod(&in, &res), 0);
    assert_int_equal(res.decision, MUTATE_SKIPPED);
    assert_non_null(strstr(res.reason, "inject-python: no Instrumentation"));
    mutate_result_free(&res);
    json_decref(pod);
    json_decref(insts);
}

/* ---- the Instrumentation loader (admission.c caches through it) ------------------- */

struct counting_loader {
    int calls;
    const char *fail;       /* when set: load nothing, with this error */
};

static json_t *count_load(void *user, const json_t *raw, char **error) {
    struct counting_loader *l = user;
    l->calls++;
    if (l->fail) {
        *error = xstrdup(l->fail);
        return NULL;
    }
    return mutate_load_instrumentation(raw, error);
}

/* The loader is what turns the picked Instrumentation into the defaulted one: same
 * answer as without it, and its error is the skip reason. */
static void test_loader(void **state) {
    (void)state;
    struct tcase c;
    load_case("java", &c);
    const json_t *pod = json_object_get(c.doc, "pod");
    struct mutate_input in = {
        .pod = pod, .namespace = "shop", .ns_obj = c.ns_obj,
        .instrumentations = c.insts, .models = c.models,
    };
    struct mutate_result plain, loaded, failed;
    assert_int_equal(mutate_pod(&in, &plain), 0);
    struct counting_loader cl = {0, NULL};
    struct mutate_loader ld = {count_load, &cl};
    assert_int_equal(mutate_pod_loaded(&in, &ld, &loaded), 0);
    assert_int_equal(cl.calls, 1);
    assert_int_equal(loaded.decision, MUTATE_INJECTED);
    assert_true(json_equal(plain.patch, loaded.patch));
    cl.fail = "spec.sampler.argument: must be a number in [0, 1]";
    assert_int_equal(mutate_pod_loaded(&in, &ld, &failed), 0);
    assert_int_equal(cl.calls, 2);
    assert_int_equal(failed.decision, MUTATE_SKIPPED);
    assert_string_equal(failed.reason, "Instrumentation shop/default is invalid: "
                                       "spec.sampler.argument: must be a number in [0, 1]");
    mutate_result_free(&plain);
    mutate_result_free(&loaded);
    mutate_result_free(&failed);
    free_case(&c);
}

/* mutate_load_instrumentation fills apiVersion/kind for tinst_load without touching
 * the raw object, and names the first error of an invalid one. */
static void test_load_instrumentation(void **state) {
    (void)state;
    json_t *raw = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", "i",
                            "namespace", "shop", "spec", "tracingModel", "m");
    char *err = (char *)"unset";
    json_t *inst = mutate_load_instrumentation(raw, &err);
    assert_non_null(inst);
    assert_null(err);
    assert_null(json_object_get(raw, "apiVersion"));
    assert_null(json_object_get(raw, "kind"));
    assert_string_equal(json_string_value(json_object_get(inst, "kind")), "Instrumentation");
    /* defaulted: the Java agent image is filled in */
    assert_non_null(json_object_get(json_object_get(json_object_get(inst, "spec"), "java"),
                                    "image"));
    json_decref(inst);
    json_object_set_new(json_object_get(raw, "spec"), "sampler",
                        json_pack("{s:s, s:s}", "type", "traceidratio", "argument", "1.5"));
    assert_null(mutate_load_instrumentation(raw, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "spec.sampler.argument"));
    free(err);
    json_decref(raw);
}

/* A pod with 1,000 containers: the named one is instrumented, the rest untouched. */
static void test_thousand_containers(void **state) {
    (void)state;
    struct tcase c;
    load_case("java", &c);
    json_t *pod = json_deep_copy(json_object_get(c.doc, "pod"));
    json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
    for (int i = 1; i < 1000; i++) {
        char n[32];
        snprintf(n, sizeof(n), "c%d", i);
        json_array_append_new(containers, json_pack("{s:s, s:s}", "name", n, "image", "x:1"));
    }
    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        MUTATE_ANN_CONTAINER_NAMES, json_string("c999"));
    struct mutate_result res;
    assert_int_equal(run_mutate(&c, pod, &res), 0);
    assert_int_equal(res.decision, MUTATE_INJECTED);
    char err[256];
    json_t *patched = jpa_apply(pod, res.patch, err, sizeof(err));
    assert_non_null(patched);
    const json_t *env = json_object_get(container(patched, "c999"), "env");
    assert_non_null(find_named(env, "JAVA_TOOL_OPTIONS"));
    assert_null(json_object_get(container(patched, "c998"), "env"));
    assert_null(json_object_get(container(patched, "web"), "env"));
    json_decref(patched);
    mutate_result_free(&res);
    json_decref(pod);
    free_case(&c);
}

/* The service-name chain, one rule at a time. */
static void test_service_name_chain(void **state) {
    (void)state;
    static const struct { const char *pod, *container, *want; } rows[] = {
        {"{\"metadata\": {\"annotations\": {\"resource.opentelemetry.io/service.name\": \"a\"},"
         " \"labels\": {\"app.kubernetes.io/name\": \"b\"}}}", "c", "a"},
        {"{\"metadata\": {\"labels\": {\"app.kubernetes.io/name\": \"b\"}, \"ownerReferences\":"
         " [{\"kind\": \"StatefulSet\", \"name\": \"db\", \"controller\": true}]}}", "c", "b"},
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"StatefulSet\", \"name\": \"db\"}],"
         " \"name\": \"db-0\"}}", "c", "db"},
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"ReplicaSet\", \"name\": "
         "\"web-5b8f6d7c9\"}]}}", "c", "web"},
        {"{\"metadata\": {\"labels\": {\"pod-template-hash\": \"abc\"}, \"ownerReferences\": "
         "[{\"kind\": \"ReplicaSet\", \"name\": \"my-app-abc\"}]}}", "c", "my-app"},
        /* a ReplicaSet not made by a Deployment keeps its own name */
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"ReplicaSet\", \"name\": "
         "\"frontend\"}]}}", "c", "frontend"},
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"Job\", \"name\": "
         "\"nightly-29000000\"}]}}", "c", "nightly"},
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"Job\", \"name\": \"migrate-2\"}]}}",
         "c", "migrate-2"},
        {"{\"metadata\": {\"ownerReferences\": [{\"kind\": \"DaemonSet\", \"name\": \"agent\","
         " \"controller\": false}, {\"kind\": \"Node\", \"name\": \"n1\", \"controller\": true}]}}",
         "c", "n1"},
        {"{\"metadata\": {\"name\": \"solo\"}}", "c", "solo"},
        {"{\"metadata\": {\"generateName\": \"gen-\"}}", "c", "gen"},
        {"{\"metadata\": {}}", "ctr", "ctr"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *pod = json_loads(rows[i].pod, 0, NULL);
        assert_non_null(pod);
        char *got = mutate_service_name(pod, rows[i].container);
        if (strcmp(got, rows[i].want))
            fail_msg("row %zu: service name %s, want %s", i, got, rows[i].want);
        free(got);
        json_decref(pod);
    }
}

int main(void) {
    xalloc_init();
    size_t n = sizeof(cases) / sizeof(cases[0]);
    struct CMUnitTest *tests = xcalloc(n + 6, sizeof(*tests));
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i];
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)cases[i];
    }
    tests[n].name = "malformed_pods";
    tests[n].test_func = test_malformed_pods;
    tests[n + 1].name = "wrong_types";
    tests[n + 1].test_func = test_wrong_types;
    tests[n + 2].name = "thousand_containers";
    tests[n + 2].test_func = test_thousand_containers;
    tests[n + 3].name = "service_name_chain";
    tests[n + 3].test_func = test_service_name_chain;
    tests[n + 4].name = "loader";
    tests[n + 4].test_func = test_loader;
    tests[n + 5].name = "load_instrumentation";
    tests[n + 5].test_func = test_load_instrumentation;
    int rc = _cmocka_run_group_tests("webhook_mutate", tests, n + 6, NULL, NULL);
    free(tests);
    return rc;
}
