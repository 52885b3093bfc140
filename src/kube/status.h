/* status.h - API server answers -> the project's error codes (pure).
 *
 * The single mapping from HTTP status / Kubernetes Status reason to OP_E*:
 *   404 OP_ENOTFOUND, 409 OP_ECONFLICT (reason AlreadyExists: OP_EALREADY),
 *   410 OP_EGONE (also reason Expired/Gone), 400/422 OP_EINVALID,
 *   403 OP_EFORBIDDEN, 401 OP_EUNAUTHORIZED, 429 OP_ETHROTTLED,
 *   504 and reasons Timeout/ServerTimeout OP_ETIMEOUT, 413 OP_ETOOBIG,
 *   405/406/415 OP_EUNSUPPORTED, 412 OP_ECONFLICT, other 5xx OP_ESERVER,
 *   other 4xx OP_EINVALID.
 * The Status reason and message are kept in struct op_status for logs and Events. */
#ifndef OP_KUBE_STATUS_H
#define OP_KUBE_STATUS_H
#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* The OP_E* code for an HTTP status and (optional) Status reason; 0 for 2xx. */
int kube_status_code(int http, const char *reason);

/* Decodes a response: 0 for 2xx (st untouched); otherwise the code from
 * kube_status_code() with st->http, st->reason and st->msg filled from the
 * Status body when it is one (else "HTTP <n>: <start of the body>"). */
int kube_status_decode(int http, const char *body, size_t len, struct op_status *st);

/* Same for a decoded Status object (a watch ERROR event). http 0 = take it
 * from the Status' "code" field. */
int kube_status_from_json(int http, const json_t *status, struct op_status *st);

#endif
