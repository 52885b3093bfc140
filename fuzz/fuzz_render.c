/* fuzz_render.c - libFuzzer harness for the renderers: YAML/JSON bytes ->
 * yaml_load_one() -> tm_load() (lax and strict); every model that loads must
 * render. Never a crash, hang or leak, and for every valid model:
 *   - render_model() succeeds with no error diagnostics;
 *   - every manifest is an object with non-empty string apiVersion, kind and
 *     metadata.name (a DNS name of at most 253 characters);
 *   - rendering is deterministic (a second render gives equal output);
 *   - the manifests survive the YAML writer (dump, load back, equal), as the
 *     CLI prints them.
 *
 * Built by fuzz/CMakeLists.txt (cmake -DOP_FUZZ=ON with clang; scripts/fuzz.sh):
 *   build-fuzz/fuzz/fuzz_render -max_len=8192 fuzz/corpus/fuzz_render
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/strbuf.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "render/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const json_t *v, const struct diag *d) {
    char *j = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    fprintf(stderr, "fuzz_render: %s\n%s\n", what, j ? j : "");
    for (size_t i = 0; d && i < d->len; i++)
        fprintf(stderr, "  %s: %s\n", d->items[i].where, d->items[i].msg);
    free(j);
    abort();
}

static int nonempty_str(const json_t *v) {
    return json_is_string(v) && json_string_length(v) > 0;
}

static void check_manifests(const json_t *model, const json_t *manifests) {
    if (!json_is_array(manifests) || json_array_size(manifests) == 0)
        fail("render gave no manifests", model, NULL);
    size_t i;
    json_t *m;
    json_array_foreach(manifests, i, m) {
        json_t *name = json_object_get(json_object_get(m, "metadata"), "name");
        if (!json_is_object(m) || !nonempty_str(json_object_get(m, "apiVersion")) ||
            !nonempty_str(json_object_get(m, "kind")) || !nonempty_str(name))
            fail("manifest without apiVersion, kind or metadata.name", m, NULL);
        if (json_string_length(name) > 253)
            fail("manifest name longer than 253 characters", m, NULL);
    }
    struct strbuf out;
    strbuf_init(&out, 0);
    if (yaml_dump_all(manifests, &out) < 0)
        fail("the manifests cannot be written as YAML", model, NULL);
    struct op_status st = {0};
    json_t *back = yaml_load_all(out.buf ? out.buf : "", out.len, &st);
    if (!back || !json_equal(back, manifests))
        fail("the manifests do not survive a YAML round trip", model, NULL);
    json_decref(back);
    strbuf_free(&out);
}

/* Loads obj with the given strictness and checks the rendering of the model;
 * returns the model (new ref) or NULL. A model equal to `done` (already
 * checked; rendering is a function of the model) is not rendered again. */
static json_t *render_one(const json_t *obj, int strict, const json_t *done) {
    struct diag d;
    diag_init(&d);
    json_t *model = tm_load(obj, strict, &d);
    diag_done(&d);
    if (!model || (done && json_equal(model, done)))
        return model;
    struct render_result r1, r2;
    diag_init(&d);
    if (render_model(model, &r1, &d) != 0 || d.errors)
        fail("a valid model does not render", model, &d);
    diag_done(&d);
    check_manifests(model, r1.manifests);
    if (!json_is_object(r1.endpoints))
        fail("render gave no endpoints object", model, NULL);
    diag_init(&d);
    if (render_model(model, &r2, &d) != 0 || !json_equal(r1.manifests, r2.manifests) ||
        !json_equal(r1.endpoints, r2.endpoints) ||
        (r1.capacity != r2.capacity && !json_equal(r1.capacity, r2.capacity)))
        fail("rendering the same model twice differs", model, &d);
    diag_done(&d);
    render_result_done(&r1);
    render_result_done(&r2);
    return model;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct op_status st = {0};
    json_t *obj = yaml_load_one((const char *)data, size, &st);
    if (!obj)
        return 0;
    json_t *lax = render_one(obj, 0, NULL);
    json_decref(render_one(obj, 1, lax));
    json_decref(lax);
    json_decref(obj);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
