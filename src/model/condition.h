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
 *   attr == true|false        -> boolean_attribute {key, value}
 *   *                         -> always_sample (rate 1) or probabilistic
 *   and / or                  -> and {and_sub_policy} / one policy per branch
 *   rate < 1                  -> and {<condition>, probabilistic{sampling_percentage}}
 *
 * Exact semantics (the collector decides per trace: "some span matches"):
 *   - `duration`/`latency` is the trace's duration at millisecond precision.
 *     `> 1s` and `>= 1s` both give threshold_ms 1000 (the policy's threshold is
 *     inclusive); with an upper bound the policy is threshold_ms < d <=
 *     upper_threshold_ms, so `duration >= 1s and duration < 5s` gives 999/4999.
 *     Upper-bounded ranges starting at 0 exclude zero-length traces.
 *   - numeric_attribute compares int64 attributes (the collector reads them
 *     with Int()), so literals must be integers: `> 400` -> min 401, `< 3` ->
 *     max 2; an open side is INT64_MIN / INT64_MAX (9223372036854775807).
 *     Bounds on the same key in one AND merge into one range (same span).
 *   - `!=`, `not in` and `not` of an attribute test set invert_match ("no span
 *     matches"); such a policy is always wrapped in `and`, because at the top
 *     level an inverted decision vetoes every other policy (deprecated
 *     "inverted not sample" rule of the collector README).
 *   - `not` of status complements the set; of a duration range, gives the
 *     complementary range(s); De Morgan for and/or. The result is expanded to
 *     an OR of ANDs: at most 32 policies per condition.
 *   - a list of integers becomes ranges of consecutive values (OR'ed; AND of
 *     inverted ranges for `not in`). Identifiers are case-sensitive; keywords,
 *     status values and true/false are not.
 *   - policy names: `name`, or `name-1`, `name-2`... for several branches;
 *     `and` sub-policies are `<policy>-<type>` (`-2`, `-3` for repeats).
 *   - sampling_percentage is an integer when whole (10), else a real (12.5).
 * Limits: 4096 bytes of text, nesting 32 deep.
 */
#ifndef OP_MODEL_CONDITION_H
#define OP_MODEL_CONDITION_H
#include <jansson.h>

#include "base/diag.h"

struct cond;

/* Parses text (NULL counts as ""). d may be NULL. On error returns NULL and appends one diagnostic located at
 * `where` whose message names the 1-based column, e.g.
 * "spec.sampling.rules[0].condition: column 18: expected a value after '>='". */
struct cond *cond_parse(const char *text, const char *where, struct diag *d);
void cond_free(struct cond *c);

/* Appends to `policies` (a JSON array) the tail_sampling policies that sample
 * traces matching c with probability rate, named `name` (suffixed -1, -2 ... when
 * one condition needs several policies). Returns 0, or OP_EINVALID with a
 * diagnostic at `where` ("column N: ...") when the condition cannot be expressed
 * (e.g. `x in other_list` naming an undefined list, `duration > 500` without a
 * unit, `x > 0.5` on a non-integer, a condition that can never match) or rate
 * is outside [0, 1]; nothing is appended then. Appended policies are new refs
 * owned by `policies`. */
int cond_to_policies(const struct cond *c, const char *name, double rate, json_t *policies,
                     const char *where, struct diag *d);

/* The condition back as normalized text (for messages and tests); caller frees. */
char *cond_to_string(const struct cond *c);

#endif
