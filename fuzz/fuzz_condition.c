/* fuzz_condition.c - libFuzzer harness for the sampling-rule condition
 * language (model/condition.h). The first input byte picks the rule's rate,
 * the rest is the condition text. Never a crash, hang or leak, and:
 *   - cond_parse() gives a condition, or NULL with exactly one diagnostic
 *     that names a column;
 *   - cond_to_policies() either appends 1..32 policies, each with a name and a
 *     type, or appends nothing and reports one diagnostic (naming a column,
 *     unless the rate is out of range);
 *   - the printed text (cond_to_string) parses again, prints to the same text,
 *     and compiles to the same policies (printing loses nothing).
 *
 * Built by fuzz/CMakeLists.txt (cmake -DOP_FUZZ=ON with clang; scripts/fuzz.sh):
 *   build-fuzz/fuzz/fuzz_condition -max_len=1024 fuzz/corpus/fuzz_condition
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "model/condition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHERE "spec.sampling.rules[0].condition"
#define MAX_TEXT 4096   /* condition.h: "Limits: 4096 bytes of text" */

static const double rates[] = {1.0, 0.5, 0.1, 0.0, 0.125, 0.999, 1.5, -0.25};

static void fail(const char *what, const char *text, const char *printed,
                 const struct diag *d) {
    fprintf(stderr, "fuzz_condition: %s\n  text:    [%s]\n  printed: [%s]\n", what,
            text ? text : "", printed ? printed : "");
    for (size_t i = 0; d && i < d->len; i++)
        fprintf(stderr, "  %s: %s\n", d->items[i].where, d->items[i].msg);
    abort();
}

/* Compiles c; returns the policies array (new ref), or NULL when it failed. */
static json_t *compile(const struct cond *c, double rate, const char *text) {
    struct diag d;
    diag_init(&d);
    json_t *pol = json_array();
    int rc = cond_to_policies(c, "r", rate, pol, WHERE, &d);
    if (rc < 0) {
        if (json_array_size(pol) != 0)
            fail("failed compilation appended policies", text, NULL, &d);
        /* a bad rate has no column; every other compile error names one */
        int bad_rate = !(rate >= 0 && rate <= 1);
        if (d.errors != 1 || !d.items || strcmp(d.items[0].where, WHERE) != 0 ||
            (!bad_rate && strncmp(d.items[0].msg, "column ", 7) != 0))
            fail("failed compilation without one located diagnostic", text, NULL, &d);
        json_decref(pol);
        pol = NULL;
    } else {
        if (rc != 0 || d.len != 0)
            fail("successful compilation returned non-zero or diagnostics", text, NULL, &d);
        size_t n = json_array_size(pol);
        if (n < 1 || n > 32)
            fail("policy count outside 1..32", text, NULL, &d);
        size_t i;
        json_t *p;
        json_array_foreach(pol, i, p) {
            if (!json_is_string(json_object_get(p, "name")) ||
                !json_is_string(json_object_get(p, "type")))
                fail("policy without name or type", text, NULL, &d);
        }
    }
    diag_done(&d);
    return pol;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    double rate = rates[data[0] % (sizeof(rates) / sizeof(rates[0]))];
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    struct diag d;
    diag_init(&d);
    struct cond *c = cond_parse(text, WHERE, &d);
    if (!c) {
        if (d.errors != 1 || strcmp(d.items[0].where, WHERE) != 0 ||
            strncmp(d.items[0].msg, "column ", 7) != 0)
            fail("parse error without one located diagnostic", text, NULL, &d);
        diag_done(&d);
        free(text);
        return 0;
    }
    if (d.len != 0)
        fail("successful parse left diagnostics", text, NULL, &d);
    diag_done(&d);

    json_t *pol = compile(c, rate, text);
    char *printed = cond_to_string(c);
    if (!printed || !printed[0])
        fail("empty printed condition", text, printed, NULL);

    if (strlen(printed) <= MAX_TEXT) {
        diag_init(&d);
        struct cond *c2 = cond_parse(printed, WHERE, &d);
        if (!c2)
            fail("printed condition does not parse", text, printed, &d);
        diag_done(&d);
        char *printed2 = cond_to_string(c2);
        if (strcmp(printed, printed2) != 0)
            fail("printed condition prints differently after a re-parse", printed, printed2,
                 NULL);
        json_t *pol2 = compile(c2, rate, printed);
        if ((pol == NULL) != (pol2 == NULL) || (pol && !json_equal(pol, pol2)))
            fail("printed condition compiles differently", text, printed, NULL);
        json_decref(pol2);
        free(printed2);
        cond_free(c2);
    }
    json_decref(pol);
    free(printed);
    cond_free(c);
    free(text);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
