/* events.c - building and recording events.k8s.io/v1 Events (see events.h). */
#include "controller/events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "controller/strmap.h"
#include "kube/client.h"

static const char *md_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

json_t *event_build(const json_t *regarding, const char *type, const char *reason,
                    const char *action, const char *note, const char *instance,
                    int64_t wall_ms, unsigned seq) {
    const char *name = md_str(regarding, "name");
    const char *ns = md_str(regarding, "namespace");
    char when[32];
    op_format_microtime(wall_ms, when);
    char *ename = xasprintf("%.200s.%llx%x", name ? name : "unknown", (unsigned long long)wall_ms,
                            seq);
    json_t *ref = json_object();
    const char *fields[] = {"apiVersion", "kind"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(regarding, fields[i]));
        if (v)
            json_object_set_new(ref, fields[i], json_string(v));
    }
    const char *mdfields[] = {"name", "namespace", "uid", "resourceVersion"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = md_str(regarding, mdfields[i]);
        if (v)
            json_object_set_new(ref, mdfields[i], json_string(v));
    }
    char notebuf[EVENTS_NOTE_MAX];
    snprintf(notebuf, sizeof(notebuf), "%s", note ? note : "");
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "apiVersion",
                           "events.k8s.io/v1", "kind", "Event", "metadata", "name", ename,
                           "namespace", ns && *ns ? ns : "default", "eventTime", when,
                           "reportingController", EVENTS_CONTROLLER, "reportingInstance",
                           instance ? instance : "tracing-operator", "type", type, "reason",
                           reason, "action", action, "regarding", ref);
    json_object_set_new(ev, "note", json_string(notebuf));
    if (!json_object_get(ev, "note"))   /* a note cut inside a UTF-8 sequence */
        json_object_set_new(ev, "note", json_string(reason));
    free(ename);
    return ev;
}

struct events {
    pthread_mutex_t mu;
    char *instance;
    const struct op_clock *clock;
    struct strmap seen;   /* sha of (uid, reason, note) -> last sent (mono ms) */
    unsigned seq;
    unsigned long sent;
};

struct stamp {
    int64_t at;
};

struct events *events_new(const char *instance, const struct op_clock *clock) {
    struct events *ev = xcalloc(1, sizeof(*ev));
    pthread_mutex_init(&ev->mu, NULL);
    ev->instance = xstrdup(instance ? instance : "tracing-operator");
    ev->clock = clock ? clock : &op_clock_system;
    strmap_init(&ev->seen, free);
    return ev;
}

void events_free(struct events *ev) {
    if (!ev)
        return;
    strmap_done(&ev->seen);
    free(ev->instance);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

unsigned long events_sent(struct events *ev) {
    pthread_mutex_lock(&ev->mu);
    unsigned long n = ev->sent;
    pthread_mutex_unlock(&ev->mu);
    return n;
}

/* 1 when this event may be sent now (and remembers it), 0 when it is a recent duplicate. */
static int admit(struct events *ev, const json_t *regarding, const char *reason,
                 const char *note, unsigned *ret_seq) {
    const char *uid = md_str(regarding, "uid");
    const char *name = md_str(regarding, "name");
    char *id = xasprintf("%s\n%s\n%s\n%s", uid ? uid : "", name ? name : "", reason,
                         note ? note : "");
    char key[65];
    sha256_hex(id, strlen(id), key);
    free(id);
    int64_t now = op_now_ms(ev->clock);
    pthread_mutex_lock(&ev->mu);
    struct stamp *s = strmap_get(&ev->seen, key);
    int ok = !s || now - s->at >= EVENTS_DEDUP_MS;
    if (ok) {
        if (!s && ev->seen.len >= EVENTS_DEDUP_MAX)
            strmap_done(&ev->seen);   /* crude but bounded: forget everything */
        if (!s) {
            s = xmalloc(sizeof(*s));
            strmap_put(&ev->seen, key, s);
        }
        s->at = now;
        *ret_seq = ++ev->seq;
    }
    pthread_mutex_unlock(&ev->mu);
    return ok;
}

int events_emit(struct events *ev, struct kube_client *c, const json_t *regarding,
                const char *type, const char *reason, const char *action, const char *note) {
    unsigned seq = 0;
    if (!admit(ev, regarding, reason, note, &seq))
        return 0;
    json_t *e = event_build(regarding, type, reason, action, note, ev->instance,
                            op_wall_ms(ev->clock), seq);
    struct op_status st = {0};
    int rc = kube_create(c, e, NULL, &st);
    json_decref(e);
    if (rc < 0) {
        log_warn("events", "cannot record an event, ignoring", "reason", reason,
                 "name", md_str(regarding, "name"), "err", op_errname(rc), "detail", st.msg);
        return rc;
    }
    pthread_mutex_lock(&ev->mu);
    ev->sent++;
    pthread_mutex_unlock(&ev->mu);
    return 1;
}
