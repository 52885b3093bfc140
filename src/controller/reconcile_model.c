/* reconcile_model.c - reconcile one TracingModel: render -> apply what changed ->
 * prune stale children -> status (see reconcile.h).
 *
 * No-op detection: every applied child carries tracemodel.dev/applied-hash, the
 * SHA-256 of its canonical JSON; the children cache tells the live hash, so an
 * unchanged child is not sent again, unless the cache saw another field manager
 * take or remove fields we applied (drift, children.h): then it is applied again,
 * and force takes our fields back. The status is patched only when it differs
 * from the live one (lastTransitionTime aside). Objects in another namespace
 * cannot carry an ownerReference: the model gets the tracemodel.dev/cleanup
 * finalizer before the first such object is created, and deleting the model
 * deletes them before the finalizer is removed. */
#include "controller/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "controller/status.h"
#include "kube/client.h"
#include "model/model.h"

#define FINALIZER_ATTEMPTS 5
#define MAX_ERRORS_IN_MESSAGE 5

/* ---- small JSON helpers ---- */

static const char *md_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static json_t *md_obj(json_t *obj, const char *key) {
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md))
        return NULL;
    json_t *o = json_object_get(md, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(md, key, o);
    }
    return o;
}

const char *integration_of(const char *api_version) {
    static const struct {
        const char *group, *name;
    } table[] = {
        {"telemetry.istio.io/", "Istio"},
        {"monitoring.coreos.com/", "PrometheusOperator"},
        {"jaegertracing.io/", "JaegerOperator"},
        {"tempo.grafana.com/", "TempoOperator"},
    };
    if (!api_version)
        return NULL;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strncmp(api_version, table[i].group, strlen(table[i].group)))
            return table[i].name;
    return NULL;
}

int prepare_child(json_t *obj, const json_t *model, char hash[65]) {
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *mns = md_str(model, "namespace"), *mname = md_str(model, "name");
    if (!av || !kind || !json_is_object(md) || !name || !mns || !mname)
        return OP_EINVALID;
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const struct kube_kind *kk = kube_kind_find(av, kind);
    int namespaced = kk ? kk->namespaced : 1;
    if (namespaced && (!ns || !*ns)) {
        json_object_set_new(md, "namespace", json_string(mns));
        ns = mns;
    }
    int cross = !namespaced || strcmp(ns, mns) != 0;
    json_t *labels = md_obj(obj, "labels");
    json_object_set_new(labels, CHILD_LABEL_MANAGED_BY, json_string(CHILD_MANAGED_BY));
    json_object_set_new(labels, CHILD_LABEL_MODEL, json_string(mname));
    json_t *ann = md_obj(obj, "annotations");
    char *owner = xasprintf("%s/%s", mns, mname);
    json_object_set_new(ann, CHILD_ANN_OWNER, json_string(owner));
    free(owner);
    json_object_del(ann, CHILD_ANN_HASH);
    if (!cross) {
        const char *uid = md_str(model, "uid");
        json_t *ref = json_pack("{s:s,s:s,s:s,s:b,s:b}", "apiVersion", TM_GROUP_VERSION, "kind",
                                "TracingModel", "name", mname, "controller", 1,
                                "blockOwnerDeletion", 1);
        if (uid)
            json_object_set_new(ref, "uid", json_string(uid));
        json_object_set_new(md, "ownerReferences", json_pack("[o]", ref));
    } else {
        json_object_del(md, "ownerReferences");
    }
    char *canon = jarena_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    sha256_hex(canon ? canon : "", canon ? strlen(canon) : 0, hash);
    free(canon);
    json_object_set_new(ann, CHILD_ANN_HASH, json_string(hash));
    return cross;
}

/* ---- the reconcile ---- */

struct desired {
    json_t *obj;               /* borrowed from the manifests array */
    const char *av, *kind, *ns, *name;
    char hash[65];
    int cross;
    const char *skipped;       /* integration name when its API is not served */
    struct child live;
    int have_live;
};

struct run {
    struct reconcile_env *env;
    json_t *model;             /* live (from the cache or a fresh GET), new ref */
    const char *ns, *name;     /* point into ns_buf/name_buf: stable across re-reads */
    char ns_buf[256], name_buf[256];
    char owner[512];
    struct kube_ref ref;
    struct desired *want;
    size_t n_want;
    size_t failures;
    char first_error[600];
    int stopped;
};

static int may_write(struct run *r) {
    if (r->env->leading && !atomic_load(r->env->leading)) {
        r->stopped = 1;
        return 0;
    }
    return 1;
}

static void event(struct run *r, const char *type, const char *reason, const char *action,
                  const char *note) {
    if (r->env->events)
        events_emit(r->env->events, r->env->client, r->model, type, reason, action, note);
}

static void model_ref(struct run *r) {
    r->ref = (struct kube_ref){.group = "tracemodel.dev", .version = "v1alpha1",
                               .resource = "tracingmodels", .ns = r->ns, .name = r->name};
}

/* Takes a newer copy of the model (a patch response or a fresh GET); one without
 * identity (a malformed answer) is ignored. */
static void replace_model(struct run *r, json_t *fresh /* stolen */) {
    if (!md_str(fresh, "name")) {
        json_decref(fresh);
        return;
    }
    json_decref(r->model);
    r->model = fresh;
}

static void cache_model(struct run *r, const json_t *obj) {
    json_t *copy = json_deep_copy(obj);
    store_strip(copy);
    status_slim(copy);
    store_put_if_newer(r->env->caches->models, copy);
}

static int has_finalizer(const json_t *model) {
    json_t *f = json_object_get(json_object_get(model, "metadata"), "finalizers");
    size_t i;
    json_t *v;
    json_array_foreach(f, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), TM_FINALIZER))
            return 1;
    }
    return 0;
}

/* Adds or removes our finalizer with a merge patch guarded by resourceVersion;
 * on a conflict reads the model again and retries. */
static int set_finalizer(struct run *r, int add) {
    for (int attempt = 0; attempt < FINALIZER_ATTEMPTS; attempt++) {
        if (has_finalizer(r->model) == add)
            return 0;
        if (!may_write(r))
            return RECONCILE_STOPPED;
        json_t *list = json_array();
        json_t *f = json_object_get(json_object_get(r->model, "metadata"), "finalizers");
        size_t i;
        json_t *v;
        json_array_foreach(f, i, v) {
            if (!json_is_string(v) || strcmp(json_string_value(v), TM_FINALIZER) != 0)
                json_array_append(list, v);
        }
        if (add)
            json_array_append_new(list, json_string(TM_FINALIZER));
        const char *rv = md_str(r->model, "resourceVersion");
        json_t *patch = json_pack("{s:{s:o}}", "metadata", "finalizers", list);
        if (rv)
            json_object_set_new(json_object_get(patch, "metadata"), "resourceVersion",
                                json_string(rv));
        struct op_status st = {0};
        json_t *ret = NULL;
        int rc = kube_merge_patch(r->env->client, &r->ref, patch, &ret, &st);
        json_decref(patch);
        if (rc == 0) {
            cache_model(r, ret);
            replace_model(r, ret);
            return 0;
        }
        json_decref(ret);
        if (rc == OP_ENOTFOUND)
            return 0;
        if (rc != OP_ECONFLICT) {
            log_warn("reconcile.tracingmodel", "cannot update finalizers, will retry",
                     "namespace", r->ns, "name", r->name, "err", op_errname(rc), "detail", st.msg);
            return rc;
        }
        json_t *fresh = NULL;
        rc = kube_get(r->env->client, &r->ref, &fresh, &st);
        if (rc == OP_ENOTFOUND)
            return 0;
        if (rc < 0)
            return rc;
        replace_model(r, fresh);
    }
    return OP_ECONFLICT;
}

static char *diag_summary(const struct diag *d) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t n = 0;
    for (size_t i = 0; i < d->len; i++) {
        if (d->items[i].level != DIAG_ERROR)
            continue;
        if (n == MAX_ERRORS_IN_MESSAGE) {
            strbuf_printf(&b, "; and %zu more", d->errors - n);
            break;
        }
        char *s = diag_item_format(&d->items[i]);
        strbuf_printf(&b, "%s%s", n ? "; " : "", s);
        free(s);
        n++;
    }
    if (!n)
        strbuf_puts(&b, "the model cannot be rendered");
    return strbuf_detach(&b, NULL);
}

static void free_desired(struct run *r) {
    for (size_t i = 0; i < r->n_want; i++)
        if (r->want[i].have_live)
            child_done(&r->want[i].live);
    free(r->want);
    r->want = NULL;
    r->n_want = 0;
}

/* Fills r->want from the manifests: prepared objects, skip marks, live state. */
static int collect_desired(struct run *r, json_t *manifests, int *ret_cross) {
    size_t n = json_array_size(manifests);
    r->want = xcalloc(n ? n : 1, sizeof(*r->want));
    *ret_cross = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_array_get(manifests, i);
        struct desired *d = &r->want[r->n_want];
        int cross = prepare_child(obj, r->model, d->hash);
        if (cross < 0) {
            log_warn("reconcile.tracingmodel", "renderer produced an object without identity, "
                     "ignoring", "namespace", r->ns, "name", r->name);
            continue;
        }
        d->obj = obj;
        d->av = json_string_value(json_object_get(obj, "apiVersion"));
        d->kind = json_string_value(json_object_get(obj, "kind"));
        d->ns = md_str(obj, "namespace");
        d->name = md_str(obj, "name");
        if (!d->ns)
            d->ns = "";
        d->cross = cross;
        const char *integ = integration_of(d->av);
        if (integ && !(r->env->api_served && r->env->api_served(r->env->api_ud, d->av)))
            d->skipped = integ;
        else if (cross)
            *ret_cross = 1;
        d->have_live = children_lookup(r->env->caches->children, d->av, d->kind, d->ns,
                                       d->name, &d->live) == 0;
        r->n_want++;
    }
    return 0;
}

static void note_failure(struct run *r, const char *what, const struct desired *d,
                         const struct op_status *st, int rc) {
    r->failures++;
    char msg[600];
    snprintf(msg, sizeof(msg), "%s %s %s/%s: %s", what, d->kind, d->ns, d->name,
             st->msg[0] ? st->msg : op_strerror(rc));
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof(r->first_error), "%s", msg);
    log_warn("reconcile.tracingmodel", "apply failed, will retry", "namespace", r->ns, "name",
             r->name, "kind", d->kind, "child", d->name, "err", op_errname(rc), "detail", st->msg);
    event(r, "Warning", "ApplyFailed", "Apply", msg);
}

static int apply_desired(struct run *r) {
    for (size_t i = 0; i < r->n_want; i++) {
        struct desired *d = &r->want[i];
        if (d->skipped)
            continue;
        int drift = d->have_live && d->live.drift;
        if (d->have_live && !d->live.deleting && !drift && !strcmp(d->live.hash, d->hash))
            continue;   /* unchanged: no write */
        if (!may_write(r))
            return RECONCILE_STOPPED;
        if (drift && !strcmp(d->live.hash, d->hash))
            log_info("reconcile.tracingmodel", "another field manager changed fields we apply, "
                     "applying again", "namespace", r->ns, "name", r->name, "kind", d->kind,
                     "child", d->name);
        struct op_status st = {0};
        json_t *ret = NULL;
        int rc = kube_apply(r->env->client, d->obj, &ret, &st);
        if (rc < 0) {
            json_decref(ret);
            note_failure(r, "apply", d, &st, rc);
            continue;
        }
        log_debug("reconcile.tracingmodel", "applied", "namespace", r->ns, "name", r->name,
                  "kind", d->kind, "child", d->name);
        if (ret) {
            children_put_applied(r->env->caches->children, ret);
            if (d->have_live)
                child_done(&d->live);
            d->have_live = child_from_object(ret, &d->live) == 0;
        }
        json_decref(ret);
    }
    return 0;
}

static int is_desired(const struct run *r, const struct child *c) {
    for (size_t i = 0; i < r->n_want; i++) {
        const struct desired *d = &r->want[i];
        if (!strcmp(d->av, c->api_version) && !strcmp(d->kind, c->kind) &&
            !strcmp(d->ns, c->ns) && !strcmp(d->name, c->name))
            return 1;
    }
    return 0;
}

static int kind_is_skipped(const struct run *r, const struct child *c) {
    for (size_t i = 0; i < r->n_want; i++)
        if (r->want[i].skipped && !strcmp(r->want[i].av, c->api_version))
            return 1;
    /* an integration whose API vanished: its objects went with the CRD */
    const char *integ = integration_of(c->api_version);
    return integ && !(r->env->api_served && r->env->api_served(r->env->api_ud, c->api_version));
}

static int delete_child(struct run *r, const struct child *c, struct op_status *st) {
    const struct kube_kind *kk = kube_kind_find(c->api_version, c->kind);
    if (!kk)
        return op_fail(st, OP_EUNSUPPORTED, "unknown kind %s %s", c->api_version, c->kind);
    struct kube_ref ref;
    kube_ref_from_kind(kk, c->ns, &ref);
    ref.name = c->name;
    int rc = kube_delete(r->env->client, &ref, KUBE_PROPAGATE_BACKGROUND, st);
    return rc == OP_ENOTFOUND ? 0 : rc;
}

/* Deletes children labelled with this model that are no longer desired. Sets
 * *ret_cross_left when children in other namespaces remain. */
static int prune(struct run *r, int *ret_cross_left) {
    struct child *live = NULL;
    size_t n = children_of(r->env->caches->children, r->owner, &live);
    int rc = 0;
    *ret_cross_left = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct child *c = &live[i];
        int cross = strcmp(c->ns, r->ns) != 0;
        if (is_desired(r, c) || kind_is_skipped(r, c)) {
            *ret_cross_left |= cross;
            continue;
        }
        if (c->deleting)
            continue;
        if (!may_write(r)) {
            rc = RECONCILE_STOPPED;
            break;
        }
        struct op_status st = {0};
        int drc = delete_child(r, c, &st);
        if (drc < 0) {
            *ret_cross_left |= cross;
            r->failures++;
            if (!r->first_error[0])
                snprintf(r->first_error, sizeof(r->first_error), "delete %s %s/%s: %s",
                         c->kind, c->ns, c->name, st.msg[0] ? st.msg : op_strerror(drc));
            log_warn("reconcile.tracingmodel", "cannot delete a stale child, will retry",
                     "namespace", r->ns, "name", r->name, "kind", c->kind, "child", c->name,
                     "err", op_errname(drc), "detail", st.msg);
            continue;
        }
        char note[400];
        snprintf(note, sizeof(note), "deleted %s %s/%s: no longer part of the model", c->kind,
                 c->ns, c->name);
        log_info("reconcile.tracingmodel", "deleted stale child", "namespace", r->ns, "name",
                 r->name, "kind", c->kind, "child", c->name);
        event(r, "Normal", "DeletedStaleChild", "Delete", note);
    }
    children_array_free(live, n);
    return rc;
}

/* Merge patch of /status when the computed status differs from the live one. */
static int write_status(struct run *r, json_t *status /* borrowed */) {
    json_t *live = json_object_get(r->model, "status");
    if (status_same(live, status))
        return 0;
    if (!may_write(r))
        return RECONCILE_STOPPED;
    json_t *body = json_deep_copy(status);
    json_t *keys = status_live_keys(live);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *name = json_string_value(k);
        if (name && !json_object_get(body, name) && strncmp(name, "tracemodel.dev/", 15) != 0)
            json_object_set_new(body, name, json_null());   /* merge patch: remove it */
    }
    json_decref(keys);
    json_t *patch = json_pack("{s:o}", "status", body);
    struct op_status st = {0};
    json_t *ret = NULL;
    int rc = kube_patch_status(r->env->client, &r->ref, patch, &ret, &st);
    json_decref(patch);
    if (rc == 0 && ret)
        cache_model(r, ret);
    json_decref(ret);
    if (rc == OP_ENOTFOUND)
        return 0;
    if (rc < 0)
        log_warn("reconcile.tracingmodel", "cannot patch status, will retry", "namespace", r->ns,
                 "name", r->name, "err", op_errname(rc), "detail", st.msg);
    return rc;
}

/* Events for conditions that just appeared (skipped integrations, an invalid spec). */
static void transition_events(struct run *r, const json_t *status) {
    const json_t *old = json_object_get(r->model, "status");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *reason = json_string_value(json_object_get(c, "reason"));
        const char *msg = json_string_value(json_object_get(c, "message"));
        if (!type || !reason)
            continue;
        const json_t *was = status_find_condition(old, type);
        const char *was_reason = json_string_value(json_object_get(was, "reason"));
        if (was_reason && !strcmp(was_reason, reason))
            continue;
        if (!strcmp(reason, "CRDNotInstalled"))
            event(r, "Normal", type, "Skip", msg);
        else if (!strcmp(type, "Ready") && !strcmp(reason, "InvalidSpec"))
            event(r, "Warning", "InvalidSpec", "Render", msg);
    }
}

static int update_status(struct run *r, const char *invalid, const struct render_result *rr) {
    size_t nc = 0, ns = 0;
    struct status_child *sc = xcalloc(r->n_want ? r->n_want : 1, sizeof(*sc));
    struct status_skip *sk = xcalloc(r->n_want ? r->n_want : 1, sizeof(*sk));
    for (size_t i = 0; i < r->n_want; i++) {
        struct desired *d = &r->want[i];
        if (d->skipped) {
            sk[ns++] = (struct status_skip){d->skipped, d->av, d->kind, d->name};
            continue;
        }
        sc[nc++] = (struct status_child){d->av, d->kind, d->ns, d->name,
                                         d->have_live ? &d->live : NULL};
    }
    json_t *defaulted = tm_default(r->model); /* the Tail printer column shows the effective value */
    int tail = tm_get_bool(defaulted, "spec.sampling.tail.enabled", 0);
    json_decref(defaulted);
    struct tm_status_input in = {
        .model = r->model,
        .tail_sampling = tail,
        .invalid = invalid,
        .endpoints = rr ? rr->endpoints : NULL,
        .capacity = rr ? rr->capacity : NULL,
        .children = sc,
        .n_children = nc,
        .skips = sk,
        .n_skips = ns,
        .apply_failures = r->failures,
        .apply_error = r->first_error[0] ? r->first_error : NULL,
        .now_wall = op_wall_ms(r->env->clock),
    };
    json_t *status = tm_status_compute(&in);
    free(sc);
    free(sk);
    int rc = write_status(r, status);
    if (rc == 0)
        transition_events(r, status);
    json_decref(status);
    return rc;
}

static int same_child(const struct child *c, const char *av, const char *kind, const char *ns,
                      const char *name) {
    return !strcmp(c->api_version, av) && !strcmp(c->kind, kind) && !strcmp(c->ns, ns) &&
           !strcmp(c->name, name);
}

/* Deletes the objects in other namespaces the renderer would produce and the cache
 * did not know (a namespace outside --namespace). */
static int finalize_rendered(struct run *r, const struct child *known, size_t n_known) {
    struct diag d;
    diag_init(&d);
    json_t *loaded = tm_load(r->model, 0, &d);
    struct render_result rr = {0};
    int rc = 0;
    if (loaded && r->env->render(loaded, &rr, &d) == 0) {
        size_t i;
        json_t *obj;
        json_array_foreach(rr.manifests, i, obj) {
            const char *av = json_string_value(json_object_get(obj, "apiVersion"));
            const char *kind = json_string_value(json_object_get(obj, "kind"));
            const char *ons = md_str(obj, "namespace"), *oname = md_str(obj, "name");
            if (!av || !kind || !ons || !oname || !strcmp(ons, r->ns))
                continue;
            int seen = 0;
            for (size_t j = 0; j < n_known && !seen; j++)
                seen = same_child(&known[j], av, kind, ons, oname);
            if (seen || (integration_of(av) &&
                         !(r->env->api_served && r->env->api_served(r->env->api_ud, av))))
                continue;
            struct kube_ref ref;
            struct op_status st = {0};
            if (kube_ref_from_object(obj, &ref, &st) < 0)
                continue;
            if (!may_write(r)) {
                rc = RECONCILE_STOPPED;
                break;
            }
            int drc = kube_delete(r->env->client, &ref, KUBE_PROPAGATE_BACKGROUND, &st);
            if (drc < 0 && drc != OP_ENOTFOUND) {
                rc = drc;
                break;
            }
        }
    }
    render_result_done(&rr);
    json_decref(loaded);
    diag_done(&d);
    return rc;
}

/* The model is being deleted: remove what ownerReferences cannot (other namespaces),
 * then the finalizer. */
static int finalize(struct run *r) {
    if (!has_finalizer(r->model))
        return RECONCILE_DONE;
    struct child *live = NULL;
    size_t n = children_of(r->env->caches->children, r->owner, &live);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!strcmp(live[i].ns, r->ns) || live[i].deleting)
            continue;
        if (!may_write(r)) {
            rc = RECONCILE_STOPPED;
            break;
        }
        struct op_status st = {0};
        rc = delete_child(r, &live[i], &st);
        if (rc < 0)
            log_warn("reconcile.tracingmodel", "cannot delete a child in another namespace, "
                     "will retry", "namespace", r->ns, "name", r->name, "child", live[i].name,
                     "err", op_errname(rc), "detail", st.msg);
    }
    if (rc == 0)
        rc = finalize_rendered(r, live, n);
    children_array_free(live, n);
    if (rc != 0)
        return rc;
    rc = set_finalizer(r, 0);
    if (rc == 0)
        log_info("reconcile.tracingmodel", "cleaned up, finalizer removed", "namespace", r->ns,
                 "name", r->name);
    return rc;
}

static int reconcile_live(struct run *r) {
    if (json_object_get(json_object_get(r->model, "metadata"), "deletionTimestamp"))
        return finalize(r);
    struct diag d;
    diag_init(&d);
    struct render_result rr = {0};
    char *invalid = NULL;
    json_t *loaded = tm_load(r->model, 0, &d);
    if (!loaded || r->env->render(loaded, &rr, &d) != 0)
        invalid = diag_summary(&d);
    json_decref(loaded);
    diag_done(&d);
    int rc = 0, cross = 0, cross_left = 0;
    if (!invalid) {
        collect_desired(r, rr.manifests, &cross);
        if (cross)
            rc = set_finalizer(r, 1);   /* before any object the GC cannot remove */
        if (rc == 0)
            rc = apply_desired(r);
        if (rc == 0 && !r->stopped)
            rc = prune(r, &cross_left);
        if (rc == 0 && !cross && !cross_left && has_finalizer(r->model) && !r->failures)
            rc = set_finalizer(r, 0);
    }
    if (rc == 0 && !r->stopped)
        rc = update_status(r, invalid, invalid ? NULL : &rr);
    free(invalid);
    render_result_done(&rr);
    if (rc == 0 && r->stopped)
        rc = RECONCILE_STOPPED;
    if (rc == 0 && r->failures)
        rc = OP_ESERVER;   /* retry with backoff */
    return rc;
}

int reconcile_model(struct reconcile_env *env, const char *key) {
    struct run r;
    memset(&r, 0, sizeof(r));
    r.env = env;
    r.model = store_get(env->caches->models, key);
    if (!r.model)
        return RECONCILE_DONE;   /* deleted: owned children go with it (garbage collector) */
    const char *ns = md_str(r.model, "namespace"), *name = md_str(r.model, "name");
    if (!ns || !name || strlen(ns) >= sizeof(r.ns_buf) || strlen(name) >= sizeof(r.name_buf)) {
        json_decref(r.model);
        return RECONCILE_DONE;
    }
    strcpy(r.ns_buf, ns);
    strcpy(r.name_buf, name);
    r.ns = r.ns_buf;
    r.name = r.name_buf;
    model_ref(&r);
    snprintf(r.owner, sizeof(r.owner), "%s/%s", r.ns, r.name);
    int rc = reconcile_live(&r);
    free_desired(&r);
    json_decref(r.model);
    return rc;
}
