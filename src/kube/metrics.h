/* metrics.h - counts of API requests by verb and HTTP code (thread-safe).
 *
 * One struct kube_metrics is shared by every client of the process (each
 * thread has its own client); counters are C11 atomics, so /metrics can read
 * them from any thread while clients write. A zero-initialized struct
 * (static or xcalloc) is ready to use. */
#ifndef OP_KUBE_METRICS_H
#define OP_KUBE_METRICS_H
#include <stdatomic.h>

#include "base/strbuf.h"

enum kube_verb {
    KUBE_VERB_GET = 0,
    KUBE_VERB_LIST,
    KUBE_VERB_WATCH,
    KUBE_VERB_CREATE,
    KUBE_VERB_APPLY,
    KUBE_VERB_PATCH,      /* merge and JSON patches */
    KUBE_VERB_UPDATE,
    KUBE_VERB_DELETE,
    KUBE_VERB__COUNT
};

/* HTTP codes 100..599 are counted exactly; code 0 = no HTTP answer (transport
 * error, timeout); anything else is counted as 0 too. */
#define KUBE_METRICS_CODES 600

struct kube_metrics {
    atomic_ulong requests[KUBE_VERB__COUNT][KUBE_METRICS_CODES];
};

const char *kube_verb_name(enum kube_verb v);   /* "get", "list", ... */

void kube_metrics_add(struct kube_metrics *m, enum kube_verb v, int http);
unsigned long kube_metrics_get(const struct kube_metrics *m, enum kube_verb v, int http);

/* Appends Prometheus text for every non-zero counter:
 *   # TYPE tracing_operator_kube_requests_total counter
 *   tracing_operator_kube_requests_total{verb="get",code="200"} 12
 * (code "0" is rendered as code="error"). */
void kube_metrics_format(const struct kube_metrics *m, struct strbuf *out);

#endif
