/* rollout.c - injection fingerprints, opt-in resolution, uninstrumented-pod counting
 * and owner choice for rollouts (pure; see rollout.h). */
#include "controller/rollout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jarena.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "controller/clock.h"
#include "controller/strmap.h"
#include "model/instrumentation.h"
#include "model/model.h"

static const char *str_at(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

static int ieq(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

static const json_t *meta(const json_t *obj) { return json_object_get(obj, "metadata"); }

/* ---- fingerprint ---- */

static json_t *model_view(const json_t *model) {
    const char *strategy = tm_get_str(model, "spec.sampling.strategy", "probabilistic");
    json_t *v = json_object();
    json_object_set_new(v, "name", json_string(tm_get_str(model, "metadata.name", "")));
    json_object_set_new(v, "namespace", json_string(tm_get_str(model, "metadata.namespace", "")));
    json_object_set_new(v, "backend", json_string(tm_get_str(model, "spec.backend.type", "")));
    json_object_set_new(v, "strategy", json_string(strategy));
    json_object_set_new(v, "rate", json_real(tm_get_num(model, "spec.sampling.rate", 1.0)));
    json_object_set_new(v, "parentBased",
                        json_boolean(tm_get_bool(model, "spec.sampling.parentBased", 1)));
    json_object_set_new(v, "adaptive",
                        json_boolean(tm_get_bool(model, "spec.sampling.adaptive.enabled",
                                                 !strcmp(strategy, "adaptive"))));
    json_t *types = tm_get(model, "spec.propagation.types");
    json_object_set_new(v, "propagation", json_is_array(types) ? json_deep_copy(types)
                                                               : json_null());
    json_t *rates = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(tm_get(model, "spec.services"), i, s) {
        const char *n = str_at(s, "name");
        json_t *r = json_object_get(s, "samplingRate");
        if (n && json_is_number(r))
            json_object_set_new(rates, n, json_real(json_number_value(r)));
    }
    json_object_set_new(v, "serviceRates", rates);
    return v;
}

json_t *rollout_injected_view(const json_t *inst, const json_t *model) {
    json_t *spec = json_deep_copy(json_object_get(inst, "spec"));
    if (!json_is_object(spec)) {
        json_decref(spec);
        spec = json_object();
    }
    json_object_del(spec, "rolloutOnChange");
    json_object_del(spec, "restartUninstrumented");
    json_t *v = json_pack("{s:o}", "spec", spec);
    json_object_set_new(v, "model", model ? model_view(model) : json_null());
    return v;
}

void rollout_fingerprint(const json_t *inst, const json_t *model, char out[65]) {
    json_t *v = rollout_injected_view(inst, model);
    char *s = jarena_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
    free(s);
    json_decref(v);
}

/* ---- opt-in ---- */

/* Does one annotation value name t, for an object in obj_ns? */
static int value_names(const struct rollout_target *t, const char *obj_ns, const char *value) {
    if (ieq(value, "true"))
        return !strcmp(obj_ns, t->ns) && t->peers == 1;
    if (ieq(value, "false"))
        return 0;
    char ns[TINST_REF_MAX], name[TINST_REF_MAX];
    if (tinst_ref_parse(value, obj_ns, ns, name))
        return 0;
    return !strcmp(ns, t->ns) && !strcmp(name, t->name);
}

unsigned rollout_opts_in(const struct rollout_target *t, const char *obj_ns,
                         const json_t *obj_ann, const json_t *ns_ann) {
    if (!t || !t->ns || !t->name || !obj_ns)
        return 0;
    unsigned mask = 0;
    for (int l = 0; l < TINST_LANG_COUNT; l++) {
        char key[64];
        snprintf(key, sizeof(key), "tracemodel.dev/inject-%s", tinst_lang_name(l));
        const char *pv = nonempty(str_at(obj_ann, key));
        const char *nv = nonempty(str_at(ns_ann, key));
        const char *v = pv ? pv : nv;
        if (pv && nv && ieq(pv, "true") && !ieq(nv, "true") && !ieq(nv, "false"))
            v = nv;
        if (v && value_names(t, obj_ns, v))
            mask |= 1u << l;
    }
    return mask;
}

/* ---- pods ---- */

static int pod_finished(const json_t *pod) {
    const char *phase = str_at(json_object_get(pod, "status"), "phase");
    return (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) ||
           json_object_get(meta(pod), "deletionTimestamp") != NULL;
}

enum rollout_pod_state rollout_pod_classify(const struct rollout_target *t, const json_t *pod,
                                            const json_t *ns_ann) {
    const char *ns = str_at(meta(pod), "namespace");
    const json_t *ann = json_object_get(meta(pod), "annotations");
    if (!ns || pod_finished(pod) || !rollout_opts_in(t, ns, ann, ns_ann))
        return ROLLOUT_POD_OTHER;
    if (str_at(ann, "tracemodel.dev/injected"))
        return ROLLOUT_POD_INJECTED;
    const char *status = str_at(ann, "tracemodel.dev/injection-status");
    if (status && !strncmp(status, "skipped:", 8))
        return ROLLOUT_POD_SKIPPED;
    return ROLLOUT_POD_UNINSTRUMENTED;
}

static const json_t *controller_ref(const json_t *pod) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(meta(pod), "ownerReferences"), i, r) {
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

static void set_owner(struct rollout_owner *o, const char *kind, const char *name, size_t len) {
    snprintf(o->kind, sizeof(o->kind), "%s", kind);
    if (len >= sizeof(o->name))
        len = sizeof(o->name) - 1;
    memcpy(o->name, name, len);
    o->name[len] = '\0';
}

int rollout_pod_owner(const json_t *pod, struct rollout_owner *o) {
    memset(o, 0, sizeof(*o));
    const json_t *ref = controller_ref(pod);
    const char *kind = str_at(ref, "kind"), *name = nonempty(str_at(ref, "name"));
    if (!kind || !name)
        return 0;
    if (!strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet")) {
        set_owner(o, kind, name, strlen(name));
        return 1;
    }
    if (!strcmp(kind, "ReplicaSet")) {
        const char *hash = nonempty(str_at(json_object_get(meta(pod), "labels"),
                                           "pod-template-hash"));
        size_t nl = strlen(name), hl = hash ? strlen(hash) : 0;
        if (hash && nl > hl + 1 && name[nl - hl - 1] == '-' && !strcmp(name + nl - hl, hash)) {
            set_owner(o, "Deployment", name, nl - hl - 1);
            return 1;
        }
    }
    set_owner(o, kind, name, strlen(name));   /* reported, not rolled */
    return 0;
}

/* ---- scans ---- */

void rollout_scan_init(struct rollout_scan *s, const struct rollout_target *t,
                       const json_t *ns_ann) {
    memset(s, 0, sizeof(*s));
    s->t = t;
    s->ns_ann = ns_ann;
    s->names = json_array();
    s->owners = json_object();
}

static void note_owner(struct rollout_scan *s, const json_t *pod) {
    struct rollout_owner o;
    if (!rollout_pod_owner(pod, &o)) {
        s->unrollable++;
        return;
    }
    int64_t created = 0;
    const char *ts = str_at(meta(pod), "creationTimestamp");
    if (ts)
        op_parse_time(ts, &created);
    char key[sizeof(o.kind) + sizeof(o.name) + 1];
    snprintf(key, sizeof(key), "%s/%s", o.kind, o.name);
    json_t *have = json_object_get(s->owners, key);
    if (have) {
        if (created > json_integer_value(have))
            json_integer_set(have, created);
    } else if (json_object_size(s->owners) < ROLLOUT_MAX_OWNERS) {
        json_object_set_new(s->owners, key, json_integer(created));
    }
}

enum rollout_pod_state rollout_scan_pod(struct rollout_scan *s, const json_t *pod) {
    enum rollout_pod_state st = rollout_pod_classify(s->t, pod, s->ns_ann);
    if (st != ROLLOUT_POD_UNINSTRUMENTED)
        return st;
    s->uninstrumented++;
    const char *name = str_at(meta(pod), "name");
    if (name && json_array_size(s->names) < ROLLOUT_MAX_NAMED)
        json_array_append_new(s->names, json_string(name));
    note_owner(s, pod);
    return st;
}

void rollout_scan_done(struct rollout_scan *s) {
    json_decref(s->names);
    json_decref(s->owners);
    s->names = s->owners = NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *rollout_scan_message(const struct rollout_scan *s) {
    size_t n = json_array_size(s->names);
    const char **names = xcalloc(n ? n : 1, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(s->names, i));
    qsort(names, n, sizeof(*names), cmp_str);
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_printf(&b, "%zu pod%s asked for Instrumentation %s/%s but run%s without it (created "
                  "while the webhook was down, or before the namespace opted in): ",
                  s->uninstrumented, s->uninstrumented == 1 ? "" : "s", s->t->ns, s->t->name,
                  s->uninstrumented == 1 ? "s" : "");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    if (s->uninstrumented > n)
        strbuf_printf(&b, " and %zu more", s->uninstrumented - n);
    free(names);
    return strbuf_detach(&b, NULL);
}

/* ---- decisions ---- */

int rollout_should_restart(const json_t *template_ann, int64_t newest_pod_ms,
                           int64_t last_restart_ms, int64_t now_wall_ms) {
    if (last_restart_ms > 0 && now_wall_ms - last_restart_ms < ROLLOUT_RESTART_MIN_MS)
        return 0;
    const char *at = str_at(template_ann, ROLLOUT_ANN_RESTARTED);
    int64_t restarted = 0;
    if (at && op_parse_time(at, &restarted) == 0 && restarted >= newest_pod_ms)
        return 0;
    return 1;
}

int rollout_workload_wants(const struct rollout_target *t, const json_t *workload,
                           const json_t *ns_ann, const char *hash) {
    const char *ns = str_at(meta(workload), "namespace");
    const json_t *tmeta = json_object_get(json_object_get(json_object_get(workload, "spec"),
                                                          "template"), "metadata");
    const json_t *ann = json_object_get(tmeta, "annotations");
    if (!ns || !rollout_opts_in(t, ns, ann, ns_ann))
        return 0;
    const char *have = str_at(ann, ROLLOUT_ANN_HASH);
    return !have || strcmp(have, hash) != 0;
}

json_t *rollout_template_patch(const char *key, const char *value) {
    return json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata", "annotations", key,
                     value);
}

/* ---- memory ---- */

struct rollout_memory {
    pthread_mutex_t mu;
    struct strmap at;   /* key -> int64_t * (malloc'd) */
};

struct rollout_memory *rollout_memory_new(void) {
    struct rollout_memory *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    strmap_init(&m->at, free);
    return m;
}

void rollout_memory_free(struct rollout_memory *m) {
    if (!m)
        return;
    strmap_done(&m->at);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int64_t rollout_memory_last(struct rollout_memory *m, const char *key) {
    pthread_mutex_lock(&m->mu);
    const int64_t *v = strmap_get(&m->at, key);
    int64_t out = v ? *v : 0;
    pthread_mutex_unlock(&m->mu);
    return out;
}

void rollout_memory_note(struct rollout_memory *m, const char *key, int64_t wall_ms) {
    pthread_mutex_lock(&m->mu);
    /* forget restarts that no longer hold anything back */
    size_t n = 0, cap = m->at.len;
    char **old = xcalloc(cap ? cap : 1, sizeof(*old));
    for (struct strmap_entry *e = strmap_first(&m->at); e; e = strmap_next(&m->at, e))
        if (wall_ms - *(const int64_t *)e->val >= ROLLOUT_RESTART_MIN_MS && n < cap)
            old[n++] = xstrdup(e->key);
    for (size_t i = 0; i < n; i++) {
        strmap_del(&m->at, old[i]);
        free(old[i]);
    }
    free(old);
    int64_t *v = xmalloc(sizeof(*v));
    *v = wall_ms;
    strmap_put(&m->at, key, v);
    pthread_mutex_unlock(&m->mu);
}
