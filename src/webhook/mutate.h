/* mutate.h - pod mutation: pod + namespace + Instrumentations + TracingModels -> JSON Patch
 * (pure: no I/O, no clock, no globals).
 *
 * Opt-in by annotation on the Namespace or the Pod (the pod wins; a pod "true" with
 * a namespace value naming an Instrumentation uses that one, as the OpenTelemetry
 * operator does):
 *   tracemodel.dev/inject-<lang>: "true" | "false" | "<name>" | "<ns>/<name>"
 *       for java, nodejs, python, dotnet, go, sdk
 *   tracemodel.dev/container-names: "a,b"      containers to instrument (default: the first)
 *   tracemodel.dev/<lang>-container-names       per language, when several are injected
 *   tracemodel.dev/inject-sidecar: "true" | "<model>" | "<ns>/<model>"   collector agent
 *   tracemodel.dev/otel-go-auto-target-exe      required for go
 *   tracemodel.dev/otel-python-platform: glibc|musl, tracemodel.dev/otel-dotnet-auto-runtime:
 *       linux-x64|linux-musl-x64
 * Every decision is visible: an opted-in pod gets tracemodel.dev/injection-status
 * "injected:<lang>[,<lang>...]" or "skipped:<reason>" ("skipped:disabled" for an
 * explicit "false"); an injected pod gets tracemodel.dev/injected: "<lang>[,...]",
 * which makes re-admission a no-op (empty patch). A pod with no tracemodel.dev
 * injection annotation on it or its namespace is left untouched (empty patch).
 * Injection is all-or-nothing: if one requested language cannot be injected, the
 * pod is skipped with that reason and only the status annotation is added. */
#ifndef OP_WEBHOOK_MUTATE_H
#define OP_WEBHOOK_MUTATE_H
#include <jansson.h>

#define MUTATE_ANN_PREFIX "tracemodel.dev/"
#define MUTATE_ANN_INJECTED "tracemodel.dev/injected"
#define MUTATE_ANN_STATUS "tracemodel.dev/injection-status"
#define MUTATE_ANN_INSTRUMENTATION "tracemodel.dev/instrumentation"
#define MUTATE_ANN_CONTAINER_NAMES "tracemodel.dev/container-names"
#define MUTATE_ANN_SIDECAR "tracemodel.dev/inject-sidecar"
#define MUTATE_ANN_GO_TARGET_EXE "tracemodel.dev/otel-go-auto-target-exe"
#define MUTATE_ANN_PYTHON_PLATFORM "tracemodel.dev/otel-python-platform"
#define MUTATE_ANN_DOTNET_RUNTIME "tracemodel.dev/otel-dotnet-auto-runtime"
#define MUTATE_NAME_PREFIX "tracemodel-auto-instrumentation-"   /* + lang */
#define MUTATE_SIDECAR_NAME "otc-container"

enum mutate_decision {
    MUTATE_NOT_REQUESTED = 0, /* no injection annotation: empty patch, nothing to report */
    MUTATE_ALREADY,           /* already injected: empty patch */
    MUTATE_INJECTED,          /* patch injects; status "injected:..." */
    MUTATE_DISABLED,          /* explicit "false": status "skipped:disabled", no Event */
    MUTATE_SKIPPED,           /* could not inject: status "skipped:<reason>"; emit an Event */
    MUTATE_ERROR              /* internal error / malformed pod: admit unchanged with a warning */
};

struct mutate_input {
    const json_t *pod;              /* borrowed: the Pod (request.object) */
    const char *namespace;          /* the pod's namespace (request.namespace) */
    const json_t *ns_obj;           /* borrowed: the Namespace object, or NULL */
    /* borrowed array (or NULL = none): every Instrumentation the pod may use, each
     * with metadata.namespace: those in the pod's namespace plus the ones in other
     * namespaces named by a "<ns>/<name>" annotation. Raw objects: mutate_pod
     * defaults and validates the one it picks. */
    const json_t *instrumentations;
    /* borrowed array (or NULL = none): TracingModels named by those Instrumentations
     * (spec.tracingModel) or by inject-sidecar, each with metadata.namespace/name.
     * Defaulted or raw: missing fields read as their docs/model.md defaults. */
    const json_t *models;
};

struct mutate_result {
    enum mutate_decision decision;
    json_t *patch;      /* new ref: JSON Patch array, empty when nothing changes; its
                         * values may share nodes with the inputs (read it, don't change it) */
    char *langs;        /* "java" / "java,python" / "sdk,sidecar"; "" when none */
    char *reason;       /* short human reason (skip/disabled/error/already), "" when injected */
    char *instrumentation; /* "<ns>/<name>[,...]" of the Instrumentations used, or "" */
    json_t *warnings;   /* new ref: array of strings (admission warnings) */
};

/* Decides and builds the patch. Always fills out (all fields non-NULL). Returns 0,
 * or a negative OP_E* code with decision MUTATE_ERROR and an empty patch when the
 * input cannot be handled (pod not an object, no spec.containers, ...). A pod that
 * cannot be instrumented for a user-facing reason is NOT an error: 0 with
 * MUTATE_SKIPPED. */
int mutate_pod(const struct mutate_input *in, struct mutate_result *out);
void mutate_result_free(struct mutate_result *r);

/* The raw Instrumentation mutate_pod picked, defaulted and validated: tinst_load() of
 * it (apiVersion/kind filled in when missing, as list items and informer caches
 * often lack them; raw is not modified). new ref, or NULL with *error = the first
 * validation error (new string, or NULL when there is none to name). */
json_t *mutate_load_instrumentation(const json_t *raw, char **error);

/* How mutate_pod_loaded turns the raw Instrumentation it picked into the defaulted
 * one: load_instrumentation has mutate_load_instrumentation's contract (new ref, or
 * NULL with *error) and may answer from a cache (admission.c keeps them per
 * resourceVersion). The returned object is only read. */
struct mutate_loader {
    json_t *(*load_instrumentation)(void *user, const json_t *raw, char **error);
    void *user;
};
/* mutate_pod with the Instrumentation loaded through loader (NULL, or a NULL
 * load_instrumentation: mutate_load_instrumentation). Same result bytes. */
int mutate_pod_loaded(const struct mutate_input *in, const struct mutate_loader *loader,
                      struct mutate_result *out);

/* The service name the webhook gives a container: annotation
 * resource.opentelemetry.io/service.name, label app.kubernetes.io/name, the owner
 * (ReplicaSet -> Deployment by pod-template-hash, Job -> CronJob by its numeric
 * suffix, StatefulSet/DaemonSet directly), the pod name (or generateName without
 * the trailing '-'), then the container name. new string. */
char *mutate_service_name(const json_t *pod, const char *container);

const char *mutate_decision_name(enum mutate_decision d);

#endif
