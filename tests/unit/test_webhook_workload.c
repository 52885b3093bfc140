/* test_webhook_workload.c - the workload warnings (workload.h) and their webhook path
 * /validate-workload: an injection annotation on a Deployment's (StatefulSet's, Job's,
 * CronJob's) own metadata, or in the OpenTelemetry operator's spelling, is named with
 * where it has to go; annotations in the right place, and annotations that are not read
 * from pods, are not; the path never refuses and never patches, whatever the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "testutil.h"
#include "webhook/admission.h"
#include "webhook/workload.h"

#define FIX "tests/fixtures/webhook/workload/"

/* new ref: the warnings workload_warnings gives the fixture (kind from the object) */
static json_t *warnings_of(const char *fixture) {
    json_t *obj = tu_load(fixture);
    json_t *w = json_array();
    size_t n = workload_warnings(obj, NULL, w);
    assert_int_equal(n, json_array_size(w));
    json_decref(obj);
    return w;
}

/* The warning that mentions needle, or fail. */
static const char *find(const json_t *w, const char *needle) {
    size_t i;
    json_t *v;
    json_array_foreach(w, i, v) {
        if (strstr(json_string_value(v), needle))
            return json_string_value(v);
    }
    fail_msg("no warning mentions \"%s\"", needle);
    return NULL;
}

static void has_all(const char *s, const char *const *parts) {
    for (; *parts; parts++)
        if (!strstr(s, *parts))
            fail_msg("\"%s\" is not in: %s", *parts, s);
}

static void test_deployment_metadata(void **state) {
    (void)state;
    json_t *w = warnings_of(FIX "deployment-misplaced.yaml");
    assert_int_equal(json_array_size(w), 3);
    has_all(find(w, "tracemodel.dev/inject-java"),
            (const char *const[]){"tracing-operator: ", "the Deployment's own metadata",
                                  "never reaches the pods",
                                  "move it to spec.template.metadata.annotations",
                                  "(or annotate the namespace)", NULL});
    const char *names = find(w, "tracemodel.dev/container-names");
    assert_null(strstr(names, "annotate the namespace"));   /* only inject-* works there */
    find(w, "resource.opentelemetry.io/service.name");
    json_decref(w);
}

static void test_template_carries_it(void **state) {
    (void)state;
    /* the template has the same annotation; controller-written ones are not pod settings */
    json_t *w = warnings_of(FIX "deployment-ok.yaml");
    assert_int_equal(json_array_size(w), 0);
    json_decref(w);
}

static void test_opentelemetry_spelling(void **state) {
    (void)state;
    json_t *w = warnings_of(FIX "statefulset-otel.yaml");
    assert_int_equal(json_array_size(w), 2);
    has_all(find(w, "instrumentation.opentelemetry.io/inject-python"),
            (const char *const[]){"in the pod template",
                                  "OpenTelemetry operator's annotation",
                                  "tracing-operator reads tracemodel.dev/inject-python", NULL});
    find(w, "reads tracemodel.dev/inject-sidecar");
    json_decref(w);
}

static void test_cronjob(void **state) {
    (void)state;
    json_t *w = warnings_of(FIX "cronjob-misplaced.yaml");
    assert_int_equal(json_array_size(w), 2);
    has_all(find(w, "instrumentation.opentelemetry.io/inject-go"),
            (const char *const[]){"the CronJob's own metadata",
                                  "spec.jobTemplate.spec.template.metadata.annotations as "
                                  "tracemodel.dev/inject-go",
                                  NULL});
    has_all(find(w, "tracemodel.dev/otel-go-auto-target-exe"),
            (const char *const[]){"on the CronJob's spec.jobTemplate.metadata",
                                  "spec.jobTemplate.spec.template.metadata.annotations", NULL});
    json_decref(w);
}

/* Many misplaced annotations: WORKLOAD_MAX_WARNINGS, then one "and N more". */
static void test_cap(void **state) {
    (void)state;
    json_t *obj = tu_load(FIX "deployment-ok.yaml");
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    for (int i = 0; i < 20; i++) {
        char k[64];
        snprintf(k, sizeof(k), "resource.opentelemetry.io/attr%d", i);
        json_object_set_new(ann, k, json_string("v"));
    }
    json_t *w = json_array();
    assert_int_equal(workload_warnings(obj, NULL, w), WORKLOAD_MAX_WARNINGS + 1);
    assert_string_equal(json_string_value(json_array_get(w, WORKLOAD_MAX_WARNINGS)),
                        "tracing-operator: and 12 more misplaced annotations");
    json_decref(w);
    json_decref(obj);
}

/* Not a workload, or not shaped like one: nothing, and no crash. */
static void test_not_workloads(void **state) {
    (void)state;
    json_t *dep = tu_load(FIX "deployment-misplaced.yaml");
    json_t *w = json_array();
    assert_int_equal(workload_warnings(dep, "Pod", w), 0);          /* the kind given wins */
    assert_int_equal(workload_warnings(dep, "ReplicaSet", w), 0);   /* copies of a Deployment's */
    assert_int_equal(workload_warnings(dep, "Job", w), 3);          /* same template path */
    json_array_clear(w);
    assert_int_equal(workload_warnings(dep, "CronJob", w), 0);      /* no spec.jobTemplate */
    assert_false(workload_kind_known("Pod"));
    assert_true(workload_kind_known("DaemonSet"));
    static const char *const bad[] = {
        "[]",
        "{\"kind\": \"Deployment\"}",
        "{\"kind\": \"Deployment\", \"metadata\": {\"annotations\": {\"tracemodel.dev/inject-java\":"
        " \"true\"}}, \"spec\": {\"template\": 5}}",
        "{\"kind\": \"Deployment\", \"metadata\": {\"annotations\": \"tracemodel.dev/inject-java\"},"
        " \"spec\": {\"template\": {}}}",
        "{\"kind\": \"Deployment\", \"metadata\": {\"annotations\": {\"tracemodel.dev/inject-\": 1,"
        " \"tracemodel.dev/otel-\": 1, \"instrumentation.opentelemetry.io/\": 1, "
        "\"resource.opentelemetry.io/\": 1, \"tracemodel.dev/injection-status\": 1}}, "
        "\"spec\": {\"template\": {\"metadata\": {\"annotations\": 7}}}}",
        "{\"kind\": 5, \"spec\": {\"template\": {}}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        assert_non_null(o);
        if (workload_warnings(o, NULL, w) != 0)
            fail_msg("input %zu: %s", i, json_string_value(json_array_get(w, 0)));
        json_decref(o);
    }
    assert_int_equal(workload_warnings(NULL, "Deployment", w), 0);
    assert_int_equal(workload_warnings(dep, NULL, NULL), 0);
    json_decref(w);
    json_decref(dep);
}

/* ---- through the webhook path --------------------------------------------------- */

static char *review(const char *op, const json_t *obj, const char *kind) {
    json_t *r = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:O}}", "apiVersion",
                          "admission.k8s.io/v1", "kind", "AdmissionReview", "request", "uid",
                          "w-1", "kind", "group", "apps", "version", "v1", "kind", kind,
                          "namespace", "shop", "operation", op, "object", obj);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

/* new ref: the response of /validate-workload for body; it allowed and did not patch */
static json_t *answer(const char *body, size_t len, struct admission_result *res) {
    admission_handle(ADMISSION_PATH_VALIDATE_WORKLOAD "?timeout=2s", body, len, NULL, res);
    assert_int_equal(res->http_status, 200);
    assert_true(res->allowed);
    json_t *r = json_loadb(res->body, res->len, 0, NULL);
    assert_non_null(r);
    json_t *resp = json_incref(json_object_get(r, "response"));
    json_decref(r);
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_null(json_object_get(resp, "patch"));
    assert_int_equal(json_array_size(json_object_get(resp, "warnings")), res->warnings);
    return resp;
}

static void test_path(void **state) {
    (void)state;
    json_t *dep = tu_load(FIX "deployment-misplaced.yaml");
    struct admission_result res;
    char *body = review("UPDATE", dep, "Deployment");
    json_t *resp = answer(body, strlen(body), &res);
    assert_string_equal(json_string_value(json_object_get(resp, "uid")), "w-1");
    assert_int_equal(res.warnings, 3);
    find(json_object_get(resp, "warnings"), "tracemodel.dev/inject-java on the Deployment's");
    json_decref(resp);
    admission_result_free(&res);
    free(body);

    body = review("DELETE", dep, "Deployment");   /* nothing to say about a deletion */
    resp = answer(body, strlen(body), &res);
    assert_int_equal(res.warnings, 0);
    json_decref(resp);
    admission_result_free(&res);
    free(body);

    /* a key long enough to pass the warning limit: cut, still valid JSON */
    char key[300];
    memset(key, 'x', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    memcpy(key, "tracemodel.dev/inject-", 22);
    json_object_set_new(json_object_get(json_object_get(dep, "metadata"), "annotations"), key,
                        json_string("true"));
    body = review("CREATE", dep, "Deployment");
    resp = answer(body, strlen(body), &res);
    assert_int_equal(res.warnings, 4);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(resp, "warnings"), i, v)
        assert_true(strlen(json_string_value(v)) <= ADMISSION_MAX_WARNING);
    json_decref(resp);
    admission_result_free(&res);
    free(body);
    json_decref(dep);
}

/* Malformed or oversized reviews are still allowed, with a warning saying why. */
static void test_path_bad_bodies(void **state) {
    (void)state;
    static const char *const bodies[] = {
        "not json",
        "",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\"}",
        "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", "
        "\"request\": {\"uid\": \"u\", \"operation\": \"CREATE\", \"object\": 7}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct admission_result res;
        json_t *resp = answer(bodies[i], strlen(bodies[i]), &res);
        if (i < 3)
            find(json_object_get(resp, "warnings"), "tracing-operator: workload not checked");
        json_decref(resp);
        admission_result_free(&res);
    }
    size_t n = ADMISSION_MAX_BODY + 1;
    char *huge = xmalloc(n);
    memset(huge, ' ', n);
    struct admission_result res;
    json_t *resp = answer(huge, n, &res);
    find(json_object_get(resp, "warnings"), "too large");
    json_decref(resp);
    admission_result_free(&res);
    free(huge);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deployment_metadata),
        cmocka_unit_test(test_template_carries_it),
        cmocka_unit_test(test_opentelemetry_spelling),
        cmocka_unit_test(test_cronjob),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_not_workloads),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_path_bad_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
