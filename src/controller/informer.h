/* informer.h - list then watch one resource collection into a cache (edge).
 *
 * Loop (one thread per informer, each with its own kube client):
 *   handler.replace_begin, list (all pages) with an upsert per item, replace_end,
 *   then watch from the list's resourceVersion; every event updates the last
 *   resourceVersion seen (bookmarks included). When the stream ends (server
 *   timeout) or the connection drops, the watch resumes from that version;
 *   a 410 Gone (version too old) means list again. Errors back off with jitter
 *   (800 ms doubling to 30 s, up to +100%), reset after a successful list/watch.
 * informer_step() runs one list or one watch, so tests can drive the loop over
 * the fake transport without threads. */
#ifndef OP_CONTROLLER_INFORMER_H
#define OP_CONTROLLER_INFORMER_H
#include <jansson.h>
#include <stdatomic.h>

#include "controller/clock.h"
#include "kube/client.h"

/* Where objects go. Objects are BORROWED: incref to keep them; the handler may
 * modify an object it keeps (e.g. store_strip) since the informer is done with it. */
struct informer_handler {
    void (*replace_begin)(void *ud);
    void (*upsert)(void *ud, json_t *obj);
    void (*remove)(void *ud, json_t *obj);
    void (*replace_end)(void *ud);
    void *ud;
};

enum informer_restart {
    INFORMER_RESTART_END = 0,   /* the server ended the watch (timeout): resumed */
    INFORMER_RESTART_ERROR,     /* the connection failed or dropped: resumed after backoff */
    INFORMER_RESTART_GONE,      /* 410: relisted */
};

struct informer_cfg {
    const char *name;                 /* for logs and metrics: "deployments" */
    const char *api_version, *kind;   /* filled into objects that lack them (list items
                                       * come without); NULL = leave as they are */
    struct kube_ref ref;              /* the collection; ref.ns NULL = every namespace.
                                       * Strings must outlive the informer. */
    const char *label_selector;       /* NULL = none */
    const char *field_selector;       /* NULL = none (e.g. "metadata.name=x") */
    int watch_timeout_s;              /* server-side watch timeout; 0 = 300..600 s random */
    struct informer_handler handler;
    const struct op_clock *clock;     /* NULL = op_clock_system */
    /* Optional: a watch was re-established (metrics). */
    void (*on_restart)(void *ud, const char *name, enum informer_restart why);
    void *restart_ud;
};

struct informer;

struct list_filter;

/* Takes ownership of client. When lf is the list filter under client's transport
 * (list_stream.h), list items are streamed to the handler one at a time instead of
 * being collected; NULL = plain kube_list. */
struct informer *informer_new(const struct informer_cfg *cfg, struct kube_client *client,
                              struct list_filter *lf);
void informer_free(struct informer *inf);   /* NULL-safe; stops and joins first */

/* One step: a list when needed, else one watch until the stream ends.
 * Returns 0 after a successful step, KUBE_WATCH_STOPPED when stopped, or a
 * negative OP_E* code (the loop backs off). After OP_EGONE the next step lists. */
int informer_step(struct informer *inf);

/* Starts the thread running informer_step() in a loop with backoff. 0 or OP_E*. */
int informer_start(struct informer *inf);
/* Asks the thread to stop (ends a watch in progress promptly) and joins it. */
void informer_stop(struct informer *inf);
/* The two halves of informer_stop, for shutdowns with a deadline: request_stop never
 * blocks; join waits until deadline_wall_ms (CLOCK_REALTIME epoch ms) and returns 0
 * when the thread ended, -1 when it is still running (e.g. inside a list). */
void informer_request_stop(struct informer *inf);
int informer_join(struct informer *inf, int64_t deadline_wall_ms);

/* 1 once the first list has been delivered to the handler. Any thread. */
int informer_synced(struct informer *inf);
/* The last resourceVersion seen (new string, or NULL before the first list). */
char *informer_resource_version(struct informer *inf);
const char *informer_name(const struct informer *inf);

#endif
