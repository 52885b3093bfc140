/* certs.c - CA and serving certificates (OpenSSL), the Secret that stores
 * them, the webhook configurations and their caBundle, and the
 * create-or-rotate decision (see certs.h). No clock, no files, no API calls:
 * the time and the cluster come in as parameters. */
#include "webhook/certs.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

#define MANAGED_BY "tracing-operator"

/* ---- small helpers -------------------------------------------------------- */

static int no_password(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static int ssl_fail(struct op_status *st, int code, const char *what) {
    unsigned long e = ERR_peek_last_error();
    char ebuf[160] = "";
    if (e)
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
    ERR_clear_error();
    return op_fail(st, code, "%s%s%s", what, ebuf[0] ? ": " : "", ebuf);
}

void certs_pair_free(struct certs_pair *p) {
    if (!p)
        return;
    free(p->cert_pem);
    free(p->key_pem);
    free(p->ca_pem);
    free(p->ca_key_pem);
    memset(p, 0, sizeof(*p));
}

static X509 *parse_cert(const char *pem) {
    if (!pem || !*pem)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}

static STACK_OF(X509) *parse_bundle(const char *pem) {
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!pem)
        return sk;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL)
        sk_X509_push(sk, x);
    BIO_free(b);
    ERR_clear_error();
    return sk;
}

static EVP_PKEY *parse_key(const char *pem) {
    if (!pem || !*pem)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

static char *bio_to_string(BIO *b) {
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    return xstrndup(data ? data : "", n > 0 ? (size_t)n : 0);
}

static char *cert_to_pem(X509 *x) {
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_X509(b, x) != 1) {
        BIO_free(b);
        return NULL;
    }
    char *s = bio_to_string(b);
    BIO_free(b);
    return s;
}

static char *key_to_pem(EVP_PKEY *k) {
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
        BIO_free(b);
        return NULL;
    }
    char *s = bio_to_string(b);
    BIO_free(b);
    return s;
}

static int asn1_to_time(const ASN1_TIME *t, time_t *ret) {
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *ret = timegm(&tm);
    return 0;
}

/* ---- base64 (RFC 4648, padded, no line breaks) ----------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const char *s) {
    size_t n = strlen(s);
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = B64[(v >> 18) & 63];
        *o++ = B64[(v >> 12) & 63];
        *o++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_val(char c) {
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Strict decode into a NUL-terminated string; NULL on bad input or an embedded NUL. */
static char *b64_decode_text(const char *s) {
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    char *out = xmalloc(n / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = b64_val(s[i + j]);
            if (v[j] < 0 && !(last && j >= 2 && s[i + j] == '=')) {
                free(out);
                return NULL;
            }
        }
        if (last && s[i + 2] == '=' && s[i + 3] != '=') {
            free(out);
            return NULL;
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
                     (unsigned)(v[2] < 0 ? 0 : v[2]) << 6 | (unsigned)(v[3] < 0 ? 0 : v[3]);
        out[o++] = (char)(w >> 16);
        if (v[2] >= 0)
            out[o++] = (char)(w >> 8 & 0xff);
        if (v[3] >= 0)
            out[o++] = (char)(w & 0xff);
    }
    out[o] = '\0';
    if (strlen(out) != o) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- generation ------------------------------------------------------------ */

static EVP_PKEY *gen_p256(void) {
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    EVP_PKEY *k = NULL;
    if (c && EVP_PKEY_keygen_init(c) == 1 &&
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1) == 1)
        EVP_PKEY_keygen(c, &k);
    EVP_PKEY_CTX_free(c);
    return k;
}

static int set_serial(X509 *x) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);   /* positive, 16 bytes */
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int set_name(X509 *x, const char *cn, int issuer_too) {
    X509_NAME *n = X509_NAME_new();
    int ok = n &&
             X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                        (const unsigned char *)"tracing-operator", -1, -1,
                                        0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) == 1 &&
             X509_set_subject_name(x, n) == 1 && (!issuer_too || X509_set_issuer_name(x, n) == 1);
    X509_NAME_free(n);
    return ok ? 0 : -1;
}

static X509 *new_cert(EVP_PKEY *key, time_t not_before, time_t not_after) {
    X509 *x = X509_new();
    if (!x || X509_set_version(x, 2) != 1 || set_serial(x) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), not_after) || X509_set_pubkey(x, key) != 1) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int certs_gen_ca(const char *common_name, time_t now, int64_t validity_s, char **ret_cert_pem,
                 char **ret_key_pem, struct op_status *st) {
    *ret_cert_pem = *ret_key_pem = NULL;
    if (!common_name || !*common_name || strlen(common_name) > 64 || validity_s <= 0)
        return op_fail(st, OP_EINVALID, "CA needs a common name (<= 64) and a validity");
    EVP_PKEY *key = gen_p256();
    X509 *x = key ? new_cert(key, now - CERTS_BACKDATE_S, now + (time_t)validity_s) : NULL;
    int rc = 0;
    if (!x || set_name(x, common_name, 1) ||
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
        add_ext(x, x, NID_subject_key_identifier, "hash") ||
        add_ext(x, x, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(x, key, EVP_sha256()) <= 0) {
        rc = ssl_fail(st, OP_EINVALID, "cannot create the CA certificate");
        goto out;
    }
    *ret_cert_pem = cert_to_pem(x);
    *ret_key_pem = key_to_pem(key);
    if (!*ret_cert_pem || !*ret_key_pem) {
        free(*ret_cert_pem);
        free(*ret_key_pem);
        *ret_cert_pem = *ret_key_pem = NULL;
        rc = ssl_fail(st, OP_EINVALID, "cannot encode the CA");
    }
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static int valid_host(const char *h) {
    size_t n = strlen(h);
    if (n == 0 || n > 253)
        return 0;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-*:", *p))
            return 0;
    return 1;
}

static int add_sans(X509 *x, const char *const *hosts, size_t n, struct op_status *st) {
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!hosts[i] || !valid_host(hosts[i])) {
            rc = op_fail(st, OP_EINVALID, "webhook host \"%s\" is not a DNS name or IP address",
                         hosts[i] ? hosts[i] : "");
            break;
        }
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(hosts[i]);
        ERR_clear_error();
        if (ip) {
            GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        } else {
            if (strchr(hosts[i], ':')) {
                GENERAL_NAME_free(g);
                rc = op_fail(st, OP_EINVALID, "webhook host \"%s\" is not a valid IP address",
                             hosts[i]);
                break;
            }
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            char *lower = xstrdup(hosts[i]);
            for (char *p = lower; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            ASN1_STRING_set(s, lower, -1);
            free(lower);
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
        }
        sk_GENERAL_NAME_push(names, g);
    }
    if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        rc = ssl_fail(st, OP_EINVALID, "cannot add the subject alternative names");
    GENERAL_NAMES_free(names);
    return rc;
}

int certs_gen_serving(const char *ca_cert_pem, const char *ca_key_pem,
                      const char *const *hosts, size_t n_hosts, time_t now, int64_t validity_s,
                      char **ret_cert_pem, char **ret_key_pem, struct op_status *st) {
    *ret_cert_pem = *ret_key_pem = NULL;
    if (!hosts || n_hosts == 0 || validity_s <= 0)
        return op_fail(st, OP_EINVALID, "serving certificate needs at least one host and a "
                                        "validity");
    X509 *ca = parse_cert(ca_cert_pem);
    EVP_PKEY *ca_key = parse_key(ca_key_pem);
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    int rc = 0;
    if (!ca || !ca_key || X509_check_private_key(ca, ca_key) != 1) {
        rc = ssl_fail(st, OP_EINVALID, "CA certificate or key unusable (or not a pair)");
        goto out;
    }
    time_t ca_end = 0, end = now + (time_t)validity_s;
    if (asn1_to_time(X509_get0_notAfter(ca), &ca_end) == 0 && ca_end < end)
        end = ca_end;
    key = gen_p256();
    x = key ? new_cert(key, now - CERTS_BACKDATE_S, end) : NULL;
    char cn[65];
    snprintf(cn, sizeof(cn), "%s", hosts[0] ? hosts[0] : "");
    if (!x || set_name(x, cn, 0) ||
        X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1) {
        rc = ssl_fail(st, OP_EINVALID, "cannot create the serving certificate");
        goto out;
    }
    if ((rc = add_sans(x, hosts, n_hosts, st)) != 0)
        goto out;
    if (add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
        add_ext(x, ca, NID_ext_key_usage, "serverAuth") ||
        add_ext(x, ca, NID_subject_key_identifier, "hash") ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        rc = ssl_fail(st, OP_EINVALID, "cannot sign the serving certificate");
        goto out;
    }
    *ret_cert_pem = cert_to_pem(x);
    *ret_key_pem = key_to_pem(key);
    if (!*ret_cert_pem || !*ret_key_pem) {
        free(*ret_cert_pem);
        free(*ret_key_pem);
        *ret_cert_pem = *ret_key_pem = NULL;
        rc = ssl_fail(st, OP_EINVALID, "cannot encode the serving certificate");
    }
out:
    X509_free(x);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

char **certs_service_hosts(const char *svc, const char *ns, const char *const *extra,
                           size_t n_extra, size_t *ret_n) {
    char **h = xcalloc(n_extra + 5, sizeof(char *));
    size_t n = 0;
    if (svc && *svc && ns && *ns) {
        h[n++] = xstrdup(svc);
        h[n++] = xasprintf("%s.%s", svc, ns);
        h[n++] = xasprintf("%s.%s.svc", svc, ns);
        h[n++] = xasprintf("%s.%s.svc.cluster.local", svc, ns);
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i] || !*extra[i])
            continue;
        int dup = 0;
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcasecmp(h[j], extra[i]) == 0;
        if (!dup)
            h[n++] = xstrdup(extra[i]);
    }
    h[n] = NULL;
    if (ret_n)
        *ret_n = n;
    return h;
}

void certs_hosts_free(char **hosts) {
    if (!hosts)
        return;
    for (char **p = hosts; *p; p++)
        free(*p);
    free(hosts);
}

/* ---- inspection ------------------------------------------------------------ */

static int cert_times(const char *pem, time_t *nb, time_t *na, struct op_status *st) {
    X509 *x = parse_cert(pem);
    if (!x)
        return op_fail(st, OP_EINVALID, "not a PEM certificate");
    int rc = 0;
    if (asn1_to_time(X509_get0_notBefore(x), nb) || asn1_to_time(X509_get0_notAfter(x), na))
        rc = op_fail(st, OP_EINVALID, "certificate validity does not parse");
    X509_free(x);
    return rc;
}

int certs_not_before(const char *pem, time_t *ret, struct op_status *st) {
    time_t na = 0;
    return cert_times(pem, ret, &na, st);
}

int certs_not_after(const char *pem, time_t *ret, struct op_status *st) {
    time_t nb = 0;
    return cert_times(pem, &nb, ret, st);
}

int certs_serial_hex(const char *pem, char *out, size_t n, struct op_status *st) {
    X509 *x = parse_cert(pem);
    if (!x)
        return op_fail(st, OP_EINVALID, "not a PEM certificate");
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = 0;
    if (!hex || strlen(hex) + 1 > n) {
        rc = op_fail(st, OP_EINVALID, "serial number unreadable or too long");
    } else {
        for (size_t i = 0; hex[i]; i++)
            out[i] = (char)tolower((unsigned char)hex[i]);
        out[strlen(hex)] = '\0';
    }
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    return rc;
}

int certs_need_rotation(const char *pem, time_t now, int64_t renew_before_s) {
    time_t nb = 0, na = 0;
    int rc = cert_times(pem, &nb, &na, NULL);
    if (rc)
        return rc;
    if (now < nb || now >= na)
        return 1;
    int64_t life = (int64_t)na - (int64_t)nb, left = (int64_t)na - (int64_t)now;
    int64_t threshold = life / 3 > renew_before_s ? life / 3 : renew_before_s;
    return left < threshold ? 1 : 0;
}

int certs_check_key(const char *cert_pem, const char *key_pem, struct op_status *st) {
    X509 *x = parse_cert(cert_pem);
    EVP_PKEY *k = parse_key(key_pem);
    int rc = 0;
    if (!x)
        rc = op_fail(st, OP_EINVALID, "not a PEM certificate");
    else if (!k)
        rc = op_fail(st, OP_EINVALID, "not an unencrypted PEM private key");
    else if (X509_check_private_key(x, k) != 1)
        rc = op_fail(st, OP_EINVALID, "the key does not belong to the certificate");
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static int covers_host(X509 *x, const char *host) {
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    ERR_clear_error();
    int found = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (ip && g->type == GEN_IPADD)
            found = ASN1_OCTET_STRING_cmp(ip, g->d.iPAddress) == 0;
        else if (!ip && g->type == GEN_DNS) {
            const char *d = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
            found = (size_t)ASN1_STRING_length(g->d.dNSName) == strlen(host) &&
                    strncasecmp(d, host, strlen(host)) == 0;
        }
    }
    ASN1_OCTET_STRING_free(ip);
    GENERAL_NAMES_free(names);
    return found;
}

int certs_verify(const char *cert_pem, const char *ca_bundle_pem, time_t now,
                 const char *const *hosts, size_t n_hosts, struct op_status *st) {
    X509 *x = parse_cert(cert_pem);
    STACK_OF(X509) *cas = parse_bundle(ca_bundle_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = 0;
    if (!x || sk_X509_num(cas) == 0) {
        rc = op_fail(st, OP_EINVALID, "%s", !x ? "not a PEM certificate" : "no CA certificate");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(store, sk_X509_value(cas, i));
    if (X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
        rc = ssl_fail(st, OP_EINVALID, "cannot set up verification");
        goto out;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
    if (X509_verify_cert(ctx) != 1) {
        rc = op_fail(st, OP_EINVALID, "certificate does not verify against the CA: %s",
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    for (size_t i = 0; i < n_hosts; i++)
        if (!covers_host(x, hosts[i])) {
            rc = op_fail(st, OP_EINVALID, "certificate does not cover \"%s\"", hosts[i]);
            goto out;
        }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(cas, X509_free);
    X509_free(x);
    return rc;
}

/* ---- the Secret ------------------------------------------------------------ */

static const char *const SECRET_KEYS[] = {"tls.crt", "tls.key", "ca.crt", "ca.key"};

static char **pair_slot(struct certs_pair *p, size_t i) {
    char **slots[] = {&p->cert_pem, &p->key_pem, &p->ca_pem, &p->ca_key_pem};
    return slots[i];
}

json_t *certs_secret_build(const char *ns, const char *name, const struct certs_pair *p,
                           const char *resource_version) {
    json_t *meta = json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", name ? name : "",
                             "namespace", ns ? ns : "", "labels", "app.kubernetes.io/managed-by",
                             MANAGED_BY, "app.kubernetes.io/component", "webhook-cert");
    if (resource_version && *resource_version)
        json_object_set_new(meta, "resourceVersion", json_string(resource_version));
    json_t *data = json_object();
    for (size_t i = 0; i < 4; i++) {
        const char *v = *pair_slot((struct certs_pair *)p, i);
        if (v) {
            char *b = b64_encode(v);
            json_object_set_new(data, SECRET_KEYS[i], json_string(b));
            free(b);
        }
    }
    json_t *sec = json_pack("{s:s, s:s, s:o, s:s, s:o}", "apiVersion", "v1", "kind", "Secret",
                            "metadata", meta, "type", "kubernetes.io/tls", "data", data);
    return sec;
}

/* lenient: skip values that do not decode instead of failing (certs_ensure keeps
 * whatever is still good, e.g. the CA when only tls.crt is damaged). */
static int secret_read(const json_t *secret, struct certs_pair *ret, int lenient,
                       struct op_status *st) {
    memset(ret, 0, sizeof(*ret));
    if (!json_is_object(secret))
        return op_fail(st, OP_EINVALID, "Secret: not an object");
    const char *kind = json_string_value(json_object_get(secret, "kind"));
    if (kind && strcmp(kind, "Secret") != 0)
        return op_fail(st, OP_EINVALID, "kind: expected Secret, got %s", kind);
    const json_t *data = json_object_get(secret, "data");
    if (!data || json_is_null(data))
        return 0;
    if (!json_is_object(data))
        return op_fail(st, OP_EINVALID, "data: expected an object");
    for (size_t i = 0; i < 4; i++) {
        const json_t *v = json_object_get(data, SECRET_KEYS[i]);
        if (!v)
            continue;
        char *text = json_is_string(v) ? b64_decode_text(json_string_value(v)) : NULL;
        if (!text && lenient)
            continue;
        if (!text) {
            certs_pair_free(ret);
            return op_fail(st, OP_EINVALID, "data.%s: not base64 text", SECRET_KEYS[i]);
        }
        *pair_slot(ret, i) = text;
    }
    return 0;
}

int certs_secret_read(const json_t *secret, struct certs_pair *ret, struct op_status *st) {
    return secret_read(secret, ret, 0, st);
}

/* ---- webhook configurations ------------------------------------------------ */

json_t *certs_cabundle_patch(const json_t *config, const char *ca_pem) {
    const json_t *hooks = json_object_get(config, "webhooks");
    if (!ca_pem || !json_is_array(hooks))
        return NULL;
    char *b64 = b64_encode(ca_pem);
    json_t *ops = json_array();
    for (size_t i = 0; i < json_array_size(hooks); i++) {
        const json_t *h = json_array_get(hooks, i);
        const char *name = json_string_value(json_object_get(h, "name"));
        const json_t *cc = json_object_get(h, "clientConfig");
        const char *have = json_string_value(json_object_get(cc, "caBundle"));
        if (!name || (have && strcmp(have, b64) == 0))
            continue;
        char path[96];
        snprintf(path, sizeof(path), "/webhooks/%zu/name", i);
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path", path,
                                             "value", name));
        if (json_is_object(cc)) {
            snprintf(path, sizeof(path), "/webhooks/%zu/clientConfig/caBundle", i);
            json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "add", "path", path,
                                                 "value", b64));
        } else {
            snprintf(path, sizeof(path), "/webhooks/%zu/clientConfig", i);
            json_array_append_new(ops, json_pack("{s:s, s:s, s:{s:s}}", "op", "add", "path",
                                                 path, "value", "caBundle", b64));
        }
    }
    free(b64);
    if (json_array_size(ops) == 0) {
        json_decref(ops);
        return NULL;
    }
    return ops;
}

static json_t *client_config(const struct certs_webhook_opts *o, const char *path) {
    json_t *cc = json_object();
    if (o->url) {
        size_t n = strlen(o->url);
        while (n && o->url[n - 1] == '/')
            n--;
        char *u = xasprintf("%.*s%s", (int)n, o->url, path);
        json_object_set_new(cc, "url", json_string(u));
        free(u);
    } else {
        json_object_set_new(cc, "service",
                            json_pack("{s:s, s:s, s:s, s:i}", "name",
                                      o->service ? o->service : CERTS_DEFAULT_SERVICE,
                                      "namespace", o->namespace, "path", path, "port",
                                      o->service_port ? o->service_port : 443));
    }
    if (o->ca_pem) {
        char *b = b64_encode(o->ca_pem);
        json_object_set_new(cc, "caBundle", json_string(b));
        free(b);
    }
    return cc;
}

static json_t *webhook(const struct certs_webhook_opts *o, const char *name, const char *path,
                       const char *failure_policy, json_t *rules) {
    return json_pack("{s:s, s:[s], s:o, s:s, s:s, s:o, s:s, s:i}", "name", name,
                     "admissionReviewVersions", "v1", "clientConfig", client_config(o, path),
                     "failurePolicy", failure_policy, "matchPolicy", "Equivalent", "rules",
                     rules, "sideEffects", "None", "timeoutSeconds", 5);
}

static int webhook_opts_ok(const struct certs_webhook_opts *o) {
    if (!o || !o->namespace || !*o->namespace)
        return 0;
    return !o->url || strncmp(o->url, "https://", 8) == 0;
}

static json_t *config_object(const struct certs_webhook_opts *o, const char *kind,
                             json_t *hooks) {
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:o}", "apiVersion",
                     "admissionregistration.k8s.io/v1", "kind", kind, "metadata", "name",
                     o->config_name ? o->config_name : CERTS_DEFAULT_CONFIG, "labels",
                     "app.kubernetes.io/managed-by", MANAGED_BY, "webhooks", hooks);
}

/* The namespaces of user workloads: all but kube-system and the operator's own. */
static json_t *user_namespaces(const struct certs_webhook_opts *o) {
    json_t *values = json_pack("[s]", "kube-system");
    if (strcmp(o->namespace, "kube-system") != 0)
        json_array_append_new(values, json_string(o->namespace));
    return json_pack("{s:[{s:s, s:s, s:o}]}", "matchExpressions", "key",
                     "kubernetes.io/metadata.name", "operator", "NotIn", "values", values);
}

/* The pod webhook for the user namespaces whose CERTS_POLICY_LABEL is (op "In") or is
 * not (op "NotIn") CERTS_POLICY_REQUIRED. */
static json_t *pod_hook(const struct certs_webhook_opts *o, const char *name,
                        const char *failure_policy, const char *op) {
    json_t *rules = json_pack("[{s:[s], s:[s], s:[s], s:[s], s:s}]", "apiGroups", "",
                              "apiVersions", "v1", "operations", "CREATE", "resources", "pods",
                              "scope", "Namespaced");
    json_t *h = webhook(o, name, "/mutate-v1-pod", failure_policy, rules);
    json_t *sel = user_namespaces(o);
    json_array_append_new(json_object_get(sel, "matchExpressions"),
                          json_pack("{s:s, s:s, s:[s]}", "key", CERTS_POLICY_LABEL, "operator",
                                    op, "values", CERTS_POLICY_REQUIRED));
    json_object_set_new(h, "namespaceSelector", sel);
    json_object_set_new(h, "reinvocationPolicy", json_string("IfNeeded"));
    return h;
}

json_t *certs_mutating_config(const struct certs_webhook_opts *o) {
    if (!webhook_opts_ok(o))
        return NULL;
    json_t *hooks = json_pack("[o, o]", pod_hook(o, CERTS_WEBHOOK_POD, "Ignore", "NotIn"),
                              pod_hook(o, CERTS_WEBHOOK_POD_REQUIRED, "Fail", "In"));
    return config_object(o, "MutatingWebhookConfiguration", hooks);
}

static json_t *crd_rules(const char *resource) {
    return json_pack("[{s:[s], s:[s], s:[s, s], s:[s], s:s}]", "apiGroups", "tracemodel.dev",
                     "apiVersions", "v1alpha1", "operations", "CREATE", "UPDATE", "resources",
                     resource, "scope", "*");
}

/* Workloads whose own metadata may carry injection annotations (workload.h). */
static json_t *workload_hook(const struct certs_webhook_opts *o) {
    json_t *rules = json_pack(
        "[{s:[s], s:[s], s:[s, s], s:[s, s, s], s:s}, {s:[s], s:[s], s:[s, s], s:[s, s], s:s}]",
        "apiGroups", "apps", "apiVersions", "v1", "operations", "CREATE", "UPDATE",
        "resources", "deployments", "statefulsets", "daemonsets", "scope", "Namespaced",
        "apiGroups", "batch", "apiVersions", "v1", "operations", "CREATE", "UPDATE",
        "resources", "jobs", "cronjobs", "scope", "Namespaced");
    json_t *h = webhook(o, CERTS_WEBHOOK_WORKLOAD, "/validate-workload", "Ignore", rules);
    json_object_set_new(h, "namespaceSelector", user_namespaces(o));
    json_object_set_new(h, "timeoutSeconds", json_integer(2));   /* in every workload's path */
    return h;
}

json_t *certs_validating_config(const struct certs_webhook_opts *o) {
    if (!webhook_opts_ok(o))
        return NULL;
    json_t *hooks = json_pack(
        "[o, o, o]",
        webhook(o, CERTS_WEBHOOK_TM, "/validate-tracingmodel", "Fail", crd_rules("tracingmodels")),
        webhook(o, CERTS_WEBHOOK_TINST, "/validate-instrumentation", "Fail",
                crd_rules("instrumentations")),
        workload_hook(o));
    return config_object(o, "ValidatingWebhookConfiguration", hooks);
}

/* ---- orchestration --------------------------------------------------------- */

/* The first certificate of a bundle, re-encoded; NULL when there is none. */
static char *first_cert(const char *bundle) {
    X509 *x = parse_cert(bundle);
    char *s = x ? cert_to_pem(x) : NULL;
    X509_free(x);
    return s;
}

struct decision {
    int ca_ok, leaf_ok;
};

static struct decision decide(const struct certs_pair *cur, const struct certs_opts *o,
                              char **hosts, size_t n_hosts, time_t now) {
    struct decision d = {0, 0};
    char *ca = first_cert(cur->ca_pem);
    d.ca_ok = ca && cur->ca_key_pem && certs_check_key(ca, cur->ca_key_pem, NULL) == 0 &&
              certs_need_rotation(ca, now, o->renew_before_s) == 0;
    d.leaf_ok = d.ca_ok && cur->cert_pem && cur->key_pem &&
                certs_check_key(cur->cert_pem, cur->key_pem, NULL) == 0 &&
                certs_need_rotation(cur->cert_pem, now, o->renew_before_s) == 0 &&
                certs_verify(cur->cert_pem, ca, now, (const char *const *)hosts, n_hosts,
                             NULL) == 0;
    free(ca);
    return d;
}

/* Builds the next pair from cur according to d. */
static int renew(const struct certs_pair *cur, struct decision d, const struct certs_opts *o,
                 char **hosts, size_t n_hosts, time_t now, struct certs_pair *next,
                 struct op_status *st) {
    memset(next, 0, sizeof(*next));
    int rc = 0;
    char *ca = NULL;
    if (d.ca_ok) {
        next->ca_pem = xstrdup(cur->ca_pem);
        next->ca_key_pem = xstrdup(cur->ca_key_pem);
        ca = first_cert(cur->ca_pem);
    } else {
        char *ca_key = NULL;
        rc = certs_gen_ca("tracing-operator-webhook-ca", now, o->ca_validity_s, &ca, &ca_key,
                          st);
        if (rc)
            goto out;
        next->ca_key_pem = ca_key;
        /* keep trusting the previous CA while it is valid */
        char *prev = first_cert(cur->ca_pem);
        time_t prev_end = 0;
        if (prev && certs_not_after(prev, &prev_end, NULL) == 0 && prev_end > now)
            next->ca_pem = xasprintf("%s%s", ca, prev);
        else
            next->ca_pem = xstrdup(ca);
        free(prev);
    }
    rc = certs_gen_serving(ca, next->ca_key_pem, (const char *const *)hosts, n_hosts, now,
                           o->cert_validity_s, &next->cert_pem, &next->key_pem, st);
out:
    free(ca);
    if (rc)
        certs_pair_free(next);
    return rc;
}

static void take_pair(struct certs_pair *dst, struct certs_pair *src) {
    certs_pair_free(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

/* cur is still servable (valid now, key matches): keep it as a fallback. */
static int servable(const struct certs_pair *p, time_t now) {
    time_t nb = 0, na = 0;
    return p->cert_pem && p->key_pem && certs_check_key(p->cert_pem, p->key_pem, NULL) == 0 &&
           cert_times(p->cert_pem, &nb, &na, NULL) == 0 && nb <= now && now < na;
}

int certs_ensure(const struct certs_opts *in, const struct certs_store_ops *ops, void *ud,
                 time_t now, struct certs_pair *ret, struct op_status *st) {
    memset(ret, 0, sizeof(*ret));
    if (!in || !in->namespace || !*in->namespace || !ops || !ops->get_secret ||
        (!in->read_only && (!ops->create_secret || !ops->update_secret)))
        return op_fail(st, OP_EINVALID, "certs_ensure: namespace and store callbacks required");
    struct certs_opts o = *in;
    if (!o.secret_name)
        o.secret_name = CERTS_DEFAULT_SECRET;
    if (!o.service)
        o.service = CERTS_DEFAULT_SERVICE;
    if (o.ca_validity_s <= 0)
        o.ca_validity_s = CERTS_CA_VALIDITY_S;
    if (o.cert_validity_s <= 0)
        o.cert_validity_s = CERTS_CERT_VALIDITY_S;
    if (o.renew_before_s <= 0)
        o.renew_before_s = CERTS_RENEW_BEFORE_S;
    size_t n_hosts = 0;
    char **hosts = certs_service_hosts(o.service, o.namespace, o.extra_hosts, o.n_extra_hosts,
                                       &n_hosts);
    int rc = OP_ECONFLICT;
    for (int attempt = 0; attempt < 3; attempt++) {
        json_t *sec = NULL;
        struct certs_pair cur = {0}, next = {0};
        rc = ops->get_secret(ud, o.namespace, o.secret_name, &sec, st);
        if (rc && rc != OP_ENOTFOUND)
            break;
        if (sec && secret_read(sec, &cur, 1, NULL) != 0)
            memset(&cur, 0, sizeof(cur));   /* not a Secret at all: start over */
        struct decision d = decide(&cur, &o, hosts, n_hosts, now);
        if (d.ca_ok && d.leaf_ok) {
            rc = ops->publish_ca ? ops->publish_ca(ud, cur.ca_pem, st) : 0;
            take_pair(ret, &cur);
            json_decref(sec);
            break;
        }
        if (o.read_only) {
            rc = op_fail(st, OP_ENOTFOUND, "Secret %s/%s holds no usable webhook certificate "
                         "yet", o.namespace, o.secret_name);
            if (servable(&cur, now))
                take_pair(ret, &cur);
            certs_pair_free(&cur);
            json_decref(sec);
            break;
        }
        rc = renew(&cur, d, &o, hosts, n_hosts, now, &next, st);
        if (rc == 0 && ops->publish_ca)
            rc = ops->publish_ca(ud, next.ca_pem, st);   /* trust first, then serve */
        if (rc == 0) {
            const char *rv = json_string_value(
                json_object_get(json_object_get(sec, "metadata"), "resourceVersion"));
            json_t *obj = certs_secret_build(o.namespace, o.secret_name, &next, rv);
            rc = sec ? ops->update_secret(ud, obj, st) : ops->create_secret(ud, obj, st);
            json_decref(obj);
        }
        if (rc == 0)
            take_pair(ret, &next);
        else if (servable(&cur, now))
            take_pair(ret, &cur);
        certs_pair_free(&cur);
        certs_pair_free(&next);
        json_decref(sec);
        if ((rc != OP_ECONFLICT && rc != OP_EALREADY) || attempt == 2)
            break;
        certs_pair_free(ret);   /* lost a race: read the winner's Secret */
    }
    certs_hosts_free(hosts);
    return rc;
}
