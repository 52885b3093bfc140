/* render_int.h - shared state and small builders of the renderers (internal to src/render).
 *
 * render_model() fills one struct rctx from the defaulted model and hands it to each
 * component renderer (collector.c, jaeger.c, tempo.c, istio.c, alerts.c, grafana.c);
 * they append finished objects with r_emit(). All helpers are pure: they read the
 * model and build new jansson values; nothing here does I/O. Functions returning
 * json_t* return NEW references unless they say "borrowed". */
#ifndef OP_RENDER_RENDER_INT_H
#define OP_RENDER_RENDER_INT_H
#include <jansson.h>
#include <stddef.h>

#include "base/diag.h"

#define R_NAME_MAX 128

/* Label and annotation keys written on every object. */
#define R_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define R_LABEL_PART_OF "app.kubernetes.io/part-of"
#define R_LABEL_COMPONENT "app.kubernetes.io/component"
#define R_LABEL_NAME "app.kubernetes.io/name"
#define R_LABEL_VERSION "app.kubernetes.io/version"
#define R_LABEL_MODEL "tracemodel.dev/model"
#define R_ANN_OWNER "tracemodel.dev/owner"
#define R_ANN_DESCRIPTION "tracemodel.dev/description"
#define R_ANN_CONFIG_HASH "tracemodel.dev/config-hash"
#define R_OPERATOR "tracing-operator"

/* Unprivileged UID/GID the collector, Jaeger and Tempo images run as. */
#define R_RUN_AS_USER 10001

/* A YAML text whose document is serialized at the end of render_model(): all texts of a
 * render go through one yaml_dump_all() (one libyaml emitter instead of one per text). */
struct r_text {
    json_t *data;         /* borrowed: the ConfigMap's data object */
    char key[R_NAME_MAX]; /* its key there */
    json_t *ann[2];       /* borrowed: pod template annotations receiving the sha256 */
    int nann;
};
#define R_MAX_TEXTS 8

struct rctx {
    const json_t *model; /* borrowed: the defaulted TracingModel */
    const json_t *spec;  /* borrowed: model.spec */
    const char *name;    /* metadata.name */
    const char *ns;      /* metadata.namespace or "default" */
    const char *version; /* spec.version when it is a valid label value, else NULL */
    json_t *out;         /* manifests collected so far (owned by render_model) */
    struct diag *d;
    int failed; /* set by r_fail(): render_model returns OP_EINVALID */

    /* derived once from the model */
    const char *backend; /* jaeger | tempo | otlp */
    const char *mode;    /* deployment | daemonset | statefulset | sidecar */
    int replicas;
    int spanmetrics, servicegraph, analysis; /* analysis = spanmetrics || servicegraph */
    int tail;                                /* tail_sampling processor wanted */
    int two_tier;                      /* tail && replicas > 1 && mode deployment/statefulset */
    char owner[2 * R_NAME_MAX];        /* "<ns>/<name>" */
    char backend_otlp[2 * R_NAME_MAX]; /* host:port the collector exports to (jaeger/tempo) */
    char query_url[2 * R_NAME_MAX];    /* Grafana datasource URL ("" when none) */

    json_t *pod_sec, *ctr_sec; /* shared securityContexts (see r_pod_security) */
    json_t *docs;              /* documents of the deferred texts, in slot order */
    struct r_text texts[R_MAX_TEXTS];
    int ntexts;
};

/* ---- reading the model (borrowed values; defaults when absent or mistyped) ---- */
const json_t *r_get(const json_t *o, const char *path);
const char *r_str(const json_t *o, const char *path, const char *dflt);
double r_num(const json_t *o, const char *path, double dflt);
long long r_int(const json_t *o, const char *path, long long dflt);
int r_bool(const json_t *o, const char *path, int dflt);

/* ---- names ---- */
/* "<model>-<suffix>" into buf (R_NAME_MAX). */
const char *r_name(const struct rctx *c, const char *suffix, char *buf);
/* The same, for an object of `kind` whose names are limited to r_name_limit(kind)
 * (CronJob, StatefulSet: 52): when "<model>-<suffix>" is longer, the model name is
 * cut and followed by 6 hex digits of its hash ("<cut>-1a2b3c-<suffix>"), so the
 * name stays stable and distinct models keep distinct names. */
const char *r_name_fit(const struct rctx *c, const char *suffix, const char *kind, char *buf);
/* Longest metadata.name of a kind (63, or 52 for CronJob and StatefulSet). */
size_t r_name_limit(const char *kind);
/* Records an error (location `where`) and marks the render failed. */
void r_fail(struct rctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- fast JSON builders ----
 * Every string the renderers produce is valid UTF-8 (literals, and text taken whole
 * from the parsed model, which jansson already checked), so they skip jansson's UTF-8
 * re-check; a string cut by a fixed-size buffer must use json_string() instead. */
json_t *r_s(const char *s); /* json_string without the re-check */
/* {k1: v1, k2: v2, ...} with the values stolen; the list ends with a NULL key. */
json_t *r_kv(const char *k, json_t *v, ...);
void r_set(json_t *obj, const char *k, json_t *v); /* json_object_set_new, no re-check */
json_t *r_arr(json_t *v, ...);                     /* [v1, v2, ...] stolen, NULL-terminated */
json_t *r_strs(const char *s, ...);                /* ["s1", "s2", ...], NULL-terminated */

/* ---- objects ---- */
/* {apiVersion, kind, metadata{name, namespace, labels, annotations}} in namespace ns
 * (NULL = the model's). component is one of collector|jaeger|tempo|istio|alerts|grafana. */
json_t *r_object(const struct rctx *c, const char *api, const char *kind, const char *name,
                 const char *component, const char *ns);
/* The full label set of an object (also used on pod templates). */
json_t *r_labels(const struct rctx *c, const char *name, const char *component);
/* The stable selector labels of a workload (never changes for a given name). */
json_t *r_selector_labels(const struct rctx *c, const char *name);
/* Appends obj (stolen) to the output after checking its name length for its kind. */
void r_emit(struct rctx *c, json_t *obj);

/* ---- pod building blocks ---- */
/* pod securityContext (non-root 10001, RuntimeDefault) and container securityContext
 * (read-only root, no privilege escalation, drop ALL). One instance per render, shared
 * by every pod of it (json_incref): treat as read-only. */
json_t *r_pod_security(struct rctx *c);
json_t *r_container_security(struct rctx *c);
json_t *r_port(const char *name, int port, const char *protocol);     /* containerPort */
json_t *r_svc_port(const char *name, int port, const char *protocol); /* Service port */
json_t *r_env(const char *name, const char *value);
json_t *r_env_secret(const char *name, const char *secret, const char *key);
json_t *r_http_probe(const char *path, int port, int initial_delay);
/* Pod template {metadata{labels, annotations?}, spec} (spec stolen). text is the slot of
 * a YAML text from r_configmap_yaml() whose sha256 goes into the tracemodel.dev/config-hash
 * annotation (so a config change rolls the pods), or -1 for none. */
json_t *r_pod_template(struct rctx *c, const char *name, const char *component, int text,
                       json_t *pod_spec);
/* A ConfigMap with one key (text copied). */
json_t *r_configmap(const struct rctx *c, const char *name, const char *component, const char *key,
                    const char *text);
/* Emits ConfigMap `name` whose `key` will hold doc (stolen) as YAML text (made with
 * yaml_dump_all when the render finishes: r_texts_finish()). Returns the text's slot. */
int r_configmap_yaml(struct rctx *c, const char *name, const char *component, const char *key,
                     json_t *doc);
/* Serializes every deferred document and fills the ConfigMaps and hash annotations. */
void r_texts_finish(struct rctx *c);
/* The image with its last path component replaced by repo (tag kept), e.g.
 * ("jaegertracing/all-in-one:1.62.0", "jaeger-query") -> "jaegertracing/jaeger-query:1.62.0". */
char *r_image_sibling(const char *image, const char *repo);
/* The tag of an image ("1.62.0"), or "latest"; points into image or a literal. */
const char *r_image_tag(const char *image);

/* Plain decimal text of v for PromQL and messages: "50", "5000", "0.95", "99.9"
 * (never exponent notation for integers, unlike the shortest %g). */
void r_fmt_num(double v, char *out, size_t n);
/* JSON number: an integer when v is integral and exact, else a real. */
json_t *r_number(double v);
/* Retention in ms from backend.retention (0 when absent or unparsable). */
long long r_retention_ms(const struct rctx *c);

/* ---- component renderers (each appends to c->out) ---- */
void render_collector(struct rctx *c);
void render_jaeger(struct rctx *c);
void render_tempo(struct rctx *c);
void render_istio(struct rctx *c);
void render_alerts(struct rctx *c);
void render_grafana(struct rctx *c);

/* The average head-sampling probability: spec.services[].samplingRate where set (the
 * head rate for the others), else the head rate; ratelimiting counts as
 * min(1, maxTracesPerSecond / capacity.requestsPerSecond) when both are known. */
double r_effective_rate(const struct rctx *c);
/* new ref: the capacity estimate, or JSON null when spec.capacity.requestsPerSecond is unset. */
json_t *render_capacity(const struct rctx *c);
/* new ref: the Jaeger sampling strategies document (ANCHORS.md section 2 file format). */
json_t *render_jaeger_strategies(const struct rctx *c);

#endif
