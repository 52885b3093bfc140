/* workload.c - warnings for injection annotations written where pods never see them
 * (see workload.h). Pure. */
#include "webhook/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define OURS "tracemodel.dev/"
#define OTEL "instrumentation.opentelemetry.io/"
#define OTEL_SIDECAR "sidecar.opentelemetry.io/inject"
#define RESOURCE "resource.opentelemetry.io/"
#define KEY_MAX 320

static const struct {
    const char *kind;
    int cron;   /* the template is under spec.jobTemplate */
} KINDS[] = {
    {"Deployment", 0}, {"StatefulSet", 0}, {"DaemonSet", 0}, {"Job", 0}, {"CronJob", 1},
};

static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const json_t *at(const json_t *o, const char *k) {
    return json_is_object(o) ? json_object_get(o, k) : NULL;
}

static const json_t *annotations_of(const json_t *o) {
    const json_t *a = at(at(o, "metadata"), "annotations");
    return json_is_object(a) ? a : NULL;
}

static int kind_index(const char *kind) {
    for (size_t i = 0; kind && i < sizeof(KINDS) / sizeof(KINDS[0]); i++)
        if (!strcmp(kind, KINDS[i].kind))
            return (int)i;
    return -1;
}

int workload_kind_known(const char *kind) { return kind_index(kind) >= 0; }

/* A setting the webhook reads from the pod, after the prefix: inject-<x>,
 * [<lang>-]container-names, otel-<x>. */
static int pod_setting(const char *rest) {
    return (starts(rest, "inject-") && rest[7]) || ends(rest, "container-names") ||
           (starts(rest, "otel-") && rest[5]);
}

/* The key under which the pod-level setting `key` is read, written to buf; NULL when
 * key is not one. *otel = 1 when key is the OpenTelemetry operator's spelling of it. */
static const char *read_as(const char *key, char *buf, size_t n, int *otel) {
    *otel = 0;
    if (starts(key, RESOURCE) && key[strlen(RESOURCE)])
        return key;
    if (starts(key, OURS))
        return pod_setting(key + strlen(OURS)) ? key : NULL;
    const char *rest = NULL;
    if (!strcmp(key, OTEL_SIDECAR))
        rest = "inject-sidecar";
    else if (starts(key, OTEL) && pod_setting(key + strlen(OTEL)))
        rest = key + strlen(OTEL);
    if (!rest || strlen(OURS) + strlen(rest) >= n)
        return NULL;
    snprintf(buf, n, OURS "%s", rest);
    *otel = 1;
    return buf;
}

struct out {
    json_t *warnings;
    size_t added, dropped;
};

/* Appends msg (freed) unless the cap is reached; `last` (the "and N more") always. */
static void add(struct out *o, char *msg, int last) {
    if (last || o->added < WORKLOAD_MAX_WARNINGS) {
        json_t *s = json_string(msg);
        json_array_append_new(o->warnings, s ? s : json_string("tracing-operator: an "
                                                               "annotation key is not UTF-8"));
        o->added++;
    } else {
        o->dropped++;
    }
    free(msg);
}

/* Warnings for the pod-level settings in ann (the workload's own metadata, or a
 * CronJob's jobTemplate metadata, named by where) that the template lacks. */
static void misplaced(struct out *o, const json_t *ann, const char *where, const json_t *tann,
                      const char *tpath) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ann, key, v) {
        char buf[KEY_MAX];
        int otel;
        const char *ours = read_as(key, buf, sizeof(buf), &otel);
        if (!ours || at(tann, key) || at(tann, ours))
            continue;   /* not read from pods, or the template carries it too */
        add(o, xasprintf("tracing-operator: annotation %s on %s never reaches the pods: move "
                         "it to %s.metadata.annotations%s%s%s", key, where, tpath,
                         otel ? " as " : "", otel ? ours : "",
                         starts(ours, OURS "inject-") ? " (or annotate the namespace)" : ""),
            0);
    }
}

/* Warnings for the OpenTelemetry operator's spellings in the template without ours. */
static void foreign(struct out *o, const json_t *tann) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tann, key, v) {
        char buf[KEY_MAX];
        int otel;
        const char *ours = read_as(key, buf, sizeof(buf), &otel);
        if (!otel || at(tann, ours))
            continue;
        add(o, xasprintf("tracing-operator: %s in the pod template is the OpenTelemetry "
                         "operator's annotation; tracing-operator reads %s", key, ours),
            0);
    }
}

size_t workload_warnings(const json_t *obj, const char *kind, json_t *warnings) {
    if (!kind)
        kind = json_string_value(at(obj, "kind"));
    int k = kind_index(kind);
    if (k < 0 || !json_is_array(warnings))
        return 0;
    int cron = KINDS[k].cron;
    const json_t *job = cron ? at(at(obj, "spec"), "jobTemplate") : NULL;
    const json_t *tpl = at(at(cron ? job : obj, "spec"), "template");
    if (!json_is_object(tpl))
        return 0;
    const char *tpath = cron ? "spec.jobTemplate.spec.template" : "spec.template";
    const json_t *tann = annotations_of(tpl);
    struct out o = {warnings, 0, 0};
    char *where = xasprintf("the %s's own metadata", KINDS[k].kind);
    misplaced(&o, annotations_of(obj), where, tann, tpath);
    free(where);
    if (cron)
        misplaced(&o, annotations_of(job), "the CronJob's spec.jobTemplate.metadata", tann, tpath);
    if (tann)
        foreign(&o, tann);
    if (o.dropped)
        add(&o, xasprintf("tracing-operator: and %zu more misplaced annotation%s", o.dropped,
                          o.dropped == 1 ? "" : "s"),
            1);
    return o.added;
}
