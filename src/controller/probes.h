/* probes.h - the plain-HTTP listener(s) for /metrics, /healthz and /readyz (edge).
 *
 *   /metrics  Prometheus text (metrics.h) on the metrics address
 *   /healthz  200 "ok" while the process serves requests
 *   /readyz   200 once every informer cache synced, else 503 (followers are ready too:
 *             they keep warm caches and take over at once)
 * Served with libwebsockets through webhook/httpserver.h on its own thread; the two
 * addresses may be the same (one listener serves all three paths). */
#ifndef OP_CONTROLLER_PROBES_H
#define OP_CONTROLLER_PROBES_H
#include "base/err.h"

#define CTRL_DEFAULT_METRICS_ADDR ":8080"
#define CTRL_DEFAULT_HEALTH_ADDR ":8081"

struct controller;
struct ctrl_probes;
struct strbuf;

/* What other parts of `run` (the webhook) add: more /metrics lines, and a readiness
 * of their own that /readyz also requires. Called on the server thread: quick,
 * thread-safe, no API calls. Any member may be NULL. */
struct ctrl_probe_ext {
    void (*metrics)(void *ud, struct strbuf *out);
    int (*ready)(void *ud);
    void *ud;
};

/* An address NULL, "" or "0" turns that listener off. ext may be NULL. NULL on error
 * (st filled), or when both are off (then nothing to stop). */
struct ctrl_probes *ctrl_probes_start(struct controller *c, const char *metrics_addr,
                                      const char *health_addr, const struct ctrl_probe_ext *ext,
                                      struct op_status *st);
/* The port of the metrics (0) or health (1) listener, or -1. */
int ctrl_probes_port(const struct ctrl_probes *p, int which);
void ctrl_probes_stop(struct ctrl_probes *p);   /* NULL-safe */

/* Is the address a listener (not NULL, "" or "0")? */
static inline int ctrl_probes_addr_on(const char *a) { return a && *a && !(a[0] == '0' && !a[1]); }

#endif
