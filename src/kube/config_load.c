/* config_load.c - the file-reading and environment edge of the kube config:
 * kubectl's loading order and reading the CA/cert/key/token/namespace files. */
#include "kube/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

#define KUBECONFIG_MAX (16u * 1024 * 1024)
#define PEM_MAX (4u * 1024 * 1024)
#define TOKEN_MAX (64u * 1024)

/* Reads a whole regular file (at most max bytes) into a NUL-terminated buffer. */
static int read_file(const char *path, const char *what, size_t max, char **ret, size_t *ret_len,
                     struct op_status *st) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return op_fail(st, errno == ENOENT ? OP_ENOTFOUND : OP_EIO, "%s %s: %s", what, path,
                       strerror(errno));
    struct strbuf b;
    strbuf_init(&b, max);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (strbuf_append(&b, chunk, n) < 0) {
            rc = op_fail(st, OP_ETOOBIG, "%s %s: larger than %zu bytes", what, path, max);
            break;
        }
    if (rc == 0 && ferror(f))
        rc = op_fail(st, OP_EIO, "%s %s: read error", what, path);
    fclose(f);
    if (rc < 0) {
        strbuf_free(&b);
        return rc;
    }
    *ret = strbuf_detach(&b, ret_len);
    return 0;
}

static void trim_right(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

int kube_read_token_file(const char *path, char **ret, struct op_status *st) {
    size_t n;
    char *tok;
    int rc = read_file(path, "token file", TOKEN_MAX, &tok, &n, st);
    if (rc < 0)
        return rc;
    if (strlen(tok) != n) {
        free(tok);
        return op_fail(st, OP_EINVALID, "token file %s: contains a NUL byte", path);
    }
    trim_right(tok);
    if (!*tok) {
        free(tok);
        return op_fail(st, OP_EINVALID, "token file %s: empty", path);
    }
    for (const char *p = tok; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            memset(tok, 0, n);
            free(tok);
            return op_fail(st, OP_EINVALID, "token file %s: the token contains whitespace or "
                           "non-ASCII bytes", path);
        }
    *ret = tok;
    return 0;
}

static int read_pem(const char *path, const char *what, char **pem, size_t *len,
                    struct op_status *st) {
    if (!path || *pem)
        return 0;
    return read_file(path, what, PEM_MAX, pem, len, st);
}

int kube_config_read_files(struct kube_config *cfg, struct op_status *st) {
    int rc;
    if ((rc = read_pem(cfg->ca_file, "certificate-authority", &cfg->ca_pem, &cfg->ca_len, st)) < 0 ||
        (rc = read_pem(cfg->cert_file, "client-certificate", &cfg->cert_pem, &cfg->cert_len, st)) < 0 ||
        (rc = read_pem(cfg->key_file, "client-key", &cfg->key_pem, &cfg->key_len, st)) < 0)
        return rc;
    if (cfg->token_file) {
        char *tok;
        if ((rc = kube_read_token_file(cfg->token_file, &tok, st)) < 0)
            return rc;
        if (cfg->token) {
            memset(cfg->token, 0, strlen(cfg->token));
            free(cfg->token);
        }
        cfg->token = tok;   /* the file wins over an inline token, and is re-read later */
    }
    if (cfg->ns_file) {
        char *ns;
        size_t n;
        if (read_file(cfg->ns_file, "namespace file", 1024, &ns, &n, NULL) == 0) {
            trim_right(ns);
            if (*ns) {
                free(cfg->ns);
                cfg->ns = ns;
            } else {
                free(ns);
            }
        }
    }
    return 0;
}

static void add_note(struct kube_config *cfg, char *note) {
    if (!cfg->note) {
        cfg->note = note;
        return;
    }
    char *joined = xasprintf("%s; %s", cfg->note, note);
    free(cfg->note);
    free(note);
    cfg->note = joined;
}

static int load_file(const char *path, const char *how, const char *context,
                     struct kube_config *cfg, struct op_status *st) {
    char *text;
    size_t len;
    struct op_status fst = {0};
    int rc = read_file(path, "kubeconfig", KUBECONFIG_MAX, &text, &len, &fst);
    if (rc < 0)
        return op_fail(st, rc, "%s: %s", how, fst.msg);
    rc = kube_config_parse(text, len, path, context, cfg, st);
    free(text);
    return rc;
}

static int load_source(const struct kube_load_opts *opts, struct kube_config *cfg,
                       struct op_status *st) {
    const char *context = opts ? opts->context : NULL;
    if (opts && opts->kubeconfig && *opts->kubeconfig)
        return load_file(opts->kubeconfig, "--kubeconfig", context, cfg, st);

    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        const char *colon = strchr(env, ':');
        char *first = colon ? xstrndup(env, (size_t)(colon - env)) : xstrdup(env);
        int rc = load_file(first, "$KUBECONFIG", context, cfg, st);
        if (rc == 0 && colon && colon[1])
            add_note(cfg, xasprintf("$KUBECONFIG lists several files; only the first, %s, is "
                                    "used (files are not merged)", first));
        free(first);
        return rc;
    }

    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host) {
        int rc = kube_config_in_cluster(host, getenv("KUBERNETES_SERVICE_PORT"),
                                        opts ? opts->sa_dir : NULL, cfg, st);
        if (rc == 0 && context && *context)
            add_note(cfg, xasprintf("--context %s ignored: running in-cluster", context));
        return rc;
    }

    const char *home = getenv("HOME");
    if (!home || !*home)
        return op_fail(st, OP_ENOTFOUND, "no Kubernetes configuration: no --kubeconfig, no "
                       "$KUBECONFIG, not in a cluster, and $HOME is not set");
    char *path = xasprintf("%s/.kube/config", home);
    struct stat sb;
    int rc;
    if (stat(path, &sb) < 0)
        rc = op_fail(st, OP_ENOTFOUND, "no Kubernetes configuration: no --kubeconfig, no "
                     "$KUBECONFIG, not in a cluster (KUBERNETES_SERVICE_HOST unset), and no %s",
                     path);
    else
        rc = load_file(path, "~/.kube/config", context, cfg, st);
    free(path);
    return rc;
}

int kube_config_load(const struct kube_load_opts *opts, struct kube_config *cfg,
                     struct op_status *st) {
    int rc = load_source(opts, cfg, st);
    if (rc == 0)
        rc = kube_config_read_files(cfg, st);
    if (rc < 0)
        kube_config_free(cfg);
    return rc;
}
