/* err.h - the project's one table of error codes and a caller-owned error detail struct.
 *
 * Functions return 0 on success or a negative OP_E* code; details go into a
 * struct op_status passed last (may be NULL). kube/status.c is the only place
 * that maps HTTP answers onto these codes. */
#ifndef OP_BASE_ERR_H
#define OP_BASE_ERR_H

#define OP_ERRNO_MAP(X)                                               \
    X(ENOTFOUND, "not found")                                         \
    X(ECONFLICT, "conflict")                                          \
    X(EGONE, "gone (resource version too old)")                       \
    X(EINVALID, "invalid")                                            \
    X(EFORBIDDEN, "forbidden")                                        \
    X(EUNAUTHORIZED, "unauthorized")                                  \
    X(ETHROTTLED, "too many requests")                                \
    X(ETIMEOUT, "timed out")                                          \
    X(ETRANSPORT, "transport error")                                  \
    X(EPARSE, "parse error")                                          \
    X(ETOOBIG, "too big")                                             \
    X(ENOMEM, "out of memory")                                        \
    X(EIO, "input/output error")                                      \
    X(EUNSUPPORTED, "not supported")                                  \
    X(ESERVER, "server error")                                        \
    X(EALREADY, "already exists")

enum op_errno {
    OP_OK = 0,
#define OP_ERR_ENUM(name, text) OP_##name,
    OP__ERR_FIRST = -1000,
    OP_ERRNO_MAP(OP_ERR_ENUM)
#undef OP_ERR_ENUM
    OP__ERR_LAST
};

struct op_status {
    int code;          /* OP_E* */
    int http;          /* HTTP status when the error came from the API server, else 0 */
    char reason[64];   /* Kubernetes Status reason (NotFound, Conflict, ...) when known */
    char msg[512];     /* human-readable message, never contains secrets */
};

const char *op_strerror(int code);
const char *op_errname(int code);

/* Fills st (if not NULL) and returns code, so callers can `return op_fail(...)`. */
int op_fail(struct op_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
