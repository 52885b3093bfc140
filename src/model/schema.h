/* schema.h - the TracingModel spec as a table (field names, types, enums,
 * ranges), used by tm_validate() for type/enum/range/unknown-field checks and
 * by the tests that check crds/tracemodel.dev_tracingmodels.yaml against it.
 * Model-internal: other modules use model.h. */
#ifndef OP_MODEL_SCHEMA_H
#define OP_MODEL_SCHEMA_H
#include <stddef.h>

enum tm_kind {
    TK_STRING = 1, TK_BOOL, TK_NUMBER, TK_INT,
    TK_DURATION,    /* string parsed by parse_duration_ms */
    TK_QUANTITY,    /* Kubernetes quantity: string ("100m", "1Gi") or number */
    TK_OBJECT,      /* fields */
    TK_ARRAY,       /* item */
    TK_MAP,         /* object with free keys; values described by item */
};

#define TF_REQUIRED  0x001u   /* must be present */
#define TF_MIN       0x002u   /* value (or length of a list) >= min */
#define TF_MAX       0x004u   /* value <= max */
#define TF_XMIN      0x008u   /* value > min */
#define TF_XMAX      0x010u   /* value < max */
#define TF_NONEMPTY  0x020u   /* string: not ""; list: at least one item */
#define TF_NAME      0x040u   /* string: a Kubernetes object name (DNS-1123 subdomain) */
#define TF_FORBIDDEN 0x080u   /* present only to reject it: credentials never inline */
#define TF_DNSLABEL  0x100u   /* string: DNS-1123 label (namespace names) */
#define TF_LISTMAP   0x200u   /* list of objects keyed by their required `name` (unique) */
#define TF_LISTSET   0x400u   /* list of unique scalars */

struct tm_field {
    const char *name;                   /* NULL terminates a field list */
    enum tm_kind kind;
    unsigned flags;
    double min, max;
    const char *const *enums;           /* allowed strings, NULL-terminated */
    const struct tm_field *fields;      /* TK_OBJECT: children */
    const struct tm_field *item;        /* TK_ARRAY/TK_MAP: the element */
    size_t max_items;                   /* TK_ARRAY/TK_MAP: 0 = unbounded */
    size_t max_len;                     /* TK_STRING: 0 = unbounded */
};

/* The fields of a TracingModel's `spec` (NULL-name terminated). */
const struct tm_field *tm_spec_schema(void);

/* The descriptor of `path` below spec ("sampling.tail.numTraces", list items as
 * "services[]"), or NULL. For tests and tools. */
const struct tm_field *tm_schema_lookup(const char *path);

#endif
