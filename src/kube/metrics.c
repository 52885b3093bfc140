/* metrics.c - atomic request counters by verb and HTTP code (see metrics.h). */
#include "kube/metrics.h"

static const char *const verb_names[KUBE_VERB__COUNT] = {
    "get", "list", "watch", "create", "apply", "patch", "update", "delete",
};

const char *kube_verb_name(enum kube_verb v) {
    if ((int)v < 0 || v >= KUBE_VERB__COUNT)
        return "unknown";
    return verb_names[v];
}

static int code_index(int http) { return http >= 100 && http < KUBE_METRICS_CODES ? http : 0; }

void kube_metrics_add(struct kube_metrics *m, enum kube_verb v, int http) {
    if (!m || (int)v < 0 || v >= KUBE_VERB__COUNT)
        return;
    atomic_fetch_add_explicit(&m->requests[v][code_index(http)], 1, memory_order_relaxed);
}

unsigned long kube_metrics_get(const struct kube_metrics *m, enum kube_verb v, int http) {
    if (!m || (int)v < 0 || v >= KUBE_VERB__COUNT)
        return 0;
    /* atomic_load needs a non-const pointer on some C libraries */
    struct kube_metrics *mm = (struct kube_metrics *)m;
    return atomic_load_explicit(&mm->requests[v][code_index(http)], memory_order_relaxed);
}

void kube_metrics_format(const struct kube_metrics *m, struct strbuf *out) {
    strbuf_puts(out, "# HELP tracing_operator_kube_requests_total Kubernetes API requests by "
                     "verb and HTTP code.\n"
                     "# TYPE tracing_operator_kube_requests_total counter\n");
    for (int v = 0; v < KUBE_VERB__COUNT; v++)
        for (int code = 0; code < KUBE_METRICS_CODES; code++) {
            unsigned long n = kube_metrics_get(m, (enum kube_verb)v, code);
            if (!n || (code > 0 && code < 100))
                continue;
            if (code == 0)
                strbuf_printf(out, "tracing_operator_kube_requests_total{verb=\"%s\",code=\"error\"} %lu\n",
                              verb_names[v], n);
            else
                strbuf_printf(out, "tracing_operator_kube_requests_total{verb=\"%s\",code=\"%d\"} %lu\n",
                              verb_names[v], code, n);
        }
}
