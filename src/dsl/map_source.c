/* map_source.c - `trace_source` blocks -> an Instrumentation (docs/model.md):
 * the language selects the agent block (python: {} ...), the service's name,
 * version and environment become resource attributes, and what the block
 * documents about endpoints and spans is kept as annotations (JSON text) so the
 * information travels with the object. */
#include "dsl/mctx.h"
#include "base/jarena.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *annotations(struct mctx *m) {
    json_t *md = json_object_get(m->doc, "metadata");
    json_t *a = json_object_get(md, "annotations");
    if (!a) {
        a = json_object();
        json_object_set_new(md, "annotations", a);
    }
    return a;
}

static void annotate(struct mctx *m, const char *key, const char *value) {
    json_object_set_new(annotations(m), key, json_string(value));
}

static void resource_attr(struct mctx *m, const char *key, const struct dsl_value *v) {
    const char *s;
    if (v->type == DSL_NUMBER) {
        mx_spec_set(m, "resource.attributes", key, json_string(v->text), v->pos);
        return;
    }
    if (mx_str(m, v, &s) == 0)
        mx_spec_set(m, "resource.attributes", key, json_string(s), v->pos);
}

static void f_service(struct mctx *m, const struct dsl_value *v) {
    static const struct { const char *dsl, *attr; } keys[] = {
        {"name", "service.name"}, {"version", "service.version"},
        {"environment", "deployment.environment"}, {"namespace", "service.namespace"},
        {"instance_id", "service.instance.id"},
    };
    if (mx_obj(m, v) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key), k;
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (!strcmp(mb->key, keys[k].dsl))
                break;
        if (k < sizeof(keys) / sizeof(keys[0])) {
            resource_attr(m, keys[k].attr, mb->val);
        } else if (!strcmp(mb->key, "attributes")) {
            if (mx_obj(m, mb->val) == 0)
                for (size_t a = 0; a < mb->val->n; a++) {
                    size_t o2 = mx_push(m, mb->val->members[a].key);
                    resource_attr(m, mb->val->members[a].key, mb->val->members[a].val);
                    mx_pop(m, o2);
                }
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

static const char *language_block(const char *lang) {
    static const struct { const char *dsl, *block; } langs[] = {
        {"java", "java"}, {"kotlin", "java"}, {"scala", "java"},
        {"python", "python"},
        {"nodejs", "nodejs"}, {"node", "nodejs"}, {"javascript", "nodejs"}, {"js", "nodejs"},
        {"typescript", "nodejs"},
        {"dotnet", "dotnet"}, {".net", "dotnet"}, {"csharp", "dotnet"}, {"c#", "dotnet"},
        {"go", "go"}, {"golang", "go"},
    };
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (mx_name_eq(lang, langs[i].dsl))
            return langs[i].block;
    return NULL;
}

/* instrumentation.language: the agent block of the Instrumentation. */
static void instr_language(struct mctx *m, const struct dsl_value *lang) {
    const char *s;
    if (mx_str(m, lang, &s) != 0)
        return;
    const char *block = language_block(s);
    if (!block) {
        mx_warn(m, lang->pos, "there is no auto-instrumentation agent for \"%s\": only the "
                "SDK environment (endpoint, sampler, propagators) is injected", s);
        block = "sdk";
    }
    mx_spec_set(m, "", block, json_object(), lang->pos);
    annotate(m, "tracemodel.dev/language", s);
}

static void instr_framework(struct mctx *m, const struct dsl_value *v) {
    const char *s;
    if (mx_str(m, v, &s) != 0)
        return;
    if (!mx_name_eq(s, "opentelemetry") && !mx_name_eq(s, "otel"))
        mx_warn(m, v->pos, "the injected agents are OpenTelemetry's; framework \"%s\" is "
                "recorded but not used", s);
    annotate(m, "tracemodel.dev/framework", s);
}

static void f_instrumentation(struct mctx *m, const struct dsl_value *v) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *lang = dsl_get(v, "language");
    const char *s;
    if (!lang)
        mx_error(m, v->pos, "needs a language (java, python, nodejs, dotnet, go)");
    else
        instr_language(m, lang);
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "language")) {
            /* handled above */
        } else if (!strcmp(mb->key, "framework")) {
            instr_framework(m, mb->val);
        } else if (!strcmp(mb->key, "version")) {
            if (mb->val->type == DSL_NUMBER)
                mx_error(m, mb->val->pos, "a version is text: write \"%s\"", mb->val->text);
            else if (mx_str(m, mb->val, &s) == 0)
                annotate(m, "tracemodel.dev/framework-version", s);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

/* {name, path, method(s), tracing {enabled, span_name, attributes}} -> compact JSON. */
static json_t *endpoint_doc(struct mctx *m, const struct dsl_value *it) {
    json_t *o = json_object();
    const char *s;
    json_t *l;
    for (size_t i = 0; i < it->n; i++) {
        const struct dsl_member *mb = &it->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "name") || !strcmp(mb->key, "path")) {
            if (mx_str(m, mb->val, &s) == 0)
                json_object_set_new(o, mb->key, json_string(s));
        } else if (!strcmp(mb->key, "method") || !strcmp(mb->key, "methods")) {
            if (mx_str_list(m, mb->val, &l) == 0)
                json_object_set_new(o, "methods", l);
        } else if (!strcmp(mb->key, "tracing")) {
            const struct dsl_value *t = mb->val;
            if (mx_obj(m, t) == 0)
                for (size_t k = 0; k < t->n; k++) {
                    const struct dsl_member *tm = &t->members[k];
                    size_t o2 = mx_push(m, tm->key);
                    int b;
                    if (!strcmp(tm->key, "enabled")) {
                        if (mx_bool(m, tm->val, &b) == 0)
                            json_object_set_new(o, "enabled", json_boolean(b));
                    } else if (!strcmp(tm->key, "span_name")) {
                        if (mx_str(m, tm->val, &s) == 0)
                            json_object_set_new(o, "spanName", json_string(s));
                    } else if (!strcmp(tm->key, "attributes")) {
                        if (mx_str_list(m, tm->val, &l) == 0)
                            json_object_set_new(o, "attributes", l);
                    } else {
                        mx_warn(m, tm->kpos, "unknown key; ignored");
                    }
                    mx_pop(m, o2);
                }
        } else if (strcmp(mb->key, "description")) {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
    return o;
}

static void set_json_annotation(struct mctx *m, const char *key, json_t *arr) {
    if (json_array_size(arr)) {
        char *text = jarena_dumps(arr, JSON_COMPACT);
        annotate(m, key, text);
        free(text);
    }
}

static void f_endpoints(struct mctx *m, const struct dsl_value *v) {
    if (mx_arr(m, v) != 0)
        return;
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mx_push_index(m, i);
        if (mx_obj(m, v->items[i]) == 0)
            json_array_append_new(arr, endpoint_doc(m, v->items[i]));
        mx_pop(m, old);
    }
    set_json_annotation(m, "tracemodel.dev/endpoints", arr);
    json_decref(arr);
}

/* database / messaging: { enabled, spans: [{name, attributes}] } -> spans annotation. */
static void span_group(struct mctx *m, const struct dsl_value *v, const char *kind, json_t *out) {
    if (mx_obj(m, v) != 0)
        return;
    const struct dsl_value *en = dsl_get(v, "enabled");
    int enabled = 1;
    if (en && mx_bool(m, en, &enabled) != 0)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct dsl_member *mb = &v->members[i];
        size_t old = mx_push(m, mb->key);
        if (!strcmp(mb->key, "spans") && mx_arr(m, mb->val) == 0) {
            for (size_t k = 0; k < mb->val->n; k++) {
                const struct dsl_value *it = mb->val->items[k];
                size_t o2 = mx_push_index(m, k);
                const char *s;
                json_t *l;
                if (mx_obj(m, it) == 0) {
                    json_t *o = json_pack("{s:s, s:b}", "kind", kind, "enabled", enabled);
                    for (size_t a = 0; a < it->n; a++) {
                        const struct dsl_member *am = &it->members[a];
                        size_t o3 = mx_push(m, am->key);
                        if (!strcmp(am->key, "name")) {
                            if (mx_str(m, am->val, &s) == 0)
                                json_object_set_new(o, "name", json_string(s));
                        } else if (!strcmp(am->key, "attributes")) {
                            if (mx_str_list(m, am->val, &l) == 0)
                                json_object_set_new(o, "attributes", l);
                        } else {
                            mx_warn(m, am->kpos, "unknown key; ignored");
                        }
                        mx_pop(m, o3);
                    }
                    json_array_append_new(out, o);
                }
                mx_pop(m, o2);
            }
        } else if (strcmp(mb->key, "enabled") && strcmp(mb->key, "spans")) {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
}

void map_source_block(struct mctx *m) {
    const struct dsl_value *b = m->blk->body;
    if (mx_obj(m, b) != 0)
        return;
    const struct dsl_value *instr = dsl_get(b, "instrumentation");
    json_t *spans = json_array();
    for (size_t i = 0; i < b->n; i++) {
        const struct dsl_member *mb = &b->members[i];
        size_t old = mx_push(m, mb->key);
        const char *s;
        if (!strcmp(mb->key, "description")) {
            if (mx_str(m, mb->val, &s) == 0)
                annotate(m, "tracemodel.dev/description", s);
        } else if (!strcmp(mb->key, "namespace") || !strcmp(mb->key, "tracing_model")) {
            /* resolved by compile.c */
        } else if (!strcmp(mb->key, "service")) {
            f_service(m, mb->val);
        } else if (!strcmp(mb->key, "instrumentation")) {
            f_instrumentation(m, mb->val);
        } else if (!strcmp(mb->key, "language") || !strcmp(mb->key, "framework")) {
            /* `language: java` on the block: short for instrumentation: { language: java } */
            if (instr)
                mx_warn(m, mb->kpos, "instrumentation { ... } is given too, and wins; ignored");
            else if (!strcmp(mb->key, "language"))
                instr_language(m, mb->val);
            else
                instr_framework(m, mb->val);
        } else if (!strcmp(mb->key, "endpoints")) {
            f_endpoints(m, mb->val);
        } else if (!strcmp(mb->key, "database") || !strcmp(mb->key, "messaging")) {
            span_group(m, mb->val, mb->key, spans);
        } else {
            mx_warn(m, mb->kpos, "unknown key; ignored");
        }
        mx_pop(m, old);
    }
    set_json_annotation(m, "tracemodel.dev/spans", spans);
    json_decref(spans);
    if (!instr && !dsl_get(b, "language"))
        mx_error(m, m->blk->pos, "a trace source needs a language: instrumentation: { language: "
                 "... } (or language: ... on the block)");
}
