/* test_render_helpers.h - helpers shared by the tests/unit/test_render_*.c binaries:
 * loading and editing models, rendering, finding objects and reading rendered
 * configs back. Static functions: each test binary includes this once. */
#ifndef TEST_RENDER_HELPERS_H
#define TEST_RENDER_HELPERS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/err.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "render/render.h"
#include "testutil.h"

/* new ref: a fixture with tm_default applied (no validation: the renderer's own checks
 * are what is under test). */
static inline json_t *rt_model(const char *relpath) {
    json_t *doc = tu_load(relpath);
    json_t *m = tm_default(doc);
    json_decref(doc);
    return m;
}

/* Sets path (dotted, objects created as needed) to v (stolen). */
static inline void rt_set(json_t *obj, const char *path, json_t *v) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = obj;
    char *p = buf;
    for (char *dot; (dot = strchr(p, '.')); p = dot + 1) {
        *dot = '\0';
        json_t *next = json_object_get(cur, p);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, p, next);
        }
        cur = next;
    }
    json_object_set_new(cur, p, v);
}

static inline void rt_del(json_t *obj, const char *path) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *last = strrchr(buf, '.');
    json_t *parent = obj;
    if (last) {
        *last = '\0';
        parent = tm_get(obj, buf);
    }
    json_object_del(parent, last ? last + 1 : buf);
}

static inline void rt_print_diag(const struct diag *d) {
    for (size_t i = 0; i < d->len; i++)
        print_message("diag: %s: %s\n", d->items[i].where, d->items[i].msg);
}

/* Renders m; fails the test unless it succeeds. */
static inline struct render_result rt_render(const json_t *m) {
    struct diag d;
    diag_init(&d);
    struct render_result r;
    int rc = render_model(m, &r, &d);
    if (rc != 0)
        rt_print_diag(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.errors, 0);
    diag_done(&d);
    return r;
}

/* Renders m expecting failure; returns the diagnostics (caller diag_done()s). */
static inline struct diag rt_render_fails(const json_t *m) {
    struct diag d;
    diag_init(&d);
    struct render_result r;
    assert_int_equal(render_model(m, &r, &d), OP_EINVALID);
    assert_null(r.manifests);
    assert_true(d.errors > 0);
    return d;
}

static inline int rt_diag_has(const struct diag *d, const char *where, const char *needle) {
    for (size_t i = 0; i < d->len; i++)
        if (!strcmp(d->items[i].where, where) && strstr(d->items[i].msg, needle))
            return 1;
    return 0;
}

/* borrowed: the object of that kind and name, or NULL. */
static inline json_t *rt_find(const json_t *manifests, const char *kind, const char *name) {
    size_t i;
    json_t *o;
    json_array_foreach((json_t *)manifests, i, o) {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) &&
            !strcmp(tm_get_str(o, "metadata.name", ""), name))
            return o;
    }
    return NULL;
}

static inline size_t rt_count(const json_t *manifests, const char *kind) {
    size_t i, n = 0;
    json_t *o;
    json_array_foreach((json_t *)manifests, i, o) {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), kind))
            n++;
    }
    return n;
}

/* The text of ConfigMap `name`'s key (borrowed). */
static inline const char *rt_cm_text(const json_t *manifests, const char *name, const char *key) {
    json_t *cm = rt_find(manifests, "ConfigMap", name);
    assert_non_null(cm);
    json_t *v = json_object_get(json_object_get(cm, "data"), key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* new ref: ConfigMap `name`'s key parsed as YAML (or JSON). */
static inline json_t *rt_cm_doc(const json_t *manifests, const char *name, const char *key) {
    const char *text = rt_cm_text(manifests, name, key);
    struct op_status st = {0};
    json_t *doc = yaml_load_one(text, strlen(text), &st);
    if (!doc)
        fail_msg("%s/%s does not parse: %s", name, key, st.msg);
    return doc;
}

/* The pod template spec's first container of a workload (borrowed). */
static inline json_t *rt_container(const json_t *workload) {
    json_t *c = json_array_get(tm_get(workload, "spec.template.spec.containers"), 0);
    if (!c) /* CronJob */
        c = json_array_get(tm_get(workload, "spec.jobTemplate.spec.template.spec.containers"), 0);
    assert_non_null(c);
    return c;
}

/* borrowed: the env var `name` of a container, or NULL. */
static inline json_t *rt_env(const json_t *container, const char *name) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(container, "env"), i, e) {
        if (!strcmp(tm_get_str(e, "name", ""), name))
            return e;
    }
    return NULL;
}

/* Index of s in a JSON array of strings, or -1. */
static inline int rt_index(const json_t *arr, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)arr, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return (int)i;
    }
    return -1;
}

#endif
