/* validate.c - TracingModel validation (tm_validate). FIRST CUT: a stub that
 * accepts everything; the real rules land in the next commits. */
#include "model/model.h"

int tm_validate(const json_t *obj, int strict, struct diag *d) {
    (void)obj;
    (void)strict;
    (void)d;
    return 0;
}
