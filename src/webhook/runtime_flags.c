/* runtime_flags.c - the webhook's `run` flags (pure): one flag at a time into
 * struct webhook_runtime_opts, the --help lines and the check of the flags
 * together (see runtime.h). */
#include "webhook/runtime.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "webhook/server.h"

static const char *const FLAG_NAMES[] = {
    "webhook-bind-address", "operator-namespace",   "cert-mode",
    "cert-dir",             "webhook-host",         "webhook-config",
    "webhook-url",          "webhook-service-name", "webhook-secret-name",
    "mutating-webhook-name", "validating-webhook-name", "webhook-threads", NULL,
};

const char *const *webhook_runtime_flag_names(void) { return FLAG_NAMES; }

const char *webhook_runtime_flags_help(void) {
    return "Webhook flags:\n"
           "  --webhook-bind-address ADDR       admission webhook HTTPS listener (default "
           "\":9443\"; \"0\" = no webhook)\n"
           "  --operator-namespace NS           the operator's namespace (default "
           "$POD_NAMESPACE; needed outside a cluster)\n"
           "  --cert-mode MODE                  self-signed (a CA and certificate kept in a "
           "Secret) or files\n"
           "                                    (default: files with --cert-dir, else "
           "self-signed)\n"
           "  --cert-dir DIR                    tls.crt and tls.key (reloaded on change); "
           "ca.crt becomes the caBundle\n"
           "  --webhook-host NAME               extra DNS name or IP in the self-signed "
           "certificate (repeatable)\n"
           "  --webhook-config MODE             patch (the caBundle of existing "
           "configurations, default) or manage\n"
           "                                    (the operator applies both webhook "
           "configurations)\n"
           "  --webhook-url URL                 https://host:port the API server calls "
           "(manage, operator outside the cluster)\n"
           "  --webhook-service-name NAME       the webhook's Service (default "
           "tracing-operator-webhook)\n"
           "  --webhook-secret-name NAME        the self-signed certificate's Secret "
           "(default tracing-operator-webhook-cert)\n"
           "  --mutating-webhook-name NAME      the MutatingWebhookConfiguration (default "
           "tracing-operator)\n"
           "  --validating-webhook-name NAME    the ValidatingWebhookConfiguration (default "
           "tracing-operator)\n"
           "  --webhook-threads N               HTTPS service threads, 1-16 (default 2)\n";
}

static int bad(struct op_status *st, const char *name, const char *value, const char *why) {
    return op_fail(st, OP_EINVALID, "--%s: %s, got \"%s\"", name, why, value ? value : "");
}

static int is_ip(const char *s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* "https://host[:port][/path]" with a non-empty host. */
static int url_ok(const char *u) {
    if (strncmp(u, "https://", 8) != 0)
        return 0;
    const char *host = u + 8;
    return *host && *host != '/' && *host != ':' && !strpbrk(u, " \t\r\n");
}

static int set_host(struct webhook_runtime_opts *o, const char *v, struct op_status *st) {
    if (!is_ip(v) && !is_dns_subdomain(v))
        return bad(st, "webhook-host", v, "want a DNS name or an IP address");
    for (size_t i = 0; i < o->nhosts; i++)
        if (strcmp(o->hosts[i], v) == 0)
            return 1;
    if (o->nhosts == WEBHOOK_RUNTIME_MAX_HOSTS)
        return op_fail(st, OP_EINVALID, "--webhook-host: at most %d names",
                       WEBHOOK_RUNTIME_MAX_HOSTS);
    o->hosts[o->nhosts++] = v;
    return 1;
}

static int set_name(const char **slot, const char *name, const char *v, int label,
                    struct op_status *st) {
    if (label ? !is_dns_label(v) : !is_dns_subdomain(v))
        return bad(st, name, v, label ? "want a DNS label (a-z, 0-9, '-', up to 63)"
                                      : "want a DNS name (a-z, 0-9, '-', '.', up to 253)");
    *slot = v;
    return 1;
}

int webhook_runtime_flag(struct webhook_runtime_opts *o, const char *name, const char *value,
                         struct op_status *st) {
    int known = 0;
    for (size_t i = 0; FLAG_NAMES[i]; i++)
        known |= strcmp(FLAG_NAMES[i], name) == 0;
    if (!known)
        return 0;
    if (!value)
        return bad(st, name, value, "needs a value");
    if (!strcmp(name, "webhook-bind-address")) {
        o->bind_address = value;   /* the listener parses it; errors show at start */
        return 1;
    }
    if (!strcmp(name, "operator-namespace"))
        return set_name(&o->operator_namespace, name, value, 1, st);
    if (!strcmp(name, "cert-mode")) {
        if (strcmp(value, "self-signed") != 0 && strcmp(value, "files") != 0)
            return bad(st, name, value, "want self-signed or files");
        o->cert_mode = value;
        return 1;
    }
    if (!strcmp(name, "cert-dir")) {
        if (!*value)
            return bad(st, name, value, "want a directory");
        o->cert_dir = value;
        return 1;
    }
    if (!strcmp(name, "webhook-host"))
        return set_host(o, value, st);
    if (!strcmp(name, "webhook-config")) {
        if (strcmp(value, "manage") != 0 && strcmp(value, "patch") != 0)
            return bad(st, name, value, "want manage or patch");
        o->webhook_config = value;
        return 1;
    }
    if (!strcmp(name, "webhook-url")) {
        if (!url_ok(value))
            return bad(st, name, value, "want https://host:port");
        o->webhook_url = value;
        return 1;
    }
    if (!strcmp(name, "webhook-service-name"))
        return set_name(&o->service_name, name, value, 1, st);
    if (!strcmp(name, "webhook-secret-name"))
        return set_name(&o->secret_name, name, value, 0, st);
    if (!strcmp(name, "webhook-threads")) {
        unsigned n = 0;
        const char *p = value;
        for (; *p >= '0' && *p <= '9' && n <= WEBHOOK_MAX_THREADS; p++)
            n = n * 10 + (unsigned)(*p - '0');
        if (!*value || *p || n < 1 || n > WEBHOOK_MAX_THREADS)
            return bad(st, name, value, "want a number from 1 to 16");
        o->threads = n;
        return 1;
    }
    if (!strcmp(name, "mutating-webhook-name"))
        return set_name(&o->mutating_name, name, value, 0, st);
    return set_name(&o->validating_name, name, value, 0, st);
}

int webhook_runtime_enabled(const struct webhook_runtime_opts *o) {
    const char *b = o->bind_address;
    return !b || (*b && strcmp(b, "0") != 0);
}

int webhook_runtime_flags_check(const struct webhook_runtime_opts *o, struct op_status *st) {
    if (!webhook_runtime_enabled(o))
        return 0;
    int files = o->cert_mode ? strcmp(o->cert_mode, "files") == 0 : o->cert_dir != NULL;
    if (files && !o->cert_dir)
        return op_fail(st, OP_EINVALID, "--cert-mode files needs --cert-dir");
    if (!files && o->cert_dir)
        return op_fail(st, OP_EINVALID,
                       "--cert-dir is for --cert-mode files (self-signed keeps its "
                       "certificate in a Secret)");
    if (files && o->nhosts)
        return op_fail(st, OP_EINVALID,
                       "--webhook-host is for --cert-mode self-signed (with files the "
                       "certificate's names are the issuer's)");
    return 0;
}
