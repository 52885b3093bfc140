/* fuzz_model.c - libFuzzer harness for the TracingModel reader and validator:
 * YAML/JSON bytes -> yaml_load_one() -> tm_default() / tm_validate() /
 * tm_load(), both non-strict and strict. Never a crash, hang or leak, and:
 *   - tm_load() returns a model exactly when it reported no errors, and every
 *     diagnostic has a message;
 *   - strict acceptance implies non-strict acceptance (strict only adds errors);
 *   - tm_default() does not modify its input and is idempotent;
 *   - a loaded model validates again with no errors, and loading it again
 *     gives the same model.
 * Rendering of valid models is fuzz_render.c.
 *
 * Built by fuzz/CMakeLists.txt (cmake -DOP_FUZZ=ON with clang; scripts/fuzz.sh):
 *   build-fuzz/fuzz/fuzz_model -max_len=8192 fuzz/corpus/fuzz_model
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/yamljson.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const json_t *v, const struct diag *d) {
    char *j = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    fprintf(stderr, "fuzz_model: %s\n%s\n", what, j ? j : "");
    for (size_t i = 0; d && i < d->len; i++)
        fprintf(stderr, "  %s: %s\n", d->items[i].where ? d->items[i].where : "",
                d->items[i].msg ? d->items[i].msg : "(null)");
    free(j);
    abort();
}

static void check_diag(const struct diag *d, const json_t *obj) {
    size_t e = 0;
    for (size_t i = 0; i < d->len; i++) {
        if (!d->items[i].msg || !d->items[i].msg[0] || !d->items[i].where)
            fail("diagnostic without message or location", obj, d);
        if (d->items[i].level == DIAG_ERROR)
            e++;
    }
    if (d->len < d->errors + d->warnings && d->len < 1000)
        fail("diagnostic counts exceed recorded items", obj, d);
    if (e > d->errors)
        fail("more error items than errors counted", obj, d);
}

/* Loads obj with the given strictness; returns the model or NULL. `same` is a
 * model known to be stable under a load with the other strictness (or NULL). */
static json_t *load(const json_t *obj, int strict, const json_t *same) {
    struct diag d;
    diag_init(&d);
    json_t *m = tm_load(obj, strict, &d);
    check_diag(&d, obj);
    if ((m != NULL) != (d.errors == 0))
        fail("tm_load result disagrees with its error count", obj, &d);
    diag_done(&d);
    if (!m)
        return NULL;
    diag_init(&d);
    if (same && json_equal(m, same)) {
        /* tm_default(m) == m was checked on `same`: what is left of a reload
         * is the validation with this strictness */
        if (tm_validate(m, strict, &d) != 0 || d.errors)
            fail("a loaded model does not validate again", m, &d);
        diag_done(&d);
        return m;
    }
    /* a loaded model is stable under another load, which validates it again
     * (m2 == m: m itself validates without errors) */
    json_t *m2 = tm_load(m, strict, &d);
    if (!m2 || d.errors)
        fail("a loaded model does not validate again", m, &d);
    if (!json_equal(m, m2))
        fail("loading a loaded model changed it", m, &d);
    diag_done(&d);
    json_decref(m2);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct op_status st = {0};
    json_t *obj = yaml_load_one((const char *)data, size, &st);
    if (!obj)
        return 0;
    json_t *copy = json_deep_copy(obj);

    json_t *def = tm_default(obj);
    if (json_is_object(obj) && !def)
        fail("tm_default returned NULL for an object", obj, NULL);
    if (def) {
        json_t *def2 = tm_default(def);
        if (!def2 || !json_equal(def, def2))
            fail("tm_default is not idempotent", obj, NULL);
        json_decref(def2);
        json_decref(def);
    }
    struct diag d;
    diag_init(&d);
    int n = tm_validate(obj, 0, &d);
    check_diag(&d, obj);
    if (n < 0 || (size_t)n != d.errors)
        fail("tm_validate count differs from the errors added", obj, &d);
    diag_done(&d);

    json_t *lax = load(obj, 0, NULL);
    json_t *strict = load(obj, 1, lax);
    if (strict && !lax)
        fail("accepted in strict mode but rejected in lax mode", obj, NULL);
    if (strict && lax && !json_equal(strict, lax))
        fail("strict and lax loads differ", obj, NULL);
    if (!json_equal(obj, copy))
        fail("the input was modified", copy, NULL);

    json_decref(strict);
    json_decref(lax);
    json_decref(copy);
    json_decref(obj);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
