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
    /* new ref: array of objects, in apply order (ServiceAccounts/RBAC, ConfigMaps, PVCs,
     * Services, workloads, CronJobs, then other operators' CRs: Jaeger, TempoMonolithic,
     * Telemetry, ServiceMonitor, PrometheusRule). Every object's metadata.namespace is
     * set (the mesh root namespace for a mesh-scoped Telemetry). The objects of one
     * result share their securityContext values (json_incref): change those only on a
     * json_deep_copy; everything else belongs to one object. */
    json_t *manifests;
    /* new ref: JSON null when spec.capacity.requestsPerSecond is unset, else
     * {requestsPerSecond, spansPerRequest, spanSizeBytes, peakFactor, samplingRate,
     *  spansPerSecond, sampledSpansPerSecond, networkBytesPerSecond,
     *  peakNetworkBytesPerSecond, bytesPerDay, bytesPerDayHuman ("345.6 GB/day"),
     *  [retentionDays, storageBytes, storageHuman], [beforeTailSampling], summary} */
    json_t *capacity;
    /* new ref: {"otlpGrpc": "http://<m>-collector.<ns>.svc:4317", "otlpHttp": "...:4318"};
     * http://localhost:4317/4318 in collector mode sidecar (the collector is in the pod) */
    json_t *endpoints;
};

/* model: the output of tm_load() (defaults applied, no validation errors); it is only
 * read, and the result holds no reference into it. Returns 0, or OP_EINVALID with
 * diagnostics when something cannot be rendered (e.g. a generated name too long for
 * its kind, production Jaeger without Elasticsearch, a sampling rule that does not
 * compile); warnings may be added on success. On success the caller owns out's
 * references (render_result_done()); on failure out is zeroed. Thread-safe: no
 * shared state. */
int render_model(const json_t *model, struct render_result *out, struct diag *d);
void render_result_done(struct render_result *r);

#endif
