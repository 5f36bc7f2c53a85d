#!/usr/bin/env python3
"""Checks helm/anteroom without a cluster, and without Helm unless --helm.

For the chart's default values and for each values file given (default: every ci/*.yaml),
it validates the merged values against values.schema.json, renders every template as
`helm template` would (see gotemplate.py for the template subset), parses the output, and
checks each object:

  - well formed: apiVersion and kind known and matching, metadata.name a valid DNS name,
    labels valid, names unique per kind;
  - workloads: selector matchLabels are a subset of the pod template's labels, containers have
    name and image, probe and Service target ports name a container port, volume mounts name a
    volume or claim template, ConfigMap / Secret volumes and secretKeyRefs name an object this
    release renders (or an existing one the values point at), non-root and read-only root;
  - Services, PodDisruptionBudgets, NetworkPolicies, ServiceMonitors and HPAs select or target
    something the release renders; a StatefulSet's serviceName is a headless Service;
  - the agent config files in ConfigMaps are YAML with only AgentConfig fields, and name
    coordinator shards that exist;
  - the Grafana dashboard is JSON and uses only metric names the C++ sources register;
  - NOTES.txt renders.

Usage:
  helm/check_chart.py [--chart DIR] [VALUES.yaml ...]
  helm/check_chart.py --expect-error SUBSTRING [--chart DIR] VALUES.yaml
      succeeds only when checking VALUES.yaml fails with a message containing SUBSTRING
  helm/check_chart.py --print VALUES.yaml      print the rendered manifests
  helm/check_chart.py --helm [VALUES.yaml ...]
      also runs real Helm (ANTEROOM_HELM, else helm on PATH) on each case: `helm lint --strict`
      passes, `helm template` output passes the checks above, and it holds the same objects as
      gotemplate.py renders; with --expect-error, `helm template` must fail with SUBSTRING

Exit status 0 when every case passes, 1 otherwise, 77 when --helm finds no helm. Needs python3
and python3-yaml only.
"""

import argparse
import base64
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gotemplate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

KINDS = {
    "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "ServiceAccount": "v1", "Pod": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1", "StatefulSet": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
# How Go prints a float64 of a million and more (1e+06): a number from values printed without
# `int`. YAML 1.1 (PyYAML) reads it as a string, Kubernetes as a float.
GO_EXPONENT = re.compile(r"^-?[0-9](\.[0-9]+)?e[-+][0-9]{2,}$")
# AgentConfig fields (proto/anteroom/v1/config.proto) a config file may set.
AGENT_CONFIG_FIELDS = None


class CheckError(Exception):
    pass


class StrictLoader(yaml.SafeLoader):
    """Rejects duplicate keys, as the API server and kubectl do."""


def _strict_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


# ---------------------------------------------------------------------------------------------
# JSON Schema: the draft-07 subset values.schema.json uses.

def validate_schema(value, schema, path="values"):
    errors = []
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        ok = False
        for ty in types:
            if ty == "object" and isinstance(value, dict):
                ok = True
            elif ty == "array" and isinstance(value, list):
                ok = True
            elif ty == "string" and isinstance(value, str):
                ok = True
            elif ty == "boolean" and isinstance(value, bool):
                ok = True
            elif ty == "integer" and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            elif ty == "integer" and isinstance(value, float) and value.is_integer():
                ok = True
            elif ty == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
                ok = True
            elif ty == "null" and value is None:
                ok = True
        if not ok:
            return [f"{path}: expected {'/'.join(types)}, got {json.dumps(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {json.dumps(value)} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {json.dumps(schema['const'])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} is more than the maximum {schema['maximum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: '{value}' does not match {schema['pattern']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(value, dict):
        if "propertyNames" in schema:
            for k in value:
                for e in validate_schema(k, schema["propertyNames"], f"{path} key"):
                    errors.append(e)
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                errors.append(f"{path}: '{req}' is required")
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errors += validate_schema(v, props[k], f"{path}.{k}")
            elif extra is False:
                errors.append(f"{path}: additional property '{k}' is not allowed")
            elif isinstance(extra, dict):
                errors += validate_schema(v, extra, f"{path}.{k}")
    if isinstance(value, list):
        if "items" in schema:
            for i, v in enumerate(value):
                errors += validate_schema(v, schema["items"], f"{path}[{i}]")
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
    for sub in schema.get("allOf", []):
        errors += validate_schema(value, sub, path)
    if "anyOf" in schema:
        if all(validate_schema(value, s, path) for s in schema["anyOf"]):
            errors.append(f"{path}: matches none of anyOf")
    if "if" in schema:
        if not validate_schema(value, schema["if"], path):
            errors += validate_schema(value, schema.get("then", {}), path)
        elif "else" in schema:
            errors += validate_schema(value, schema["else"], path)
    if "not" in schema and not validate_schema(value, schema["not"], path):
        errors.append(f"{path}: must not match {json.dumps(schema['not'])}")
    return errors


# ---------------------------------------------------------------------------------------------
# Rendering.

def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif v is None:
            out.pop(k, None)  # Helm: null deletes a default
        else:
            out[k] = copy.deepcopy(v)
    return out


class Files:
    def __init__(self, chart_dir):
        self._dir = chart_dir

    def Get(self, name):  # noqa: N802 - Helm's method name
        path = os.path.join(self._dir, name)
        if not os.path.isfile(path):
            return ""
        with open(path, encoding="utf-8") as f:
            return f.read()


def render_chart(chart_dir, values, release="demo", namespace="shop"):
    with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as f:
        chart = yaml.safe_load(f)
    engine = gotemplate.Engine()
    tdir = os.path.join(chart_dir, "templates")
    paths = sorted(glob.glob(os.path.join(tdir, "**", "*"), recursive=True))
    names = []
    for p in paths:
        if not os.path.isfile(p):
            continue
        rel = os.path.relpath(p, chart_dir)
        name = f"{chart['name']}/{rel}"
        with open(p, encoding="utf-8") as f:
            engine.add(name, f.read())
        names.append(name)
    data = {
        "Values": gotemplate.helm_values(values),
        "Release": {"Name": release, "Namespace": namespace, "Service": "Helm",
                    "IsInstall": True, "IsUpgrade": False, "Revision": 1},
        "Chart": {"Name": chart["name"], "Version": chart["version"],
                  "AppVersion": chart.get("appVersion", "")},
        "Capabilities": {"KubeVersion": {"Version": "v1.29.0"}},
        "Files": Files(chart_dir),
    }
    out = {}
    for name in names:
        base = os.path.basename(name)
        if base.startswith("_"):
            continue
        d = dict(data)
        d["Template"] = {"Name": name, "BasePath": f"{chart['name']}/templates"}
        out[name] = engine.render(name, d)
    return chart, out


# ---------------------------------------------------------------------------------------------
# Kubernetes checks.

def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_spec(obj):
    k = obj["kind"]
    if k in ("Deployment", "StatefulSet"):
        return obj["spec"]["template"]["spec"], obj["spec"]["template"]["metadata"].get("labels", {})
    if k == "Pod":
        return obj["spec"], obj["metadata"].get("labels", {})
    return None, None


def known_metrics():
    names = set()
    for sub in ("agent", "common", "coordinator"):
        for p in glob.glob(os.path.join(REPO, sub, "**", "*.cc"), recursive=True) + \
                glob.glob(os.path.join(REPO, sub, "**", "*.h"), recursive=True):
            with open(p, encoding="utf-8", errors="replace") as f:
                names.update(re.findall(r'"(anteroom_[a-z0-9_]+)"', f.read()))
    return names


def agent_config_fields():
    global AGENT_CONFIG_FIELDS
    if AGENT_CONFIG_FIELDS is None:
        with open(os.path.join(REPO, "proto", "anteroom", "v1", "config.proto"),
                  encoding="utf-8") as f:
            text = f.read()
        body = re.search(r"message AgentConfig \{(.*?)\n\}", text, re.S).group(1)
        AGENT_CONFIG_FIELDS = set(re.findall(r"^\s*(?:optional\s+|repeated\s+)?[\w.]+\s+(\w+)\s*=",
                                             body, re.M))
    return AGENT_CONFIG_FIELDS


def go_exponents(v, path=""):
    """Paths of the values Go printed in e-notation."""
    if isinstance(v, dict):
        return [p for k, x in v.items() for p in go_exponents(x, f"{path}.{k}")]
    if isinstance(v, list):
        return [p for i, x in enumerate(v) for p in go_exponents(x, f"{path}[{i}]")]
    return [f"{path[1:]}: {v}"] if isinstance(v, str) and GO_EXPONENT.match(v) else []


def check_objects(objs, values):
    errs = []
    by_kind = {}
    for o in objs:
        where = f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"
        for p in go_exponents(o):
            errs.append(f"{where}: {p} is a float64 in e-notation; print the value through int")
        for field in ("apiVersion", "kind", "metadata"):
            if field not in o:
                errs.append(f"{where}: missing {field}")
        if errs:
            continue
        kind = o["kind"]
        if kind not in KINDS:
            errs.append(f"{where}: kind not known to the checker")
        elif o["apiVersion"] != KINDS[kind]:
            errs.append(f"{where}: apiVersion {o['apiVersion']}, expected {KINDS[kind]}")
        md = o["metadata"]
        name = md.get("name", "")
        if not isinstance(name, str) or not DNS_SUBDOMAIN.match(name):
            errs.append(f"{where}: metadata.name {name!r} is not a DNS subdomain")
        if kind in ("Service", "StatefulSet") and not DNS_LABEL.match(str(name)):
            errs.append(f"{where}: {kind} names must be DNS labels (<= 63 characters)")
        for k, v in (md.get("labels") or {}).items():
            if not LABEL_KEY.match(k) or not isinstance(v, str) or not LABEL_VALUE.match(v):
                errs.append(f"{where}: bad label {k}={v!r}")
        if name in by_kind.setdefault(kind, {}):
            errs.append(f"{where}: rendered twice")
        by_kind[kind][name] = o
        if kind not in ("ConfigMap", "Secret", "ServiceAccount") and "spec" not in o:
            errs.append(f"{where}: missing spec")
    if errs:
        return errs

    def get(kind):
        return by_kind.get(kind, {})

    existing_secrets = {(values.get("adminToken") or {}).get("existingSecret", ""),
                        (values.get("syncToken") or {}).get("existingSecret", ""),
                        (values.get("signingKeys") or {}).get("existingSecret", "")} - {""}
    workloads = [o for k in ("Deployment", "StatefulSet", "Pod") for o in get(k).values()]

    for o in workloads:
        where = f"{o['kind']}/{o['metadata']['name']}"
        spec, labels = pod_spec(o)
        if o["kind"] != "Pod":
            sel = (o["spec"].get("selector") or {}).get("matchLabels") or {}
            if not matches(sel, labels):
                errs.append(f"{where}: selector {sel} does not match the pod labels {labels}")
        else:
            hook = (o["metadata"].get("annotations") or {}).get("helm.sh/hook")
            if hook != "test":
                errs.append(f"{where}: a bare Pod must be a helm.sh/hook: test")
        if o["kind"] == "StatefulSet":
            svc = get("Service").get(o["spec"].get("serviceName"))
            if not svc or svc["spec"].get("clusterIP") != "None":
                errs.append(f"{where}: serviceName does not name a headless Service")
            elif not matches(svc["spec"].get("selector"), labels):
                errs.append(f"{where}: its headless Service does not select its pods")
        psc = spec.get("securityContext") or {}
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        claims = {c["metadata"]["name"] for c in o["spec"].get("volumeClaimTemplates") or []}
        for v in volumes.values():
            if "configMap" in v and v["configMap"]["name"] not in get("ConfigMap"):
                errs.append(f"{where}: volume {v['name']} names ConfigMap "
                            f"{v['configMap']['name']}, which is not rendered")
            if "secret" in v:
                sn = v["secret"]["secretName"]
                if sn not in get("Secret") and sn not in existing_secrets:
                    errs.append(f"{where}: volume {v['name']} names Secret {sn}, not rendered")
        containers = spec.get("containers") or []
        if not containers:
            errs.append(f"{where}: no containers")
        for c in containers + (spec.get("initContainers") or []):
            cw = f"{where} container {c.get('name')}"
            if not c.get("name") or not c.get("image"):
                errs.append(f"{cw}: name and image are required")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            for p in c.get("ports") or []:
                if not isinstance(p.get("containerPort"), int) or not 0 < p["containerPort"] < 65536:
                    errs.append(f"{cw}: bad containerPort {p.get('containerPort')!r}")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                pr = c.get(probe)
                if not pr:
                    if o["kind"] != "Pod" and probe != "startupProbe":
                        errs.append(f"{cw}: no {probe}")
                    continue
                port = (pr.get("httpGet") or pr.get("tcpSocket") or pr.get("grpc") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    errs.append(f"{cw}: {probe} port '{port}' is not a container port")
                if isinstance(port, int) and port not in ports.values():
                    errs.append(f"{cw}: {probe} port {port} is not a container port")
                path = (pr.get("httpGet") or {}).get("path", "")
                if pr.get("httpGet") and path not in ("/healthz", "/readyz"):
                    errs.append(f"{cw}: {probe} path {path} is not /healthz or /readyz")
            for m in c.get("volumeMounts") or []:
                if m["name"] not in volumes and m["name"] not in claims:
                    errs.append(f"{cw}: volumeMount {m['name']} names no volume")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"] not in get("Secret") and ref["name"] not in existing_secrets:
                    errs.append(f"{cw}: env {e['name']} names Secret {ref['name']}, not rendered")
            sc = c.get("securityContext") or {}
            if not sc.get("readOnlyRootFilesystem"):
                errs.append(f"{cw}: readOnlyRootFilesystem is not true")
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                errs.append(f"{cw}: runAsNonRoot is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errs.append(f"{cw}: allowPrivilegeEscalation is not false")

    def pods_selected(sel):
        return [o for o in workloads if matches(sel, pod_spec(o)[1])]

    for s in get("Service").values():
        where = f"Service/{s['metadata']['name']}"
        sel = s["spec"].get("selector") or {}
        targets = pods_selected(sel)
        if not targets:
            errs.append(f"{where}: selector {sel} matches no rendered pod")
        for p in s["spec"].get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            for t in targets:
                cps = [cp for c in pod_spec(t)[0]["containers"] for cp in c.get("ports") or []]
                if isinstance(tp, str) and tp not in {cp.get("name") for cp in cps}:
                    errs.append(f"{where}: targetPort '{tp}' is not a port of {t['metadata']['name']}")
                if isinstance(tp, int) and tp not in {cp["containerPort"] for cp in cps}:
                    errs.append(f"{where}: targetPort {tp} is not a port of {t['metadata']['name']}")
    for p in get("PodDisruptionBudget").values():
        where = f"PodDisruptionBudget/{p['metadata']['name']}"
        if ("minAvailable" in p["spec"]) == ("maxUnavailable" in p["spec"]):
            errs.append(f"{where}: set exactly one of minAvailable and maxUnavailable")
        if not pods_selected(p["spec"]["selector"].get("matchLabels")):
            errs.append(f"{where}: selector matches no rendered pod")
    for n in get("NetworkPolicy").values():
        where = f"NetworkPolicy/{n['metadata']['name']}"
        targets = pods_selected(n["spec"]["podSelector"].get("matchLabels"))
        if not targets:
            errs.append(f"{where}: podSelector matches no rendered pod")
        names = {cp.get("name") for t in targets for c in pod_spec(t)[0]["containers"]
                 for cp in c.get("ports") or []}
        for rule in n["spec"].get("ingress") or []:
            for port in rule.get("ports") or []:
                if isinstance(port.get("port"), str) and port["port"] not in names:
                    errs.append(f"{where}: port '{port['port']}' is not a port of its pods")
    for h in get("HorizontalPodAutoscaler").values():
        ref = h["spec"]["scaleTargetRef"]
        target = get(ref["kind"]).get(ref["name"])
        if not target:
            errs.append(f"HorizontalPodAutoscaler/{h['metadata']['name']}: target not rendered")
        elif "replicas" in target["spec"]:
            errs.append(f"{ref['kind']}/{ref['name']}: sets replicas while an HPA scales it")
        if h["spec"]["minReplicas"] > h["spec"]["maxReplicas"]:
            errs.append(f"HorizontalPodAutoscaler/{h['metadata']['name']}: min > max")
    for m in get("ServiceMonitor").values():
        where = f"ServiceMonitor/{m['metadata']['name']}"
        svcs = [s for s in get("Service").values()
                if matches(m["spec"]["selector"]["matchLabels"], s["metadata"].get("labels", {}))]
        if not svcs:
            errs.append(f"{where}: selector matches no rendered Service")
        for ep in m["spec"]["endpoints"]:
            for s in svcs:
                if ep["port"] not in {p["name"] for p in s["spec"]["ports"]}:
                    errs.append(f"{where}: port {ep['port']} is not a port of {s['metadata']['name']}")
    # Agent config files: AgentConfig fields only; coordinators name real shards.
    shards = []
    for sts in get("StatefulSet").values():
        svc = sts["spec"]["serviceName"]
        grpc = next(p["containerPort"] for p in sts["spec"]["template"]["spec"]["containers"][0]["ports"]
                    if p["name"] == "grpc")
        for i in range(sts["spec"]["replicas"]):
            shards.append(f"{sts['metadata']['name']}-{i}.{svc}.{sts['metadata'].get('namespace', NAMESPACE)}.svc:{grpc}")
    # With a Sync token, coordinators require it and agents send it, from a mounted Secret.
    sync_required = bool((values.get("syncToken") or {}).get("enabled"))
    for sts in get("StatefulSet").values():
        c = sts["spec"]["template"]["spec"]["containers"][0]
        args = " ".join(c.get("args") or [])
        mounts = [m["mountPath"] for m in c.get("volumeMounts") or []]
        if ("--sync-token-file=/etc/anteroom/sync-token/" in args) != sync_required or \
                (sync_required and "/etc/anteroom/sync-token" not in mounts):
            errs.append(f"StatefulSet/{sts['metadata']['name']}: Sync token does not follow "
                        "syncToken.enabled")
    for dep in get("Deployment").values():
        c = dep["spec"]["template"]["spec"]["containers"][0]
        mounts = [m["mountPath"] for m in c.get("volumeMounts") or []]
        standalone = "/etc/anteroom/keys" in mounts
        if not standalone and ("/etc/anteroom/sync-token" in mounts) != sync_required:
            errs.append(f"Deployment/{dep['metadata']['name']}: Sync token mount does not follow "
                        "syncToken.enabled")
    for cm in get("ConfigMap").values():
        text = (cm.get("data") or {}).get("agent.yaml")
        if text is None:
            continue
        where = f"ConfigMap/{cm['metadata']['name']} agent.yaml"
        cfg = yaml.safe_load(text)
        if not isinstance(cfg, dict):
            errs.append(f"{where}: not a map")
            continue
        for k in cfg:
            if k not in agent_config_fields():
                errs.append(f"{where}: '{k}' is not an AgentConfig field")
        coords = cfg.get("coordinators") or []
        # By ordinal: the agent's i-th address must be shard i, or rooms go to the wrong shard.
        if (values.get("coordinator") or {}).get("enabled") and coords != shards:
            errs.append(f"{where}: coordinators {coords} are not the shards by ordinal {shards}")
        if not coords and not cfg.get("keys_file"):
            errs.append(f"{where}: neither coordinators nor keys_file")
        if coords and bool(cfg.get("sync_token_file")) != sync_required:
            errs.append(f"{where}: sync_token_file does not follow syncToken.enabled")
        if cfg.get("mode", "proxy") == "proxy" and not cfg.get("default_upstream") \
                and not cfg.get("upstream_pools"):
            errs.append(f"{where}: proxy mode without default_upstream or upstream_pools")
    for cm in get("ConfigMap").values():
        for key, text in (cm.get("data") or {}).items():
            if key.endswith(".json"):
                try:
                    dash = json.loads(text)
                except ValueError as e:
                    errs.append(f"ConfigMap/{cm['metadata']['name']} {key}: bad JSON: {e}")
                    continue
                errs += check_dashboard(dash, f"ConfigMap/{cm['metadata']['name']} {key}")
    for s in get("Secret").values():
        if "keys.yaml" in (s.get("data") or {}):
            keys = yaml.safe_load(base64.b64decode(s["data"]["keys.yaml"]))
            for k in keys["keys"]:
                if len(base64.b64decode(k["secret_base64"])) != 32:
                    errs.append(f"Secret/{s['metadata']['name']}: key {k['id']} is not 32 bytes")
    return errs


def check_dashboard(dash, where):
    errs = []
    metrics = known_metrics()
    exprs = []

    def walk(v):
        if isinstance(v, dict):
            if isinstance(v.get("expr"), str):
                exprs.append(v["expr"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(dash)
    if not exprs:
        errs.append(f"{where}: no panel queries")
    for e in exprs:
        for name in re.findall(r"\banteroom_[a-z0-9_]+", e):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in metrics and base not in metrics:
                errs.append(f"{where}: metric {name} is not registered by any daemon")
    return errs


RELEASE = "demo"
NAMESPACE = "shop"


def load_values(chart_dir, values_file):
    with open(os.path.join(chart_dir, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)
    if values_file:
        with open(values_file, encoding="utf-8") as f:
            values = deep_merge(values, yaml.safe_load(f) or {})
    return values


def check_case(chart_dir, values_file, dump=False):
    values = load_values(chart_dir, values_file)
    schema_path = os.path.join(chart_dir, "values.schema.json")
    if os.path.exists(schema_path):
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        errs = validate_schema(values, schema)
        if errs:
            raise CheckError("values do not match values.schema.json:\n  " + "\n  ".join(errs))
    try:
        _, rendered = render_chart(chart_dir, values, release=RELEASE, namespace=NAMESPACE)
    except gotemplate.TemplateError as e:
        raise CheckError(f"rendering failed: {e}") from None
    objs = []
    for name, text in sorted(rendered.items()):
        if name.endswith("NOTES.txt"):
            if "Anteroom" not in text:
                raise CheckError("NOTES.txt rendered empty")
            continue
        if dump and text.strip():
            print(f"---\n# Source: {name}{text}")
        try:
            docs = list(yaml.load_all(text, Loader=StrictLoader))
        except yaml.YAMLError as e:
            raise CheckError(f"{name}: output is not YAML: {e}\n{text}") from None
        for d in docs:
            if d is None:
                continue
            if not isinstance(d, dict):
                raise CheckError(f"{name}: a document is not a map")
            objs.append(d)
    if not objs:
        raise CheckError("nothing rendered")
    errs = check_objects(objs, values)
    if errs:
        raise CheckError("\n  ".join(["invalid manifests:"] + errs))
    return objs


# ---------------------------------------------------------------------------------------------
# Real Helm, where there is one. It is not a Debian package, so CI goes without it
# (scripts/fetch-helm.sh fetches one); with it, gotemplate.py's render must match Helm's.

SKIP = 77  # the tests' SKIP_RETURN_CODE


def find_helm():
    path = os.environ.get("ANTEROOM_HELM")
    if path:
        if not os.access(path, os.X_OK):
            raise CheckError(f"ANTEROOM_HELM={path} is not an executable")
        return path
    return shutil.which("helm")


def run_helm(helm, *args):
    p = subprocess.run([helm, *args], capture_output=True, text=True, timeout=60, check=False)
    return p.returncode, p.stdout + p.stderr


def helm_template(helm, chart_dir, values_file):
    return run_helm(helm, "template", RELEASE, chart_dir, "--namespace", NAMESPACE,
                    *(["-f", values_file] if values_file else []))


def helm_case(helm, chart_dir, values_file):
    """Lints and renders one case with Helm and checks the manifests; returns them."""
    values = load_values(chart_dir, values_file)
    rc, out = run_helm(helm, "lint", "--strict", chart_dir,
                       *(["-f", values_file] if values_file else []))
    # --strict fails on warnings; INFO lines ("icon is recommended") are advice.
    if rc or "[WARNING]" in out or "[ERROR]" in out:
        raise CheckError(f"helm lint --strict:\n{out.strip()}")
    rc, out = helm_template(helm, chart_dir, values_file)
    if rc:
        raise CheckError(f"helm template: {out.strip()}")
    try:
        objs = [d for d in yaml.load_all(out, Loader=StrictLoader) if d is not None]
    except yaml.YAMLError as e:
        raise CheckError(f"helm template output is not YAML: {e}") from None
    errs = check_objects(objs, values)
    if errs:
        raise CheckError("\n  ".join(["invalid manifests from helm template:"] + errs))
    return objs, values


def without_random(objs, values):
    """Blanks what randAlphaNum makes, which differs between any two renders: a generated admin
    token, Sync token or signing key, and the checksums over the tokens."""
    admin, keys, sync = values["adminToken"], values["signingKeys"], values["syncToken"]
    admin_random = not admin["value"] and not admin["existingSecret"]
    sync_random = sync["enabled"] and not sync["value"] and not sync["existingSecret"]
    keys_random = not keys["keys"] and not keys["existingSecret"]
    out = copy.deepcopy(objs)
    for o in out:
        data = o.get("data") or {}
        if o["kind"] == "Secret" and admin_random and admin["key"] in data:
            data[admin["key"]] = "(random)"
        if o["kind"] == "Secret" and sync_random and o["metadata"]["name"].endswith("-sync-token"):
            data[sync["key"]] = "(random)"
        if o["kind"] == "Secret" and keys_random and "keys.yaml" in data:
            data["keys.yaml"] = "(random)"
        template = (o.get("spec") or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if admin_random and "checksum/admin-token" in annotations:
            annotations["checksum/admin-token"] = "(random)"
        if sync_random and "checksum/sync-token" in annotations:
            annotations["checksum/sync-token"] = "(random)"
    return out


def differences(a, b, path=""):
    """Where a (gotemplate.py's) and b (Helm's) differ, as paths."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in b:
                out.append(f"{path}.{k}: only gotemplate.py renders it")
            elif k not in a:
                out.append(f"{path}.{k}: only helm renders it")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if type(a) is not type(b) or a != b:
        return [f"{path}: gotemplate.py {json.dumps(a)[:200]}, helm {json.dumps(b)[:200]}"]
    return []


def compare_with_helm(ours, theirs, values):
    def by_name(objs):
        return {f"{o['kind']}/{o['metadata']['name']}": o for o in without_random(objs, values)}
    a, b = by_name(ours), by_name(theirs)
    errs = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            errs.append(f"{name}: only gotemplate.py renders it")
        elif name not in a:
            errs.append(f"{name}: only helm renders it")
        else:
            errs += [f"{name} {d.lstrip('.')}" for d in differences(a[name], b[name])]
    return errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chart", default=os.path.join(HERE, "anteroom"))
    ap.add_argument("--expect-error", metavar="SUBSTRING")
    ap.add_argument("--print", action="store_true", dest="dump")
    ap.add_argument("--helm", action="store_true", help="also run real Helm on each case")
    ap.add_argument("values", nargs="*")
    args = ap.parse_args()

    helm = None
    if args.helm:
        try:
            helm = find_helm()
        except CheckError as e:
            print(f"FAIL: {e}")
            return 1
        if not helm:
            print("skipped: no helm (set ANTEROOM_HELM or put helm on PATH; "
                  "scripts/fetch-helm.sh fetches one)")
            return SKIP
        print(f"helm {run_helm(helm, 'version', '--short')[1].strip()}: {helm}")

    if helm and args.expect_error is not None:
        rc, out = helm_template(helm, args.chart, args.values[0] if args.values else None)
        if rc and args.expect_error in out:
            line = next(x for x in out.splitlines() if args.expect_error in x)
            print(f"ok: helm template failed as expected: {line.strip()}")
            return 0
        print(f"FAIL: expected helm template to fail with '{args.expect_error}':\n{out.strip()}")
        return 1

    if args.expect_error is not None:
        try:
            check_case(args.chart, args.values[0] if args.values else None)
        except CheckError as e:
            if args.expect_error in str(e):
                print(f"ok: failed as expected: {str(e).splitlines()[-1].strip()}")
                return 0
            print(f"FAIL: failed, but not with '{args.expect_error}':\n{e}")
            return 1
        print(f"FAIL: expected an error containing '{args.expect_error}', but the check passed")
        return 1

    cases = args.values if args.values or args.dump else \
        [None] + sorted(glob.glob(os.path.join(args.chart, "ci", "*.yaml")))
    if args.dump and not cases:
        cases = [None]
    failed = 0
    for case in cases:
        label = os.path.relpath(case) if case else "default values"
        try:
            objs = check_case(args.chart, case, dump=args.dump)
            if helm:
                theirs, values = helm_case(helm, args.chart, case)
                errs = compare_with_helm(objs, theirs, values)
                if errs:
                    raise CheckError("\n  ".join(
                        ["gotemplate.py and helm template render different objects:"] + errs))
        except CheckError as e:
            failed += 1
            print(f"FAIL {label}: {e}", file=sys.stderr)
            continue
        kinds = {}
        for o in objs:
            kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
        if not args.dump:
            print(f"ok   {label}{' (helm too)' if helm else ''}: "
                  + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
