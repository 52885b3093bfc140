/* test_model_crd.c - crds/tracemodel.dev_tracingmodels.yaml agrees with the
 * validator's schema table (src/model/schema.c): same fields, types, enums,
 * ranges, required fields, list keys; every property documented; names and
 * printer columns as promised; and the CRD's defaults change nothing that
 * tm_default() would not also do (what the API server stores validates alike). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/schema.h"
#include "testutil.h"

#define CRD "crds/tracemodel.dev_tracingmodels.yaml"

static json_t *crd;

static int setup(void **state) {
    crd = tu_load(CRD);
    return crd ? 0 : -1;
}

static int teardown(void **state) {
    json_decref(crd);
    return 0;
}

static json_t *version0(void) {
    return json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0);
}

static json_t *root_schema(void) {
    return json_object_get(json_object_get(version0(), "schema"), "openAPIV3Schema");
}

static json_t *props(const json_t *s) { return json_object_get(s, "properties"); }

static const char *str(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static void names_and_columns(void **state) {
    assert_string_equal(str(crd, "apiVersion"), "apiextensions.k8s.io/v1");
    assert_string_equal(str(crd, "kind"), "CustomResourceDefinition");
    assert_string_equal(str(json_object_get(crd, "metadata"), "name"), "tracingmodels.tracemodel.dev");
    json_t *spec = json_object_get(crd, "spec");
    assert_string_equal(str(spec, "group"), "tracemodel.dev");
    assert_string_equal(str(spec, "scope"), "Namespaced");
    json_t *want_names = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s]}", "kind", "TracingModel",
                                   "listKind", "TracingModelList", "plural", "tracingmodels",
                                   "singular", "tracingmodel", "shortNames", "tm", "categories",
                                   "tracing");
    tu_assert_json_equal(want_names, json_object_get(spec, "names"), "names");
    json_decref(want_names);
    assert_int_equal(json_array_size(json_object_get(spec, "versions")), 1);
    json_t *v = version0();
    assert_string_equal(str(v, "name"), "v1alpha1");
    assert_true(json_is_true(json_object_get(v, "served")));
    assert_true(json_is_true(json_object_get(v, "storage")));
    assert_true(json_is_object(json_object_get(json_object_get(v, "subresources"), "status")));
    static const char *cols[][3] = {
        {"Backend", ".spec.backend.type", "string"},
        {"Rate", ".spec.sampling.rate", "number"},
        {"Tail", ".status.tailSampling", "boolean"},
        {"Ready", ".status.conditions[?(@.type==\"Ready\")].status", "string"},
        {"Age", ".metadata.creationTimestamp", "date"},
    };
    json_t *pc = json_object_get(v, "additionalPrinterColumns");
    assert_int_equal(json_array_size(pc), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_array_get(pc, i);
        assert_string_equal(str(c, "name"), cols[i][0]);
        assert_string_equal(str(c, "jsonPath"), cols[i][1]);
        assert_string_equal(str(c, "type"), cols[i][2]);
    }
}

/* ---- the spec schema against the table ---------------------------------- */

static void fail_at(const char *path, const char *what) {
    fail_msg("%s: %s", path, what);
}

static int in_required(const json_t *schema, const char *name) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(schema, "required"), i, r)
        if (!strcmp(json_string_value(r), name))
            return 1;
    return 0;
}

static void compare(const json_t *s, const struct tm_field *f, const char *path);

static void compare_fields(const json_t *s, const struct tm_field *fields, const char *path) {
    json_t *p = props(s);
    if (!json_is_object(p))
        fail_at(path, "no properties in the CRD");
    size_t n = 0;
    for (size_t i = 0; fields[i].name; i++, n++) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, fields[i].name);
        json_t *c = json_object_get(p, fields[i].name);
        if (!c)
            fail_at(sub, "in schema.c but not in the CRD");
        compare(c, &fields[i], sub);
        if (!!(fields[i].flags & TF_REQUIRED) != in_required(s, fields[i].name))
            fail_at(sub, "required differs between schema.c and the CRD");
    }
    if (json_object_size(p) != n) {
        const char *k;
        json_t *v;
        json_object_foreach(p, k, v) {
            size_t i = 0;
            while (fields[i].name && strcmp(fields[i].name, k))
                i++;
            if (!fields[i].name) {
                char sub[512];
                snprintf(sub, sizeof(sub), "%s.%s", path, k);
                fail_at(sub, "in the CRD but not in schema.c");
            }
        }
    }
}

static void compare(const json_t *s, const struct tm_field *f, const char *path) {
    const char *type = str(s, "type");
    const char *want = NULL;
    switch (f->kind) {
    case TK_STRING:
    case TK_DURATION: want = "string"; break;
    case TK_BOOL: want = "boolean"; break;
    case TK_NUMBER: want = "number"; break;
    case TK_INT: want = "integer"; break;
    case TK_OBJECT:
    case TK_MAP: want = "object"; break;
    case TK_ARRAY: want = "array"; break;
    case TK_QUANTITY:
        if (!json_is_true(json_object_get(s, "x-kubernetes-int-or-string")) || type)
            fail_at(path, "a quantity must be x-kubernetes-int-or-string without a type");
        break;
    }
    if (want && (!type || strcmp(type, want))) {
        char msg[128];
        snprintf(msg, sizeof(msg), "type %s in the CRD, %s in schema.c", type ? type : "none", want);
        fail_at(path, msg);
    }
    if (f->kind == TK_DURATION && !json_object_get(s, "pattern"))
        fail_at(path, "a duration needs its pattern in the CRD");
    /* enums, in order */
    json_t *e = json_object_get(s, "enum");
    size_t ne = 0;
    for (; f->enums && f->enums[ne]; ne++)
        if (!json_is_string(json_array_get(e, ne)) ||
            strcmp(json_string_value(json_array_get(e, ne)), f->enums[ne]))
            fail_at(path, "enum differs");
    if (json_array_size(e) != ne)
        fail_at(path, "enum length differs");
    /* ranges */
    json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
    int xmin = json_is_true(json_object_get(s, "exclusiveMinimum"));
    int xmax = json_is_true(json_object_get(s, "exclusiveMaximum"));
    int has_min = !!(f->flags & (TF_MIN | TF_XMIN)), has_max = !!(f->flags & (TF_MAX | TF_XMAX));
    if (has_min != (mn != NULL) || (mn && json_number_value(mn) != f->min) ||
        !!(f->flags & TF_XMIN) != xmin)
        fail_at(path, "minimum differs");
    if (has_max != (mx != NULL) || (mx && json_number_value(mx) != f->max) ||
        !!(f->flags & TF_XMAX) != xmax)
        fail_at(path, "maximum differs");
    /* lengths and list shapes */
    json_t *ml = json_object_get(s, "maxLength");
    if (f->max_len && (!ml || (size_t)json_integer_value(ml) != f->max_len))
        fail_at(path, "maxLength differs");
    if ((f->flags & TF_NONEMPTY) && f->kind == TK_STRING &&
        json_integer_value(json_object_get(s, "minLength")) != 1)
        fail_at(path, "non-empty strings need minLength 1");
    const char *lt = str(s, "x-kubernetes-list-type");
    if ((f->flags & TF_LISTMAP) &&
        (!lt || strcmp(lt, "map") ||
         strcmp(json_string_value(json_array_get(json_object_get(s, "x-kubernetes-list-map-keys"), 0)), "name")))
        fail_at(path, "keyed list needs x-kubernetes-list-type map on name");
    if ((f->flags & TF_LISTSET) && (!lt || strcmp(lt, "set")))
        fail_at(path, "unique list needs x-kubernetes-list-type set");
    if (!(f->flags & (TF_LISTMAP | TF_LISTSET)) && lt)
        fail_at(path, "list type in the CRD but not in schema.c");
    json_t *mi = json_object_get(s, f->kind == TK_MAP ? "maxProperties" : "maxItems");
    if ((f->max_items != 0) != (mi != NULL) || (mi && (size_t)json_integer_value(mi) != f->max_items))
        fail_at(path, "maxItems/maxProperties differs");
    /* credentials: a CEL rule of the parent forbids them (checked by the caller's rules) */
    switch (f->kind) {
    case TK_OBJECT:
        compare_fields(s, f->fields, path);
        break;
    case TK_ARRAY: {
        char sub[520];
        snprintf(sub, sizeof(sub), "%s[]", path);
        compare(json_object_get(s, "items"), f->item, sub);
        break;
    }
    case TK_MAP: {
        char sub[520];
        snprintf(sub, sizeof(sub), "%s{}", path);
        if (json_object_get(s, "properties"))
            fail_at(path, "a map must not have properties");
        compare(json_object_get(s, "additionalProperties"), f->item, sub);
        break;
    }
    default:
        break;
    }
}

static void spec_matches_table(void **state) {
    json_t *spec = json_object_get(props(root_schema()), "spec");
    compare_fields(spec, tm_spec_schema(), "spec");
    assert_true(in_required(spec, "backend"));
    assert_true(in_required(root_schema(), "spec"));
}

/* every property documents itself for kubectl explain */
static void descriptions(const json_t *s, const char *path) {
    if (!json_is_string(json_object_get(s, "description")) || !*str(s, "description"))
        fail_at(path, "no description");
    const char *k;
    json_t *c;
    json_object_foreach(props(s), k, c) {
        if (!strcmp(path, "") && !strcmp(k, "metadata"))
            continue;   /* the API server owns metadata's schema */
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, k);
        descriptions(c, sub);
    }
    if (json_object_get(s, "items")) {
        char sub[520];
        snprintf(sub, sizeof(sub), "%s[]", path);
        descriptions(json_object_get(s, "items"), sub);
    }
    if (json_is_object(json_object_get(s, "additionalProperties"))) {
        char sub[520];
        snprintf(sub, sizeof(sub), "%s{}", path);
        descriptions(json_object_get(s, "additionalProperties"), sub);
    }
}

static void documented(void **state) { descriptions(root_schema(), ""); }

/* Structural-schema basics the API server insists on. */
static void structural(const json_t *s, const char *path) {
    int ios = json_is_true(json_object_get(s, "x-kubernetes-int-or-string"));
    int pres = json_is_true(json_object_get(s, "x-kubernetes-preserve-unknown-fields"));
    if (!json_object_get(s, "type") && !ios && !pres)
        fail_at(path, "no type");
    if (props(s) && json_object_get(s, "additionalProperties"))
        fail_at(path, "properties and additionalProperties together");
    if ((json_object_get(s, "exclusiveMinimum") && !json_object_get(s, "minimum")) ||
        (json_object_get(s, "exclusiveMaximum") && !json_object_get(s, "maximum")))
        fail_at(path, "exclusive bound without the bound");
    json_t *keys = json_object_get(s, "x-kubernetes-list-map-keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        if (!in_required(json_object_get(s, "items"), json_string_value(k)))
            fail_at(path, "list-map keys must be required in the items");
    json_t *rules = json_object_get(s, "x-kubernetes-validations");
    json_array_foreach(rules, i, k) {
        if (!str(k, "rule") || !str(k, "message"))
            fail_at(path, "a validation rule needs rule and message");
        /* fieldPath/reason break server-side apply on API servers before 1.28 */
        if (json_object_get(k, "fieldPath") || json_object_get(k, "reason"))
            fail_at(path, "fieldPath/reason are not understood by older API servers");
    }
    const char *key;
    json_t *c;
    json_object_foreach(props(s), key, c) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        structural(c, sub);
    }
    if (json_object_get(s, "items"))
        structural(json_object_get(s, "items"), path);
    if (json_is_object(json_object_get(s, "additionalProperties")))
        structural(json_object_get(s, "additionalProperties"), path);
}

static void is_structural(void **state) { structural(root_schema(), ""); }

static int has_rule_mentioning(const json_t *s, const char *word) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s, "x-kubernetes-validations"), i, r)
        if (strstr(str(r, "rule"), word))
            return 1;
    return 0;
}

static const json_t *at(const char *path) {
    const json_t *s = json_object_get(props(root_schema()), "spec");
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
        s = json_object_get(props(s), t);
    return s;
}

/* The cross-field rules CEL can express are there. */
static void cel_rules(void **state) {
    static const struct { const char *path, *word; } rules[] = {
        {"", "self.collector.mode"},                    /* tail sampling vs daemonset/sidecar */
        {"backend", "self.otlp.endpoint"},
        {"sampling", "maxTracesPerSecond"},
        {"sampling.adaptive", "self.minRate <= self.maxRate"},
        {"sampling.adaptive", "targetRate"},
        {"propagation", "'none' in self.types"},
        {"istio", "meshRootNamespace"},
        {"backend.jaeger", "production"},
        {"backend.jaeger.storage", "elasticsearch.url"},
        {"backend.jaeger.storage.elasticsearch", "self.password"},
        {"backend.tempo.storage", "s3.bucket"},
        {"backend.tempo.storage.s3", "self.secretAccessKey"},
        {"collector.batch", "sendBatchMaxSize"},
        {"collector.memoryLimiter", "spikeLimitPercentage"},
        {"collector.kafka", "brokers"},
        {"analysis.throughput", "minRequestsPerSecond"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const json_t *s = *rules[i].path ? at(rules[i].path) : at("");
        if (!s || !has_rule_mentioning(s, rules[i].word))
            fail_msg("no CEL rule mentioning %s at spec.%s", rules[i].word, rules[i].path);
    }
    assert_true(has_rule_mentioning(root_schema(), "size(self.metadata.name) <= 44"));
    /* strings compared in CEL are bounded, so the rules stay cheap */
    static const char *bounded[] = {"collector.mode", "backend.type", "sampling.strategy",
                                    "istio.scope", "backend.jaeger.deployment",
                                    "backend.jaeger.storage.type", "backend.tempo.storage.type"};
    for (size_t i = 0; i < sizeof(bounded) / sizeof(bounded[0]); i++)
        assert_non_null(json_object_get(at(bounded[i]), "maxLength"));
    assert_non_null(json_object_get(at("propagation.types"), "maxItems"));
}

/* ---- defaults ----------------------------------------------------------- */

/* What the API server does: fill `default`s below objects that exist. */
static void crd_default(json_t *v, const json_t *s) {
    if (json_is_object(v) && props(s)) {
        const char *k;
        json_t *c;
        json_object_foreach(props(s), k, c) {
            json_t *d = json_object_get(c, "default");
            if (d && !json_object_get(v, k))
                json_object_set_new(v, k, json_deep_copy(d));
            if (json_object_get(v, k))
                crd_default(json_object_get(v, k), c);
        }
    } else if (json_is_object(v) && json_is_object(json_object_get(s, "additionalProperties"))) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) crd_default(c, json_object_get(s, "additionalProperties"));
    } else if (json_is_array(v) && json_object_get(s, "items")) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) crd_default(c, json_object_get(s, "items"));
    }
}

/* JSON equality where 1 and 1.0 are the same (the API server writes 1.0 as 1). */
static int same(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) if (!same(v, json_object_get(b, k))) return 0;
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    return json_equal(a, b);
}

static void defaults_agree(void **state) {
    static const char *files[] = {
        "tests/fixtures/model/minimal-jaeger.yaml", "tests/fixtures/model/full.yaml",
        "tests/fixtures/model/otlp.yaml", "tests/fixtures/model/many-errors.yaml",
        "tests/fixtures/model/crd-defaults.yaml", "tests/fixtures/model/crd-defaults-jaeger.yaml",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        json_t *raw = tu_load(files[i]);
        json_t *stored = json_deep_copy(raw);
        crd_default(stored, root_schema());
        json_t *a = tm_default(raw), *b = tm_default(stored);
        if (!same(a, b)) {
            print_message("%s: the CRD's defaults differ from tm_default's\n", files[i]);
            tu_assert_json_equal(a, b, files[i]);
        }
        struct diag d1, d2;
        diag_init(&d1);
        diag_init(&d2);
        assert_int_equal(tm_validate(a, 0, &d1), tm_validate(b, 0, &d2));
        diag_done(&d1);
        diag_done(&d2);
        json_decref(a);
        json_decref(b);
        json_decref(raw);
        json_decref(stored);
    }
}

/* each default the CRD declares is a value the validator accepts */
static void default_values_valid(const json_t *s, const char *path, json_t *spec_paths) {
    json_t *d = json_object_get(s, "default");
    if (d)
        json_array_append_new(spec_paths, json_string(path));
    const char *k;
    json_t *c;
    json_object_foreach(props(s), k, c) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
        default_values_valid(c, sub, spec_paths);
    }
}

static void crd_defaults_are_tm_defaults(void **state) {
    json_t *paths = json_array();
    default_values_valid(json_object_get(props(root_schema()), "spec"), "", paths);
    assert_true(json_array_size(paths) >= 20);
    /* models that only name the objects: the CRD's default for a field whose
     * parent exists equals what tm_default() puts there; together the two
     * fixtures reach every default */
    static const char *files[] = {"tests/fixtures/model/crd-defaults.yaml",
                                  "tests/fixtures/model/crd-defaults-jaeger.yaml"};
    json_t *checked = json_object();
    for (size_t f = 0; f < 2; f++) {
        json_t *doc = tu_load(files[f]);
        json_t *m = tm_default(doc);
        size_t i;
        json_t *p;
        json_array_foreach(paths, i, p) {
            char full[512];
            snprintf(full, sizeof(full), "spec.%s", json_string_value(p));
            char *dot = strrchr(full, '.');
            *dot = '\0';
            int parent_exists = json_is_object(tm_get(doc, full));
            *dot = '.';
            if (!parent_exists)
                continue;
            const json_t *dflt = json_object_get(at(json_string_value(p)), "default");
            const json_t *got = tm_get(m, full);
            if (!got || !same(dflt, got))
                fail_msg("%s (%s): CRD default differs from tm_default's value", full, files[f]);
            json_object_set_new(checked, full, json_true());
        }
        json_decref(m);
        json_decref(doc);
    }
    assert_int_equal(json_object_size(checked), json_array_size(paths));
    json_decref(checked);
    json_decref(paths);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_columns),
        cmocka_unit_test(spec_matches_table),
        cmocka_unit_test(documented),
        cmocka_unit_test(is_structural),
        cmocka_unit_test(cel_rules),
        cmocka_unit_test(defaults_agree),
        cmocka_unit_test(crd_defaults_are_tm_defaults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
