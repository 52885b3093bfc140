/* test_render_golden.c - every example in examples/ validates (strict), renders, and its
 * multi-document YAML equals tests/golden/render/<example>.yaml byte for byte
 * (OP_UPDATE_GOLDEN=1 rewrites them). Also checks what must hold for any rendered
 * object so a real API server accepts it: required labels, selectors that match
 * their pod templates, port names of at most 15 characters and unique, credentials
 * only through secretKeyRef, YAML that reads back to the same objects, and the
 * same bytes on a second render. */
#include "test_render_helpers.h"

#include <ctype.h>

#include "base/strbuf.h"

static const char *const examples[] = {"jaeger-elasticsearch", "microservices-tempo-istio",
                                       "tail-sampling-at-scale", "minimal-otlp", NULL};

static json_t *load_example(const char *name) {
    char path[256];
    snprintf(path, sizeof(path), "examples/%s.yaml", name);
    json_t *doc = tu_load(path);
    struct diag d;
    diag_init(&d);
    json_t *m = tm_load(doc, 1, &d);
    if (!m || d.errors)
        rt_print_diag(&d);
    assert_non_null(m);
    assert_int_equal(d.errors, 0);
    diag_done(&d);
    json_decref(doc);
    return m;
}

static char *dump_all(const json_t *manifests) {
    struct strbuf b;
    strbuf_init(&b, 0);
    assert_int_equal(yaml_dump_all(manifests, &b), 0);
    return strbuf_detach(&b, NULL);
}

static void check_labels(const json_t *o, const char *model, const char *owner) {
    const char *name = tm_get_str(o, "metadata.name", NULL);
    assert_non_null(name);
    json_t *l = tm_get(o, "metadata.labels");
    /* (label keys contain dots: no tm_get paths here) */
    assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/managed-by")),
                        "tracing-operator");
    assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/part-of")),
                        "tracing-operator");
    assert_string_equal(json_string_value(json_object_get(l, "tracemodel.dev/model")), model);
    assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/name")), name);
    const char *comp = json_string_value(json_object_get(l, "app.kubernetes.io/component"));
    assert_non_null(comp);
    static const char *const comps[] = {"collector", "jaeger",  "tempo", "istio",
                                        "alerts",    "grafana", NULL};
    int ok = 0;
    for (size_t i = 0; comps[i]; i++)
        ok |= !strcmp(comp, comps[i]);
    assert_true(ok);
    json_t *ann = tm_get(o, "metadata.annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "tracemodel.dev/owner")), owner);
    assert_non_null(tm_get_str(o, "metadata.namespace", NULL));
    assert_true(strlen(name) <= 63);
}

/* Every matchLabels entry is on the pod template. */
static void check_selector(const json_t *w) {
    json_t *sel = tm_get(w, "spec.selector.matchLabels");
    json_t *tl = tm_get(w, "spec.template.metadata.labels");
    assert_true(json_object_size(sel) > 0);
    const char *k;
    json_t *v;
    json_object_foreach(sel, k, v) {
        json_t *t = json_object_get(tl, k);
        assert_non_null(t);
        assert_true(json_equal(t, v));
    }
}

static void check_ports(const json_t *ports, const char *port_key) {
    size_t i, j;
    json_t *p, *q;
    json_array_foreach((json_t *)ports, i, p) {
        const char *n = tm_get_str(p, "name", "");
        assert_true(strlen(n) >= 1 && strlen(n) <= 15);
        for (const char *s = n; *s; s++)
            assert_true(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-');
        assert_true(json_integer_value(json_object_get(p, port_key)) > 0);
        json_array_foreach((json_t *)ports, j, q) {
            if (j != i)
                assert_string_not_equal(n, tm_get_str(q, "name", ""));
        }
    }
}

/* Names that carry credentials must never have an inline value. */
static int secretish(const char *name) {
    static const char *const words[] = {"PASSWORD", "USERNAME", "SECRET", "ACCESS_KEY",
                                        "TOKEN",    "AUTH",     NULL};
    for (size_t i = 0; words[i]; i++)
        if (strstr(name, words[i]))
            return 1;
    return 0;
}

static void check_pod(const json_t *pod) {
    assert_true(json_is_true(tm_get(pod, "securityContext.runAsNonRoot")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pod, "containers"), i, c) {
        check_ports(json_object_get(c, "ports"), "containerPort");
        json_t *sc = json_object_get(c, "securityContext");
        assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
        assert_true(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
        assert_string_equal(json_string_value(json_array_get(tm_get(sc, "capabilities.drop"), 0)),
                            "ALL");
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(c, "env"), k, e) {
            const char *n = tm_get_str(e, "name", "");
            if (secretish(n)) {
                assert_null(json_object_get(e, "value"));
                assert_non_null(tm_get(e, "valueFrom.secretKeyRef.name"));
            }
        }
    }
}

static void check_object(const json_t *o, const json_t *all, const char *model, const char *owner) {
    check_labels(o, model, owner);
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet")) {
        assert_string_equal(tm_get_str(o, "apiVersion", ""), "apps/v1");
        check_selector(o);
        check_pod(tm_get(o, "spec.template.spec"));
        if (!strcmp(kind, "StatefulSet")) {
            const char *svc = tm_get_str(o, "spec.serviceName", NULL);
            assert_non_null(svc);
            assert_non_null(rt_find(all, "Service", svc));
        }
        const char *sa = tm_get_str(o, "spec.template.spec.serviceAccountName", NULL);
        if (sa)
            assert_non_null(rt_find(all, "ServiceAccount", sa));
        size_t i;
        json_t *v;
        json_array_foreach(tm_get(o, "spec.template.spec.volumes"), i, v) {
            const char *cm = tm_get_str(v, "configMap.name", NULL);
            if (cm)
                assert_non_null(rt_find(all, "ConfigMap", cm));
            const char *pvc = tm_get_str(v, "persistentVolumeClaim.claimName", NULL);
            if (pvc)
                assert_non_null(rt_find(all, "PersistentVolumeClaim", pvc));
        }
    } else if (!strcmp(kind, "CronJob")) {
        assert_string_equal(tm_get_str(o, "apiVersion", ""), "batch/v1");
        check_pod(tm_get(o, "spec.jobTemplate.spec.template.spec"));
    } else if (!strcmp(kind, "Service")) {
        check_ports(tm_get(o, "spec.ports"), "port");
        /* the selector picks the pods of one of our workloads */
        json_t *sel = tm_get(o, "spec.selector");
        const char *target = json_string_value(json_object_get(sel, "app.kubernetes.io/name"));
        json_t *w = rt_find(all, "Deployment", target);
        if (!w)
            w = rt_find(all, "StatefulSet", target);
        if (!w)
            w = rt_find(all, "DaemonSet", target);
        assert_non_null(w);
        assert_true(json_equal(sel, tm_get(w, "spec.selector.matchLabels")));
    } else if (!strcmp(kind, "ConfigMap")) {
        assert_true(json_object_size(json_object_get(o, "data")) == 1);
    }
}

static void golden(void **state) {
    (void)state;
    for (size_t i = 0; examples[i]; i++) {
        json_t *m = load_example(examples[i]);
        struct render_result r = rt_render(m);
        char *text = dump_all(r.manifests);
        char golden_path[256];
        snprintf(golden_path, sizeof(golden_path), "tests/golden/render/%s.yaml", examples[i]);
        tu_assert_golden(text, golden_path);

        /* reads back to the same objects */
        struct op_status st = {0};
        json_t *back = yaml_load_all(text, strlen(text), &st);
        assert_non_null(back);
        tu_assert_json_equal(r.manifests, back, examples[i]);
        json_decref(back);

        /* deterministic: a second render of a copy gives the same bytes */
        json_t *copy = json_deep_copy(m);
        struct render_result r2 = rt_render(copy);
        char *text2 = dump_all(r2.manifests);
        assert_string_equal(text, text2);
        free(text2);
        render_result_done(&r2);
        json_decref(copy);

        const char *model = tm_get_str(m, "metadata.name", "");
        char owner[256];
        snprintf(owner, sizeof(owner), "%s/%s", tm_get_str(m, "metadata.namespace", "default"),
                 model);
        size_t k;
        json_t *o;
        json_array_foreach(r.manifests, k, o) check_object(o, r.manifests, model, owner);
        free(text);
        render_result_done(&r);
        json_decref(m);
    }
}

/* Every example's collector config is valid YAML whose traces pipeline starts with
 * memory_limiter and ends with batch, and its hash is on the pod template. */
static void example_configs(void **state) {
    (void)state;
    for (size_t i = 0; examples[i]; i++) {
        json_t *m = load_example(examples[i]);
        struct render_result r = rt_render(m);
        size_t k;
        json_t *o;
        json_array_foreach(r.manifests, k, o) {
            json_t *data = json_object_get(o, "data");
            json_t *text = json_object_get(data, "collector.yaml");
            if (!text)
                continue;
            json_t *cfg =
                rt_cm_doc(r.manifests, tm_get_str(o, "metadata.name", ""), "collector.yaml");
            const char *pname;
            json_t *p;
            json_object_foreach(tm_get(cfg, "service.pipelines"), pname, p) {
                json_t *procs = json_object_get(p, "processors");
                assert_string_equal(json_string_value(json_array_get(procs, 0)), "memory_limiter");
                if (json_array_size(procs) > 1)
                    assert_string_equal(
                        json_string_value(json_array_get(procs, json_array_size(procs) - 1)),
                        "batch");
            }
            json_decref(cfg);
        }
        render_result_done(&r);
        json_decref(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden),
        cmocka_unit_test(example_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
