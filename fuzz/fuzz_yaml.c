/* fuzz_yaml.c - libFuzzer harness for base/yamljson: any bytes given to
 * yaml_load_all() must give documents or an error with a message (never a
 * crash, hang or leak), and whatever loads must survive a round trip:
 * yaml_dump_all() succeeds and its output loads back equal (json_equal), and
 * dumping that again gives the same text (the writer is deterministic).
 *
 * Built by fuzz/CMakeLists.txt (cmake -DOP_FUZZ=ON with clang; scripts/fuzz.sh):
 *   build-fuzz/fuzz/fuzz_yaml -max_len=4096 fuzz/corpus/fuzz_yaml
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *a, const char *b) {
    fprintf(stderr, "fuzz_yaml: %s\n--- first:\n%s\n--- second:\n%s\n", what, a ? a : "",
            b ? b : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct op_status st = {0};
    json_t *docs = yaml_load_all((const char *)data, size, &st);
    if (!docs) {
        if (st.code >= 0 || !st.msg[0])
            fail("load failed without an error code and message", st.msg, NULL);
        return 0;
    }
    if (!json_is_array(docs))
        fail("yaml_load_all did not return an array", NULL, NULL);

    struct strbuf out1, out2;
    strbuf_init(&out1, 0);
    strbuf_init(&out2, 0);
    if (yaml_dump_all(docs, &out1) < 0) {
        char *j = json_dumps(docs, JSON_ENCODE_ANY | JSON_COMPACT);
        fail("yaml_dump_all failed on loaded documents", j, NULL);
    }
    struct op_status st2 = {0};
    json_t *again = yaml_load_all(out1.buf ? out1.buf : "", out1.len, &st2);
    if (!again)
        fail("dumped YAML does not load back", out1.buf, st2.msg);
    if (!json_equal(docs, again)) {
        char *a = json_dumps(docs, JSON_ENCODE_ANY | JSON_COMPACT);
        char *b = json_dumps(again, JSON_ENCODE_ANY | JSON_COMPACT);
        fprintf(stderr, "dumped YAML:\n%s\n", out1.buf ? out1.buf : "");
        fail("round trip changed the documents", a, b);
    }
    if (yaml_dump_all(again, &out2) < 0 || out1.len != out2.len ||
        (out1.len && memcmp(out1.buf, out2.buf, out1.len) != 0))
        fail("dumping the same documents twice gave different text", out1.buf, out2.buf);

    strbuf_free(&out1);
    strbuf_free(&out2);
    json_decref(again);
    json_decref(docs);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
