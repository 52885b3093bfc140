/* leader.c - the pure leader-election state machine (see leader.h). */
#include "controller/leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/xalloc.h"

void leader_init(struct leader_elector *le, const char *identity, const char *ns,
                 const char *name, int64_t lease_ms, int64_t renew_deadline_ms,
                 int64_t retry_ms) {
    memset(le, 0, sizeof(*le));
    le->identity = xstrdup(identity);
    le->ns = xstrdup(ns);
    le->name = xstrdup(name);
    le->lease_ms = lease_ms > 0 ? lease_ms : LEADER_LEASE_MS;
    le->renew_deadline_ms = renew_deadline_ms > 0 ? renew_deadline_ms : LEADER_RENEW_DEADLINE_MS;
    le->retry_ms = retry_ms > 0 ? retry_ms : LEADER_RETRY_MS;
}

void leader_done(struct leader_elector *le) {
    free(le->identity);
    free(le->ns);
    free(le->name);
    free(le->observed);
    memset(le, 0, sizeof(*le));
}

static const char *spec_str(const json_t *lease, const char *key) {
    return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

static json_int_t spec_int(const json_t *lease, const char *key) {
    return json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* The record as a string, to notice any change (client-go compares the raw record). */
static char *fingerprint(const json_t *lease) {
    json_t *spec = json_object_get(lease, "spec");
    char *s = spec ? jarena_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    char *fp = xstrdup(s ? s : "{}");
    free(s);
    return fp;
}

static json_t *lease_body(const struct leader_elector *le, const json_t *old, const char *holder,
                          int64_t duration_s, int64_t acquire_wall, int64_t renew_wall,
                          json_int_t transitions) {
    char acq[32], ren[32];
    op_format_microtime(acquire_wall, acq);
    op_format_microtime(renew_wall, ren);
    json_t *md = json_pack("{s:s,s:s}", "name", le->name, "namespace", le->ns);
    const char *rv = old ? json_string_value(json_object_get(json_object_get(old, "metadata"),
                                                             "resourceVersion"))
                         : NULL;
    if (rv)
        json_object_set_new(md, "resourceVersion", json_string(rv));
    return json_pack("{s:s,s:s,s:o,s:{s:s,s:I,s:s,s:s,s:I}}", "apiVersion",
                     "coordination.k8s.io/v1", "kind", "Lease", "metadata", md, "spec",
                     "holderIdentity", holder, "leaseDurationSeconds", (json_int_t)duration_s,
                     "acquireTime", acq, "renewTime", ren, "leaseTransitions", transitions);
}

enum leader_action leader_decide(struct leader_elector *le, const json_t *lease, int64_t mono,
                                 int64_t wall, json_t **ret_body) {
    *ret_body = NULL;
    int64_t dur_s = (le->lease_ms + 999) / 1000;
    if (!lease) {
        le->acquired_wall = wall;
        *ret_body = lease_body(le, NULL, le->identity, dur_s, wall, wall, 0);
        return LEADER_CREATE;
    }
    char *fp = fingerprint(lease);
    if (!le->observed || strcmp(fp, le->observed) != 0) {
        free(le->observed);
        le->observed = fp;
        le->observed_at = mono;
    } else {
        free(fp);
    }
    const char *holder = spec_str(lease, "holderIdentity");
    int mine = holder && strcmp(holder, le->identity) == 0;
    int held = holder && *holder && !mine;
    json_int_t lease_s = spec_int(lease, "leaseDurationSeconds");
    int64_t valid_ms = lease_s > 0 ? (int64_t)lease_s * 1000 : le->lease_ms;
    if (held && le->observed_at + valid_ms > mono) {
        le->leading = 0;   /* someone else holds it: if we thought we led, we lost */
        return LEADER_STANDBY;
    }
    json_int_t transitions = spec_int(lease, "leaseTransitions");
    int64_t acquire = wall;
    if (mine) {
        int64_t t;
        const char *a = spec_str(lease, "acquireTime");
        acquire = a && op_parse_time(a, &t) == 0 ? t : le->acquired_wall ? le->acquired_wall : wall;
    } else {
        transitions++;
    }
    le->acquired_wall = acquire;
    *ret_body = lease_body(le, lease, le->identity, dur_s, acquire, wall, transitions);
    return LEADER_UPDATE;
}

void leader_observe_write(struct leader_elector *le, int ok, int64_t mono, int64_t wall) {
    (void)wall;
    if (!ok)
        return;
    le->leading = 1;
    le->last_renew = mono;
    /* our own write changed the record: treat it as seen now */
    free(le->observed);
    le->observed = NULL;
    le->observed_at = mono;
}

int leader_check(struct leader_elector *le, int64_t mono) {
    if (le->leading && mono - le->last_renew > le->renew_deadline_ms)
        le->leading = 0;
    return le->leading;
}

json_t *leader_release_body(const struct leader_elector *le, const json_t *lease, int64_t wall) {
    if (!lease)
        return NULL;
    const char *holder = spec_str(lease, "holderIdentity");
    if (!holder || strcmp(holder, le->identity) != 0)
        return NULL;
    return lease_body(le, lease, "", 1, le->acquired_wall ? le->acquired_wall : wall, wall,
                      spec_int(lease, "leaseTransitions"));
}
