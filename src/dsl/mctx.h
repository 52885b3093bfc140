/* mctx.h - internal to src/dsl: the mapping context and the helpers every block
 * mapper uses (typed reads of DSL values with diagnostics, first-wins writes into
 * the TracingModel spec with provenance, key tables).
 *
 * Diagnostics are located at the DSL value ("file:line:col") and their message
 * starts with the block (`trace_store "jaeger_store": storage.username: ...`).
 * Every spec field written records where it came from (mctx.prov), so model
 * validation errors ("spec.sampling.rate: ...") can be reported at the DSL line. */
#ifndef OP_DSL_MCTX_H
#define OP_DSL_MCTX_H
#include <jansson.h>

#include "dsl/ast.h"
#include "dsl/dsl.h"
#include "base/diag.h"

struct mctx {
    const struct dsl_source *srcs;
    size_t nsrcs;
    struct diag *d;
    const struct dsl_block *blk;   /* block being mapped */
    int root;                      /* blk is the model's root block */
    json_t *doc;                   /* the object being built (borrowed) */
    json_t *spec;                  /* doc.spec (borrowed) */
    json_t *prov;                  /* "spec.a.b" -> {"where": "f:l:c", "from": "kind \"name\""} */
    json_t *indexes;               /* lookup tables over the document (services by name, ...);
                                      owned: json_decref() when the document is done */
    char path[512];                /* DSL path of the value being mapped, for messages */
    size_t plen;
    /* per-block state */
    const char *store_type;        /* trace_store: jaeger, tempo, otlp (NULL if unknown) */
    const struct dsl_value *store_obj; /* the trace_store body or inline storage object */
    const char *secret_base;       /* k8s name used for generated Secret names */
    json_t *lists;                 /* sampling: named lists for conditions (borrowed) */
    int warned_once[8];            /* one-time warnings inside a block */
};

/* ---- locations and messages ---- */

/* "file:line:col" of pos into buf. */
void mx_where(const struct mctx *m, struct dsl_pos pos, char *buf, size_t n);
void mx_warn(struct mctx *m, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mx_error(struct mctx *m, struct dsl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Pushes ".key" (or "key" at the start) / "[i]" onto the message path; returns
 * the length to restore with mx_pop(). */
size_t mx_push(struct mctx *m, const char *key);
size_t mx_push_index(struct mctx *m, size_t i);
void mx_pop(struct mctx *m, size_t len);

/* ---- typed reads (0 on success; -1 after reporting an error or warning) ---- */

/* string, bare word or quantity as text. A ${ENV} reference is warned about and
 * dropped (-1): only secret fields take references. */
int mx_str(struct mctx *m, const struct dsl_value *v, const char **out);
int mx_num(struct mctx *m, const struct dsl_value *v, double *out);
/* A number in [0, 1]; "10%" is accepted as 0.1. */
int mx_rate(struct mctx *m, const struct dsl_value *v, double *out);
int mx_int(struct mctx *m, const struct dsl_value *v, long long min, long long *out);
int mx_bool(struct mctx *m, const struct dsl_value *v, int *out);
/* A duration ("5m", 5m, 0); *out is the text as written. */
int mx_duration(struct mctx *m, const struct dsl_value *v, const char **out, int64_t *ms);
/* A size ("10GB", 10Gi): *k8s is a Kubernetes quantity (10G, 10Gi) in buf. */
int mx_size(struct mctx *m, const struct dsl_value *v, char *k8s, size_t n, double *bytes);
/* An array of strings (a single string counts as a list of one): *out is a new ref. */
int mx_str_list(struct mctx *m, const struct dsl_value *v, json_t **out);
/* Requires an object (reports "expected an object"). */
int mx_obj(struct mctx *m, const struct dsl_value *v);
int mx_arr(struct mctx *m, const struct dsl_value *v);
/* New ref: a JSON number for v, integer when written as one, else real. */
json_t *mx_number_json(const struct dsl_value *v);

/* ---- key tables ---- */

typedef void (*mx_field_fn)(struct mctx *m, const struct dsl_value *v);

struct mx_field {
    const char *key;
    mx_field_fn fn;     /* NULL: accepted without effect */
    const char *why;    /* with fn NULL: warn "<key> is not compiled: <why>" */
};

/* Calls the handler of every member of obj (reported when obj is not an
 * object); keys missing from tbl are warned about as unknown. */
void mx_fields(struct mctx *m, const struct dsl_value *obj, const struct mx_field *tbl);

/* ---- writes into the document ---- */

/* Borrowed object at the dotted path under spec ("sampling.tail"), created as needed. */
json_t *mx_spec_obj(struct mctx *m, const char *path);
/* obj[key] = val (stolen) unless already set: then a different value is warned
 * about (first wins) and dropped. objpath names obj for provenance ("spec.sampling").
 * Returns 1 when set, 0 otherwise. */
int mx_set(struct mctx *m, json_t *obj, const char *objpath, const char *key, json_t *val,
           struct dsl_pos pos);
/* mx_set on the object at a dotted spec path: mx_spec_set(m, "sampling", "rate", ...). */
int mx_spec_set(struct mctx *m, const char *path, const char *key, json_t *val,
                struct dsl_pos pos);
/* Appends item (stolen) to the array at a dotted spec path; returns its index. */
size_t mx_spec_append(struct mctx *m, const char *path, json_t *item, struct dsl_pos pos);
/* Adds the strings of list (borrowed) missing from the array at path (a union). */
void mx_spec_union(struct mctx *m, const char *path, const char *key, const json_t *list,
                   struct dsl_pos pos);
/* Records that fullpath ("spec.services[1].samplingRate") came from pos. */
void mx_prov(struct mctx *m, const char *fullpath, struct dsl_pos pos);
/* Borrowed: the service object named name in spec.services (created at pos when
 * absent); *ret_path gets "spec.services[i]" (caller frees). */
json_t *mx_service(struct mctx *m, const char *name, struct dsl_pos pos, char **ret_path);
/* Adds {percentile, threshold} to spec.analysis.latency (one per percentile). */
void mx_latency(struct mctx *m, double percentile, const char *threshold, struct dsl_pos pos);

/* ---- small shared helpers ---- */

/* Normalized propagator name (tracecontext, baggage, b3, ...) or NULL. */
const char *mx_propagator(const char *dsl_name);
/* Kubernetes DNS label (<= max) for a DSL name; "" when nothing is left. */
void mx_k8s_name(const char *in, char *out, size_t max);
/* Case-insensitive compare ignoring '_' and '-' ("all_in_one" == "allInOne"). */
int mx_name_eq(const char *a, const char *b);

/* A threshold written as an expression ("p95_latency > 2s", "error_rate > 0.05",
 * "requests_per_second < 10") -> spec.analysis; others are warned about. */
void mx_threshold_expr(struct mctx *m, const struct dsl_value *v);

/* ---- block mappers (map_*.c) ---- */

void map_model_block(struct mctx *m);        /* tracing_model, distributed/microservice_tracing */
void map_sampling_block(struct mctx *m);     /* sampling_strategy */
/* inline sampling: {}, or a rate alone (sampling: 0.1, sampling: 10%) */
void map_sampling_obj(struct mctx *m, const struct dsl_value *v);
void map_propagation_block(struct mctx *m);  /* context_propagation */
/* inline propagation: {}, or the types alone (propagation: [tracecontext, baggage]) */
void map_propagation_obj(struct mctx *m, const struct dsl_value *v);
void map_correlation_obj(struct mctx *m, const struct dsl_value *v);
void map_store_block(struct mctx *m);        /* trace_store */
void map_store_obj(struct mctx *m, const struct dsl_value *v);      /* inline storage: {} */
void map_services(struct mctx *m, const struct dsl_value *v);       /* services: [...] */
void map_analysis_list(struct mctx *m, const struct dsl_value *v);  /* analysis: [...] */
void map_perf_block(struct mctx *m);         /* performance_analysis */
void map_monitoring_block(struct mctx *m);   /* monitoring */
void map_monitoring_obj(struct mctx *m, const struct dsl_value *v);
void map_otel_block(struct mctx *m);         /* opentelemetry_integration */
void map_stream_block(struct mctx *m);       /* real_time_tracing, stream_tracing */
/* trace_source -> Instrumentation: fills m->doc (metadata annotations, spec). */
void map_source_block(struct mctx *m);

#endif
