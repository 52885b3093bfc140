/* condition.h - the sampling-rule condition language of the DSL (pure; no I/O).
 *
 * Grammar (whitespace-insensitive; keywords and/or/not/in case-insensitive):
 *   expr    := or
 *   or      := and (("or" | "||" | "OR") and)*
 *   and     := unary (("and" | "&&" | "AND") unary)*
 *   unary   := "not" unary | "(" expr ")" | cmp | "*"
 *   cmp     := IDENT op value | IDENT ["not"] "in" list | IDENT "in" IDENT
 *   op      := "==" | "!=" | ">" | ">=" | "<" | "<="
 *   value   := NUMBER | DURATION (500ms, 1s) | STRING ('x' or "x") | BAREWORD (ERROR, OK)
 *   list    := "[" value ("," value)* "]"
 * Examples: `http.status_code >= 400`, `duration > 1s`, `status == ERROR`,
 * `service.name in ['a','b']`, `service.name not in [...]`, `*`.
 *
 * Compiled into OpenTelemetry Collector tail_sampling policies:
 *   duration/latency cmp      -> latency {threshold_ms[, upper_threshold_ms]}
 *   status ==/!= OK|ERROR|UNSET -> status_code {status_codes}
 *   numeric attr cmp          -> numeric_attribute {key, min_value, max_value[, invert_match]}
 *   string attr ==/!=/in/not in -> string_attribute {key, values[, invert_match]}
 *   *                         -> always_sample (rate 1) or probabilistic
 *   and / or                  -> and {and_sub_policy} / one policy per branch
 *   rate < 1                  -> and {<condition>, probabilistic{sampling_percentage}}
 */
#ifndef OP_MODEL_CONDITION_H
#define OP_MODEL_CONDITION_H
#include <jansson.h>

#include "base/diag.h"

struct cond;

/* Parses text. On error returns NULL and appends one diagnostic located at
 * `where` whose message names the 1-based column, e.g.
 * "spec.sampling.rules[0].condition: column 18: expected a value after '>='". */
struct cond *cond_parse(const char *text, const char *where, struct diag *d);
void cond_free(struct cond *c);

/* Appends to `policies` (a JSON array) the tail_sampling policies that sample
 * traces matching c with probability rate, named `name` (suffixed -1, -2 ... when
 * one condition needs several policies). Returns 0, or OP_EINVALID with a
 * diagnostic at `where` when the condition cannot be expressed (e.g. `x in other_list`
 * naming an undefined list). */
int cond_to_policies(const struct cond *c, const char *name, double rate, json_t *policies,
                     const char *where, struct diag *d);

/* The condition back as normalized text (for messages and tests); caller frees. */
char *cond_to_string(const struct cond *c);

#endif
