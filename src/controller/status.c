/* status.c - status computation for TracingModels and Instrumentations (pure; see status.h). */
#include "controller/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/strbuf.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "controller/clock.h"
#include "model/instrumentation.h"

#define MAX_NAMED_IN_MESSAGE 3

static int64_t generation_of(const json_t *obj) {
    json_t *g = json_object_get(json_object_get(obj, "metadata"), "generation");
    return json_is_integer(g) ? (int64_t)json_integer_value(g) : 0;
}

const json_t *status_find_condition(const json_t *status, const char *type) {
    json_t *conds = json_object_get(status, "conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

json_t *status_condition(const json_t *old_conditions, const char *type, int status,
                         const char *reason, const char *message, int64_t generation,
                         int64_t now_wall) {
    const char *st = status ? "True" : "False";
    char when[32];
    op_format_time(now_wall, when);
    const char *keep = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(old_conditions, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && !strcmp(t, type) && !strcmp(s, st))
            keep = json_string_value(json_object_get(c, "lastTransitionTime"));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", st, "reason", reason,
                     "message", message ? message : "", "lastTransitionTime", keep ? keep : when,
                     "observedGeneration", (json_int_t)generation);
}

/* "Deployment m-collector (0/1 available)" */
static void describe_child(struct strbuf *b, const struct status_child *c) {
    strbuf_printf(b, "%s %s", c->kind, c->name);
    if (!c->live)
        strbuf_puts(b, " (not created yet)");
    else if (c->live->deleting)
        strbuf_puts(b, " (being deleted)");
    else if (c->live->workload)
        strbuf_printf(b, " (%d/%d available)", (int)c->live->ready, (int)c->live->want);
}

static int child_ready(const struct status_child *c) {
    return c->live && child_is_ready(c->live);
}

static json_t *children_json(const struct tm_status_input *in) {
    json_t *arr = json_array();
    for (size_t i = 0; i < in->n_children; i++) {
        const struct status_child *c = &in->children[i];
        json_t *o = json_pack("{s:s,s:s,s:s}", "apiVersion", c->api_version, "kind", c->kind,
                              "name", c->name);
        if (c->ns && *c->ns)
            json_object_set_new(o, "namespace", json_string(c->ns));
        json_object_set_new(o, "ready", json_boolean(child_ready(c)));
        if (c->live && c->live->workload) {
            char rep[32];
            snprintf(rep, sizeof(rep), "%d/%d", (int)c->live->ready, (int)c->live->want);
            json_object_set_new(o, "replicas", json_string(rep));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Message naming the first few children that are not ready; NULL when all are. */
static char *waiting_message(const struct tm_status_input *in) {
    size_t waiting = 0;
    for (size_t i = 0; i < in->n_children; i++)
        waiting += !child_ready(&in->children[i]);
    if (!waiting)
        return NULL;
    struct strbuf b;
    strbuf_init(&b, 0);
    strbuf_printf(&b, "waiting for %zu of %zu children: ", waiting, in->n_children);
    size_t named = 0;
    for (size_t i = 0; i < in->n_children && named < MAX_NAMED_IN_MESSAGE; i++) {
        if (child_ready(&in->children[i]))
            continue;
        if (named++)
            strbuf_puts(&b, ", ");
        describe_child(&b, &in->children[i]);
    }
    if (waiting > named)
        strbuf_printf(&b, " and %zu more", waiting - named);
    return strbuf_detach(&b, NULL);
}

static void add_skip_conditions(json_t *conds, const json_t *old, const struct tm_status_input *in,
                                int64_t gen) {
    for (size_t i = 0; i < in->n_skips; i++) {
        const struct status_skip *s = &in->skips[i];
        char *type = xasprintf("%sSkipped", s->integration);
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(in->skips[j].integration, s->integration);
        if (!dup) {
            char *msg = xasprintf("%s is not served by the API server: %s %s was not created; "
                                  "it will be once the CRD is installed",
                                  s->api_version, s->kind, s->name);
            json_array_append_new(conds, status_condition(old, type, 1, "CRDNotInstalled", msg,
                                                          gen, in->now_wall));
            free(msg);
        }
        free(type);
    }
}

json_t *tm_status_compute(const struct tm_status_input *in) {
    int64_t gen = generation_of(in->model);
    const json_t *old = json_object_get(json_object_get(in->model, "status"), "conditions");
    json_t *conds = json_array();
    char *waiting = NULL, *msg = NULL;
    if (in->invalid) {
        json_array_append_new(conds, status_condition(old, "Ready", 0, "InvalidSpec", in->invalid,
                                                      gen, in->now_wall));
        json_array_append_new(conds, status_condition(old, "Progressing", 0, "InvalidSpec",
                                                      "fix the spec to continue", gen,
                                                      in->now_wall));
        json_array_append_new(conds, status_condition(old, "Degraded", 1, "InvalidSpec",
                                                      in->invalid, gen, in->now_wall));
    } else if (in->apply_failures) {
        msg = xasprintf("%zu of %zu children could not be applied: %s", in->apply_failures,
                        in->n_children, in->apply_error ? in->apply_error : "unknown error");
        json_array_append_new(conds, status_condition(old, "Ready", 0, "ApplyFailed", msg, gen,
                                                      in->now_wall));
        json_array_append_new(conds, status_condition(old, "Progressing", 1, "Retrying",
                                                      "applying again with backoff", gen,
                                                      in->now_wall));
        json_array_append_new(conds, status_condition(old, "Degraded", 1, "ApplyFailed", msg,
                                                      gen, in->now_wall));
    } else {
        waiting = waiting_message(in);
        if (waiting) {
            json_array_append_new(conds, status_condition(old, "Ready", 0, "ChildrenNotReady",
                                                          waiting, gen, in->now_wall));
            json_array_append_new(conds, status_condition(old, "Progressing", 1, "RollingOut",
                                                          waiting, gen, in->now_wall));
        } else {
            msg = xasprintf("all %zu children are ready", in->n_children);
            json_array_append_new(conds, status_condition(old, "Ready", 1, "Available", msg,
                                                          gen, in->now_wall));
            json_array_append_new(conds, status_condition(old, "Progressing", 0, "Complete",
                                                          msg, gen, in->now_wall));
        }
        json_array_append_new(conds, status_condition(old, "Degraded", 0, "AsExpected", "", gen,
                                                      in->now_wall));
    }
    add_skip_conditions(conds, old, in, gen);
    free(waiting);
    free(msg);
    json_t *st = json_object();
    json_object_set_new(st, "observedGeneration", json_integer((json_int_t)gen));
    json_object_set_new(st, "conditions", conds);
    if (in->endpoints && !json_is_null(in->endpoints))
        json_object_set(st, "endpoints", (json_t *)in->endpoints);
    json_object_set_new(st, "children", children_json(in));
    if (in->capacity && !json_is_null(in->capacity))
        json_object_set(st, "capacity", (json_t *)in->capacity);
    json_object_set_new(st, "tailSampling", json_boolean(in->tail_sampling));
    return st;
}

/* A copy of v without conditions[].lastTransitionTime (new ref). */
static json_t *without_times(const json_t *v) {
    json_t *c = json_deep_copy(v);
    json_t *conds = json_object_get(c, "conditions");
    size_t i;
    json_t *x;
    json_array_foreach(conds, i, x) json_object_del(x, "lastTransitionTime");
    return c;
}

int status_equal(const json_t *a, const json_t *b) {
    if (!a || !b)
        return a == b;
    json_t *x = without_times(a), *y = without_times(b);
    int eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

/* The status fields this operator writes; others (e.g. an Instrumentation's
 * uninstrumentedPods) belong to other writers and are neither compared nor removed. */
static const char *const owned_keys[] = {"observedGeneration", "conditions", "endpoints",
                                         "children", "capacity", "tracingModel",
                                         "tailSampling"};
#define N_OWNED (sizeof(owned_keys) / sizeof(owned_keys[0]))

/* Written by the Instrumentation pod checks only, kept verbatim in the stand-in. */
static const char *const rollout_keys[] = {"injectionHash", "uninstrumentedPods"};
#define N_ROLLOUT (sizeof(rollout_keys) / sizeof(rollout_keys[0]))

int status_rollout_same(const json_t *live, const json_t *computed) {
    for (size_t i = 0; i < N_ROLLOUT; i++) {
        json_t *want = json_object_get(computed, rollout_keys[i]);
        json_t *have = json_object_get(live, rollout_keys[i]);
        if (want && (!have || !json_equal(want, have)))
            return 0;
    }
    return 1;
}

int status_key_owned(const char *key) {
    for (size_t i = 0; i < N_OWNED; i++)
        if (!strcmp(owned_keys[i], key))
            return 1;
    return 0;
}

/* new ref: the owned fields of a status, without lastTransitionTime. */
static json_t *owned_projection(const json_t *status) {
    json_t *p = json_object();
    for (size_t i = 0; i < N_OWNED; i++) {
        json_t *v = json_object_get(status, owned_keys[i]);
        if (v)
            json_object_set(p, owned_keys[i], v);
    }
    json_t *c = without_times(p);
    json_decref(p);
    return c;
}

void status_digest(const json_t *status, char out[65]) {
    json_t *c = owned_projection(status);
    char *s = jarena_dumps(c, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
    free(s);
    json_decref(c);
}

void status_slim(json_t *obj) {
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st) || json_object_get(st, STATUS_DIGEST_KEY))
        return;
    char digest[65];
    status_digest(st, digest);
    json_t *slim = json_object();
    json_t *conds = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c) {
        json_t *k = json_object();
        static const char *const keep[] = {"type", "status", "reason", "lastTransitionTime"};
        for (size_t j = 0; j < 4; j++) {
            json_t *v = json_object_get(c, keep[j]);
            if (v)
                json_object_set(k, keep[j], v);
        }
        json_array_append_new(conds, k);
    }
    json_object_set_new(slim, "conditions", conds);
    json_object_set_new(slim, STATUS_DIGEST_KEY, json_string(digest));
    json_t *keys = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(st, key, v) {
        if (status_key_owned(key))
            json_array_append_new(keys, json_string(key));
    }
    json_object_set_new(slim, STATUS_KEYS_KEY, keys);
    for (size_t j = 0; j < N_ROLLOUT; j++) {
        json_t *rv = json_object_get(st, rollout_keys[j]);
        if (rv)
            json_object_set(slim, rollout_keys[j], rv);
    }
    json_object_set_new(obj, "status", slim);
}

int status_same(const json_t *live, const json_t *computed) {
    char have[65], want[65];
    const char *d = json_string_value(json_object_get(live, STATUS_DIGEST_KEY));
    if (!d) {
        status_digest(live, have);
        d = have;
    }
    status_digest(computed, want);
    return !strcmp(d, want);
}

json_t *status_live_keys(const json_t *live) {
    json_t *keys = json_object_get(live, STATUS_KEYS_KEY);
    if (json_is_array(keys))
        return json_incref(keys);
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)live, k, v) {
        if (status_key_owned(k))
            json_array_append_new(out, json_string(k));
    }
    return out;
}

/* ---- Instrumentation ---- */

unsigned tinst_claims(const json_t *inst) {
    json_t *spec = json_object_get(inst, "spec");
    unsigned mask = 0;
    for (int l = 0; l < TINST_LANG_COUNT; l++)
        if (json_is_object(json_object_get(spec, tinst_lang_name((enum tinst_lang)l))))
            mask |= 1u << l;
    return mask ? mask : (1u << TINST_LANG_COUNT) - 1;
}

static void append_langs(struct strbuf *b, unsigned mask) {
    int first = 1;
    for (int l = 0; l < TINST_LANG_COUNT; l++) {
        if (!(mask & (1u << l)))
            continue;
        strbuf_printf(b, "%s%s", first ? "" : ", ", tinst_lang_name((enum tinst_lang)l));
        first = 0;
    }
}

static const char *name_of(const json_t *obj) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "other (java, python); third (nodejs)" in name order, or NULL when no conflict. */
static char *conflicts_message(const json_t *inst, const json_t *peers) {
    const char *self = name_of(inst);
    unsigned mine = tinst_claims(inst);
    size_t n = json_array_size(peers), k = 0;
    char **parts = xcalloc(n ? n : 1, sizeof(*parts));
    size_t i;
    json_t *p;
    json_array_foreach(peers, i, p) {
        const char *pn = name_of(p);
        unsigned both = tinst_claims(p) & mine;
        if (!pn || (self && !strcmp(pn, self)) || !both)
            continue;
        struct strbuf b;
        strbuf_init(&b, 0);
        strbuf_printf(&b, "%s (", pn);
        append_langs(&b, both);
        strbuf_puts(&b, ")");
        parts[k++] = strbuf_detach(&b, NULL);
    }
    char *out = NULL;
    if (k) {
        qsort(parts, k, sizeof(*parts), cmp_str);
        struct strbuf b;
        strbuf_init(&b, 0);
        strbuf_puts(&b, "other Instrumentations in this namespace claim the same languages: ");
        for (size_t j = 0; j < k; j++)
            strbuf_printf(&b, "%s%s", j ? "; " : "", parts[j]);
        strbuf_puts(&b, "; pods annotated \"true\" cannot tell which one to use");
        out = strbuf_detach(&b, NULL);
    }
    for (size_t j = 0; j < k; j++)
        free(parts[j]);
    free(parts);
    return out;
}

json_t *tinst_status_compute(const struct tinst_status_input *in) {
    int64_t gen = generation_of(in->inst);
    const json_t *old = json_object_get(json_object_get(in->inst, "status"), "conditions");
    json_t *conds = json_array();
    char *conflict = in->invalid ? NULL : conflicts_message(in->inst, in->peers);
    char *msg = NULL;
    const char *reason = NULL, *why = NULL;
    if (in->invalid) {
        reason = "InvalidSpec";
        why = in->invalid;
    } else if (in->model_ref && !in->model_found) {
        msg = xasprintf("TracingModel %s does not exist; pods get no exporter settings from it",
                        in->model_ref);
        reason = "TracingModelNotFound";
        why = msg;
    } else if (conflict) {
        reason = "Conflict";
        why = conflict;
    }
    if (reason) {
        json_array_append_new(conds, status_condition(old, "Ready", 0, reason, why, gen,
                                                      in->now_wall));
        json_array_append_new(conds, status_condition(old, "Degraded", 1, reason, why, gen,
                                                      in->now_wall));
    } else {
        json_array_append_new(conds, status_condition(old, "Ready", 1, "Valid",
                                                      in->model_ref ? "follows its TracingModel"
                                                                    : "valid",
                                                      gen, in->now_wall));
        json_array_append_new(conds, status_condition(old, "Degraded", 0, "AsExpected", "", gen,
                                                      in->now_wall));
    }
    if (conflict)
        json_array_append_new(conds, status_condition(old, "Conflict", 1, "LanguageClaimedTwice",
                                                      conflict, gen, in->now_wall));
    free(conflict);
    free(msg);
    if (in->pods_checked) {
        int some = in->uninstrumented > 0;
        json_array_append_new(conds, status_condition(old, "Uninstrumented", some,
                                                      some ? "PodsWithoutInjection"
                                                           : "AllInstrumented",
                                                      some ? in->uninstrumented_msg : "",
                                                      gen, in->now_wall));
    }
    json_t *st = json_object();
    json_object_set_new(st, "observedGeneration", json_integer((json_int_t)gen));
    if (in->model_ref)
        json_object_set_new(st, "tracingModel", json_string(in->model_ref));
    json_object_set_new(st, "conditions", conds);
    if (in->pods_checked) {
        if (in->injection_hash)
            json_object_set_new(st, "injectionHash", json_string(in->injection_hash));
        json_object_set_new(st, "uninstrumentedPods",
                            json_integer(in->uninstrumented > 0 ? in->uninstrumented : 0));
    }
    return st;
}
