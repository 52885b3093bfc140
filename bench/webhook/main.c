/* bench/webhook/main.c - the admission webhook under load: a standalone server
 * process and a paced load generator (run.sh and soak.sh drive both; see
 * docs/bench-webhook.md for the method and the figures).
 *
 *   bench_webhook serve [--bind 127.0.0.1] [--port 0] [--certs-dir DIR]
 *                       [--model examples/minimal-otlp.yaml] [--threads 2]
 *       webhook_server_start() with webhook_admission_handler over an in-memory
 *       cluster: Namespace "shop" annotated tracemodel.dev/inject-java: "true",
 *       Instrumentation shop/default following TracingModel shop/checkout (the
 *       model file, checked with tm_load), so /mutate-v1-pod does a real Java
 *       injection. The serving pair comes from DIR/tls.crt + DIR/tls.key when
 *       both exist, else a CA and a serving certificate for 127.0.0.1/localhost
 *       are generated (certs.h) and written to DIR (ca.crt, tls.crt, tls.key) so
 *       a baseline server can use the same pair. Prints one JSON line
 *       {"event":"listening","port":..,"pid":..,...}, serves until SIGTERM or
 *       SIGINT, then prints {"event":"exit","peak_rss_kib":..,...}.
 *
 *   bench_webhook client --url URL --body FILE [--bad-body FILE --bad-percent 10]
 *                        [--rate 1000] [--duration 60] [--threads 4] [--cacert FILE]
 *                        [--check admission|status] [--interval 10] [--warmup 0]
 *       Open-loop paced POSTs over TLS keep-alive (libcurl, one connection per
 *       thread, HTTP/1.1). Request n is due at t0 + n/rate; latency is measured
 *       from the due time ("corrected", no coordinated omission) and from the
 *       actual send ("service"). Each valid request gets its own request.uid;
 *       with --check admission a valid answer must be HTTP 200 with that uid,
 *       allowed=true and a non-empty JSONPatch, a malformed one HTTP 200 and
 *       allowed=true (the pod webhook never blocks). --check status only wants
 *       HTTP 200 (a static baseline). Prints one JSON summary on stdout with
 *       overall percentiles and one entry per --interval seconds. Exit 1 when a
 *       valid request failed.
 *
 *   bench_webhook inproc --body FILE [--iterations 20000] [--model FILE] [--print]
 *       admission_handle() in a loop without the server (same cluster), next to
 *       a plain json_loadb + json_dumps of the body: the cost of one answer.
 *       --print writes one answer verbatim instead (to compare versions). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/err.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"
#include "model/model.h"
#include "webhook/admission.h"
#include "webhook/certs.h"
#include "webhook/server.h"

#define BENCH_NS "shop"
#define BENCH_INST "default"
#define MAX_FILE (16u * 1024 * 1024)
#define UID_LEN 36

/* ======================= shared helpers ======================= */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of the calling thread (what it cost, whatever the machine's load). */
static int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The whole file, NUL-terminated, or NULL (message on stderr). */
static char *read_file(const char *path, size_t *ret_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_webhook: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct strbuf b;
    strbuf_init(&b, MAX_FILE);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = strbuf_append(&b, chunk, n);
    int err = ferror(f);
    fclose(f);
    if (rc || err) {
        fprintf(stderr, "bench_webhook: cannot read %s\n", path);
        strbuf_free(&b);
        return NULL;
    }
    if (!b.buf)
        strbuf_append(&b, "", 0);
    return strbuf_detach(&b, ret_len);
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode) {
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f) {
        size_t len = strlen(text);
        rc = fwrite(text, 1, len, f) == len ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
        chmod(path, mode);
    }
    if (rc)
        fprintf(stderr, "bench_webhook: cannot write %s: %s\n", path, strerror(errno));
    free(path);
    return rc;
}

/* A "Vm...:" line of /proc/self/status in KiB, or -1. */
static long proc_status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static const char *arg_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_webhook: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return argv[++*i];
}

/* ======================= serve ======================= */

struct cluster {
    json_t *ns;        /* the Namespace */
    json_t *inst;      /* the Instrumentation */
    json_t *model;     /* the TracingModel (tm_load'ed) */
    struct admission_cache *cache;   /* defaulted models between requests */
    atomic_ulong requests;
    atomic_ulong decisions[MUTATE_ERROR + 1];
    atomic_ulong invalid;          /* admission_handle said OP_EINVALID-ish: not allowed */
    atomic_ullong handle_us_total;
    atomic_ullong handle_us_max;
};

static json_t *cl_namespace(void *user, const char *name) {
    struct cluster *c = user;
    return strcmp(name, BENCH_NS) == 0 ? json_incref(c->ns) : NULL;
}

static json_t *cl_instrumentations(void *user, const char *ns, int *failed) {
    struct cluster *c = user;
    (void)failed;
    json_t *a = json_array();
    if (strcmp(ns, BENCH_NS) == 0)
        json_array_append(a, c->inst);
    return a;
}

static json_t *cl_model(void *user, const char *ns, const char *name) {
    struct cluster *c = user;
    const char *mname = json_string_value(
        json_object_get(json_object_get(c->model, "metadata"), "name"));
    if (strcmp(ns, BENCH_NS) != 0 || !mname || strcmp(name, mname) != 0)
        return NULL;
    return json_incref(c->model);
}

static void cl_observe(void *ud, const char *path, const struct admission_result *r,
                       int64_t duration_us) {
    struct cluster *c = ud;
    (void)path;
    atomic_fetch_add(&c->requests, 1);
    if ((unsigned)r->decision <= MUTATE_ERROR)
        atomic_fetch_add(&c->decisions[r->decision], 1);
    if (!r->allowed)
        atomic_fetch_add(&c->invalid, 1);
    unsigned long long us = duration_us > 0 ? (unsigned long long)duration_us : 0;
    atomic_fetch_add(&c->handle_us_total, us);
    unsigned long long prev = atomic_load(&c->handle_us_max);
    while (us > prev && !atomic_compare_exchange_weak(&c->handle_us_max, &prev, us)) {
    }
}

/* Loads the TracingModel file into namespace shop; 0 or -1 (diagnostics printed). */
static int cluster_init(struct cluster *c, const char *model_path) {
    memset(c, 0, sizeof(*c));
    size_t len = 0;
    char *text = read_file(model_path, &len);
    if (!text)
        return -1;
    struct op_status st = {0};
    json_t *raw = yaml_load_one(text, len, &st);
    free(text);
    if (!raw) {
        fprintf(stderr, "bench_webhook: %s: %s\n", model_path, st.msg);
        return -1;
    }
    json_t *md = json_object_get(raw, "metadata");
    if (json_is_object(md))
        json_object_set_new(md, "namespace", json_string(BENCH_NS));
    struct diag d;
    diag_init(&d);
    c->model = tm_load(raw, 0, &d);
    json_decref(raw);
    for (size_t i = 0; i < d.len; i++) {
        char *s = diag_item_format(&d.items[i]);
        fprintf(stderr, "bench_webhook: %s: %s\n", model_path, s);
        free(s);
    }
    diag_done(&d);
    if (!c->model)
        return -1;
    const char *mname = json_string_value(
        json_object_get(json_object_get(c->model, "metadata"), "name"));
    c->ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                      "metadata", "name", BENCH_NS, "annotations",
                      "tracemodel.dev/inject-java", "true");
    c->inst = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}}", "apiVersion",
                        "tracemodel.dev/v1alpha1", "kind", "Instrumentation", "metadata",
                        "name", BENCH_INST, "namespace", BENCH_NS, "uid",
                        "0b5e8a52-6c1f-4d8e-9f3a-2a7c4e1d9b60", "resourceVersion", "1002",
                        "spec", "tracingModel", mname ? mname : "");
    /* as an informer cache holds them: with a uid and a resourceVersion */
    json_t *mmd = json_object_get(c->model, "metadata");
    json_object_set_new(mmd, "uid", json_string("7d2c4b1a-3e5f-4a6b-8c9d-0e1f2a3b4c5d"));
    json_object_set_new(mmd, "resourceVersion", json_string("1001"));
    c->cache = admission_cache_new();
    return 0;
}

static void cluster_done(struct cluster *c) {
    json_decref(c->ns);
    json_decref(c->inst);
    json_decref(c->model);
    admission_cache_free(c->cache);
}

/* The serving pair: loaded from dir, or generated (and written to dir). */
static int certs_obtain(const char *dir, char **cert, char **key) {
    char *cpath = xasprintf("%s/tls.crt", dir), *kpath = xasprintf("%s/tls.key", dir);
    int have = access(cpath, R_OK) == 0 && access(kpath, R_OK) == 0;
    int rc = -1;
    if (have) {
        *cert = read_file(cpath, NULL);
        *key = read_file(kpath, NULL);
        rc = *cert && *key ? 0 : -1;
        goto out;
    }
    struct op_status st = {0};
    char *ca = NULL, *ca_key = NULL;
    time_t now = time(NULL);
    static const char *const hosts[] = {"127.0.0.1", "localhost"};
    if (certs_gen_ca("bench-webhook-ca", now, CERTS_CA_VALIDITY_S, &ca, &ca_key, &st) ||
        certs_gen_serving(ca, ca_key, hosts, 2, now, CERTS_CERT_VALIDITY_S, cert, key, &st)) {
        fprintf(stderr, "bench_webhook: certificate generation failed: %s\n", st.msg);
    } else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_webhook: cannot create %s: %s\n", dir, strerror(errno));
    } else if (write_file(dir, "ca.crt", ca, 0644) == 0 &&
               write_file(dir, "tls.crt", *cert, 0644) == 0 &&
               write_file(dir, "tls.key", *key, 0600) == 0) {
        rc = 0;
    }
    free(ca);
    free(ca_key);
out:
    free(cpath);
    free(kpath);
    return rc;
}

static int cmd_serve(int argc, char **argv) {
    const char *bind_host = "127.0.0.1", *port = "0", *dir = NULL;
    const char *model = "examples/minimal-otlp.yaml";
    unsigned threads = WEBHOOK_DEFAULT_THREADS;   /* the operator's default */
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--bind"))
            bind_host = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--port"))
            port = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--certs-dir"))
            dir = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--model"))
            model = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--threads"))
            threads = (unsigned)atoi(arg_value(argc, argv, &i));
        else {
            fprintf(stderr, "bench_webhook serve: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "bench_webhook serve: --certs-dir is required\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    struct cluster c;
    if (cluster_init(&c, model))
        return 1;
    char *cert = NULL, *key = NULL;
    if (certs_obtain(dir, &cert, &key)) {
        cluster_done(&c);
        return 1;
    }
    /* SIGTERM/SIGINT are taken with sigwait; the server thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct admission_ctx ctx = {
        .user = &c,
        .get_namespace = cl_namespace,
        .list_instrumentations = cl_instrumentations,
        .get_tracingmodel = cl_model,
    };
    struct webhook_admission wa = {
        .ctx = &ctx, .cache = c.cache, .observe = cl_observe, .observe_ud = &c};
    char *bind_address = xasprintf("%s:%s", bind_host, port);
    struct webhook_server_opts o = {
        .bind_address = bind_address,
        .cert_pem = cert,
        .key_pem = key,
        .threads = threads,
        .handler = webhook_admission_handler,
        .handler_ud = &wa,
    };
    struct op_status st = {0};
    struct webhook_server *s = webhook_server_start(&o, &st);
    free(bind_address);
    free(cert);
    free(key);
    if (!s) {
        fprintf(stderr, "bench_webhook: cannot start the webhook server: %s\n", st.msg);
        cluster_done(&c);
        return 1;
    }
    printf("{\"event\":\"listening\",\"port\":%d,\"pid\":%ld,\"certs_dir\":\"%s\","
           "\"rss_kib\":%ld,\"threads\":%u}\n",
           webhook_server_port(s), (long)getpid(), dir, proc_status_kib("VmRSS"), threads);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    long rss = proc_status_kib("VmRSS");
    webhook_server_stop(s);
    unsigned long n = atomic_load(&c.requests);
    unsigned long long tot = atomic_load(&c.handle_us_total);
    printf("{\"event\":\"exit\",\"signal\":%d,\"peak_rss_kib\":%ld,\"rss_kib\":%ld,"
           "\"requests\":%lu,\"injected\":%lu,\"errors_admitted\":%lu,\"not_requested\":%lu,"
           "\"already\":%lu,\"skipped\":%lu,\"denied\":%lu,"
           "\"handle_us_mean\":%.1f,\"handle_us_max\":%llu}\n",
           sig, proc_status_kib("VmHWM"), rss, n, atomic_load(&c.decisions[MUTATE_INJECTED]),
           atomic_load(&c.decisions[MUTATE_ERROR]),
           atomic_load(&c.decisions[MUTATE_NOT_REQUESTED]),
           atomic_load(&c.decisions[MUTATE_ALREADY]), atomic_load(&c.decisions[MUTATE_SKIPPED]),
           atomic_load(&c.invalid), n ? (double)tot / (double)n : 0.0,
           atomic_load(&c.handle_us_max));
    fflush(stdout);
    cluster_done(&c);
    return 0;
}

/* ======================= inproc ======================= */

/* admission_handle() alone, no server: where the time of one request goes. */
static int cmd_inproc(int argc, char **argv) {
    const char *model = "examples/minimal-otlp.yaml", *body_path = NULL;
    long iters = 20000;
    int print = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--model"))
            model = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--print"))
            print = 1;
        else if (!strcmp(argv[i], "--body"))
            body_path = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--iterations"))
            iters = atol(arg_value(argc, argv, &i));
        else {
            fprintf(stderr, "bench_webhook inproc: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!body_path || iters < 1) {
        fprintf(stderr, "bench_webhook inproc: needs --body and --iterations >= 1\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    struct cluster c;
    size_t len = 0;
    char *body = read_file(body_path, &len);
    if (!body || cluster_init(&c, model)) {
        free(body);
        return 1;
    }
    struct admission_ctx ctx = {
        .user = &c,
        .get_namespace = cl_namespace,
        .list_instrumentations = cl_instrumentations,
        .get_tracingmodel = cl_model,
    };
    if (print) {   /* one answer, verbatim: to compare outputs across versions */
        struct admission_result r;
        admission_handle_cached(ADMISSION_PATH_MUTATE_POD, body, len, &ctx, c.cache, &r);
        fwrite(r.body, 1, r.len, stdout);
        putchar('\n');
        admission_result_free(&r);
        free(body);
        cluster_done(&c);
        return 0;
    }
    size_t out_len = 0;
    int decision = -1;
    int64_t t0 = now_ns(), c0 = cpu_ns();
    for (long i = 0; i < iters; i++) {
        struct admission_result r;
        admission_handle_cached(ADMISSION_PATH_MUTATE_POD, body, len, &ctx, c.cache, &r);
        out_len = r.len;
        decision = (int)r.decision;
        admission_result_free(&r);
    }
    int64_t t1 = now_ns(), c1 = cpu_ns();
    for (long i = 0; i < iters; i++) {
        json_t *j = json_loadb(body, len, 0, NULL);
        char *d = json_dumps(j, JSON_COMPACT);
        free(d);
        json_decref(j);
    }
    int64_t t2 = now_ns(), c2 = cpu_ns();
    double n = (double)iters;
    printf("{\"iterations\":%ld,\"admission_handle_cpu_us\":%.1f,\"admission_handle_wall_us\":%.1f,"
           "\"parse_and_dump_body_cpu_us\":%.1f,\"parse_and_dump_body_wall_us\":%.1f,"
           "\"response_bytes\":%zu,\"decision\":\"%s\"}\n",
           iters, (double)(c1 - c0) / 1e3 / n, (double)(t1 - t0) / 1e3 / n,
           (double)(c2 - c1) / 1e3 / n, (double)(t2 - t1) / 1e3 / n, out_len,
           mutate_decision_name((enum mutate_decision)decision));
    free(body);
    cluster_done(&c);
    return 0;
}

/* ======================= client ======================= */

enum check_mode { CHECK_ADMISSION, CHECK_STATUS };

enum outcome {
    OUT_OK = 0,
    OUT_TRANSPORT,   /* curl error (connect, TLS, timeout, reset) */
    OUT_STATUS,      /* HTTP status other than 200 */
    OUT_ANSWER       /* 200 but not the expected AdmissionReview answer */
};

struct sample {
    uint32_t due_ms;       /* due time since t0 */
    uint32_t corrected_us; /* completion - due */
    uint32_t service_us;   /* completion - send */
    uint8_t bad;           /* the malformed body was sent */
    uint8_t outcome;
};

struct client_cfg {
    const char *url, *cacert;
    const char *body, *bad_body;
    size_t body_len, bad_len;
    long uid_off;          /* where request.uid's 36 characters start in body, or -1 */
    int bad_percent;
    double rate;
    double duration_s;
    int threads;
    enum check_mode check;
    int64_t t0;
};

struct worker {
    const struct client_cfg *cfg;
    int index;
    pthread_t tid;
    struct sample *samples;
    size_t n, cap;
    char first_error[256];
    unsigned long late;    /* sent more than 1 ms after the due time */
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct strbuf *b = ud;
    return strbuf_append(b, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* Is request n one of the malformed ones? A fixed pseudo-random pick. */
static int is_bad(uint64_t n, int percent) {
    if (percent <= 0)
        return 0;
    uint64_t h = n * 0x9E3779B97F4A7C15ull;
    return (int)((h >> 40) % 100) < percent;
}

static void set_uid(char *body, long off, uint64_t n) {
    char uid[UID_LEN + 1];
    snprintf(uid, sizeof(uid), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(n & 0xffffffffu),
             (unsigned)((n >> 32) & 0xffff), 0u, 0u, (unsigned long long)(n & 0xffffffffffffull));
    memcpy(body + off, uid, UID_LEN);
}

/* Checks an AdmissionReview answer; 0 or -1 with why. */
static int check_answer(const char *resp, size_t len, const char *uid, int bad, char *why,
                        size_t whylen) {
    json_error_t jerr;
    json_t *r = json_loadb(resp, len, 0, &jerr);
    json_t *x = json_object_get(r, "response");
    int rc = -1;
    const char *ruid = json_string_value(json_object_get(x, "uid"));
    const char *pt = json_string_value(json_object_get(x, "patchType"));
    const char *patch = json_string_value(json_object_get(x, "patch"));
    if (!r)
        snprintf(why, whylen, "answer is not JSON: %.100s", jerr.text);
    else if (!json_is_object(x))
        snprintf(why, whylen, "answer has no response object");
    else if (!json_is_true(json_object_get(x, "allowed")))
        snprintf(why, whylen, "allowed is not true");
    else if (bad)
        rc = 0;
    else if (!ruid || strncmp(ruid, uid, UID_LEN) != 0 || strlen(ruid) != UID_LEN)
        snprintf(why, whylen, "response.uid %.40s is not the request's", ruid ? ruid : "(none)");
    else if (!pt || strcmp(pt, "JSONPatch") != 0 || !patch || !*patch)
        snprintf(why, whylen, "no JSONPatch in the answer");
    else
        rc = 0;
    json_decref(r);
    return rc;
}

static void record(struct worker *w, struct sample s) {
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        w->samples = xrealloc(w->samples, w->cap * sizeof(*w->samples));
    }
    w->samples[w->n++] = s;
}

static void note_error(struct worker *w, const char *what, const char *detail, long code) {
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof(w->first_error), "%s: %.160s (%ld)", what, detail, code);
}

static void *worker_run(void *arg) {
    struct worker *w = arg;
    const struct client_cfg *cfg = w->cfg;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(w->first_error, sizeof(w->first_error), "curl_easy_init failed");
        return NULL;
    }
    char *body = xmalloc(cfg->body_len + 1);
    memcpy(body, cfg->body, cfg->body_len + 1);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    struct strbuf resp;
    strbuf_init(&resp, 64u * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_URL, cfg->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    if (cfg->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->cacert);
    int64_t period = (int64_t)(1e9 / cfg->rate);
    int64_t end = cfg->t0 + (int64_t)(cfg->duration_s * 1e9);
    for (uint64_t j = 0;; j++) {
        uint64_t n = (uint64_t)w->index + j * (uint64_t)cfg->threads;
        int64_t due = cfg->t0 + (int64_t)n * period;
        if (due >= end)
            break;
        int64_t now = now_ns();
        if (due > now) {
            struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
            }
        }
        int bad = cfg->bad_body && is_bad(n, cfg->bad_percent);
        if (!bad && cfg->uid_off >= 0)
            set_uid(body, cfg->uid_off, n);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, bad ? cfg->bad_body : body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(bad ? cfg->bad_len : cfg->body_len));
        strbuf_reset(&resp);
        int64_t sent = now_ns();
        if (sent - due > 1000000)
            w->late++;
        CURLcode cc = curl_easy_perform(h);
        int64_t done = now_ns();
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        enum outcome out = OUT_OK;
        char why[160];
        if (cc != CURLE_OK) {
            out = OUT_TRANSPORT;
            note_error(w, "transport", curl_easy_strerror(cc), (long)cc);
        } else if (code != 200) {
            out = OUT_STATUS;
            note_error(w, "HTTP status", "not 200", code);
        } else if (cfg->check == CHECK_ADMISSION &&
                   check_answer(resp.buf ? resp.buf : "", resp.len,
                                cfg->uid_off >= 0 ? body + cfg->uid_off : "", bad, why,
                                sizeof(why)) != 0) {
            out = OUT_ANSWER;
            note_error(w, "answer", why, 0);
        }
        int64_t corr = (done - due) / 1000, svc = (done - sent) / 1000;
        record(w, (struct sample){
                      .due_ms = (uint32_t)((due - cfg->t0) / 1000000),
                      .corrected_us = corr > UINT32_MAX ? UINT32_MAX : (uint32_t)corr,
                      .service_us = svc > UINT32_MAX ? UINT32_MAX : (uint32_t)svc,
                      .bad = (uint8_t)bad,
                      .outcome = (uint8_t)out,
                  });
    }
    strbuf_free(&resp);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(body);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Percentile p (0..100) of a sorted array, nearest rank; 0 when empty. */
static uint32_t pct(const uint32_t *v, size_t n, double p) {
    if (n == 0)
        return 0;
    size_t k = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

struct agg {
    uint32_t *corr, *svc;
    size_t n;
    unsigned long valid, bad, valid_err, bad_err, transport, status, answer;
};

static void agg_add(struct agg *a, const struct sample *s) {
    a->corr[a->n] = s->corrected_us;
    a->svc[a->n] = s->service_us;
    a->n++;
    if (s->bad) {
        a->bad++;
        a->bad_err += s->outcome != OUT_OK;
    } else {
        a->valid++;
        a->valid_err += s->outcome != OUT_OK;
    }
    a->transport += s->outcome == OUT_TRANSPORT;
    a->status += s->outcome == OUT_STATUS;
    a->answer += s->outcome == OUT_ANSWER;
}

/* New ref: counts and percentiles (ms) of a. Sorts a's arrays. */
static json_t *agg_json(struct agg *a, double seconds) {
    qsort(a->corr, a->n, sizeof(uint32_t), cmp_u32);
    qsort(a->svc, a->n, sizeof(uint32_t), cmp_u32);
    json_t *o = json_pack("{s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
                          (json_int_t)a->n, "rps", seconds > 0 ? (double)a->n / seconds : 0.0,
                          "valid", (json_int_t)a->valid, "malformed", (json_int_t)a->bad,
                          "valid_errors", (json_int_t)a->valid_err, "malformed_errors",
                          (json_int_t)a->bad_err, "transport_errors", (json_int_t)a->transport,
                          "status_errors", (json_int_t)a->status, "answer_errors",
                          (json_int_t)a->answer);
    static const double ps[] = {50, 90, 99, 99.9, 100};
    static const char *const names[] = {"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"};
    json_t *c = json_object(), *s = json_object();
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        json_object_set_new(c, names[i], json_real(pct(a->corr, a->n, ps[i]) / 1000.0));
        json_object_set_new(s, names[i], json_real(pct(a->svc, a->n, ps[i]) / 1000.0));
    }
    json_object_set_new(o, "latency_corrected", c);
    json_object_set_new(o, "latency_service", s);
    return o;
}

static int cmd_client(int argc, char **argv) {
    struct client_cfg cfg = {.rate = 1000, .duration_s = 60, .threads = 4, .uid_off = -1};
    const char *body_path = NULL, *bad_path = NULL;
    double interval = 10, warmup = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--url"))
            cfg.url = arg_value(argc, argv, &i);
        else if (!strcmp(a, "--body"))
            body_path = arg_value(argc, argv, &i);
        else if (!strcmp(a, "--bad-body"))
            bad_path = arg_value(argc, argv, &i);
        else if (!strcmp(a, "--bad-percent"))
            cfg.bad_percent = atoi(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--rate"))
            cfg.rate = atof(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--duration"))
            cfg.duration_s = atof(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--threads"))
            cfg.threads = atoi(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--cacert"))
            cfg.cacert = arg_value(argc, argv, &i);
        else if (!strcmp(a, "--interval"))
            interval = atof(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--warmup"))
            warmup = atof(arg_value(argc, argv, &i));
        else if (!strcmp(a, "--check")) {
            const char *v = arg_value(argc, argv, &i);
            if (!strcmp(v, "admission"))
                cfg.check = CHECK_ADMISSION;
            else if (!strcmp(v, "status"))
                cfg.check = CHECK_STATUS;
            else {
                fprintf(stderr, "bench_webhook client: --check admission|status\n");
                return 2;
            }
        } else {
            fprintf(stderr, "bench_webhook client: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!cfg.url || !body_path || cfg.rate <= 0 || cfg.duration_s <= 0 || cfg.threads < 1 ||
        cfg.threads > 256 || interval <= 0 || warmup < 0 || warmup >= cfg.duration_s) {
        fprintf(stderr, "bench_webhook client: needs --url and --body; rate, duration, "
                        "interval > 0; 1 <= threads <= 256; 0 <= warmup < duration\n");
        return 2;
    }
    char *body = read_file(body_path, &cfg.body_len);
    char *bad = bad_path ? read_file(bad_path, &cfg.bad_len) : NULL;
    if (!body || (bad_path && !bad))
        return 1;
    cfg.body = body;
    cfg.bad_body = bad;
    const char *u = strstr(body, "\"uid\":\"");
    if (u && (size_t)(u - body) + 7 + UID_LEN < cfg.body_len && u[7 + UID_LEN] == '"')
        cfg.uid_off = (long)(u - body) + 7;
    else if (cfg.check == CHECK_ADMISSION) {
        fprintf(stderr, "bench_webhook client: the body has no 36-character \"uid\":\"...\" "
                        "(compact JSON expected)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct worker *ws = xcalloc((size_t)cfg.threads, sizeof(*ws));
    cfg.t0 = now_ns() + 50000000;   /* every thread starts on the same clock */
    for (int i = 0; i < cfg.threads; i++) {
        ws[i].cfg = &cfg;
        ws[i].index = i;
        pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]);
    }
    unsigned long late = 0;
    for (int i = 0; i < cfg.threads; i++) {
        pthread_join(ws[i].tid, NULL);
        late += ws[i].late;
    }
    double elapsed = (double)(now_ns() - cfg.t0) / 1e9;
    size_t n_int = (size_t)(cfg.duration_s / interval + 0.999999);
    uint32_t warm_ms = (uint32_t)(warmup * 1000);
    struct agg all = {0}, *iv = xcalloc(n_int, sizeof(*iv));
    size_t *per_slot = xcalloc(n_int, sizeof(size_t)), n_all = 0;
    unsigned long run_valid_err = 0, run_requests = 0;
    for (int i = 0; i < cfg.threads; i++)
        for (size_t k = 0; k < ws[i].n; k++) {
            const struct sample *s = &ws[i].samples[k];
            size_t slot = (size_t)(s->due_ms / (interval * 1000));
            per_slot[slot < n_int ? slot : n_int - 1]++;
            n_all += s->due_ms >= warm_ms;
            run_valid_err += !s->bad && s->outcome != OUT_OK;
            run_requests++;
        }
    all.corr = xmalloc((n_all + 1) * sizeof(uint32_t));
    all.svc = xmalloc((n_all + 1) * sizeof(uint32_t));
    for (size_t k = 0; k < n_int; k++) {
        iv[k].corr = xmalloc((per_slot[k] + 1) * sizeof(uint32_t));
        iv[k].svc = xmalloc((per_slot[k] + 1) * sizeof(uint32_t));
    }
    free(per_slot);
    for (int i = 0; i < cfg.threads; i++)
        for (size_t k = 0; k < ws[i].n; k++) {
            const struct sample *s = &ws[i].samples[k];
            size_t slot = (size_t)(s->due_ms / (interval * 1000));
            agg_add(&iv[slot < n_int ? slot : n_int - 1], s);
            if (s->due_ms >= warm_ms)
                agg_add(&all, s);
        }
    json_t *out = agg_json(&all, cfg.duration_s - warmup);
    json_object_set_new(out, "target_rate", json_real(cfg.rate));
    json_object_set_new(out, "duration_s", json_real(cfg.duration_s));
    json_object_set_new(out, "warmup_s", json_real(warmup));
    json_object_set_new(out, "elapsed_s", json_real(elapsed));
    json_object_set_new(out, "threads", json_integer(cfg.threads));
    json_object_set_new(out, "sent_late_over_1ms", json_integer((json_int_t)late));
    json_object_set_new(out, "bad_percent", json_integer(cfg.bad_percent));
    json_object_set_new(out, "check", json_string(cfg.check == CHECK_ADMISSION ? "admission"
                                                                               : "status"));
    json_object_set_new(out, "url", json_string(cfg.url));
    json_t *errs = json_array();
    for (int i = 0; i < cfg.threads; i++)
        if (ws[i].first_error[0])
            json_array_append_new(errs, json_string(ws[i].first_error));
    json_object_set_new(out, "first_errors", errs);
    json_t *series = json_array();
    for (size_t k = 0; k < n_int; k++) {
        double secs = interval;
        if ((double)(k + 1) * interval > cfg.duration_s)
            secs = cfg.duration_s - (double)k * interval;
        json_t *e = agg_json(&iv[k], secs);
        json_object_set_new(e, "t_s", json_real((double)k * interval));
        json_array_append_new(series, e);
        free(iv[k].corr);
        free(iv[k].svc);
    }
    json_object_set_new(out, "series", series);
    /* The verdict counts the whole run (warm-up included); the figures above skip it. */
    json_object_set_new(out, "valid_errors_whole_run", json_integer((json_int_t)run_valid_err));
    json_object_set_new(out, "requests_whole_run", json_integer((json_int_t)run_requests));
    char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(out);
    free(all.corr);
    free(all.svc);
    free(iv);
    for (int i = 0; i < cfg.threads; i++)
        free(ws[i].samples);
    free(ws);
    free(body);
    free(bad);
    curl_global_cleanup();
    return run_valid_err ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return cmd_serve(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "client"))
        return cmd_client(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "inproc"))
        return cmd_inproc(argc, argv);
    fprintf(stderr, "usage: bench_webhook serve --certs-dir DIR [--bind H] [--port P] "
                    "[--model FILE]\n"
                    "       bench_webhook client --url URL --body FILE [--bad-body FILE "
                    "--bad-percent N] [--rate R] [--duration S] [--threads T] "
                    "[--cacert FILE] [--check admission|status] [--interval S] "
                    "[--warmup S]\n"
                    "       bench_webhook inproc --body FILE [--iterations N] [--model FILE]\n");
    return 2;
}
