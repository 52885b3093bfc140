/* events.h - events.k8s.io/v1 Events about the objects the controller manages.
 *
 * event_build() is pure: it turns (regarding object, type, reason, action, note)
 * into an Event. The recorder (edge) creates it through a kube client and keeps
 * a small de-duplication memory: the same (object uid, reason, note) is not sent
 * again within EVENTS_DEDUP_MS, so a failure retried with backoff does not flood
 * the namespace with identical Events. Failures to record are logged, never fatal. */
#ifndef OP_CONTROLLER_EVENTS_H
#define OP_CONTROLLER_EVENTS_H
#include <jansson.h>
#include <stdint.h>

#include "controller/clock.h"

#define EVENTS_CONTROLLER "tracemodel.dev/tracing-operator"
#define EVENTS_DEDUP_MS (10 * 60 * 1000)
#define EVENTS_DEDUP_MAX 4096
#define EVENTS_NOTE_MAX 1024   /* the API server rejects notes longer than 1 kB */

/* new ref: the Event. regarding: the object it is about (borrowed; apiVersion, kind,
 * metadata.name/namespace/uid/resourceVersion are copied). type "Normal" or
 * "Warning". seq makes the name unique: "<name>.<hex wall ms><hex seq>". */
json_t *event_build(const json_t *regarding, const char *type, const char *reason,
                    const char *action, const char *note, const char *instance,
                    int64_t wall_ms, unsigned seq);

struct kube_client;
struct events;

struct events *events_new(const char *instance, const struct op_clock *clock);
void events_free(struct events *ev);   /* NULL-safe */

/* Records one Event through c (the calling thread's client). Returns 1 when sent,
 * 0 when suppressed as a duplicate, or a negative OP_E* code (already logged). */
int events_emit(struct events *ev, struct kube_client *c, const json_t *regarding,
                const char *type, const char *reason, const char *action, const char *note);

/* How many Events were sent (for tests and metrics). */
unsigned long events_sent(struct events *ev);

#endif
