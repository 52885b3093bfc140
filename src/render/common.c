/* common.c - builders shared by the renderers: model reads, names, metadata and labels,
 * pod security, ports, env vars, ConfigMaps (see render_int.h). Pure functions. */
#include "render/render_int.h"

#include <math.h>
#include <stdarg.h>
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

void r_fail(struct rctx *c, const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_error(c->d, where, "%s", msg);
    free(msg);
    c->failed = 1;
}

/* ---- metadata ---- */

static int reserved_label(const char *k) {
    static const char *const keys[] = {R_LABEL_MANAGED_BY, R_LABEL_PART_OF, R_LABEL_COMPONENT,
                                       R_LABEL_NAME,       R_LABEL_VERSION, R_LABEL_MODEL,
                                       NULL};
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

json_t *r_labels(const struct rctx *c, const char *name, const char *component) {
    json_t *l = json_object();
    json_object_set_new(l, R_LABEL_MANAGED_BY, json_string(R_OPERATOR));
    json_object_set_new(l, R_LABEL_MODEL, json_string(c->name));
    json_object_set_new(l, R_LABEL_PART_OF, json_string(R_OPERATOR));
    json_object_set_new(l, R_LABEL_COMPONENT, json_string(component));
    json_object_set_new(l, R_LABEL_NAME, json_string(name));
    if (c->version)
        json_object_set_new(l, R_LABEL_VERSION, json_string(c->version));
    /* spec.labels come after ours and never replace them: selectors depend on ours */
    const json_t *user = r_get(c->spec, "labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)user, k, v) {
        if (json_is_string(v) && !reserved_label(k))
            json_object_set(l, k, v);
    }
    return l;
}

json_t *r_selector_labels(const struct rctx *c, const char *name) {
    json_t *l = json_object();
    json_object_set_new(l, R_LABEL_NAME, json_string(name));
    json_object_set_new(l, R_LABEL_MODEL, json_string(c->name));
    json_object_set_new(l, R_LABEL_MANAGED_BY, json_string(R_OPERATOR));
    return l;
}

json_t *r_object(const struct rctx *c, const char *api, const char *kind, const char *name,
                 const char *component, const char *ns) {
    json_t *ann = json_object();
    json_object_set_new(ann, R_ANN_OWNER, json_string(c->owner));
    const char *desc = r_str(c->spec, "description", NULL);
    if (desc && *desc)
        json_object_set_new(ann, R_ANN_DESCRIPTION, json_string(desc));
    json_t *meta = json_object();
    json_object_set_new(meta, "name", json_string(name));
    json_object_set_new(meta, "namespace", json_string(ns ? ns : c->ns));
    json_object_set_new(meta, "labels", r_labels(c, name, component));
    json_object_set_new(meta, "annotations", ann);
    json_t *o = json_object();
    json_object_set_new(o, "apiVersion", json_string(api));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "metadata", meta);
    return o;
}

/* Longest name Kubernetes accepts in practice for a kind: CronJob names get an
 * 11-character Job suffix; StatefulSet pods carry a controller-revision-hash label
 * "<name>-<10 chars>" that must stay a 63-character label value. */
static size_t name_limit(const char *kind) {
    if (!strcmp(kind, "CronJob") || !strcmp(kind, "StatefulSet"))
        return 52;
    return 63;
}

void r_emit(struct rctx *c, json_t *obj) {
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *name = r_str(obj, "metadata.name", "");
    size_t lim = name_limit(kind ? kind : "");
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

static json_t *seccomp_default(void) {
    return json_pack("{s:s}", "type", "RuntimeDefault");
}

json_t *r_pod_security(void) {
    json_t *s = json_object();
    json_object_set_new(s, "runAsNonRoot", json_true());
    json_object_set_new(s, "runAsUser", json_integer(R_RUN_AS_USER));
    json_object_set_new(s, "runAsGroup", json_integer(R_RUN_AS_USER));
    json_object_set_new(s, "fsGroup", json_integer(R_RUN_AS_USER));
    json_object_set_new(s, "seccompProfile", seccomp_default());
    return s;
}

json_t *r_container_security(void) {
    json_t *s = json_object();
    json_object_set_new(s, "allowPrivilegeEscalation", json_false());
    json_object_set_new(s, "readOnlyRootFilesystem", json_true());
    json_object_set_new(s, "runAsNonRoot", json_true());
    json_object_set_new(s, "runAsUser", json_integer(R_RUN_AS_USER));
    json_object_set_new(s, "capabilities", json_pack("{s:[s]}", "drop", "ALL"));
    json_object_set_new(s, "seccompProfile", seccomp_default());
    return s;
}

json_t *r_port(const char *name, int port, const char *protocol) {
    return json_pack("{s:s, s:i, s:s}", "name", name, "containerPort", port, "protocol",
                     protocol ? protocol : "TCP");
}

json_t *r_svc_port(const char *name, int port, const char *protocol) {
    return json_pack("{s:s, s:i, s:i, s:s}", "name", name, "port", port, "targetPort", port,
                     "protocol", protocol ? protocol : "TCP");
}

json_t *r_env(const char *name, const char *value) {
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

json_t *r_env_secret(const char *name, const char *secret, const char *key) {
    return json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom", "secretKeyRef",
                     "name", secret, "key", key);
}

json_t *r_http_probe(const char *path, int port, int initial_delay) {
    return json_pack("{s:{s:s, s:i}, s:i, s:i, s:i}", "httpGet", "path", path, "port", port,
                     "initialDelaySeconds", initial_delay, "periodSeconds", 10,
                     "failureThreshold", 3);
}

json_t *r_pod_template(const struct rctx *c, const char *name, const char *component,
                       const char *config_hash, json_t *pod_spec) {
    json_t *meta = json_object();
    json_object_set_new(meta, "labels", r_labels(c, name, component));
    if (config_hash)
        json_object_set_new(meta, "annotations",
                            json_pack("{s:s}", R_ANN_CONFIG_HASH, config_hash));
    json_t *t = json_object();
    json_object_set_new(t, "metadata", meta);
    json_object_set_new(t, "spec", pod_spec);
    return t;
}

json_t *r_configmap(const struct rctx *c, const char *name, const char *component,
                    const char *key, const char *text) {
    json_t *cm = r_object(c, "v1", "ConfigMap", name, component, NULL);
    json_object_set_new(cm, "data", json_pack("{s:s}", key, text));
    return cm;
}

char *r_yaml_text(const json_t *v, char hash[65]) {
    struct strbuf b;
    strbuf_init(&b, 0);
    if (yaml_dump(v, &b) < 0)
        abort(); /* only a libyaml emitter failure on valid JSON: not recoverable */
    size_t n;
    char *s = strbuf_detach(&b, &n);
    sha256_hex(s, n, hash);
    return s;
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
