/* model.h - the TracingModel: defaults and validation (pure; no I/O).
 *
 * The model is kept as jansson JSON all the way (the shape is in docs/model.md).
 * tm_default() fills every default so later stages (renderers, webhook,
 * controller) can read fields without guessing; tm_validate() reports every
 * problem with its field path, e.g. "spec.sampling.rate: must be within [0, 1], got 1.5". */
#ifndef OP_MODEL_MODEL_H
#define OP_MODEL_MODEL_H
#include <jansson.h>

#include "base/diag.h"

#define TM_API_VERSION "tracemodel.dev/v1alpha1"
#define TM_KIND "TracingModel"
#define TINST_KIND "Instrumentation"

/* new ref: a deep copy of obj with spec defaults applied and aliases normalized
 * (w3c_tracecontext -> tracecontext). Fields of the wrong type are left as they
 * are for tm_validate() to report. Never NULL for a JSON object input. */
json_t *tm_default(const json_t *obj);

/* Validates a TracingModel (defaulted or not). Appends errors and warnings to d;
 * unknown fields are warnings, or errors when strict. Returns the number of errors added. */
int tm_validate(const json_t *obj, int strict, struct diag *d);

/* tm_default + tm_validate: new ref to the defaulted model, or NULL when there are errors. */
json_t *tm_load(const json_t *obj, int strict, struct diag *d);

#endif
