/* client.c - the verbs of the Kubernetes client over a transport: building
 * requests, bearer-token rotation, decoding answers, paging, watch streams,
 * discovery and request metrics. */
#include "kube/client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/jarena.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "kube/client_internal.h"

#define CT_JSON "application/json"
#define CT_APPLY "application/apply-patch+yaml"
#define CT_MERGE "application/merge-patch+json"
#define CT_JSONPATCH "application/json-patch+json"
#define MAX_PAGES 100000
#define WATCH_ERROR_BODY_MAX (64u * 1024)

struct kube_client {
    struct kube_transport *t;
    char *ns;
    char *token;            /* current bearer token (secret) or NULL */
    char *token_file;       /* re-read when older than KUBE_TOKEN_MAX_AGE_S or after a 401 */
    time_t token_read_at;   /* 0 = never read */
    struct kube_metrics *metrics;
    size_t max_response;
    size_t max_watch_line;
    time_t (*now)(void);
    pthread_mutex_t api_lock;   /* guards apis: kube_has_api() may come from any thread */
    json_t *apis;               /* object: group/version -> true */
};

static time_t default_now(void) { return time(NULL); }

static void wipe_free(char *s) {
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

struct kube_client *kube_client_new_with_transport(const struct kube_config *cfg,
                                                   struct kube_transport *t,
                                                   struct op_status *st) {
    if (!t) {
        op_fail(st, OP_EINVALID, "kube client: no transport");
        return NULL;
    }
    struct kube_client *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->ns = xstrdup(cfg && cfg->ns && *cfg->ns ? cfg->ns : "default");
    if (cfg && cfg->token)
        c->token = xstrdup(cfg->token);
    if (cfg && cfg->token_file)
        c->token_file = xstrdup(cfg->token_file);
    /* a token that came with the config counts as freshly read */
    c->now = default_now;
    c->token_read_at = c->token ? c->now() : 0;
    c->max_response = KUBE_MAX_RESPONSE;
    c->max_watch_line = KUBE_WATCH_MAX_LINE;
    pthread_mutex_init(&c->api_lock, NULL);
    c->apis = json_object();
    return c;
}

struct kube_client *kube_client_new(const struct kube_config *cfg, struct op_status *st) {
    struct kube_transport *t = kube_transport_curl_new(cfg, st);
    if (!t)
        return NULL;
    return kube_client_new_with_transport(cfg, t, st);
}

void kube_client_free(struct kube_client *c) {
    if (!c)
        return;
    if (c->t && c->t->ops->destroy)
        c->t->ops->destroy(c->t);
    free(c->ns);
    wipe_free(c->token);
    free(c->token_file);
    pthread_mutex_destroy(&c->api_lock);
    json_decref(c->apis);
    free(c);
}

const char *kube_client_namespace(const struct kube_client *c) { return c->ns; }
void kube_client_set_metrics(struct kube_client *c, struct kube_metrics *m) { c->metrics = m; }

void kube_client_set_clock(struct kube_client *c, time_t (*now)(void)) {
    c->now = now ? now : default_now;
    if (c->token && c->token_read_at)
        c->token_read_at = c->now();
}

void kube_client_set_max_response(struct kube_client *c, size_t max) { c->max_response = max; }
void kube_client_set_max_watch_line(struct kube_client *c, size_t max) { c->max_watch_line = max; }

/* ---------- bearer token rotation ---------- */

/* Re-reads the token file when forced (after a 401) or when the token is older
 * than KUBE_TOKEN_MAX_AGE_S. Returns 1 when the token changed. A failed read
 * keeps the old token (the kubelet rewrites the file atomically; a missing
 * file is transient) and is logged without the token. */
static int refresh_token(struct kube_client *c, int force) {
    if (!c->token_file)
        return 0;
    time_t now = c->now();
    if (!force && c->token && c->token_read_at && now - c->token_read_at < KUBE_TOKEN_MAX_AGE_S)
        return 0;
    char *tok = NULL;
    struct op_status st = {0};
    if (kube_read_token_file(c->token_file, &tok, &st) < 0) {
        log_warn("kube", "cannot re-read the bearer token; keeping the previous one",
                 "error", st.msg);
        c->token_read_at = now;   /* retry after the next interval, not on every request */
        return 0;
    }
    c->token_read_at = now;
    int changed = !c->token || strcmp(c->token, tok) != 0;
    wipe_free(c->token);
    c->token = tok;
    return changed;
}

/* ---------- one request ---------- */

struct collect {
    struct strbuf body;
    int too_big;
};

static int collect_sink(void *ud, int http, const char *data, size_t len) {
    struct collect *r = ud;
    if (strbuf_append(&r->body, data, len) < 0) {
        r->too_big = 1;
        return 1;
    }
    return 0;
}

/* Sends one request and collects the body. Handles 401 + token rotation (one
 * retry), metrics, size cap and Status decoding. On success *ret (if not NULL)
 * is the decoded JSON body (an empty object for an empty body). */
static int roundtrip(struct kube_client *c, enum kube_verb verb, const char *method,
                     const char *path, const char *ctype, const char *body, json_t **ret,
                     struct op_status *st) {
    if (ret)
        *ret = NULL;
    refresh_token(c, 0);
    struct collect r;
    int http = 0, rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct kube_http_request req = {
            .method = method, .path = path, .content_type = body ? ctype : NULL,
            .body = body, .body_len = body ? strlen(body) : 0, .bearer_token = c->token,
        };
        memset(&r, 0, sizeof(r));
        strbuf_init(&r.body, c->max_response);
        http = 0;
        rc = c->t->ops->roundtrip(c->t, &req, collect_sink, &r, &http, st);
        kube_metrics_add(c->metrics, verb, rc < 0 ? 0 : http);
        if (rc < 0 || http != 401 || attempt > 0 || !refresh_token(c, 1))
            break;
        strbuf_free(&r.body);   /* the token rotated: try once more with the new one */
    }
    if (rc < 0) {
        strbuf_free(&r.body);
        if (st && !strstr(st->msg, path)) {
            char m[sizeof(st->msg)];
            snprintf(m, sizeof(m), "%s", st->msg);
            snprintf(st->msg, sizeof(st->msg), "%s %.200s: %.300s", method, path, m);
        }
        return rc;
    }
    if (r.too_big) {
        strbuf_free(&r.body);
        return op_fail(st, OP_ETOOBIG, "%s %s: response larger than %zu bytes", method, path,
                       c->max_response);
    }
    if (rc == KUBE_TRANSPORT_STOPPED) {
        strbuf_free(&r.body);
        return op_fail(st, OP_EIO, "%s %s: transfer stopped", method, path);
    }
    rc = kube_status_decode(http, r.body.buf, r.body.len, st);
    if (rc == 0 && ret) {
        if (r.body.len == 0) {
            *ret = json_object();
        } else {
            json_error_t jerr;
            *ret = json_loadb(r.body.buf, r.body.len, 0, &jerr);
            if (!*ret)
                rc = op_fail(st, OP_EPARSE, "%s %s: response is not JSON (line %d: %s)", method,
                             path, jerr.line, jerr.text);
        }
    }
    strbuf_free(&r.body);
    return rc;
}

static char *dump(const json_t *v) { return jarena_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); }

static int ref_path(const struct kube_ref *ref, struct strbuf *p, struct op_status *st) {
    if (kube_ref_path(ref, p) < 0)
        return op_fail(st, OP_EINVALID, "bad resource reference (group \"%s\", version \"%s\", "
                       "resource \"%s\", name \"%s\")", ref->group ? ref->group : "",
                       ref->version ? ref->version : "", ref->resource ? ref->resource : "",
                       ref->name ? ref->name : "");
    return 0;
}

static int need_name(const struct kube_ref *ref, const char *verb, struct op_status *st) {
    if (!ref->name || !*ref->name)
        return op_fail(st, OP_EINVALID, "%s %s: metadata.name is required", verb,
                       ref->resource ? ref->resource : "?");
    return 0;
}

/* A request whose path is ref (+ query) and whose body is a JSON value. */
static int send_json(struct kube_client *c, enum kube_verb verb, const char *method,
                     const struct kube_ref *ref, const char *query, const char *ctype,
                     const json_t *body, json_t **ret, struct op_status *st) {
    struct strbuf p;
    strbuf_init(&p, 0);
    int rc = ref_path(ref, &p, st);
    if (rc < 0) {
        strbuf_free(&p);
        return rc;
    }
    if (query)
        strbuf_puts(&p, query);
    char *text = body ? dump(body) : NULL;
    rc = roundtrip(c, verb, method, p.buf, ctype, text, ret, st);
    free(text);
    strbuf_free(&p);
    return rc;
}

/* ---------- verbs ---------- */

int kube_get(struct kube_client *c, const struct kube_ref *ref, json_t **ret,
             struct op_status *st) {
    int rc = need_name(ref, "get", st);
    return rc < 0 ? rc : send_json(c, KUBE_VERB_GET, "GET", ref, NULL, NULL, NULL, ret, st);
}

int kube_create(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st) {
    struct kube_ref ref;
    int rc = kube_ref_from_object(obj, &ref, st);
    if (rc < 0)
        return rc;
    ref.name = NULL;   /* POST goes to the collection */
    return send_json(c, KUBE_VERB_CREATE, "POST", &ref, NULL, CT_JSON, obj, ret, st);
}

int kube_apply(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st) {
    struct kube_ref ref;
    int rc = kube_ref_from_object(obj, &ref, st);
    if (rc < 0 || (rc = need_name(&ref, "apply", st)) < 0)
        return rc;
    struct strbuf q;
    strbuf_init(&q, 0);
    kube_query_add(&q, "fieldManager", KUBE_FIELD_MANAGER);
    kube_query_add(&q, "force", "true");
    rc = send_json(c, KUBE_VERB_APPLY, "PATCH", &ref, q.buf, CT_APPLY, obj, ret, st);
    strbuf_free(&q);
    return rc;
}

int kube_update(struct kube_client *c, const json_t *obj, json_t **ret, struct op_status *st) {
    struct kube_ref ref;
    int rc = kube_ref_from_object(obj, &ref, st);
    if (rc < 0 || (rc = need_name(&ref, "update", st)) < 0)
        return rc;
    return send_json(c, KUBE_VERB_UPDATE, "PUT", &ref, NULL, CT_JSON, obj, ret, st);
}

int kube_merge_patch(struct kube_client *c, const struct kube_ref *ref, const json_t *patch,
                     json_t **ret, struct op_status *st) {
    int rc = need_name(ref, "patch", st);
    if (rc < 0)
        return rc;
    if (!json_is_object(patch))
        return op_fail(st, OP_EINVALID, "merge patch of %s %s: the patch must be a JSON object",
                       ref->resource, ref->name);
    return send_json(c, KUBE_VERB_PATCH, "PATCH", ref, NULL, CT_MERGE, patch, ret, st);
}

int kube_patch_status(struct kube_client *c, const struct kube_ref *ref, const json_t *patch,
                      json_t **ret, struct op_status *st) {
    struct kube_ref r = *ref;
    r.subresource = "status";
    return kube_merge_patch(c, &r, patch, ret, st);
}

int kube_json_patch(struct kube_client *c, const struct kube_ref *ref, const json_t *ops,
                    json_t **ret, struct op_status *st) {
    int rc = need_name(ref, "patch", st);
    if (rc < 0)
        return rc;
    if (!json_is_array(ops))
        return op_fail(st, OP_EINVALID, "JSON patch of %s %s: the patch must be an array of "
                       "operations", ref->resource, ref->name);
    return send_json(c, KUBE_VERB_PATCH, "PATCH", ref, NULL, CT_JSONPATCH, ops, ret, st);
}

int kube_delete(struct kube_client *c, const struct kube_ref *ref, enum kube_propagation prop,
                struct op_status *st) {
    int rc = need_name(ref, "delete", st);
    if (rc < 0)
        return rc;
    const char *policy = prop == KUBE_PROPAGATE_FOREGROUND ? "Foreground"
                         : prop == KUBE_PROPAGATE_ORPHAN   ? "Orphan"
                                                           : "Background";
    json_t *opts = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
                             "propagationPolicy", policy);
    rc = send_json(c, KUBE_VERB_DELETE, "DELETE", ref, NULL, CT_JSON, opts, NULL, st);
    json_decref(opts);
    return rc;
}

/* ---------- list ---------- */

/* "ConfigMapList" -> "ConfigMap"; NULL when it does not end in "List". */
static char *item_kind(const char *list_kind) {
    size_t n = list_kind ? strlen(list_kind) : 0;
    if (n <= 4 || strcmp(list_kind + n - 4, "List"))
        return NULL;
    return xstrndup(list_kind, n - 4);
}

static void fill_type_meta(json_t *items, const char *api_version, const char *kind) {
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (!json_is_object(it))
            continue;
        if (api_version && !json_object_get(it, "apiVersion"))
            json_object_set_new(it, "apiVersion", json_string(api_version));
        if (kind && !json_object_get(it, "kind"))
            json_object_set_new(it, "kind", json_string(kind));
    }
}

static void list_query(struct strbuf *q, const struct kube_list_opts *o, const char *cont) {
    long limit = o && o->limit > 0 ? o->limit : KUBE_LIST_PAGE;
    kube_query_add(q, "labelSelector", o ? o->label_selector : NULL);
    kube_query_add(q, "fieldSelector", o ? o->field_selector : NULL);
    kube_query_add_int(q, "limit", limit);
    if (cont && *cont)
        kube_query_add(q, "continue", cont);   /* a continued page carries no resourceVersion */
    else
        kube_query_add(q, "resourceVersion", o ? o->resource_version : NULL);
}

int kube_list(struct kube_client *c, const struct kube_ref *ref, const struct kube_list_opts *opts,
              json_t **ret, struct op_status *st) {
    if (ret)
        *ret = NULL;
    struct kube_ref r = *ref;
    r.name = NULL;
    r.subresource = NULL;
    json_t *items = json_array();
    json_t *first = NULL;   /* the first page: apiVersion and kind */
    char *cont = NULL, *rv = NULL;
    int rc = 0;
    for (int page = 0;; page++) {
        if (page >= MAX_PAGES) {
            rc = op_fail(st, OP_ESERVER, "list %s: more than %d pages", r.resource, MAX_PAGES);
            break;
        }
        struct strbuf q;
        strbuf_init(&q, 0);
        list_query(&q, opts, cont);
        json_t *body = NULL;
        rc = send_json(c, KUBE_VERB_LIST, "GET", &r, q.buf, NULL, NULL, &body, st);
        strbuf_free(&q);
        if (rc < 0)
            break;
        json_t *its = json_object_get(body, "items");
        json_t *md = json_object_get(body, "metadata");
        if (!json_is_array(its) && !json_is_null(its) && its) {
            json_decref(body);
            rc = op_fail(st, OP_EPARSE, "list %s: \"items\" is not an array", r.resource);
            break;
        }
        if (its)
            json_array_extend(items, its);
        const char *prv = json_string_value(json_object_get(md, "resourceVersion"));
        const char *pc = json_string_value(json_object_get(md, "continue"));
        free(rv);
        rv = xstrdup(prv ? prv : "");
        char *next = pc && *pc ? xstrdup(pc) : NULL;
        if (!first)
            first = body;
        else
            json_decref(body);
        if (next && cont && !strcmp(next, cont)) {
            free(next);
            rc = op_fail(st, OP_ESERVER, "list %s: the server repeated a continue token",
                         r.resource);
            break;
        }
        free(cont);
        cont = next;
        if (!cont)
            break;
    }
    if (rc == 0 && ret) {
        const char *av = json_string_value(json_object_get(first, "apiVersion"));
        const char *lk = json_string_value(json_object_get(first, "kind"));
        char *ik = item_kind(lk);
        fill_type_meta(items, av, ik);
        json_t *out = json_object();
        if (av)
            json_object_set_new(out, "apiVersion", json_string(av));
        if (lk)
            json_object_set_new(out, "kind", json_string(lk));
        json_object_set_new(out, "metadata", json_pack("{s:s}", "resourceVersion", rv));
        json_object_set(out, "items", items);
        *ret = out;
        free(ik);
    }
    json_decref(items);
    json_decref(first);
    free(cont);
    free(rv);
    return rc;
}

/* ---------- watch ---------- */

struct watch_ctx {
    struct watch_decoder dec;
    kube_event_fn cb;
    void *ud;
    atomic_int *stop;
    struct op_status *st;
    int rc;                  /* why the sink stopped the transfer */
    struct strbuf errbody;   /* the body of a non-200 answer */
};

static int watch_event(void *ud, enum kube_event_type type, json_t *obj) {
    struct watch_ctx *w = ud;
    if (type == KUBE_EVENT_ERROR) {
        int rc = kube_status_from_json(0, obj, w->st);
        return rc < 0 ? rc : op_fail(w->st, OP_ESERVER, "watch ERROR event without a failure code");
    }
    return w->cb(w->ud, type, obj) ? KUBE_WATCH_STOPPED : 0;
}

static int watch_sink(void *ud, int http, const char *data, size_t len) {
    struct watch_ctx *w = ud;
    if (http != 200) {
        size_t room = WATCH_ERROR_BODY_MAX - w->errbody.len;
        strbuf_append(&w->errbody, data, len < room ? len : room);
        return 0;
    }
    if (w->stop && atomic_load(w->stop)) {
        w->rc = KUBE_WATCH_STOPPED;
        return 1;
    }
    int rc = watch_decoder_feed(&w->dec, data, len, watch_event, w, w->st);
    if (rc) {
        w->rc = rc;
        return 1;
    }
    return 0;
}

static void watch_query(struct strbuf *q, const struct kube_ref *ref,
                        const struct kube_watch_opts *o) {
    kube_query_add(q, "watch", "true");
    kube_query_add(q, "labelSelector", o ? o->label_selector : NULL);
    const char *fs = o ? o->field_selector : NULL;
    if (ref->name && *ref->name) {
        char *by_name = fs && *fs ? xasprintf("metadata.name=%s,%s", ref->name, fs)
                                  : xasprintf("metadata.name=%s", ref->name);
        kube_query_add(q, "fieldSelector", by_name);
        free(by_name);
    } else {
        kube_query_add(q, "fieldSelector", fs);
    }
    kube_query_add(q, "resourceVersion", o ? o->resource_version : NULL);
    if (!o || !o->no_bookmarks)
        kube_query_add(q, "allowWatchBookmarks", "true");
    if (o && o->timeout_seconds > 0)
        kube_query_add_int(q, "timeoutSeconds", o->timeout_seconds);
}

int kube_watch(struct kube_client *c, const struct kube_ref *ref,
               const struct kube_watch_opts *opts, kube_event_fn cb, void *ud,
               struct op_status *st) {
    atomic_int *stop = opts ? opts->stop : NULL;
    if (stop && atomic_load(stop))
        return KUBE_WATCH_STOPPED;
    struct kube_ref r = *ref;
    r.name = NULL;
    r.subresource = NULL;
    struct strbuf p;
    strbuf_init(&p, 0);
    int rc = ref_path(&r, &p, st);
    if (rc < 0) {
        strbuf_free(&p);
        return rc;
    }
    watch_query(&p, ref, opts);
    refresh_token(c, 0);

    struct watch_ctx w = {.cb = cb, .ud = ud, .stop = stop, .st = st};
    watch_decoder_init(&w.dec, c->max_watch_line);
    strbuf_init(&w.errbody, 0);
    struct kube_http_request req = {.method = "GET", .path = p.buf, .bearer_token = c->token,
                                    .stream = 1, .stop = stop};
    int http = 0;
    rc = c->t->ops->roundtrip(c->t, &req, watch_sink, &w, &http, st);
    kube_metrics_add(c->metrics, KUBE_VERB_WATCH, rc < 0 && !w.rc ? 0 : http);
    if (w.rc) {
        rc = w.rc;                       /* an event error, a callback stop, or *stop */
    } else if (rc == KUBE_TRANSPORT_STOPPED) {
        rc = KUBE_WATCH_STOPPED;         /* *stop seen by the transport */
    } else if (rc < 0) {
        if (st && !strstr(st->msg, "watch")) {
            char was[sizeof(st->msg)];
            memcpy(was, st->msg, sizeof(was)); /* never format a buffer into itself */
            op_fail(st, rc, "watch %s: %.400s", r.resource, was);
        }
    } else if (http != 200) {
        rc = kube_status_decode(http, w.errbody.buf, w.errbody.len, st);
        if (rc == 0)
            rc = op_fail(st, OP_ESERVER, "watch %s: unexpected HTTP %d", r.resource, http);
        if (http == 401)
            refresh_token(c, 1);         /* the caller retries; use the new token then */
    } else {
        rc = watch_decoder_finish(&w.dec, watch_event, &w, st);
        if (rc > 0)
            rc = KUBE_WATCH_STOPPED;
    }
    watch_decoder_free(&w.dec);
    strbuf_free(&w.errbody);
    strbuf_free(&p);
    return rc;
}

/* ---------- discovery ---------- */

int kube_discover(struct kube_client *c, struct op_status *st) {
    json_t *body = NULL;
    int rc = roundtrip(c, KUBE_VERB_GET, "GET", "/apis", NULL, NULL, &body, st);
    if (rc < 0)
        return rc;
    json_t *groups = json_object_get(body, "groups");
    if (!json_is_array(groups)) {
        json_decref(body);
        return op_fail(st, OP_EPARSE, "GET /apis: \"groups\" is not an array (not an APIGroupList)");
    }
    json_t *set = json_object();
    json_object_set_new(set, "v1", json_true());   /* the core group is always served */
    size_t i, j;
    json_t *g, *v;
    json_array_foreach(groups, i, g) {
        json_array_foreach(json_object_get(g, "versions"), j, v) {
            const char *gv = json_string_value(json_object_get(v, "groupVersion"));
            if (gv && *gv)
                json_object_set_new(set, gv, json_true());
        }
    }
    json_decref(body);
    pthread_mutex_lock(&c->api_lock);
    json_t *old = c->apis;
    c->apis = set;
    pthread_mutex_unlock(&c->api_lock);
    json_decref(old);
    return 0;
}

int kube_has_api(struct kube_client *c, const char *group_version) {
    if (!group_version)
        return 0;
    pthread_mutex_lock(&c->api_lock);
    int has = json_object_get(c->apis, group_version) != NULL;
    pthread_mutex_unlock(&c->api_lock);
    return has;
}
