/* render.h - pure renderers: a defaulted, validated TracingModel -> Kubernetes manifests.
 *
 * Output is deterministic (stable key and object order) so golden tests and the
 * controller's no-op detection work. Every object carries the labels listed in
 * docs/model.md. No I/O, no clock, no environment. */
#ifndef OP_RENDER_RENDER_H
#define OP_RENDER_RENDER_H
#include <jansson.h>

#include "base/diag.h"

struct render_result {
    json_t *manifests;  /* new ref: array of objects, in apply order */
    json_t *capacity;   /* new ref: {spansPerSecond, bytesPerDay, storageBytes, ...} or null */
    json_t *endpoints;  /* new ref: {"otlpGrpc": "...", "otlpHttp": "..."} */
};

/* model: the output of tm_load() (defaults applied, no validation errors).
 * Returns 0, or OP_EINVALID with diagnostics when something cannot be rendered.
 * On success the caller owns out's references (render_result_done()). */
int render_model(const json_t *model, struct render_result *out, struct diag *d);
void render_result_done(struct render_result *r);

#endif
