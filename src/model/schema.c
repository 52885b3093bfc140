/* schema.c - the TracingModel spec table (see schema.h and docs/model.md).
 * Kept in the same order as the docs table and the CRD. */
#include "model/schema.h"

#include <string.h>

#define END {0}
#define STR(n) {.name = n, .kind = TK_STRING}
#define STRF(n, f) {.name = n, .kind = TK_STRING, .flags = (f)}
#define BOOL(n) {.name = n, .kind = TK_BOOL}
#define DUR(n) {.name = n, .kind = TK_DURATION}
#define QTY(n) {.name = n, .kind = TK_QUANTITY}
#define RATE(n) {.name = n, .kind = TK_NUMBER, .flags = TF_MIN | TF_MAX, .min = 0, .max = 1}
#define NUM_MIN(n, lo) {.name = n, .kind = TK_NUMBER, .flags = TF_MIN, .min = (lo)}
#define INT_MIN(n, lo) {.name = n, .kind = TK_INT, .flags = TF_MIN, .min = (lo)}
#define INT_RANGE(n, lo, hi) {.name = n, .kind = TK_INT, .flags = TF_MIN | TF_MAX, .min = (lo), .max = (hi)}
#define ENUM(n, e) {.name = n, .kind = TK_STRING, .enums = (e), .max_len = 32}
#define OBJ(n, f) {.name = n, .kind = TK_OBJECT, .fields = (f)}
#define ITEM(k, ...) (&(const struct tm_field){.kind = (k), __VA_ARGS__})
#define STR_LIST(n) {.name = n, .kind = TK_ARRAY, .item = ITEM(TK_STRING, .flags = TF_NONEMPTY)}

static const char *const strategy_enum[] = {
    "probabilistic", "ratelimiting", "adaptive", "always_on", "always_off", NULL};
static const char *const propagator_enum[] = {
    "tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none",
    "w3c_tracecontext", NULL};
static const char *const mode_enum[] = {"deployment", "daemonset", "statefulset", "sidecar", NULL};
static const char *const backend_enum[] = {"jaeger", "tempo", "otlp", NULL};
static const char *const jaeger_deploy_enum[] = {"allInOne", "production", NULL};
static const char *const jaeger_storage_enum[] = {"memory", "badger", "elasticsearch", NULL};
static const char *const tempo_storage_enum[] = {"local", "s3", NULL};
static const char *const scope_enum[] = {"namespace", "mesh", NULL};

/* ---- sampling ---- */
static const struct tm_field op_rate_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY),
    {.name = "rate", .kind = TK_NUMBER, .flags = TF_REQUIRED | TF_MIN | TF_MAX, .min = 0, .max = 1},
    END,
};
static const struct tm_field rule_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY),
    STRF("condition", TF_REQUIRED | TF_NONEMPTY),
    RATE("rate"),
    {.name = "priority", .kind = TK_INT},
    END,
};
static const struct tm_field policy_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY),
    STRF("condition", TF_REQUIRED | TF_NONEMPTY),
    RATE("rate"),
    END,
};
static const struct tm_field adaptive_fields[] = {
    BOOL("enabled"), RATE("targetRate"), DUR("adjustmentInterval"), RATE("minRate"),
    RATE("maxRate"), END,
};
static const struct tm_field tail_fields[] = {
    BOOL("enabled"),
    DUR("decisionWait"),
    INT_MIN("numTraces", 1),
    INT_MIN("expectedNewTracesPerSec", 0),
    {.name = "policies", .kind = TK_ARRAY, .flags = TF_LISTMAP, .max_items = 64,
     .item = ITEM(TK_OBJECT, .fields = policy_fields)},
    END,
};
static const struct tm_field sampling_fields[] = {
    ENUM("strategy", strategy_enum),
    RATE("rate"),
    BOOL("parentBased"),
    NUM_MIN("maxTracesPerSecond", 0),
    {.name = "operations", .kind = TK_ARRAY, .flags = TF_LISTMAP,
     .item = ITEM(TK_OBJECT, .fields = op_rate_fields)},
    {.name = "rules", .kind = TK_ARRAY, .flags = TF_LISTMAP, .max_items = 64,
     .item = ITEM(TK_OBJECT, .fields = rule_fields)},
    OBJ("adaptive", adaptive_fields),
    OBJ("tail", tail_fields),
    END,
};

/* ---- propagation ---- */
static const struct tm_field baggage_fields[] = {
    INT_MIN("maxEntries", 0), INT_MIN("maxValueLength", 0), STR_LIST("allowedKeys"), END,
};
static const struct tm_field correlation_fields[] = {STR_LIST("headers"), END};
static const struct tm_field propagation_fields[] = {
    {.name = "types", .kind = TK_ARRAY, .flags = TF_LISTSET, .max_items = 9,
     .item = ITEM(TK_STRING, .enums = propagator_enum, .max_len = 32)},
    OBJ("baggage", baggage_fields),
    OBJ("correlation", correlation_fields),
    END,
};

/* ---- collector ---- */
static const struct tm_field claim_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY), STR("request"), END,
};
static const struct tm_field resources_fields[] = {
    {.name = "limits", .kind = TK_MAP, .item = ITEM(TK_QUANTITY)},
    {.name = "requests", .kind = TK_MAP, .item = ITEM(TK_QUANTITY)},
    {.name = "claims", .kind = TK_ARRAY, .flags = TF_LISTMAP,
     .item = ITEM(TK_OBJECT, .fields = claim_fields)},
    END,
};
static const struct tm_field batch_fields[] = {
    DUR("timeout"), INT_MIN("sendBatchSize", 0), INT_MIN("sendBatchMaxSize", 0), END,
};
static const struct tm_field memlimit_fields[] = {
    DUR("checkInterval"),
    INT_RANGE("limitPercentage", 1, 100),
    INT_RANGE("spikeLimitPercentage", 0, 100),
    END,
};
static const struct tm_field receivers_fields[] = {BOOL("jaeger"), BOOL("zipkin"), END};
static const struct tm_field spanmetrics_fields[] = {
    BOOL("enabled"),
    STR_LIST("dimensions"),
    {.name = "histogramBuckets", .kind = TK_ARRAY, .item = ITEM(TK_DURATION)},
    END,
};
static const struct tm_field servicegraph_fields[] = {BOOL("enabled"), END};
static const struct tm_field kafka_fields[] = {
    STR_LIST("brokers"), STR("topic"), STR("encoding"), BOOL("exporter"), BOOL("receiver"), END,
};
static const struct tm_field collector_fields[] = {
    ENUM("mode", mode_enum),
    INT_MIN("replicas", 1),
    STRF("image", TF_NONEMPTY),
    OBJ("resources", resources_fields),
    OBJ("batch", batch_fields),
    OBJ("memoryLimiter", memlimit_fields),
    STR_LIST("redact"),
    OBJ("receivers", receivers_fields),
    OBJ("spanMetrics", spanmetrics_fields),
    OBJ("serviceGraph", servicegraph_fields),
    OBJ("kafka", kafka_fields),
    END,
};

/* ---- backend ---- */
static const struct tm_field otlp_secret_fields[] = {
    STRF("name", TF_REQUIRED | TF_NAME), STRF("key", TF_REQUIRED | TF_NONEMPTY),
    STRF("header", TF_NONEMPTY), END,
};
static const struct tm_field otlp_fields[] = {
    STR("endpoint"),
    BOOL("insecure"),
    {.name = "headers", .kind = TK_MAP, .item = ITEM(TK_STRING)},
    OBJ("secretRef", otlp_secret_fields),
    END,
};
static const struct tm_field es_secret_fields[] = {
    STRF("name", TF_REQUIRED | TF_NAME), STR("usernameKey"), STR("passwordKey"), END,
};
static const struct tm_field es_fields[] = {
    STR("url"),
    STR("indexPrefix"),
    OBJ("secretRef", es_secret_fields),
    STRF("username", TF_FORBIDDEN),
    STRF("password", TF_FORBIDDEN),
    END,
};
static const struct tm_field badger_fields[] = {QTY("size"), END};
static const struct tm_field jaeger_storage_fields[] = {
    ENUM("type", jaeger_storage_enum), OBJ("elasticsearch", es_fields), OBJ("badger", badger_fields),
    END,
};
static const struct tm_field jaeger_fields[] = {
    ENUM("deployment", jaeger_deploy_enum),
    BOOL("useOperatorCR"),
    STRF("image", TF_NONEMPTY),
    OBJ("storage", jaeger_storage_fields),
    END,
};
static const struct tm_field s3_secret_fields[] = {STRF("name", TF_REQUIRED | TF_NAME), END};
static const struct tm_field s3_fields[] = {
    STR("bucket"), STR("endpoint"), STR("region"), BOOL("insecure"),
    OBJ("secretRef", s3_secret_fields),
    STRF("accessKeyId", TF_FORBIDDEN),
    STRF("secretAccessKey", TF_FORBIDDEN),
    END,
};
static const struct tm_field tempo_storage_fields[] = {
    ENUM("type", tempo_storage_enum), QTY("size"), OBJ("s3", s3_fields), END,
};
static const struct tm_field tempo_fields[] = {
    BOOL("useOperatorCR"), STRF("image", TF_NONEMPTY), OBJ("storage", tempo_storage_fields), END,
};
static const struct tm_field backend_fields[] = {
    {.name = "type", .kind = TK_STRING, .flags = TF_REQUIRED, .enums = backend_enum, .max_len = 32},
    DUR("retention"),
    OBJ("otlp", otlp_fields),
    OBJ("jaeger", jaeger_fields),
    OBJ("tempo", tempo_fields),
    END,
};

/* ---- istio ---- */
static const struct tm_field literal_fields[] = {STRF("value", TF_REQUIRED), END};
static const struct tm_field header_tag_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY), STR("defaultValue"), END,
};
static const struct tm_field custom_tag_fields[] = {
    OBJ("literal", literal_fields),
    OBJ("header", header_tag_fields),
    OBJ("environment", header_tag_fields),
    END,
};
static const struct tm_field istio_fields[] = {
    BOOL("enabled"),
    STRF("provider", TF_NONEMPTY),
    {.name = "samplingPercentage", .kind = TK_NUMBER, .flags = TF_MIN | TF_MAX, .min = 0,
     .max = 100},
    {.name = "customTags", .kind = TK_MAP, .max_items = 64,
     .item = ITEM(TK_OBJECT, .fields = custom_tag_fields)},
    ENUM("scope", scope_enum),
    {.name = "meshRootNamespace", .kind = TK_STRING, .flags = TF_DNSLABEL, .max_len = 63},
    END,
};

/* ---- services, analysis, alerts, grafana, capacity ---- */
static const struct tm_field service_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY),
    STR("version"),
    RATE("samplingRate"),
    {.name = "operations", .kind = TK_ARRAY, .flags = TF_LISTMAP,
     .item = ITEM(TK_OBJECT, .fields = op_rate_fields)},
    STR_LIST("attributes"),
    END,
};
static const struct tm_field latency_fields[] = {
    {.name = "percentile", .kind = TK_NUMBER, .flags = TF_REQUIRED | TF_XMIN | TF_XMAX, .min = 0,
     .max = 1},
    {.name = "threshold", .kind = TK_DURATION, .flags = TF_REQUIRED},
    END,
};
static const struct tm_field error_rate_fields[] = {RATE("threshold"), END};
static const struct tm_field throughput_fields[] = {
    NUM_MIN("minRequestsPerSecond", 0), NUM_MIN("maxRequestsPerSecond", 0), END,
};
static const struct tm_field analysis_fields[] = {
    BOOL("enabled"),
    {.name = "latency", .kind = TK_ARRAY, .item = ITEM(TK_OBJECT, .fields = latency_fields)},
    OBJ("errorRate", error_rate_fields),
    OBJ("throughput", throughput_fields),
    END,
};
static const struct tm_field alert_rule_fields[] = {
    STRF("name", TF_REQUIRED | TF_NONEMPTY),
    STRF("expr", TF_REQUIRED | TF_NONEMPTY),
    DUR("for"),
    STR("severity"),
    STR("summary"),
    STR("description"),
    END,
};
static const struct tm_field alerts_fields[] = {
    BOOL("enabled"),
    {.name = "rules", .kind = TK_ARRAY, .flags = TF_LISTMAP,
     .item = ITEM(TK_OBJECT, .fields = alert_rule_fields)},
    RATE("spanDropRateThreshold"),
    END,
};
static const struct tm_field grafana_fields[] = {BOOL("enabled"), END};
static const struct tm_field capacity_fields[] = {
    NUM_MIN("requestsPerSecond", 0),
    {.name = "spansPerRequest", .kind = TK_NUMBER, .flags = TF_XMIN, .min = 0},
    INT_MIN("spanSizeBytes", 1),
    NUM_MIN("peakFactor", 1),
    END,
};

static const struct tm_field spec_fields[] = {
    STR("description"),
    STR("version"),
    {.name = "labels", .kind = TK_MAP, .item = ITEM(TK_STRING)},
    OBJ("sampling", sampling_fields),
    OBJ("propagation", propagation_fields),
    OBJ("collector", collector_fields),
    {.name = "backend", .kind = TK_OBJECT, .flags = TF_REQUIRED, .fields = backend_fields},
    OBJ("istio", istio_fields),
    {.name = "services", .kind = TK_ARRAY, .flags = TF_LISTMAP,
     .item = ITEM(TK_OBJECT, .fields = service_fields)},
    OBJ("analysis", analysis_fields),
    OBJ("alerts", alerts_fields),
    OBJ("grafana", grafana_fields),
    OBJ("capacity", capacity_fields),
    END,
};

const struct tm_field *tm_spec_schema(void) { return spec_fields; }

const struct tm_field *tm_schema_lookup(const char *path) {
    const struct tm_field *fields = spec_fields, *cur = NULL;
    const char *p = path;
    while (p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        int item = n >= 2 && p[n - 2] == '[' && p[n - 1] == ']';
        size_t name_len = item ? n - 2 : n;
        cur = NULL;
        for (size_t i = 0; fields && fields[i].name; i++)
            if (strlen(fields[i].name) == name_len && !strncmp(fields[i].name, p, name_len))
                cur = &fields[i];
        if (!cur)
            return NULL;
        if (item) {
            if (!cur->item)
                return NULL;
            cur = cur->item;
        }
        fields = cur->fields;
        p = dot ? dot + 1 : NULL;
    }
    return cur;
}
