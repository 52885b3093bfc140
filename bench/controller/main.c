/* bench/controller/main.c - the controller against 1,000 TracingModels.
 *
 * A small fake Kubernetes API server (plain HTTP/1.1 on 127.0.0.1, list/watch with
 * chunked streams, server-side apply, merge patches, deletes) runs in this process;
 * the controller runs in a forked child so its memory is measured alone.
 *
 *   phase 1: 1,000 TracingModels (jaeger backend: 9 children each), no children yet.
 *            Time from start until every model has a Ready status; API requests per
 *            model; the controller's peak RSS.
 *   phase 2: a new controller process over the same, fully reconciled cluster (a
 *            cold-start resync of everything): writes must be 0; its peak RSS.
 * Targets: <= 30 s, <= 12 requests per model, 0 writes, <= 16 MiB.
 * RSS is VmHWM of the controller process; about 10 MiB of it is shared-library text
 * (libcrypto, libc, libcurl...) mapped from the page cache, the rest its own heap.
 * Usage: bench_controller [models] (default 1000). Exit 1 when a target is missed.
 *        bench_controller --serve N: only the fake API server with N models; prints
 *        its port (for trying `tracing-operator run` by hand without a cluster).
 * BENCH_DEBUG=1 prints the controller's memory at cache sync and malloc_stats(). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "controller/clock.h"
#include "controller/controller.h"
#include "controller/strmap.h"
#include "kube/client.h"

#define N_NAMESPACES 10
#define TARGET_SECONDS 30.0
#define TARGET_REQUESTS_PER_MODEL 12.0
#define TARGET_RSS_KIB (16 * 1024)

/* ======================= the fake API server ======================= */

struct event {
    unsigned long long rv;
    char *res;        /* "apps/v1/deployments" */
    char *ns;         /* "" cluster-scoped */
    int managed;      /* carries app.kubernetes.io/managed-by=tracing-operator */
    char *line;       /* {"type":...,"object":...}\n */
};

struct server {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    unsigned long long rv;
    struct strmap resources;   /* "gv/resource" -> struct strmap ("ns/name" -> json_t*) */
    struct event *log;
    size_t log_len, log_cap;
    atomic_ulong requests, writes, watches;
    int listen_fd;
    int port;
    atomic_int stop;
};

static struct server S;

static void obj_free(void *p) { json_decref(p); }
static void map_free(void *p) {
    strmap_done(p);
    free(p);
}

static struct strmap *resource_map(const char *res) {
    struct strmap *m = strmap_get(&S.resources, res);
    if (!m) {
        m = xmalloc(sizeof(*m));
        strmap_init(m, obj_free);
        strmap_put(&S.resources, res, m);
    }
    return m;
}

static const char *md(const json_t *o, const char *k) {
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static int is_managed(const json_t *o) {
    const char *v = json_string_value(json_object_get(
        json_object_get(json_object_get(o, "metadata"), "labels"), "app.kubernetes.io/managed-by"));
    return v && !strcmp(v, "tracing-operator");
}

/* Under S.mu: stamps a new resourceVersion and appends a watch event. */
static void record(const char *res, const char *type, json_t *obj) {
    char rv[32];
    snprintf(rv, sizeof(rv), "%llu", ++S.rv);
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
    json_t *ev = json_pack("{s:s,s:O}", "type", type, "object", obj);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (S.log_len == S.log_cap) {
        S.log_cap = S.log_cap ? S.log_cap * 2 : 4096;
        S.log = xrealloc(S.log, S.log_cap * sizeof(*S.log));
    }
    const char *ns = md(obj, "namespace");
    S.log[S.log_len++] = (struct event){S.rv, xstrdup(res), xstrdup(ns ? ns : ""),
                                        is_managed(obj), xasprintf("%s\n", text)};
    free(text);
    pthread_cond_broadcast(&S.changed);
}

static char *obj_key(const char *ns, const char *name) {
    return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

/* Workload status as if the pods came up at once. */
static void fake_status(const char *res, json_t *obj) {
    json_int_t gen = json_integer_value(json_object_get(json_object_get(obj, "metadata"),
                                                        "generation"));
    json_int_t want = 1;
    json_t *r = json_object_get(json_object_get(obj, "spec"), "replicas");
    if (json_is_integer(r))
        want = json_integer_value(r);
    if (strstr(res, "/deployments") || strstr(res, "/statefulsets"))
        json_object_set_new(obj, "status",
                            json_pack("{s:I,s:I,s:I,s:I,s:I}", "observedGeneration", gen,
                                      "replicas", want, "readyReplicas", want,
                                      "availableReplicas", want, "updatedReplicas", want));
    else if (strstr(res, "/daemonsets"))
        json_object_set_new(obj, "status",
                            json_pack("{s:I,s:i,s:i,s:i}", "observedGeneration", gen,
                                      "desiredNumberScheduled", 1, "numberAvailable", 1,
                                      "updatedNumberScheduled", 1));
}

/* RFC 7386 JSON merge patch, in place. */
static void merge(json_t *target, const json_t *patch) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v) && json_is_object(json_object_get(target, k))) {
            merge(json_object_get(target, k), v);
        } else {
            json_object_set_new(target, k, json_deep_copy(v));
        }
    }
}

static void seed_object(const char *res, json_t *obj) {
    char uid[48];
    snprintf(uid, sizeof(uid), "uid-%llu", S.rv + 1);
    json_t *m = json_object_get(obj, "metadata");
    json_object_set_new(m, "uid", json_string(uid));
    json_object_set_new(m, "generation", json_integer(1));
    json_object_set_new(m, "creationTimestamp", json_string("2024-01-01T00:00:00Z"));
    char *key = obj_key(md(obj, "namespace"), md(obj, "name"));
    strmap_put(resource_map(res), key, obj);
    free(key);
    record(res, "ADDED", obj);
}

/* ---- HTTP ---- */

struct req {
    char method[16];
    char target[2048];
    char content_type[128];
    char *body;
    size_t body_len;
};

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int respond(int fd, int code, const char *body) {
    char head[256];
    size_t n = strlen(body);
    int h = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     code, n);
    return write_all(fd, head, (size_t)h) || write_all(fd, body, n) ? -1 : 0;
}

static int respond_json(int fd, int code, json_t *o /* borrowed */) {
    char *s = json_dumps(o, JSON_COMPACT);
    int rc = respond(fd, code, s);
    free(s);
    return rc;
}

static int respond_status(int fd, int code, const char *reason, const char *msg) {
    char *s = xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        "\"reason\":\"%s\",\"code\":%d,\"message\":\"%s\"}",
                        reason, code, msg);
    int rc = respond(fd, code, s);
    free(s);
    return rc;
}

/* Reads one request; 0, or -1 at EOF/error. buf keeps bytes read past the request. */
static int read_request(int fd, struct strbuf *in, struct req *rq) {
    char *end;
    while (!(end = in->buf ? strstr(in->buf, "\r\n\r\n") : NULL)) {
        char tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r <= 0)
            return -1;
        strbuf_append(in, tmp, (size_t)r);
    }
    size_t head_len = (size_t)(end - in->buf) + 4;
    memset(rq, 0, sizeof(*rq));
    if (sscanf(in->buf, "%15s %2047s", rq->method, rq->target) != 2)
        return -1;
    size_t clen = 0;
    for (char *line = strstr(in->buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "Content-Length:", 15))
            clen = (size_t)strtoul(line + 15, NULL, 10);
        else if (!strncasecmp(line, "Content-Type:", 13))
            sscanf(line + 13, " %127[^\r]", rq->content_type);
    }
    while (in->len < head_len + clen) {
        char tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r <= 0)
            return -1;
        strbuf_append(in, tmp, (size_t)r);
    }
    rq->body = xstrndup(in->buf + head_len, clen);
    rq->body_len = clen;
    size_t rest = in->len - head_len - clen;
    memmove(in->buf, in->buf + head_len + clen, rest);
    in->len = rest;
    in->buf[rest] = '\0';
    return 0;
}

struct route {
    char res[256];      /* "gv/resource" */
    char ns[256], name[256], sub[64];
    char query[1024];
};

static int parse_route(const char *target, struct route *r) {
    memset(r, 0, sizeof(*r));
    char path[2048];
    snprintf(path, sizeof(path), "%s", target);
    char *q = strchr(path, '?');
    if (q) {
        *q = '\0';
        snprintf(r->query, sizeof(r->query), "%s", q + 1);
    }
    char *seg[12];
    int n = 0;
    for (char *tok = strtok(path, "/"); tok && n < 12; tok = strtok(NULL, "/"))
        seg[n++] = tok;
    int i;
    char gv[128];
    if (n >= 2 && !strcmp(seg[0], "api")) {
        snprintf(gv, sizeof(gv), "%s", seg[1]);
        i = 2;
    } else if (n >= 3 && !strcmp(seg[0], "apis")) {
        snprintf(gv, sizeof(gv), "%s/%s", seg[1], seg[2]);
        i = 3;
    } else {
        return -1;
    }
    if (i >= n)
        return -1;
    if (!strcmp(seg[i], "namespaces") && n - i >= 3) {
        snprintf(r->ns, sizeof(r->ns), "%s", seg[i + 1]);
        i += 2;
    }
    snprintf(r->res, sizeof(r->res), "%s/%s", gv, seg[i]);
    if (i + 1 < n)
        snprintf(r->name, sizeof(r->name), "%s", seg[i + 1]);
    if (i + 2 < n)
        snprintf(r->sub, sizeof(r->sub), "%s", seg[i + 2]);
    return 0;
}

static const char *query_param(const char *query, const char *key, char *out, size_t n) {
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t vl = strcspn(v, "&");
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return NULL;
}

static int selector_managed(const char *query) {
    char sel[256];
    return query_param(query, "labelSelector", sel, sizeof(sel)) != NULL;
}

static int cmp_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int do_list(int fd, const struct route *r) {
    char buf[64];
    long limit = query_param(r->query, "limit", buf, sizeof(buf)) ? atol(buf) : 0;
    long offset = query_param(r->query, "continue", buf, sizeof(buf)) ? atol(buf) : 0;
    int managed = selector_managed(r->query);
    pthread_mutex_lock(&S.mu);
    struct strmap *m = resource_map(r->res);
    char **keys = xmalloc((m->len + 1) * sizeof(*keys));
    size_t n = 0;
    for (struct strmap_entry *e = strmap_first(m); e; e = strmap_next(m, e)) {
        const char *ns = md(e->val, "namespace");
        if (*r->ns && (!ns || strcmp(ns, r->ns) != 0))
            continue;
        if (managed && !is_managed(e->val))
            continue;
        keys[n++] = e->key;
    }
    qsort(keys, n, sizeof(*keys), cmp_keys);
    json_t *items = json_array();
    size_t end = limit > 0 && (size_t)(offset + limit) < n ? (size_t)(offset + limit) : n;
    for (size_t i = (size_t)offset; i < end; i++)
        json_array_append(items, strmap_get(m, keys[i]));
    char rv[32];
    snprintf(rv, sizeof(rv), "%llu", S.rv);
    pthread_mutex_unlock(&S.mu);
    free(keys);
    json_t *list = json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion", "v1", "kind", "List",
                             "metadata", "resourceVersion", rv, "items", items);
    if (end < n) {
        char cont[32];
        snprintf(cont, sizeof(cont), "%zu", end);
        json_object_set_new(json_object_get(list, "metadata"), "continue", json_string(cont));
    }
    int rc = respond_json(fd, 200, list);
    json_decref(list);
    return rc;
}

static int chunk(int fd, const char *data, size_t n) {
    char head[32];
    int h = snprintf(head, sizeof(head), "%zx\r\n", n);
    return write_all(fd, head, (size_t)h) || write_all(fd, data, n) || write_all(fd, "\r\n", 2)
               ? -1
               : 0;
}

static int do_watch(int fd, const struct route *r) {
    char buf[64];
    unsigned long long from = query_param(r->query, "resourceVersion", buf, sizeof(buf))
                                  ? strtoull(buf, NULL, 10)
                                  : 0;
    int timeout = query_param(r->query, "timeoutSeconds", buf, sizeof(buf)) ? atoi(buf) : 300;
    int managed = selector_managed(r->query);
    atomic_fetch_add(&S.watches, 1);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    if (write_all(fd, head, strlen(head)))
        return -1;
    time_t until = time(NULL) + timeout;
    pthread_mutex_lock(&S.mu);
    size_t pos = 0;
    while (pos < S.log_len && S.log[pos].rv <= from)
        pos++;
    int rc = 0;
    while (!atomic_load(&S.stop) && time(NULL) < until) {
        while (pos < S.log_len && rc == 0) {
            struct event *e = &S.log[pos++];
            if (strcmp(e->res, r->res) != 0 || (*r->ns && strcmp(e->ns, r->ns) != 0) ||
                (managed && !e->managed))
                continue;
            char *line = xstrdup(e->line);
            pthread_mutex_unlock(&S.mu);
            rc = chunk(fd, line, strlen(line));
            free(line);
            pthread_mutex_lock(&S.mu);
        }
        if (rc)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&S.changed, &S.mu, &ts);
    }
    pthread_mutex_unlock(&S.mu);
    return rc ? -1 : write_all(fd, "0\r\n\r\n", 5);
}

static int spec_changed(const json_t *old, const json_t *obj) {
    json_t *a = json_deep_copy(old), *b = json_deep_copy(obj);
    json_object_del(a, "metadata");
    json_object_del(a, "status");
    json_object_del(b, "metadata");
    json_object_del(b, "status");
    int changed = !json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return changed;
}

static int do_apply(int fd, const struct route *r, json_t *body) {
    pthread_mutex_lock(&S.mu);
    struct strmap *m = resource_map(r->res);
    char *key = obj_key(r->ns, r->name);
    json_t *old = strmap_get(m, key);
    json_t *obj = json_deep_copy(body);
    json_t *meta = json_object_get(obj, "metadata");
    char uid[48];
    snprintf(uid, sizeof(uid), "uid-%llu", S.rv + 1);
    json_object_set_new(meta, "uid", old ? json_incref(json_object_get(
                                               json_object_get(old, "metadata"), "uid"))
                                         : json_string(uid));
    json_int_t gen = old ? json_integer_value(json_object_get(json_object_get(old, "metadata"),
                                                              "generation"))
                         : 0;
    json_object_set_new(meta, "generation", json_integer(!old || spec_changed(old, obj) ? gen + 1
                                                                                         : gen));
    fake_status(r->res, obj);
    const char *type = old ? "MODIFIED" : "ADDED";
    strmap_put(m, key, obj);
    free(key);
    record(r->res, type, obj);
    json_t *copy = json_deep_copy(obj);
    pthread_mutex_unlock(&S.mu);
    int rc = respond_json(fd, 200, copy);
    json_decref(copy);
    return rc;
}

static int do_merge(int fd, const struct route *r, json_t *patch) {
    pthread_mutex_lock(&S.mu);
    char *key = obj_key(r->ns, r->name);
    json_t *obj = strmap_get(resource_map(r->res), key);
    free(key);
    if (!obj) {
        pthread_mutex_unlock(&S.mu);
        return respond_status(fd, 404, "NotFound", "not found");
    }
    const char *want = md(patch, "resourceVersion");
    if (want && strcmp(want, md(obj, "resourceVersion")) != 0) {
        pthread_mutex_unlock(&S.mu);
        return respond_status(fd, 409, "Conflict", "the object has been modified");
    }
    if (!strcmp(r->sub, "status")) {
        json_t *st = json_object_get(patch, "status");
        if (!json_is_object(json_object_get(obj, "status")))
            json_object_set_new(obj, "status", json_object());
        if (json_is_object(st))
            merge(json_object_get(obj, "status"), st);
    } else {
        json_t *p = json_deep_copy(patch);
        json_object_del(json_object_get(p, "metadata"), "resourceVersion");
        merge(obj, p);
        json_decref(p);
    }
    record(r->res, "MODIFIED", obj);
    json_t *copy = json_deep_copy(obj);
    pthread_mutex_unlock(&S.mu);
    int rc = respond_json(fd, 200, copy);
    json_decref(copy);
    return rc;
}

static int do_create_or_update(int fd, const struct route *r, json_t *body, int create) {
    const char *name = create ? md(body, "name") : r->name;
    if (!name)
        return respond_status(fd, 422, "Invalid", "metadata.name is required");
    pthread_mutex_lock(&S.mu);
    struct strmap *m = resource_map(r->res);
    char *key = obj_key(r->ns, name);
    json_t *old = strmap_get(m, key);
    if (create && old) {
        pthread_mutex_unlock(&S.mu);
        free(key);
        return respond_status(fd, 409, "AlreadyExists", "already exists");
    }
    if (!create && old) {
        const char *want = md(body, "resourceVersion");
        if (want && strcmp(want, md(old, "resourceVersion")) != 0) {
            pthread_mutex_unlock(&S.mu);
            free(key);
            return respond_status(fd, 409, "Conflict", "the object has been modified");
        }
    }
    json_t *obj = json_deep_copy(body);
    strmap_put(m, key, obj);
    free(key);
    record(r->res, old ? "MODIFIED" : "ADDED", obj);
    json_t *copy = json_deep_copy(obj);
    pthread_mutex_unlock(&S.mu);
    int rc = respond_json(fd, create ? 201 : 200, copy);
    json_decref(copy);
    return rc;
}

static int do_delete(int fd, const struct route *r) {
    pthread_mutex_lock(&S.mu);
    char *key = obj_key(r->ns, r->name);
    json_t *obj = strmap_get(resource_map(r->res), key);
    if (!obj) {
        pthread_mutex_unlock(&S.mu);
        free(key);
        return respond_status(fd, 404, "NotFound", "not found");
    }
    json_incref(obj);
    strmap_del(resource_map(r->res), key);
    free(key);
    record(r->res, "DELETED", obj);
    json_decref(obj);
    pthread_mutex_unlock(&S.mu);
    return respond(fd, 200, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\"}");
}

static int do_get(int fd, const struct route *r) {
    pthread_mutex_lock(&S.mu);
    char *key = obj_key(r->ns, r->name);
    json_t *obj = strmap_get(resource_map(r->res), key);
    free(key);
    json_t *copy = obj ? json_deep_copy(obj) : NULL;
    pthread_mutex_unlock(&S.mu);
    if (!copy)
        return respond_status(fd, 404, "NotFound", "not found");
    int rc = respond_json(fd, 200, copy);
    json_decref(copy);
    return rc;
}

static const char *const served_groups[] = {"apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1",
                                             "tracemodel.dev/v1alpha1", "coordination.k8s.io/v1",
                                             "events.k8s.io/v1"};

static int do_discovery(int fd) {
    json_t *groups = json_array();
    for (size_t i = 0; i < sizeof(served_groups) / sizeof(served_groups[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "%s", served_groups[i]);
        *strchr(name, '/') = '\0';
        json_array_append_new(groups,
                              json_pack("{s:s,s:[{s:s,s:s}]}", "name", name, "versions",
                                        "groupVersion", served_groups[i], "version",
                                        strchr(served_groups[i], '/') + 1));
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                          groups);
    int rc = respond_json(fd, 200, o);
    json_decref(o);
    return rc;
}

static int handle(int fd, struct req *rq) {
    atomic_fetch_add(&S.requests, 1);
    int write = strcmp(rq->method, "GET") != 0;
    if (write)
        atomic_fetch_add(&S.writes, 1);
    if (!strncmp(rq->target, "/apis?", 6) || !strcmp(rq->target, "/apis"))
        return do_discovery(fd);
    if (!strcmp(rq->target, "/api") || !strncmp(rq->target, "/api?", 5))
        return respond(fd, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}");
    struct route r;
    if (parse_route(rq->target, &r) < 0)
        return respond_status(fd, 404, "NotFound", "no such path");
    json_t *body = rq->body_len ? json_loadb(rq->body, rq->body_len, 0, NULL) : NULL;
    int rc;
    char w[8];
    if (!strcmp(rq->method, "GET") && !*r.name)
        rc = query_param(r.query, "watch", w, sizeof(w)) ? do_watch(fd, &r) : do_list(fd, &r);
    else if (!strcmp(rq->method, "GET"))
        rc = do_get(fd, &r);
    else if (!strcmp(rq->method, "POST") && body)
        rc = do_create_or_update(fd, &r, body, 1);
    else if (!strcmp(rq->method, "PUT") && body)
        rc = do_create_or_update(fd, &r, body, 0);
    else if (!strcmp(rq->method, "PATCH") && body && strstr(rq->content_type, "apply-patch"))
        rc = do_apply(fd, &r, body);
    else if (!strcmp(rq->method, "PATCH") && body && strstr(rq->content_type, "merge-patch"))
        rc = do_merge(fd, &r, body);
    else if (!strcmp(rq->method, "DELETE") && *r.name)
        rc = do_delete(fd, &r);
    else
        rc = respond_status(fd, 400, "BadRequest", "unsupported request");
    json_decref(body);
    return rc;
}

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct strbuf in;
    strbuf_init(&in, 0);
    struct req rq;
    while (!atomic_load(&S.stop) && read_request(fd, &in, &rq) == 0) {
        int rc = handle(fd, &rq);
        free(rq.body);
        if (rc)
            break;
    }
    strbuf_free(&in);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg) {
    (void)arg;
    while (!atomic_load(&S.stop)) {
        int fd = accept(S.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &a, conn_main, (void *)(intptr_t)fd);
        pthread_attr_destroy(&a);
    }
    return NULL;
}

static int server_start(void) {
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.changed, NULL);
    strmap_init(&S.resources, map_free);
    S.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(S.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(S.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(S.listen_fd, 256))
        return -1;
    socklen_t len = sizeof(sa);
    getsockname(S.listen_fd, (struct sockaddr *)&sa, &len);
    S.port = ntohs(sa.sin_port);
    pthread_t t;
    return pthread_create(&t, NULL, accept_main, NULL) ? -1 : 0;
}

static void seed(int models) {
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < N_NAMESPACES; i++) {
        char ns[32];
        snprintf(ns, sizeof(ns), "bench-%d", i);
        seed_object("v1/namespaces", json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
                                               "Namespace", "metadata", "name", ns));
    }
    for (int i = 0; i < models; i++) {
        char ns[32], name[32];
        snprintf(ns, sizeof(ns), "bench-%d", i % N_NAMESPACES);
        snprintf(name, sizeof(name), "model-%04d", i);
        json_t *m = json_pack(
            "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:{s:f},s:{s:s},s:{s:i}}}", "apiVersion",
            "tracemodel.dev/v1alpha1", "kind", "TracingModel", "metadata", "name", name,
            "namespace", ns, "spec", "description", "bench model", "sampling", "rate", 0.25,
            "backend", "type", "jaeger", "capacity", "requestsPerSecond", 200 + i);
        json_t *ops = json_pack("[{s:s,s:f}]", "name", "checkout", "rate", 1.0);
        json_object_set_new(json_object_get(json_object_get(m, "spec"), "sampling"), "operations",
                            ops);
        seed_object("tracemodel.dev/v1alpha1/tracingmodels", m);
    }
    pthread_mutex_unlock(&S.mu);
}

/* Models whose status says Ready for their current generation. */
static int ready_models(void) {
    int n = 0;
    pthread_mutex_lock(&S.mu);
    struct strmap *m = resource_map("tracemodel.dev/v1alpha1/tracingmodels");
    for (struct strmap_entry *e = strmap_first(m); e; e = strmap_next(m, e)) {
        json_t *st = json_object_get(e->val, "status");
        json_t *gen = json_object_get(json_object_get(e->val, "metadata"), "generation");
        if (!json_equal(json_object_get(st, "observedGeneration"), gen))
            continue;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st, "conditions"), i, c) {
            const char *t = json_string_value(json_object_get(c, "type"));
            const char *s = json_string_value(json_object_get(c, "status"));
            if (t && s && !strcmp(t, "Ready") && !strcmp(s, "True"))
                n++;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return n;
}

static size_t object_count(void) {
    size_t n = 0;
    pthread_mutex_lock(&S.mu);
    for (struct strmap_entry *e = strmap_first(&S.resources); e;
         e = strmap_next(&S.resources, e))
        n += ((struct strmap *)e->val)->len;
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* ======================= the controller (child process) ======================= */

static long rss_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = atol(line + n + 1);
    fclose(f);
    return v;
}

/* Runs a controller until SIGTERM. Once it reconciled `models` models and the queue is
 * empty, writes "<reconciles> <VmHWM KiB> <VmRSS KiB>\n" to report_fd. */
static int controller_child(int port, int models, int report_fd) {
    log_set_level(LOG_WARN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct kube_config cfg;
    kube_config_init(&cfg);
    cfg.server = xasprintf("http://127.0.0.1:%d", port);
    cfg.ns = xstrdup("default");
    struct controller_opts o = {.kube = &cfg};
    struct op_status st = {0};
    struct controller *c = controller_new(&o, &st);
    if (!c || controller_start(c, &st) < 0) {
        fprintf(stderr, "controller: %s\n", st.msg);
        return 1;
    }
    int workers = 0, reported = 0;
    for (;;) {
        struct timespec ts = {0, 20 * 1000000L};
        if (sigtimedwait(&set, NULL, &ts) == SIGTERM)
            break;
        if (!workers && controller_synced(c)) {
            if (getenv("BENCH_DEBUG")) {
                struct mallinfo2 mi = mallinfo2();
                fprintf(stderr, "synced: HWM %ld RSS %ld anon %ld KiB, children %zu, malloc in "
                        "use %zu KiB of %zu KiB (+%zu mmap)\n", rss_kib("VmHWM"),
                        rss_kib("VmRSS"), rss_kib("RssAnon"),
                        children_len(controller_caches(c)->children), mi.uordblks / 1024,
                        mi.arena / 1024, mi.hblkhd / 1024);
            }
            controller_start_workers(c, &st);
            workers = 1;
        }
        struct ctrl_metrics *m = controller_metrics(c);
        unsigned long done = atomic_load(&m->reconciles[RK_MODEL][RO_SUCCESS]);
        if (workers && !reported && done >= (unsigned long)models &&
            controller_queue_len(c) == 0) {
            char line[128];
            int n = snprintf(line, sizeof(line), "%lu %ld %ld\n", done, rss_kib("VmHWM"),
                             rss_kib("VmRSS"));
            if (write(report_fd, line, (size_t)n) < 0)
                return 1;
            if (getenv("BENCH_DEBUG"))
                malloc_stats();

            reported = 1;
        }
    }
    int rc = controller_stop(c, 4500);
    if (rc == 0)
        controller_free(c);
    kube_config_free(&cfg);
    return rc ? 2 : 0;
}

/* ======================= the benchmark ======================= */

static double now_s(void) { return (double)op_now_ms(&op_clock_system) / 1000.0; }

struct kid {
    pid_t pid;
    int report_fd;
};

static const char *self_path;

/* A fresh process (fork + exec), so the controller's memory is its own: a plain
 * fork would share, and count, the fake server's heap. */
static struct kid spawn(int models) {
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        close(S.listen_fd);
        char port[16], n[16], fd[16];
        snprintf(port, sizeof(port), "%d", S.port);
        snprintf(n, sizeof(n), "%d", models);
        snprintf(fd, sizeof(fd), "%d", p[1]);
        /* As in the operator's container: libcurl pulls GnuTLS in (through OpenLDAP) and
         * GnuTLS' implicit initialisation costs ~1 MiB we never use. */
        setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
        execl(self_path, self_path, "--controller", port, n, fd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    return (struct kid){pid, p[0]};
}

/* Reads the child's report (blocks up to timeout_s). 0 on success. */
static int read_report(struct kid *ch, double timeout_s, unsigned long *reconciles,
                       long *hwm, long *rss) {
    struct timeval tv = {.tv_sec = (time_t)timeout_s, .tv_usec = 0};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(ch->report_fd, &fds);
    if (select(ch->report_fd + 1, &fds, NULL, NULL, &tv) <= 0)
        return -1;
    char line[128] = "";
    ssize_t n = read(ch->report_fd, line, sizeof(line) - 1);
    if (n <= 0)
        return -1;
    line[n] = '\0';
    return sscanf(line, "%lu %ld %ld", reconciles, hwm, rss) == 3 ? 0 : -1;
}

static double stop_child(struct kid *ch, int *status) {
    double t0 = now_s();
    kill(ch->pid, SIGTERM);
    waitpid(ch->pid, status, 0);
    close(ch->report_fd);
    return now_s() - t0;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--controller")) {
        xalloc_init();
        ctrl_tune_memory();
        return controller_child(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    }
    if (argc == 3 && !strcmp(argv[1], "--serve")) {   /* the fake API server alone */
        xalloc_init();
        signal(SIGPIPE, SIG_IGN);
        if (server_start() != 0)
            return 2;
        seed(atoi(argv[2]));
        printf("%d\n", S.port);
        fflush(stdout);
        for (;;)
            pause();
    }
    self_path = "/proc/self/exe";
    int models = argc > 1 ? atoi(argv[1]) : 1000;
    if (models <= 0)
        models = 1000;
    xalloc_init();
    json_object_seed(1);
    log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    if (server_start() != 0) {
        perror("bench: cannot listen");
        return 2;
    }
    seed(models);
    int fails = 0;

    /* phase 1: from nothing to every model Ready */
    unsigned long req0 = atomic_load(&S.requests);
    double t0 = now_s();
    struct kid ch = spawn(models);
    double t_ready = -1;
    while (now_s() - t0 < 120) {
        if (ready_models() >= models) {
            t_ready = now_s() - t0;
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    unsigned long req_ready = atomic_load(&S.requests) - req0;
    unsigned long reconciles = 0;
    long hwm1 = -1, rss1 = -1;
    read_report(&ch, 60, &reconciles, &hwm1, &rss1);
    sleep(2);   /* settle: late watch events must not cause writes */
    unsigned long req_settled = atomic_load(&S.requests) - req0;
    int status = 0;
    double t_stop = stop_child(&ch, &status);
    size_t objects = object_count();
    printf("phase 1: %d models -> %zu objects in the fake API server\n", models, objects);
    printf("  time to all Ready           %8.2f s   (target <= %.0f s)\n", t_ready,
           TARGET_SECONDS);
    printf("  API requests per model      %8.2f     (target <= %.0f; %lu requests, %lu after "
           "settling)\n",
           (double)req_ready / models, TARGET_REQUESTS_PER_MODEL, req_ready, req_settled);
    printf("  controller peak RSS         %8.2f MiB (target <= %d MiB; now %.2f MiB)\n",
           (double)hwm1 / 1024.0, TARGET_RSS_KIB / 1024, (double)rss1 / 1024.0);
    printf("  SIGTERM to exit             %8.2f s   (exit status %d)\n", t_stop,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fails += t_ready < 0 || t_ready > TARGET_SECONDS;
    fails += (double)req_ready / models > TARGET_REQUESTS_PER_MODEL;
    fails += hwm1 < 0 || hwm1 > TARGET_RSS_KIB;
    fails += t_stop > 5.0;

    /* phase 2: a fresh controller over the reconciled cluster: a full no-op resync */
    unsigned long w0 = atomic_load(&S.writes), r0 = atomic_load(&S.requests);
    double t1 = now_s();
    ch = spawn(models);
    long hwm2 = -1, rss2 = -1;
    int ok = read_report(&ch, 120, &reconciles, &hwm2, &rss2) == 0;
    double t_resync = now_s() - t1;
    sleep(1);
    unsigned long writes = atomic_load(&S.writes) - w0;
    unsigned long reqs = atomic_load(&S.requests) - r0;
    stop_child(&ch, &status);
    printf("phase 2: restart over the reconciled cluster (no-op resync of %d models)\n", models);
    printf("  resync time                 %8.2f s   (%lu reconciles)\n", ok ? t_resync : -1.0,
           reconciles);
    printf("  writes                      %8lu     (target 0; %lu requests in all)\n", writes,
           reqs);
    printf("  controller peak RSS         %8.2f MiB (target <= %d MiB; now %.2f MiB)\n",
           (double)hwm2 / 1024.0, TARGET_RSS_KIB / 1024, (double)rss2 / 1024.0);
    fails += !ok || writes != 0;
    fails += hwm2 < 0 || hwm2 > TARGET_RSS_KIB;
    atomic_store(&S.stop, 1);
    printf("%s\n", fails ? "RESULT: some targets missed" : "RESULT: all targets met");
    return fails ? 1 : 0;
}
