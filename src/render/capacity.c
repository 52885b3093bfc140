/* capacity.c - the capacity estimate of seed 004 section 9.3 for render_result.capacity.
 *
 *   spans/s          = requestsPerSecond x spansPerRequest
 *   sampled spans/s  = spans/s x effective head-sampling rate
 *   network bytes/s  = sampled spans/s x spanSizeBytes   (peak: x peakFactor)
 *   bytes/day        = network bytes/s x 86400
 *   storage          = bytes/day x retention in days
 * The seed's example: 10000 rps x 20 spans x 1% x 2000 B x 86400 = 345.6 GB/day,
 * x 7 days = 2.4 TB. Tail sampling is not counted (it can only lower the figures,
 * and by how much depends on the traffic): the result then says beforeTailSampling. Units in the
 * summary are decimal (GB = 10^9 bytes), as in the seed. Pure. */
#include "render/render_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"

static double head_rate(const struct rctx *c) {
    const char *strategy = r_str(c->spec, "sampling.strategy", "probabilistic");
    double rate = r_num(c->spec, "sampling.rate", 1.0);
    if (!strcmp(strategy, "always_on"))
        return 1.0;
    if (!strcmp(strategy, "always_off"))
        return 0.0;
    if (!strcmp(strategy, "ratelimiting")) {
        double tps = r_num(c->spec, "sampling.maxTracesPerSecond", -1);
        double rps = r_num(c->spec, "capacity.requestsPerSecond", -1);
        if (tps >= 0 && rps > 0)
            return tps >= rps ? 1.0 : tps / rps;
    }
    return rate;
}

double r_effective_rate(const struct rctx *c) {
    double head = head_rate(c), sum = 0;
    size_t n = 0, own = 0, i;
    json_t *svc;
    json_array_foreach((json_t *)r_get(c->spec, "services"), i, svc) {
        const json_t *r = r_get(svc, "samplingRate");
        if (json_is_number(r)) {
            sum += json_number_value(r);
            own++;
        } else {
            sum += head;
        }
        n++;
    }
    return own ? sum / (double)n : head;
}

/* "345.6 GB" (decimal units, one decimal, ".0" dropped). */
static void human_bytes(double v, char *out, size_t n) {
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    size_t u = 0;
    while (fabs(v) >= 999.95 && u < sizeof(units) / sizeof(units[0]) - 1) {
        v /= 1000.0;
        u++;
    }
    snprintf(out, n, "%.1f", v);
    size_t len = strlen(out);
    if (len > 2 && !strcmp(out + len - 2, ".0"))
        out[len - 2] = '\0';
    snprintf(out + strlen(out), n - strlen(out), " %s", units[u]);
}

static void human_count(double v, char *out, size_t n) {
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.0f", v);
    else
        snprintf(out, n, "%.1f", v);
}

static double round_to(double v, double unit) { return round(v / unit) * unit; }

json_t *render_capacity(const struct rctx *c) {
    const json_t *rpsv = r_get(c->spec, "capacity.requestsPerSecond");
    if (!json_is_number(rpsv) || json_number_value(rpsv) < 0)
        return json_null();
    double rps = json_number_value(rpsv);
    double spr = r_num(c->spec, "capacity.spansPerRequest", 20);
    double size = r_num(c->spec, "capacity.spanSizeBytes", 2048);
    double peak = r_num(c->spec, "capacity.peakFactor", 3);
    double rate = r_effective_rate(c);

    double spans = rps * spr;
    double sampled = round_to(spans * rate, 1e-6);
    double net = round(sampled * size);
    double per_day = round(net * 86400.0);
    long long ret_ms = r_retention_ms(c);
    double days = (double)ret_ms / 86400000.0;
    double storage = round(per_day * days);

    json_t *o = json_object();
    r_set(o, "requestsPerSecond", r_number(rps));
    r_set(o, "spansPerRequest", r_number(spr));
    r_set(o, "spanSizeBytes", r_number(size));
    r_set(o, "peakFactor", r_number(peak));
    r_set(o, "samplingRate", r_number(round_to(rate, 1e-9)));
    r_set(o, "spansPerSecond", r_number(spans));
    r_set(o, "sampledSpansPerSecond", r_number(sampled));
    r_set(o, "networkBytesPerSecond", r_number(net));
    r_set(o, "peakNetworkBytesPerSecond", r_number(round(net * peak)));
    r_set(o, "bytesPerDay", r_number(per_day));

    char s_spans[32], s_sampled[32], s_day[32], s_store[32], s_net[32], s_peak[32], buf[512];
    human_count(spans, s_spans, sizeof(s_spans));
    human_count(sampled, s_sampled, sizeof(s_sampled));
    human_bytes(per_day, s_day, sizeof(s_day));
    human_bytes(net, s_net, sizeof(s_net));
    human_bytes(round(net * peak), s_peak, sizeof(s_peak));
    snprintf(buf, sizeof(buf), "%s/day", s_day);
    r_set(o, "bytesPerDayHuman", r_s(buf));
    int n = snprintf(buf, sizeof(buf), "%s spans/s, %s after sampling; %s/day", s_spans, s_sampled,
                     s_day);
    if (ret_ms > 0) {
        const char *ret = r_str(c->spec, "backend.retention", "");
        r_set(o, "retentionDays", r_number(round_to(days, 1e-6)));
        r_set(o, "storageBytes", r_number(storage));
        human_bytes(storage, s_store, sizeof(s_store));
        r_set(o, "storageHuman", r_s(s_store));
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ", %s over %s", s_store, ret);
    }
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; network %s/s (peak %s/s)", s_net, s_peak);
    if (c->tail) {
        r_set(o, "beforeTailSampling", json_true());
        snprintf(buf + n, sizeof(buf) - (size_t)n, "; before tail sampling");
    }
    r_set(o, "summary", r_s(buf));
    return o;
}
