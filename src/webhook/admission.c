/* admission.c - AdmissionReview v1 decoding, dispatch to pod mutation or validation,
 * and the AdmissionReview response (see admission.h). Pure: cluster state comes only
 * through the admission_ctx callbacks. */
#include "webhook/admission.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/err.h"
#include "base/jarena.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "model/instrumentation.h"
#include "webhook/jsonpatch.h"
#include "webhook/workload.h"
#include "model/model.h"

#define MAX_WARNINGS 20
#define MAX_MESSAGE 8192
#define INJECT_PREFIX "tracemodel.dev/inject-"

enum route {
    ROUTE_NONE,
    ROUTE_MUTATE,
    ROUTE_VALIDATE_TM,
    ROUTE_VALIDATE_TINST,
    ROUTE_VALIDATE_WORKLOAD,
};

static const char *str_at(const json_t *obj, const char *key) {
    return json_string_value(json_is_object(obj) ? json_object_get(obj, key) : NULL);
}

static enum route route_of(const char *path) {
    if (!path)
        return ROUTE_NONE;
    size_t n = strcspn(path, "?");   /* the API server appends ?timeout=10s */
    static const struct { const char *p; enum route r; } routes[] = {
        {ADMISSION_PATH_MUTATE_POD, ROUTE_MUTATE},
        {ADMISSION_PATH_VALIDATE_TM, ROUTE_VALIDATE_TM},
        {ADMISSION_PATH_VALIDATE_TINST, ROUTE_VALIDATE_TINST},
        {ADMISSION_PATH_VALIDATE_WORKLOAD, ROUTE_VALIDATE_WORKLOAD},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strlen(routes[i].p) == n && !strncmp(path, routes[i].p, n))
            return routes[i].r;
    return ROUTE_NONE;
}

/* Appends the base64 (RFC 4648, padded, no line breaks) of data to b. */
static void append_base64(struct strbuf *b, const char *data, size_t len) {
    size_t n = 4 * ((len + 2) / 3);
    char *tmp = xmalloc(n + 1);
    int w = len ? EVP_EncodeBlock((unsigned char *)tmp, (const unsigned char *)data, (int)len) : 0;
    strbuf_append(b, tmp, w > 0 ? (size_t)w : 0);
    free(tmp);
}

/* new ref: a JSON string of at most max bytes, cut at a UTF-8 boundary */
static json_t *capped_string(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    json_t *v = json_stringn(s, n);
    return v ? v : json_string("(message is not valid UTF-8)");
}

/* ---- the response -------------------------------------------------------- */

struct response {
    const char *uid;
    int allowed;
    int code;               /* status.code when denied / explaining; 0 = none */
    const char *message;
    json_t *patch;          /* borrowed, may be NULL */
    json_t *warnings;       /* borrowed array of strings, may be NULL */
};

/* The answer is written straight into a buffer rather than built as a jansson tree and
 * dumped: same bytes as json_dumps(JSON_COMPACT) of
 * {"apiVersion","kind","response":{uid, allowed, status, patchType, patch, warnings}},
 * a fraction of the cost (the 3.7 KB base64 patch needs no escaping). */
static void emit(const struct response *r, struct admission_result *out) {
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_puts(&b, "{\"apiVersion\":\"" ADMISSION_API_VERSION "\",\"kind\":\"AdmissionReview\","
                    "\"response\":{\"uid\":");
    const char *uid = r->uid ? r->uid : "";
    jp_quote(&b, uid, strlen(uid));
    strbuf_puts(&b, r->allowed ? ",\"allowed\":true" : ",\"allowed\":false");
    if (r->code || r->message) {
        strbuf_puts(&b, ",\"status\":{");
        int first = 1;
        if (r->code) {
            strbuf_printf(&b, "\"code\":%d", r->code);
            first = 0;
        }
        if (r->message) {
            json_t *m = capped_string(r->message, MAX_MESSAGE);
            strbuf_puts(&b, first ? "\"message\":" : ",\"message\":");
            jp_dump(&b, m);
            json_decref(m);
            first = 0;
        }
        const char *reason = r->code == 422   ? "Invalid"
                             : r->code == 400 ? "BadRequest"
                             : r->code == 413 ? "RequestEntityTooLarge"
                                              : NULL;
        if (reason)
            strbuf_printf(&b, "%s\"reason\":\"%s\"", first ? "" : ",", reason);
        strbuf_append(&b, "}", 1);
    }
    if (r->patch && json_array_size(r->patch)) {
        struct strbuf p;
        strbuf_init(&p, 0);
        jp_dump(&p, r->patch);
        strbuf_puts(&b, ",\"patchType\":\"JSONPatch\",\"patch\":\"");
        append_base64(&b, p.buf, p.len);
        strbuf_append(&b, "\"", 1);
        strbuf_free(&p);
    }
    if (json_array_size(r->warnings)) {
        strbuf_puts(&b, ",\"warnings\":[");
        size_t i, shown = 0;
        json_t *v;
        json_array_foreach(r->warnings, i, v) {
            if (i >= MAX_WARNINGS)
                break;
            if (!json_is_string(v))
                continue;
            json_t *w = capped_string(json_string_value(v), ADMISSION_MAX_WARNING);
            if (shown++)
                strbuf_append(&b, ",", 1);
            jp_dump(&b, w);
            json_decref(w);
        }
        strbuf_append(&b, "]", 1);
    }
    strbuf_append(&b, "}}", 2);
    out->body = strbuf_detach(&b, &out->len);
    out->http_status = 200;
    out->allowed = r->allowed;
}

static void set_str(char **dst, const char *s) {
    free(*dst);
    *dst = xstrdup(s ? s : "");
}

/* ---- decoding ------------------------------------------------------------- */

/* The request object of a well-formed AdmissionReview v1, or NULL with why filled. */
static const json_t *review_request(const json_t *review, char *why, size_t n) {
    if (!json_is_object(review))
        return snprintf(why, n, "the body is not a JSON object"), NULL;
    const char *av = str_at(review, "apiVersion"), *kind = str_at(review, "kind");
    if (!av || strcmp(av, ADMISSION_API_VERSION))
        return snprintf(why, n, "apiVersion must be " ADMISSION_API_VERSION), NULL;
    if (!kind || strcmp(kind, "AdmissionReview"))
        return snprintf(why, n, "kind must be AdmissionReview"), NULL;
    const json_t *req = json_object_get(review, "request");
    if (!json_is_object(req))
        return snprintf(why, n, "request is missing"), NULL;
    const char *uid = str_at(req, "uid");
    if (!uid || !*uid)
        return snprintf(why, n, "request.uid is missing"), NULL;
    return req;
}

/* ---- pod mutation ----------------------------------------------------------- */

/* Appends "tracing-operator: <what>: <detail>" to w. */
static void warn_list(json_t *w, const char *what, const char *detail) {
    char *s = xasprintf("tracing-operator: %s: %s", what, detail);
    json_array_append_new(w, capped_string(s, ADMISSION_MAX_WARNING));
    free(s);
}

static void add_unique(json_t *arr, json_t *obj) {
    const json_t *md = json_object_get(obj, "metadata");
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const json_t *omd = json_object_get(o, "metadata");
        if (json_equal(json_object_get(md, "name"), json_object_get(omd, "name")) &&
            json_equal(json_object_get(md, "namespace"), json_object_get(omd, "namespace"))) {
            json_decref(obj);
            return;
        }
    }
    json_array_append_new(arr, obj);
}

/* new ref: obj with metadata.namespace = ns when it has none */
static json_t *with_namespace(json_t *obj, const char *ns) {
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(obj) || !json_is_object(md) || str_at(md, "namespace"))
        return json_incref(obj);
    json_t *c = json_deep_copy(obj);
    json_object_set_new(json_object_get(c, "metadata"), "namespace", json_string(ns));
    return c;
}

/* Appends the Instrumentations of ns to all. -1 when the lookup failed. */
static int add_instrumentations(const struct admission_ctx *ctx, const char *ns, json_t *all) {
    if (!ctx || !ctx->list_instrumentations)
        return 0;
    int failed = 0;
    json_t *list = ctx->list_instrumentations(ctx->user, ns, &failed);
    if (!list)
        return failed ? -1 : 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        if (json_is_object(o) && str_at(json_object_get(o, "metadata"), "name"))
            add_unique(all, with_namespace(o, ns));
    }
    json_decref(list);
    return 0;
}

/* ---- what the pod path never reads ----
 * Members of a pod AdmissionReview that nothing on the pod path reads (admission.c,
 * mutate.c) and that the patch never carries (the patch only adds to the pod), left
 * out when the body is parsed: in a real pod, managedFields, probes and the like are
 * a third to a half of the body. Reading one of them on the pod path means taking it
 * out of this list; test_webhook_admission answers every mutation fixture, with these
 * members filled in, with and without the list and wants the same bytes. */
static const struct jp_prune PRUNE_CONTAINER[] = {
    {"livenessProbe", NULL, 0}, {"readinessProbe", NULL, 0}, {"startupProbe", NULL, 0},
    {"lifecycle", NULL, 0},     {"ports", NULL, 0},          {"args", NULL, 0},
    {"command", NULL, 0},       {NULL, NULL, 0},
};
static const struct jp_prune PRUNE_POD_SPEC[] = {
    {"containers", PRUNE_CONTAINER, 1}, {"initContainers", PRUNE_CONTAINER, 1},
    {"tolerations", NULL, 0},           {"affinity", NULL, 0},
    {"topologySpreadConstraints", NULL, 0}, {NULL, NULL, 0},
};
static const struct jp_prune PRUNE_POD_METADATA[] = {
    {"managedFields", NULL, 0}, {NULL, NULL, 0},
};
static const struct jp_prune PRUNE_POD[] = {
    {"metadata", PRUNE_POD_METADATA, 0}, {"spec", PRUNE_POD_SPEC, 0},
    {"status", NULL, 0},                 {NULL, NULL, 0},
};
static const struct jp_prune PRUNE_REQUEST[] = {
    {"object", PRUNE_POD, 0},       {"oldObject", NULL, 0},     {"userInfo", NULL, 0},
    {"options", NULL, 0},           {"requestKind", NULL, 0},   {"requestResource", NULL, 0},
    {"resource", NULL, 0},          {NULL, NULL, 0},
};
static const struct jp_prune PRUNE_REVIEW[] = {
    {"request", PRUNE_REQUEST, 0}, {NULL, NULL, 0},
};

/* ---- defaulted TracingModels and Instrumentations between requests ---- */

struct cache_entry {
    char *key;          /* "<kind> ns/name\nuid\nresourceVersion" */
    json_t *val;        /* defaulted object, or NULL when it did not load */
    char *err;          /* why it did not load (may be NULL) */
};

struct admission_cache {
    pthread_mutex_t mu;
    struct cache_entry e[ADMISSION_CACHE_MAX];
    size_t n, next;     /* entries used; the slot replaced when full (round robin) */
};

struct admission_cache *admission_cache_new(void) {
    struct admission_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_free(struct cache_entry *e) {
    free(e->key);
    json_decref(e->val);
    free(e->err);
}

void admission_cache_free(struct admission_cache *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_free(&c->e[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* new string, or NULL when m has no resourceVersion (then it is not cached) */
static char *cache_key(const char *kind, const json_t *m, const char *ns, const char *name) {
    const json_t *md = json_object_get(m, "metadata");
    const char *rv = str_at(md, "resourceVersion"), *uid = str_at(md, "uid");
    return rv && *rv ? xasprintf("%s %s/%s\n%s\n%s", kind, ns, name, uid ? uid : "", rv)
                     : NULL;
}

/* 1 on a hit: *val = new ref (or NULL), *err = new string (or NULL) */
static int cache_get(struct admission_cache *c, const char *key, json_t **val, char **err) {
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n && !hit; i++) {
        if (strcmp(c->e[i].key, key))
            continue;
        hit = 1;
        *val = json_incref(c->e[i].val);
        if (err)
            *err = c->e[i].err ? xstrdup(c->e[i].err) : NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

static void cache_put(struct admission_cache *c, const char *key, json_t *val, const char *err) {
    size_t klen = strcspn(key, "\n") + 1;   /* "kind ns/name\n": an older version goes */
    pthread_mutex_lock(&c->mu);
    size_t slot = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(c->e[i].key, key, klen))
            slot = i;
    if (slot == ADMISSION_CACHE_MAX) {
        slot = c->next;
        c->next = (c->next + 1) % ADMISSION_CACHE_MAX;
    }
    if (slot < c->n)
        entry_free(&c->e[slot]);
    else
        c->n++;
    c->e[slot].key = xstrdup(key);
    c->e[slot].val = json_incref(val);
    c->e[slot].err = err ? xstrdup(err) : NULL;
    pthread_mutex_unlock(&c->mu);
}

/* new ref: the TracingModel defaulted, from the cache when it has this version */
static json_t *defaulted_model(struct admission_cache *cache, json_t *m, const char *ns,
                               const char *name) {
    char *key = cache ? cache_key(TM_KIND, m, ns, name) : NULL;
    json_t *d = NULL;
    if (!key || !cache_get(cache, key, &d, NULL) || !d) {
        /* a cache entry outlives the request: built outside the arena, from a
         * copy (m may be arena memory: a lookup may build it per request) */
        if (key)
            jarena_pause();
        json_t *own = key ? json_deep_copy(m) : json_incref(m);
        json_t *named = with_namespace(own, ns);
        d = tm_default(named);
        json_decref(named);
        json_decref(own);
        if (d && key)
            cache_put(cache, key, d, NULL);
        if (key)
            jarena_resume();
    }
    free(key);
    return d;
}

/* mutate_loader.load_instrumentation over the cache (user): raw carries
 * metadata.namespace (add_instrumentations sets it). An Instrumentation that does
 * not load is kept too, with its error, until its next version. */
static json_t *cached_instrumentation(void *user, const json_t *raw, char **error) {
    struct admission_cache *cache = user;
    const json_t *md = json_object_get(raw, "metadata");
    const char *ns = str_at(md, "namespace"), *name = str_at(md, "name");
    char *key = ns && name ? cache_key(TINST_KIND, raw, ns, name) : NULL;
    json_t *inst = NULL;
    *error = NULL;
    if (!key || !cache_get(cache, key, &inst, error)) {
        if (key) {   /* outlives the request: outside the arena (see defaulted_model) */
            jarena_pause();
            json_t *own = json_deep_copy(raw);
            inst = mutate_load_instrumentation(own, error);
            json_decref(own);
            cache_put(cache, key, inst, *error);
            jarena_resume();
        } else {
            inst = mutate_load_instrumentation(raw, error);
        }
    }
    free(key);
    return inst;
}

static void add_model(const struct admission_ctx *ctx, struct admission_cache *cache,
                      const char *ref, const char *dflt_ns, json_t *models) {
    char ns[TINST_REF_MAX], name[TINST_REF_MAX];
    if (!ctx || !ctx->get_tracingmodel || !ref || tinst_ref_parse(ref, dflt_ns, ns, name))
        return;
    json_t *m = ctx->get_tracingmodel(ctx->user, ns, name);
    if (!json_is_object(m)) {
        json_decref(m);
        return;
    }
    json_t *d = defaulted_model(cache, m, ns, name);
    json_decref(m);
    if (d)
        add_unique(models, d);
}

static int has_inject_annotation(const json_t *ann) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ann, k, v) {
        if (!strncmp(k, INJECT_PREFIX, strlen(INJECT_PREFIX)))
            return 1;
    }
    return 0;
}

/* Every namespace named by "<ns>/<name>" in an inject-<lang> annotation. */
static void referenced_namespaces(const json_t *ann, const char *pod_ns, json_t *set) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ann, k, v) {
        if (strncmp(k, INJECT_PREFIX, strlen(INJECT_PREFIX)) || !json_is_string(v) ||
            !strcmp(k, INJECT_PREFIX "sidecar"))
            continue;
        char ns[TINST_REF_MAX], name[TINST_REF_MAX];
        if (!tinst_ref_parse(json_string_value(v), pod_ns, ns, name) && strcmp(ns, pod_ns))
            json_object_set_new(set, ns, json_true());
    }
}

static void fill_pod_identity(const json_t *pod, const char *ns, struct admission_result *out) {
    const json_t *md = json_object_get(pod, "metadata");
    const char *name = str_at(md, "name");
    set_str(&out->pod_namespace, ns);
    set_str(&out->pod_name, name && *name ? name : str_at(md, "generateName"));
    const json_t *refs = json_object_get(md, "ownerReferences");
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) {
        if (!json_is_true(json_object_get(r, "controller")))
            continue;
        set_str(&out->owner_kind, str_at(r, "kind"));
        set_str(&out->owner_name, str_at(r, "name"));
        set_str(&out->owner_uid, str_at(r, "uid"));
        break;
    }
}

/* Runs mutate_pod with everything the pod may need from the cluster. */
static void handle_mutate(const json_t *req, const struct admission_ctx *ctx,
                          struct admission_cache *cache, struct admission_result *out,
                          json_t *warnings, json_t **patch) {
    const char *op = str_at(req, "operation");
    const char *kind = str_at(json_object_get(req, "kind"), "kind");
    const json_t *pod = json_object_get(req, "object");
    if ((op && strcmp(op, "CREATE")) || (kind && strcmp(kind, "Pod")))
        return;   /* only pod CREATE is mutated; anything else passes untouched */
    const char *ns = str_at(req, "namespace");
    if (!ns || !*ns)
        ns = str_at(json_object_get(pod, "metadata"), "namespace");
    fill_pod_identity(pod, ns, out);
    if (!ns || !*ns) {
        warn_list(warnings, "pod admitted without instrumentation",
                  "request.namespace is missing");
        out->decision = MUTATE_ERROR;
        set_str(&out->reason, "request.namespace is missing");
        return;
    }
    json_t *ns_obj = ctx && ctx->get_namespace ? ctx->get_namespace(ctx->user, ns) : NULL;
    const json_t *pod_ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
    const json_t *ns_ann = json_object_get(json_object_get(ns_obj, "metadata"), "annotations");
    if (!json_is_object(pod_ann))
        pod_ann = NULL;
    if (!json_is_object(ns_ann))
        ns_ann = NULL;
    json_t *insts = json_array(), *models = json_array();
    int failed = 0;
    if (has_inject_annotation(pod_ann) || has_inject_annotation(ns_ann)) {
        json_t *nss = json_object();
        referenced_namespaces(pod_ann, ns, nss);
        referenced_namespaces(ns_ann, ns, nss);
        failed |= add_instrumentations(ctx, ns, insts);
        const char *k;
        json_t *v;
        json_object_foreach(nss, k, v) {
            failed |= add_instrumentations(ctx, k, insts);
        }
        json_decref(nss);
        size_t i;
        json_t *o;
        json_array_foreach(insts, i, o) {
            add_model(ctx, cache, str_at(json_object_get(o, "spec"), "tracingModel"),
                      str_at(json_object_get(o, "metadata"), "namespace"), models);
        }
        const char *sc = str_at(pod_ann, INJECT_PREFIX "sidecar");
        if (!sc || !*sc)
            sc = str_at(ns_ann, INJECT_PREFIX "sidecar");
        if (sc && strcasecmp(sc, "true") && strcasecmp(sc, "false"))
            add_model(ctx, cache, sc, ns, models);
    }
    if (failed) {
        warn_list(warnings, "pod admitted without instrumentation",
                  "the Instrumentation lookup failed");
        out->decision = MUTATE_ERROR;
        set_str(&out->reason, "the Instrumentation lookup failed");
    } else {
        struct mutate_input in = {pod, ns, ns_obj, insts, models};
        struct mutate_loader loader = {cached_instrumentation, cache};
        struct mutate_result res;
        int rc = mutate_pod_loaded(&in, cache ? &loader : NULL, &res);
        out->decision = res.decision;
        set_str(&out->langs, res.langs);
        set_str(&out->reason, res.reason);
        set_str(&out->instrumentation, res.instrumentation);
        json_array_extend(warnings, res.warnings);
        if (rc)
            warn_list(warnings, "pod admitted without instrumentation",
                      res.reason);
        else if (res.decision == MUTATE_SKIPPED)
            warn_list(warnings, "instrumentation skipped", res.reason);
        else
            *patch = json_incref(res.patch);
        if (res.decision == MUTATE_SKIPPED)
            *patch = json_incref(res.patch);   /* the status annotation only */
        mutate_result_free(&res);
    }
    json_decref(insts);
    json_decref(models);
    json_decref(ns_obj);
}

/* ---- validation ---------------------------------------------------------------- */

static void diag_to_response(struct diag *d, const char *kind, const char *name,
                             json_t *warnings, struct strbuf *msg) {
    size_t shown = 0;
    for (size_t i = 0; i < d->len; i++) {
        char *s = diag_item_format(&d->items[i]);
        if (d->items[i].level == DIAG_WARNING) {
            json_array_append_new(warnings, capped_string(s, ADMISSION_MAX_WARNING));
        } else {
            if (!shown++)
                strbuf_printf(msg, "%s %s is invalid: ", kind, name ? name : "");
            else
                strbuf_puts(msg, "; ");
            strbuf_puts(msg, s);
        }
        free(s);
    }
    if (d->errors > shown)
        strbuf_printf(msg, "; and %zu more", d->errors - shown);
}

static void handle_validate(enum route r, const json_t *req, const struct admission_ctx *ctx,
                            struct response *resp, json_t *warnings, struct strbuf *msg) {
    const char *op = str_at(req, "operation");
    if (op && !strcmp(op, "DELETE"))
        return;
    const json_t *obj = json_object_get(req, "object");
    if (!json_is_object(obj)) {
        resp->allowed = 0;
        resp->code = 400;
        strbuf_puts(msg, "request.object is missing");
        return;
    }
    const char *name = str_at(json_object_get(obj, "metadata"), "name");
    struct diag d;
    diag_init(&d);
    json_t *loaded = r == ROUTE_VALIDATE_TM ? tm_load(obj, 0, &d) : tinst_load(obj, 0, &d);
    if (loaded && r == ROUTE_VALIDATE_TINST && ctx && ctx->get_tracingmodel) {
        const char *ref = str_at(json_object_get(loaded, "spec"), "tracingModel");
        const char *ns = str_at(json_object_get(obj, "metadata"), "namespace");
        if (!ns)
            ns = str_at(req, "namespace");
        char mns[TINST_REF_MAX], mname[TINST_REF_MAX];
        if (ref && ns && !tinst_ref_parse(ref, ns, mns, mname)) {
            json_t *m = ctx->get_tracingmodel(ctx->user, mns, mname);
            if (!m)
                diag_warn(&d, "spec.tracingModel",
                          "TracingModel %s/%s does not exist (yet): pods are skipped until it "
                          "does", mns, mname);
            json_decref(m);
        }
    }
    diag_to_response(&d, r == ROUTE_VALIDATE_TM ? TM_KIND : TINST_KIND, name, warnings, msg);
    if (d.errors) {
        resp->allowed = 0;
        resp->code = 422;
    }
    diag_done(&d);
    json_decref(loaded);
}

/* Workloads: always allowed; a warning per annotation that cannot reach the pods. */
static void handle_workload(const json_t *req, json_t *warnings) {
    const char *op = str_at(req, "operation");
    if (op && strcmp(op, "CREATE") && strcmp(op, "UPDATE"))
        return;
    const json_t *obj = json_object_get(req, "object");
    const char *kind = str_at(json_object_get(req, "kind"), "kind");
    json_t *found = json_array();
    workload_warnings(obj, kind, found);
    size_t i;
    json_t *w;
    json_array_foreach(found, i, w)
        json_array_append_new(warnings, capped_string(json_string_value(w),
                                                      ADMISSION_MAX_WARNING));
    json_decref(found);
}

/* ---- entry point ---------------------------------------------------------------- */

static void result_init(struct admission_result *out) {
    memset(out, 0, sizeof(*out));
    char **strs[] = {&out->langs, &out->reason, &out->instrumentation, &out->pod_namespace,
                     &out->pod_name, &out->owner_kind, &out->owner_name, &out->owner_uid,
                     &out->uid};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        *strs[i] = xstrdup("");
}

int admission_handle(const char *path, const char *body, size_t len,
                     const struct admission_ctx *ctx, struct admission_result *out) {
    return admission_handle_cached(path, body, len, ctx, NULL, out);
}

int admission_handle_cached(const char *path, const char *body, size_t len,
                            const struct admission_ctx *ctx, struct admission_cache *cache,
                            struct admission_result *out) {
    result_init(out);
    /* every jansson value of this request comes from the thread's arena and goes
     * at once at the end (base/jarena.h); out holds only malloc'd strings */
    jarena_begin();
    enum route r = route_of(path);
    if (r == ROUTE_NONE) {
        out->body = xstrdup("404 not found: the webhook serves " ADMISSION_PATH_MUTATE_POD ", "
                            ADMISSION_PATH_VALIDATE_TM ", " ADMISSION_PATH_VALIDATE_TINST " and "
                            ADMISSION_PATH_VALIDATE_WORKLOAD "\n");
        out->len = strlen(out->body);
        out->http_status = 404;
        jarena_end();
        return OP_EINVALID;
    }
    int mutate = r == ROUTE_MUTATE;
    int never_refuse = mutate || r == ROUTE_VALIDATE_WORKLOAD;
    struct response resp = {NULL, 1, 0, NULL, NULL, NULL};
    json_t *warnings = json_array();
    json_t *patch = NULL;
    struct strbuf msg;
    strbuf_init(&msg, 0);
    json_t *review = NULL;
    const json_t *req = NULL;
    char why[256];
    int rc = 0;
    if (!body || len > ADMISSION_MAX_BODY) {
        snprintf(why, sizeof(why), "the request body is %s (limit %u bytes)",
                 body ? "too large" : "missing", ADMISSION_MAX_BODY);
    } else {
        json_error_t jerr;
        review = mutate && !(ctx && ctx->parse_whole_request)
                     ? jp_load_pruned(body, len, PRUNE_REVIEW, &jerr)
                     : jp_load(body, len, &jerr);
        if (!review)
            snprintf(why, sizeof(why), "the body is not JSON: %s", jerr.text);
        else
            req = review_request(review, why, sizeof(why));
        if (!req) {   /* echo a uid when there is one, so the API server can match */
            const char *uid = str_at(json_object_get(review, "request"), "uid");
            set_str(&out->uid, uid);
        }
    }
    if (!req) {
        rc = OP_EINVALID;
        if (mutate) {
            warn_list(warnings, "pod admitted without instrumentation",
                      why);
            out->decision = MUTATE_ERROR;
            set_str(&out->reason, why);
        } else if (never_refuse) {
            warn_list(warnings, "workload not checked", why);
        } else {
            resp.allowed = 0;
            resp.code = body && len > ADMISSION_MAX_BODY ? 413 : 400;
            strbuf_printf(&msg, "malformed AdmissionReview: %s", why);
        }
    } else {
        set_str(&out->uid, str_at(req, "uid"));
        out->dry_run = json_is_true(json_object_get(req, "dryRun"));
        if (mutate)
            handle_mutate(req, ctx, cache, out, warnings, &patch);
        else if (r == ROUTE_VALIDATE_WORKLOAD)
            handle_workload(req, warnings);
        else
            handle_validate(r, req, ctx, &resp, warnings, &msg);
    }
    resp.uid = out->uid;
    resp.patch = patch;
    resp.warnings = warnings;
    out->warnings = json_array_size(warnings);
    resp.message = msg.len ? msg.buf : NULL;
    emit(&resp, out);
    strbuf_free(&msg);
    json_decref(patch);   /* may hold references to cached objects: a real decref */
    json_decref(warnings);
    jarena_release(review);   /* parsed here, refers to nothing else */
    jarena_end();
    return rc;
}

void admission_result_free(struct admission_result *r) {
    if (!r)
        return;
    free(r->body);
    free(r->langs);
    free(r->reason);
    free(r->instrumentation);
    free(r->pod_namespace);
    free(r->pod_name);
    free(r->owner_kind);
    free(r->owner_name);
    free(r->owner_uid);
    free(r->uid);
    memset(r, 0, sizeof(*r));
}
