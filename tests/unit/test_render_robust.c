/* test_render_robust.c - render_model() on models that skipped validation: every field of
 * the examples replaced, one at a time, by a value of each wrong type. It must return 0
 * or OP_EINVALID with a diagnostic and never crash, leak or read out of bounds (the
 * tests run under ASan/UBSan). */
#include "test_render_helpers.h"

struct walk {
    json_t *root;     /* the defaulted example */
    size_t renders, failures;
};

static json_t *replacement(int i) {
    switch (i) {
    case 0: return json_integer(-7);
    case 1: return json_string("x");
    case 2: return json_array();
    case 3: return json_object();
    case 4: return json_null();
    case 5: return json_real(1e300);
    default: return json_string("");
    }
}
#define N_REPLACEMENTS 7

static void render_one(struct walk *w) {
    struct diag d;
    diag_init(&d);
    struct render_result r;
    int rc = render_model(w->root, &r, &d);
    w->renders++;
    if (rc == 0) {
        assert_true(json_is_array(r.manifests));
        assert_true(json_is_object(r.endpoints));
        assert_non_null(r.capacity);
        render_result_done(&r);
    } else {
        assert_int_equal(rc, OP_EINVALID);
        assert_null(r.manifests);
        assert_true(d.errors > 0);
        w->failures++;
    }
    diag_done(&d);
}

/* Replaces, in place and restoring afterwards, every member of v (recursively). */
static void mutate(struct walk *w, json_t *v, int depth) {
    if (depth > 12)
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, child) {
            json_t *saved = json_incref(child);
            for (int i = 0; i < N_REPLACEMENTS; i++) {
                json_object_set_new(v, k, replacement(i));
                render_one(w);
            }
            json_object_set(v, k, saved);
            mutate(w, saved, depth + 1);
            json_decref(saved);
        }
    } else if (json_is_array(v)) {
        for (size_t idx = 0; idx < json_array_size(v); idx++) {
            json_t *saved = json_incref(json_array_get(v, idx));
            for (int i = 0; i < N_REPLACEMENTS; i++) {
                json_array_set_new(v, idx, replacement(i));
                render_one(w);
            }
            json_array_set(v, idx, saved);
            mutate(w, saved, depth + 1);
            json_decref(saved);
        }
    }
}

static void wrong_types(void **state) {
    (void)state;
    static const char *const examples[] = {"examples/microservices-tempo-istio.yaml",
                                           "examples/tail-sampling-at-scale.yaml",
                                           "examples/jaeger-elasticsearch.yaml",
                                           "examples/minimal-otlp.yaml", NULL};
    for (size_t i = 0; examples[i]; i++) {
        json_t *m = rt_model(examples[i]);
        struct walk w = {.root = m};
        mutate(&w, m, 0);
        print_message("%s: %zu renders, %zu refused\n", examples[i], w.renders, w.failures);
        assert_true(w.renders > 100);
        json_decref(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrong_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
