/* status.h - the status of TracingModels and Instrumentations, computed (pure).
 *
 * TracingModel status (written with a merge patch on /status, only when it changed):
 *   observedGeneration
 *   conditions[]   Ready, Progressing, Degraded (reason + message each), plus one
 *                  "<Integration>Skipped" condition (status True, reason
 *                  CRDNotInstalled) per optional integration skipped because its
 *                  CRD is not served. Each has lastTransitionTime (kept from the
 *                  live status while the condition's status does not change) and
 *                  observedGeneration.
 *   endpoints      {otlpGrpc, otlpHttp} from the renderer
 *   children[]     {apiVersion, kind, name, namespace, ready, replicas: "1/2" for workloads}
 *   capacity       the renderer's estimate
 * Instrumentation status:
 *   observedGeneration, tracingModel ("ns/name" it follows, when any), conditions
 *   Ready and Degraded (reasons Valid/AsExpected, InvalidSpec, TracingModelNotFound,
 *   Conflict) and Conflict (True while another Instrumentation in the namespace
 *   claims one of the same languages).
 *   With pod checks on (rollout.h): injectionHash (the fingerprint of what the
 *   webhook injects, rollout_fingerprint), uninstrumentedPods and an Uninstrumented
 *   condition (True with the pods' names while some asked for it and run without).
 * The fields above except injectionHash and uninstrumentedPods are "owned": covered by
 * the digest, removed when no longer computed. Those two are written only by the
 * pod checks, compared with status_rollout_same() and never removed; other fields of
 * a live status are never compared, overwritten or removed. */
#ifndef OP_CONTROLLER_STATUS_H
#define OP_CONTROLLER_STATUS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/children.h"

/* One desired child and what the cache knows of it (live NULL: not seen yet). */
struct status_child {
    const char *api_version, *kind, *ns, *name;
    const struct child *live;
};

/* An optional integration left out because its API is not served. */
struct status_skip {
    const char *integration;   /* "Istio", "PrometheusOperator", "JaegerOperator", ... */
    const char *api_version;   /* "telemetry.istio.io/v1" */
    const char *kind, *name;   /* the object left out (the first one, when several) */
};

struct tm_status_input {
    const json_t *model;            /* the live TracingModel (generation, status) */
    const char *invalid;            /* NULL, or why the spec cannot be rendered */
    const json_t *endpoints;        /* borrowed, may be NULL */
    const json_t *capacity;         /* borrowed, may be NULL */
    int tail_sampling;              /* the effective spec.sampling.tail.enabled (defaults applied) */
    const struct status_child *children;
    size_t n_children;
    const struct status_skip *skips;
    size_t n_skips;
    size_t apply_failures;          /* children that could not be applied */
    const char *apply_error;        /* the first failure, for the message */
    int64_t now_wall;               /* for lastTransitionTime */
};

/* new ref: the complete status object. */
json_t *tm_status_compute(const struct tm_status_input *in);

/* Equal as statuses: like json_equal, ignoring conditions' lastTransitionTime. */
int status_equal(const json_t *a, const json_t *b);

/* The informer caches keep a compact stand-in of each object's status: the
 * conditions' type, status, reason and lastTransitionTime (what the next status
 * needs), the digest of the operator's fields (SHA-256 of their canonical JSON
 * without lastTransitionTime) and which of them are present. A TracingModel's status with nine
 * children is ~3 KB of JSON, ~30 KB in jansson; the stand-in is a tenth of that. */
#define STATUS_DIGEST_KEY "tracemodel.dev/digest"
#define STATUS_KEYS_KEY "tracemodel.dev/keys"

/* Is key one of the status fields this operator writes (the digest's fields)? */
int status_key_owned(const char *key);
/* Replaces obj["status"] (when an object) by its stand-in, in place. */
void status_slim(json_t *obj);
/* Hex digest of a status' owned fields (65 bytes). */
void status_digest(const json_t *status, char out[65]);
/* Is the computed status the same as the live one (full or stand-in)? */
int status_same(const json_t *live, const json_t *computed);
/* The stand-in also keeps injectionHash and uninstrumentedPods as they are.
 * Are those two the same in the live status (full or stand-in) and the computed one
 * (a key the computed status lacks is not compared)? */
int status_rollout_same(const json_t *live, const json_t *computed);
/* new ref: the owned top-level keys of the live status (full or stand-in). */
json_t *status_live_keys(const json_t *live);

/* Builds a condition, keeping lastTransitionTime from old_conditions (borrowed
 * array, may be NULL) when a condition of that type had the same status. new ref. */
json_t *status_condition(const json_t *old_conditions, const char *type, int status,
                         const char *reason, const char *message, int64_t generation,
                         int64_t now_wall);

/* The condition of that type in a status (borrowed), or NULL. */
const json_t *status_find_condition(const json_t *status, const char *type);

/* Languages an Instrumentation claims, as a bit mask over enum tinst_lang: the
 * languages with a block in spec (java, nodejs, ...), or every language when the
 * spec names none (it is then the namespace's default for all of them). */
unsigned tinst_claims(const json_t *inst);

struct tinst_status_input {
    const json_t *inst;             /* the live Instrumentation */
    const char *invalid;            /* NULL, or the validation errors */
    const char *model_ref;          /* "ns/name" of spec.tracingModel, or NULL */
    int model_found;
    const json_t *peers;            /* borrowed array: every Instrumentation in the namespace */
    int64_t now_wall;
    /* pod checks (all ignored unless pods_checked) */
    int pods_checked;
    const char *injection_hash;     /* NULL = none computed (invalid spec) */
    long uninstrumented;            /* uninstrumentedPods */
    const char *uninstrumented_msg; /* the Uninstrumented condition's message when > 0 */
};
json_t *tinst_status_compute(const struct tinst_status_input *in);

#endif
