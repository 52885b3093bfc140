/* reconcile_inst.c - reconcile one Instrumentation: validate it, resolve the
 * TracingModel it follows, find conflicts with its namespace peers, and patch its
 * status when that changed (see reconcile.h, status.h). With pod checks on
 * (env->rollout), also the I/O half of rollout.h: count the pods of its namespace
 * that asked for it but came up without injection (Warning Event UninstrumentedPods
 * when they appear; with spec.restartUninstrumented their workloads are rolled, Event
 * RestartedUninstrumented), and when what it injects changes (status.injectionHash)
 * and spec.rolloutOnChange is set, roll the opted-in Deployments, StatefulSets and
 * DaemonSets of its namespace (Event RolloutTriggered). */
#include "controller/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "controller/list_stream.h"
#include "controller/rollout.h"
#include "controller/status.h"
#include "kube/client.h"
#include "model/instrumentation.h"
#include "model/model.h"

static const char *md_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static char *errors_of(const struct diag *d) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t n = 0;
    for (size_t i = 0; i < d->len && n < 5; i++) {
        if (d->items[i].level != DIAG_ERROR)
            continue;
        char *s = diag_item_format(&d->items[i]);
        strbuf_printf(&b, "%s%s", n++ ? "; " : "", s);
        free(s);
    }
    if (d->errors > n)
        strbuf_printf(&b, "; and %zu more", d->errors - n);
    if (!n)
        strbuf_puts(&b, "invalid");
    return strbuf_detach(&b, NULL);
}

static int may_write(const struct reconcile_env *env) {
    return !env->leading || atomic_load(env->leading);
}

/* ---- listing, streamed when the client sits on a list filter ---- */

typedef void (*item_fn)(void *ud, const json_t *item);

struct each {
    item_fn fn;
    void *ud;
};

static int streamed_item(void *ud, json_t *item) {
    struct each *e = ud;
    e->fn(e->ud, item);
    json_decref(item);
    return 0;
}

/* Calls fn for every item of the list (one at a time with a list filter). 0 or OP_E*. */
static int list_each(struct reconcile_env *env, const struct kube_ref *ref,
                     const struct kube_list_opts *lo, item_fn fn, void *ud,
                     struct op_status *st) {
    struct each e = {fn, ud};
    json_t *list = NULL;
    if (env->lf)
        list_filter_capture(env->lf, streamed_item, &e);
    int rc = kube_list(env->client, ref, lo, &list, st);
    if (env->lf)
        list_filter_capture(env->lf, NULL, NULL);
    if (rc == 0) {
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it) fn(ud, it);
    }
    json_decref(list);
    return rc;
}

/* ---- what one reconcile knows ---- */

struct inst_run {
    struct reconcile_env *env;
    const json_t *inst;              /* the cached Instrumentation */
    const json_t *loaded;            /* defaulted, NULL when invalid */
    const json_t *spec;              /* loaded's spec */
    const char *ns, *name;
    const json_t *ns_ann;            /* the namespace's annotations, may be NULL */
    struct rollout_target t;
};

static void emit(struct inst_run *r, const char *type, const char *reason, const char *action,
                 const char *note) {
    if (r->env->events && may_write(r->env))
        events_emit(r->env->events, r->env->client, r->inst, type, reason, action, note);
}

static int patch_template(struct inst_run *r, const char *resource, const char *name,
                          const char *key, const char *value) {
    struct kube_ref ref = {.group = "apps", .version = "v1", .resource = resource, .ns = r->ns,
                           .name = name};
    json_t *patch = rollout_template_patch(key, value);
    struct op_status st = {0};
    int rc = kube_merge_patch(r->env->client, &ref, patch, NULL, &st);
    json_decref(patch);
    if (rc < 0 && rc != OP_ENOTFOUND)
        log_warn("reconcile.instrumentation", "cannot roll a workload, will retry", "namespace",
                 r->ns, "name", name, "resource", resource, "err", op_errname(rc), "detail",
                 st.msg);
    return rc;
}

/* ---- rollout on change ---- */

static const struct {
    const char *resource, *kind;
} workload_kinds[] = {{"deployments", "Deployment"},
                      {"statefulsets", "StatefulSet"},
                      {"daemonsets", "DaemonSet"}};
#define N_WORKLOAD_KINDS (sizeof(workload_kinds) / sizeof(workload_kinds[0]))

struct want_scan {
    struct inst_run *r;
    const char *hash;
    json_t *names;                   /* names of the workloads to roll */
};

static void want_item(void *ud, const json_t *w) {
    struct want_scan *ws = ud;
    const char *name = md_str(w, "name");
    if (name && rollout_workload_wants(&ws->r->t, w, ws->r->ns_ann, ws->hash))
        json_array_append_new(ws->names, json_string(name));
}

/* Rolls every opted-in workload of the namespace to hash. RECONCILE_DONE (with *note
 * describing them, or NULL when none), RECONCILE_STOPPED or OP_E*. */
static int roll_on_change(struct inst_run *r, const char *hash, char **note) {
    struct strbuf done;
    strbuf_init(&done, 0);
    size_t rolled = 0;
    int rc = 0;
    for (size_t k = 0; k < N_WORKLOAD_KINDS && rc == 0; k++) {
        struct kube_ref ref = {.group = "apps", .version = "v1",
                               .resource = workload_kinds[k].resource, .ns = r->ns};
        struct want_scan ws = {r, hash, json_array()};
        struct op_status st = {0};
        rc = list_each(r->env, &ref, NULL, want_item, &ws, &st);
        if (rc < 0)
            log_warn("reconcile.instrumentation", "cannot list workloads, will retry",
                     "namespace", r->ns, "resource", ref.resource, "err", op_errname(rc),
                     "detail", st.msg);
        size_t i;
        json_t *n;
        json_array_foreach(ws.names, i, n) {
            if (rc < 0)
                break;
            if (!may_write(r->env)) {
                rc = RECONCILE_STOPPED;
                break;
            }
            int prc = patch_template(r, ref.resource, json_string_value(n), ROLLOUT_ANN_HASH,
                                     hash);
            if (prc == 0)
                strbuf_printf(&done, "%s%s %s", rolled++ ? ", " : "", workload_kinds[k].kind,
                              json_string_value(n));
            else if (prc != OP_ENOTFOUND)
                rc = prc;
        }
        json_decref(ws.names);
    }
    *note = NULL;
    if (rolled)
        *note = xasprintf("what Instrumentation %s injects changed (injection hash %.12s): "
                          "rolled %zu workload%s (%s)", r->name, hash, rolled,
                          rolled == 1 ? "" : "s", done.buf);
    strbuf_free(&done);
    return rc;
}

/* ---- uninstrumented pods ---- */

static void pod_item(void *ud, const json_t *pod) { rollout_scan_pod(ud, pod); }

static int scan_pods(struct inst_run *r, struct rollout_scan *scan) {
    struct kube_ref ref = {.version = "v1", .resource = "pods", .ns = r->ns};
    struct kube_list_opts lo = {.field_selector = "status.phase!=Succeeded,status.phase!=Failed"};
    struct op_status st = {0};
    int rc = list_each(r->env, &ref, &lo, pod_item, scan, &st);
    if (rc < 0)
        log_warn("reconcile.instrumentation", "cannot list pods, will retry", "namespace", r->ns,
                 "err", op_errname(rc), "detail", st.msg);
    return rc;
}

static const char *resource_of(const char *kind) {
    for (size_t k = 0; k < N_WORKLOAD_KINDS; k++)
        if (!strcmp(workload_kinds[k].kind, kind))
            return workload_kinds[k].resource;
    return NULL;
}

/* Restarts one owner ("Kind/name") when rollout_should_restart says so (*restarted = 1).
 * 0, RECONCILE_STOPPED or OP_E*. */
static int restart_owner(struct inst_run *r, const char *owner, int64_t newest_pod_ms,
                         int *restarted) {
    *restarted = 0;
    const char *slash = strchr(owner, '/');
    char kind[16];
    if (!slash || (size_t)(slash - owner) >= sizeof(kind))
        return 0;
    memcpy(kind, owner, (size_t)(slash - owner));
    kind[slash - owner] = '\0';
    const char *name = slash + 1, *resource = resource_of(kind);
    if (!resource)
        return 0;
    char *mkey = xasprintf("%s/%s/%s", kind, r->ns, name);
    int64_t now = op_wall_ms(r->env->clock);
    int rc = 0;
    if (!rollout_should_restart(NULL, newest_pod_ms, rollout_memory_last(r->env->rollout, mkey),
                                now))
        goto out;
    /* read it: the Deployment name was derived from the ReplicaSet's, and its template
     * says whether it was restarted after these pods were created */
    struct kube_ref ref = {.group = "apps", .version = "v1", .resource = resource, .ns = r->ns,
                           .name = name};
    json_t *w = NULL;
    struct op_status st = {0};
    rc = kube_get(r->env->client, &ref, &w, &st);
    if (rc == OP_ENOTFOUND) {
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        log_warn("reconcile.instrumentation", "cannot read a workload to restart, will retry",
                 "namespace", r->ns, "name", name, "err", op_errname(rc), "detail", st.msg);
        goto out;
    }
    const json_t *tann = json_object_get(
        json_object_get(json_object_get(json_object_get(w, "spec"), "template"), "metadata"),
        "annotations");
    int go = rollout_should_restart(tann, newest_pod_ms, 0, now);
    json_decref(w);
    if (!go)
        goto out;
    if (!may_write(r->env)) {
        rc = RECONCILE_STOPPED;
        goto out;
    }
    char when[32];
    op_format_time(now, when);
    rc = patch_template(r, resource, name, ROLLOUT_ANN_RESTARTED, when);
    if (rc == OP_ENOTFOUND)
        rc = 0;
    else if (rc == 0) {
        rollout_memory_note(r->env->rollout, mkey, now);
        *restarted = 1;
    }
out:
    free(mkey);
    return rc;
}

static int restart_owners(struct inst_run *r, const struct rollout_scan *scan) {
    struct strbuf done;
    strbuf_init(&done, 0);
    size_t n = 0;
    int rc = 0;
    const char *owner;
    json_t *when;
    json_object_foreach(scan->owners, owner, when) {
        int restarted = 0;
        int orc = restart_owner(r, owner, (int64_t)json_integer_value(when), &restarted);
        if (orc == RECONCILE_STOPPED) {
            rc = orc;
            break;
        }
        if (orc < 0)
            rc = orc;
        else if (restarted) {
            const char *slash = strchr(owner, '/');
            strbuf_printf(&done, "%s%.*s %s", n++ ? ", " : "", (int)(slash - owner), owner,
                          slash + 1);
        }
    }
    if (n) {
        char *note = xasprintf("restarted %zu workload%s whose pods came up without "
                               "instrumentation: %s%s", n, n == 1 ? "" : "s", done.buf,
                               scan->unrollable ? "; pods without a Deployment, StatefulSet or "
                                                  "DaemonSet are not restarted" : "");
        emit(r, "Normal", "RestartedUninstrumented", "Restart", note);
        free(note);
    }
    strbuf_free(&done);
    return rc;
}

/* ---- the status ---- */

static int patch_status(struct reconcile_env *env, const json_t *live, const json_t *status,
                        const char *ns, const char *name) {
    json_t *body = json_deep_copy(status);
    json_t *keys = status_live_keys(live);
    size_t ki;
    json_t *k;
    json_array_foreach(keys, ki, k) {
        const char *kn = json_string_value(k);
        if (kn && !json_object_get(body, kn) && strncmp(kn, "tracemodel.dev/", 15))
            json_object_set_new(body, kn, json_null());
    }
    json_decref(keys);
    json_t *patch = json_pack("{s:o}", "status", body);
    struct kube_ref ref = {.group = "tracemodel.dev", .version = "v1alpha1",
                           .resource = "instrumentations", .ns = ns, .name = name};
    struct op_status st = {0};
    json_t *ret = NULL;
    int rc = kube_patch_status(env->client, &ref, patch, &ret, &st);
    json_decref(patch);
    if (rc == 0 && ret) {
        json_t *copy = json_deep_copy(ret);
        store_strip(copy);
        status_slim(copy);
        store_put_if_newer(env->caches->instrumentations, copy);
    }
    json_decref(ret);
    if (rc == OP_ENOTFOUND)
        rc = RECONCILE_DONE;
    if (rc < 0)
        log_warn("reconcile.instrumentation", "cannot patch status, will retry", "namespace", ns,
                 "name", name, "err", op_errname(rc), "detail", st.msg);
    return rc;
}

/* The first error wins; RECONCILE_STOPPED over errors (nothing more may be written). */
static int worse(int a, int b) {
    if (a == RECONCILE_STOPPED || b == RECONCILE_STOPPED)
        return RECONCILE_STOPPED;
    return a < 0 ? a : b;
}

/* Pod checks and rollouts; fills the pod fields of in. Returns RECONCILE_DONE,
 * RECONCILE_STOPPED or OP_E* (the status is still written with what is known). */
static int check_pods_and_roll(struct inst_run *r, const json_t *model, const json_t *live,
                               struct tinst_status_input *in, char hash[65], char **msg) {
    const char *prev = json_string_value(json_object_get(live, "injectionHash"));
    json_t *prev_n = json_object_get(live, "uninstrumentedPods");
    int rc = RECONCILE_DONE;
    in->pods_checked = 1;
    in->injection_hash = prev;
    if (r->spec) {
        json_t *defaulted_model = model ? tm_default(model) : NULL;
        rollout_fingerprint(r->loaded, defaulted_model, hash);
        json_decref(defaulted_model);
        in->injection_hash = hash;
        if (prev && strcmp(prev, hash) &&
            json_is_true(json_object_get(r->spec, "rolloutOnChange"))) {
            char *note = NULL;
            rc = roll_on_change(r, hash, &note);
            if (note)
                emit(r, "Normal", "RolloutTriggered", "Rollout", note);
            free(note);
            if (rc != RECONCILE_DONE)
                in->injection_hash = prev;   /* roll the rest on the retry */
        }
    }
    if (rc == RECONCILE_STOPPED)
        return rc;   /* no longer leading: the next leader checks the pods */
    struct rollout_scan scan;
    rollout_scan_init(&scan, &r->t, r->ns_ann);
    int prc = scan_pods(r, &scan);
    if (prc < 0) {
        /* keep the last count; the retry (with backoff) counts again */
        rc = worse(rc, prc);
        in->uninstrumented = json_is_integer(prev_n) ? (long)json_integer_value(prev_n) : 0;
        *msg = xasprintf("%ld pods at the last count; the pods of namespace %s cannot be listed "
                         "now (%s)", in->uninstrumented, r->ns, op_errname(prc));
    } else {
        in->uninstrumented = (long)scan.uninstrumented;
        *msg = scan.uninstrumented ? rollout_scan_message(&scan) : NULL;
        if (scan.uninstrumented && !(json_integer_value(prev_n) > 0))
            emit(r, "Warning", "UninstrumentedPods", "Check", *msg);
        if (scan.uninstrumented && r->spec &&
            json_is_true(json_object_get(r->spec, "restartUninstrumented")) &&
            rc != RECONCILE_STOPPED)
            rc = worse(rc, restart_owners(r, &scan));
    }
    in->uninstrumented_msg = *msg;
    rollout_scan_done(&scan);
    return rc;
}

int reconcile_instrumentation(struct reconcile_env *env, const char *key) {
    env->requeue_after_ms = 0;
    json_t *inst = store_get(env->caches->instrumentations, key);
    if (!inst)
        return RECONCILE_DONE;
    const char *ns = md_str(inst, "namespace"), *name = md_str(inst, "name");
    if (!ns || !name || json_object_get(json_object_get(inst, "metadata"), "deletionTimestamp")) {
        json_decref(inst);
        return RECONCILE_DONE;
    }
    struct diag d;
    diag_init(&d);
    json_t *loaded = tinst_load(inst, 0, &d);
    char *invalid = loaded ? NULL : errors_of(&d);
    diag_done(&d);

    char ref_buf[2 * TINST_REF_MAX + 2];
    const char *model_ref = NULL;
    json_t *model = NULL;
    const char *tm = json_string_value(json_object_get(json_object_get(inst, "spec"),
                                                       "tracingModel"));
    char mns[TINST_REF_MAX], mname[TINST_REF_MAX];
    if (!invalid && tm && *tm && tinst_ref_parse(tm, ns, mns, mname) == 0) {
        snprintf(ref_buf, sizeof(ref_buf), "%s/%s", mns, mname);
        model_ref = ref_buf;
        model = store_get_nn(env->caches->models, mns, mname);
    }
    json_t *peers = store_list(env->caches->instrumentations, ns);
    struct tinst_status_input in = {
        .inst = inst,
        .invalid = invalid,
        .model_ref = model_ref,
        .model_found = model != NULL,
        .peers = peers,
        .now_wall = op_wall_ms(env->clock),
    };
    json_t *live = json_object_get(inst, "status");
    int rc = RECONCILE_DONE;
    char hash[65];
    char *pods_msg = NULL;
    json_t *ns_obj = NULL;
    if (env->rollout) {
        ns_obj = env->caches->namespaces ? store_get(env->caches->namespaces, ns) : NULL;
        struct inst_run r = {
            .env = env, .inst = inst, .loaded = loaded,
            .spec = json_object_get(loaded, "spec"), .ns = ns,
            .name = name, .ns_ann = json_object_get(json_object_get(ns_obj, "metadata"),
                                                    "annotations"),
            .t = {.ns = ns, .name = name, .peers = json_array_size(peers)},
        };
        rc = check_pods_and_roll(&r, model, live, &in, hash, &pods_msg);
        env->requeue_after_ms = ROLLOUT_RECHECK_MS;
    }
    json_t *status = tinst_status_compute(&in);
    json_decref(peers);
    json_decref(model);
    json_decref(loaded);
    json_decref(ns_obj);
    free(invalid);
    free(pods_msg);

    int changed = !status_same(live, status) || !status_rollout_same(live, status);
    if (rc != RECONCILE_STOPPED && changed) {
        if (!may_write(env))
            rc = RECONCILE_STOPPED;
        else
            rc = worse(rc, patch_status(env, live, status, ns, name));
    }
    json_decref(status);
    json_decref(inst);
    return rc;
}
