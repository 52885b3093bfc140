/* units.h - durations, sizes and rates as users write them in models and the DSL.
 *
 * Durations: an optional sequence of <number><unit> with units ns, us, ms, s,
 * m, h, d (24h), w (7d), y (365d): "500ms", "1s", "5m", "7d", "1h30m", "1.5s".
 * A bare number is not a duration (ambiguous) unless it is 0.
 * Sizes: <number><unit> with B, KB/MB/GB/TB/PB (powers of 1000), Ki/Mi/Gi/Ti/Pi
 * and KiB/MiB/... (powers of 1024), or a bare number of bytes. */
#ifndef OP_BASE_UNITS_H
#define OP_BASE_UNITS_H
#include <stddef.h>
#include <stdint.h>

/* 0 and *ret_ms on success; OP_EINVALID on anything else (never partial). */
int parse_duration_ms(const char *s, int64_t *ret_ms);
int parse_size_bytes(const char *s, double *ret_bytes);

/* Go-style duration that the collector, Tempo and Jaeger accept: "10s", "1m30s",
 * "168h" (days become hours), "250ms". */
void format_duration_go(int64_t ms, char *out, size_t n);

/* Shortest decimal that reads back as v ("0.1", "1", "0.125"). */
void format_double(double v, char *out, size_t n);

/* Lower-case hex SHA-256 of data (65 bytes with NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

/* RFC 1123 DNS label (lower-case alphanumerics and '-', <= 63). */
int is_dns_label(const char *s);
/* RFC 1123 subdomain (labels separated by '.', <= 253). */
int is_dns_subdomain(const char *s);
/* A Kubernetes label value (<= 63, alphanumerics plus -_. inside). */
int is_label_value(const char *s);
/* Lower-cases and replaces anything not [a-z0-9-] with '-', trims to max
 * (<= 63) and trims leading/trailing '-'. out must hold max+1 bytes. */
void to_dns_label(const char *in, char *out, size_t max);

#endif
