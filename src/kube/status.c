/* status.c - the one table from API server answers (HTTP status + Status
 * reason) to OP_E* codes, and decoding of Status bodies (pure). */
#include "kube/status.h"

#include <stdio.h>
#include <string.h>

/* Reasons that decide the code on their own, whatever the HTTP status. */
static const struct {
    const char *reason;
    int code;
} reason_table[] = {
    {"AlreadyExists", OP_EALREADY},
    {"Expired", OP_EGONE},
    {"Gone", OP_EGONE},
    {"Timeout", OP_ETIMEOUT},
    {"ServerTimeout", OP_ETIMEOUT},
};

static const struct {
    int http;
    int code;
} http_table[] = {
    {400, OP_EINVALID},
    {401, OP_EUNAUTHORIZED},
    {403, OP_EFORBIDDEN},
    {404, OP_ENOTFOUND},
    {405, OP_EUNSUPPORTED},
    {406, OP_EUNSUPPORTED},
    {409, OP_ECONFLICT},
    {410, OP_EGONE},
    {412, OP_ECONFLICT},
    {413, OP_ETOOBIG},
    {415, OP_EUNSUPPORTED},
    {422, OP_EINVALID},
    {429, OP_ETHROTTLED},
    {504, OP_ETIMEOUT},
};

int kube_status_code(int http, const char *reason) {
    if (http >= 200 && http < 300)
        return 0;
    if (reason && *reason)
        for (size_t i = 0; i < sizeof(reason_table) / sizeof(reason_table[0]); i++)
            if (!strcmp(reason, reason_table[i].reason))
                return reason_table[i].code;
    for (size_t i = 0; i < sizeof(http_table) / sizeof(http_table[0]); i++)
        if (http == http_table[i].http)
            return http_table[i].code;
    if (http >= 500 && http < 600)
        return OP_ESERVER;
    if (http >= 400 && http < 500)
        return OP_EINVALID;
    return OP_ESERVER;   /* 1xx/3xx/nonsense: the API server never sends these to us */
}

/* Copies at most n bytes of s, replacing control characters, into out. */
static void copy_printable(char *out, size_t outsz, const char *s, size_t n) {
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < outsz; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[j++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    out[j] = '\0';
}

static void fill(struct op_status *st, int code, int http, const char *reason, const char *msg,
                 size_t msglen) {
    if (!st)
        return;
    st->code = code;
    st->http = http;
    snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
    copy_printable(st->msg, sizeof(st->msg), msg, msglen);
}

int kube_status_from_json(int http, const json_t *status, struct op_status *st) {
    const char *reason = json_string_value(json_object_get(status, "reason"));
    const char *message = json_string_value(json_object_get(status, "message"));
    json_t *jc = json_object_get(status, "code");
    if (http == 0 && json_is_integer(jc))
        http = (int)json_integer_value(jc);
    if (http >= 200 && http < 300 && json_is_object(status)) {
        /* a Status "Failure" with a 2xx code is still a failure (watch ERROR events) */
        const char *s = json_string_value(json_object_get(status, "status"));
        if (s && !strcmp(s, "Failure"))
            http = 500;
    }
    int code = kube_status_code(http, reason);
    if (code == 0)
        return 0;
    char buf[512];
    if (message && *message)
        snprintf(buf, sizeof(buf), "%s", message);
    else if (reason && *reason)
        snprintf(buf, sizeof(buf), "HTTP %d %s", http, reason);
    else
        snprintf(buf, sizeof(buf), "HTTP %d", http);
    fill(st, code, http, reason, buf, strlen(buf));
    return code;
}

int kube_status_decode(int http, const char *body, size_t len, struct op_status *st) {
    int code = kube_status_code(http, NULL);
    if (code == 0)
        return 0;
    json_t *j = NULL;
    if (body && len)
        j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    if (j && kind && !strcmp(kind, "Status")) {
        code = kube_status_from_json(http, j, st);
        json_decref(j);
        return code;
    }
    json_decref(j);
    /* not a Status (a proxy's HTML, plain text, nothing): keep the start of it */
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "HTTP %d", http);
    if (body && len && n > 0 && (size_t)n < sizeof(buf) - 3) {
        size_t room = sizeof(buf) - (size_t)n - 3;
        size_t take = len < 200 ? len : 200;
        if (take > room)
            take = room;
        buf[n++] = ':';
        buf[n++] = ' ';
        copy_printable(buf + n, sizeof(buf) - (size_t)n, body, take);
    }
    fill(st, code, http, "", buf, strlen(buf));
    return code;
}
