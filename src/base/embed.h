/* embed.h - files compiled into the binary (the project's CRDs, see cmake/embed.cmake). */
#ifndef OP_BASE_EMBED_H
#define OP_BASE_EMBED_H
#include <stddef.h>

struct op_embedded_file {
    const char *name;   /* file name, e.g. "tracemodel.dev_tracingmodels.yaml" */
    const char *data;   /* NUL-terminated contents */
    size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct op_embedded_file op_embedded_crds[];

#endif
