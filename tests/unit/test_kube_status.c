/* test_kube_status.c - the HTTP status / Status reason -> OP_E* table and
 * decoding of Status bodies (reason and message kept for logs and Events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kube/status.h"
#include "testutil.h"

static void table(void **state) {
    static const struct {
        int http;
        const char *reason;
        int code;
    } rows[] = {
        {200, NULL, 0},
        {201, NULL, 0},
        {204, NULL, 0},
        {404, "NotFound", OP_ENOTFOUND},
        {409, "Conflict", OP_ECONFLICT},
        {409, "AlreadyExists", OP_EALREADY},
        {410, "Expired", OP_EGONE},
        {410, NULL, OP_EGONE},
        {422, "Invalid", OP_EINVALID},
        {400, "BadRequest", OP_EINVALID},
        {403, "Forbidden", OP_EFORBIDDEN},
        {401, "Unauthorized", OP_EUNAUTHORIZED},
        {429, "TooManyRequests", OP_ETHROTTLED},
        {504, "Timeout", OP_ETIMEOUT},
        {500, "ServerTimeout", OP_ETIMEOUT},
        {500, "InternalError", OP_ESERVER},
        {502, NULL, OP_ESERVER},
        {503, "ServiceUnavailable", OP_ESERVER},
        {413, "RequestEntityTooLarge", OP_ETOOBIG},
        {415, "UnsupportedMediaType", OP_EUNSUPPORTED},
        {405, "MethodNotAllowed", OP_EUNSUPPORTED},
        {412, NULL, OP_ECONFLICT},
        {418, NULL, OP_EINVALID},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = kube_status_code(rows[i].http, rows[i].reason);
        if (got != rows[i].code)
            fail_msg("%d %s: got %s, want %s", rows[i].http, rows[i].reason ? rows[i].reason : "-",
                     op_errname(got), op_errname(rows[i].code));
    }
}

static void decode_status_body(void **state) {
    const char *body =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"configmaps \\\"m-collector\\\" already exists\",\"reason\":\"AlreadyExists\","
        "\"details\":{\"name\":\"m-collector\",\"kind\":\"configmaps\"},\"code\":409}";
    struct op_status st = {0};
    assert_int_equal(kube_status_decode(409, body, strlen(body), &st), OP_EALREADY);
    assert_int_equal(st.code, OP_EALREADY);
    assert_int_equal(st.http, 409);
    assert_string_equal(st.reason, "AlreadyExists");
    assert_string_equal(st.msg, "configmaps \"m-collector\" already exists");

    const char *nf = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\","
                     "\"message\":\"tracingmodels.tracemodel.dev \\\"m\\\" not found\",\"code\":404}";
    assert_int_equal(kube_status_decode(404, nf, strlen(nf), &st), OP_ENOTFOUND);
    assert_string_equal(st.reason, "NotFound");
    assert_non_null(strstr(st.msg, "not found"));

    /* success leaves st alone */
    struct op_status untouched = {.code = 7};
    assert_int_equal(kube_status_decode(200, "{}", 2, &untouched), 0);
    assert_int_equal(untouched.code, 7);
}

static void decode_non_status_body(void **state) {
    struct op_status st = {0};
    const char *html = "<html>\r\n<body>502 Bad Gateway</body></html>";
    assert_int_equal(kube_status_decode(502, html, strlen(html), &st), OP_ESERVER);
    assert_int_equal(st.http, 502);
    assert_string_equal(st.reason, "");
    assert_string_equal(st.msg, "HTTP 502: <html>  <body>502 Bad Gateway</body></html>");

    assert_int_equal(kube_status_decode(429, NULL, 0, &st), OP_ETHROTTLED);
    assert_string_equal(st.msg, "HTTP 429");

    /* a huge body is cut, not copied whole */
    char big[4000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(kube_status_decode(500, big, sizeof(big), &st), OP_ESERVER);
    assert_true(strlen(st.msg) < 260);

    /* JSON that is not a Status */
    assert_int_equal(kube_status_decode(403, "{\"kind\":\"Pod\"}", 14, &st), OP_EFORBIDDEN);
    assert_non_null(strstr(st.msg, "HTTP 403"));
}

static void status_from_watch_error(void **state) {
    json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure",
                          "message", "too old resource version: 1 (2000)", "reason", "Expired",
                          "code", 410);
    struct op_status st = {0};
    assert_int_equal(kube_status_from_json(0, s, &st), OP_EGONE);
    assert_int_equal(st.http, 410);
    assert_string_equal(st.reason, "Expired");
    assert_string_equal(st.msg, "too old resource version: 1 (2000)");
    json_decref(s);

    /* no code, no reason, only "Failure": still an error */
    s = json_pack("{s:s, s:s}", "kind", "Status", "status", "Failure");
    assert_int_equal(kube_status_from_json(200, s, &st), OP_ESERVER);
    json_decref(s);

    /* NULL st is allowed */
    s = json_pack("{s:i}", "code", 404);
    assert_int_equal(kube_status_from_json(0, s, NULL), OP_ENOTFOUND);
    json_decref(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(decode_status_body),
        cmocka_unit_test(decode_non_status_body),
        cmocka_unit_test(status_from_watch_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
