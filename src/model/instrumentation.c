/* instrumentation.c - Instrumentation defaults and validation, and the sampler,
 * propagator, quantity and reference parsers the webhook shares (see instrumentation.h). */
#include "model/instrumentation.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/suggest.h"
#include "base/xalloc.h"
#include "model/model.h"

static const char *const lang_names[TINST_LANG_COUNT] = {
    "java", "nodejs", "python", "dotnet", "go", "sdk",
};

static const char *const lang_images[TINST_LANG_COUNT] = {
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.30.0",
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-nodejs:0.78.0",
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-python:0.64b0",
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0",
    "ghcr.io/open-telemetry/opentelemetry-go-instrumentation/autoinstrumentation-go:v0.24.0",
    NULL,
};

static const char *const sampler_types[] = {
    "always_on", "always_off", "traceidratio", "parentbased_always_on",
    "parentbased_always_off", "parentbased_traceidratio", "jaeger_remote",
    "parentbased_jaeger_remote", "xray", NULL,
};

static const char *const propagators[] = {
    "tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none", NULL,
};

const char *tinst_lang_name(enum tinst_lang lang) {
    return (unsigned)lang < TINST_LANG_COUNT ? lang_names[lang] : "unknown";
}

int tinst_lang_parse(const char *name, enum tinst_lang *out) {
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        if (name && !strcmp(name, lang_names[i])) {
            *out = (enum tinst_lang)i;
            return 0;
        }
    }
    return -1;
}

const char *tinst_default_image(enum tinst_lang lang) {
    return (unsigned)lang < TINST_LANG_COUNT ? lang_images[lang] : NULL;
}

static int in_list(const char *s, const char *const *list) {
    for (size_t i = 0; s && list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

int tinst_sampler_type_valid(const char *type) { return in_list(type, sampler_types); }

int tinst_propagator_valid(const char *p) {
    return in_list(p, propagators) || (p && !strcmp(p, "w3c_tracecontext"));
}

/* ---- small parsers ---------------------------------------------------- */

/* Whole-string strtod: finite, no trailing junk, no leading space. */
static int parse_double_strict(const char *s, double *ret) {
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    /* strtod also accepts hex floats, "inf" and "nan": keep to plain decimals */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.+-eE", *p))
            return -1;
    *ret = v;
    return 0;
}

static int parse_ratio(const char *s, double *ret) {
    double v;
    if (parse_double_strict(s, &v) || v < 0 || v > 1)
        return -1;
    *ret = v;
    return 0;
}

static int parse_posint(const char *s, long long *ret) {
    if (!s || !*s)
        return -1;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 1000000000000LL)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *ret = v;
    return 0;
}

static int is_http_url(const char *s) {
    const char *rest;
    if (!strncmp(s, "http://", 7))
        rest = s + 7;
    else if (!strncmp(s, "https://", 8))
        rest = s + 8;
    else
        return 0;
    if (!*rest || *rest == '/' || *rest == ':')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* jaeger_remote: "endpoint=http://...,pollingIntervalMs=5000,initialSamplingRate=0.25". */
static int check_jaeger_remote_arg(const char *arg, char *err, size_t errlen) {
    if (!*arg)
        return 0;
    char *copy = xstrdup(arg);
    int rc = 0;
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(err, errlen, "jaeger_remote argument \"%s\" is not key=value", kv);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *k = kv, *v = eq + 1;
        double r;
        long long n;
        if (!strcmp(k, "endpoint")) {
            if (!is_http_url(v)) {
                snprintf(err, errlen, "jaeger_remote endpoint \"%s\" is not an http(s) URL", v);
                rc = -1;
            }
        } else if (!strcmp(k, "pollingIntervalMs")) {
            if (parse_posint(v, &n) || n < 1) {
                snprintf(err, errlen,
                         "jaeger_remote pollingIntervalMs \"%s\" is not a positive integer", v);
                rc = -1;
            }
        } else if (!strcmp(k, "initialSamplingRate")) {
            if (parse_ratio(v, &r)) {
                snprintf(err, errlen,
                         "jaeger_remote initialSamplingRate \"%s\" is not a number in [0, 1]", v);
                rc = -1;
            }
        } else {
            snprintf(err, errlen,
                     "jaeger_remote argument key \"%s\" is unknown (endpoint, pollingIntervalMs, "
                     "initialSamplingRate)", k);
            rc = -1;
        }
        if (rc)
            break;
    }
    /* "a,,b" or a trailing comma leaves an empty item strtok skips: reject it too */
    if (!rc && (strstr(arg, ",,") || arg[0] == ',' || arg[strlen(arg) - 1] == ',')) {
        snprintf(err, errlen, "jaeger_remote argument has an empty item");
        rc = -1;
    }
    free(copy);
    return rc;
}

int tinst_sampler_arg_check(const char *type, const char *arg, char *err, size_t errlen) {
    if (!type || !arg)
        return 0;
    if (!strcmp(type, "traceidratio") || !strcmp(type, "parentbased_traceidratio")) {
        double r;
        if (*arg && parse_ratio(arg, &r)) {
            snprintf(err, errlen, "must be a number in [0, 1] for %s, got \"%s\"", type, arg);
            return -1;
        }
        return 0;
    }
    if (!strcmp(type, "jaeger_remote") || !strcmp(type, "parentbased_jaeger_remote"))
        return check_jaeger_remote_arg(arg, err, errlen);
    return 0;
}

/* A quantity that is well-formed, finite and not negative (tm_parse_quantity). */
static int quantity_ok(const char *s, double *ret) {
    double v;
    if (tm_parse_quantity(s, &v) || !isfinite(v) || v < 0)
        return -1;
    *ret = v;
    return 0;
}

int tinst_ref_parse(const char *ref, const char *default_ns, char ns_out[TINST_REF_MAX],
                    char name_out[TINST_REF_MAX]) {
    if (!ref || !*ref)
        return -1;
    const char *slash = strchr(ref, '/');
    const char *name = ref;
    if (slash) {
        size_t nl = (size_t)(slash - ref);
        if (nl == 0 || nl >= TINST_REF_MAX || strchr(slash + 1, '/'))
            return -1;
        memcpy(ns_out, ref, nl);
        ns_out[nl] = '\0';
        if (!is_dns_label(ns_out))
            return -1;
        name = slash + 1;
    } else {
        if (!default_ns || strlen(default_ns) >= TINST_REF_MAX)
            return -1;
        strcpy(ns_out, default_ns);
    }
    if (strlen(name) >= TINST_REF_MAX || !is_dns_subdomain(name))
        return -1;
    strcpy(name_out, name);
    return 0;
}

/* ---- defaults ---------------------------------------------------------- */

static void default_bool(json_t *obj, const char *key) {
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, json_false());
}

static void normalize_propagators(json_t *arr) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), "w3c_tracecontext"))
            json_array_set_new(arr, i, json_string("tracecontext"));
    }
}

json_t *tinst_default(const json_t *obj) {
    if (!json_is_object(obj))
        return NULL;
    json_t *out = json_deep_copy(obj);
    json_t *spec = json_object_get(out, "spec");
    if (!spec) {
        spec = json_object();
        json_object_set_new(out, "spec", spec);
    }
    if (!json_is_object(spec))
        return out;
    for (int i = 0; i < TINST_LANG_COUNT; i++) {
        if (i == TINST_SDK)
            continue;
        json_t *blk = json_object_get(spec, lang_names[i]);
        if (!blk && i != TINST_GO) {
            blk = json_object();
            json_object_set_new(spec, lang_names[i], blk);
        }
        if (json_is_object(blk) && !json_object_get(blk, "image"))
            json_object_set_new(blk, "image", json_string(lang_images[i]));
    }
    json_t *res = json_object_get(spec, "resource");
    if (!res) {
        res = json_object();
        json_object_set_new(spec, "resource", res);
    }
    if (json_is_object(res))
        default_bool(res, "addK8sUIDAttributes");
    default_bool(spec, "rolloutOnChange");
    default_bool(spec, "restartUninstrumented");
    json_t *props = json_object_get(spec, "propagators");
    if (json_is_array(props))
        normalize_propagators(props);
    return out;
}

/* ---- validation -------------------------------------------------------- */

struct vctx {
    struct diag *d;
    int strict;
};

static void unknown_keys(struct vctx *v, const json_t *obj, const char *path,
                         const char *const *allowed) {
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val) {
        if (in_list(k, allowed))
            continue;
        char *where = *path ? xasprintf("%s.%s", path, k) : xstrdup(k);
        struct suggest sg;
        suggest_init(&sg, k);
        for (size_t i = 0; allowed[i]; i++)
            suggest_consider(&sg, allowed[i]);
        const char *hint = suggest_best(&sg);
        if (hint)
            diag_add(v->d, v->strict ? DIAG_ERROR : DIAG_WARNING, where,
                     "unknown field (did you mean \"%s\"?)", hint);
        else
            diag_add(v->d, v->strict ? DIAG_ERROR : DIAG_WARNING, where, "unknown field");
        free(where);
    }
}

static const json_t *want_object(struct vctx *v, const json_t *parent, const char *key,
                                 const char *path) {
    const json_t *o = json_object_get(parent, key);
    if (o && !json_is_object(o)) {
        diag_error(v->d, path, "must be an object");
        return NULL;
    }
    return o;
}

static const char *want_string(struct vctx *v, const json_t *parent, const char *key,
                               const char *path) {
    const json_t *s = json_object_get(parent, key);
    if (s && !json_is_string(s)) {
        diag_error(v->d, path, "must be a string");
        return NULL;
    }
    return s ? json_string_value(s) : NULL;
}

static void want_bool(struct vctx *v, const json_t *parent, const char *key, const char *path) {
    const json_t *b = json_object_get(parent, key);
    if (b && !json_is_boolean(b))
        diag_error(v->d, path, "must be true or false");
}

static int env_name_valid(const char *s) {
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '=')
            return 0;
    return 1;
}

static void validate_value_from(struct vctx *v, const json_t *vf, const char *path) {
    static const char *const sources[] = {
        "fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", NULL,
    };
    if (!json_is_object(vf)) {
        diag_error(v->d, path, "must be an object");
        return;
    }
    int n = 0;
    for (int i = 0; sources[i]; i++) {
        const json_t *src = json_object_get(vf, sources[i]);
        if (!src)
            continue;
        n++;
        char *p = xasprintf("%s.%s", path, sources[i]);
        if (!json_is_object(src))
            diag_error(v->d, p, "must be an object");
        free(p);
    }
    unknown_keys(v, vf, path, sources);
    if (n != 1)
        diag_error(v->d, path, "must set exactly one of fieldRef, resourceFieldRef, "
                               "configMapKeyRef, secretKeyRef");
}

static void validate_env(struct vctx *v, const json_t *env, const char *path) {
    static const char *const keys[] = {"name", "value", "valueFrom", NULL};
    if (!env)
        return;
    if (!json_is_array(env)) {
        diag_error(v->d, path, "must be a list of {name, value | valueFrom}");
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e) {
        char *p = xasprintf("%s[%zu]", path, i);
        if (!json_is_object(e)) {
            diag_error(v->d, p, "must be an object {name, value | valueFrom}");
            free(p);
            continue;
        }
        char *pn = xasprintf("%s.name", p);
        const json_t *name = json_object_get(e, "name");
        if (!json_is_string(name) || !env_name_valid(json_string_value(name)))
            diag_error(v->d, pn, "must be a non-empty name of printable characters without '='");
        for (size_t j = 0; j < i && json_is_string(name); j++) {
            const json_t *prev = json_object_get(json_array_get(env, j), "name");
            if (json_is_string(prev) && json_equal(prev, name)) {
                diag_warn(v->d, pn, "\"%s\" is set twice; the first one is used",
                          json_string_value(name));
                break;
            }
        }
        free(pn);
        const json_t *val = json_object_get(e, "value");
        const json_t *vf = json_object_get(e, "valueFrom");
        if (val && !json_is_string(val)) {
            char *pv = xasprintf("%s.value", p);
            diag_error(v->d, pv, "must be a string");
            free(pv);
        }
        if (val && vf)
            diag_error(v->d, p, "value and valueFrom are exclusive");
        if (vf) {
            char *pv = xasprintf("%s.valueFrom", p);
            validate_value_from(v, vf, pv);
            free(pv);
        }
        unknown_keys(v, e, p, keys);
        free(p);
    }
}

static void validate_quantity_map(struct vctx *v, const json_t *m, const char *path) {
    if (!m)
        return;
    if (!json_is_object(m)) {
        diag_error(v->d, path, "must be a map of resource name to quantity");
        return;
    }
    const char *k;
    json_t *q;
    json_object_foreach((json_t *)m, k, q) {
        char *p = xasprintf("%s.%s", path, k);
        double d;
        if (json_is_string(q)) {
            if (quantity_ok(json_string_value(q), &d))
                diag_error(v->d, p, "\"%s\" is not a quantity (e.g. 100m, 64Mi)",
                           json_string_value(q));
        } else if (json_is_number(q)) {
            if (json_number_value(q) < 0)
                diag_error(v->d, p, "must not be negative");
        } else {
            diag_error(v->d, p, "must be a quantity string or a number");
        }
        free(p);
    }
}

static double quantity_of(const json_t *q) {
    double d = -1;
    if (json_is_string(q) && quantity_ok(json_string_value(q), &d))
        return -1;
    if (json_is_number(q))
        d = json_number_value(q);
    return d;
}

static void validate_resources(struct vctx *v, const json_t *r, const char *path) {
    static const char *const keys[] = {"limits", "requests", NULL};
    if (!r)
        return;
    if (!json_is_object(r)) {
        diag_error(v->d, path, "must be an object {limits, requests}");
        return;
    }
    char *pl = xasprintf("%s.limits", path), *pr = xasprintf("%s.requests", path);
    const json_t *lim = json_object_get(r, "limits"), *req = json_object_get(r, "requests");
    validate_quantity_map(v, lim, pl);
    validate_quantity_map(v, req, pr);
    if (json_is_object(lim) && json_is_object(req)) {
        const char *k;
        json_t *q;
        json_object_foreach((json_t *)req, k, q) {
            double rq = quantity_of(q), lq = quantity_of(json_object_get(lim, k));
            if (rq >= 0 && lq >= 0 && rq > lq) {
                char *p = xasprintf("%s.%s", pr, k);
                diag_error(v->d, p, "request is above the limit");
                free(p);
            }
        }
    }
    unknown_keys(v, r, path, keys);
    free(pl);
    free(pr);
}

static void validate_lang(struct vctx *v, const json_t *spec, enum tinst_lang lang) {
    static const char *const keys[] = {"image", "env", "resources", NULL};
    const char *name = lang_names[lang];
    char *path = xasprintf("spec.%s", name);
    const json_t *blk = want_object(v, spec, name, path);
    if (!blk)
        goto out;
    char *p = xasprintf("%s.image", path);
    const char *img = want_string(v, blk, "image", p);
    if (img) {
        int bad = !*img;
        for (const char *c = img; *c; c++)
            bad |= (unsigned char)*c <= ' ';
        if (bad)
            diag_error(v->d, p, "must be a non-empty image reference without spaces");
        if (lang == TINST_SDK)
            diag_warn(v->d, p, "is not used: sdk injects environment variables only");
    }
    free(p);
    p = xasprintf("%s.env", path);
    validate_env(v, json_object_get(blk, "env"), p);
    free(p);
    p = xasprintf("%s.resources", path);
    validate_resources(v, json_object_get(blk, "resources"), p);
    free(p);
    unknown_keys(v, blk, path, keys);
out:
    free(path);
}

static void validate_exporter(struct vctx *v, const json_t *spec) {
    static const char *const keys[] = {"endpoint", "tls", NULL};
    static const char *const tls_keys[] = {
        "secretName", "configMapName", "ca_file", "cert_file", "key_file", NULL,
    };
    const json_t *exp = want_object(v, spec, "exporter", "spec.exporter");
    if (!exp)
        return;
    const char *ep = want_string(v, exp, "endpoint", "spec.exporter.endpoint");
    if (ep && !is_http_url(ep))
        diag_error(v->d, "spec.exporter.endpoint",
                   "\"%s\" must be an http:// or https:// URL with a host", ep);
    unknown_keys(v, exp, "spec.exporter", keys);
    const json_t *tls = want_object(v, exp, "tls", "spec.exporter.tls");
    if (!tls)
        return;
    const char *sec = want_string(v, tls, "secretName", "spec.exporter.tls.secretName");
    const char *cm = want_string(v, tls, "configMapName", "spec.exporter.tls.configMapName");
    const char *ca = want_string(v, tls, "ca_file", "spec.exporter.tls.ca_file");
    const char *cert = want_string(v, tls, "cert_file", "spec.exporter.tls.cert_file");
    const char *key = want_string(v, tls, "key_file", "spec.exporter.tls.key_file");
    if (sec && !is_dns_subdomain(sec))
        diag_error(v->d, "spec.exporter.tls.secretName", "\"%s\" is not a valid Secret name", sec);
    if (cm && !is_dns_subdomain(cm))
        diag_error(v->d, "spec.exporter.tls.configMapName",
                   "\"%s\" is not a valid ConfigMap name", cm);
    if (!cert != !key)
        diag_error(v->d, "spec.exporter.tls", "cert_file and key_file go together");
    if (cert && cert[0] != '/' && !sec)
        diag_error(v->d, "spec.exporter.tls.cert_file",
                   "a relative path needs secretName (the file is read from that Secret)");
    if (key && key[0] != '/' && !sec)
        diag_error(v->d, "spec.exporter.tls.key_file",
                   "a relative path needs secretName (the file is read from that Secret)");
    if (ca && ca[0] != '/' && !sec && !cm)
        diag_error(v->d, "spec.exporter.tls.ca_file",
                   "a relative path needs configMapName or secretName");
    if (ep && !strncmp(ep, "http://", 7) && (ca || cert))
        diag_warn(v->d, "spec.exporter.endpoint",
                  "TLS files are set but the endpoint is plain http://");
    unknown_keys(v, tls, "spec.exporter.tls", tls_keys);
}

static void validate_propagators(struct vctx *v, const json_t *spec) {
    const json_t *props = json_object_get(spec, "propagators");
    if (!props)
        return;
    if (!json_is_array(props)) {
        diag_error(v->d, "spec.propagators", "must be a list");
        return;
    }
    int has_none = 0;
    size_t i;
    json_t *p;
    json_array_foreach(props, i, p) {
        char *path = xasprintf("spec.propagators[%zu]", i);
        const char *s = json_string_value(p);
        if (!tinst_propagator_valid(s))
            diag_error(v->d, path,
                       "must be one of tracecontext, baggage, b3, b3multi, jaeger, xray, "
                       "ottrace, none");
        else if (!strcmp(s, "none"))
            has_none = 1;
        for (size_t j = 0; s && j < i; j++) {
            if (json_equal(json_array_get(props, j), p)) {
                diag_warn(v->d, path, "\"%s\" is listed twice", s);
                break;
            }
        }
        free(path);
    }
    if (has_none && json_array_size(props) > 1)
        diag_warn(v->d, "spec.propagators",
                  "\"none\" disables propagation; the others are ignored");
}

static void validate_sampler(struct vctx *v, const json_t *spec, int has_model) {
    static const char *const keys[] = {"type", "argument", NULL};
    const json_t *s = want_object(v, spec, "sampler", "spec.sampler");
    if (!s) {
        if (!json_object_get(spec, "sampler") && !has_model)
            diag_warn(v->d, "spec.sampler",
                      "not set and no tracingModel: SDKs use their default "
                      "(parentbased_always_on)");
        return;
    }
    const char *type = want_string(v, s, "type", "spec.sampler.type");
    const char *arg = want_string(v, s, "argument", "spec.sampler.argument");
    if (type && !tinst_sampler_type_valid(type))
        diag_error(v->d, "spec.sampler.type",
                   "\"%s\" must be one of always_on, always_off, traceidratio, "
                   "parentbased_always_on, parentbased_always_off, parentbased_traceidratio, "
                   "jaeger_remote, parentbased_jaeger_remote, xray", type);
    if (!type && json_object_get(s, "type") == NULL)
        diag_warn(v->d, "spec.sampler.type", "sampler type not set");
    if (!type && arg)
        diag_error(v->d, "spec.sampler.argument", "needs spec.sampler.type");
    char err[256];
    if (type && arg && tinst_sampler_type_valid(type)) {
        if (tinst_sampler_arg_check(type, arg, err, sizeof(err)))
            diag_error(v->d, "spec.sampler.argument", "%s", err);
        else if (*arg && !strstr(type, "ratio") && !strstr(type, "jaeger_remote"))
            diag_warn(v->d, "spec.sampler.argument", "is ignored by sampler type %s", type);
    }
    if (type && !arg && strstr(type, "traceidratio"))
        diag_warn(v->d, "spec.sampler.argument", "not set: the SDK samples everything (1.0)");
    if (type && has_model)
        diag_warn(v->d, "spec.sampler",
                  "overrides the TracingModel's sampling (per-service rates are not applied)");
    unknown_keys(v, s, "spec.sampler", keys);
}

static void validate_resource(struct vctx *v, const json_t *spec) {
    static const char *const keys[] = {"attributes", "addK8sUIDAttributes", NULL};
    const json_t *r = want_object(v, spec, "resource", "spec.resource");
    if (!r)
        return;
    const json_t *attrs = json_object_get(r, "attributes");
    if (attrs && !json_is_object(attrs)) {
        diag_error(v->d, "spec.resource.attributes", "must be a map of string to string");
    } else if (attrs) {
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)attrs, k, val) {
            char *p = xasprintf("spec.resource.attributes.%s", k);
            if (!*k)
                diag_error(v->d, p, "attribute name must not be empty");
            else if (strpbrk(k, ",;=%\"\\$ \t\n"))
                diag_error(v->d, p, "attribute name must not contain spaces or any of , ; = %% "
                                    "\" \\ $");
            if (!json_is_string(val))
                diag_error(v->d, p, "must be a string");
            free(p);
        }
    }
    want_bool(v, r, "addK8sUIDAttributes", "spec.resource.addK8sUIDAttributes");
    unknown_keys(v, r, "spec.resource", keys);
}

static void validate_meta(struct vctx *v, const json_t *obj) {
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (!av || strcmp(av, TM_API_VERSION))
        diag_error(v->d, "apiVersion", "must be %s", TM_API_VERSION);
    if (!kind || strcmp(kind, TINST_KIND))
        diag_error(v->d, "kind", "must be %s", TINST_KIND);
    const json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md)) {
        diag_error(v->d, "metadata", "must be an object with a name");
        return;
    }
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *gen = json_string_value(json_object_get(md, "generateName"));
    if (!name && !gen)
        diag_error(v->d, "metadata.name", "is required");
    else if (name && !is_dns_subdomain(name))
        diag_error(v->d, "metadata.name",
                   "\"%s\" must be a DNS subdomain (lower-case alphanumerics, '-', '.')", name);
    const json_t *ns = json_object_get(md, "namespace");
    if (ns && (!json_is_string(ns) || !is_dns_label(json_string_value(ns))))
        diag_error(v->d, "metadata.namespace", "must be a DNS label");
}

int tinst_validate(const json_t *obj, int strict, struct diag *d) {
    static const char *const top_keys[] = {"apiVersion", "kind", "metadata", "spec", "status",
                                           NULL};
    static const char *const spec_keys[] = {
        "tracingModel", "exporter", "propagators", "sampler", "resource", "env", "java",
        "nodejs", "python", "dotnet", "go", "sdk", "rolloutOnChange", "restartUninstrumented",
        NULL,
    };
    struct vctx v = {d, strict};
    size_t before = d->errors;
    if (!json_is_object(obj)) {
        diag_error(d, "", "an Instrumentation must be an object");
        return 1;
    }
    validate_meta(&v, obj);
    unknown_keys(&v, obj, "", top_keys);
    const json_t *spec = json_object_get(obj, "spec");
    if (spec && !json_is_object(spec)) {
        diag_error(d, "spec", "must be an object");
        return (int)(d->errors - before);
    }
    json_t *empty = NULL;
    if (!spec)
        spec = empty = json_object();
    const char *model = want_string(&v, spec, "tracingModel", "spec.tracingModel");
    char ns[TINST_REF_MAX], name[TINST_REF_MAX];
    if (model && tinst_ref_parse(model, "default", ns, name))
        diag_error(d, "spec.tracingModel",
                   "\"%s\" must be a TracingModel name or <namespace>/<name>", model);
    validate_exporter(&v, spec);
    const json_t *exp = json_object_get(spec, "exporter");
    if (!model && !json_is_string(json_object_get(exp, "endpoint")))
        diag_warn(d, "spec.exporter.endpoint",
                  "neither tracingModel nor exporter.endpoint is set: SDKs export to their "
                  "default (localhost)");
    validate_propagators(&v, spec);
    validate_sampler(&v, spec, model != NULL);
    validate_resource(&v, spec);
    validate_env(&v, json_object_get(spec, "env"), "spec.env");
    for (int i = 0; i < TINST_LANG_COUNT; i++)
        validate_lang(&v, spec, (enum tinst_lang)i);
    want_bool(&v, spec, "rolloutOnChange", "spec.rolloutOnChange");
    want_bool(&v, spec, "restartUninstrumented", "spec.restartUninstrumented");
    unknown_keys(&v, spec, "spec", spec_keys);
    json_decref(empty);
    return (int)(d->errors - before);
}

json_t *tinst_load(const json_t *obj, int strict, struct diag *d) {
    json_t *out = tinst_default(obj);
    if (tinst_validate(out ? out : obj, strict, d) > 0 || !out) {
        json_decref(out);
        return NULL;
    }
    return out;
}
