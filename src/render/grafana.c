/* grafana.c - the Grafana datasource ConfigMap `<m>-grafana-datasource` (grafana.enabled).
 *
 * Grafana's sidecar (label grafana_datasource: "1", the kube-prometheus-stack
 * convention) loads key `<m>-datasource.yaml`, a provisioning file: a Tempo
 * datasource (service map from the `prometheus` datasource, node graph on) or a
 * Jaeger one pointing at the query service. The uid is a hash of the model's
 * namespace/name, so it is stable across renders and unique per model. Pure. */
#include "render/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void render_grafana(struct rctx *c) {
    if (!r_bool(c->spec, "grafana.enabled", 0) || !c->query_url[0])
        return;
    int tempo = !strcmp(c->backend, "tempo");
    /* FNV-1a of "<ns>/<name>": stable, and distinct per model in practice */
    unsigned long long h = 1469598103934665603ULL;
    for (const char *p = c->owner; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char uid[48], dsname[3 * R_NAME_MAX];
    snprintf(uid, sizeof(uid), "tm-%016llx-%s", h, tempo ? "tempo" : "jaeger");
    snprintf(dsname, sizeof(dsname), "%s (%s)", tempo ? "Tempo" : "Jaeger", c->owner);
    json_t *json_data = json_object();
    if (tempo)
        r_set(json_data, "serviceMap", r_kv("datasourceUid", r_s("prometheus"), NULL));
    r_set(json_data, "nodeGraph", r_kv("enabled", json_true(), NULL));
    json_t *ds =
        r_kv("name", r_s(dsname), "uid", r_s(uid), "type", r_s(tempo ? "tempo" : "jaeger"),
             "access", r_s("proxy"), "url", r_s(c->query_url), "jsonData", json_data, NULL);
    json_t *doc = r_kv("apiVersion", json_integer(1), "datasources", r_arr(ds, NULL), NULL);
    char name[R_NAME_MAX], key[R_NAME_MAX];
    r_name(c, "grafana-datasource", name);
    snprintf(key, sizeof(key), "%s-datasource.yaml", c->name);
    int text = r_configmap_yaml(c, name, "grafana", key, doc);
    /* the sidecar of kube-prometheus-stack's Grafana loads ConfigMaps with this label */
    json_t *cm = json_array_get(c->out, json_array_size(c->out) - 1);
    (void)text;
    r_set(json_object_get(json_object_get(cm, "metadata"), "labels"), "grafana_datasource",
          r_s("1"));
}
