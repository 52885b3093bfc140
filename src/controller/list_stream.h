/* list_stream.h - stream the items out of LIST responses instead of holding them.
 *
 * A LIST of 10,000 children is tens of MiB of JSON and ten times that once
 * parsed. The informer does not need the list as a whole, only each item once,
 * so a kube client made for an informer sits on a filtering transport:
 *
 *   kube client --> list filter --> real transport (curl)
 *
 * While a capture is armed, the filter splits each 200 response body with a
 * small byte-level scanner (pure; list_splitter_*): every element of the
 * top-level "items" array is parsed on its own and handed to the capture
 * callback, and the client receives the rest of the document with "items": []
 * (kind, metadata.resourceVersion and metadata.continue intact, so the client's
 * paging works unchanged). Peak memory is one item, whatever the list size.
 * Everything else (watches, errors, other requests) passes through untouched. */
#ifndef OP_CONTROLLER_LIST_STREAM_H
#define OP_CONTROLLER_LIST_STREAM_H
#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "kube/transport.h"

#define LIST_ITEM_MAX (16u * 1024 * 1024)   /* one object larger than this: OP_ETOOBIG */

/* Called with each item (a NEW reference the callee owns). Non-zero aborts. */
typedef int (*list_item_fn)(void *ud, json_t *item);

/* ---- the pure splitter ---- */
struct list_splitter {
    struct strbuf rest;      /* the document without the items' contents */
    struct strbuf item;      /* the element being collected */
    int depth;               /* nesting depth of the document */
    int in_string, escape;
    int in_items;            /* inside the top-level "items" array */
    int in_element;          /* collecting an element */
    int elem_depth;          /* depth at which the element started */
    int key_is_items;        /* the last depth-1 key was "items" */
    int after_colon;         /* a depth-1 value is about to start */
    char key[8];             /* first bytes of the depth-1 key being read */
    size_t key_len;
    int reading_key;
    size_t items;            /* items emitted */
    list_item_fn cb;
    void *ud;
};

void list_splitter_init(struct list_splitter *s, list_item_fn cb, void *ud);
void list_splitter_free(struct list_splitter *s);
/* Feeds bytes. 0, OP_EPARSE (an item that is not JSON), OP_ETOOBIG, or the
 * callback's non-zero value. */
int list_splitter_feed(struct list_splitter *s, const char *data, size_t len,
                       struct op_status *st);
/* The document with "items": [] (valid once the whole body was fed). Borrowed. */
const char *list_splitter_rest(const struct list_splitter *s, size_t *ret_len);

/* ---- the filtering transport ---- */
struct list_filter;

/* Wraps inner (taken: destroyed with the filter). kube_client_new_with_transport()
 * takes list_filter_transport(f); the client's kube_client_free() then frees f. */
struct list_filter *list_filter_new(struct kube_transport *inner);
struct kube_transport *list_filter_transport(struct list_filter *f);
/* Arms (cb non-NULL) or disarms (cb NULL) item capture for the following requests.
 * Only from the thread that uses the client. */
void list_filter_capture(struct list_filter *f, list_item_fn cb, void *ud);

#endif
