/* config.c - kubeconfig text and in-cluster values -> struct kube_config
 * (pure: no file access; paths are only recorded, config_load.c reads them). */
#include "kube/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "base/yamljson.h"

void kube_config_init(struct kube_config *cfg) { memset(cfg, 0, sizeof(*cfg)); }

void kube_config_free(struct kube_config *cfg) {
    char *strs[] = {cfg->server, cfg->context, cfg->user, cfg->ns, cfg->origin, cfg->note,
                    cfg->proxy_url,
                    cfg->token_file, cfg->ca_file, cfg->cert_file, cfg->key_file, cfg->ns_file,
                    cfg->ca_pem, cfg->cert_pem};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    /* secrets: wipe before freeing */
    if (cfg->token) {
        memset(cfg->token, 0, strlen(cfg->token));
        free(cfg->token);
    }
    if (cfg->key_pem) {
        memset(cfg->key_pem, 0, cfg->key_len);
        free(cfg->key_pem);
    }
    memset(cfg, 0, sizeof(*cfg));
}

/* ---------- base64 (the *-data fields) ---------- */

static int b64val(unsigned char ch) {
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL alphabet, whitespace ignored, padding optional. 0 or -1. */
static int b64_decode(const char *s, char **ret, size_t *ret_len) {
    size_t n = strlen(s);
    char *out = xmalloc(n / 4 * 3 + 4);
    size_t o = 0, pad = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        int v = b64val(ch);
        if (v < 0 || pad) {   /* bad character, or data after padding */
            free(out);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || pad > 2) {   /* a lone trailing character cannot encode a byte */
        free(out);
        return -1;
    }
    out[o] = '\0';
    *ret = out;
    *ret_len = o;
    return 0;
}

/* ---------- kubeconfig ---------- */

struct parse {
    const json_t *root;
    const char *origin;   /* for messages: never NULL */
    const char *dir;      /* directory of the kubeconfig, for relative paths; NULL = keep */
    struct kube_config *cfg;
    struct op_status *st;
};

/* Reads an optional string field; OP_EINVALID naming where.key if it is not a string. */
static int opt_str(struct parse *P, const json_t *obj, const char *where, const char *key,
                   const char **ret) {
    json_t *v = json_object_get(obj, key);
    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return op_fail(P->st, OP_EINVALID, "%s: %s.%s: must be a string", P->origin, where, key);
    *ret = json_string_value(v);
    return 0;
}

/* Finds the entry named name in the list field (clusters, contexts, users) and
 * returns its inner object (entry[inner]); *index gets its position. */
static int find_named(struct parse *P, const char *list, const char *inner, const char *name,
                      const char *what, const json_t **ret, size_t *index) {
    json_t *arr = json_object_get(P->root, list);
    if (arr && !json_is_null(arr) && !json_is_array(arr))
        return op_fail(P->st, OP_EINVALID, "%s: %s: must be a list", P->origin, list);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (!n || strcmp(n, name))
            continue;
        json_t *in = json_object_get(e, inner);
        if (!json_is_object(in))
            return op_fail(P->st, OP_EINVALID, "%s: %s[%zu].%s (%s \"%s\"): must be a mapping",
                           P->origin, list, i, inner, what, name);
        *ret = in;
        *index = i;
        return 0;
    }
    /* list the names there are, so a typo is obvious */
    struct strbuf names;
    strbuf_init(&names, 0);
    json_array_foreach(arr, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && names.len < 300)
            strbuf_printf(&names, "%s\"%s\"", names.len ? ", " : "", n);
    }
    int rc = op_fail(P->st, OP_EINVALID, "%s: %s \"%s\" not found (%s: %s)", P->origin, what,
                     name, list, names.len ? names.buf : "none");
    strbuf_free(&names);
    return rc;
}

static char *resolve_path(struct parse *P, const char *path) {
    if (path[0] == '/' || !P->dir)
        return xstrdup(path);
    if (path[0] == '~' && path[1] == '/')
        return xstrdup(path);   /* kubectl does not expand ~ either; left for the read error */
    return xasprintf("%s/%s", P->dir, path);
}

/* data (base64) wins over file, as in kubectl. */
static int file_or_data(struct parse *P, const json_t *obj, const char *where, const char *fkey,
                        char **file, char **pem, size_t *pem_len) {
    const char *f, *d;
    char dkey[64];
    snprintf(dkey, sizeof(dkey), "%s-data", fkey);
    int rc;
    if ((rc = opt_str(P, obj, where, fkey, &f)) < 0 || (rc = opt_str(P, obj, where, dkey, &d)) < 0)
        return rc;
    if (d && *d) {
        if (b64_decode(d, pem, pem_len) < 0 || *pem_len == 0)
            return op_fail(P->st, OP_EINVALID, "%s: %s.%s: not valid base64", P->origin, where,
                           dkey);
        return 0;
    }
    if (f && *f)
        *file = resolve_path(P, f);
    return 0;
}

static int parse_cluster(struct parse *P, const char *name) {
    const json_t *c;
    size_t i;
    int rc = find_named(P, "clusters", "cluster", name, "cluster", &c, &i);
    if (rc < 0)
        return rc;
    char where[96];
    snprintf(where, sizeof(where), "clusters[%zu].cluster", i);
    const char *server;
    if ((rc = opt_str(P, c, where, "server", &server)) < 0)
        return rc;
    if (!server || !*server)
        return op_fail(P->st, OP_EINVALID, "%s: %s.server (cluster \"%s\"): required", P->origin,
                       where, name);
    if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
        return op_fail(P->st, OP_EINVALID,
                       "%s: %s.server (cluster \"%s\"): must start with https:// or http://, got \"%s\"",
                       P->origin, where, name, server);
    size_t n = strlen(server);
    while (n > 8 && server[n - 1] == '/')
        n--;
    P->cfg->server = xstrndup(server, n);
    json_t *ins = json_object_get(c, "insecure-skip-tls-verify");
    if (ins && !json_is_null(ins) && !json_is_boolean(ins))
        return op_fail(P->st, OP_EINVALID, "%s: %s.insecure-skip-tls-verify: must be true or false",
                       P->origin, where);
    P->cfg->insecure_skip_tls_verify = json_is_true(ins);
    const char *proxy, *sni;
    if ((rc = opt_str(P, c, where, "proxy-url", &proxy)) < 0 ||
        (rc = opt_str(P, c, where, "tls-server-name", &sni)) < 0)
        return rc;
    if (proxy && *proxy)
        P->cfg->proxy_url = xstrdup(proxy);
    if (sni && *sni)
        P->cfg->note = xasprintf("%s.tls-server-name (cluster \"%s\") is not supported and is "
                                 "ignored: the server certificate must match the server URL",
                                 where, name);
    return file_or_data(P, c, where, "certificate-authority", &P->cfg->ca_file, &P->cfg->ca_pem,
                        &P->cfg->ca_len);
}

static int parse_user(struct parse *P, const char *name) {
    const json_t *u;
    size_t i;
    int rc = find_named(P, "users", "user", name, "user", &u, &i);
    if (rc < 0)
        return rc;
    char where[96];
    snprintf(where, sizeof(where), "users[%zu].user", i);
    static const char *const unsupported[] = {"exec", "auth-provider", "username", "password"};
    for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++) {
        json_t *v = json_object_get(u, unsupported[k]);
        if (!v || json_is_null(v))
            continue;
        const char *how = k < 2 ? "credential plugins (exec/auth-provider) are"
                                : "basic authentication is";
        return op_fail(P->st, OP_EUNSUPPORTED,
                       "%s: user \"%s\" (%s.%s): %s not supported by tracing-operator; use a "
                       "token, tokenFile or client certificate (e.g. a ServiceAccount token)",
                       P->origin, name, where, unsupported[k], how);
    }
    const char *token, *token_file;
    if ((rc = opt_str(P, u, where, "token", &token)) < 0 ||
        (rc = opt_str(P, u, where, "tokenFile", &token_file)) < 0)
        return rc;
    for (const char *p = token; p && *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return op_fail(P->st, OP_EINVALID, "%s: user \"%s\" (%s.token): contains whitespace "
                           "or non-ASCII bytes", P->origin, name, where);
    if (token && *token)
        P->cfg->token = xstrdup(token);
    if (token_file && *token_file)
        P->cfg->token_file = resolve_path(P, token_file);
    if ((rc = file_or_data(P, u, where, "client-certificate", &P->cfg->cert_file,
                           &P->cfg->cert_pem, &P->cfg->cert_len)) < 0 ||
        (rc = file_or_data(P, u, where, "client-key", &P->cfg->key_file, &P->cfg->key_pem,
                           &P->cfg->key_len)) < 0)
        return rc;
    int has_cert = P->cfg->cert_file || P->cfg->cert_pem;
    int has_key = P->cfg->key_file || P->cfg->key_pem;
    if (has_cert != has_key)
        return op_fail(P->st, OP_EINVALID, "%s: user \"%s\" (%s): client-certificate and "
                       "client-key must be given together", P->origin, name, where);
    return 0;
}

static char *dir_of(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return NULL;   /* relative to the working directory: leave paths as they are */
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static int parse_root(struct parse *P, const char *context) {
    if (!json_is_object(P->root))
        return op_fail(P->st, OP_EINVALID, "%s: a kubeconfig must be a mapping", P->origin);
    const char *cur;
    int rc;
    if ((rc = opt_str(P, P->root, "kubeconfig", "current-context", &cur)) < 0)
        return rc;
    const char *ctxname = context && *context ? context : cur;
    if (!ctxname || !*ctxname)
        return op_fail(P->st, OP_EINVALID, "%s: current-context is not set; pass --context",
                       P->origin);
    const json_t *ctx;
    size_t i;
    if ((rc = find_named(P, "contexts", "context", ctxname, "context", &ctx, &i)) < 0)
        return rc;
    char where[96];
    snprintf(where, sizeof(where), "contexts[%zu].context", i);
    const char *cluster, *user, *ns;
    if ((rc = opt_str(P, ctx, where, "cluster", &cluster)) < 0 ||
        (rc = opt_str(P, ctx, where, "user", &user)) < 0 ||
        (rc = opt_str(P, ctx, where, "namespace", &ns)) < 0)
        return rc;
    if (!cluster || !*cluster)
        return op_fail(P->st, OP_EINVALID, "%s: %s.cluster (context \"%s\"): required", P->origin,
                       where, ctxname);
    P->cfg->context = xstrdup(ctxname);
    P->cfg->ns = xstrdup(ns && *ns ? ns : "default");
    P->cfg->user = xstrdup(user ? user : "");
    if ((rc = parse_cluster(P, cluster)) < 0)
        return rc;
    if (user && *user && (rc = parse_user(P, user)) < 0)
        return rc;
    return 0;
}

int kube_config_parse(const char *text, size_t len, const char *origin, const char *context,
                      struct kube_config *cfg, struct op_status *st) {
    struct op_status yst = {0};
    const char *org = origin && *origin ? origin : "kubeconfig";
    json_t *root = yaml_load_one(text, len, &yst);
    if (!root)
        return op_fail(st, yst.code ? yst.code : OP_EPARSE, "%s: %s", org, yst.msg);
    struct parse P = {.root = root, .origin = org, .cfg = cfg, .st = st};
    char *dir = dir_of(origin);
    P.dir = dir;
    kube_config_free(cfg);
    int rc = parse_root(&P, context);
    free(dir);
    json_decref(root);
    if (rc < 0) {
        kube_config_free(cfg);
        return rc;
    }
    cfg->origin = xstrdup(org);
    return 0;
}

int kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                           struct kube_config *cfg, struct op_status *st) {
    if (!host || !*host || !port || !*port)
        return op_fail(st, OP_EINVALID, "in-cluster: KUBERNETES_SERVICE_HOST and "
                       "KUBERNETES_SERVICE_PORT must both be set");
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return op_fail(st, OP_EINVALID, "in-cluster: KUBERNETES_SERVICE_PORT \"%s\" is not "
                           "a port number", port);
    const char *dir = sa_dir && *sa_dir ? sa_dir : KUBE_SA_DIR;
    kube_config_free(cfg);
    if (strchr(host, ':') && host[0] != '[')
        cfg->server = xasprintf("https://[%s]:%s", host, port);
    else
        cfg->server = xasprintf("https://%s:%s", host, port);
    cfg->context = xstrdup("in-cluster");
    cfg->user = xstrdup("");
    cfg->ns = xstrdup("default");
    cfg->origin = xstrdup("in-cluster");
    cfg->token_file = xasprintf("%s/token", dir);
    cfg->ca_file = xasprintf("%s/ca.crt", dir);
    cfg->ns_file = xasprintf("%s/namespace", dir);
    return 0;
}
