/* fuzz_watch.c - libFuzzer harness for the watch decoder: any byte stream,
 * cut into chunks of a size chosen by the input, must give exactly the events
 * and the result that feeding it in one piece gives (and never crash, leak or
 * buffer past the max line).
 *
 * Build (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     fuzz/fuzz_watch.c src/kube/watch.c src/kube/status.c $(find src/base -name '*.c') \
 *     $(pkg-config --cflags --libs jansson yaml-0.1 openssl) -o /tmp/fuzz_watch
 *   /tmp/fuzz_watch -max_len=4096 tests/fixtures/kube
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/status.h"
#include "kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int collect(void *ud, enum kube_event_type t, json_t *obj) {
    if (t == KUBE_EVENT_ERROR) {
        struct op_status st = {0};
        int rc = kube_status_from_json(0, obj, &st);
        if (rc > 0)
            abort();
    }
    json_array_append_new((json_t *)ud, json_pack("[sO]", kube_event_type_name(t), obj));
    return 0;
}

static int run(const char *text, size_t len, size_t chunk, size_t max_line, json_t *events) {
    struct watch_decoder d;
    struct op_status st = {0};
    watch_decoder_init(&d, max_line);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = watch_decoder_feed(&d, text + off, n, collect, events, &st);
        if (d.line.len > d.max_line)
            abort();
    }
    if (rc == 0)
        rc = watch_decoder_finish(&d, collect, events, &st);
    if (rc < 0 && !st.msg[0])
        abort();
    watch_decoder_free(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    size_t max_line = (size_t)data[1] * 8 + 16;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    json_t *whole = json_array(), *cut = json_array();
    int rc1 = run(text, len, len ? len : 1, max_line, whole);
    int rc2 = run(text, len, chunk, max_line, cut);
    if (rc1 != rc2 || !json_equal(whole, cut))
        abort();
    json_decref(whole);
    json_decref(cut);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
