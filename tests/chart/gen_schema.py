#!/usr/bin/env python3
"""gen_schema.py - writes charts/tracing-operator/values.schema.json (run by hand after
changing values.yaml; the chart tests check the schema accepts the defaults and rejects
bad values, so a stale schema fails them)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "charts", "tracing-operator", "values.schema.json")


def obj(props, required=None, extra=False, desc=None):
    o = {"type": "object", "additionalProperties": extra, "properties": props}
    if required:
        o["required"] = required
    if desc:
        o["description"] = desc
    return o


def s(desc, **kw):
    return dict({"type": "string", "description": desc}, **kw)


def i(desc, **kw):
    return dict({"type": "integer", "description": desc}, **kw)


def b(desc):
    return {"type": "boolean", "description": desc}


def freemap(desc):
    return {"type": "object", "description": desc}


def strmap(desc):
    return {"type": "object", "description": desc, "additionalProperties": {"type": "string"}}


def arr(desc, items=None):
    a = {"type": "array", "description": desc}
    if items:
        a["items"] = items
    return a


PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DURATION = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
TIMEOUT = {"type": "integer", "minimum": 1, "maximum": 30}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
QUANTITY = {"type": ["string", "number"], "pattern": "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"}
RESOURCES = {
    "type": "object",
    "description": "container resources",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": QUANTITY},
        "limits": {"type": "object", "additionalProperties": QUANTITY},
    },
}
IMAGE_REF = {"type": "string", "minLength": 1, "pattern": "^[^\\s]+$"}

schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "tracing-operator chart values",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "global": freemap("values shared with parent charts"),
        "nameOverride": s("chart name override", pattern="^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", maxLength=63),
        "fullnameOverride": s("full name override", pattern="^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", maxLength=63),
        "replicas": i("operator pods", minimum=0),
        "image": obj({
            "repository": s("image repository", minLength=1),
            "tag": s("image tag"),
            "digest": s("image digest", pattern="^(sha256:[a-f0-9]{64})?$"),
            "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
        }, required=["repository"]),
        "imagePullSecrets": arr("pull secrets", {"type": "object", "required": ["name"],
                                                 "properties": {"name": {"type": "string"}}}),
        "watchNamespaces": arr("watched namespaces", {"type": "string", "pattern": DNS1123, "maxLength": 63}),
        "logLevel": {"enum": ["debug", "info", "warn", "error"], "description": "log level"},
        "concurrency": i("parallel reconciles, 0 = operator default", minimum=0, maximum=64),
        "leaderElection": obj({
            "enabled": b("leader election with one replica"),
            "id": s("Lease name", pattern="^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$", maxLength=253),
        }),
        "crds": obj({"install": b("operator applies its CRDs at start")}),
        "instrumentation": obj({
            "images": obj({lang: IMAGE_REF for lang in ("java", "nodejs", "python", "dotnet", "go")}),
        }),
        "webhook": obj({
            "certMode": {"enum": ["self-signed", "cert-manager", "secret"],
                         "description": "where the serving certificate comes from"},
            "port": PORT,
            "threads": i("HTTPS service threads of the webhook server", minimum=1, maximum=16),
            "service": obj({"port": PORT}),
            "failurePolicy": {"enum": ["Fail", "Ignore"]},
            "timeoutSeconds": TIMEOUT,
            "pods": obj({"failurePolicy": {"enum": ["Fail", "Ignore"]}, "timeoutSeconds": TIMEOUT}),
            "workloads": obj({"warnings": {"type": "boolean"}, "timeoutSeconds": TIMEOUT}),
            "namespaceSelector": LABEL_SELECTOR,
            "objectSelector": LABEL_SELECTOR,
            "excludeNamespaces": arr("namespaces never injected", {"type": "string", "pattern": DNS1123}),
            "hosts": arr("extra certificate names", {"type": "string", "minLength": 1}),
            "url": s("external webhook base URL", pattern="^(https://[^\\s/]+(/[^\\s]*)?)?$"),
            "caBundle": s("base64 PEM CA bundle", pattern="^[A-Za-z0-9+/=]*$"),
            "certManager": obj({
                "issuerRef": obj({"name": s("issuer name", minLength=1), "kind": s("issuer kind"),
                                  "group": s("issuer group")}),
                "duration": s("certificate lifetime", pattern=DURATION),
                "renewBefore": s("renewal margin", pattern=DURATION),
            }),
            "secret": obj({"name": s("your TLS Secret", pattern="^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$")}),
        }, extra=False),
        "serviceAccount": obj({
            "create": b("create the ServiceAccount"),
            "name": s("ServiceAccount name"),
            "annotations": strmap("ServiceAccount annotations"),
        }),
        "rbac": obj({"create": b("create RBAC")}),
        "resources": RESOURCES,
        "securityContext": obj({
            "runAsUser": {"type": ["integer", "null"], "minimum": 1},
            "runAsGroup": {"type": ["integer", "null"], "minimum": 1},
        }),
        "podAnnotations": strmap("pod annotations"),
        "podLabels": strmap("pod labels"),
        "nodeSelector": strmap("node selector"),
        "tolerations": arr("tolerations", {"type": "object"}),
        "affinity": freemap("affinity"),
        "topologySpreadConstraints": arr("topology spread constraints", {"type": "object"}),
        "priorityClassName": s("priority class"),
        "extraArgs": arr("extra flags", {"type": "string"}),
        "extraEnv": arr("extra env", {"type": "object", "required": ["name"]}),
        "metrics": obj({
            "port": PORT,
            "serviceMonitor": obj({
                "enabled": b("create a ServiceMonitor"),
                "interval": s("scrape interval", pattern=DURATION),
                "labels": strmap("labels"),
            }),
            "prometheusRule": obj({
                "enabled": b("create a PrometheusRule"),
                "labels": strmap("labels"),
                "additionalRules": arr("more rules", {"type": "object"}),
            }),
        }),
        "healthProbePort": PORT,
        "podDisruptionBudget": obj({
            "enabled": b("create a PDB"),
            "maxUnavailable": {"type": ["integer", "string"], "pattern": "^[0-9]+%$", "minimum": 0},
        }),
        "networkPolicy": obj({
            "enabled": b("create a NetworkPolicy"),
            "apiServerPorts": arr("API server ports", PORT),
            "metricsFrom": arr("peers allowed to scrape", {"type": "object"}),
            "extraEgress": arr("more egress rules", {"type": "object"}),
        }),
    },
    "allOf": [
        {
            "if": {"properties": {"webhook": {"properties": {"certMode": {"const": "secret"}},
                                              "required": ["certMode"]}},
                   "required": ["webhook"]},
            "then": {"properties": {"webhook": {
                "properties": {
                    "secret": {"properties": {"name": {"minLength": 1}}, "required": ["name"]},
                    "caBundle": {"minLength": 1},
                },
                "required": ["secret", "caBundle"]}}},
        },
        {
            "if": {"properties": {"webhook": {"properties": {"url": {"minLength": 1}},
                                              "required": ["url"]}},
                   "required": ["webhook"]},
            "then": {"properties": {"webhook": {
                "properties": {"caBundle": {"minLength": 1}}, "required": ["caBundle"]}}},
        },
    ],
}

text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
if len(sys.argv) > 1 and sys.argv[1] == "--check":
    with open(OUT, encoding="utf-8") as f:
        if f.read() != text:
            sys.exit("values.schema.json is stale: run python3 tests/chart/gen_schema.py")
    sys.exit(0)
with open(OUT, "w", encoding="utf-8") as f:
    f.write(text)
