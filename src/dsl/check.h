/* check.h - internal to src/dsl: the blocks that check a compiled model instead of
 * building it: `validation_rules` (extra checks, errors by default),
 * `performance_validation` (estimates against constraints) and `best_practices`
 * (lint warnings). */
#ifndef OP_DSL_CHECK_H
#define OP_DSL_CHECK_H
#include <jansson.h>

#include "dsl/mctx.h"

struct check_ctx {
    const struct dsl_block *root;  /* the model's root block; NULL: only check the block itself */
    int ns_given;                  /* --namespace was passed (counts as a namespace) */
    const json_t *models;          /* every compiled TracingModel (for cross-model rules) */
    int first;                     /* first model this block is applied to: report its own
                                      problems (unknown keys, unsupported rules) only once */
};

/* Applies the check block m->blk to the TracingModel m->doc (whose provenance is
 * m->prov). Violations are located at the DSL line of the offending value. */
void check_block(struct mctx *m, const struct check_ctx *c);

/* Evaluates a comparison condition over one variable ("sampling_rate >= 0 AND
 * sampling_rate <= 1"): 1 true, 0 false, -1 when it cannot be evaluated (syntax,
 * another variable). Exposed for tests. */
int check_eval(const char *cond, const char *var, double value);

#endif
