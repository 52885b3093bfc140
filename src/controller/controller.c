/* controller.c - wiring of the controller runtime (edge; see controller.h): informer
 * handlers that feed the caches and the work queue, the workers, leader election,
 * discovery of optional APIs, periodic resync, and a
 * shutdown that finishes within a deadline. */
#include "controller/controller.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/embed.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "controller/informer.h"
#include "controller/leader.h"
#include "controller/list_stream.h"
#include "controller/rollout.h"
#include "controller/status.h"
#include "controller/workqueue.h"
#include "kube/client.h"
#include "render/render.h"

/* ---- the kinds the controller watches ---- */

struct watched_kind {
    const char *group, *version, *kind, *resource;
    int optional;      /* served only when its CRD is installed */
};

/* Every kind the renderers emit (children, selected by the managed-by label). */
static const struct watched_kind child_kinds[] = {
    {"", "v1", "ConfigMap", "configmaps", 0},
    {"", "v1", "Service", "services", 0},
    {"", "v1", "ServiceAccount", "serviceaccounts", 0},
    {"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", 0},
    {"apps", "v1", "Deployment", "deployments", 0},
    {"apps", "v1", "DaemonSet", "daemonsets", 0},
    {"apps", "v1", "StatefulSet", "statefulsets", 0},
    {"batch", "v1", "CronJob", "cronjobs", 0},
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", 0},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", 0},
    {"telemetry.istio.io", "v1", "Telemetry", "telemetries", 1},
    {"monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", 1},
    {"monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", 1},
    {"jaegertracing.io", "v1", "Jaeger", "jaegers", 1},
    {"tempo.grafana.com", "v1alpha1", "TempoMonolithic", "tempomonolithics", 1},
};
#define N_CHILD_KINDS (sizeof(child_kinds) / sizeof(child_kinds[0]))

enum feed_kind { FEED_MODEL, FEED_INST, FEED_NAMESPACE, FEED_CHILD };

struct feed {
    struct controller *c;
    enum feed_kind kind;
    const struct watched_kind *wk;
    char api_version[96];            /* "apps/v1" */
    char ns[256];                    /* the informer's namespace, "" = all */
    char field_selector[300];        /* Namespace informers of --namespace: metadata.name=NS */
    unsigned mark;                   /* of the relist in progress */
};

struct informer_slot {
    struct informer *inf;
    struct feed *feed;
    int store_kind;                  /* enum feed_kind, for sync accounting */
};

struct controller {
    struct controller_opts o;
    char **namespaces;
    char *leader_ns, *leader_id, *identity;
    struct kube_config kube;         /* deep copy not needed: borrowed from opts' owner */
    const struct op_clock *clock;
    struct ctrl_caches caches;
    struct ctrl_metrics metrics;
    struct workqueue *queue;
    struct events *events;
    struct rollout_memory *rollout;  /* Instrumentations' restarts (rollout.h) */

    pthread_mutex_t mu;              /* guards informers[], gate */
    pthread_cond_t gate;             /* workers wait here while not leading */
    atomic_int leading;
    atomic_int stopping;
    atomic_int workers_started;
    atomic_int discovered;           /* API discovery worked at least once */

    struct informer_slot *informers;
    size_t n_informers, cap_informers;
    unsigned optional_started;       /* bit per child_kinds[] index */

    struct kube_client *maint_client;   /* discovery; kube_has_api() from any thread */
    pthread_t maint;
    int maint_running;
    pthread_cond_t maint_wake;

    pthread_t *workers;
    int n_workers;
    struct leader_loop *leader;
};

static struct kube_transport *new_transport(struct controller *c, struct op_status *st) {
    return c->o.new_transport ? c->o.new_transport(c->o.transport_ud, st)
                              : kube_transport_curl_new(c->o.kube, st);
}

/* A client of its own for one thread; with lf, its lists are streamed (list_stream.h). */
static struct kube_client *new_client_filtered(struct controller *c, struct list_filter **lf,
                                               struct op_status *st) {
    struct kube_transport *t = new_transport(c, st);
    if (!t)
        return NULL;
    if (lf) {
        *lf = list_filter_new(t);
        t = list_filter_transport(*lf);
    }
    struct kube_client *k = kube_client_new_with_transport(c->o.kube, t, st);
    if (!k) {
        t->ops->destroy(t);
        return NULL;
    }
    kube_client_set_metrics(k, &c->metrics.kube);
    return k;
}

static struct kube_client *new_client(struct controller *c, struct op_status *st) {
    return new_client_filtered(c, NULL, st);
}

/* ---- enqueueing ---- */

static void enqueue(struct controller *c, const char *prefix, const char *key) {
    char buf[600];
    if (snprintf(buf, sizeof(buf), "%s%s", prefix, key) < (int)sizeof(buf))
        workqueue_add(c->queue, buf);
}

static void enqueue_all(struct controller *c, const char *prefix, struct store *s) {
    size_t n = 0;
    char **keys = store_keys(s, &n);
    for (size_t i = 0; i < n; i++) {
        enqueue(c, prefix, keys[i]);
        free(keys[i]);
    }
    free(keys);
}

static const char *md_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* Instrumentations whose spec.tracingModel names ns/name (their status says whether
 * the model exists). */
static void enqueue_followers(struct controller *c, const char *ns, const char *name) {
    json_t *all = store_list(c->caches.instrumentations, NULL);
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it) {
        const char *ins = md_str(it, "namespace"), *iname = md_str(it, "name");
        const char *ref = json_string_value(json_object_get(json_object_get(it, "spec"),
                                                            "tracingModel"));
        if (!ins || !iname || !ref)
            continue;
        const char *slash = strchr(ref, '/');
        int match = slash ? (size_t)(slash - ref) == strlen(ns) && !strncmp(ref, ns, strlen(ns)) &&
                                !strcmp(slash + 1, name)
                          : !strcmp(ins, ns) && !strcmp(ref, name);
        if (match) {
            char key[520];
            snprintf(key, sizeof(key), "%s/%s", ins, iname);
            enqueue(c, KEY_PREFIX_INST, key);
        }
    }
    json_decref(all);
}

static void enqueue_peers(struct controller *c, const char *ns) {
    json_t *peers = store_list(c->caches.instrumentations, ns);
    size_t i;
    json_t *it;
    json_array_foreach(peers, i, it) {
        char key[520];
        if (store_key_of(it, key, sizeof(key)) == 0)
            enqueue(c, KEY_PREFIX_INST, key);
    }
    json_decref(peers);
}

/* ---- informer handlers ---- */

static int same_json(const json_t *a, const json_t *b) {
    return (!a && !b) || (a && b && json_equal(a, b));
}

/* Worth a reconcile? A new object, a spec change (generation), deletion starting,
 * or a change of finalizers, labels or annotations. Status-only updates are not. */
static int meta_changed(const json_t *old, const json_t *obj) {
    if (!old)
        return 1;
    const json_t *om = json_object_get(old, "metadata"), *nm = json_object_get(obj, "metadata");
    static const char *const keys[] = {"generation", "deletionTimestamp", "finalizers",
                                       "labels", "annotations", "uid"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!same_json(json_object_get(om, keys[i]), json_object_get(nm, keys[i])))
            return 1;
    return 0;
}

static json_t *slim_namespace(const json_t *obj) {
    json_t *md = json_object_get(obj, "metadata");
    json_t *out = json_pack("{s:s,s:s,s:{}}", "apiVersion", "v1", "kind", "Namespace",
                            "metadata");
    json_t *omd = json_object_get(out, "metadata");
    static const char *const keep[] = {"name", "uid", "resourceVersion", "labels",
                                       "annotations"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *v = json_object_get(md, keep[i]);
        if (v)
            json_object_set(omd, keep[i], v);
    }
    json_object_del(json_object_get(omd, "annotations"),
                    "kubectl.kubernetes.io/last-applied-configuration");
    return out;
}

static struct store *feed_store(struct feed *f) {
    switch (f->kind) {
    case FEED_MODEL:
        return f->c->caches.models;
    case FEED_INST:
        return f->c->caches.instrumentations;
    case FEED_NAMESPACE:
        return f->c->caches.namespaces;
    case FEED_CHILD:
        break;
    }
    return NULL;
}

static void owner_changed(struct controller *c, const char *owner) {
    if (owner)
        enqueue(c, KEY_PREFIX_MODEL, owner);
}

static void h_upsert(void *ud, json_t *obj) {
    struct feed *f = ud;
    struct controller *c = f->c;
    if (f->kind == FEED_CHILD) {
        char *owner = NULL, *old_owner = NULL;
        if (children_put(c->caches.children, obj, &owner, &old_owner) > 0) {
            owner_changed(c, owner);
            if (old_owner && (!owner || strcmp(owner, old_owner) != 0))
                owner_changed(c, old_owner);
        }
        free(owner);
        free(old_owner);
        return;
    }
    if (f->kind == FEED_NAMESPACE) {
        store_put(c->caches.namespaces, slim_namespace(obj), NULL);
        return;
    }
    char key[520];
    if (store_key_of(obj, key, sizeof(key)) < 0)
        return;
    struct store *s = feed_store(f);
    json_t *old = store_get(s, key);
    json_t *o = json_incref(obj);
    store_strip(o);
    status_slim(o);
    if (store_put_if_newer(s, o) > 0 && meta_changed(old, obj)) {
        enqueue(c, f->kind == FEED_MODEL ? KEY_PREFIX_MODEL : KEY_PREFIX_INST, key);
        const char *ns = md_str(obj, "namespace"), *name = md_str(obj, "name");
        if (old && ns && name && f->kind == FEED_MODEL)
            enqueue_followers(c, ns, name);   /* what they inject may have changed */
        if (!old && ns && name) {
            if (f->kind == FEED_MODEL)
                enqueue_followers(c, ns, name);
            else
                enqueue_peers(c, ns);
        }
    }
    json_decref(old);
}

static void removed(struct controller *c, enum feed_kind kind, const json_t *obj) {
    const char *ns = md_str(obj, "namespace"), *name = md_str(obj, "name");
    if (!ns || !name)
        return;
    if (kind == FEED_MODEL)
        enqueue_followers(c, ns, name);
    else if (kind == FEED_INST)
        enqueue_peers(c, ns);
}

static void h_remove(void *ud, json_t *obj) {
    struct feed *f = ud;
    if (f->kind == FEED_CHILD) {
        char *owner = NULL;
        children_remove(f->c->caches.children, obj, &owner);
        owner_changed(f->c, owner);
        free(owner);
        return;
    }
    char key[520];
    if (store_key_of(obj, key, sizeof(key)) < 0)
        return;
    store_remove(feed_store(f), key, NULL);
    removed(f->c, f->kind, obj);
}

static void h_begin(void *ud) {
    struct feed *f = ud;
    if (f->kind == FEED_CHILD)
        f->mark = children_replace_begin(f->c->caches.children);
    else
        f->mark = store_replace_begin(feed_store(f));
}

static void on_owner_gone(void *ud, const char *owner) { owner_changed(ud, owner); }

static void on_store_removed(void *ud, const char *key, json_t *old) {
    (void)key;
    struct feed *f = ud;
    removed(f->c, f->kind, old);
}

/* Several informers (one per namespace) may feed one cache: a relist sweeps only its
 * own namespace. */
static void h_end(void *ud) {
    struct feed *f = ud;
    const char *ns = f->ns[0] ? f->ns : NULL;
    if (f->kind == FEED_CHILD) {
        children_replace_end(f->c->caches.children, f->mark, f->api_version, f->wk->kind, ns,
                             on_owner_gone, f->c);
        return;
    }
    if (f->kind == FEED_NAMESPACE && f->field_selector[0])
        return;   /* one named Namespace: a deletion arrives as a watch event */
    store_replace_end(feed_store(f), f->mark, ns, on_store_removed, f);
}

/* ---- informers ---- */

static int add_informer(struct controller *c, enum feed_kind kind, const struct watched_kind *wk,
                        const char *ns, struct op_status *st) {
    struct list_filter *lf = NULL;
    struct kube_client *k = new_client_filtered(c, &lf, st);
    if (!k)
        return st && st->code ? st->code : OP_ETRANSPORT;
    struct feed *f = xcalloc(1, sizeof(*f));
    f->c = c;
    f->kind = kind;
    f->wk = wk;
    snprintf(f->api_version, sizeof(f->api_version), "%s%s%s", wk->group, *wk->group ? "/" : "",
             wk->version);
    snprintf(f->ns, sizeof(f->ns), "%s", kind == FEED_NAMESPACE ? "" : ns ? ns : "");
    if (kind == FEED_NAMESPACE && ns)
        snprintf(f->field_selector, sizeof(f->field_selector), "metadata.name=%s", ns);
    struct informer_cfg ic = {
        .name = wk->resource,
        .api_version = f->api_version,
        .kind = wk->kind,
        .ref = {.group = wk->group, .version = wk->version, .resource = wk->resource,
                .ns = kind == FEED_NAMESPACE ? NULL : ns},
        .field_selector = f->field_selector[0] ? f->field_selector : NULL,
        .label_selector = kind == FEED_CHILD ? CHILD_SELECTOR : NULL,
        .watch_timeout_s = c->o.watch_timeout_s,
        .handler = {h_begin, h_upsert, h_remove, h_end, f},
        .clock = c->clock,
        .on_restart = ctrl_metrics_watch_restart,
        .restart_ud = &c->metrics,
    };
    struct informer *inf = informer_new(&ic, k, lf);
    pthread_mutex_lock(&c->mu);
    if (c->n_informers == c->cap_informers) {
        c->cap_informers = c->cap_informers ? c->cap_informers * 2 : 32;
        c->informers = xrealloc(c->informers, c->cap_informers * sizeof(*c->informers));
    }
    c->informers[c->n_informers++] = (struct informer_slot){inf, f, (int)kind};
    /* under the lock: controller_stop() either sees this informer or we see stopping */
    int rc = atomic_load(&c->stopping) ? 0 : informer_start(inf);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static const struct watched_kind model_kind = {"tracemodel.dev", "v1alpha1", "TracingModel",
                                               "tracingmodels", 0};
static const struct watched_kind inst_kind = {"tracemodel.dev", "v1alpha1", "Instrumentation",
                                              "instrumentations", 0};
static const struct watched_kind ns_kind = {"", "v1", "Namespace", "namespaces", 0};

/* One informer per namespace (or one for all) of wk. Namespaces themselves: with
 * --namespace, one informer per named Namespace (a field selector), so a
 * namespace-scoped operator needs no cluster-wide list permission. */
static int add_informers(struct controller *c, enum feed_kind kind, const struct watched_kind *wk,
                         struct op_status *st) {
    if (!c->o.n_namespaces)
        return add_informer(c, kind, wk, NULL, st);
    for (size_t i = 0; i < c->o.n_namespaces; i++) {
        int rc = add_informer(c, kind, wk, c->namespaces[i], st);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static char *api_version_of(const struct watched_kind *wk) {
    return *wk->group ? xasprintf("%s/%s", wk->group, wk->version) : xstrdup(wk->version);
}

/* Starts informers for optional kinds whose API is now served. Returns how many started. */
static int start_optional_informers(struct controller *c) {
    int started = 0;
    for (size_t i = 0; i < N_CHILD_KINDS; i++) {
        const struct watched_kind *wk = &child_kinds[i];
        if (!wk->optional || (c->optional_started & (1u << i)))
            continue;
        char *gv = api_version_of(wk);
        int served = kube_has_api(c->maint_client, gv);
        free(gv);
        if (!served)
            continue;
        struct op_status st = {0};
        if (add_informers(c, FEED_CHILD, wk, &st) == 0) {
            c->optional_started |= 1u << i;
            started++;
            log_info("controller", "API appeared, watching it", "resource", wk->resource);
        }
    }
    return started;
}

static int api_served(void *ud, const char *group_version) {
    struct controller *c = ud;
    return kube_has_api(c->maint_client, group_version);
}

/* ---- maintenance: discovery and resync ---- */

static unsigned served_mask(struct controller *c) {
    unsigned m = 0;
    for (size_t i = 0; i < N_CHILD_KINDS; i++) {
        if (!child_kinds[i].optional)
            continue;
        char *gv = api_version_of(&child_kinds[i]);
        if (kube_has_api(c->maint_client, gv))
            m |= 1u << i;
        free(gv);
    }
    return m;
}

static void *maint_main(void *arg) {
    struct controller *c = arg;
    int64_t discovery = c->o.discovery_ms > 0 ? c->o.discovery_ms : CTRL_DISCOVERY_MS;
    int64_t resync = c->o.resync_ms > 0 ? c->o.resync_ms : CTRL_RESYNC_MS;
    int64_t next_disc = op_now_ms(c->clock) + discovery;
    int64_t next_resync = op_now_ms(c->clock) + resync;
    unsigned mask = served_mask(c);
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->stopping)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&c->maint_wake, &c->mu, &ts);
        if (atomic_load(&c->stopping))
            break;
        int64_t now = op_now_ms(c->clock);
        pthread_mutex_unlock(&c->mu);
        if (now >= next_disc || !atomic_load(&c->discovered)) {
            next_disc = now + discovery;
            struct op_status st = {0};
            if (kube_discover(c->maint_client, &st) < 0) {
                log_warn("controller", "API discovery failed, will retry", "err",
                         op_errname(st.code), "detail", st.msg);
            } else {
                atomic_store(&c->discovered, 1);
                unsigned m = served_mask(c);
                start_optional_informers(c);
                if (m != mask) {
                    log_info("controller", "optional APIs changed, reconciling every model");
                    enqueue_all(c, KEY_PREFIX_MODEL, c->caches.models);
                }
                mask = m;
            }
        }
        if (now >= next_resync) {
            next_resync = now + resync;
            enqueue_all(c, KEY_PREFIX_MODEL, c->caches.models);
            enqueue_all(c, KEY_PREFIX_INST, c->caches.instrumentations);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- workers ---- */

struct worker_arg {
    struct controller *c;
    struct kube_client *client;
    struct list_filter *lf;          /* under client: pod lists are streamed */
};

static int wait_for_lead(struct controller *c) {
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->leading) && !atomic_load(&c->stopping))
        pthread_cond_wait(&c->gate, &c->mu);
    int go = !atomic_load(&c->stopping);
    pthread_mutex_unlock(&c->mu);
    return go;
}

static void process(struct controller *c, struct reconcile_env *env, const char *key) {
    int64_t t0 = op_now_ms(&op_clock_system);
    int is_model = !strncmp(key, KEY_PREFIX_MODEL, strlen(KEY_PREFIX_MODEL));
    int is_inst = !strncmp(key, KEY_PREFIX_INST, strlen(KEY_PREFIX_INST));
    int rc = RECONCILE_DONE;
    env->requeue_after_ms = 0;
    if (is_model)
        rc = reconcile_model(env, key + strlen(KEY_PREFIX_MODEL));
    else if (is_inst)
        rc = reconcile_instrumentation(env, key + strlen(KEY_PREFIX_INST));
    double secs = (double)(op_now_ms(&op_clock_system) - t0) / 1000.0;
    enum reconcile_kind rk = is_inst ? RK_INSTRUMENTATION : RK_MODEL;
    if (rc != RECONCILE_STOPPED && env->requeue_after_ms > 0)
        workqueue_add_after(c->queue, key, env->requeue_after_ms);   /* periodic pod checks */
    if (rc == RECONCILE_DONE) {
        workqueue_forget(c->queue, key);
        workqueue_done(c->queue, key);
        ctrl_metrics_reconciled(&c->metrics, rk, RO_SUCCESS, secs);
    } else if (rc == RECONCILE_STOPPED) {
        workqueue_done(c->queue, key);
        workqueue_add(c->queue, key);   /* for the next leader term; no backoff */
        ctrl_metrics_reconciled(&c->metrics, rk, RO_STOPPED, secs);
    } else {
        int64_t delay = workqueue_add_rate_limited(c->queue, key);
        workqueue_done(c->queue, key);
        ctrl_metrics_reconciled(&c->metrics, rk, RO_ERROR, secs);
        log_debug("controller", "reconcile failed, requeued", "key", key, "err", op_errname(rc),
                  LOG_INT("retryMs", delay));
    }
}

static void *worker_main(void *arg) {
    struct worker_arg *wa = arg;
    struct controller *c = wa->c;
    struct reconcile_env env = {
        .client = wa->client,
        .caches = &c->caches,
        .clock = c->clock,
        .render = c->o.render ? c->o.render : render_model,
        .api_served = api_served,
        .api_ud = c,
        .events = c->events,
        .leading = &c->leading,
        .rollout = c->rollout,
        .lf = wa->lf,
    };
    char *key = NULL;
    while (wait_for_lead(c) && workqueue_get(c->queue, &key)) {
        process(c, &env, key);
        free(key);
        key = NULL;
    }
    kube_client_free(wa->client);
    free(wa);
    return NULL;
}

static void set_leading(struct controller *c, int on) {
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->leading, on);
    atomic_store(&c->metrics.leader, on);
    pthread_cond_broadcast(&c->gate);
    pthread_mutex_unlock(&c->mu);
}

static void lead_started(void *ud) {
    struct controller *c = ud;
    set_leading(c, 1);
    enqueue_all(c, KEY_PREFIX_MODEL, c->caches.models);
    enqueue_all(c, KEY_PREFIX_INST, c->caches.instrumentations);
}

static void lead_stopped(void *ud) { set_leading(ud, 0); }

void controller_gauges(struct controller *c, struct ctrl_gauges *g) {
    g->queue_depth = workqueue_len(c->queue);
    g->models = store_len(c->caches.models);
    g->instrumentations = store_len(c->caches.instrumentations);
    g->namespaces = c->caches.namespaces ? store_len(c->caches.namespaces) : 0;
    g->children = children_len(c->caches.children);
}

void ctrl_tune_memory(void) { mallopt(M_ARENA_MAX, 2); }

/* ---- CRDs ---- */

int ctrl_install_crds(struct kube_client *client, struct op_status *st) {
    for (const struct op_embedded_file *f = op_embedded_crds; f->name; f++) {
        json_t *docs = yaml_load_all(f->data, f->len, st);
        if (!docs)
            return st ? st->code : OP_EPARSE;
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
            int rc = kube_apply(client, doc, NULL, st);
            if (rc < 0) {
                json_decref(docs);
                return rc;
            }
            log_info("controller", "applied CRD", "file", f->name, "name",
                     md_str(doc, "name"));
        }
        json_decref(docs);
    }
    return 0;
}

/* ---- lifecycle ---- */

struct controller *controller_new(const struct controller_opts *opts, struct op_status *st) {
    if (!opts->kube) {
        op_fail(st, OP_EINVALID, "controller: no API server configuration");
        return NULL;
    }
    if (opts->n_namespaces > CTRL_MAX_NAMESPACES) {
        op_fail(st, OP_EINVALID, "at most %d --namespace flags", CTRL_MAX_NAMESPACES);
        return NULL;
    }
    struct controller *c = xcalloc(1, sizeof(*c));
    c->o = *opts;
    c->clock = opts->clock ? opts->clock : &op_clock_system;
    c->namespaces = xcalloc(opts->n_namespaces + 1, sizeof(char *));
    for (size_t i = 0; i < opts->n_namespaces; i++)
        c->namespaces[i] = xstrdup(opts->namespaces[i]);
    c->o.namespaces = NULL;
    c->leader_ns = opts->leader_ns ? xstrdup(opts->leader_ns) : NULL;
    c->leader_id = xstrdup(opts->leader_id ? opts->leader_id : CTRL_DEFAULT_LEASE_ID);
    c->identity = opts->identity ? xstrdup(opts->identity) : leader_make_identity();
    if (c->o.concurrency <= 0)
        c->o.concurrency = CTRL_DEFAULT_CONCURRENCY;
    c->caches.models = store_new();
    c->caches.instrumentations = store_new();
    c->caches.namespaces = store_new();
    c->caches.children = children_new();
    ctrl_metrics_init(&c->metrics);
    c->queue = workqueue_new(c->clock);
    workqueue_set_observer(c->queue, ctrl_metrics_queue_observe, &c->metrics);
    c->events = events_new(c->identity, c->clock);
    c->rollout = rollout_memory_new();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->gate, NULL);
    pthread_cond_init(&c->maint_wake, NULL);
    atomic_init(&c->leading, 0);
    atomic_init(&c->stopping, 0);
    atomic_init(&c->workers_started, 0);
    atomic_init(&c->discovered, 0);
    return c;
}

int controller_start(struct controller *c, struct op_status *st) {
    json_object_seed(0);   /* before any thread creates JSON objects */
    c->maint_client = new_client(c, st);
    if (!c->maint_client)
        return st && st->code ? st->code : OP_ETRANSPORT;
    int rc;
    if (c->o.install_crds && (rc = ctrl_install_crds(c->maint_client, st)) < 0)
        return rc;
    struct op_status dst = {0};
    if (kube_discover(c->maint_client, &dst) < 0)
        log_warn("controller", "API discovery failed, will retry before reconciling", "err",
                 op_errname(dst.code), "detail", dst.msg);
    else
        atomic_store(&c->discovered, 1);
    if ((rc = add_informers(c, FEED_MODEL, &model_kind, st)) < 0 ||
        (rc = add_informers(c, FEED_INST, &inst_kind, st)) < 0 ||
        (rc = add_informers(c, FEED_NAMESPACE, &ns_kind, st)) < 0)
        return rc;
    for (size_t i = 0; i < N_CHILD_KINDS; i++)
        if (!child_kinds[i].optional &&
            (rc = add_informers(c, FEED_CHILD, &child_kinds[i], st)) < 0)
            return rc;
    start_optional_informers(c);
    if (pthread_create(&c->maint, NULL, maint_main, c) != 0)
        return op_fail(st, OP_EIO, "cannot start the maintenance thread");
    c->maint_running = 1;
    return 0;
}

int controller_synced(struct controller *c) {
    pthread_mutex_lock(&c->mu);
    int all = c->n_informers > 0;
    int models = 1, insts = 1;
    for (size_t i = 0; i < c->n_informers; i++) {
        int s = informer_synced(c->informers[i].inf);
        if (c->informers[i].store_kind != FEED_NAMESPACE)   /* webhook only: never gates */
            all &= s;
        if (c->informers[i].store_kind == FEED_MODEL)
            models &= s;
        if (c->informers[i].store_kind == FEED_INST)
            insts &= s;
    }
    pthread_mutex_unlock(&c->mu);
    /* without discovery every optional integration would look absent: wait for it */
    all &= atomic_load(&c->discovered);
    if (models && !store_synced(c->caches.models))
        store_set_synced(c->caches.models, 1);
    if (insts && !store_synced(c->caches.instrumentations))
        store_set_synced(c->caches.instrumentations, 1);
    return all;
}

int controller_start_workers(struct controller *c, struct op_status *st) {
    if (atomic_exchange(&c->workers_started, 1))
        return 0;
    c->workers = xcalloc((size_t)c->o.concurrency, sizeof(*c->workers));
    for (int i = 0; i < c->o.concurrency; i++) {
        struct worker_arg *wa = xmalloc(sizeof(*wa));
        wa->c = c;
        wa->lf = NULL;
        wa->client = new_client_filtered(c, &wa->lf, st);
        if (!wa->client) {
            free(wa);
            return st && st->code ? st->code : OP_ETRANSPORT;
        }
        if (pthread_create(&c->workers[i], NULL, worker_main, wa) != 0) {
            kube_client_free(wa->client);
            free(wa);
            return op_fail(st, OP_EIO, "cannot start worker %d", i);
        }
        c->n_workers++;
    }
    if (!c->o.leader_elect) {
        lead_started(c);
        return 0;
    }
    struct kube_client *lc = new_client(c, st);
    if (!lc)
        return st && st->code ? st->code : OP_ETRANSPORT;
    const char *ns = c->leader_ns ? c->leader_ns : kube_client_namespace(lc);
    struct leader_callbacks cb = {lead_started, lead_stopped, c};
    c->leader = leader_loop_new(lc, c->identity, ns, c->leader_id, c->clock, &cb);
    log_info("controller", "leader election", "lease", c->leader_id, "namespace", ns,
             "identity", c->identity);
    return leader_loop_start(c->leader);
}

static int64_t wall_now(void) { return op_wall_ms(&op_clock_system); }

static int timed_join(pthread_t t, int64_t deadline_wall) {
    struct timespec ts = {.tv_sec = (time_t)(deadline_wall / 1000),
                          .tv_nsec = (long)(deadline_wall % 1000) * 1000000L};
    return pthread_timedjoin_np(t, NULL, &ts) == 0 ? 0 : -1;
}

static void *release_main(void *arg) {
    leader_loop_stop_and_release(arg);
    return NULL;
}

int controller_stop(struct controller *c, int64_t deadline_ms) {
    int64_t end = wall_now() + deadline_ms;
    int stuck = 0;
    atomic_store(&c->stopping, 1);
    set_leading(c, 0);   /* no write from here on: reconciles in flight stop before theirs */
    workqueue_shutdown(c->queue);
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->maint_wake);
    for (size_t i = 0; i < c->n_informers; i++)
        informer_request_stop(c->informers[i].inf);
    pthread_mutex_unlock(&c->mu);
    /* workers first (60% of the time), so the Lease is released only when no worker writes */
    for (int i = 0; i < c->n_workers; i++)
        stuck |= timed_join(c->workers[i], wall_now() + (end - wall_now()) * 6 / 10);
    if (c->leader) {
        pthread_t t;
        if (pthread_create(&t, NULL, release_main, c->leader) == 0)
            stuck |= timed_join(t, wall_now() + (end - wall_now()) * 7 / 10);
    }
    if (c->maint_running)
        stuck |= timed_join(c->maint, end);
    for (size_t i = 0; i < c->n_informers; i++)
        stuck |= informer_join(c->informers[i].inf, end);
    if (stuck)
        log_warn("controller", "some threads did not stop in time; exiting anyway");
    return stuck ? -1 : 0;
}

void controller_free(struct controller *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n_informers; i++) {
        informer_free(c->informers[i].inf);
        free(c->informers[i].feed);
    }
    free(c->informers);
    leader_loop_free(c->leader);
    kube_client_free(c->maint_client);
    free(c->workers);
    workqueue_free(c->queue);
    events_free(c->events);
    rollout_memory_free(c->rollout);
    store_free(c->caches.models);
    store_free(c->caches.instrumentations);
    store_free(c->caches.namespaces);
    children_free(c->caches.children);
    ctrl_metrics_done(&c->metrics);
    for (size_t i = 0; i < c->o.n_namespaces; i++)
        free(c->namespaces[i]);
    free(c->namespaces);
    free(c->leader_ns);
    free(c->leader_id);
    free(c->identity);
    pthread_cond_destroy(&c->gate);
    pthread_cond_destroy(&c->maint_wake);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct ctrl_caches *controller_caches(struct controller *c) { return &c->caches; }
const struct kube_config *controller_kube_config(struct controller *c) { return c->o.kube; }
struct ctrl_metrics *controller_metrics(struct controller *c) { return &c->metrics; }
int controller_is_leader(struct controller *c) { return atomic_load(&c->leading); }
size_t controller_queue_len(struct controller *c) { return workqueue_len(c->queue); }
