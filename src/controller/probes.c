/* probes.c - /metrics, /healthz, /readyz over httpserver.h (see probes.h). */
#include "controller/probes.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "controller/controller.h"
#include "webhook/httpserver.h"

struct listener {
    struct controller *c;
    int metrics, health;
    struct ctrl_probe_ext ext;
};

struct ctrl_probes {
    struct http_server *http;
    struct listener l[2];
    int port[2];
};

static void serve(void *ud, const struct http_request *rq, struct http_response *rs) {
    struct listener *pl = ud;
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
        http_response_set(rs, 405, HTTP_CT_TEXT, "method not allowed\n", 19);
        return;
    }
    if (pl->metrics && !strcmp(rq->path, "/metrics")) {
        struct strbuf b;
        strbuf_init(&b, 0);
        struct ctrl_gauges g;
        controller_gauges(pl->c, &g);
        ctrl_metrics_format(controller_metrics(pl->c), &g, &b);
        if (pl->ext.metrics)
            pl->ext.metrics(pl->ext.ud, &b);
        size_t len = 0;
        char *body = strbuf_detach(&b, &len);
        http_response_take(rs, 200, HTTP_CT_PROMETHEUS, body, len);
    } else if (pl->health && !strcmp(rq->path, "/healthz")) {
        http_response_set(rs, 200, HTTP_CT_TEXT, "ok\n", 3);
    } else if (pl->health && !strcmp(rq->path, "/readyz")) {
        if (!controller_synced(pl->c))
            http_response_set(rs, 503, HTTP_CT_TEXT, "informer caches not synced yet\n", 31);
        else if (pl->ext.ready && !pl->ext.ready(pl->ext.ud))
            http_response_set(rs, 503, HTTP_CT_TEXT, "webhook not ready yet\n", 22);
        else
            http_response_set(rs, 200, HTTP_CT_TEXT, "ok\n", 3);
    } else {
        http_response_set(rs, 404, HTTP_CT_TEXT, "not found\n", 10);
    }
}

struct ctrl_probes *ctrl_probes_start(struct controller *c, const char *metrics_addr,
                                      const char *health_addr, const struct ctrl_probe_ext *ext,
                                      struct op_status *st) {
    struct ctrl_probe_ext none = {NULL, NULL, NULL};
    if (!ext)
        ext = &none;
    int m = ctrl_probes_addr_on(metrics_addr), h = ctrl_probes_addr_on(health_addr);
    if (!m && !h)
        return NULL;
    struct ctrl_probes *p = xcalloc(1, sizeof(*p));
    struct http_listener_opts lo[2];
    memset(lo, 0, sizeof(lo));
    int same = m && h && !strcmp(metrics_addr, health_addr);
    int idx[2] = {-1, -1};
    size_t n = 0;
    if (m) {
        p->l[n] = (struct listener){c, 1, same, *ext};
        lo[n] = (struct http_listener_opts){.name = "metrics", .bind_address = metrics_addr,
                                            .max_body = 4096, .handler = serve, .ud = &p->l[n]};
        idx[0] = (int)n;
        if (same)
            idx[1] = (int)n;
        n++;
    }
    if (h && !same) {
        p->l[n] = (struct listener){c, 0, 1, *ext};
        lo[n] = (struct http_listener_opts){.name = "health", .bind_address = health_addr,
                                            .max_body = 4096, .handler = serve, .ud = &p->l[n]};
        idx[1] = (int)n;
        n++;
    }
    struct http_server_opts so = {.name = "probes", .listeners = lo, .n_listeners = n};
    p->http = http_server_start(&so, st);
    if (!p->http) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < 2; i++)
        p->port[i] = idx[i] >= 0 ? http_server_port(p->http, (size_t)idx[i]) : -1;
    return p;
}

int ctrl_probes_port(const struct ctrl_probes *p, int which) {
    return p && (which == 0 || which == 1) ? p->port[which] : -1;
}

void ctrl_probes_stop(struct ctrl_probes *p) {
    if (!p)
        return;
    http_server_stop(p->http);
    free(p);
}
