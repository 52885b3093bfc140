/* fuzz_kubeconfig.c - libFuzzer harness for kube_config_parse(): arbitrary
 * bytes must give either a complete config or an error with a message, never
 * a crash, a leak or a half-filled config.
 *
 * Build (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     fuzz/fuzz_kubeconfig.c src/kube/config.c $(find src/base -name '*.c') \
 *     $(pkg-config --cflags --libs jansson yaml-0.1 openssl) -o /tmp/fuzz_kubeconfig
 *   /tmp/fuzz_kubeconfig -max_len=8192 tests/fixtures/kube
 * Without libFuzzer, add -DFUZZ_STANDALONE to run it over files given as arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const struct kube_config *cfg, const struct op_status *st) {
    if (rc == 0) {
        if (!cfg->server || strncmp(cfg->server, "http", 4) || !cfg->ns || !*cfg->ns ||
            !cfg->context || !cfg->origin)
            abort();
        if ((cfg->cert_file || cfg->cert_pem) != (cfg->key_file || cfg->key_pem))
            abort();
    } else {
        if (rc >= 0 || !st->msg[0] || cfg->server || cfg->token || cfg->key_pem)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kube_config cfg;
    struct op_status st = {0};
    kube_config_init(&cfg);
    int rc = kube_config_parse((const char *)data, size, "/fuzz/dir/config", NULL, &cfg, &st);
    check(rc, &cfg, &st);
    /* a --context override goes through the other lookup path */
    memset(&st, 0, sizeof(st));
    rc = kube_config_parse((const char *)data, size, "relative-config", "prod", &cfg, &st);
    check(rc, &cfg, &st);
    kube_config_free(&cfg);
    return 0;
}

#include "standalone.h" /* main() for builds without libFuzzer */
