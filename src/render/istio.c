/* istio.c - the Istio Telemetry object of a model (istio.enabled).
 *
 * `telemetry.istio.io/v1 Telemetry` `<m>-tracing`: in the model's namespace (scope
 * namespace) or in istio.meshRootNamespace (scope mesh, which makes it mesh-wide).
 * A mesh-scoped Telemetry lives in another namespace than the model, so it cannot
 * carry an ownerReference; like every object it has the tracemodel.dev/owner
 * annotation that the controller's finalizer uses to delete it. Custom tags are
 * istio.customTags plus one request-header tag per propagation.correlation.headers
 * entry (tag name = the header in lower case). Pure. */
#include "render/render_int.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static json_t *custom_tags(const struct rctx *c) {
    json_t *tags = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r_get(c->spec, "istio.customTags"), k, v) {
        if (json_is_object(v))
            r_set(tags, k, json_deep_copy(v));
    }
    size_t i;
    json_t *h;
    json_array_foreach((json_t *)r_get(c->spec, "propagation.correlation.headers"), i, h) {
        if (!json_is_string(h) || !json_string_length(h))
            continue;
        char lower[R_NAME_MAX];
        size_t n = 0;
        for (const char *p = json_string_value(h); *p && n < sizeof(lower) - 1; p++)
            lower[n++] = (char)tolower((unsigned char)*p);
        lower[n] = '\0';
        if (!json_object_get(tags, lower)) /* the user's own tag of that name wins */
            r_set(tags, lower, json_pack("{s:{s:s}}", "header", "name", lower));
    }
    return tags;
}

void render_istio(struct rctx *c) {
    if (!r_bool(c->spec, "istio.enabled", 0))
        return;
    int mesh = !strcmp(r_str(c->spec, "istio.scope", "namespace"), "mesh");
    const char *ns = mesh ? r_str(c->spec, "istio.meshRootNamespace", "istio-system") : c->ns;
    double pct =
        r_num(c->spec, "istio.samplingPercentage", r_num(c->spec, "sampling.rate", 1.0) * 100.0);
    pct = round(pct * 100.0) / 100.0; /* Istio's precision is 0.01%; 0.1 * 100 is not 10 */
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    json_t *rule = json_object();
    r_set(rule, "providers",
          r_arr(r_kv("name", r_s(r_str(c->spec, "istio.provider", "otel-tracing")), NULL), NULL));
    r_set(rule, "randomSamplingPercentage", r_number(pct));
    json_t *tags = custom_tags(c);
    if (json_object_size(tags))
        r_set(rule, "customTags", tags);
    else
        json_decref(tags);
    char name[R_NAME_MAX];
    json_t *t =
        r_object(c, "telemetry.istio.io/v1", "Telemetry", r_name(c, "tracing", name), "istio", ns);
    r_set(t, "spec", r_kv("tracing", r_arr(rule, NULL), NULL));
    r_emit(c, t);
}
