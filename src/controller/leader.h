/* leader.h - leader election on a coordination.k8s.io/v1 Lease.
 *
 * The decision logic is a pure state machine (client-go's rules): given the
 * Lease as read (or NULL when absent) and the time, leader_decide() says what
 * to do: create the Lease, update it (acquire or renew), or stand by.
 * Expiry is judged by when THIS replica last saw the record change (its own
 * monotonic clock), never by comparing clocks across machines: another
 * holder's lease is expired when its record has not changed for
 * leaseDurationSeconds. The leader keeps renewing every retry period and
 * loses leadership when no renew succeeded for the renew deadline, or at once
 * when the Lease shows another holder. On shutdown leader_release_body()
 * gives the update that hands the Lease back (holderIdentity "", duration 1 s).
 *
 * The edge (leader_loop_*) runs the machine on a thread over a kube client
 * and calls back on gaining and losing leadership. */
#ifndef OP_CONTROLLER_LEADER_H
#define OP_CONTROLLER_LEADER_H
#include <jansson.h>
#include <stdint.h>

#include "controller/clock.h"

#define LEADER_LEASE_MS 15000
#define LEADER_RENEW_DEADLINE_MS 10000
#define LEADER_RETRY_MS 2000

struct leader_elector {
    char *identity;
    char *ns, *name;              /* the Lease */
    int64_t lease_ms, renew_deadline_ms, retry_ms;
    /* what this replica saw last */
    char *observed;               /* fingerprint of the last record seen, or NULL */
    int64_t observed_at;          /* monotonic ms when it last changed */
    int leading;
    int64_t last_renew;           /* monotonic ms of the last successful create/update */
    int64_t acquired_wall;        /* wall ms when we became the holder (acquireTime) */
};

enum leader_action {
    LEADER_STANDBY = 0,   /* someone else holds a valid lease: do nothing */
    LEADER_CREATE,        /* no Lease: create *ret_body */
    LEADER_UPDATE,        /* acquire or renew: update *ret_body (carries resourceVersion) */
};

/* identity, ns and name are copied. Durations 0 = the defaults above. */
void leader_init(struct leader_elector *le, const char *identity, const char *ns,
                 const char *name, int64_t lease_ms, int64_t renew_deadline_ms,
                 int64_t retry_ms);
void leader_done(struct leader_elector *le);

/* Pure decision. lease: the Lease read from the API (borrowed) or NULL if it does
 * not exist. mono/wall: now. For CREATE/UPDATE *ret_body is a new Lease object.
 * If the Lease shows another valid holder while we were leading, leadership is
 * lost at once (le->leading becomes 0). */
enum leader_action leader_decide(struct leader_elector *le, const json_t *lease, int64_t mono,
                                 int64_t wall, json_t **ret_body);

/* Outcome of the write leader_decide() asked for: ok=1 success (we hold the lease
 * since mono), ok=0 failure (conflict, error). */
void leader_observe_write(struct leader_elector *le, int ok, int64_t mono, int64_t wall);

/* Must be called after every attempt (and may be at any time): when leading and no
 * renew succeeded within the renew deadline, leadership is lost. Returns le->leading. */
int leader_check(struct leader_elector *le, int64_t mono);

/* new ref: the Lease update that releases it (holderIdentity "", leaseDurationSeconds 1),
 * from the Lease last read (borrowed, for resourceVersion and counters); NULL when
 * we do not hold it. */
json_t *leader_release_body(const struct leader_elector *le, const json_t *lease, int64_t wall);

/* ---- edge: the election thread ---- */
struct kube_client;
struct leader_loop;

struct leader_callbacks {
    void (*started)(void *ud);   /* became leader: start reconciling */
    void (*stopped)(void *ud);   /* lost leadership: stop reconciling at once */
    void *ud;
};

/* Takes ownership of client. */
struct leader_loop *leader_loop_new(struct kube_client *client, const char *identity,
                                    const char *ns, const char *name,
                                    const struct op_clock *clock,
                                    const struct leader_callbacks *cb);
int leader_loop_start(struct leader_loop *ll);
/* Stops the thread; when leading, releases the Lease (one update, short timeout). */
void leader_loop_stop_and_release(struct leader_loop *ll);
void leader_loop_free(struct leader_loop *ll);
int leader_loop_is_leader(struct leader_loop *ll);
/* One attempt (tests): read, decide, write, check. Returns le->leading. */
int leader_loop_tick(struct leader_loop *ll);

/* A unique identity: "<hostname>_<16 hex>" (new string). */
char *leader_make_identity(void);

#endif
