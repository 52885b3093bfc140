/* common.c - builders shared by the renderers: model reads, names, metadata and labels,
 * pod security, ports, env vars, ConfigMaps (see render_int.h). Pure functions. */
#include "render/render_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "model/model.h"

/* ---- model reads ---- */

const json_t *r_get(const json_t *o, const char *path) { return tm_get(o, path); }

const char *r_str(const json_t *o, const char *path, const char *dflt) {
    return tm_get_str(o, path, dflt);
}

double r_num(const json_t *o, const char *path, double dflt) { return tm_get_num(o, path, dflt); }

long long r_int(const json_t *o, const char *path, long long dflt) {
    const json_t *v = tm_get(o, path);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
        fabs(json_real_value(v)) < 9e15)
        return (long long)json_real_value(v);
    return dflt;
}

int r_bool(const json_t *o, const char *path, int dflt) { return tm_get_bool(o, path, dflt); }

/* ---- names and errors ---- */

const char *r_name(const struct rctx *c, const char *suffix, char *buf) {
    snprintf(buf, R_NAME_MAX, "%s-%s", c->name, suffix);
    return buf;
}

const char *r_name_fit(const struct rctx *c, const char *suffix, const char *kind, char *buf) {
    size_t limit = r_name_limit(kind), ml = strlen(c->name), sl = strlen(suffix);
    if (ml + 1 + sl <= limit || sl + 9 > limit)
        return r_name(c, suffix, buf); /* fits (or cannot be helped: r_emit reports it) */
    uint32_t h = 2166136261u; /* FNV-1a of the whole model name */
    for (const unsigned char *p = (const unsigned char *)c->name; *p; p++)
        h = (h ^ *p) * 16777619u;
    size_t keep = limit - sl - 8; /* "<keep>-<6 hex>-<suffix>" is exactly limit */
    while (keep > 1 && c->name[keep - 1] == '-')
        keep--;
    snprintf(buf, R_NAME_MAX, "%.*s-%06x-%s", (int)keep, c->name, (unsigned)(h & 0xFFFFFF),
             suffix);
    return buf;
}

void r_fail(struct rctx *c, const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_error(c->d, where, "%s", msg);
    free(msg);
    c->failed = 1;
}

/* ---- fast builders ---- */

json_t *r_s(const char *s) { return json_string_nocheck(s); }

void r_set(json_t *obj, const char *k, json_t *v) { json_object_set_new_nocheck(obj, k, v); }

json_t *r_kv(const char *k, json_t *v, ...) {
    json_t *o = json_object();
    va_list ap;
    va_start(ap, v);
    while (k) {
        json_object_set_new_nocheck(o, k, v);
        k = va_arg(ap, const char *);
        if (k)
            v = va_arg(ap, json_t *);
    }
    va_end(ap);
    return o;
}

json_t *r_arr(json_t *v, ...) {
    json_t *a = json_array();
    va_list ap;
    va_start(ap, v);
    for (; v; v = va_arg(ap, json_t *))
        json_array_append_new(a, v);
    va_end(ap);
    return a;
}

json_t *r_strs(const char *s, ...) {
    json_t *a = json_array();
    va_list ap;
    va_start(ap, s);
    for (; s; s = va_arg(ap, const char *))
        json_array_append_new(a, r_s(s));
    va_end(ap);
    return a;
}

/* ---- metadata ---- */

static int reserved_label(const char *k) {
    static const char *const keys[] = {R_LABEL_MANAGED_BY,
                                       R_LABEL_PART_OF,
                                       R_LABEL_COMPONENT,
                                       R_LABEL_NAME,
                                       R_LABEL_VERSION,
                                       R_LABEL_MODEL,
                                       NULL};
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

json_t *r_labels(const struct rctx *c, const char *name, const char *component) {
    json_t *l = json_object();
    r_set(l, R_LABEL_MANAGED_BY, r_s(R_OPERATOR));
    r_set(l, R_LABEL_MODEL, r_s(c->name));
    r_set(l, R_LABEL_PART_OF, r_s(R_OPERATOR));
    r_set(l, R_LABEL_COMPONENT, r_s(component));
    r_set(l, R_LABEL_NAME, r_s(name));
    if (c->version)
        r_set(l, R_LABEL_VERSION, r_s(c->version));
    /* spec.labels come after ours and never replace them: selectors depend on ours */
    const json_t *user = r_get(c->spec, "labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)user, k, v) {
        if (json_is_string(v) && !reserved_label(k))
            r_set(l, k, r_s(json_string_value(v)));
    }
    return l;
}

json_t *r_selector_labels(const struct rctx *c, const char *name) {
    return r_kv(R_LABEL_NAME, r_s(name), R_LABEL_MODEL, r_s(c->name), R_LABEL_MANAGED_BY,
                r_s(R_OPERATOR), NULL);
}

json_t *r_object(const struct rctx *c, const char *api, const char *kind, const char *name,
                 const char *component, const char *ns) {
    json_t *ann = r_kv(R_ANN_OWNER, r_s(c->owner), NULL);
    const char *desc = r_str(c->spec, "description", NULL);
    if (desc && *desc)
        r_set(ann, R_ANN_DESCRIPTION, r_s(desc));
    json_t *meta = r_kv("name", r_s(name), "namespace", r_s(ns ? ns : c->ns), "labels",
                        r_labels(c, name, component), "annotations", ann, NULL);
    return r_kv("apiVersion", r_s(api), "kind", r_s(kind), "metadata", meta, NULL);
}

/* Longest name Kubernetes accepts in practice for a kind: CronJob names get an
 * 11-character Job suffix; StatefulSet pods carry a controller-revision-hash label
 * "<name>-<10 chars>" that must stay a 63-character label value. */
size_t r_name_limit(const char *kind) {
    if (!strcmp(kind, "CronJob") || !strcmp(kind, "StatefulSet"))
        return 52;
    return 63;
}

void r_emit(struct rctx *c, json_t *obj) {
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *name = r_str(obj, "metadata.name", "");
    size_t lim = r_name_limit(kind ? kind : "");
    if (strlen(name) > lim)
        r_fail(c, "metadata.name",
               "the generated %s name \"%s\" is %zu characters, longer than the %zu Kubernetes "
               "allows; use a shorter model name",
               kind, name, strlen(name), lim);
    else if (kind && !strcmp(kind, "Service") && !(name[0] >= 'a' && name[0] <= 'z'))
        r_fail(c, "metadata.name", "the Service name \"%s\" must start with a lower-case letter",
               name);
    json_array_append_new(c->out, obj);
}

/* ---- pods ---- */

static json_t *seccomp_default(void) { return r_kv("type", r_s("RuntimeDefault"), NULL); }

json_t *r_pod_security(struct rctx *c) {
    if (!c->pod_sec)
        c->pod_sec = r_kv("runAsNonRoot", json_true(), "runAsUser", json_integer(R_RUN_AS_USER),
                          "runAsGroup", json_integer(R_RUN_AS_USER), "fsGroup",
                          json_integer(R_RUN_AS_USER), "seccompProfile", seccomp_default(), NULL);
    return json_incref(c->pod_sec);
}

json_t *r_container_security(struct rctx *c) {
    if (!c->ctr_sec) {
        json_t *drop = json_array();
        json_array_append_new(drop, r_s("ALL"));
        c->ctr_sec = r_kv("allowPrivilegeEscalation", json_false(), "readOnlyRootFilesystem",
                          json_true(), "runAsNonRoot", json_true(), "runAsUser",
                          json_integer(R_RUN_AS_USER), "capabilities", r_kv("drop", drop, NULL),
                          "seccompProfile", seccomp_default(), NULL);
    }
    return json_incref(c->ctr_sec);
}

json_t *r_port(const char *name, int port, const char *protocol) {
    return r_kv("name", r_s(name), "containerPort", json_integer(port), "protocol",
                r_s(protocol ? protocol : "TCP"), NULL);
}

json_t *r_svc_port(const char *name, int port, const char *protocol) {
    return r_kv("name", r_s(name), "port", json_integer(port), "targetPort", json_integer(port),
                "protocol", r_s(protocol ? protocol : "TCP"), NULL);
}

json_t *r_env(const char *name, const char *value) {
    return r_kv("name", r_s(name), "value", r_s(value), NULL);
}

json_t *r_env_secret(const char *name, const char *secret, const char *key) {
    return r_kv("name", r_s(name), "valueFrom",
                r_kv("secretKeyRef", r_kv("name", r_s(secret), "key", r_s(key), NULL), NULL), NULL);
}

json_t *r_http_probe(const char *path, int port, int initial_delay) {
    return r_kv("httpGet", r_kv("path", r_s(path), "port", json_integer(port), NULL),
                "initialDelaySeconds", json_integer(initial_delay), "periodSeconds",
                json_integer(10), "failureThreshold", json_integer(3), NULL);
}

json_t *r_pod_template(struct rctx *c, const char *name, const char *component, int text,
                       json_t *pod_spec) {
    json_t *meta = r_kv("labels", r_labels(c, name, component), NULL);
    if (text >= 0 && text < c->ntexts && c->texts[text].nann < 2) {
        json_t *ann = r_kv(R_ANN_CONFIG_HASH, r_s(""), NULL); /* filled at the end */
        c->texts[text].ann[c->texts[text].nann++] = ann;
        r_set(meta, "annotations", ann);
    }
    return r_kv("metadata", meta, "spec", pod_spec, NULL);
}

json_t *r_configmap(const struct rctx *c, const char *name, const char *component, const char *key,
                    const char *text) {
    json_t *cm = r_object(c, "v1", "ConfigMap", name, component, NULL);
    r_set(cm, "data", r_kv(key, r_s(text), NULL));
    return cm;
}

int r_configmap_yaml(struct rctx *c, const char *name, const char *component, const char *key,
                     json_t *doc) {
    if (c->ntexts >= R_MAX_TEXTS)
        abort(); /* a renderer emits more texts than R_MAX_TEXTS: a programming error */
    json_t *cm = r_configmap(c, name, component, key, "");
    struct r_text *t = &c->texts[c->ntexts];
    t->data = json_object_get(cm, "data");
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->nann = 0;
    if (!c->docs)
        c->docs = json_array();
    json_array_append_new(c->docs, doc);
    r_emit(c, cm);
    return c->ntexts++;
}

/* yaml_dump_all() separates documents with a "---" line at column 0; inside a
 * document (always a mapping here) every line of a block scalar is indented, so that
 * line can only be a separator. */
void r_texts_finish(struct rctx *c) {
    if (!c->ntexts)
        return;
    struct strbuf b;
    strbuf_init(&b, 0);
    if (yaml_dump_all(c->docs, &b) < 0)
        abort(); /* only a libyaml emitter failure on valid JSON: not recoverable */
    const char *p = b.buf, *end = b.buf + b.len;
    for (int i = 0; i < c->ntexts; i++) {
        const char *sep = i + 1 < c->ntexts ? strstr(p, "\n---\n") : NULL;
        size_t n = sep ? (size_t)(sep - p) + 1 : (size_t)(end - p);
        struct r_text *t = &c->texts[i];
        json_object_set_new_nocheck(t->data, t->key, json_stringn_nocheck(p, n));
        if (t->nann) {
            char hash[65];
            sha256_hex(p, n, hash);
            for (int k = 0; k < t->nann; k++)
                r_set(t->ann[k], R_ANN_CONFIG_HASH, r_s(hash));
        }
        p = sep ? sep + 5 : end;
    }
    strbuf_free(&b);
}

/* ---- images ---- */

char *r_image_sibling(const char *image, const char *repo) {
    const char *slash = strrchr(image, '/');
    const char *last = slash ? slash + 1 : image;
    const char *tag = strpbrk(last, ":@");
    int plen = slash ? (int)(slash - image + 1) : 0;
    return xasprintf("%.*s%s%s", plen, image, repo, tag ? tag : "");
}

const char *r_image_tag(const char *image) {
    const char *slash = strrchr(image, '/');
    const char *last = slash ? slash + 1 : image;
    const char *tag = strchr(last, ':');
    return tag && tag[1] ? tag + 1 : "latest";
}

/* ---- numbers and durations ---- */

void r_fmt_num(double v, char *out, size_t n) {
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.0f", v);
    else
        format_double(v, out, n);
}

json_t *r_number(double v) {
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(isfinite(v) ? v : 0.0);
}

long long r_retention_ms(const struct rctx *c) {
    const char *r = r_str(c->spec, "backend.retention", NULL);
    int64_t ms = 0;
    if (!r || parse_duration_ms(r, &ms) < 0)
        return 0;
    return (long long)ms;
}
