#!/usr/bin/env python3
"""check_manifests.py - assertions on `helm template` output of the tracing-operator chart.

  check_manifests.py RENDERED.yaml RELEASE_NAMESPACE CHECK...

Each CHECK is a name, optionally with "=value"; every failed assertion is printed and the
exit status is 1 when any failed. Checks:
  rbac                 no "*" anywhere in RBAC; Secrets only through a Role in the release
                       namespace; no escalate/bind/impersonate, pods/exec, nodes, clusterroles
  rbac-exact=MODE      the ClusterRole grants exactly the operator's needs (MODE: install or
                       noinstall, after crds.install); the Role exactly Secrets (self-signed)
                       and/or Leases (leader election)
  webhooks             the five webhooks carry failurePolicy, timeoutSeconds, sideEffects,
                       admissionReviewVersions, namespaceSelector, objectSelector, paths,
                       operations; pods: Ignore, CREATE only, excluded namespaces, and the
                       same for injection-policy=required namespaces with Fail;
                       workloads: Ignore, the five workload kinds, the pods' namespaces
  security             pod and container security contexts, probes, resources
  leader=on|off        leader election flags and Lease permissions
  certmode=MODE        self-signed, cert-manager, secret or url wiring
  crds-install=on|off  --install-crds flag
  watch=a,b            --namespace flags and the pod webhooks' In selector
  image=REF            the container image
  names                every name unique and <= 63 chars, namespaced objects in the
                       release namespace, standard labels
  kinds=K1,K2          exactly these kinds are rendered (order-free, with multiplicity)
  absent=K1,K2         no object of these kinds
"""
import sys

import yaml

CRUD = {"get", "list", "watch", "create", "update", "patch", "delete"}
CRDS = {"tracingmodels.tracemodel.dev", "instrumentations.tracemodel.dev"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
                  "ValidatingWebhookConfiguration", "CustomResourceDefinition"}


def needs(install_crds):
    """The (apiGroup, resource, verb, resourceName) set the operator uses, from its design."""
    out = set()

    def add(group, resources, verbs, names=(None,)):
        for r in resources:
            for v in verbs:
                for n in names:
                    out.add((group, r, v, n))

    add("tracemodel.dev", ["tracingmodels", "instrumentations"], ["get", "list", "watch", "update", "patch"])
    add("tracemodel.dev", ["tracingmodels/status", "instrumentations/status"], ["get", "update", "patch"])
    add("tracemodel.dev", ["tracingmodels/finalizers", "instrumentations/finalizers"], ["update"])
    add("", ["configmaps", "services", "serviceaccounts", "persistentvolumeclaims"], CRUD)
    add("apps", ["deployments", "daemonsets", "statefulsets"], CRUD)
    add("batch", ["cronjobs"], CRUD)
    add("rbac.authorization.k8s.io", ["roles", "rolebindings"], CRUD)
    add("", ["endpoints"], ["get", "list", "watch"])
    add("discovery.k8s.io", ["endpointslices"], ["get", "list", "watch"])
    add("", ["pods", "namespaces"], ["get", "list", "watch"])
    add("", ["events"], ["create", "patch"])
    add("events.k8s.io", ["events"], ["create", "patch"])
    add("telemetry.istio.io", ["telemetries"], CRUD)
    add("monitoring.coreos.com", ["prometheusrules", "servicemonitors"], CRUD)
    add("jaegertracing.io", ["jaegers"], CRUD)
    add("tempo.grafana.com", ["tempomonolithics"], CRUD)
    add("apiextensions.k8s.io", ["customresourcedefinitions"], ["get", "list", "watch"])
    if install_crds:
        add("apiextensions.k8s.io", ["customresourcedefinitions"], ["create"])
        add("apiextensions.k8s.io", ["customresourcedefinitions"], ["update", "patch"], sorted(CRDS))
    add("admissionregistration.k8s.io",
        ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"], ["get", "list", "watch"])
    add("admissionregistration.k8s.io",
        ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"], ["update", "patch"],
        ["tracing-operator"])
    return out


def expand(rules):
    out = set()
    for r in rules or []:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    for n in r.get("resourceNames") or [None]:
                        out.add((g, res, v, n))
    return out


class Checker:
    def __init__(self, docs, ns):
        self.docs = docs
        self.ns = ns
        self.errors = []

    def err(self, msg):
        self.errors.append(msg)

    def expect(self, cond, msg):
        if not cond:
            self.err(msg)
        return cond

    def of(self, kind):
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind):
        objs = self.of(kind)
        if len(objs) != 1:
            self.err("expected one %s, found %d" % (kind, len(objs)))
            return None
        return objs[0]

    def container(self):
        dep = self.one("Deployment")
        if not dep:
            return None, None
        spec = dep["spec"]["template"]["spec"]
        return spec, spec["containers"][0]

    def args(self):
        _, c = self.container()
        return c.get("args", []) if c else []

    # -- checks -------------------------------------------------------------------------
    def check_rbac(self, _):
        for kind in ("ClusterRole", "Role"):
            for role in self.of(kind):
                name = "%s %s" % (kind, role["metadata"]["name"])
                for i, rule in enumerate(role.get("rules") or []):
                    for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                        for v in rule.get(field) or []:
                            self.expect("*" not in v, "%s rule %d: wildcard %r in %s" % (name, i, v, field))
                    self.expect(not rule.get("nonResourceURLs"), "%s rule %d: nonResourceURLs" % (name, i))
                    for v in rule.get("verbs") or []:
                        self.expect(v not in ("escalate", "bind", "impersonate"),
                                    "%s rule %d: verb %s" % (name, i, v))
                    for res in rule.get("resources") or []:
                        self.expect(res not in ("pods/exec", "pods/attach", "pods/portforward", "nodes",
                                                "nodes/proxy", "clusterroles", "clusterrolebindings",
                                                "serviceaccounts/token", "certificatesigningrequests"),
                                    "%s rule %d: grants %s" % (name, i, res))
                        if res == "secrets":
                            self.expect(kind == "Role", "%s grants secrets cluster-wide" % name)
                            self.expect(role["metadata"].get("namespace") == self.ns,
                                        "%s grants secrets outside %s" % (name, self.ns))
                            self.expect("delete" not in rule.get("verbs", []),
                                        "%s: secrets delete" % name)
        for b in self.of("ClusterRoleBinding"):
            self.expect(b["roleRef"]["kind"] == "ClusterRole" and b["roleRef"]["name"] != "cluster-admin",
                        "ClusterRoleBinding %s binds %s" % (b["metadata"]["name"], b["roleRef"]))

    def check_rbac_exact(self, mode):
        cr = self.one("ClusterRole")
        if not cr:
            return
        got = expand(cr.get("rules"))
        name = cr["metadata"]["name"]
        want = {(g, r, v, name if n == "tracing-operator" else n) for g, r, v, n in needs(mode == "install")}
        for extra in sorted(got - want, key=str):
            self.err("ClusterRole grants more than the operator needs: %s" % (extra,))
        for missing in sorted(want - got, key=str):
            self.err("ClusterRole lacks what the operator needs: %s" % (missing,))

    def check_webhooks(self, _):
        mwc = self.one("MutatingWebhookConfiguration")
        vwc = self.one("ValidatingWebhookConfiguration")
        if not mwc or not vwc:
            return
        hooks = {w["name"]: w for w in (mwc.get("webhooks") or []) + (vwc.get("webhooks") or [])}
        self.expect(set(hooks) == {"mpod.tracemodel.dev", "mpod-required.tracemodel.dev",
                                   "vtracingmodel.tracemodel.dev",
                                   "vinstrumentation.tracemodel.dev", "vworkload.tracemodel.dev"},
                    "webhook names: %s" % sorted(hooks))
        for name, w in hooks.items():
            for field in ("failurePolicy", "timeoutSeconds", "sideEffects", "admissionReviewVersions",
                          "namespaceSelector", "objectSelector", "clientConfig", "rules"):
                self.expect(field in w, "webhook %s has no %s" % (name, field))
            self.expect(w.get("sideEffects") == "None", "webhook %s sideEffects %s" % (name, w.get("sideEffects")))
            self.expect(w.get("admissionReviewVersions") == ["v1"], "webhook %s admissionReviewVersions" % name)
            t = w.get("timeoutSeconds")
            self.expect(isinstance(t, int) and 1 <= t <= 30, "webhook %s timeoutSeconds %r" % (name, t))
            for sel in ("namespaceSelector", "objectSelector"):
                self.expect(isinstance(w.get(sel), dict), "webhook %s %s is not a map" % (name, sel))
        pod = hooks.get("mpod.tracemodel.dev")
        if pod:
            self.expect(pod["failurePolicy"] == "Ignore", "pod webhook failurePolicy %s" % pod["failurePolicy"])
            self.expect(pod.get("reinvocationPolicy") == "IfNeeded", "pod webhook reinvocationPolicy")
            rule = pod["rules"][0]
            self.expect(rule["operations"] == ["CREATE"] and rule["resources"] == ["pods"]
                        and rule["apiGroups"] == [""], "pod webhook rule %s" % rule)
            excluded = set()
            for e in pod["namespaceSelector"].get("matchExpressions", []):
                if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn":
                    excluded |= set(e["values"])
            self.expect({"kube-system", self.ns} <= excluded,
                        "pod webhook does not exclude kube-system and %s: %s" % (self.ns, sorted(excluded)))
            self.expect(self.path(pod) == "/mutate-v1-pod", "pod webhook path %s" % self.path(pod))
        req = hooks.get("mpod-required.tracemodel.dev")
        if pod and req:
            self.expect(req["failurePolicy"] == "Fail", "required pod webhook failurePolicy %s" % req["failurePolicy"])
            self.expect(req["rules"] == pod["rules"] and self.path(req) == "/mutate-v1-pod",
                        "required pod webhook rules/path differ from the pod webhook's")
            policy = "tracemodel.dev/injection-policy"
            ops = {}
            for name, w in (("pod", pod), ("required", req)):
                exprs = w["namespaceSelector"].get("matchExpressions", [])
                ops[name] = [(e["operator"], e["values"]) for e in exprs if e["key"] == policy]
                rest = [e for e in exprs if e["key"] != policy]
                if name == "required":
                    self.expect(rest == [e for e in pod["namespaceSelector"].get("matchExpressions", [])
                                         if e["key"] != policy],
                                "required pod webhook excludes other namespaces than the pod webhook")
            self.expect(ops == {"pod": [("NotIn", ["required"])], "required": [("In", ["required"])]},
                        "pod webhooks split on %s: %s" % (policy, ops))
        wl = hooks.get("vworkload.tracemodel.dev")
        if wl:
            self.expect(wl["failurePolicy"] == "Ignore", "workload webhook failurePolicy %s" % wl["failurePolicy"])
            got = sorted((g, r, tuple(sorted(rule["operations"])))
                         for rule in wl["rules"] for g in rule["apiGroups"] for r in rule["resources"])
            want = sorted((g, r, ("CREATE", "UPDATE")) for g, r in (
                ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"),
                ("batch", "jobs"), ("batch", "cronjobs")))
            self.expect(got == want, "workload webhook rules %s" % got)
            self.expect(self.path(wl) == "/validate-workload", "workload webhook path %s" % self.path(wl))
            if pod:
                policy = "tracemodel.dev/injection-policy"
                strip = lambda sel: [e for e in sel.get("matchExpressions", []) if e["key"] != policy]
                self.expect(strip(wl["namespaceSelector"]) == strip(pod["namespaceSelector"]),
                            "workload webhook namespaces differ from the pod webhooks'")
        for name, res, path in (("vtracingmodel.tracemodel.dev", "tracingmodels", "/validate-tracingmodel"),
                                ("vinstrumentation.tracemodel.dev", "instrumentations", "/validate-instrumentation")):
            w = hooks.get(name)
            if not w:
                continue
            self.expect(w["failurePolicy"] == "Fail", "%s failurePolicy %s" % (name, w["failurePolicy"]))
            rule = w["rules"][0]
            self.expect(rule["apiGroups"] == ["tracemodel.dev"] and rule["resources"] == [res]
                        and sorted(rule["operations"]) == ["CREATE", "UPDATE"], "%s rule %s" % (name, rule))
            self.expect(self.path(w) == path, "%s path %s" % (name, self.path(w)))

    @staticmethod
    def path(w):
        cc = w.get("clientConfig", {})
        if "service" in cc:
            return cc["service"].get("path")
        url = cc.get("url", "")
        return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else None

    def check_security(self, _):
        spec, c = self.container()
        if not c:
            return
        psc = spec.get("securityContext", {})
        self.expect(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
        self.expect(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccompProfile")
        sc = c.get("securityContext", {})
        self.expect(sc.get("runAsNonRoot") is True, "container runAsNonRoot")
        self.expect(sc.get("readOnlyRootFilesystem") is True, "container readOnlyRootFilesystem")
        self.expect(sc.get("allowPrivilegeEscalation") is False, "container allowPrivilegeEscalation")
        self.expect(sc.get("capabilities", {}).get("drop") == ["ALL"], "container capabilities drop ALL")
        self.expect(not sc.get("capabilities", {}).get("add"), "container adds capabilities")
        self.expect(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "container seccompProfile")
        self.expect(sc.get("privileged") in (None, False), "container privileged")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            self.expect(get.get("path") == path, "%s path %s" % (probe, get.get("path")))
            self.expect(get.get("port") in ("health", ports.get("health")), "%s port %s" % (probe, get.get("port")))
        args = c.get("args", [])
        self.expect(args[:1] == ["run"], "container args start with run: %s" % args[:1])
        self.expect("--health-probe-bind-address=:%s" % ports.get("health") in args, "health bind address")
        self.expect("--webhook-bind-address=:%s" % ports.get("webhook") in args, "webhook bind address")
        threads = [a for a in args if a.startswith("--webhook-threads=")]
        self.expect(len(threads) == 1 and threads[0].split("=", 1)[1].isdigit()
                    and 1 <= int(threads[0].split("=", 1)[1]) <= 16, "webhook threads %s" % threads)
        self.expect("--metrics-bind-address=:%s" % ports.get("metrics") in args, "metrics bind address")
        res = c.get("resources", {})
        self.expect(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
                    and res.get("limits", {}).get("memory"), "resources requests/limits %s" % res)
        self.expect(any(m.get("mountPath") == "/tmp" for m in c.get("volumeMounts", [])),
                    "writable /tmp for a read-only root filesystem")
        env = {e["name"]: e for e in c.get("env", [])}
        self.expect(env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                    == "metadata.namespace", "POD_NAMESPACE from the downward API")
        svc = [s for s in self.of("Service") if s["metadata"]["name"].endswith("-webhook")]
        for s in svc:
            p = s["spec"]["ports"][0]
            self.expect(p["port"] == 443 and p["targetPort"] in ("webhook", ports.get("webhook")),
                        "webhook Service 443 -> webhook port: %s" % p)

    def check_leader(self, want):
        args = self.args()
        on = "--leader-elect" in args
        self.expect(on == (want == "on"), "leader election %s, want %s" % ("on" if on else "off", want))
        if on:
            self.expect(any(a == "--leader-election-namespace=" + self.ns for a in args),
                        "leader election namespace is not the release namespace")
        roles = [r for r in self.of("Role")]
        leases = {x for r in roles for x in expand(r.get("rules")) if x[1] == "leases"}
        if want == "on":
            verbs = {v for _, _, v, _ in leases}
            self.expect({"get", "create", "update"} <= verbs, "Lease verbs %s" % sorted(verbs))
            for r in roles:
                self.expect(r["metadata"].get("namespace") == self.ns, "Lease Role outside release namespace")
        else:
            self.expect(not leases, "Lease permissions without leader election")
        self.expect(not any(x[1] == "leases" for cr in self.of("ClusterRole") for x in expand(cr.get("rules"))),
                    "Lease permissions in the ClusterRole")

    def check_certmode(self, mode):
        args = self.args()
        spec, c = self.container()
        mwc = self.one("MutatingWebhookConfiguration")
        vwc = self.one("ValidatingWebhookConfiguration")
        if not (c and mwc and vwc):
            return
        configs = [mwc, vwc]
        hooks = (mwc.get("webhooks") or []) + (vwc.get("webhooks") or [])
        secret_rules = {x for r in self.of("Role") for x in expand(r.get("rules")) if x[1] == "secrets"}
        certs = self.of("Certificate")
        mounted = {v["name"]: v for v in spec.get("volumes", [])}
        if mode == "self-signed":
            self.expect("--cert-mode=self-signed" in args, "--cert-mode=self-signed missing")
            self.expect(not any("cert-manager.io/inject-ca-from" in (x["metadata"].get("annotations") or {})
                                for x in configs), "inject-ca-from in self-signed mode")
            self.expect(not certs and not self.of("Issuer"), "cert-manager objects in self-signed mode")
            secs = [s for s in self.of("Secret") if s["metadata"]["name"].endswith("-webhook-cert")]
            self.expect(len(secs) == 1 and secs[0].get("type") == "kubernetes.io/tls",
                        "self-signed mode ships the (empty) kubernetes.io/tls Secret the operator fills")
            verbs = {v for _, _, v, _ in secret_rules}
            self.expect({"get", "create", "update"} <= verbs, "Secret verbs in self-signed mode: %s" % verbs)
            named = {n for _, _, v, n in secret_rules if v in ("get", "update", "patch")}
            self.expect(named == {secs[0]["metadata"]["name"]} if secs else False,
                        "Secret get/update/patch not limited to the certificate Secret: %s" % named)
            self.expect(all("caBundle" not in h["clientConfig"] for h in hooks),
                        "caBundle rendered without a cluster (lookup must find nothing in helm template)")
        elif mode in ("cert-manager", "secret"):
            self.expect("--cert-mode=files" in args and "--cert-dir=/etc/tracing-operator/certs" in args,
                        "--cert-mode=files --cert-dir missing: %s" % args)
            self.expect(any(m.get("mountPath") == "/etc/tracing-operator/certs"
                            for m in c.get("volumeMounts", [])), "certificate not mounted")
            self.expect(not secret_rules, "Secret permissions although the certificate is mounted")
            if mode == "cert-manager":
                self.expect(len(certs) == 1, "one Certificate expected, found %d" % len(certs))
                if certs:
                    cert = certs[0]
                    ref = "%s/%s" % (self.ns, cert["metadata"]["name"])
                    for x in configs:
                        got = (x["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from")
                        self.expect(got == ref, "%s inject-ca-from %s, want %s" % (x["kind"], got, ref))
                    secret = mounted.get("webhook-cert", {}).get("secret", {}).get("secretName")
                    self.expect(secret == cert["spec"]["secretName"], "mounted Secret %s is not the "
                                "Certificate's %s" % (secret, cert["spec"]["secretName"]))
                    svc = [s["metadata"]["name"] for s in self.of("Service") if s["metadata"]["name"].endswith("-webhook")]
                    if svc:
                        self.expect("%s.%s.svc" % (svc[0], self.ns) in cert["spec"]["dnsNames"],
                                    "Certificate dnsNames lack the Service name: %s" % cert["spec"]["dnsNames"])
            else:
                self.expect(not certs, "Certificate in secret mode")
                self.expect(all(h["clientConfig"].get("caBundle") for h in hooks), "secret mode without caBundle")
        elif mode == "url":
            for h in hooks:
                cc = h["clientConfig"]
                self.expect("url" in cc and "service" not in cc and cc.get("caBundle"),
                            "webhook %s clientConfig %s" % (h["name"], cc))
            self.expect(not any(s["metadata"]["name"].endswith("-webhook") for s in self.of("Service")),
                        "webhook Service made although webhook.url is set")
            self.expect(not secret_rules, "Secret permissions although the operator runs outside")
            self.expect(not self.of("Secret"), "a certificate Secret although the operator runs outside")
            self.expect("--cert-mode=files" in args, "--cert-mode=files missing with webhook.url")
        else:
            self.err("unknown certmode %s" % mode)

    def check_crds_install(self, want):
        on = "--install-crds" in self.args()
        self.expect(on == (want == "on"), "--install-crds %s, want %s" % (on, want))

    def check_watch(self, value):
        nss = [n for n in value.split(",") if n]
        args = self.args()
        got = [a.split("=", 1)[1] for a in args if a.startswith("--namespace=")]
        self.expect(got == nss, "--namespace flags %s, want %s" % (got, nss))
        mwc = self.one("MutatingWebhookConfiguration")
        for w in (mwc or {}).get("webhooks", []) if nss else []:
            sel = w["namespaceSelector"].get("matchExpressions", [])
            self.expect(any(e["operator"] == "In" and e["values"] == nss for e in sel),
                        "pod webhook %s not limited to %s: %s" % (w["name"], nss, sel))

    def check_image(self, ref):
        _, c = self.container()
        if c:
            self.expect(c["image"] == ref, "image %s, want %s" % (c["image"], ref))

    def check_names(self, _):
        seen = set()
        for d in self.docs:
            key = (d["kind"], d.get("metadata", {}).get("namespace"), d.get("metadata", {}).get("name"))
            self.expect(key not in seen, "two objects named %s" % (key,))
            seen.add(key)
            md = d.get("metadata", {})
            self.expect(len(md.get("name", "")) <= 63, "%s name too long: %s" % (d["kind"], md.get("name")))
            if d["kind"] not in CLUSTER_SCOPED:
                self.expect(md.get("namespace") == self.ns, "%s %s in namespace %s" %
                            (d["kind"], md.get("name"), md.get("namespace")))
            labels = md.get("labels") or {}
            self.expect(labels.get("app.kubernetes.io/managed-by") == "Helm" and
                        "app.kubernetes.io/instance" in labels, "%s %s lacks the standard labels" %
                        (d["kind"], md.get("name")))

    def check_kinds(self, value):
        want = sorted(k for k in value.split(",") if k)
        got = sorted(d["kind"] for d in self.docs)
        self.expect(got == want, "kinds %s, want %s" % (got, want))

    def check_absent(self, value):
        for k in value.split(","):
            self.expect(not self.of(k), "%s rendered" % k)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if not docs:
        print("no objects rendered")
        return 1
    ck = Checker(docs, argv[2])
    for spec in argv[3:]:
        name, _, value = spec.partition("=")
        fn = getattr(ck, "check_" + name.replace("-", "_"), None)
        if fn is None:
            ck.err("unknown check %s" % name)
            continue
        fn(value)
    for e in ck.errors:
        print(e)
    return 1 if ck.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
