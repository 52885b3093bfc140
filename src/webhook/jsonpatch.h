/* jsonpatch.h - building RFC 6902 JSON Patch documents with RFC 6901 pointers, and
 * the fast JSON reading/writing the admission path needs (pure).
 *
 * A patch is a jansson array of operations. Paths are built from reference
 * tokens, each escaped ("~" -> "~0", "/" -> "~1"), so an annotation key such as
 * "tracemodel.dev/injected" becomes "/metadata/annotations/tracemodel.dev~1injected". */
#ifndef OP_WEBHOOK_JSONPATCH_H
#define OP_WEBHOOK_JSONPATCH_H
#include <jansson.h>
#include <stddef.h>

#include "base/strbuf.h"

/* Appends "/" + the escaped token to path. */
void jp_path_push(struct strbuf *path, const char *token);
/* Appends "/" + the decimal index. */
void jp_path_push_index(struct strbuf *path, size_t index);

/* new string: the pointer built from the tokens (a NULL-terminated list), e.g.
 * jp_pointer("metadata", "annotations", "a/b", NULL) = "/metadata/annotations/a~1b". */
char *jp_pointer(const char *first, ...) __attribute__((sentinel));

/* Unescapes one reference token in place ("~1" -> "/", "~0" -> "~").
 * 0, or -1 when the token has a '~' not followed by '0' or '1'. */
int jp_token_unescape(char *token);

/* Appends {"op": "add"|"replace", "path": path, "value": value} to patch.
 * value is stolen (the patch owns it afterwards). */
void jp_add(json_t *patch, const char *path, json_t *value);
void jp_replace(json_t *patch, const char *path, json_t *value);
/* Appends {"op": "remove", "path": path}. */
void jp_remove(json_t *patch, const char *path);

/* ---- fast compact serialization (the hot path of every admission answer) ----
 * Both produce exactly the bytes json_dumps(..., JSON_COMPACT) produces for the
 * same value (no JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH; keys in insertion order),
 * without jansson's per-container loop-detection bookkeeping, which costs more
 * than the writing itself. */

/* Appends the n bytes of s as a quoted JSON string: '"' and '\\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, everything else (UTF-8 included)
 * as is. */
void jp_quote(struct strbuf *b, const char *s, size_t n);
/* Appends v (any JSON value; NULL appends nothing) as compact JSON. */
void jp_dump(struct strbuf *b, const json_t *v);

/* ---- fast reading (the AdmissionReview body) ----
 * new ref: the same value json_loadb(buf, len, 0, err) returns (same types, key
 * order, duplicate keys resolved the same way), about four times cheaper: a
 * direct scanner for the common case (objects, arrays, strings, small integers,
 * literals) that hands anything else (reals, huge integers, \u0000, deep
 * nesting, and every malformed input) to json_loadb, so errors and their texts are
 * jansson's own. err may be NULL. */
json_t *jp_load(const char *buf, size_t len, json_error_t *err);

/* Members jp_load_pruned() leaves out. A list ends with a NULL key. An entry with
 * members == NULL drops that member (its value is still checked as JSON); with
 * members, they apply to the member's value when it is an object, or with each = 1
 * to every element of its value when it is an array. */
struct jp_prune {
    const char *key;
    const struct jp_prune *members;
    int each;
};
/* jp_load without the members prune names (at the top level: prune is the list of
 * the document's own members). A document the fast scanner cannot take goes to
 * json_loadb whole: then nothing is left out. */
json_t *jp_load_pruned(const char *buf, size_t len, const struct jp_prune *prune,
                       json_error_t *err);

#endif
