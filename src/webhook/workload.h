/* workload.h - warnings for workloads whose injection annotations can never reach
 * their pods (pure: no I/O).
 *
 * A pod gets only its template's annotations, never its Deployment's (StatefulSet's,
 * DaemonSet's, Job's, CronJob's) own: a tracemodel.dev/inject-java written on the
 * Deployment's metadata is never seen, and injection "silently does not happen" -
 * the first complaint of the OpenTelemetry operator's users. The validating webhook
 * /validate-workload therefore answers every workload CREATE/UPDATE allowed (it never
 * refuses anything) with one warning per misplaced annotation, which kubectl prints
 * as "Warning: ...". It also warns about the OpenTelemetry operator's spelling
 * (instrumentation.opentelemetry.io/inject-java) when the same setting under
 * tracemodel.dev/ is absent, since this operator reads only its own prefix.
 *
 * Annotations read from the pod: tracemodel.dev/inject-<x>, tracemodel.dev/container-names,
 * tracemodel.dev/<lang>-container-names, tracemodel.dev/otel-<x> (mutate.h), and
 * resource.opentelemetry.io/<attribute> (resource attributes). */
#ifndef OP_WEBHOOK_WORKLOAD_H
#define OP_WEBHOOK_WORKLOAD_H
#include <jansson.h>

/* At most this many warnings per object (then one "and N more"). */
#define WORKLOAD_MAX_WARNINGS 8

/* Whether kind is a workload whose pod template this checks: Deployment, StatefulSet,
 * DaemonSet, Job (spec.template) or CronJob (spec.jobTemplate.spec.template). Not
 * ReplicaSet: the Deployment controller copies a Deployment's annotations onto the
 * ReplicaSets it creates, and nobody would read a warning given to it. */
int workload_kind_known(const char *kind);

/* Appends to warnings (an array) one string per misplaced annotation of obj, a
 * workload of the given kind (NULL: obj's own "kind"). Anything not shaped like a
 * workload (a missing template, annotations that are not an object) gets no warning.
 * Returns the number of warnings appended. */
size_t workload_warnings(const json_t *obj, const char *kind, json_t *warnings);

#endif
