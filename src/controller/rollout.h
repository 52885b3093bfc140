/* rollout.h - the pure half of rollouts and uninstrumented-pod checks for
 * Instrumentations (no I/O, no clock, no globals; the I/O is in reconcile_inst.c).
 *
 * - Injection fingerprint: SHA-256 of the canonical JSON of what the webhook injects
 *   from an Instrumentation (its spec without rolloutOnChange/restartUninstrumented)
 *   and the TracingModel it follows (collector name, sampling, propagation, backend
 *   type, per-service rates). Kept in status.injectionHash; when it changes and
 *   spec.rolloutOnChange is true, the pod templates of the opted-in Deployments,
 *   StatefulSets and DaemonSets of the namespace get annotation
 *   tracemodel.dev/injection-hash = <fingerprint>, so they roll.
 * - Opt-in resolution, like the webhook (mutate.h): per language the pod's (or pod
 *   template's) tracemodel.dev/inject-<lang> wins over the namespace's, except that a
 *   pod "true" takes a namespace value naming an Instrumentation; "true" means the
 *   one Instrumentation of the pod's namespace (none when there are several: the
 *   webhook skips those pods), "<name>" / "<ns>/<name>" name one.
 * - Uninstrumented pods: asked for this Instrumentation, carry no
 *   tracemodel.dev/injected and no "skipped:..." injection-status (the webhook never
 *   saw them: created while it was down, or before the namespace opted in).
 * - Owners to restart: ReplicaSet -> Deployment by stripping "-<pod-template-hash>"
 *   (no ReplicaSet read: the operator may not get ReplicaSets), StatefulSet and
 *   DaemonSet directly; bare pods and other owners are reported, never deleted. */
#ifndef OP_CONTROLLER_ROLLOUT_H
#define OP_CONTROLLER_ROLLOUT_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ROLLOUT_ANN_HASH "tracemodel.dev/injection-hash"
#define ROLLOUT_ANN_RESTARTED "tracemodel.dev/restartedAt"
#define ROLLOUT_MAX_NAMED 5                    /* pods named in the condition message */
#define ROLLOUT_RESTART_MIN_MS (10 * 60 * 1000) /* one restart per owner per 10 minutes */
#define ROLLOUT_RECHECK_MS (60 * 1000)          /* pods are counted again every minute */
#define ROLLOUT_MAX_OWNERS 256                  /* owners remembered per scan */

/* new ref: what the fingerprint covers (for tests and debugging). inst: the
 * Instrumentation (defaulted or raw); model: the TracingModel it follows (defaulted
 * or raw; missing fields read as their defaults), or NULL. */
json_t *rollout_injected_view(const json_t *inst, const json_t *model);
/* Lower-case hex SHA-256 of the canonical JSON of rollout_injected_view (65 bytes). */
void rollout_fingerprint(const json_t *inst, const json_t *model, char out[65]);

/* The Instrumentation pods are checked against. */
struct rollout_target {
    const char *ns, *name;
    size_t peers;     /* Instrumentations in ns (itself included): "true" needs exactly 1 */
};

/* Languages (bit mask over enum tinst_lang) for which an object in namespace obj_ns
 * with annotations obj_ann (a pod's or a pod template's; may be NULL) and its
 * namespace's annotations ns_ann (may be NULL) asks for t. 0 = not for t. */
unsigned rollout_opts_in(const struct rollout_target *t, const char *obj_ns,
                         const json_t *obj_ann, const json_t *ns_ann);

enum rollout_pod_state {
    ROLLOUT_POD_OTHER = 0,      /* not asking for t, finished, or being deleted */
    ROLLOUT_POD_INJECTED,       /* carries tracemodel.dev/injected */
    ROLLOUT_POD_SKIPPED,        /* the webhook saw it and said why (injection-status skipped:) */
    ROLLOUT_POD_UNINSTRUMENTED, /* asked for t, the webhook never saw it */
};
enum rollout_pod_state rollout_pod_classify(const struct rollout_target *t, const json_t *pod,
                                            const json_t *ns_ann);

/* A workload that can be rolled by a pod template annotation. */
struct rollout_owner {
    char kind[16];     /* "Deployment", "StatefulSet", "DaemonSet"; or the kind that cannot
                        * be rolled ("Job", "ReplicaSet" without a hash, ...); "" = bare pod */
    char name[254];
};
/* The owner a pod's restart goes through. 1 when it can be rolled (kind is one of
 * the three workloads), 0 otherwise (bare pod, unsupported or unparsable owner). */
int rollout_pod_owner(const json_t *pod, struct rollout_owner *o);

/* Counting the pods of one list, one pod at a time (so a streamed list never holds
 * more than one pod). */
struct rollout_scan {
    const struct rollout_target *t;
    const json_t *ns_ann;         /* borrowed, may be NULL */
    size_t uninstrumented;
    size_t unrollable;            /* uninstrumented pods without a workload to roll */
    json_t *names;                /* new: array of the first ROLLOUT_MAX_NAMED pod names */
    /* new: object "Kind/name" -> newest creationTimestamp (epoch ms, integer) of its
     * uninstrumented pods; at most ROLLOUT_MAX_OWNERS entries */
    json_t *owners;
};
void rollout_scan_init(struct rollout_scan *s, const struct rollout_target *t,
                       const json_t *ns_ann);
/* Classifies one pod (borrowed) and counts it. Returns its state. */
enum rollout_pod_state rollout_scan_pod(struct rollout_scan *s, const json_t *pod);
void rollout_scan_done(struct rollout_scan *s);
/* new string: the condition message, e.g. "3 pods asked for Instrumentation ns/i but
 * run without it (created while the webhook was down?): a, b, c". names sorted. */
char *rollout_scan_message(const struct rollout_scan *s);

/* Should an owner whose uninstrumented pods' newest creation time is newest_pod_ms be
 * restarted now? No when its pod template already carries a restartedAt at or after
 * that time (the pods are old ones the rollout has not replaced yet), nor when it was
 * restarted less than ROLLOUT_RESTART_MIN_MS ago (last_restart_ms > 0). template_ann:
 * spec.template.metadata.annotations (borrowed, may be NULL). */
int rollout_should_restart(const json_t *template_ann, int64_t newest_pod_ms,
                           int64_t last_restart_ms, int64_t now_wall_ms);

/* Should a workload be rolled to fingerprint hash? 1 when its pod template (borrowed
 * workload object) opts in to t and does not carry that hash yet. */
int rollout_workload_wants(const struct rollout_target *t, const json_t *workload,
                           const json_t *ns_ann, const char *hash);

/* new ref: the merge patch {"spec":{"template":{"metadata":{"annotations":{key: value}}}}}. */
json_t *rollout_template_patch(const char *key, const char *value);

/* ---- memory of restarts (thread-safe; one per controller) ----
 * "Kind/ns/name" -> wall ms of the last restart; entries older than
 * ROLLOUT_RESTART_MIN_MS are dropped as new ones come, so it stays small. */
struct rollout_memory;
struct rollout_memory *rollout_memory_new(void);
void rollout_memory_free(struct rollout_memory *m);   /* NULL-safe */
/* Wall ms of key's last restart, or 0. */
int64_t rollout_memory_last(struct rollout_memory *m, const char *key);
void rollout_memory_note(struct rollout_memory *m, const char *key, int64_t wall_ms);

#endif
