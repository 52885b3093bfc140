/* yamljson.h - YAML text <-> jansson values, with YAML 1.2 core-schema typing.
 *
 * Reading: a quoted scalar is always a string ("1.0" stays "1.0"); a plain
 * scalar resolves to null (null, ~, empty), a boolean (true/false), an
 * integer, a float, or else a string. Explicit tags (!!str, !!int, ...) win.
 * Every document of a multi-document stream is returned; empty documents are
 * skipped. Anchors and aliases are expanded with a cap on the total number of
 * nodes (so an alias bomb is an error, not an OOM). Duplicate mapping keys,
 * non-scalar keys, and nesting deeper than YJ_MAX_DEPTH are errors. Errors say
 * "line L, column C: ...". JSON is YAML, so JSON input works too.
 *
 * Writing: block style, keys in insertion order, strings quoted only when
 * they would otherwise read back as another type, multi-line strings as
 * literal blocks. */
#ifndef OP_BASE_YAMLJSON_H
#define OP_BASE_YAMLJSON_H
#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/strbuf.h"

#define YJ_MAX_DEPTH 100
#define YJ_MAX_NODES 4000000
#define YJ_MAX_INPUT (64u * 1024 * 1024)

/* new ref: a JSON array with one element per document; NULL on error (err filled). */
json_t *yaml_load_all(const char *text, size_t len, struct op_status *err);

/* new ref: exactly one document expected; 0 documents or more than 1 is an error. */
json_t *yaml_load_one(const char *text, size_t len, struct op_status *err);

/* Appends the YAML of one value (no leading "---"). 0 or OP_E*. */
int yaml_dump(const json_t *value, struct strbuf *out);

/* Appends every element of docs as its own document, separated by "---". */
int yaml_dump_all(const json_t *docs, struct strbuf *out);

/* Would this plain (unquoted) YAML scalar read back as something other than a string? */
int yaml_plain_is_special(const char *s, size_t len);

#endif
