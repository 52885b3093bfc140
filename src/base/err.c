/* err.c - names and messages for the OP_E* error table. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *op_strerror(int code) {
    switch (code) {
    case OP_OK: return "ok";
#define OP_ERR_STR(name, text) case OP_##name: return text;
    OP_ERRNO_MAP(OP_ERR_STR)
#undef OP_ERR_STR
    default: return "unknown error";
    }
}

const char *op_errname(int code) {
    switch (code) {
    case OP_OK: return "OK";
#define OP_ERR_NAME(name, text) case OP_##name: return #name;
    OP_ERRNO_MAP(OP_ERR_NAME)
#undef OP_ERR_NAME
    default: return "EUNKNOWN";
    }
}

int op_fail(struct op_status *st, int code, const char *fmt, ...) {
    if (st) {
        va_list ap;
        st->code = code;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
