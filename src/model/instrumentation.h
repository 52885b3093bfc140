/* instrumentation.h - the Instrumentation resource: defaults, validation and the
 * small parsers the webhook shares with it (pure; no I/O).
 *
 * Like model.h, the object stays jansson JSON (shape in docs/model.md and
 * crds/tracemodel.dev_instrumentations.yaml). tinst_default() fills the
 * default agent images so the webhook never guesses; tinst_validate() reports
 * every problem with its field path ("spec.sampler.argument: ..."). The same
 * functions serve `tracing-operator validate` and the validating webhook. */
#ifndef OP_MODEL_INSTRUMENTATION_H
#define OP_MODEL_INSTRUMENTATION_H
#include <jansson.h>
#include <stddef.h>

#include "base/diag.h"

/* Languages in the order the webhook processes them. */
enum tinst_lang {
    TINST_JAVA = 0,
    TINST_NODEJS,
    TINST_PYTHON,
    TINST_DOTNET,
    TINST_GO,
    TINST_SDK,
    TINST_LANG_COUNT
};

/* "java", "nodejs", "python", "dotnet", "go", "sdk". */
const char *tinst_lang_name(enum tinst_lang lang);
/* 0 and *out on success, -1 for an unknown name. */
int tinst_lang_parse(const char *name, enum tinst_lang *out);
/* Default agent image (same versions as the OpenTelemetry operator 0.158.0), or
 * NULL for sdk (env only, no agent). */
const char *tinst_default_image(enum tinst_lang lang);

/* Default emptyDir size limit for the agent volume. */
#define TINST_VOLUME_SIZE_LIMIT "200Mi"

/* new ref: a deep copy of obj with defaults applied: spec.<lang>.image for java,
 * nodejs, python and dotnet (go only when a spec.go block is present: the Go
 * agent is a privileged eBPF sidecar and stays off unless asked for), booleans
 * resource.addK8sUIDAttributes, rolloutOnChange, restartUninstrumented = false,
 * propagators/sampler type "w3c_tracecontext" normalized to "tracecontext".
 * Exporter, sampler and propagators are NOT defaulted: they come from the
 * TracingModel named by spec.tracingModel when absent. Fields of the wrong type
 * are left for tinst_validate() to report. Never NULL for a JSON object input;
 * NULL for anything else. */
json_t *tinst_default(const json_t *obj);

/* Validates an Instrumentation (defaulted or not): apiVersion/kind, metadata.name,
 * every spec field's type, enums, sampler.argument (ratios parse in [0, 1],
 * jaeger_remote arguments parse), env lists, resource quantities, the
 * tracingModel reference syntax. Unknown fields are warnings, or errors when
 * strict. Appends to d; returns the number of errors added. */
int tinst_validate(const json_t *obj, int strict, struct diag *d);

/* tinst_default + tinst_validate: new ref to the defaulted object, or NULL when
 * there are errors (all of them are in d). */
json_t *tinst_load(const json_t *obj, int strict, struct diag *d);

/* Is type one of the sampler types the CRD allows? */
int tinst_sampler_type_valid(const char *type);
/* Checks a sampler argument for its type. 0 when valid (also when the type takes
 * no argument), else -1 with a message (no field path) in err. */
int tinst_sampler_arg_check(const char *type, const char *arg, char *err, size_t errlen);
/* Is p one of the propagator names (w3c_tracecontext accepted as an alias)? */
int tinst_propagator_valid(const char *p);

/* Parses an Instrumentation/TracingModel reference "name" or "ns/name". With no
 * namespace in ref, *ns_out is default_ns. Writes NUL-terminated copies into
 * the buffers (each at least 254 bytes). 0, or -1 when ref is malformed (a part
 * is empty, not a DNS subdomain/label, or there is more than one '/'). */
#define TINST_REF_MAX 254
int tinst_ref_parse(const char *ref, const char *default_ns, char ns_out[TINST_REF_MAX],
                    char name_out[TINST_REF_MAX]);

#endif
