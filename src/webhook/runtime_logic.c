/* runtime_logic.c - the webhook runtime's pure decisions (no I/O, no clock):
 * which admissions become Events and what they look like, their
 * de-duplication, whether a caBundle already trusts the served certificate, and
 * how a refreshed certificate Secret keeps the chart's metadata. */
#include "webhook/runtime_internal.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define NOTE_MAX 1024      /* the API server rejects longer Event notes */
#define NAME_MAX_LEN 253

/* ---- which admissions ------------------------------------------------------ */

int wrun_wants_event(const struct admission_result *r) {
    return r && r->decision == MUTATE_SKIPPED && !r->dry_run && r->pod_namespace &&
           *r->pod_namespace;
}

static char *dup_or_empty(const char *s) { return xstrdup(s ? s : ""); }

void wrun_skip_from_result(const struct admission_result *r, struct wrun_skip *out) {
    out->ns = dup_or_empty(r->pod_namespace);
    out->pod = dup_or_empty(r->pod_name);
    out->owner_kind = dup_or_empty(r->owner_kind);
    out->owner_name = dup_or_empty(r->owner_name);
    out->owner_uid = dup_or_empty(r->owner_uid);
    out->reason = dup_or_empty(r->reason);
}

void wrun_skip_free(struct wrun_skip *s) {
    if (!s)
        return;
    free(s->ns);
    free(s->pod);
    free(s->owner_kind);
    free(s->owner_name);
    free(s->owner_uid);
    free(s->reason);
    memset(s, 0, sizeof(*s));
}

/* ---- the Event --------------------------------------------------------------- */

void wrun_microtime(int64_t wall_ms, char out[32]) {
    time_t secs = (time_t)(wall_ms / 1000);
    int64_t ms = wall_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[24];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%06dZ", day, (int)(ms * 1000));
}

/* The apiVersion of the owner kinds a pod has; NULL when unknown (then omitted). */
static const char *owner_api_version(const char *kind) {
    static const char *const TABLE[][2] = {
        {"ReplicaSet", "apps/v1"},  {"Deployment", "apps/v1"},
        {"StatefulSet", "apps/v1"}, {"DaemonSet", "apps/v1"},
        {"Job", "batch/v1"},        {"CronJob", "batch/v1"},
        {"ReplicationController", "v1"},
    };
    for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++)
        if (strcmp(TABLE[i][0], kind) == 0)
            return TABLE[i][1];
    return NULL;
}

static int has_owner(const struct wrun_skip *s) {
    return s->owner_kind && *s->owner_kind && s->owner_name && *s->owner_name;
}

/* A full pod name (not a generateName prefix, which ends with '-'). */
static int pod_name_known(const struct wrun_skip *s) {
    size_t n = s->pod ? strlen(s->pod) : 0;
    return n && s->pod[n - 1] != '-';
}

static json_t *regarding(const struct wrun_skip *s) {
    if (!has_owner(s))
        return json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Namespace", "name",
                         s->ns);
    json_t *ref = json_pack("{s:s, s:s, s:s}", "kind", s->owner_kind, "name", s->owner_name,
                            "namespace", s->ns);
    const char *api = owner_api_version(s->owner_kind);
    if (api)
        json_object_set_new(ref, "apiVersion", json_string(api));
    if (s->owner_uid && *s->owner_uid)
        json_object_set_new(ref, "uid", json_string(s->owner_uid));
    return ref;
}

/* "<base>.<hex>", base cut so the whole stays a DNS subdomain of <= 253. */
static char *event_name(const struct wrun_skip *s, int64_t wall_ms, unsigned seq) {
    const char *base = has_owner(s) ? s->owner_name : s->pod;
    if (!base || !*base)
        base = s->ns;
    size_t n = strlen(base);
    while (n && (base[n - 1] == '-' || base[n - 1] == '.'))
        n--;   /* a generateName prefix "web-7d9f-" */
    char hex[40];
    snprintf(hex, sizeof(hex), "%llx", (unsigned long long)wall_ms * 1000ULL + (seq % 1000u));
    size_t room = NAME_MAX_LEN - 1 - strlen(hex);
    if (n > room)
        n = room;
    while (n && (base[n - 1] == '-' || base[n - 1] == '.'))
        n--;
    return n ? xasprintf("%.*s.%s", (int)n, base, hex) : xasprintf("pod.%s", hex);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s) {
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
             : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* The note: reason as valid UTF-8 (bad bytes become '?'), cut to NOTE_MAX bytes. */
static json_t *note(const char *reason) {
    const char *r = reason && *reason ? reason : "the pod could not be instrumented";
    char *out = xmalloc(NOTE_MAX + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)r;
    size_t limit = strlen(r) <= NOTE_MAX ? NOTE_MAX : NOTE_MAX - 3;
    while (*p) {
        size_t n = utf8_len(p);
        if (o + (n ? n : 1) > limit) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (n == 0) {
            out[o++] = '?';
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    json_t *j = json_string(out);
    free(out);
    return j ? j : json_string("the pod could not be instrumented");
}

json_t *wrun_event_build(const struct wrun_skip *s, const char *instance, int64_t wall_ms,
                         unsigned seq) {
    if (!s || !s->ns || !*s->ns)
        return NULL;
    char when[32];
    wrun_microtime(wall_ms, when);
    char *name = event_name(s, wall_ms, seq);
    char inst[129];
    snprintf(inst, sizeof(inst), "%s", instance && *instance ? instance : "tracing-operator");
    json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
                           "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata",
                           "name", name, "namespace", s->ns, "eventTime", when,
                           "reportingController", WEBHOOK_RUNTIME_CONTROLLER,
                           "reportingInstance", inst, "action", WEBHOOK_RUNTIME_EVENT_ACTION,
                           "reason", WEBHOOK_RUNTIME_EVENT_REASON, "type", "Warning", "note",
                           note(s->reason), "regarding", regarding(s));
    free(name);
    if (ev && has_owner(s) && pod_name_known(s))
        json_object_set_new(ev, "related", json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", "v1",
                                                     "kind", "Pod", "name", s->pod,
                                                     "namespace", s->ns));
    return ev;
}

/* ---- de-duplication ------------------------------------------------------------ */

struct dedup_entry {
    char *key;
    int64_t at;
};

struct wrun_dedup {
    struct dedup_entry *e;
    size_t n, cap;
    int64_t window_ms;
};

struct wrun_dedup *wrun_dedup_new(size_t cap, int64_t window_ms) {
    struct wrun_dedup *d = xcalloc(1, sizeof(*d));
    d->cap = cap ? cap : 1;
    d->e = xcalloc(d->cap, sizeof(*d->e));
    d->window_ms = window_ms;
    return d;
}

void wrun_dedup_free(struct wrun_dedup *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->e[i].key);
    free(d->e);
    free(d);
}

static void dedup_remove(struct wrun_dedup *d, size_t i) {
    free(d->e[i].key);
    d->e[i] = d->e[--d->n];
}

int wrun_dedup_check(struct wrun_dedup *d, const struct wrun_skip *s, int64_t now_ms) {
    char *key = xasprintf("%s\x1f%s\x1f%s\x1f%s", s->ns ? s->ns : "",
                          s->owner_kind ? s->owner_kind : "", s->owner_name ? s->owner_name : "",
                          s->reason ? s->reason : "");
    size_t oldest = 0;
    for (size_t i = 0; i < d->n;) {
        if (now_ms - d->e[i].at >= d->window_ms) {
            dedup_remove(d, i);   /* expired: forget it */
            continue;
        }
        if (strcmp(d->e[i].key, key) == 0) {
            free(key);
            return 0;
        }
        if (d->e[i].at < d->e[oldest].at)
            oldest = i;
        i++;
    }
    if (d->n == d->cap)
        dedup_remove(d, oldest);
    d->e[d->n].key = key;
    d->e[d->n].at = now_ms;
    d->n++;
    return 1;
}

/* ---- does a caBundle trust the served certificate ------------------------------- */

/* Decoded base64 text (NUL-terminated), or NULL. */
static char *b64_text(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n % 4 || n > 4 * 1024 * 1024)
        return NULL;
    unsigned char *out = xmalloc(n / 4 * 3 + 1);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
        len--;   /* EVP_DecodeBlock counts the padding */
    out[len] = '\0';
    return (char *)out;
}

static STACK_OF(X509) *read_certs(const char *pem) {
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    BIO_free(b);
    ERR_clear_error();
    return sk;
}

static int chain_verifies(STACK_OF(X509) *served, const char *bundle_pem, time_t now) {
    STACK_OF(X509) *cas = read_certs(bundle_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int ok = 0;
    if (sk_X509_num(cas) == 0 || !store || !ctx || !untrusted)
        goto out;
    for (int i = 0; i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(store, sk_X509_value(cas, i));
    for (int i = 1; i < sk_X509_num(served); i++)
        sk_X509_push(untrusted, sk_X509_value(served, i));
    if (X509_STORE_CTX_init(ctx, store, sk_X509_value(served, 0), untrusted) != 1)
        goto out;
    X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(p, now);
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    ok = X509_verify_cert(ctx) == 1;
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);   /* borrowed from served */
    sk_X509_pop_free(cas, X509_free);
    return ok;
}

int wrun_bundle_trusts(const json_t *config, const char *served_chain_pem, time_t now) {
    const json_t *hooks = json_object_get(config, "webhooks");
    if (!served_chain_pem || !json_is_array(hooks) || json_array_size(hooks) == 0)
        return 0;
    STACK_OF(X509) *served = read_certs(served_chain_pem);
    int ok = sk_X509_num(served) > 0;
    for (size_t i = 0; ok && i < json_array_size(hooks); i++) {
        const json_t *cc = json_object_get(json_array_get(hooks, i), "clientConfig");
        const char *b64 = json_string_value(json_object_get(cc, "caBundle"));
        char *bundle = b64 ? b64_text(b64) : NULL;
        ok = bundle && chain_verifies(served, bundle, now);
        free(bundle);
    }
    sk_X509_pop_free(served, X509_free);
    return ok;
}

/* ---- the Secret keeps the chart's metadata ------------------------------------ */

json_t *wrun_secret_merge(const json_t *existing, const json_t *built) {
    if (!json_is_object(existing))
        return json_deep_copy(built);
    json_t *out = json_deep_copy(existing);
    json_object_del(out, "status");
    json_t *md = json_object_get(out, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(out, "metadata", md);
    }
    json_object_del(md, "managedFields");
    const json_t *bmd = json_object_get(built, "metadata");
    const json_t *rv = json_object_get(bmd, "resourceVersion");
    if (rv)
        json_object_set(md, "resourceVersion", (json_t *)rv);
    const json_t *blabels = json_object_get(bmd, "labels");
    if (json_is_object(blabels)) {
        json_t *labels = json_object_get(md, "labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(md, "labels", labels);
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)blabels, k, v) {
            if (!json_object_get(labels, k))
                json_object_set(labels, k, v);
        }
    }
    const char *fields[] = {"apiVersion", "kind", "type", "data"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(built, fields[i]);
        if (v)
            json_object_set(out, fields[i], v);
    }
    json_object_del(out, "stringData");
    return out;
}

/* ---- metrics --------------------------------------------------------------------- */

static const int64_t BOUNDS_US[WRUN_DURATION_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000, 1000000,
};
static const char *const HOOK_NAMES[WRUN_HOOKS] = {"pods", "tracingmodels", "instrumentations",
                                                   "workloads"};
static const char *const VALIDATION_RESULTS[2] = {"allowed", "denied"};
static const char *const WORKLOAD_RESULTS[2] = {"clean", "warned"};

int wrun_hook_of(const char *path) {
    if (!path)
        return -1;
    if (!strcmp(path, ADMISSION_PATH_MUTATE_POD))
        return WRUN_HOOK_PODS;
    if (!strcmp(path, ADMISSION_PATH_VALIDATE_TM))
        return WRUN_HOOK_TRACINGMODELS;
    if (!strcmp(path, ADMISSION_PATH_VALIDATE_TINST))
        return WRUN_HOOK_INSTRUMENTATIONS;
    if (!strcmp(path, ADMISSION_PATH_VALIDATE_WORKLOAD))
        return WRUN_HOOK_WORKLOADS;
    return -1;
}

int wrun_result_of(int hook, const struct admission_result *r) {
    if (hook == WRUN_HOOK_WORKLOADS)
        return r->warnings ? 1 : 0;
    if (hook != WRUN_HOOK_PODS)
        return r->allowed ? 0 : 1;
    int d = (int)r->decision;
    return d >= 0 && d < WRUN_RESULTS ? d : (int)MUTATE_ERROR;
}

size_t wrun_duration_bucket(int64_t us) {
    size_t i = 0;
    while (i < WRUN_DURATION_BUCKETS && us > BOUNDS_US[i])
        i++;
    return i;
}

void wrun_metrics_format(const struct wrun_metrics *m, struct strbuf *out) {
    strbuf_puts(out, "# HELP tracing_operator_webhook_requests_total Admission requests by "
                     "webhook and result.\n# TYPE tracing_operator_webhook_requests_total "
                     "counter\n");
    for (int h = 0; h < WRUN_HOOKS; h++)
        for (int i = 0; i < (h == WRUN_HOOK_PODS ? WRUN_RESULTS : 2); i++)
            strbuf_printf(out,
                          "tracing_operator_webhook_requests_total{webhook=\"%s\",result=\"%s\"} "
                          "%llu\n", HOOK_NAMES[h],
                          h == WRUN_HOOK_PODS        ? mutate_decision_name((enum mutate_decision)i)
                          : h == WRUN_HOOK_WORKLOADS ? WORKLOAD_RESULTS[i]
                                                     : VALIDATION_RESULTS[i],
                          (unsigned long long)m->requests[h][i]);
    strbuf_puts(out, "# HELP tracing_operator_webhook_request_duration_seconds Time to decide "
                     "one admission.\n# TYPE tracing_operator_webhook_request_duration_seconds "
                     "histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i <= WRUN_DURATION_BUCKETS; i++) {
        cum += m->buckets[i];
        if (i < WRUN_DURATION_BUCKETS)
            strbuf_printf(out, "tracing_operator_webhook_request_duration_seconds_bucket"
                               "{le=\"%g\"} %llu\n", (double)BOUNDS_US[i] / 1e6,
                          (unsigned long long)cum);
        else
            strbuf_printf(out, "tracing_operator_webhook_request_duration_seconds_bucket"
                               "{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    strbuf_printf(out, "tracing_operator_webhook_request_duration_seconds_sum %.6f\n"
                       "tracing_operator_webhook_request_duration_seconds_count %llu\n",
                  (double)m->sum_us / 1e6, (unsigned long long)m->count);
    const struct webhook_runtime_stats *s = &m->stats;
    strbuf_printf(out, "# HELP tracing_operator_webhook_events_total InjectionSkipped Events "
                       "by outcome.\n# TYPE tracing_operator_webhook_events_total counter\n"
                       "tracing_operator_webhook_events_total{result=\"sent\"} %llu\n"
                       "tracing_operator_webhook_events_total{result=\"suppressed\"} %llu\n"
                       "tracing_operator_webhook_events_total{result=\"dropped\"} %llu\n"
                       "tracing_operator_webhook_events_total{result=\"failed\"} %llu\n",
                  (unsigned long long)s->events_sent, (unsigned long long)s->events_suppressed,
                  (unsigned long long)s->events_dropped, (unsigned long long)s->events_failed);
    strbuf_printf(out, "# HELP tracing_operator_webhook_certificate_checks_total Certificate "
                       "checks (self-signed Secret or --cert-dir) by result.\n"
                       "# TYPE tracing_operator_webhook_certificate_checks_total counter\n"
                       "tracing_operator_webhook_certificate_checks_total{result=\"success\"} "
                       "%llu\n"
                       "tracing_operator_webhook_certificate_checks_total{result=\"error\"} "
                       "%llu\n",
                  (unsigned long long)(s->cert_rounds - s->cert_errors),
                  (unsigned long long)s->cert_errors);
    strbuf_printf(out, "# HELP tracing_operator_webhook_certificate_expiry_timestamp_seconds "
                       "When the served certificate expires (0: none served).\n"
                       "# TYPE tracing_operator_webhook_certificate_expiry_timestamp_seconds "
                       "gauge\ntracing_operator_webhook_certificate_expiry_timestamp_seconds "
                       "%lld\n",
                  (long long)m->cert_not_after);
    strbuf_printf(out, "# HELP tracing_operator_webhook_ready 1 while the webhook serves a "
                       "usable certificate.\n# TYPE tracing_operator_webhook_ready gauge\n"
                       "tracing_operator_webhook_ready %d\n", s->ready);
}
