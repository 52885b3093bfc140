/* bench/render/main.c - how many TracingModels render_model() turns into manifests per
 * second on one core, and the peak RSS while doing it. Not a test.
 *
 *   bench_render [-n ITERATIONS] [-f MODEL.yaml] [--yaml]
 *
 * Loads and defaults the model once (tm_load), then renders it ITERATIONS times
 * (default 20000), freeing each result. With --yaml each iteration also serializes
 * the manifests to multi-document YAML, as `tracing-operator render` does. Prints one
 * JSON line; the rate is per CPU second (the loop is single-threaded), wall time beside. Run it
 * from the source directory (the default model is examples/microservices-tempo-istio.yaml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/diag.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "render/render.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct strbuf b;
    strbuf_init(&b, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strbuf_append(&b, chunk, n);
    fclose(f);
    return strbuf_detach(&b, len);
}

static double now_s(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_render [-n ITERATIONS] [-f MODEL.yaml] [--yaml]\n");
}

int main(int argc, char **argv) {
    const char *file = "examples/microservices-tempo-istio.yaml";
    long iterations = 20000;
    int with_yaml = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            iterations = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "--yaml")) {
            with_yaml = 1;
        } else {
            usage();
            return 2;
        }
    }
    if (iterations < 1) {
        usage();
        return 2;
    }
    xalloc_init();
    size_t len;
    char *text = read_file(file, &len);
    if (!text) {
        fprintf(stderr, "bench_render: cannot read %s\n", file);
        return 2;
    }
    struct op_status st = {0};
    json_t *doc = yaml_load_one(text, len, &st);
    free(text);
    if (!doc) {
        fprintf(stderr, "bench_render: %s: %s\n", file, st.msg);
        return 2;
    }
    struct diag d;
    diag_init(&d);
    json_t *model = tm_load(doc, 0, &d);
    json_decref(doc);
    if (!model) {
        fprintf(stderr, "bench_render: %s does not validate\n", file);
        return 1;
    }
    size_t objects = 0, bytes = 0;
    struct strbuf out;
    strbuf_init(&out, 0);
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < iterations; i++) {
        struct render_result r;
        if (render_model(model, &r, &d) != 0) {
            fprintf(stderr, "bench_render: render failed\n");
            return 1;
        }
        objects = json_array_size(r.manifests);
        if (with_yaml) {
            strbuf_reset(&out);
            yaml_dump_all(r.manifests, &out);
            bytes = out.len;
        }
        render_result_done(&r);
    }
    double secs = now_s(CLOCK_MONOTONIC) - t0;
    double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* models_per_sec is per CPU second of this single-threaded process, so other load
     * on the machine does not skew it; wall_seconds is reported beside it */
    printf("{\"bench\":\"render\",\"model\":\"%s\",\"iterations\":%ld,\"yaml\":%s,"
           "\"cpu_seconds\":%.3f,\"wall_seconds\":%.3f,\"models_per_sec\":%.0f,"
           "\"us_per_model\":%.1f,\"objects_per_model\":%zu,\"yaml_bytes\":%zu,"
           "\"peak_rss_kb\":%ld}\n",
           file, iterations, with_yaml ? "true" : "false", cpu, secs, (double)iterations / cpu,
           cpu * 1e6 / (double)iterations, objects, bytes, ru.ru_maxrss);
    strbuf_free(&out);
    json_decref(model);
    diag_done(&d);
    return 0;
}
