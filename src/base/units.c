/* units.c - parsing and formatting of durations, sizes, names (see units.h). */
#include "base/units.h"
#include "base/err.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *u; double ms; } dur_units[] = {
    {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000},
    {"h", 3600000}, {"d", 86400000}, {"w", 604800000}, {"y", 31536000000.0},
};

int parse_duration_ms(const char *s, int64_t *ret_ms) {
    if (!s)
        return OP_EINVALID;
    while (isspace((unsigned char)*s))
        s++;
    if (!strcmp(s, "0")) {
        *ret_ms = 0;
        return 0;
    }
    double total = 0;
    int parts = 0;
    const char *p = s;
    while (*p) {
        char *end;
        if (!(isdigit((unsigned char)*p) || *p == '.'))
            return OP_EINVALID;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v) || v < 0)
            return OP_EINVALID;
        p = end;
        size_t best = 0, bi = 0;
        for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
            size_t l = strlen(dur_units[i].u);
            if (!strncmp(p, dur_units[i].u, l) && l > best) {
                best = l;
                bi = i;
            }
        }
        if (!best)
            return OP_EINVALID;
        /* "m" must not swallow the start of "ms": handled by longest match */
        total += v * dur_units[bi].ms;
        p += best;
        parts++;
        while (isspace((unsigned char)*p))
            p++;
    }
    if (!parts || total > 9.2e15)
        return OP_EINVALID;
    *ret_ms = (int64_t)llround(total);
    return 0;
}

int parse_size_bytes(const char *s, double *ret_bytes) {
    static const struct { const char *u; double m; } units[] = {
        {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15},
        {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15},
        {"k", 1e3},
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"PiB", 1125899906842624.0},
    };
    if (!s)
        return OP_EINVALID;
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    if (!(isdigit((unsigned char)*s) || *s == '.'))
        return OP_EINVALID;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return OP_EINVALID;
    while (isspace((unsigned char)*end))
        end++;
    if (!*end) {
        *ret_bytes = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(end, units[i].u)) {
            *ret_bytes = v * units[i].m;
            return 0;
        }
    return OP_EINVALID;
}

void format_duration_go(int64_t ms, char *out, size_t n) {
    if (ms <= 0) {
        snprintf(out, n, "0s");
        return;
    }
    if (ms % 1000) {
        snprintf(out, n, "%lldms", (long long)ms); /* Go's ParseDuration reads "1500ms" */
        return;
    }
    int64_t s = ms / 1000;
    int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    if (h && !m && !sec)
        snprintf(out, n, "%lldh", (long long)h);
    else if (h)
        snprintf(out, n, "%lldh%lldm%llds", (long long)h, (long long)m, (long long)sec);
    else if (m && !sec)
        snprintf(out, n, "%lldm", (long long)m);
    else if (m)
        snprintf(out, n, "%lldm%llds", (long long)m, (long long)sec);
    else
        snprintf(out, n, "%llds", (long long)sec);
}

void format_double(double v, char *out, size_t n) {
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) { /* range first: no UB */
        snprintf(out, n, "%lld", (long long)v); /* 50, not 5e+01 */
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int is_dns_label(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return s[0] != '-' && s[n - 1] != '-';
}

int is_dns_subdomain(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    char buf[254];
    memcpy(buf, s, n + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        if (!is_dns_label(tok))
            return 0;
    return s[0] != '.' && s[n - 1] != '.' && !strstr(s, "..");
}

int is_label_value(const char *s) {
    size_t n = strlen(s);
    if (n == 0)
        return 1;
    if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

void to_dns_label(const char *in, char *out, size_t max) {
    size_t j = 0;
    if (max > 63)
        max = 63;
    for (size_t i = 0; in[i] && j < max; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '-';
        if (c == '-' && (j == 0 || out[j - 1] == '-'))
            continue;
        out[j++] = c;
    }
    while (j > 0 && out[j - 1] == '-')
        j--;
    out[j] = '\0';
}
