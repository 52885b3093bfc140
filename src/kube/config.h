/* config.h - how the operator finds and authenticates to the API server.
 *
 * Two halves: pure functions that turn kubeconfig text (or the in-cluster
 * environment values) into a struct kube_config holding file *paths*, and a
 * thin edge (config_load.c) that reads those files and applies kubectl's
 * loading order. The transport only ever sees bytes (CA, cert, key), never
 * paths. */
#ifndef OP_KUBE_CONFIG_H
#define OP_KUBE_CONFIG_H
#include <stddef.h>

#include "base/err.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* A token read from token_file is re-read when older than this, or after a 401. */
#define KUBE_TOKEN_MAX_AGE_S 60

struct kube_config {
    char *server;        /* "https://host:port" (no trailing '/') */
    char *context;       /* context used; "in-cluster" for the in-cluster config */
    char *user;          /* name of the kubeconfig user entry ("" in-cluster) */
    char *ns;            /* the context's namespace; "default" when unset */
    char *origin;        /* where it came from: a file path or "in-cluster" (for messages) */
    char *note;          /* NULL or a remark for the log, e.g. "$KUBECONFIG lists 3 files; only
                          * the first, /a, is used" */

    char *token;         /* bearer token (never log it) or NULL */
    char *token_file;    /* path; when set, the token is (re)read from it */

    char *ca_file;       /* paths (absolute, or relative to the kubeconfig's directory made
                          * absolute), or NULL; filled into the *_pem fields by
                          * kube_config_read_files() */
    char *cert_file;
    char *key_file;
    char *ns_file;       /* in-cluster namespace file */

    char *ca_pem;        /* bytes (PEM), NUL-terminated, or NULL */
    size_t ca_len;
    char *cert_pem;
    size_t cert_len;
    char *key_pem;       /* secret: never log it */
    size_t key_len;
    int insecure_skip_tls_verify;
    char *proxy_url;     /* the cluster's proxy-url, or NULL (then libcurl honours $HTTPS_PROXY) */
};

/* The functions below that fill a config need an initialized one (init or
 * zeroed); they free its previous contents first, and leave it empty on error. */
void kube_config_init(struct kube_config *cfg);
void kube_config_free(struct kube_config *cfg);   /* frees contents (wipes secrets); reusable */

/* Pure. Parses kubeconfig text (YAML or JSON). origin is the file's path, used
 * to make relative file paths absolute and in messages (may be NULL). context
 * overrides current-context when not NULL/"". Decodes *-data fields (base64).
 * Errors: OP_EPARSE for malformed YAML ("<origin>: line L, column C: ..."),
 * OP_EINVALID for a missing/unknown context, cluster or user, or no server,
 * OP_EUNSUPPORTED for a user with `exec` or `auth-provider` (or basic auth),
 * naming the user entry. */
int kube_config_parse(const char *text, size_t len, const char *origin, const char *context,
                      struct kube_config *cfg, struct op_status *st);

/* Pure. The in-cluster config from KUBERNETES_SERVICE_HOST/_PORT values and
 * the service-account directory (NULL = KUBE_SA_DIR): server URL (IPv6 hosts
 * bracketed), token_file, ca_file, ns_file. OP_EINVALID if host or port is empty. */
int kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                           struct kube_config *cfg, struct op_status *st);

/* Edge. Reads ca_file, cert_file, key_file, token_file and ns_file (when set
 * and the matching bytes are not set yet). A missing ns_file keeps "default". */
int kube_config_read_files(struct kube_config *cfg, struct op_status *st);

/* Edge. Reads a token file (trailing whitespace trimmed) into a new string. */
int kube_read_token_file(const char *path, char **ret, struct op_status *st);

struct kube_load_opts {
    const char *kubeconfig;  /* --kubeconfig, or NULL */
    const char *context;     /* --context, or NULL */
    const char *sa_dir;      /* NULL = KUBE_SA_DIR (tests point it elsewhere) */
};

/* Edge. kubectl's order: opts->kubeconfig, else the first file of $KUBECONFIG
 * (cfg->note says when more were listed), else in-cluster when
 * KUBERNETES_SERVICE_HOST is set, else $HOME/.kube/config. Then
 * kube_config_read_files(). On error st says which source failed and why. */
int kube_config_load(const struct kube_load_opts *opts, struct kube_config *cfg,
                     struct op_status *st);

#endif
