/* mutate.c - the pod mutation: which languages a pod asks for, which Instrumentation
 * and TracingModel apply, and the JSON Patch that injects the agents, the SDK env and
 * the optional collector sidecar (see mutate.h). Pure: reads only its inputs.
 *
 * Choices worth knowing:
 * - Exporter: an explicit spec.exporter.endpoint is used as written (with its TLS
 *   files). From a TracingModel the endpoint is http://M-collector.N.svc:4318 with
 *   OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (the OTel spec default, and what the
 *   Java 2.x, Python, .NET and Node.js agents use), or :4317 when the container
 *   already sets the protocol to grpc. With a collector sidecar the SDKs export to
 *   http://localhost:4318 and the sidecar forwards to the model's collector. With a
 *   model, OTEL_METRICS_EXPORTER/OTEL_LOGS_EXPORTER default to "none": the model's
 *   collector runs a traces pipeline.
 * - Sampler (only when the container sets neither OTEL_TRACES_SAMPLER nor _ARG):
 *   spec.sampler when given, else from the model: always_on/always_off for those
 *   strategies, (parentbased_)jaeger_remote against the Jaeger collector for
 *   adaptive/ratelimiting with a Jaeger backend (gRPC :14250 for Java, whose SDK polls
 *   over gRPC; HTTP :5778 for the others), else (parentbased_)traceidratio with
 *   spec.services[name == service].samplingRate or spec.sampling.rate.
 * - Env precedence: the container's own env > spec.<lang>.env > spec.env > generated;
 *   a valueFrom variable is never rewritten. OTEL_RESOURCE_ATTRIBUTES goes last so
 *   $(OTEL_RESOURCE_ATTRIBUTES_POD_NAME) expands; a user value is kept in front and
 *   its keys win.
 * - Init containers: non-root (the app container's runAsUser, else 65532), no
 *   privilege escalation, read-only root FS, all capabilities dropped, RuntimeDefault
 *   seccomp; resources from the pod's own requests/limits within bounds (derive_resources). */
#include "webhook/mutate.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jarena.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "model/instrumentation.h"
#include "model/model.h"
#include "webhook/jsonpatch.h"

#define MOUNT_ROOT "/" MUTATE_NAME_PREFIX          /* + lang */
#define RES_ANN_PREFIX "resource.opentelemetry.io/"
#define GO_DEBUG_VOLUME "tracemodel-kernel-debug"
#define DEFAULT_NONROOT_UID 65532
#define SIDECAR_UID 10001
#define MAX_REASON 200

/* ---- small JSON readers ------------------------------------------------- */

static const char *str_at(const json_t *obj, const char *key) {
    return json_string_value(json_is_object(obj) ? json_object_get(obj, key) : NULL);
}

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

/* new string: s with leading/trailing spaces removed */
static char *trimdup(const char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static int ieq(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

/* ---- context ------------------------------------------------------------ */

struct plan {
    enum tinst_lang lang;
    json_t *inst;                   /* new ref: defaulted Instrumentation */
    char inst_ns[TINST_REF_MAX], inst_name[TINST_REF_MAX];
    const json_t *model;            /* borrowed, or NULL */
    size_t *targets;                /* indices into spec.containers */
    size_t ntargets;
};

struct owner_info {
    const char *kind, *name, *uid;  /* borrowed: controller ownerReference, or NULL */
    char *deployment, *cronjob;     /* derived parents (new strings) or NULL */
};

struct mctx {
    const struct mutate_input *in;
    const struct mutate_loader *loader;   /* NULL: mutate_load_instrumentation */
    const json_t *pod, *meta, *spec, *containers;
    const json_t *pod_ann, *ns_ann, *labels;
    const char *ns;
    struct plan plans[TINST_LANG_COUNT];
    int nplans;
    int want_sidecar;
    const json_t *sidecar_model;    /* borrowed */
    struct owner_info owner;
    json_t *warnings;               /* borrowed from the result */
    char *skip;                     /* first skip reason */
    json_t *volumes, *inits, *extra; /* new: volumes, init containers, containers to add */
    json_t *cops;                   /* new: patch ops on existing containers */
    int share_pid;
};

__attribute__((format(printf, 2, 3))) static int skip(struct mctx *m, const char *fmt, ...) {
    if (m->skip)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    m->skip = xvasprintf(fmt, ap);
    va_end(ap);
    if (strlen(m->skip) > MAX_REASON)
        strcpy(m->skip + MAX_REASON - 3, "...");
    return -1;
}

__attribute__((format(printf, 2, 3))) static void warn(struct mctx *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(m->warnings, json_string(s));
    free(s);
}

/* annotation value: pod first, else namespace; NULL when absent or empty */
static const char *ann(const struct mctx *m, const char *key) {
    const char *v = nonempty(str_at(m->pod_ann, key));
    return v ? v : nonempty(str_at(m->ns_ann, key));
}

/* ---- owners and the service name ----------------------------------------- */

static const json_t *controller_ref(const json_t *pod) {
    const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
    const json_t *first = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) {
        if (!str_at(r, "kind") || !nonempty(str_at(r, "name")))
            continue;
        if (json_is_true(json_object_get(r, "controller")))
            return r;
        if (!first)
            first = r;
    }
    return first;
}

/* Kubernetes' pod-template-hash alphabet (rand.SafeEncodeString). */
static int looks_like_hash(const char *s) {
    size_t n = strlen(s);
    if (n < 5 || n > 10)
        return 0;
    for (; *s; s++)
        if (!strchr("bcdfghjklmnpqrstvwxz2456789", *s))
            return 0;
    return 1;
}

static char *deployment_of(const char *rs, const json_t *labels) {
    const char *hash = str_at(labels, "pod-template-hash");
    const char *dash = strrchr(rs, '-');
    if (!dash || dash == rs)
        return NULL;
    if (hash && *hash) {
        size_t hl = strlen(hash), rl = strlen(rs);
        if (rl > hl + 1 && rs[rl - hl - 1] == '-' && !strcmp(rs + rl - hl, hash))
            return xstrndup(rs, rl - hl - 1);
        return NULL;
    }
    return looks_like_hash(dash + 1) ? xstrndup(rs, (size_t)(dash - rs)) : NULL;
}

/* CronJob jobs are named <cronjob>-<scheduled time in minutes since the epoch>. */
static char *cronjob_of(const char *job) {
    const char *dash = strrchr(job, '-');
    if (!dash || dash == job || strlen(dash + 1) < 8)
        return NULL;
    for (const char *p = dash + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return NULL;
    return xstrndup(job, (size_t)(dash - job));
}

static void owner_init(struct owner_info *o, const json_t *pod) {
    memset(o, 0, sizeof(*o));
    const json_t *ref = controller_ref(pod);
    if (!ref)
        return;
    o->kind = str_at(ref, "kind");
    o->name = str_at(ref, "name");
    o->uid = nonempty(str_at(ref, "uid"));
    const json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
    if (!strcmp(o->kind, "ReplicaSet"))
        o->deployment = deployment_of(o->name, labels);
    else if (!strcmp(o->kind, "Job"))
        o->cronjob = cronjob_of(o->name);
}

static void owner_free(struct owner_info *o) {
    free(o->deployment);
    free(o->cronjob);
}

static char *service_name(const json_t *pod, const struct owner_info *o, const char *container) {
    const json_t *meta = json_object_get(pod, "metadata");
    const char *v = nonempty(str_at(json_object_get(meta, "annotations"),
                                    RES_ANN_PREFIX "service.name"));
    if (!v)
        v = nonempty(str_at(json_object_get(meta, "labels"), "app.kubernetes.io/name"));
    if (!v)
        v = o->deployment ? o->deployment : o->cronjob ? o->cronjob : o->name;
    if (!v)
        v = nonempty(str_at(meta, "name"));
    if (!v) {
        const char *gen = nonempty(str_at(meta, "generateName"));
        if (gen) {
            size_t n = strlen(gen);
            while (n && gen[n - 1] == '-')
                n--;
            if (n)
                return xstrndup(gen, n);
        }
    }
    return xstrdup(v ? v : container ? container : "unknown_service");
}

char *mutate_service_name(const json_t *pod, const char *container) {
    struct owner_info o;
    owner_init(&o, pod);
    char *s = service_name(pod, &o, container);
    owner_free(&o);
    return s;
}

/* ---- building small objects ------------------------------------------------
 * Direct jansson calls instead of json_pack on the hot path (its format parsing costs
 * more than the building). Same values, keys in the same order, and like json_pack a
 * NULL or non-UTF-8 string fails the whole value (NULL). Keys are constants. */

/* o[key] = v (stolen); -1 when v is NULL */
static int obj_set(json_t *o, const char *key, json_t *v) {
    return v ? json_object_set_new_nocheck(o, key, v) : -1;
}

/* o[key] = the string v; -1 when v is NULL or not UTF-8 */
static int obj_str(json_t *o, const char *key, const char *v) {
    return obj_set(o, key, v ? json_string(v) : NULL);
}

/* o, or NULL (o released) when bad */
static json_t *obj_done(json_t *o, int bad) {
    if (!bad)
        return o;
    json_decref(o);
    return NULL;
}

/* new ref: {k1: v1} or {k1: v1, k2: v2} (k2 NULL), string values */
static json_t *obj_strs(const char *k1, const char *v1, const char *k2, const char *v2) {
    json_t *o = json_object();
    int bad = obj_str(o, k1, v1);
    if (k2)
        bad |= obj_str(o, k2, v2);
    return obj_done(o, bad);
}

/* new ref: an array of n strings */
static json_t *str_array(size_t n, const char *const *v) {
    json_t *a = json_array();
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *e = v[i] ? json_string(v[i]) : NULL;
        bad = !e || json_array_append_new(a, e);
    }
    return obj_done(a, bad);
}

/* ---- env helpers ---------------------------------------------------------- */

static json_t *env_plain(const char *name, const char *value) {
    return obj_strs("name", name, "value", value);
}

/* {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": field}}} */
static json_t *env_field(const char *name, const char *field) {
    json_t *e = obj_strs("name", name, NULL, NULL);
    json_t *vf = json_object();
    int bad = obj_set(vf, "fieldRef", obj_strs("apiVersion", "v1", "fieldPath", field));
    vf = obj_done(vf, bad);
    return obj_done(e, !e || obj_set(e, "valueFrom", vf));
}

static long env_find(const json_t *env, const char *name) {
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e) {
        const char *n = str_at(e, "name");
        if (n && !strcmp(n, name))
            return (long)i;
    }
    return -1;
}

static int env_has(const json_t *env, const char *name) { return env_find(env, name) >= 0; }

/* The entry's plain value ("" when it has neither value nor valueFrom), NULL for valueFrom. */
static const char *env_value(const json_t *e) {
    if (json_object_get(e, "valueFrom"))
        return NULL;
    const char *v = str_at(e, "value");
    return v ? v : "";
}

static void env_add(json_t *env, json_t *entry) {
    const char *n = str_at(entry, "name");
    if (n && !env_has(env, n))
        json_array_append(env, entry);
    json_decref(entry);
}

static void env_add_plain(json_t *env, const char *name, const char *value) {
    if (!env_has(env, name))
        json_array_append_new(env, env_plain(name, value));
}

/* Entries of env may be shared (with the pod, the cached Instrumentation, the patch):
 * they are never changed in place, a changed one is replaced by a new object. */
static void env_set_value(json_t *env, long idx, const char *value) {
    json_t *e = json_copy(json_array_get(env, (size_t)idx));
    json_object_set_new(e, "value", json_string(value));
    json_array_set_new(env, (size_t)idx, e);
}

static void env_add_list(json_t *env, const json_t *list) {
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (json_is_object(e) && str_at(e, "name"))
            env_add(env, json_incref(e));
    }
}

/* ---- resource attributes -------------------------------------------------- */

/* Percent-encodes what would break OTEL_RESOURCE_ATTRIBUTES parsing or trigger
 * Kubernetes $(VAR) expansion. */
static void attr_escape(struct strbuf *b, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || strchr(",;=%\"\\$", *p))
            strbuf_printf(b, "%%%02X", *p);
        else
            strbuf_append(b, p, 1);
    }
}

static int attr_key_ok(const char *k) {
    if (!*k)
        return 0;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr(",;=%\"\\$", *p))
            return 0;
    return 1;
}

static void attr_set_user(json_t *attrs, const char *k, const char *v) {
    if (!attr_key_ok(k) || !v)
        return;
    struct strbuf b;
    strbuf_init(&b, 0);
    attr_escape(&b, v);
    json_object_set_new(attrs, k, json_string(b.buf ? b.buf : ""));
    strbuf_free(&b);
}

static void attr_set_raw(json_t *attrs, const char *k, const char *v) {
    json_object_set_new(attrs, k, json_string(v));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k=v,k=v" with sorted keys, skipping keys present in user_value. new string. */
static char *attrs_join(const json_t *attrs, const char *user_value) {
    size_t n = json_object_size(attrs), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v) {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    struct strbuf b;
    strbuf_init(&b, 0);
    if (user_value && *user_value)
        strbuf_puts(&b, user_value);
    for (i = 0; i < n; i++) {
        if (user_value && *user_value) {
            /* the user's own key wins: skip ours when "key=" starts one of theirs */
            size_t kl = strlen(keys[i]);
            int dup = 0;
            for (const char *p = user_value; p && *p;) {
                while (*p == ' ')
                    p++;
                if (!strncmp(p, keys[i], kl) && (p[kl] == '=' || p[kl] == ' '))
                    dup = 1;
                p = strchr(p, ',');
                p = p ? p + 1 : NULL;
            }
            if (dup)
                continue;
        }
        if (b.len && b.buf[b.len - 1] != ',')
            strbuf_puts(&b, ",");
        strbuf_printf(&b, "%s=%s", keys[i], json_string_value(json_object_get(attrs, keys[i])));
    }
    free(keys);
    return strbuf_detach(&b, NULL);
}

static const json_t *model_service(const json_t *model, const char *service) {
    const json_t *svcs = tm_get(model, "spec.services");
    size_t i;
    json_t *s;
    json_array_foreach(svcs, i, s) {
        const char *n = str_at(s, "name");
        if (n && !strcmp(n, service))
            return s;
    }
    return NULL;
}

/* new string or NULL: the tag of an image reference ("repo/app:1.2" -> "1.2") */
static char *image_tag(const char *image) {
    if (!image)
        return NULL;
    size_t n = strcspn(image, "@");
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (image[i] == '/')
            slash = image + i;
    const char *from = slash ? slash + 1 : image;
    const char *colon = memchr(from, ':', n - (size_t)(from - image));
    if (!colon || colon + 1 >= image + n)
        return NULL;
    size_t tl = n - (size_t)(colon + 1 - image);
    if (tl == 6 && !strncmp(colon + 1, "latest", 6))
        return NULL;   /* "latest" names no version */
    return xstrndup(colon + 1, tl);
}

static void owner_attrs(const struct mctx *m, json_t *attrs, int uids) {
    const struct owner_info *o = &m->owner;
    if (!o->kind)
        return;
    static const struct { const char *kind, *attr; } kinds[] = {
        {"ReplicaSet", "replicaset"}, {"StatefulSet", "statefulset"},
        {"DaemonSet", "daemonset"}, {"Job", "job"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(o->kind, kinds[i].kind))
            continue;
        char key[64];
        snprintf(key, sizeof(key), "k8s.%s.name", kinds[i].attr);
        attr_set_user(attrs, key, o->name);
        if (uids && o->uid) {
            snprintf(key, sizeof(key), "k8s.%s.uid", kinds[i].attr);
            attr_set_user(attrs, key, o->uid);
        }
    }
    if (o->deployment)
        attr_set_user(attrs, "k8s.deployment.name", o->deployment);
    if (o->cronjob)
        attr_set_user(attrs, "k8s.cronjob.name", o->cronjob);
}

/* new ref: our resource attributes for one container (values encoded) */
static json_t *resource_attrs(const struct mctx *m, const struct plan *p, const char *container,
                              const char *image, const char *service) {
    json_t *attrs = json_object();
    const json_t *spec = json_object_get(p->inst, "spec");
    const json_t *user = json_object_get(json_object_get(spec, "resource"), "attributes");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)user, k, v) {
        attr_set_user(attrs, k, json_string_value(v));
    }
    int uids = json_is_true(json_object_get(json_object_get(spec, "resource"),
                                            "addK8sUIDAttributes"));
    attr_set_user(attrs, "k8s.namespace.name", m->ns);
    attr_set_user(attrs, "k8s.container.name", container);
    attr_set_raw(attrs, "k8s.pod.name", "$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)");
    attr_set_raw(attrs, "k8s.node.name", "$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)");
    if (uids)
        attr_set_raw(attrs, "k8s.pod.uid", "$(OTEL_RESOURCE_ATTRIBUTES_POD_UID)");
    owner_attrs(m, attrs, uids);
    struct strbuf b;
    strbuf_init(&b, 0);
    attr_escape(&b, m->ns);
    strbuf_puts(&b, ".$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).");
    attr_escape(&b, container);
    attr_set_raw(attrs, "service.instance.id", b.buf);
    strbuf_free(&b);
    const char *ver = nonempty(str_at(m->labels, "app.kubernetes.io/version"));
    if (!ver && p->model)
        ver = nonempty(str_at(model_service(p->model, service), "version"));
    char *tag = ver ? NULL : image_tag(image);
    if (ver || tag)
        attr_set_user(attrs, "service.version", ver ? ver : tag);
    free(tag);
    size_t plen = strlen(RES_ANN_PREFIX);
    json_object_foreach((json_t *)m->pod_ann, k, v) {
        if (strncmp(k, RES_ANN_PREFIX, plen) || !json_is_string(v))
            continue;
        if (strcmp(k + plen, "service.name"))
            attr_set_user(attrs, k + plen, json_string_value(v));
    }
    return attrs;
}

/* ---- sampler, exporter, propagators ---------------------------------------- */

struct sdk_cfg {
    char *endpoint;          /* NULL: leave the SDK default */
    const char *protocol;    /* set with our endpoint, else NULL */
    int tls;                 /* the Instrumentation's TLS files apply */
    int from_model;          /* metrics/logs exporters default to none */
    char *sampler, *sampler_arg;   /* NULL: not set */
    char *propagators;
};

static void sdk_cfg_free(struct sdk_cfg *c) {
    free(c->endpoint);
    free(c->sampler);
    free(c->sampler_arg);
    free(c->propagators);
}

static char *join_strings(const json_t *arr) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || !tinst_propagator_valid(s))
            continue;
        if (!strcmp(s, "w3c_tracecontext"))
            s = "tracecontext";
        if (b.len)
            strbuf_puts(&b, ",");
        strbuf_puts(&b, s);
    }
    return strbuf_detach(&b, NULL);
}

static void model_sampler(struct mctx *m, const json_t *model, enum tinst_lang lang,
                          const char *service, struct sdk_cfg *c) {
    const char *mname = tm_get_str(model, "metadata.name", "");
    const char *mns = tm_get_str(model, "metadata.namespace", m->ns);
    const char *strategy = tm_get_str(model, "spec.sampling.strategy", "probabilistic");
    int pb = tm_get_bool(model, "spec.sampling.parentBased", 1);
    int adaptive = tm_get_bool(model, "spec.sampling.adaptive.enabled",
                               !strcmp(strategy, "adaptive"));
    const char *backend = tm_get_str(model, "spec.backend.type", "");
    double rate = tm_get_num(model, "spec.sampling.rate", 1.0);
    const json_t *svc = model_service(model, service);
    if (json_is_number(json_object_get(svc, "samplingRate")))
        rate = json_number_value(json_object_get(svc, "samplingRate"));
    if (!(rate >= 0 && rate <= 1))
        rate = 1.0;
    char rbuf[32];
    format_double(rate, rbuf, sizeof(rbuf));
    const char *pfx = pb ? "parentbased_" : "";
    if (!strcmp(strategy, "always_on") || !strcmp(strategy, "always_off")) {
        c->sampler = xasprintf("%s%s", pfx, strategy);
        return;
    }
    int remote = adaptive || !strcmp(strategy, "ratelimiting");
    if (remote && !strcmp(backend, "jaeger")) {
        c->sampler = xasprintf("%sjaeger_remote", pfx);
        /* the Java SDK polls over gRPC (Jaeger's 14250), the others over HTTP (5778) */
        c->sampler_arg = xasprintf("endpoint=http://%s-jaeger-collector.%s.svc:%s,"
                                   "pollingIntervalMs=60000,initialSamplingRate=%s",
                                   mname, mns, lang == TINST_JAVA ? "14250" : "5778", rbuf);
        return;
    }
    if (remote)
        warn(m, "tracing-operator: TracingModel %s/%s: %s sampling needs the Jaeger backend for "
                "remote sampling; pods use a fixed ratio of %s", mns, mname, strategy, rbuf);
    c->sampler = xasprintf("%straceidratio", pfx);
    c->sampler_arg = xstrdup(rbuf);
}

/* The SDK settings for one container whose service name is `service` and whose
 * env so far is `env` (the user's and the Instrumentation's). */
static void sdk_config(struct mctx *m, const struct plan *p, const json_t *env,
                       const char *service, struct sdk_cfg *c) {
    memset(c, 0, sizeof(*c));
    const json_t *spec = json_object_get(p->inst, "spec");
    const char *explicit_ep = str_at(json_object_get(spec, "exporter"), "endpoint");
    long pi = env_find(env, "OTEL_EXPORTER_OTLP_PROTOCOL");
    const char *proto = pi >= 0 ? env_value(json_array_get(env, (size_t)pi)) : NULL;
    int grpc = proto && !strcmp(proto, "grpc");
    const char *port = grpc ? "4317" : "4318";
    if (m->want_sidecar && m->sidecar_model) {
        c->endpoint = xasprintf("http://localhost:%s", port);
    } else if (explicit_ep) {
        c->endpoint = xstrdup(explicit_ep);
        c->tls = 1;
    } else if (p->model) {
        c->endpoint = xasprintf("http://%s-collector.%s.svc:%s",
                                tm_get_str(p->model, "metadata.name", ""),
                                tm_get_str(p->model, "metadata.namespace", p->inst_ns), port);
    }
    if (c->endpoint && !c->tls && pi < 0)
        c->protocol = "http/protobuf";
    c->from_model = p->model != NULL;
    const json_t *sampler = json_object_get(spec, "sampler");
    const char *stype = str_at(sampler, "type");
    if (stype) {
        c->sampler = xstrdup(stype);
        const char *arg = nonempty(str_at(sampler, "argument"));
        c->sampler_arg = arg ? xstrdup(arg) : NULL;
    } else if (p->model) {
        model_sampler(m, p->model, p->lang, service, c);
    }
    const json_t *props = json_object_get(spec, "propagators");
    if (json_is_array(props) && json_array_size(props))
        c->propagators = join_strings(props);
    else if (p->model && json_is_array(tm_get(p->model, "spec.propagation.types")))
        c->propagators = join_strings(tm_get(p->model, "spec.propagation.types"));
    if (!c->propagators || !*c->propagators) {
        free(c->propagators);
        c->propagators = xstrdup("tracecontext,baggage");
    }
}

/* ---- TLS files for an explicit exporter ------------------------------------ */

static void add_volume(struct mctx *m, json_t *vol) {
    const char *name = str_at(vol, "name");
    size_t i;
    json_t *v;
    json_array_foreach(m->volumes, i, v) {
        if (!strcmp(str_at(v, "name"), name)) {
            json_decref(vol);
            return;
        }
    }
    json_array_append_new(m->volumes, vol);
}

static char *tls_volume_name(const char *kind, const char *obj) {
    char *raw = xasprintf("tracemodel-tls-%s-%s", kind, obj);
    char *out = xmalloc(64);
    to_dns_label(raw, out, 63);
    free(raw);
    return out;
}

/* Appends the TLS env to env and the mounts to mounts (both json arrays). */
static void tls_apply(struct mctx *m, const struct plan *p, json_t *env, json_t *mounts) {
    const json_t *tls = json_object_get(json_object_get(json_object_get(p->inst, "spec"),
                                                        "exporter"), "tls");
    if (!json_is_object(tls))
        return;
    const char *sec = nonempty(str_at(tls, "secretName"));
    const char *cm = nonempty(str_at(tls, "configMapName"));
    char *sec_dir = NULL, *cm_dir = NULL;
    if (sec) {
        char *vn = tls_volume_name("secret", sec);
        sec_dir = xasprintf("/%s", vn);
        add_volume(m, json_pack("{s:s, s:{s:s}}", "name", vn, "secret", "secretName", sec));
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", vn, "mountPath",
                                                sec_dir, "readOnly", 1));
        free(vn);
    }
    if (cm) {
        char *vn = tls_volume_name("configmap", cm);
        cm_dir = xasprintf("/%s", vn);
        add_volume(m, json_pack("{s:s, s:{s:s}}", "name", vn, "configMap", "name", cm));
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", vn, "mountPath",
                                                cm_dir, "readOnly", 1));
        free(vn);
    }
    static const struct { const char *key, *env; int ca; } files[] = {
        {"ca_file", "OTEL_EXPORTER_OTLP_CERTIFICATE", 1},
        {"cert_file", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", 0},
        {"key_file", "OTEL_EXPORTER_OTLP_CLIENT_KEY", 0},
    };
    for (size_t i = 0; i < 3; i++) {
        const char *f = nonempty(str_at(tls, files[i].key));
        if (!f)
            continue;
        const char *dir = files[i].ca && cm_dir ? cm_dir : sec_dir;
        if (f[0] == '/' || !dir) {
            env_add_plain(env, files[i].env, f);
        } else {
            char *path = xasprintf("%s/%s", dir, f);
            env_add_plain(env, files[i].env, path);
            free(path);
        }
    }
    free(sec_dir);
    free(cm_dir);
}

/* ---- per-language agent env ------------------------------------------------- */

/* Is `item` one of the sep-separated items of list? */
static int has_item(const char *list, const char *item, char sep) {
    size_t n = strlen(item);
    for (const char *p = strstr(list, item); p; p = strstr(p + 1, item)) {
        if ((p == list || p[-1] == sep) && (p[n] == '\0' || p[n] == sep))
            return 1;
    }
    return 0;
}

/* Appends `add` to a plain variable (sep-separated) or creates it. -1 (skip) when
 * the variable comes from valueFrom. */
static int env_extend(struct mctx *m, json_t *env, const char *container, const char *name,
                      const char *add, const char *sep, int prepend) {
    long i = env_find(env, name);
    if (i < 0) {
        json_array_append_new(env, env_plain(name, add));
        return 0;
    }
    const char *cur = env_value(json_array_get(env, (size_t)i));
    if (!cur)
        return skip(m, "container %s sets %s with valueFrom: the agent cannot be added",
                    container, name);
    if (has_item(cur, add, *sep))
        return 0;
    char *v = !*cur     ? xstrdup(add)
              : prepend ? xasprintf("%s%s%s", add, sep, cur)
                        : xasprintf("%s%s%s", cur, sep, add);
    env_set_value(env, i, v);
    free(v);
    return 0;
}

/* Requires name to be absent or to hold exactly want. */
static int env_require(struct mctx *m, json_t *env, const char *container, const char *name,
                       const char *want) {
    long i = env_find(env, name);
    if (i < 0) {
        json_array_append_new(env, env_plain(name, want));
        return 0;
    }
    const char *cur = env_value(json_array_get(env, (size_t)i));
    if (cur && !strcmp(cur, want))
        return 0;
    return skip(m, "container %s already sets %s (another .NET profiler?)", container, name);
}

static int agent_env(struct mctx *m, const struct plan *p, json_t *env, const char *c) {
    const char *dir_lang = tinst_lang_name(p->lang);
    char dir[96];
    snprintf(dir, sizeof(dir), MOUNT_ROOT "%s", dir_lang);
    char buf[512];
    switch (p->lang) {
    case TINST_JAVA:
        snprintf(buf, sizeof(buf), "-javaagent:%s/javaagent.jar", dir);
        return env_extend(m, env, c, "JAVA_TOOL_OPTIONS", buf, " ", 0);
    case TINST_NODEJS:
        snprintf(buf, sizeof(buf), "--require %s/autoinstrumentation.js", dir);
        return env_extend(m, env, c, "NODE_OPTIONS", buf, " ", 0);
    case TINST_PYTHON: {
        snprintf(buf, sizeof(buf), "%s/opentelemetry/instrumentation/auto_instrumentation", dir);
        if (env_extend(m, env, c, "PYTHONPATH", buf, ":", 1))
            return -1;
        return env_extend(m, env, c, "PYTHONPATH", dir, ":", 0);
    }
    case TINST_DOTNET: {
        const char *rt = ann(m, MUTATE_ANN_DOTNET_RUNTIME);
        if (!rt)
            rt = "linux-x64";
        if (env_has(env, "OTEL_DOTNET_AUTO_HOME"))
            return skip(m, "container %s already sets OTEL_DOTNET_AUTO_HOME", c);
        snprintf(buf, sizeof(buf), "%s/%s/OpenTelemetry.AutoInstrumentation.Native.so", dir, rt);
        if (env_require(m, env, c, "CORECLR_ENABLE_PROFILING", "1") ||
            env_require(m, env, c, "CORECLR_PROFILER", "{918728DD-259F-4A6A-AC2B-B85E1B658318}") ||
            env_require(m, env, c, "CORECLR_PROFILER_PATH", buf))
            return -1;
        snprintf(buf, sizeof(buf), "%s/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll", dir);
        if (env_extend(m, env, c, "DOTNET_STARTUP_HOOKS", buf, ":", 0))
            return -1;
        snprintf(buf, sizeof(buf), "%s/AdditionalDeps", dir);
        if (env_extend(m, env, c, "DOTNET_ADDITIONAL_DEPS", buf, ":", 0))
            return -1;
        snprintf(buf, sizeof(buf), "%s/store", dir);
        if (env_extend(m, env, c, "DOTNET_SHARED_STORE", buf, ":", 0))
            return -1;
        env_add_plain(env, "OTEL_DOTNET_AUTO_HOME", dir);
        return 0;
    }
    case TINST_GO:
        env_add_plain(env, "OTEL_GO_AUTO_TARGET_EXE", ann(m, MUTATE_ANN_GO_TARGET_EXE));
        return 0;
    default:
        return 0;
    }
}

/* ---- the env of one instrumented container ------------------------------------ */

/* Fills env (a copy of the container's env, or empty for the Go sidecar) for plan p
 * and container `cname` (image `image`); *moved = index of a user
 * OTEL_RESOURCE_ATTRIBUTES that moves to the end, or -1. mounts gets TLS mounts. */
static int fill_env(struct mctx *m, const struct plan *p, json_t *env, json_t *mounts,
                    const char *cname, const char *image, long *moved) {
    const json_t *spec = json_object_get(p->inst, "spec");
    *moved = -1;
    env_add_list(env, json_object_get(json_object_get(spec, tinst_lang_name(p->lang)), "env"));
    env_add_list(env, json_object_get(spec, "env"));
    if (agent_env(m, p, env, cname))
        return -1;
    char *service = NULL;
    long si = env_find(env, "OTEL_SERVICE_NAME");
    const char *user_svc = si >= 0 ? env_value(json_array_get(env, (size_t)si)) : NULL;
    service = user_svc && *user_svc ? xstrdup(user_svc) : service_name(m->pod, &m->owner, cname);
    struct sdk_cfg cfg;
    sdk_config(m, p, env, service, &cfg);
    env_add_plain(env, "OTEL_SERVICE_NAME", service);
    if (cfg.endpoint && !env_has(env, "OTEL_EXPORTER_OTLP_ENDPOINT")) {
        /* the protocol only with our own endpoint: the user's may expect another */
        env_add_plain(env, "OTEL_EXPORTER_OTLP_ENDPOINT", cfg.endpoint);
        if (cfg.protocol)
            env_add_plain(env, "OTEL_EXPORTER_OTLP_PROTOCOL", cfg.protocol);
    }
    if (cfg.tls)
        tls_apply(m, p, env, mounts);
    if (cfg.from_model) {
        env_add_plain(env, "OTEL_TRACES_EXPORTER", "otlp");
        env_add_plain(env, "OTEL_METRICS_EXPORTER", "none");
        env_add_plain(env, "OTEL_LOGS_EXPORTER", "none");
    }
    if (cfg.sampler && !env_has(env, "OTEL_TRACES_SAMPLER") &&
        !env_has(env, "OTEL_TRACES_SAMPLER_ARG")) {
        env_add_plain(env, "OTEL_TRACES_SAMPLER", cfg.sampler);
        if (cfg.sampler_arg)
            env_add_plain(env, "OTEL_TRACES_SAMPLER_ARG", cfg.sampler_arg);
    }
    env_add_plain(env, "OTEL_PROPAGATORS", cfg.propagators);
    env_add(env, env_field("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "metadata.name"));
    env_add(env, env_field("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "spec.nodeName"));
    json_t *attrs = resource_attrs(m, p, cname, image, service);
    if (json_is_true(json_object_get(json_object_get(spec, "resource"), "addK8sUIDAttributes")))
        env_add(env, env_field("OTEL_RESOURCE_ATTRIBUTES_POD_UID", "metadata.uid"));
    long ri = env_find(env, "OTEL_RESOURCE_ATTRIBUTES");
    const char *user_attrs = ri >= 0 ? env_value(json_array_get(env, (size_t)ri)) : "";
    if (user_attrs) {   /* NULL: the user's valueFrom wins entirely */
        char *joined = attrs_join(attrs, user_attrs);
        if (ri >= 0)
            *moved = ri;
        json_array_append_new(env, env_plain("OTEL_RESOURCE_ATTRIBUTES", joined));
        free(joined);
    }
    json_decref(attrs);
    sdk_cfg_free(&cfg);
    free(service);
    return 0;
}

/* Patch ops turning orig (the container's env, NULL when absent) into work. Entries
 * below norig keep their place (a changed value is an "add" on its value), the moved
 * entry is removed, appended entries are added at the end. The values go into ops by
 * reference (no copies): work must not change afterwards. */
static void env_ops(json_t *ops, size_t ci, const json_t *orig, const json_t *work,
                    long moved) {
    char base[64];
    snprintf(base, sizeof(base), "/spec/containers/%zu/env", ci);
    if (!orig) {
        if (json_array_size(work))
            jp_add(ops, base, json_incref((json_t *)work));
        return;
    }
    size_t norig = json_array_size(orig);
    for (size_t j = 0; j < norig; j++) {
        const json_t *a = json_array_get(orig, j), *b = json_array_get(work, j);
        if ((long)j == moved || json_equal(a, b))
            continue;
        char *path = xasprintf("%s/%zu/value", base, j);
        jp_add(ops, path, json_incref(json_object_get(b, "value")));
        free(path);
    }
    if (moved >= 0) {
        char *path = xasprintf("%s/%ld", base, moved);
        jp_remove(ops, path);
        free(path);
    }
    char *dash = xasprintf("%s/-", base);
    for (size_t j = norig; j < json_array_size(work); j++)
        jp_add(ops, dash, json_incref(json_array_get(work, j)));
    free(dash);
}

/* Ops appending the items of add to the list at base (or adding it whole when orig is
 * absent); by reference, like env_ops. */
static void list_ops(json_t *ops, const char *base, const json_t *orig, const json_t *add) {
    if (!json_array_size(add))
        return;
    if (!orig) {
        jp_add(ops, base, json_incref((json_t *)add));
        return;
    }
    char *dash = xasprintf("%s/-", base);
    size_t i;
    json_t *v;
    json_array_foreach(add, i, v) {
        jp_add(ops, dash, json_incref(v));
    }
    free(dash);
}

/* ---- resources ------------------------------------------------------------------ */

struct res_sum {
    double req, lim;
    int all_lim;        /* every app container has this limit */
};

static double qty(const json_t *q) {
    double d;
    if (json_is_string(q) && !tm_parse_quantity(json_string_value(q), &d) && isfinite(d) && d >= 0)
        return d;
    if (json_is_number(q) && json_number_value(q) >= 0)
        return json_number_value(q);
    return -1;
}

static void sum_resource(const json_t *containers, const char *res, struct res_sum *s,
                         int *guaranteed) {
    memset(s, 0, sizeof(*s));
    s->all_lim = 1;
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        const json_t *r = json_object_get(c, "resources");
        double lim = qty(json_object_get(json_object_get(r, "limits"), res));
        double req = qty(json_object_get(json_object_get(r, "requests"), res));
        if (req < 0)
            req = lim;  /* Kubernetes defaults a missing request to the limit */
        if (req > 0)
            s->req += req;
        if (lim >= 0)
            s->lim += lim;
        else
            s->all_lim = 0;
        if (lim < 0 || req != lim)
            *guaranteed = 0;
    }
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static json_t *cpu_q(double cores) {
    return json_sprintf("%lldm", (long long)ceil(cores * 1000 - 1e-9));
}

static json_t *mem_q(double bytes) {
    return json_sprintf("%lldMi", (long long)ceil(bytes / 1048576.0 - 1e-9));
}

/* Resources for an injected container from the pod's own: requests are the app
 * containers' summed requests within [10m, 500m] / [64Mi, 256Mi] (50m / 64Mi when
 * none): an init container below the app's sum costs the pod nothing. Limits only
 * when every app container has one (so we never add a limit the pod did not ask
 * for), within [request, 1 CPU] / [max(request, 128Mi), 512Mi] (copies of Python and
 * Node.js agents were OOMKilled below 128Mi). A Guaranteed pod stays Guaranteed:
 * requests = limits. */
static json_t *derive_resources(const json_t *containers) {
    struct res_sum cpu, mem;
    int guaranteed = json_array_size(containers) > 0;
    sum_resource(containers, "cpu", &cpu, &guaranteed);
    sum_resource(containers, "memory", &mem, &guaranteed);
    const double Mi = 1048576.0;
    double creq = cpu.req > 0 ? clampd(cpu.req, 0.01, 0.5) : 0.05;
    double mreq = mem.req > 0 ? clampd(mem.req, 64 * Mi, 256 * Mi) : 64 * Mi;
    json_t *req = json_object(), *lim = json_object();
    double clim = clampd(cpu.lim, creq, 1.0);
    double mlim = clampd(mem.lim, fmax(mreq, 128 * Mi), 512 * Mi);
    if (guaranteed) {
        creq = clim;
        mreq = mlim;
    }
    json_object_set_new(req, "cpu", cpu_q(creq));
    json_object_set_new(req, "memory", mem_q(mreq));
    if (cpu.all_lim)
        json_object_set_new(lim, "cpu", cpu_q(clim));
    if (mem.all_lim)
        json_object_set_new(lim, "memory", mem_q(mlim));
    json_t *out = json_object();
    if (json_object_size(lim))
        json_object_set_new(out, "limits", lim);
    else
        json_decref(lim);
    json_object_set_new(out, "requests", req);
    return out;
}

static json_t *lang_resources(const struct mctx *m, const struct plan *p) {
    const json_t *blk = json_object_get(json_object_get(p->inst, "spec"),
                                        tinst_lang_name(p->lang));
    const json_t *r = json_object_get(blk, "resources");
    if (json_is_object(r) && json_object_size(r))
        return json_incref((json_t *)r);   /* only read (serialized) from here on */
    return derive_resources(m->containers);
}

static long long run_as_user(const json_t *sc) {
    const json_t *u = json_object_get(sc, "runAsUser");
    return json_is_integer(u) && json_integer_value(u) > 0 ? json_integer_value(u) : 0;
}

static json_t *init_security_context(const struct mctx *m, const struct plan *p) {
    const json_t *c = json_array_get(m->containers, p->targets[0]);
    long long uid = run_as_user(json_object_get(c, "securityContext"));
    if (!uid)
        uid = run_as_user(json_object_get(m->spec, "securityContext"));
    if (!uid)
        uid = DEFAULT_NONROOT_UID;
    static const char *const all[] = {"ALL"};
    json_t *sc = json_object(), *caps = json_object();
    obj_set(sc, "allowPrivilegeEscalation", json_false());
    obj_set(caps, "drop", str_array(1, all));
    obj_set(sc, "capabilities", caps);
    obj_set(sc, "readOnlyRootFilesystem", json_true());
    obj_set(sc, "runAsNonRoot", json_true());
    obj_set(sc, "runAsUser", json_integer((json_int_t)uid));
    obj_set(sc, "seccompProfile", obj_strs("type", "RuntimeDefault", NULL, NULL));
    return sc;
}

/* ---- building the injection -------------------------------------------------------- */

static const char *image_of(const struct plan *p) {
    const json_t *blk = json_object_get(json_object_get(p->inst, "spec"),
                                        tinst_lang_name(p->lang));
    const char *img = nonempty(str_at(blk, "image"));
    return img ? img : tinst_default_image(p->lang);
}

static void add_init_container(struct mctx *m, const struct plan *p) {
    const char *lang = tinst_lang_name(p->lang);
    char name[96], dir[96];
    snprintf(name, sizeof(name), MUTATE_NAME_PREFIX "%s", lang);
    snprintf(dir, sizeof(dir), MOUNT_ROOT "%s", lang);
    json_t *cmd;
    if (p->lang == TINST_JAVA) {
        char *dst = xasprintf("%s/javaagent.jar", dir);
        const char *argv[] = {"cp", "/javaagent.jar", dst};
        cmd = str_array(3, argv);
        free(dst);
    } else {
        const char *src = "/autoinstrumentation/.";
        if (p->lang == TINST_PYTHON && ieq(ann(m, MUTATE_ANN_PYTHON_PLATFORM), "musl"))
            src = "/autoinstrumentation-musl/.";
        const char *argv[] = {"cp", "-r", src, dir};
        cmd = str_array(4, argv);
    }
    /* {name, image, command, volumeMounts: [{name, mountPath}], resources, securityContext} */
    json_t *ic = json_object(), *vm = json_array();
    int bad = obj_str(ic, "name", name);   /* one statement each: keys in this order */
    bad |= obj_str(ic, "image", image_of(p));
    bad |= obj_set(ic, "command", cmd);
    json_t *mount = obj_strs("name", name, "mountPath", dir);
    bad |= !mount || json_array_append_new(vm, mount);
    bad |= obj_set(ic, "volumeMounts", vm);
    bad |= obj_set(ic, "resources", lang_resources(m, p));
    bad |= obj_set(ic, "securityContext", init_security_context(m, p));
    json_array_append_new(m->inits, obj_done(ic, bad));
    json_t *vol = obj_strs("name", name, NULL, NULL);
    add_volume(m, obj_done(vol, !vol || obj_set(vol, "emptyDir",
                                                obj_strs("sizeLimit", TINST_VOLUME_SIZE_LIMIT,
                                                         NULL, NULL))));
}

/* The Go agent: a privileged eBPF sidecar sharing the pod's process namespace. */
static int add_go_sidecar(struct mctx *m, const struct plan *p) {
    const json_t *target = json_array_get(m->containers, p->targets[0]);
    const char *cname = str_at(target, "name");
    json_t *env = json_array();
    json_t *mounts = json_array();
    long moved;
    json_array_append_new(mounts, json_pack("{s:s, s:s}", "name", GO_DEBUG_VOLUME, "mountPath",
                                            "/sys/kernel/debug"));
    if (fill_env(m, p, env, mounts, cname, str_at(target, "image"), &moved)) {
        json_decref(env);
        json_decref(mounts);
        return -1;
    }
    json_t *c = json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:b, s:I}}", "name",
                          MUTATE_NAME_PREFIX "go", "image", image_of(p), "env", env,
                          "volumeMounts", mounts, "resources", lang_resources(m, p),
                          "securityContext", "privileged", 1, "runAsUser", (json_int_t)0);
    json_array_append_new(m->extra, c);
    add_volume(m, json_pack("{s:s, s:{s:s}}", "name", GO_DEBUG_VOLUME, "hostPath", "path",
                            "/sys/kernel/debug"));
    m->share_pid = 1;
    return 0;
}

static int inject_container(struct mctx *m, const struct plan *p, size_t ci) {
    const json_t *c = json_array_get(m->containers, ci);
    const char *cname = str_at(c, "name");
    const json_t *orig_env = json_object_get(c, "env");
    const json_t *orig_mounts = json_object_get(c, "volumeMounts");
    json_t *env = orig_env ? json_copy((json_t *)orig_env) : json_array();   /* see env_set_value */
    json_t *mounts = json_array();
    long moved;
    if (p->lang != TINST_SDK) {
        char name[96], dir[97];
        snprintf(name, sizeof(name), MUTATE_NAME_PREFIX "%s", tinst_lang_name(p->lang));
        snprintf(dir, sizeof(dir), "/%s", name);
        json_array_append_new(mounts, obj_strs("name", name, "mountPath", dir));
    }
    int rc = fill_env(m, p, env, mounts, cname, str_at(c, "image"), &moved);
    if (!rc) {
        env_ops(m->cops, ci, orig_env, env, moved);
        char base[64];
        snprintf(base, sizeof(base), "/spec/containers/%zu/volumeMounts", ci);
        list_ops(m->cops, base, orig_mounts, mounts);
    }
    json_decref(env);
    json_decref(mounts);
    return rc;
}

/* The collector agent config: OTLP on localhost, forwarded to the model's collector. */
static char *sidecar_config(const json_t *model, const char *fallback_ns) {
    char *ep = xasprintf("%s-collector.%s.svc:4317", tm_get_str(model, "metadata.name", ""),
                         tm_get_str(model, "metadata.namespace", fallback_ns));
    json_t *cfg = json_pack(
        "{s:{s:{s:{s:{s:s}, s:{s:s}}}}, s:{s:{s:s, s:i, s:i}, s:{}},"
        " s:{s:{s:s, s:{s:b}}}, s:{s:{s:{s:[s], s:[s, s], s:[s]}}}}",
        "receivers", "otlp", "protocols", "grpc", "endpoint", "localhost:4317", "http",
        "endpoint", "localhost:4318",
        "processors", "memory_limiter", "check_interval", "1s", "limit_mib", 100,
        "spike_limit_mib", 25, "batch",
        "exporters", "otlp", "endpoint", ep, "tls", "insecure", 1,
        "service", "pipelines", "traces", "receivers", "otlp", "processors", "memory_limiter",
        "batch", "exporters", "otlp");
    char *s = jarena_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(cfg);
    free(ep);
    return s;
}

static void add_collector_sidecar(struct mctx *m) {
    char *cfg = sidecar_config(m->sidecar_model, m->ns);
    const char *image = tm_get_str(m->sidecar_model, "spec.collector.image",
                                   TM_DEFAULT_COLLECTOR_IMAGE);
    int guaranteed = 1;
    struct res_sum s;
    sum_resource(m->containers, "cpu", &s, &guaranteed);
    sum_resource(m->containers, "memory", &s, &guaranteed);
    json_t *res = guaranteed
        ? json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "limits", "cpu", "100m", "memory", "128Mi",
                    "requests", "cpu", "100m", "memory", "128Mi")
        : json_pack("{s:{s:s}, s:{s:s, s:s}}", "limits", "memory", "128Mi", "requests", "cpu",
                    "50m", "memory", "64Mi");
    json_t *c = json_pack(
        "{s:s, s:s, s:[s], s:[{s:s, s:s}], s:o, s:{s:b, s:{s:[s]}, s:b, s:b, s:I, s:{s:s}}}",
        "name", MUTATE_SIDECAR_NAME, "image", image, "args", "--config=env:OTEL_CONFIG", "env",
        "name", "OTEL_CONFIG", "value", cfg, "resources", res, "securityContext",
        "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL", "readOnlyRootFilesystem",
        1, "runAsNonRoot", 1, "runAsUser", (json_int_t)SIDECAR_UID, "seccompProfile", "type",
        "RuntimeDefault");
    json_array_append_new(m->extra, c);
    free(cfg);
}

/* ---- resolving what the pod asks for ------------------------------------------------ */

static const json_t *find_obj(const json_t *arr, const char *ns, const char *name) {
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const json_t *md = json_object_get(o, "metadata");
        const char *n = str_at(md, "name"), *s = str_at(md, "namespace");
        if (n && s && !strcmp(n, name) && !strcmp(s, ns))
            return o;
    }
    return NULL;
}

static int resolve_instrumentation(struct mctx *m, struct plan *p, const char *value) {
    const char *lang = tinst_lang_name(p->lang);
    const json_t *found = NULL;
    if (ieq(value, "true")) {
        size_t i, n = 0;
        json_t *o;
        struct strbuf names;
        strbuf_init(&names, 0);
        json_array_foreach(m->in->instrumentations, i, o) {
            const json_t *md = json_object_get(o, "metadata");
            const char *s = str_at(md, "namespace");
            if (!s || strcmp(s, m->ns) || !str_at(md, "name"))
                continue;
            if (n++ < 4)
                strbuf_printf(&names, "%s%s", n > 1 ? ", " : "", str_at(md, "name"));
            found = o;
        }
        if (n == 0)
            skip(m, "inject-%s: no Instrumentation in namespace %s", lang, m->ns);
        else if (n > 1)
            skip(m, "inject-%s: %zu Instrumentations in namespace %s (%s%s): name one", lang, n,
                 m->ns, names.buf, n > 4 ? ", ..." : "");
        strbuf_free(&names);
        if (n != 1)
            return -1;
    } else {
        char ns[TINST_REF_MAX], name[TINST_REF_MAX];
        if (tinst_ref_parse(value, m->ns, ns, name))
            return skip(m, "inject-%s: \"%s\" is not true, false, <name> or <namespace>/<name>",
                        lang, value);
        found = find_obj(m->in->instrumentations, ns, name);
        if (!found)
            return skip(m, "inject-%s: Instrumentation %s/%s not found", lang, ns, name);
    }
    const json_t *md = json_object_get(found, "metadata");
    snprintf(p->inst_ns, sizeof(p->inst_ns), "%s", str_at(md, "namespace"));
    snprintf(p->inst_name, sizeof(p->inst_name), "%s", str_at(md, "name"));
    char *error = NULL;
    p->inst = m->loader && m->loader->load_instrumentation
                  ? m->loader->load_instrumentation(m->loader->user, found, &error)
                  : mutate_load_instrumentation(found, &error);
    if (!p->inst) {
        skip(m, "Instrumentation %s/%s is invalid: %s", p->inst_ns, p->inst_name,
             error ? error : "?");
        free(error);
        return -1;
    }
    free(error);
    const char *mref = str_at(json_object_get(p->inst, "spec"), "tracingModel");
    if (mref) {
        char ns[TINST_REF_MAX], name[TINST_REF_MAX];
        if (tinst_ref_parse(mref, p->inst_ns, ns, name) ||
            !(p->model = find_obj(m->in->models, ns, name)))
            return skip(m, "Instrumentation %s/%s: TracingModel %s not found", p->inst_ns,
                        p->inst_name, mref);
    }
    if (p->lang == TINST_GO) {
        if (!json_is_object(json_object_get(json_object_get(p->inst, "spec"), "go")))
            return skip(m, "inject-go: Instrumentation %s/%s has no go block (the Go agent is a "
                           "privileged eBPF sidecar and is off unless configured)",
                        p->inst_ns, p->inst_name);
        if (!ann(m, MUTATE_ANN_GO_TARGET_EXE))
            return skip(m, "inject-go: annotation " MUTATE_ANN_GO_TARGET_EXE " is required");
    }
    return 0;
}

json_t *mutate_load_instrumentation(const json_t *raw, char **error) {
    *error = NULL;
    /* items of a list (and informer caches) often carry no apiVersion/kind; a shallow
     * copy takes them without touching raw (tinst_load only reads its input) */
    json_t *obj = json_copy((json_t *)raw);
    if (!obj)
        return NULL;
    if (!json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string(TM_API_VERSION));
    if (!json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(TINST_KIND));
    struct diag d;
    diag_init(&d);
    json_t *inst = tinst_load(obj, 0, &d);
    json_decref(obj);
    for (size_t i = 0; !inst && i < d.len && !*error; i++)
        if (d.items[i].level == DIAG_ERROR)
            *error = diag_item_format(&d.items[i]);
    diag_done(&d);
    return inst;
}

static long container_index(const struct mctx *m, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(m->containers, i, c) {
        const char *n = str_at(c, "name");
        if (n && !strcmp(n, name))
            return (long)i;
    }
    return -1;
}

static int resolve_targets(struct mctx *m, struct plan *p, int several) {
    const char *lang = tinst_lang_name(p->lang);
    char key[96];
    snprintf(key, sizeof(key), MUTATE_ANN_PREFIX "%s-container-names", lang);
    const char *list = ann(m, key);
    const char *used_key = key;
    if (!list && !several) {
        list = ann(m, MUTATE_ANN_CONTAINER_NAMES);
        used_key = MUTATE_ANN_CONTAINER_NAMES;
    }
    if (!list && several)
        return skip(m, "several languages requested: set " MUTATE_ANN_PREFIX
                       "<lang>-container-names for each (%s has none)", lang);
    size_t n = json_array_size(m->containers);
    p->targets = xcalloc(n ? n : 1, sizeof(size_t));
    if (!list) {
        p->targets[p->ntargets++] = 0;
        return 0;
    }
    char *copy = xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *t = trimdup(tok);
        long idx = *t ? container_index(m, t) : -1;
        if (idx < 0) {
            rc = skip(m, "%s: container \"%s\" is not in the pod", used_key, t);
        } else {
            int dup = 0;
            for (size_t j = 0; j < p->ntargets; j++)
                dup |= p->targets[j] == (size_t)idx;
            if (!dup && p->ntargets < n)
                p->targets[p->ntargets++] = (size_t)idx;
        }
        free(t);
    }
    free(copy);
    if (!rc && !p->ntargets)
        rc = skip(m, "%s names no container", used_key);
    if (!rc && p->lang == TINST_GO && p->ntargets != 1)
        rc = skip(m, "inject-go instruments exactly one container");
    return rc;
}

static int check_overlap(struct mctx *m) {
    for (int a = 0; a < m->nplans; a++)
        for (int b = a + 1; b < m->nplans; b++)
            for (size_t i = 0; i < m->plans[a].ntargets; i++)
                for (size_t j = 0; j < m->plans[b].ntargets; j++)
                    if (m->plans[a].targets[i] == m->plans[b].targets[j])
                        return skip(m, "container %s is targeted by both %s and %s",
                                    str_at(json_array_get(m->containers,
                                                          m->plans[a].targets[i]), "name"),
                                    tinst_lang_name(m->plans[a].lang),
                                    tinst_lang_name(m->plans[b].lang));
    return 0;
}

static int resolve_sidecar(struct mctx *m, const char *value) {
    if (!ieq(value, "true")) {
        char ns[TINST_REF_MAX], name[TINST_REF_MAX];
        if (tinst_ref_parse(value, m->ns, ns, name))
            return skip(m, "inject-sidecar: \"%s\" is not true, false, <model> or "
                           "<namespace>/<model>", value);
        m->sidecar_model = find_obj(m->in->models, ns, name);
        if (!m->sidecar_model)
            return skip(m, "inject-sidecar: TracingModel %s/%s not found", ns, name);
        return 0;
    }
    for (int i = 0; i < m->nplans && !m->sidecar_model; i++)
        m->sidecar_model = m->plans[i].model;
    if (m->sidecar_model)
        return 0;
    /* no language: the one TracingModel the namespace's Instrumentations use */
    const json_t *found = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(m->in->instrumentations, i, o) {
        const json_t *md = json_object_get(o, "metadata");
        const char *s = str_at(md, "namespace");
        const char *ref = str_at(json_object_get(o, "spec"), "tracingModel");
        char ns[TINST_REF_MAX], name[TINST_REF_MAX];
        if (!s || strcmp(s, m->ns) || !ref || tinst_ref_parse(ref, s, ns, name))
            continue;
        const json_t *mod = find_obj(m->in->models, ns, name);
        if (mod && found && mod != found)
            return skip(m, "inject-sidecar: several TracingModels in use in namespace %s: "
                           "name one", m->ns);
        if (mod)
            found = mod;
    }
    if (!found)
        return skip(m, "inject-sidecar: no TracingModel known for namespace %s: name one",
                    m->ns);
    m->sidecar_model = found;
    return 0;
}

/* ---- annotations and the final patch --------------------------------------------------- */

static void annotation_ops(struct mctx *m, json_t *patch, json_t *kv) {
    if (!json_object_size(kv))
        return;
    if (!m->meta) {
        jp_add(patch, "/metadata", json_pack("{s:O}", "annotations", kv));
        return;
    }
    if (!json_is_object(m->pod_ann)) {
        jp_add(patch, "/metadata/annotations", json_incref(kv));
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(kv, k, v) {
        char *path = jp_pointer("metadata", "annotations", k, NULL);
        jp_add(patch, path, json_incref(v));
        free(path);
    }
}

static int already_injected(const struct mctx *m) {
    if (json_object_get(m->pod_ann, MUTATE_ANN_INJECTED))
        return 1;
    static const char *const lists[] = {"initContainers", "containers"};
    size_t plen = strlen(MUTATE_NAME_PREFIX);
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(m->spec, lists[l]), i, c) {
            const char *n = str_at(c, "name");
            if (n && !strncmp(n, MUTATE_NAME_PREFIX, plen))
                return 1;
        }
    }
    return 0;
}

static int check_pod(const struct mctx *m, char *why, size_t n) {
    if (!json_is_object(m->pod))
        return snprintf(why, n, "the pod is not a JSON object"), -1;
    if (m->meta && !json_is_object(m->meta))
        return snprintf(why, n, "metadata is not an object"), -1;
    if (m->pod_ann && !json_is_object(m->pod_ann))
        return snprintf(why, n, "metadata.annotations is not an object"), -1;
    if (!json_is_object(m->spec))
        return snprintf(why, n, "spec is not an object"), -1;
    if (!json_is_array(m->containers) || !json_array_size(m->containers))
        return snprintf(why, n, "spec.containers is missing or empty"), -1;
    size_t i;
    json_t *c;
    json_array_foreach(m->containers, i, c) {
        if (!json_is_object(c) || !nonempty(str_at(c, "name")))
            return snprintf(why, n, "spec.containers[%zu] has no name", i), -1;
        const json_t *env = json_object_get(c, "env"), *vm = json_object_get(c, "volumeMounts");
        if ((env && !json_is_array(env)) || (vm && !json_is_array(vm)))
            return snprintf(why, n, "spec.containers[%zu].env/volumeMounts is not a list", i), -1;
        size_t j;
        json_t *e;
        json_array_foreach(env, j, e) {
            if (!json_is_object(e) || !str_at(e, "name"))
                return snprintf(why, n, "spec.containers[%zu].env[%zu] has no name", i, j), -1;
        }
    }
    static const char *const lists[] = {"volumes", "initContainers"};
    for (int l = 0; l < 2; l++) {
        const json_t *a = json_object_get(m->spec, lists[l]);
        if (a && !json_is_array(a))
            return snprintf(why, n, "spec.%s is not a list", lists[l]), -1;
    }
    if (m->in->instrumentations && !json_is_array(m->in->instrumentations))
        return snprintf(why, n, "instrumentations is not an array"), -1;
    if (m->in->models && !json_is_array(m->in->models))
        return snprintf(why, n, "models is not an array"), -1;
    if (!m->ns || !*m->ns)
        return snprintf(why, n, "the pod's namespace is not known"), -1;
    return 0;
}

/* The language annotation values: pod wins, except that a pod "true" takes a
 * namespace value naming an Instrumentation. NULL when not requested. */
static const char *lang_value(const struct mctx *m, const char *key) {
    const char *pv = nonempty(str_at(m->pod_ann, key));
    const char *nv = nonempty(str_at(m->ns_ann, key));
    if (pv && ieq(pv, "true") && nv && !ieq(nv, "true") && !ieq(nv, "false"))
        return nv;
    return pv ? pv : nv;
}

static void plans_free(struct mctx *m) {
    for (int i = 0; i < m->nplans; i++) {
        json_decref(m->plans[i].inst);
        free(m->plans[i].targets);
    }
}

static void set_str(char **dst, const char *s) {
    free(*dst);
    *dst = xstrdup(s);
}

static void finish_skip(struct mctx *m, struct mutate_result *out, enum mutate_decision d,
                        const char *reason) {
    json_t *kv = json_object();
    char *status = xasprintf("skipped:%s", reason);
    json_object_set_new(kv, MUTATE_ANN_STATUS, json_string(status));
    free(status);
    json_decref(out->patch);
    out->patch = json_array();
    const char *cur = str_at(m->pod_ann, MUTATE_ANN_STATUS);
    if (!cur || strcmp(cur, json_string_value(json_object_get(kv, MUTATE_ANN_STATUS))))
        annotation_ops(m, out->patch, kv);   /* re-admission of a skipped pod: no change */
    json_decref(kv);
    out->decision = d;
    set_str(&out->reason, reason);
}

/* Collects the languages asked for; returns how many (0 = none), *disabled = how many
 * said "false". */
static int collect(struct mctx *m, const char *values[TINST_LANG_COUNT], int *disabled,
                   const char **sidecar) {
    int n = 0;
    *disabled = 0;
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        char key[96];
        snprintf(key, sizeof(key), MUTATE_ANN_PREFIX "inject-%s", tinst_lang_name(i));
        values[i] = lang_value(m, key);
        if (values[i] && ieq(values[i], "false")) {
            values[i] = NULL;
            ++*disabled;
        } else if (values[i]) {
            n++;
        }
    }
    *sidecar = lang_value(m, MUTATE_ANN_SIDECAR);
    if (*sidecar && ieq(*sidecar, "false")) {
        *sidecar = NULL;
        ++*disabled;
    }
    return n;
}

static int build(struct mctx *m, const char *values[TINST_LANG_COUNT], int nlangs) {
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        if (!values[i])
            continue;
        struct plan *p = &m->plans[m->nplans++];
        p->lang = (enum tinst_lang)i;
        if (resolve_instrumentation(m, p, values[i]) || resolve_targets(m, p, nlangs > 1))
            return -1;
    }
    if (check_overlap(m))
        return -1;
    if (m->want_sidecar) {
        if (container_index(m, MUTATE_SIDECAR_NAME) >= 0)
            return skip(m, "inject-sidecar: the pod already has a container named "
                           MUTATE_SIDECAR_NAME);
        if (resolve_sidecar(m, ann(m, MUTATE_ANN_SIDECAR)))
            return -1;
    }
    const char *py = ann(m, MUTATE_ANN_PYTHON_PLATFORM);
    if (py && !ieq(py, "glibc") && !ieq(py, "musl"))
        return skip(m, MUTATE_ANN_PYTHON_PLATFORM " must be glibc or musl, got \"%s\"", py);
    const char *rt = ann(m, MUTATE_ANN_DOTNET_RUNTIME);
    if (rt && strcmp(rt, "linux-x64") && strcmp(rt, "linux-musl-x64"))
        return skip(m, MUTATE_ANN_DOTNET_RUNTIME " must be linux-x64 or linux-musl-x64, got "
                       "\"%s\"", rt);
    for (int i = 0; i < m->nplans; i++) {
        struct plan *p = &m->plans[i];
        if (p->lang == TINST_GO) {
            if (add_go_sidecar(m, p))
                return -1;
            continue;
        }
        if (p->lang != TINST_SDK)
            add_init_container(m, p);
        for (size_t t = 0; t < p->ntargets; t++)
            if (inject_container(m, p, p->targets[t]))
                return -1;
    }
    if (m->want_sidecar)
        add_collector_sidecar(m);
    return 0;
}

static void assemble(struct mctx *m, struct mutate_result *out) {
    struct strbuf langs, insts;
    strbuf_init(&langs, 0);
    strbuf_init(&insts, 0);
    for (int i = 0; i < m->nplans; i++) {
        const struct plan *p = &m->plans[i];
        strbuf_printf(&langs, "%s%s", langs.len ? "," : "", tinst_lang_name(p->lang));
        char ref[2 * TINST_REF_MAX + 1];
        snprintf(ref, sizeof(ref), "%s/%s", p->inst_ns, p->inst_name);
        if (!insts.buf || !strstr(insts.buf, ref))
            strbuf_printf(&insts, "%s%s", insts.len ? "," : "", ref);
    }
    if (m->want_sidecar)
        strbuf_printf(&langs, "%ssidecar", langs.len ? "," : "");
    set_str(&out->langs, langs.buf ? langs.buf : "");
    set_str(&out->instrumentation, insts.buf ? insts.buf : "");
    json_t *kv = json_object();
    json_object_set_new(kv, MUTATE_ANN_INJECTED, json_string(out->langs));
    char *status = xasprintf("injected:%s", out->langs);
    json_object_set_new(kv, MUTATE_ANN_STATUS, json_string(status));
    free(status);
    if (insts.len)
        json_object_set_new(kv, MUTATE_ANN_INSTRUMENTATION, json_string(insts.buf));
    strbuf_free(&langs);
    strbuf_free(&insts);
    json_t *patch = out->patch;
    annotation_ops(m, patch, kv);
    json_decref(kv);
    list_ops(patch, "/spec/volumes", json_object_get(m->spec, "volumes"), m->volumes);
    list_ops(patch, "/spec/initContainers", json_object_get(m->spec, "initContainers"),
             m->inits);
    json_array_extend(patch, m->cops);
    size_t i;
    json_t *c;
    json_array_foreach(m->extra, i, c) {
        jp_add(patch, "/spec/containers/-", json_incref(c));
    }
    if (m->share_pid)
        jp_add(patch, "/spec/shareProcessNamespace", json_true());
    out->decision = MUTATE_INJECTED;
}

const char *mutate_decision_name(enum mutate_decision d) {
    switch (d) {
    case MUTATE_NOT_REQUESTED: return "not-requested";
    case MUTATE_ALREADY: return "already-injected";
    case MUTATE_INJECTED: return "injected";
    case MUTATE_DISABLED: return "disabled";
    case MUTATE_SKIPPED: return "skipped";
    case MUTATE_ERROR: return "error";
    }
    return "unknown";
}

int mutate_pod(const struct mutate_input *in, struct mutate_result *out) {
    return mutate_pod_loaded(in, NULL, out);
}

int mutate_pod_loaded(const struct mutate_input *in, const struct mutate_loader *loader,
                      struct mutate_result *out) {
    memset(out, 0, sizeof(*out));
    out->patch = json_array();
    out->warnings = json_array();
    out->langs = xstrdup("");
    out->reason = xstrdup("");
    out->instrumentation = xstrdup("");
    struct mctx m = {0};
    m.in = in;
    m.loader = loader;
    m.pod = in ? in->pod : NULL;
    m.meta = json_object_get(m.pod, "metadata");
    m.spec = json_object_get(m.pod, "spec");
    m.containers = json_object_get(m.spec, "containers");
    m.pod_ann = json_object_get(m.meta, "annotations");
    m.labels = json_object_get(m.meta, "labels");
    m.ns_ann = json_object_get(json_object_get(in ? in->ns_obj : NULL, "metadata"),
                               "annotations");
    if (!json_is_object(m.ns_ann))
        m.ns_ann = NULL;
    if (!json_is_object(m.labels))
        m.labels = NULL;
    m.ns = in ? in->namespace : NULL;
    if (!m.ns || !*m.ns)
        m.ns = str_at(m.meta, "namespace");
    m.warnings = out->warnings;
    char why[160];
    if (!in || check_pod(&m, why, sizeof(why))) {
        out->decision = MUTATE_ERROR;
        set_str(&out->reason, in ? why : "no input");
        return OP_EINVALID;
    }
    if (already_injected(&m)) {
        out->decision = MUTATE_ALREADY;
        set_str(&out->reason, "already injected");
        return 0;
    }
    const char *values[TINST_LANG_COUNT];
    const char *sidecar;
    int disabled;
    int nlangs = collect(&m, values, &disabled, &sidecar);
    if (!nlangs && !sidecar) {
        if (disabled)
            finish_skip(&m, out, MUTATE_DISABLED, "disabled");
        else
            out->decision = MUTATE_NOT_REQUESTED;
        return 0;
    }
    m.want_sidecar = sidecar != NULL;
    owner_init(&m.owner, m.pod);
    m.volumes = json_array();
    m.inits = json_array();
    m.extra = json_array();
    m.cops = json_array();
    if (build(&m, values, nlangs))
        finish_skip(&m, out, MUTATE_SKIPPED, m.skip ? m.skip : "unknown");
    else
        assemble(&m, out);
    plans_free(&m);
    owner_free(&m.owner);
    json_decref(m.volumes);
    json_decref(m.inits);
    json_decref(m.extra);
    json_decref(m.cops);
    free(m.skip);
    return 0;
}

void mutate_result_free(struct mutate_result *r) {
    if (!r)
        return;
    json_decref(r->patch);
    json_decref(r->warnings);
    free(r->langs);
    free(r->reason);
    free(r->instrumentation);
    memset(r, 0, sizeof(*r));
}
