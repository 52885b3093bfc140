/* jsonpatch_apply.h - a small RFC 6902 JSON Patch applier (add, remove, replace, move,
 * copy, test) with RFC 6901 pointers, used by the tests to check that a webhook patch
 * applies to the pod it was made for and gives the expected pod. */
#ifndef OP_TEST_JSONPATCH_APPLY_H
#define OP_TEST_JSONPATCH_APPLY_H
#include <jansson.h>
#include <stddef.h>

/* new ref: a copy of doc with every operation of patch applied in order, or NULL
 * when an operation fails (err says which one and why). doc is not modified. */
json_t *jpa_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen);

#endif
