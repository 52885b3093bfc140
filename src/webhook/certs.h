/* certs.h - the webhook's certificates in --cert-mode self-signed: a CA and a
 * serving certificate (OpenSSL, ECDSA P-256), the Secret that shares them
 * between replicas, the caBundle of the webhook configurations, and the
 * configurations themselves for --webhook-config manage.
 *
 * Everything here is pure apart from key generation (randomness): the time is
 * a parameter, nothing reads a clock, a file or the API. certs_ensure() runs
 * the whole decision against the cluster through caller-supplied callbacks.
 *
 * Rotation without an outage: the CA lives 5 years and the serving certificate
 * 1 year. A certificate is renewed when less than a third of its lifetime or
 * less than renew_before (30 days) is left. A new serving certificate is signed
 * by the same CA, so caBundle does not change. When the CA itself is renewed,
 * the bundle keeps the previous CA while it is valid, and certs_ensure()
 * publishes that bundle BEFORE it stores the new pair, so the API server trusts
 * the new certificate before any replica serves it.
 *
 * Secret layout (type kubernetes.io/tls): tls.crt, tls.key (serving pair),
 * ca.crt (the bundle: current CA first, then a previous CA), ca.key (current
 * CA's key; what lets any replica renew the serving certificate). */
#ifndef OP_WEBHOOK_CERTS_H
#define OP_WEBHOOK_CERTS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define CERTS_CA_VALIDITY_S (5LL * 365 * 86400)
#define CERTS_CERT_VALIDITY_S (365LL * 86400)
#define CERTS_RENEW_BEFORE_S (30LL * 86400)
#define CERTS_BACKDATE_S 3600   /* notBefore = now - 1h: tolerate clock skew */

#define CERTS_DEFAULT_SERVICE "tracing-operator-webhook"
#define CERTS_DEFAULT_SECRET "tracing-operator-webhook-cert"
#define CERTS_DEFAULT_CONFIG "tracing-operator"   /* both webhook configurations */

#define CERTS_WEBHOOK_POD "mpod.tracemodel.dev"
#define CERTS_WEBHOOK_POD_REQUIRED "mpod-required.tracemodel.dev"
/* A namespace labelled tracemodel.dev/injection-policy=required opts in to fail-closed
 * injection: its pods go to CERTS_WEBHOOK_POD_REQUIRED (failurePolicy Fail), so no pod
 * is created there without the webhook's answer. Every other namespace's pods go to
 * CERTS_WEBHOOK_POD (Ignore: never blocked). */
#define CERTS_POLICY_LABEL "tracemodel.dev/injection-policy"
#define CERTS_POLICY_REQUIRED "required"
#define CERTS_WEBHOOK_TM "vtracingmodel.tracemodel.dev"
#define CERTS_WEBHOOK_TINST "vinstrumentation.tracemodel.dev"
#define CERTS_WEBHOOK_WORKLOAD "vworkload.tracemodel.dev"

/* All strings are PEM, malloc'd; any may be NULL. */
struct certs_pair {
    char *cert_pem;     /* serving certificate */
    char *key_pem;      /* its key (PKCS#8) */
    char *ca_pem;       /* bundle to trust (caBundle): current CA first */
    char *ca_key_pem;   /* current CA's key */
};
void certs_pair_free(struct certs_pair *p);   /* frees the strings, zeroes p */

/* ---- generation ----------------------------------------------------------- */

/* A self-signed CA: ECDSA P-256, CA:TRUE pathlen 0, keyCertSign|cRLSign,
 * valid [now - 1h, now + validity_s]. */
int certs_gen_ca(const char *common_name, time_t now, int64_t validity_s, char **ret_cert_pem,
                 char **ret_key_pem, struct op_status *st);

/* A serving certificate signed by the CA (the first certificate of ca_cert_pem):
 * ECDSA P-256, CN = hosts[0], SANs = hosts (IP literals become IP SANs), EKU
 * serverAuth, valid [now - 1h, min(now + validity_s, CA notAfter)]. */
int certs_gen_serving(const char *ca_cert_pem, const char *ca_key_pem,
                      const char *const *hosts, size_t n_hosts, time_t now, int64_t validity_s,
                      char **ret_cert_pem, char **ret_key_pem, struct op_status *st);

/* The names a Service answers to: svc, svc.ns, svc.ns.svc,
 * svc.ns.svc.cluster.local, then each extra host (duplicates dropped).
 * Returns a NULL-terminated malloc'd array; *ret_n = count. Free with
 * certs_hosts_free. */
char **certs_service_hosts(const char *svc, const char *ns, const char *const *extra,
                           size_t n_extra, size_t *ret_n);
void certs_hosts_free(char **hosts);

/* ---- inspection (first certificate of pem) ------------------------------- */

int certs_not_before(const char *pem, time_t *ret, struct op_status *st);
int certs_not_after(const char *pem, time_t *ret, struct op_status *st);
/* Lower-case hex serial number into out. */
int certs_serial_hex(const char *pem, char *out, size_t n, struct op_status *st);

/* 1 = renew: less than max(lifetime / 3, renew_before_s) left, expired, or not
 * yet valid at now; 0 = keep; negative OP_EINVALID when pem does not parse. */
int certs_need_rotation(const char *pem, time_t now, int64_t renew_before_s);

/* 0 when key_pem is the private key of cert_pem, else OP_EINVALID. */
int certs_check_key(const char *cert_pem, const char *key_pem, struct op_status *st);

/* 0 when cert_pem chains to a certificate in ca_bundle_pem at time now and
 * covers every host (DNS or IP); else OP_EINVALID naming the reason. */
int certs_verify(const char *cert_pem, const char *ca_bundle_pem, time_t now,
                 const char *const *hosts, size_t n_hosts, struct op_status *st);

/* ---- the Secret ------------------------------------------------------------ */

/* New reference: a v1 Secret of type kubernetes.io/tls holding p (base64),
 * labelled app.kubernetes.io/managed-by: tracing-operator; resource_version
 * (may be NULL) makes a replace conditional. */
json_t *certs_secret_build(const char *ns, const char *name, const struct certs_pair *p,
                           const char *resource_version);

/* Reads the four keys back (absent keys stay NULL). OP_EINVALID when the object
 * is not a Secret, data is not an object or a value is not base64 (field named). */
int certs_secret_read(const json_t *secret, struct certs_pair *ret, struct op_status *st);

/* ---- webhook configurations ------------------------------------------------ */

/* New reference: an RFC 6902 JSON Patch setting clientConfig.caBundle =
 * base64(ca_pem) on every webhook of a Mutating- or ValidatingWebhookConfiguration
 * (each guarded by a "test" of the webhook's name, so a concurrent edit fails
 * the patch instead of landing on the wrong entry). NULL when every webhook
 * already has it (or there are none): nothing to do. */
json_t *certs_cabundle_patch(const json_t *config, const char *ca_pem);

struct certs_webhook_opts {
    const char *config_name;   /* NULL = CERTS_DEFAULT_CONFIG */
    const char *namespace;     /* the operator's namespace (also excluded from injection) */
    const char *service;       /* NULL = CERTS_DEFAULT_SERVICE */
    int service_port;          /* 0 = 443 */
    const char *url;           /* --webhook-url: "https://host:9443"; set = url instead of service */
    const char *ca_pem;        /* caBundle (may be NULL: cert-manager injects it) */
};

/* New references: the configurations for --webhook-config manage.
 * Mutating: mpod.tracemodel.dev, /mutate-v1-pod, pods CREATE, failurePolicy
 * Ignore, reinvocationPolicy IfNeeded, namespaceSelector excluding kube-system,
 * the operator's namespace and the namespaces labelled CERTS_POLICY_LABEL=required;
 * mpod-required.tracemodel.dev the same for those namespaces, with failurePolicy Fail. Validating: vtracingmodel / vinstrumentation,
 * CREATE and UPDATE, failurePolicy Fail; vworkload (/validate-workload: apps/v1
 * deployments, statefulsets, daemonsets and batch/v1 jobs, cronjobs, CREATE and
 * UPDATE, failurePolicy Ignore, the pod webhook's namespaceSelector, timeoutSeconds 2;
 * it only warns). All: sideEffects None, timeoutSeconds 5 (but vworkload),
 * admissionReviewVersions [v1]. NULL when
 * namespace is missing or url is not https://. */
json_t *certs_mutating_config(const struct certs_webhook_opts *o);
json_t *certs_validating_config(const struct certs_webhook_opts *o);

/* ---- orchestration ------------------------------------------------------- */

struct certs_opts {
    const char *namespace;                 /* required: where the Secret lives */
    const char *secret_name;               /* NULL = CERTS_DEFAULT_SECRET */
    const char *service;                   /* NULL = CERTS_DEFAULT_SERVICE */
    const char *const *extra_hosts;        /* --webhook-host values */
    size_t n_extra_hosts;
    int64_t ca_validity_s;                 /* 0 = CERTS_CA_VALIDITY_S */
    int64_t cert_validity_s;               /* 0 = CERTS_CERT_VALIDITY_S */
    int64_t renew_before_s;                /* 0 = CERTS_RENEW_BEFORE_S */
    int read_only;                         /* 1 = never write (a replica that is not the
                                            * leader): OP_ENOTFOUND until the Secret is usable */
};

/* The cluster side. Every callback returns 0 or a negative OP_E* code. */
struct certs_store_ops {
    /* *ret = a NEW reference to the Secret, or OP_ENOTFOUND. */
    int (*get_secret)(void *ud, const char *ns, const char *name, json_t **ret,
                      struct op_status *st);
    /* OP_EALREADY when another replica created it first. */
    int (*create_secret)(void *ud, const json_t *secret, struct op_status *st);
    /* A conditional replace (metadata.resourceVersion is set): OP_ECONFLICT when
     * another replica changed it first. */
    int (*update_secret)(void *ud, const json_t *secret, struct op_status *st);
    /* Make the API server trust ca_bundle_pem (patch caBundle, see
     * certs_cabundle_patch). May be NULL. */
    int (*publish_ca)(void *ud, const char *ca_bundle_pem, struct op_status *st);
};

/* Reads the Secret, creates or renews what is missing, expiring, not matching
 * its key, not covering the service's names or not signed by the CA, publishes
 * the CA bundle, stores the Secret, and returns the pair to serve in *ret
 * (free with certs_pair_free). publish_ca is called on every run (so configs
 * the chart re-created get their caBundle back). A lost race with another
 * replica is resolved by reading the winner's Secret (up to 3 rounds).
 * Whatever the return code, *ret holds the best pair to serve now: the new
 * one, else the stored one while it is still valid, else nothing (all NULL);
 * e.g. a failed publish_ca returns its error with the stored pair in *ret. */
int certs_ensure(const struct certs_opts *o, const struct certs_store_ops *ops, void *ud,
                 time_t now, struct certs_pair *ret, struct op_status *st);

#endif
