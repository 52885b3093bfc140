/* test_model_condition.c - the condition language: valid conditions compile to
 * exact tail_sampling policy JSON, invalid ones report the right column, the
 * printer normalizes, and a model's rules become one ordered policy list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "base/yamljson.h"
#include "model/condition.h"
#include "model/model.h"
#include "testutil.h"

/* JSON written with ' instead of " (the tests never need a literal ') */
static json_t *J(const char *s) {
    char *t = strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *j = json_loads(t, 0, &err);
    if (!j)
        fail_msg("bad expected JSON %s: %s", s, err.text);
    free(t);
    return j;
}

#define MAXI "9223372036854775807"
#define MINI "-9223372036854775808"

struct ok_row {
    const char *cond;
    double rate;
    const char *want;   /* the policies array */
};

static void compiles(void **state) {
    static const struct ok_row rows[] = {
        /* the seed's examples */
        {"http.status_code >= 400", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':400,'max_value':" MAXI "}}]"},
        {"duration > 1s", 1, "[{'name':'r','type':'latency','latency':{'threshold_ms':1000}}]"},
        {"status == ERROR", 1,
         "[{'name':'r','type':'status_code','status_code':{'status_codes':['ERROR']}}]"},
        {"status != OK", 1,
         "[{'name':'r','type':'status_code','status_code':{'status_codes':['ERROR','UNSET']}}]"},
        {"service.name in ['payment-service', 'order-service']", 1,
         "[{'name':'r','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['payment-service','order-service']}}]"},
        {"*", 1, "[{'name':'r','type':'always_sample'}]"},
        {"*", 0.1, "[{'name':'r','type':'probabilistic','probabilistic':{'sampling_percentage':10}}]"},
        {"*", 0.125, "[{'name':'r','type':'probabilistic','probabilistic':{'sampling_percentage':12.5}}]"},
        /* rate < 1 on a condition: and{condition, probabilistic} */
        {"service.name in ['a', 'b']", 0.5,
         "[{'name':'r','type':'and','and':{'and_sub_policy':["
         "{'name':'r-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['a','b']}},"
         "{'name':'r-probabilistic','type':'probabilistic','probabilistic':{'sampling_percentage':50}}]}}]"},
        /* not in: inverted, always inside `and` (a top-level inverted decision would veto) */
        {"service.name not in ['health', 'metrics']", 1,
         "[{'name':'r','type':'and','and':{'and_sub_policy':["
         "{'name':'r-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['health','metrics'],'invert_match':true}}]}}]"},
        {"http.method != 'GET'", 1,
         "[{'name':'r','type':'and','and':{'and_sub_policy':[{'name':'r-string_attribute',"
         "'type':'string_attribute','string_attribute':{'key':'http.method','values':['GET'],"
         "'invert_match':true}}]}}]"},
        /* integer bounds: > and < are exclusive, ints stay ints */
        {"http.status_code > 400", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':401,'max_value':" MAXI "}}]"},
        {"retries < 3", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'retries','min_value':" MINI ",'max_value':2}}]"},
        {"retries <= 3", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'retries','min_value':" MINI ",'max_value':3}}]"},
        {"http.status_code == 503", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':503,'max_value':503}}]"},
        {"http.status_code != 200", 1,
         "[{'name':'r','type':'and','and':{'and_sub_policy':[{'name':'r-numeric_attribute',"
         "'type':'numeric_attribute','numeric_attribute':{'key':'http.status_code',"
         "'min_value':200,'max_value':200,'invert_match':true}}]}}]"},
        {"x == -5", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'x','min_value':-5,'max_value':-5}}]"},
        /* two bounds on one key merge into one range */
        {"http.status_code >= 500 and http.status_code < 600", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':500,'max_value':599}}]"},
        /* a number list: runs become ranges, OR'ed */
        {"http.status_code in [502, 503, 504, 429]", 1,
         "[{'name':'r-1','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':429,'max_value':429}},"
         "{'name':'r-2','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':502,'max_value':504}}]"},
        /* latency ranges: with an upper bound the policy is threshold < d <= upper */
        {"duration >= 1s and duration <= 5s", 1,
         "[{'name':'r','type':'latency','latency':{'threshold_ms':999,'upper_threshold_ms':5000}}]"},
        {"duration < 100ms", 1,
         "[{'name':'r','type':'latency','latency':{'threshold_ms':0,'upper_threshold_ms':99}}]"},
        {"latency > 1.5s", 1, "[{'name':'r','type':'latency','latency':{'threshold_ms':1500}}]"},
        {"not duration > 1s", 1,
         "[{'name':'r','type':'latency','latency':{'threshold_ms':0,'upper_threshold_ms':999}}]"},
        {"duration != 1s", 1,
         "[{'name':'r-1','type':'latency','latency':{'threshold_ms':0,'upper_threshold_ms':999}},"
         "{'name':'r-2','type':'latency','latency':{'threshold_ms':1001}}]"},
        /* or at the top: one policy per branch */
        {"http.status_code >= 400 or duration > 1s", 1,
         "[{'name':'r-1','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':400,'max_value':" MAXI "}},"
         "{'name':'r-2','type':'latency','latency':{'threshold_ms':1000}}]"},
        /* and: sub-policies named after their type */
        {"service.name == 'checkout' and status == ERROR", 0.25,
         "[{'name':'r','type':'and','and':{'and_sub_policy':["
         "{'name':'r-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['checkout']}},"
         "{'name':'r-status_code','type':'status_code','status_code':{'status_codes':['ERROR']}},"
         "{'name':'r-probabilistic','type':'probabilistic','probabilistic':{'sampling_percentage':25}}]}}]"},
        /* and over or distributes */
        {"service.name == 'a' and (status == ERROR or duration > 2s)", 1,
         "[{'name':'r-1','type':'and','and':{'and_sub_policy':["
         "{'name':'r-1-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['a']}},"
         "{'name':'r-1-status_code','type':'status_code','status_code':{'status_codes':['ERROR']}}]}},"
         "{'name':'r-2','type':'and','and':{'and_sub_policy':["
         "{'name':'r-2-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'service.name','values':['a']}},"
         "{'name':'r-2-latency','type':'latency','latency':{'threshold_ms':2000}}]}}]"},
        /* De Morgan */
        {"not (status == ERROR or http.status_code >= 500)", 1,
         "[{'name':'r','type':'and','and':{'and_sub_policy':["
         "{'name':'r-status_code','type':'status_code','status_code':{'status_codes':['OK','UNSET']}},"
         "{'name':'r-numeric_attribute','type':'numeric_attribute','numeric_attribute':"
         "{'key':'http.status_code','min_value':500,'max_value':" MAXI ",'invert_match':true}}]}}]"},
        {"status in [error, unset]", 1,
         "[{'name':'r','type':'status_code','status_code':{'status_codes':['ERROR','UNSET']}}]"},
        {"status.code not in ['ERROR']", 1,
         "[{'name':'r','type':'status_code','status_code':{'status_codes':['OK','UNSET']}}]"},
        {"cache.hit == false", 1,
         "[{'name':'r','type':'boolean_attribute','boolean_attribute':{'key':'cache.hit','value':false}}]"},
        /* string lists intersect / not-in lists unite */
        {"region in ['eu', 'us'] and region in ['us', 'ap']", 1,
         "[{'name':'r','type':'string_attribute','string_attribute':{'key':'region','values':['us']}}]"},
        {"region != 'eu' and region != 'us'", 1,
         "[{'name':'r','type':'and','and':{'and_sub_policy':[{'name':'r-string_attribute',"
         "'type':'string_attribute','string_attribute':{'key':'region','values':['eu','us'],"
         "'invert_match':true}}]}}]"},
        /* `*` absorbs other branches */
        {"status == ERROR or *", 1, "[{'name':'r','type':'always_sample'}]"},
        {"* and duration > 1s", 1, "[{'name':'r','type':'latency','latency':{'threshold_ms':1000}}]"},
        /* keywords are case-insensitive; && and || too */
        {"a == 1 AND b == 'x' || NOT c == 2", 1,
         "[{'name':'r-1','type':'and','and':{'and_sub_policy':["
         "{'name':'r-1-numeric_attribute','type':'numeric_attribute','numeric_attribute':"
         "{'key':'a','min_value':1,'max_value':1}},"
         "{'name':'r-1-string_attribute','type':'string_attribute','string_attribute':"
         "{'key':'b','values':['x']}}]}},"
         "{'name':'r-2','type':'and','and':{'and_sub_policy':[{'name':'r-2-numeric_attribute',"
         "'type':'numeric_attribute','numeric_attribute':{'key':'c','min_value':2,'max_value':2,"
         "'invert_match':true}}]}}]"},
        {"name == \"it's\"", 1,
         "[{'name':'r','type':'string_attribute','string_attribute':{'key':'name','values':['it\\u0027s']}}]"},
        {"x == 400.0", 1,
         "[{'name':'r','type':'numeric_attribute','numeric_attribute':{'key':'x','min_value':400,'max_value':400}}]"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct diag d;
        diag_init(&d);
        struct cond *c = cond_parse(rows[i].cond, "w", &d);
        if (!c)
            fail_msg("row %zu: %s: %s", i, rows[i].cond, d.len ? d.items[0].msg : "?");
        json_t *got = json_array();
        int rc = cond_to_policies(c, "r", rows[i].rate, got, "w", &d);
        if (rc != 0)
            fail_msg("row %zu: %s: %s", i, rows[i].cond, d.len ? d.items[0].msg : "?");
        json_t *want = J(rows[i].want);
        char what[256];
        snprintf(what, sizeof(what), "row %zu: %s (rate %g)", i, rows[i].cond, rows[i].rate);
        tu_assert_json_equal(want, got, what);
        /* ints stay ints */
        json_decref(want);
        json_decref(got);
        cond_free(c);
        assert_int_equal(d.len, 0);
        diag_done(&d);
    }
}

struct bad_row {
    const char *cond;
    const char *msg;    /* expected message prefix, "column N: ..." */
};

static void rejects(void **state) {
    static const struct bad_row rows[] = {
        /* parse errors */
        {"http.status_code >=", "column 18: expected a value after '>='"},
        {"http.status_code >= ", "column 18: expected a value after '>='"},
        {"http.status_code >= )", "column 21: expected a value after '>=', found ')'"},
        {"", "column 1: empty condition"},
        {"   ", "column 1: empty condition"},
        {"a == 1 b == 2", "column 8: unexpected 'b'; expected 'and', 'or' or the end"},
        {"(a == 1", "column 1: the '(' here is not closed with ')'"},
        {"(a == 1 b", "column 9: expected ')' to close the '(' at column 1, found 'b'"},
        {"a = 1", "column 3: unexpected '='; compare with '=='"},
        {"!(a == 1)", "column 1: unexpected '!'; negate with 'not'"},
        {"a == 1 & b == 2", "column 8: unexpected '&'"},
        {"a == 1 and", "column 8: expected a condition after 'and'"},
        {"a == 1 or or b == 2", "column 11: expected a condition (such as duration > 1s, or *), found 'or'"},
        {"a", "column 1: expected an operator (==, !=, >, >=, <, <=, in, not in) after 'a', found the end"},
        {"a ~ 1", "column 3: unexpected '~'"},
        {"x not y", "column 3: expected 'in' after 'not'"},
        {"x in", "column 3: expected a list such as ['a', 'b'] after 'in'"},
        {"x in []", "column 7: empty list"},
        {"x in ['a' 'b']", "column 11: expected ',' or ']' in the list, found the string 'b'"},
        {"x in ['a',", "column 6: the '[' here is not closed with ']'"},
        {"name == 'abc", "column 9: unterminated string"},
        {"x > 10GB", "column 5: '10GB' is neither a number nor a duration"},
        {"x > 1.2.3", "column 5: '1.2.3' is not a number"},
        {"é == 1", "column 1: unexpected non-ASCII character"},
        {"a == 'é' and b ==", "column 16: expected a value after '=='"},
        {"((((((((((((((((((((((((((((((((((a == 1))))))))))))))))))))))))))))))))))",
         "column 33: nested too deeply"},
        /* compile errors */
        {"service.name not in common_services",
         "column 21: list 'common_services' is not defined; write the values inline: "
         "service.name not in ['value1', 'value2']"},
        {"duration > 500", "column 12: 'duration' is compared with a duration such as 500ms or 1s, got '500'"},
        {"duration in [1s, 2s]", "column 1: 'in' does not apply to 'duration'"},
        {"status > OK", "column 1: 'status' is compared with == or !="},
        {"status == FINE", "column 11: 'status' is one of OK, ERROR, UNSET, got 'FINE'"},
        {"cache_miss_rate > 0.5", "column 19: the collector compares numeric attributes as integers"},
        {"x > 99999999999999999999", "column 5: '99999999999999999999' is out of range"},
        {"x == 1s", "column 6: '1s' is a duration; only 'duration' is compared with durations"},
        {"name > 'abc'", "column 8: '>' compares numbers, but 'abc' is a string"},
        {"x in [1, 'a']", "column 7: the list mixes numbers and strings"},
        {"not *", "column 1: the condition can never match a trace"},
        {"x > 5 and x < 3", "column 1: the condition can never match a trace"},
        {"duration <= 0", "column 1: the condition can never match a trace"},
        {"(a == 1 or b == 1) and (c == 1 or d == 1) and (e == 1 or f == 1) and (g == 1 or h == 1) "
         "and (i == 1 or j == 1) and (k == 1 or l == 1)",
         "the condition expands into more than 32 policies"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct diag d;
        diag_init(&d);
        struct cond *c = cond_parse(rows[i].cond, "spec.sampling.rules[0].condition", &d);
        json_t *pol = json_array();
        if (c) {
            assert_int_equal(cond_to_policies(c, "r", 1.0, pol, "spec.sampling.rules[0].condition", &d),
                             OP_EINVALID);
            assert_int_equal(json_array_size(pol), 0);
        }
        if (d.errors != 1 || d.len != 1 || strcmp(d.items[0].where, "spec.sampling.rules[0].condition") ||
            !strstr(d.items[0].msg, rows[i].msg)) {
            print_message("row %zu: %s\n  want: %s\n", i, rows[i].cond, rows[i].msg);
            for (size_t k = 0; k < d.len; k++)
                print_message("  got:  %s: %s\n", d.items[k].where, d.items[k].msg);
            fail();
        }
        json_decref(pol);
        cond_free(c);
        diag_done(&d);
    }
}

static void bad_arguments(void **state) {
    struct diag d;
    diag_init(&d);
    struct cond *c = cond_parse("*", "w", &d);
    json_t *pol = json_array();
    assert_int_equal(cond_to_policies(c, "r", 1.5, pol, "w", &d), OP_EINVALID);
    assert_int_equal(cond_to_policies(c, "r", -0.1, pol, "w", &d), OP_EINVALID);
    assert_int_equal(cond_to_policies(NULL, "r", 1, pol, "w", &d), OP_EINVALID);
    assert_int_equal(cond_to_policies(c, "r", 1, NULL, "w", &d), OP_EINVALID);
    assert_int_equal(json_array_size(pol), 0);
    assert_int_equal(d.errors, 4);
    /* no name: "policy" */
    assert_int_equal(cond_to_policies(c, NULL, 1, pol, "w", &d), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 0), "name")), "policy");
    /* a NULL diag is allowed */
    assert_null(cond_parse("a ==", "w", NULL));
    assert_null(cond_parse(NULL, "w", NULL));
    /* too long */
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    assert_null(cond_parse(big, "w", &d));
    assert_non_null(strstr(d.items[d.len - 1].msg, "condition too long"));
    free(big);
    cond_free(c);
    cond_free(NULL);
    json_decref(pol);
    diag_done(&d);
}

static void prints(void **state) {
    static const struct { const char *in, *out; } rows[] = {
        {"a==1&&b!='x'", "a == 1 and b != 'x'"},
        {"(a == 1 OR b == 2) and c >= 3", "(a == 1 or b == 2) and c >= 3"},
        {"a == 1 or (b == 2 and c == 3)", "a == 1 or b == 2 and c == 3"},
        {"NOT (a == 1 or b == 2)", "not (a == 1 or b == 2)"},
        {"not not a == 1", "not not a == 1"},
        {"x NOT IN [\"a\", 'b',]", "x not in ['a', 'b']"},
        {"x in some_list", "x in some_list"},
        {"duration > 1h30m", "duration > 1h30m"},
        {"name == 'it\\'s'", "name == 'it\\'s'"},
        {"  *  ", "*"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cond *c = cond_parse(rows[i].in, "w", NULL);
        assert_non_null(c);
        char *s = cond_to_string(c);
        assert_string_equal(s, rows[i].out);
        /* the printed form parses back to the same text */
        struct cond *c2 = cond_parse(s, "w", NULL);
        assert_non_null(c2);
        char *s2 = cond_to_string(c2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
        cond_free(c);
        cond_free(c2);
    }
}

/* A model's rules, ordered by priority, then its tail policies. */
static void model_policies(void **state) {
    json_t *doc = tu_load("tests/fixtures/model/full.yaml");
    struct diag d;
    diag_init(&d);
    json_t *m = tm_load(doc, 1, &d);
    assert_non_null(m);
    json_t *pol = json_array();
    assert_int_equal(tm_tail_policies(m, pol, &d), 0);
    assert_int_equal(d.len, 0);
    struct strbuf b;
    strbuf_init(&b, 0);
    assert_int_equal(yaml_dump(pol, &b), 0);
    tu_assert_golden(b.buf, "tests/golden/model/full-policies.yaml");
    strbuf_free(&b);

    /* priorities reorder rules; rules without one go last in their order */
    json_t *rules = json_object_get(json_object_get(json_object_get(m, "spec"), "sampling"), "rules");
    json_array_clear(rules);
    json_array_append_new(rules, json_pack("{s:s, s:s}", "name", "late", "condition", "*"));
    json_array_append_new(rules, json_pack("{s:s, s:s, s:i}", "name", "second", "condition", "*",
                                           "priority", 5));
    json_array_append_new(rules, json_pack("{s:s, s:s, s:i}", "name", "first", "condition", "*",
                                           "priority", -1));
    json_array_clear(pol);
    assert_int_equal(tm_tail_policies(m, pol, &d), 0);
    const char *order[] = {"first", "second", "late", "error_traces"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(pol, i), "name")),
                            order[i]);

    /* a broken rule: an error at its path, the others still compile */
    json_array_append_new(rules, json_pack("{s:s, s:s}", "name", "bad", "condition", "x in y"));
    json_array_clear(pol);
    assert_int_equal(tm_tail_policies(m, pol, &d), OP_EINVALID);
    assert_string_equal(d.items[d.len - 1].where, "spec.sampling.rules[3].condition");
    assert_int_equal(json_array_size(pol), 6);
    json_decref(pol);
    json_decref(m);
    json_decref(doc);
    diag_done(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compiles),
        cmocka_unit_test(rejects),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(prints),
        cmocka_unit_test(model_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
