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

/* Images used when the model names none (docs/model.md). */
#define TM_DEFAULT_COLLECTOR_IMAGE "otel/opentelemetry-collector-contrib:0.158.0"
#define TM_DEFAULT_JAEGER_IMAGE "jaegertracing/all-in-one:1.62.0"
#define TM_DEFAULT_TEMPO_IMAGE "grafana/tempo:2.6.1"

/* metadata.name must leave room for the longest generated suffix
 * ("-grafana-datasource") within a 63-character DNS label. */
#define TM_NAME_MAX 44

/* new ref: a deep copy of obj with spec defaults applied and aliases normalized
 * (w3c_tracecontext -> tracecontext). Fields of the wrong type are left as they
 * are for tm_validate() to report, and nothing is defaulted below them; JSON
 * null counts as absent. Exactly the defaults of docs/model.md, plus:
 *   - collector.resources is defaulted only as a whole (a user's limits alone
 *     are kept alone, so requests can never exceed them);
 *   - backend.jaeger.* / backend.tempo.* only for the selected backend.type;
 *     backend.jaeger.image only for deployment allInOne (production derives
 *     the collector/query images); tempo storage.size only for type local;
 *   - sampling.adaptive.enabled defaults to (strategy == adaptive);
 *   - istio.samplingPercentage = sampling.rate x 100 only for a rate in [0, 1];
 *   - alerts.enabled = analysis.enabled || alerts.rules non-empty.
 * Idempotent; metadata and status untouched. NULL only for NULL input. */
json_t *tm_default(const json_t *obj);

/* Validates a TracingModel (defaulted or not). Appends every error and warning to
 * d with its path ("spec.services[2].name", map keys as "spec.labels[team]"):
 * apiVersion/kind, metadata.name (a DNS label of at most TM_NAME_MAX characters),
 * every spec field's type, enum and range, durations, quantities, unique names,
 * condition syntax ("column N: ..."), cross-field rules, and warnings for
 * combinations that work but surprise (a head rate below a rule's rate for a
 * service it names, replicas ignored by mode, blocks ignored by backend.type).
 * Unknown spec fields are warnings, or errors when strict; a field that looks
 * like an inline credential (password, token, ...) is always an error. Only
 * unknown fields change with strict. Returns the number of errors added. */
int tm_validate(const json_t *obj, int strict, struct diag *d);

/* tm_default + tm_validate: new ref to the defaulted model, or NULL when there
 * are errors (warnings alone do not fail). */
json_t *tm_load(const json_t *obj, int strict, struct diag *d);

/* Read helpers for later stages. `path` is dotted from the object root
 * ("spec.sampling.rate"); no array indexing. All return borrowed values. */
json_t *tm_get(const json_t *obj, const char *path);            /* NULL when absent */
const char *tm_get_str(const json_t *obj, const char *path, const char *dflt);
double tm_get_num(const json_t *obj, const char *path, double dflt);    /* int or real */
long long tm_get_int(const json_t *obj, const char *path, long long dflt);
int tm_get_bool(const json_t *obj, const char *path, int dflt);

/* Parses a Kubernetes quantity ("100m", "1Gi", "2", "1e3") into *out (bytes or
 * cores). 0, or OP_EINVALID. */
int tm_parse_quantity(const char *s, double *out);

/* Appends to `policies` (a JSON array) the tail_sampling policies of
 * spec.sampling.rules[] (ordered by priority, lowest first; ties keep their
 * order) followed by spec.sampling.tail.policies[], each compiled with
 * cond_to_policies() under the rule's name and rate (an absent rate is 1).
 * Returns 0, or OP_EINVALID with diagnostics at the rule's path. */
int tm_tail_policies(const json_t *model, json_t *policies, struct diag *d);

#endif
