/* grafana.c - the Grafana datasource ConfigMap `<m>-grafana-datasource` (grafana.enabled).
 *
 * Grafana's sidecar (label grafana_datasource: "1", the kube-prometheus-stack
 * convention) loads key `<m>-datasource.yaml`, a provisioning file: a Tempo
 * datasource (service map from the `prometheus` datasource, node graph on) or a
 * Jaeger one pointing at the query service. The uid is derived from the model's
 * namespace/name, so it is stable across renders and unique per model. Pure. */
#include "render/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"

void render_grafana(struct rctx *c) {
    if (!r_bool(c->spec, "grafana.enabled", 0) || !c->query_url[0])
        return;
    int tempo = !strcmp(c->backend, "tempo");
    char sum[65], uid[48], dsname[3 * R_NAME_MAX];
    sha256_hex(c->owner, strlen(c->owner), sum);
    snprintf(uid, sizeof(uid), "tm-%.16s-%s", sum, tempo ? "tempo" : "jaeger");
    snprintf(dsname, sizeof(dsname), "%s (%s)", tempo ? "Tempo" : "Jaeger", c->owner);
    json_t *json_data = json_object();
    if (tempo)
        json_object_set_new(json_data, "serviceMap",
                            json_pack("{s:s}", "datasourceUid", "prometheus"));
    json_object_set_new(json_data, "nodeGraph", json_pack("{s:b}", "enabled", 1));
    json_t *ds = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "name", dsname, "uid", uid, "type",
                           tempo ? "tempo" : "jaeger", "access", "proxy", "url", c->query_url,
                           "jsonData", json_data);
    json_t *doc = json_pack("{s:i, s:[o]}", "apiVersion", 1, "datasources", ds);
    char hash[65], name[R_NAME_MAX], key[R_NAME_MAX];
    char *text = r_yaml_text(doc, hash);
    json_decref(doc);
    r_name(c, "grafana-datasource", name);
    snprintf(key, sizeof(key), "%s-datasource.yaml", c->name);
    json_t *cm = r_configmap(c, name, "grafana", key, text);
    free(text);
    json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "labels"),
                        "grafana_datasource", json_string("1"));
    r_emit(c, cm);
}
