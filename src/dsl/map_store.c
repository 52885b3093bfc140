/* map_store.c - `trace_store` blocks and inline `storage: {}` objects -> spec.backend
 * (jaeger / tempo / otlp, storage, retention, credentials as Secret references)
 * and the store's Jaeger sampling section -> spec.sampling.
 *
 * Credentials are never copied into the output: a `${ENV}` (or, worse, a
 * literal) username/password/key becomes a secretRef to `<store>-credentials`
 * and a warning says which Secret to create with which keys. */
#include "dsl/mctx.h"
#include "base/units.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_type(const struct mctx *m, const char *t) {
    return m->store_type && !strcmp(m->store_type, t);
}

/* Secret name derived from the store's name. new string. */
static char *secret_name(const struct mctx *m) {
    return xasprintf("%s-credentials", m->secret_base && *m->secret_base ? m->secret_base
                                                                         : "trace-store");
}

/* A credential value (user name, password, key): never inlined. Records which
 * Secret key holds it and tells the user how to create that Secret. */
static void credential(struct mctx *m, const struct dsl_value *v, const char *path,
                       const char *ref_key, const char *secret_key) {
    char *sec = secret_name(m);
    const char *src;
    if (v->type == DSL_ENVREF) {
        src = v->text;
        mx_warn(m, v->pos, "the value comes from %s, which is never resolved into the output: "
                "create Secret \"%s\" with key \"%s\" holding it (kubectl create secret generic "
                "%s --from-literal=%s=...); the model refers to it", src, sec, secret_key, sec,
                secret_key);
    } else if (v->type == DSL_STRING || v->type == DSL_WORD || v->type == DSL_QUANTITY) {
        mx_warn(m, v->pos, "a credential is written in plain text in the DSL; it is NOT copied "
                "into the output: put it in Secret \"%s\" under key \"%s\" and use a ${ENV} "
                "reference here", sec, secret_key);
    } else {
        mx_error(m, v->pos, "expected a ${ENV} reference, got %s", dsl_type_name(v->type));
        free(sec);
        return;
    }
    char *refpath = xasprintf("%s.secretRef", path);
    mx_spec_set(m, refpath, "name", json_string(sec), v->pos);
    if (ref_key)
        mx_spec_set(m, refpath, ref_key, json_string(secret_key), v->pos);
    free(refpath);
    free(sec);
}

/* ---- storage { ... } ---- */

static void st_type(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (is_type(m, "jaeger")) {
        static const char *const ok[] = {"memory", "badger", "elasticsearch", NULL};
        for (size_t i = 0; ok[i]; i++)
            if (mx_name_eq(s, ok[i])) {
                mx_spec_set(m, "backend.jaeger.storage", "type", json_string(ok[i]), v->pos);
                return;
            }
        if (mx_name_eq(s, "opensearch") || mx_name_eq(s, "es")) {
            mx_spec_set(m, "backend.jaeger.storage", "type", json_string("elasticsearch"), v->pos);
            return;
        }
        mx_error(m, v->pos, "Jaeger storage \"%s\" is not supported (memory, badger, "
                 "elasticsearch)", s);
    } else if (is_type(m, "tempo")) {
        if (!strcmp(s, "local") || !strcmp(s, "s3")) {
            mx_spec_set(m, "backend.tempo.storage", "type", json_string(s), v->pos);
            return;
        }
        mx_error(m, v->pos, "Tempo storage \"%s\" is not supported (local, s3)", s);
    } else {
        mx_warn(m, v->pos, "storage only applies to the jaeger and tempo stores; ignored");
    }
}

/* The key naming the storage kind: `type`, or `backend` as Tempo's own config
 * spells it (storage.trace.backend: s3). */
static int is_kind_key(const char *k) { return !strcmp(k, "type") || !strcmp(k, "backend"); }

static const char *storage_kind(const struct mctx *m, const struct dsl_value *st) {
    const struct dsl_value *t = dsl_get(st, "type");
    if (!t)
        t = dsl_get(st, "backend");
    if (!t || (t->type != DSL_STRING && t->type != DSL_WORD))
        return is_type(m, "tempo") ? "local" : "memory";
    if (mx_name_eq(t->text, "opensearch") || mx_name_eq(t->text, "es"))
        return "elasticsearch";
    return t->text;
}

static void map_storage(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    if (!is_type(m, "jaeger") && !is_type(m, "tempo")) {
        if (m->store_type)
            mx_warn(m, v->pos, "storage only applies to the jaeger and tempo stores; ignored");
        return;
    }
    const char *kind = storage_kind(m, v);
    int jaeger = is_type(m, "jaeger");
    int es = jaeger && !strcmp(kind, "elasticsearch");
    int s3 = !jaeger && !strcmp(kind, "s3");
    const char *base = jaeger ? "backend.jaeger.storage" : "backend.tempo.storage";
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        const struct dsl_value *x = mb->val;
        const char *k = mb->key, *s;
        size_t old = mx_push(m, k);
        char q[64];
        int b;
        if (is_kind_key(k)) {
            st_type(m, x);
        } else if (es && (!strcmp(k, "endpoint") || !strcmp(k, "url") ||
                          mx_name_eq(k, "server_urls"))) {
            if (mx_str(m, x, &s) == 0)
                mx_spec_set(m, "backend.jaeger.storage.elasticsearch", "url", json_string(s),
                            x->pos);
        } else if (es && mx_name_eq(k, "index_prefix")) {
            if (mx_str(m, x, &s) == 0)
                mx_spec_set(m, "backend.jaeger.storage.elasticsearch", "indexPrefix",
                            json_string(s), x->pos);
        } else if (es && !strcmp(k, "username")) {
            credential(m, x, "backend.jaeger.storage.elasticsearch", "usernameKey", "username");
        } else if (es && !strcmp(k, "password")) {
            credential(m, x, "backend.jaeger.storage.elasticsearch", "passwordKey", "password");
        } else if (es && (!strcmp(k, "secret") || !strcmp(k, "secret_name"))) {
            if (mx_str(m, x, &s) == 0)
                mx_spec_set(m, "backend.jaeger.storage.elasticsearch.secretRef", "name",
                            json_string(s), x->pos);
        } else if (!strcmp(k, "size") && (jaeger ? !strcmp(kind, "badger") : !s3)) {
            if (mx_size(m, x, q, sizeof(q), NULL) == 0)
                mx_spec_set(m, jaeger ? "backend.jaeger.storage.badger" : base, "size",
                            json_string(q), x->pos);
        } else if (s3 && (!strcmp(k, "bucket") || !strcmp(k, "endpoint") ||
                          !strcmp(k, "region"))) {
            if (mx_str(m, x, &s) == 0)
                mx_spec_set(m, "backend.tempo.storage.s3", k, json_string(s), x->pos);
        } else if (s3 && !strcmp(k, "insecure")) {
            if (mx_bool(m, x, &b) == 0)
                mx_spec_set(m, "backend.tempo.storage.s3", "insecure", json_boolean(b), x->pos);
        } else if (s3 && (mx_name_eq(k, "access_key_id") || mx_name_eq(k, "access_key"))) {
            /* AWS's names, or Tempo's (s3.access_key, s3.secret_key) */
            credential(m, x, "backend.tempo.storage.s3", NULL, "access_key_id");
        } else if (s3 && (mx_name_eq(k, "secret_access_key") || mx_name_eq(k, "secret_key"))) {
            credential(m, x, "backend.tempo.storage.s3", NULL, "secret_access_key");
        } else if (s3 && (!strcmp(k, "secret") || !strcmp(k, "secret_name"))) {
            if (mx_str(m, x, &s) == 0)
                mx_spec_set(m, "backend.tempo.storage.s3.secretRef", "name", json_string(s),
                            x->pos);
        } else {
            mx_warn(m, mb->kpos, "not used by %s storage \"%s\"; ignored", m->store_type, kind);
        }
        mx_pop(m, old);
    }
}

/* ---- store fields ---- */

static void f_type(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0 || !m->store_type)
        return;
    mx_spec_set(m, "backend", "type", json_string(m->store_type), v->pos);
}

static void f_version(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (v->type == DSL_NUMBER) {
        mx_error(m, v->pos, "a version is text: write \"%s\"", v->text);
        return;
    }
    if (mx_str(m, v, &s) != 0)
        return;
    if (dsl_get(m->store_obj, "image"))
        return; /* an explicit image wins */
    if (is_type(m, "jaeger")) {
        const struct dsl_value *dep = dsl_get(m->store_obj, "deployment");
        if (dep && dep->type == DSL_STRING && mx_name_eq(dep->text, "production")) {
            mx_warn(m, v->pos, "a production Jaeger uses separate collector and query images; "
                    "set them with image: (the version alone is ignored)");
            return;
        }
        char *img = xasprintf("jaegertracing/all-in-one:%s", s);
        mx_spec_set(m, "backend.jaeger", "image", json_string(img), v->pos);
        free(img);
    } else if (is_type(m, "tempo")) {
        char *img = xasprintf("grafana/tempo:%s", s);
        mx_spec_set(m, "backend.tempo", "image", json_string(img), v->pos);
        free(img);
    } else if (m->store_type) {
        mx_warn(m, v->pos, "the otlp store deploys nothing, so a version does not apply; ignored");
    }
}

static void f_image(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (is_type(m, "jaeger") || is_type(m, "tempo"))
        mx_spec_set(m, is_type(m, "jaeger") ? "backend.jaeger" : "backend.tempo", "image",
                    json_string(s), v->pos);
    else if (m->store_type)
        mx_warn(m, v->pos, "the otlp store deploys nothing, so an image does not apply; ignored");
}

static void f_deployment(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (!is_type(m, "jaeger")) {
        mx_warn(m, v->pos, "deployment only applies to the jaeger store; ignored");
        return;
    }
    if (mx_name_eq(s, "allInOne"))
        mx_spec_set(m, "backend.jaeger", "deployment", json_string("allInOne"), v->pos);
    else if (mx_name_eq(s, "production"))
        mx_spec_set(m, "backend.jaeger", "deployment", json_string("production"), v->pos);
    else
        mx_error(m, v->pos, "unknown Jaeger deployment \"%s\" (all_in_one, production)", s);
}

static void f_operator_cr(struct mctx *m, const struct dsl_value *v) {
    int b;
    if (mx_bool(m, v, &b) != 0)
        return;
    if (is_type(m, "jaeger") || is_type(m, "tempo"))
        mx_spec_set(m, is_type(m, "jaeger") ? "backend.jaeger" : "backend.tempo", "useOperatorCR",
                    json_boolean(b), v->pos);
    else if (m->store_type)
        mx_warn(m, v->pos, "use_operator_cr only applies to the jaeger and tempo stores; ignored");
}

static void f_endpoint(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (is_type(m, "otlp")) {
        mx_spec_set(m, "backend.otlp", "endpoint", json_string(s), v->pos);
    } else if (m->store_type) {
        mx_warn(m, v->pos, "the operator deploys %s itself, so \"%s\" is not used; to send traces "
                "to an existing %s, use type: \"otlp\" with its OTLP endpoint (port 4317)",
                m->store_type, s, m->store_type);
    }
}

static void f_insecure(struct mctx *m, const struct dsl_value *v) {
    int b;
    if (mx_bool(m, v, &b) != 0)
        return;
    if (is_type(m, "otlp"))
        mx_spec_set(m, "backend.otlp", "insecure", json_boolean(b), v->pos);
    else if (m->store_type)
        mx_warn(m, v->pos, "insecure only applies to the otlp store; ignored");
}

static void f_headers(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    if (!is_type(m, "otlp")) {
        if (m->store_type)
            mx_warn(m, v->pos, "headers only apply to the otlp store; ignored");
        return;
    }
    int secret_used = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        const char *s;
        if (mb->val->type == DSL_ENVREF) {
            if (secret_used) {
                mx_error(m, mb->val->pos, "only one header can come from a Secret");
            } else {
                char key[128];
                mx_k8s_name(mb->key, key, 63);
                credential(m, mb->val, "backend.otlp", "key", key[0] ? key : "header");
                secret_used = 1;
            }
        } else if (mx_str(m, mb->val, &s) == 0) {
            mx_spec_set(m, "backend.otlp.headers", mb->key, json_string(s), mb->val->pos);
        }
        mx_pop(m, old);
    }
}

static void f_retention(struct mctx *m, const struct dsl_value *v) {
    const char *d;
    if (v->type != DSL_OBJECT) {
        if (mx_duration(m, v, &d, NULL) == 0)
            mx_spec_set(m, "backend", "retention", json_string(d), v->pos);
        return;
    }
    const struct dsl_value *hot = dsl_get(v, "hot_data");
    if (!hot)
        hot = dsl_get(v, "duration");
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (mb->val == hot) {
            if (mx_duration(m, hot, &d, NULL) == 0)
                mx_spec_set(m, "backend", "retention", json_string(d), hot->pos);
        } else if (!strcmp(mb->key, "warm_data") || !strcmp(mb->key, "cold_data") ||
                   !strcmp(mb->key, "archive_data")) {
            if (mx_duration(m, mb->val, &d, NULL) == 0)
                mx_warn(m, mb->kpos, "tiered retention is not supported: traces are kept for "
                        "hot_data%s and then deleted; %s is ignored", hot ? "" : " (not set)", d);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static void f_indexing(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        int b;
        if (mx_bool(m, mb->val, &b) == 0 && !b)
            mx_warn(m, mb->val->pos, "the store always indexes spans, services and operations; "
                    "turning it off is not supported; ignored");
        mx_pop(m, old);
    }
}

/* {type, param} of a Jaeger strategy -> sampling fields at path (rate or rate limit). */
static void jaeger_strategy(struct mctx *m, const struct dsl_value *v, int is_default,
                            const char *op_name) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *t = dsl_get(v, "type"), *p = dsl_get(v, "param");
    const char *ts = "probabilistic";
    if (t && mx_str(m, t, &ts) != 0)
        return;
    if (!p) {
        mx_error(m, v->pos, "a strategy needs a param");
        return;
    }
    double r;
    if (mx_name_eq(ts, "probabilistic")) {
        if (mx_rate(m, p, &r) != 0)
            return;
        if (is_default) {
            mx_spec_set(m, "sampling", "strategy", json_string("probabilistic"),
                        t ? t->pos : v->pos);
            mx_spec_set(m, "sampling", "rate", json_real(r), p->pos);
        } else {
            mx_spec_append(m, "sampling.operations",
                           json_pack("{s:s, s:f}", "name", op_name, "rate", r), v->pos);
        }
    } else if (mx_name_eq(ts, "ratelimiting") || mx_name_eq(ts, "rate_limited")) {
        if (!is_default) {
            mx_warn(m, t->pos, "per-operation strategies are probabilistic (Jaeger's own rule); "
                    "this one is ignored");
            return;
        }
        if (mx_num(m, p, &r) != 0)
            return;
        mx_spec_set(m, "sampling", "strategy", json_string("ratelimiting"), t->pos);
        mx_spec_set(m, "sampling", "maxTracesPerSecond", mx_number_json(p), p->pos);
    } else {
        mx_error(m, t->pos, "unknown strategy type \"%s\" (probabilistic, ratelimiting)", ts);
    }
}

static void f_sampling(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "default_strategy")) {
            jaeger_strategy(m, mb->val, 1, NULL);
        } else if (!strcmp(mb->key, "per_operation_strategies")) {
            const struct dsl_value *a = mb->val;
            if (mx_arr(m, a) == 0) {
                for (size_t k = 0; k < a->n; k++) {
                    size_t o2 = mx_push_index(m, k);
                    const struct dsl_value *it = a->items[k];
                    const struct dsl_value *op = dsl_get(it, "operation");
                    const struct dsl_value *st = dsl_get(it, "strategy");
                    const char *name;
                    if (mx_obj(m, it) != 0) {
                        /* reported */
                    } else if (!op || !st) {
                        mx_error(m, it->pos, "needs operation and strategy");
                    } else if (mx_str(m, op, &name) == 0) {
                        jaeger_strategy(m, st, 0, name);
                    }
                    mx_pop(m, o2);
                }
            }
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static const struct mx_field store_fields[] = {
    {"description", NULL, NULL},
    {"namespace", NULL, NULL},
    {"tracing_model", NULL, NULL},
    {"type", f_type, NULL},
    {"version", f_version, NULL},
    {"image", f_image, NULL},
    {"deployment", f_deployment, NULL},
    {"use_operator_cr", f_operator_cr, NULL},
    {"endpoint", f_endpoint, NULL},
    {"insecure", f_insecure, NULL},
    {"headers", f_headers, NULL},
    {"storage", map_storage, NULL},
    {"retention", f_retention, NULL},
    {"indexing", f_indexing, NULL},
    {"search", NULL, "query limits (search depth, span count, trace duration) are the Jaeger "
                     "query service's own settings"},
    {"sampling", f_sampling, NULL},
    {NULL, NULL, NULL},
};

/* Reads `type` first: every other key depends on it. */
static void store_type(struct mctx *m, const struct dsl_value *v) {
    m->store_type = NULL;
    const struct dsl_value *t = dsl_get(v, "type");
    const char *s;
    size_t old = mx_push(m, "type");
    if (!t) {
        mx_error(m, v->pos, "a trace store needs a type (jaeger, tempo, otlp)");
    } else if (mx_str(m, t, &s) == 0) {
        if (!strcmp(s, "jaeger") || !strcmp(s, "tempo") || !strcmp(s, "otlp"))
            m->store_type = t->text;
        else
            mx_error(m, t->pos, "unknown store type \"%s\" (jaeger, tempo, otlp)", s);
    }
    mx_pop(m, old);
}

void map_store_obj(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    char base[64];
    mx_k8s_name(m->blk->name, base, 40);
    m->secret_base = base;
    m->store_obj = v;
    store_type(m, v);
    mx_fields(m, v, store_fields);
    m->store_type = NULL;
    m->store_obj = NULL;
    m->secret_base = NULL;
}

void map_store_block(struct mctx *m) { map_store_obj(m, m->blk->body); }
