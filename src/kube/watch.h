/* watch.h - incremental decoder of a watch stream (pure).
 *
 * The API server sends one JSON object per line: {"type": T, "object": O}
 * with T in ADDED, MODIFIED, DELETED, BOOKMARK, ERROR. Bytes arrive in chunks
 * split anywhere (even inside a UTF-8 sequence); the decoder buffers at most
 * max_line bytes of an unfinished line and emits one event per complete line. */
#ifndef OP_KUBE_WATCH_H
#define OP_KUBE_WATCH_H
#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/strbuf.h"

#define KUBE_WATCH_MAX_LINE (16u * 1024 * 1024)

enum kube_event_type {
    KUBE_EVENT_ADDED = 1,
    KUBE_EVENT_MODIFIED,
    KUBE_EVENT_DELETED,
    KUBE_EVENT_BOOKMARK,
    KUBE_EVENT_ERROR      /* object is a Status; kube_status_from_json() decodes it */
};

const char *kube_event_type_name(enum kube_event_type t);   /* "ADDED", ... */

/* One event. object is BORROWED: valid during the call; json_incref() it to
 * keep it. Return 0 to go on; non-zero stops and is returned by the feeder. */
typedef int (*kube_event_fn)(void *ud, enum kube_event_type type, json_t *object);

struct watch_decoder {
    struct strbuf line;   /* the unfinished line */
    size_t max_line;
    size_t events;        /* events emitted so far */
};

/* max_line 0 = KUBE_WATCH_MAX_LINE. */
void watch_decoder_init(struct watch_decoder *d, size_t max_line);
void watch_decoder_free(struct watch_decoder *d);

/* Feeds bytes, calling cb for each complete line (blank lines and "\r\n" are
 * fine). Returns 0, cb's non-zero value (stop), OP_ETOOBIG when a line grows
 * past max_line, or OP_EPARSE for a line that is not a watch event (st names
 * the event number and the cause). After an error the decoder must not be fed again. */
int watch_decoder_feed(struct watch_decoder *d, const char *data, size_t len,
                       kube_event_fn cb, void *ud, struct op_status *st);

/* End of stream: decodes a last line without '\n'. Returns like feed. */
int watch_decoder_finish(struct watch_decoder *d, kube_event_fn cb, void *ud,
                         struct op_status *st);

#endif
