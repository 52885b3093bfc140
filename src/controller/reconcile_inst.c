/* reconcile_inst.c - reconcile one Instrumentation: validate it, resolve the
 * TracingModel it follows, find conflicts with its namespace peers, and patch its
 * status when that changed (see reconcile.h, status.h). Nothing else is written:
 * what an Instrumentation does happens in the webhook. */
#include "controller/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "controller/status.h"
#include "kube/client.h"
#include "model/instrumentation.h"

static const char *md_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static char *errors_of(const struct diag *d) {
    struct strbuf b;
    strbuf_init(&b, 0);
    size_t n = 0;
    for (size_t i = 0; i < d->len && n < 5; i++) {
        if (d->items[i].level != DIAG_ERROR)
            continue;
        char *s = diag_item_format(&d->items[i]);
        strbuf_printf(&b, "%s%s", n++ ? "; " : "", s);
        free(s);
    }
    if (d->errors > n)
        strbuf_printf(&b, "; and %zu more", d->errors - n);
    if (!n)
        strbuf_puts(&b, "invalid");
    return strbuf_detach(&b, NULL);
}

int reconcile_instrumentation(struct reconcile_env *env, const char *key) {
    json_t *inst = store_get(env->caches->instrumentations, key);
    if (!inst)
        return RECONCILE_DONE;
    const char *ns = md_str(inst, "namespace"), *name = md_str(inst, "name");
    if (!ns || !name || json_object_get(json_object_get(inst, "metadata"), "deletionTimestamp")) {
        json_decref(inst);
        return RECONCILE_DONE;
    }
    struct diag d;
    diag_init(&d);
    json_t *loaded = tinst_load(inst, 0, &d);
    char *invalid = loaded ? NULL : errors_of(&d);
    json_decref(loaded);
    diag_done(&d);

    char ref_buf[2 * TINST_REF_MAX + 2];
    const char *model_ref = NULL;
    int model_found = 0;
    const char *tm = json_string_value(json_object_get(json_object_get(inst, "spec"),
                                                       "tracingModel"));
    char mns[TINST_REF_MAX], mname[TINST_REF_MAX];
    if (!invalid && tm && *tm && tinst_ref_parse(tm, ns, mns, mname) == 0) {
        snprintf(ref_buf, sizeof(ref_buf), "%s/%s", mns, mname);
        model_ref = ref_buf;
        json_t *m = store_get_nn(env->caches->models, mns, mname);
        model_found = m != NULL;
        json_decref(m);
    }
    json_t *peers = store_list(env->caches->instrumentations, ns);
    struct tinst_status_input in = {
        .inst = inst,
        .invalid = invalid,
        .model_ref = model_ref,
        .model_found = model_found,
        .peers = peers,
        .now_wall = op_wall_ms(env->clock),
    };
    json_t *status = tinst_status_compute(&in);
    json_decref(peers);
    free(invalid);

    int rc = RECONCILE_DONE;
    json_t *live = json_object_get(inst, "status");
    if (!status_same(live, status)) {
        if (env->leading && !atomic_load(env->leading)) {
            rc = RECONCILE_STOPPED;
        } else {
            json_t *body = json_deep_copy(status);
            json_t *keys = status_live_keys(live);
            size_t ki;
            json_t *k;
            json_array_foreach(keys, ki, k) {
                const char *kn = json_string_value(k);
                if (kn && !json_object_get(body, kn) && strncmp(kn, "tracemodel.dev/", 15))
                    json_object_set_new(body, kn, json_null());
            }
            json_decref(keys);
            json_t *patch = json_pack("{s:o}", "status", body);
            struct kube_ref ref = {.group = "tracemodel.dev", .version = "v1alpha1",
                                   .resource = "instrumentations", .ns = ns, .name = name};
            struct op_status st = {0};
            json_t *ret = NULL;
            rc = kube_patch_status(env->client, &ref, patch, &ret, &st);
            json_decref(patch);
            if (rc == 0 && ret) {
                json_t *copy = json_deep_copy(ret);
                store_strip(copy);
                status_slim(copy);
                store_put_if_newer(env->caches->instrumentations, copy);
            }
            json_decref(ret);
            if (rc == OP_ENOTFOUND)
                rc = RECONCILE_DONE;
            if (rc < 0)
                log_warn("reconcile.instrumentation", "cannot patch status, will retry",
                         "namespace", ns, "name", name, "err", op_errname(rc), "detail", st.msg);
        }
    }
    json_decref(status);
    json_decref(inst);
    return rc;
}
