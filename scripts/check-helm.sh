#!/usr/bin/env bash
# Checks the Helm chart helm/dte-sidecar without a helm binary or a cluster
# (issue 8, item 4). No helm, kubeconform or Go can be installed from the
# registries these machines reach; two PyPI packages stand in for them:
#   helm-python-sdk      Helm 4 as a shared library: the real `helm lint` and
#                        the real template engine (offline: `lookup` is empty);
#   kubernetes-validate  JSON schemas of the Kubernetes API, offline.
#
# For the default values, each helm/dte-sidecar/ci/*-values.yaml and each
# values file given as an argument, it
#   1. lints the chart strictly (warnings fail) for Kubernetes 1.30.0, which also
#      checks the values against values.schema.json;
#   2. renders the chart (hooks included) and validates every manifest with
#      `kubernetes-validate --kubernetes-version 1.30.0 --strict` (unknown fields
#      fail); a built-in kind it has no schema for (a removed apiVersion) fails;
#   3. checks what schemas cannot see: selectors find their pods, the hook Job's
#      ConfigMap/Secret come before it, every pod is non-root with a read-only
#      root filesystem, config.toml parses and uses only keys (and types) of
#      config/dte-sidecar.example.toml (the service refuses unknown keys), the
#      grace period exceeds the shutdown timeout, the Dockerfile's user and
#      port match the chart's.
# Custom resources: kubernetes-validate ships schemas for built-in kinds only,
# so the ServiceMonitor (monitoring.coreos.com/v1) is NOT schema-validated; it
# gets a hand-written structural check (check_servicemonitor below) instead.
# Then it proves it can fail: a manifest with an unknown field, a kind with a
# removed apiVersion and a value the schema forbids must each be refused.
#
# Usage: scripts/check-helm.sh [EXTRA-VALUES.yaml ...]   (each must pass too)
# The Python tools live in a venv under .cache/check-helm/ (gitignored), made
# on the first run and reused; rendered manifests are left in
# .cache/check-helm/rendered/<value set>/ for reading.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/check-helm"
VENV="$CACHE/venv"
# Pinned: the lint/render API used below is helm-python-sdk 0.2.2's (Helm 4.2.3).
REQUIREMENTS="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0"

log() { printf '==> %s\n' "$*" >&2; }

if [ "$(cat "$VENV/.requirements" 2>/dev/null || true)" != "$REQUIREMENTS" ]; then
    log "making $VENV ($REQUIREMENTS)"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV" || { echo "check-helm: FAILED: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    printf '%s' "$REQUIREMENTS" >"$VENV/.requirements"
fi

exec "$VENV/bin/python" - "$ROOT" "$@" <<'PY'
import copy
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib

import yaml
import helm_python as helm

T0 = time.monotonic()
ROOT = sys.argv[1]
EXTRA = [os.path.abspath(p) for p in sys.argv[2:]]
CHART = os.path.join(ROOT, "helm", "dte-sidecar")
OUT = os.path.join(ROOT, ".cache", "check-helm", "rendered")
EXAMPLE_TOML = os.path.join(ROOT, "config", "dte-sidecar.example.toml")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
VALIDATOR = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
KUBE = "1.30.0"
RELEASE = NAMESPACE = "dte"
# Custom resources kubernetes-validate has no schema for: checked structurally.
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
# Config sections of the service contract not yet in the example file: allowed
# in config.toml and as DTE__ variables only where the values set them.
CONTRACT_SECTIONS = {"sii", "backup", "smtp", "admin"}

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL " + msg, flush=True)


def load_values(path):
    if path is None:
        return None
    with open(path) as f:
        return yaml.safe_load(f) or {}


# ---------------------------------------------------------------- helm steps
def lint(label, values):
    """Strict lint; returns the messages of severity warning or error."""
    report = helm.lint(CHART, values, strict=True, kube_version="v" + KUBE, namespace=NAMESPACE)
    bad = [f"{m['path']}: {m['error'].strip()}" for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    bad += [e.strip() for e in report.get("errors", []) if not any(e.strip() in b for b in bad)]
    return bad


def render(values):
    """Renders the chart like `helm install` would; returns [(template, object)].
    This is also what catches a template's `fail`: lint runs the engine in lint
    mode, where `fail` and `required` only log (Helm prints "funcMap fail")."""
    chart = helm.Chart.load(CHART)
    try:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    finally:
        chart.close()
    docs = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt") or not text.strip():
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append((template, doc))
    return docs


def write(label, docs):
    """Writes one file per object; returns (files to validate, CRD objects)."""
    out = os.path.join(OUT, re.sub(r"[^A-Za-z0-9_.-]", "_", label))
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    files, crds = [], []
    for i, (template, doc) in enumerate(docs):
        kind = str(doc.get("kind", "unknown"))
        name = str((doc.get("metadata") or {}).get("name", "unnamed"))
        path = os.path.join(out, f"{i:02d}-{kind.lower()}-{name}.yaml")
        with open(path, "w") as f:
            f.write(f"# from {template}\n")
            yaml.safe_dump(doc, f, sort_keys=False)
        if (doc.get("apiVersion"), kind) in CRDS:
            crds.append(doc)
        else:
            files.append(path)
    return files, crds


def validate(files):
    """kubernetes-validate --strict; returns its findings (any WARN counts:
    a built-in kind without a schema means an apiVersion Kubernetes lacks)."""
    if not files:
        return []
    run = subprocess.run(
        [VALIDATOR, "--kubernetes-version", KUBE, "--strict", "--quiet", *files],
        capture_output=True, text=True,
    )
    findings = [l for l in (run.stdout + run.stderr).splitlines() if l.strip()]
    if run.returncode != 0 and not findings:
        findings.append(f"kubernetes-validate exited {run.returncode}")
    return findings


# ------------------------------------------------------ checks beyond schemas
def subset(small, big):
    return bool(small) and all((big or {}).get(k) == v for k, v in small.items())


def pod_specs(docs):
    for _, d in docs:
        if d.get("kind") in ("Deployment", "Job"):
            yield d, d["spec"]["template"]


def hook_weight(doc):
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    if "helm.sh/hook" not in ann:
        return None
    return int(ann.get("helm.sh/hook-weight", "0"))


def example_keys():
    """section -> {key: python type} from the service's example settings file."""
    if not os.path.exists(EXAMPLE_TOML):
        return None
    with open(EXAMPLE_TOML, "rb") as f:
        example = tomllib.load(f)
    return {s: {k: type(v) for k, v in body.items()} for s, body in example.items() if isinstance(body, dict)}


def check_config_toml(label, cm, known):
    text = cm.get("data", {}).get("config.toml")
    name = cm["metadata"]["name"]
    if text is None:
        return None
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"{label}: ConfigMap {name}: config.toml does not parse: {e}")
        return None
    if known is None:
        return cfg
    for section, body in cfg.items():
        if not isinstance(body, dict):
            fail(f"{label}: config.toml: top-level key {section} is not a section")
            continue
        if section not in known:
            if section not in CONTRACT_SECTIONS:
                fail(f"{label}: config.toml: section [{section}] is not in {os.path.basename(EXAMPLE_TOML)}; the service refuses it")
            continue
        for key, value in body.items():
            want = known[section].get(key)
            if want is None:
                if not isinstance(value, dict):  # maps such as auth.api_keys
                    fail(f"{label}: config.toml: {section}.{key} is not in {os.path.basename(EXAMPLE_TOML)}; the service refuses it")
            elif not (type(value) is want or (want is float and type(value) is int)):
                fail(f"{label}: config.toml: {section}.{key} = {value!r} is {type(value).__name__}, the example has {want.__name__}")
    return cfg


def check_env(label, container, known):
    for env in container.get("env") or []:
        m = re.fullmatch(r"DTE__([A-Z0-9_]+?)__([A-Z0-9_]+?)(?:__([A-Z0-9_]+))?", env["name"])
        if not m or known is None:
            continue
        section, key = m.group(1).lower(), m.group(2).lower()
        if section in CONTRACT_SECTIONS and section not in known:
            continue
        if section not in known or (key not in known[section] and section != "auth"):
            fail(f"{label}: {container['name']}: {env['name']} names {section}.{key}, not in the example settings; the service refuses it")


def check_servicemonitor(label, sm, docs):
    """Structural check of a ServiceMonitor (no CRD schema offline): the fields
    used exist in monitoring.coreos.com/v1 as written from its API reference,
    and the selector, namespace and port find the chart's Service."""
    name = sm.get("metadata", {}).get("name")
    spec = sm.get("spec") or {}
    known_spec = {"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels",
                  "podTargetLabels", "sampleLimit", "targetLimit", "labelLimit",
                  "labelNameLengthLimit", "labelValueLengthLimit", "attachMetadata"}
    known_ep = {"port", "targetPort", "path", "scheme", "params", "interval", "scrapeTimeout",
                "honorLabels", "honorTimestamps", "relabelings", "metricRelabelings",
                "tlsConfig", "authorization", "basicAuth", "followRedirects", "enableHttp2",
                "filterRunning", "proxyUrl"}
    known_relabel = {"sourceLabels", "separator", "targetLabel", "regex", "modulus", "replacement", "action"}
    duration = re.compile(r"^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
    for key in set(spec) - known_spec:
        fail(f"{label}: ServiceMonitor {name}: unknown field spec.{key}")
    services = [d for _, d in docs if d.get("kind") == "Service"]
    matched = [s for s in services if subset(spec.get("selector", {}).get("matchLabels"), s["metadata"].get("labels"))]
    if not matched:
        fail(f"{label}: ServiceMonitor {name}: selector matches no rendered Service")
    if NAMESPACE not in (spec.get("namespaceSelector") or {}).get("matchNames", [NAMESPACE]):
        fail(f"{label}: ServiceMonitor {name}: namespaceSelector leaves out {NAMESPACE}")
    if not spec.get("endpoints"):
        fail(f"{label}: ServiceMonitor {name}: no endpoints")
    for ep in spec.get("endpoints") or []:
        for key in set(ep) - known_ep:
            fail(f"{label}: ServiceMonitor {name}: unknown field endpoints[].{key}")
        ports = {p.get("name") for s in matched for p in s["spec"].get("ports", [])}
        if ep.get("port") not in ports:
            fail(f"{label}: ServiceMonitor {name}: endpoint port {ep.get('port')!r} is not a port of the Service")
        if not str(ep.get("path", "/metrics")).startswith("/"):
            fail(f"{label}: ServiceMonitor {name}: endpoint path must start with /")
        for key in ("interval", "scrapeTimeout"):
            if key in ep and not duration.match(str(ep[key])):
                fail(f"{label}: ServiceMonitor {name}: {key} {ep[key]!r} is not a duration")
        for key in ("relabelings", "metricRelabelings"):
            for rule in ep.get(key) or []:
                for field in set(rule) - known_relabel:
                    fail(f"{label}: ServiceMonitor {name}: unknown field {key}[].{field}")


def seconds(text):
    total = 0
    for number, unit in re.findall(r"([0-9]+)(ms|h|m|s)", text):
        total += int(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def check_semantics(label, values, docs, known):
    values = values or {}
    objs = {}
    for _, d in docs:
        key = (d.get("kind"), d.get("metadata", {}).get("name"))
        if None in key:
            fail(f"{label}: an object without kind or metadata.name")
            continue
        if key in objs:
            fail(f"{label}: {key[0]} {key[1]} rendered twice")
        objs[key] = d
        if (d.get("apiVersion"), d.get("kind")) not in CRDS and d["metadata"].get("namespace") != NAMESPACE:
            fail(f"{label}: {key[0]} {key[1]} is not in the release namespace")
    deployments = [d for _, d in docs if d.get("kind") == "Deployment"]
    pods = [t for _, t in pod_specs(docs)]

    for d in deployments:
        if not subset(d["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"]):
            fail(f"{label}: Deployment {d['metadata']['name']}: selector does not match its own pods")
    for _, s in docs:
        if s.get("kind") != "Service":
            continue
        targets = [d for d in deployments if subset(s["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        if len(targets) != 1:
            fail(f"{label}: Service {s['metadata']['name']}: selector matches {len(targets)} Deployments")
            continue
        names = {p.get("name") for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in s["spec"]["ports"]:
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                fail(f"{label}: Service {s['metadata']['name']}: targetPort {p['targetPort']} is no container port")
    for _, h in docs:
        if h.get("kind") == "HorizontalPodAutoscaler":
            ref = h["spec"]["scaleTargetRef"]
            target = objs.get((ref["kind"], ref["name"]))
            if target is None:
                fail(f"{label}: HPA targets {ref['kind']} {ref['name']}, not rendered")
            elif "replicas" in target["spec"]:
                fail(f"{label}: HPA and a fixed spec.replicas on {ref['name']} fight each other")
        if h.get("kind") == "PodDisruptionBudget":
            if not any(subset(h["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"]) for d in deployments):
                fail(f"{label}: PodDisruptionBudget {h['metadata']['name']} selects no pods")

    secrets_v = values.get("secrets") or {}
    existing = secrets_v.get("existingSecret") or ""
    # Volumes from values.extraVolumes refer to the user's own objects.
    extra_volumes = {v.get("name") for v in values.get("extraVolumes") or []}
    for owner, template in pod_specs(docs):
        who = f"{owner['kind']} {owner['metadata']['name']}"
        spec = template["spec"]
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            fail(f"{label}: {who}: pod must be runAsNonRoot with seccomp RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{label}: {who}: mounts an API token it does not need")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            sc = c.get("securityContext") or {}
            if not (sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
                    and "ALL" in (sc.get("capabilities") or {}).get("drop", [])):
                fail(f"{label}: {who}/{c['name']}: needs readOnlyRootFilesystem, no privilege escalation, drop ALL")
            tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
                fail(f"{label}: {who}/{c['name']}: no writable emptyDir at /tmp")
            check_env(label, c, known)
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if not ref or ref.get("optional"):
                    continue
                secret = objs.get(("Secret", ref["name"]))
                if secret is None:
                    if ref["name"] != existing:
                        fail(f"{label}: {who}: env {env['name']} reads Secret {ref['name']}, not rendered")
                    continue
                if ref["key"] not in (secret.get("data") or {}):
                    # An empty secrets.databaseUrl is allowed to render (NOTES warns);
                    # any other missing key is a chart bug.
                    if not (ref["key"] == (secrets_v.get("keys") or {}).get("databaseUrl", "database-url") and not secrets_v.get("databaseUrl")):
                        fail(f"{label}: {who}: env {env['name']} reads key {ref['key']} absent from Secret {ref['name']}")
        for v in volumes.values():
            if v["name"] in extra_volumes:
                continue
            for kind, field in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if field in v:
                    ref = v[field].get("name") or v[field].get("secretName")
                    if (kind, ref) not in objs and not (kind == "Secret" and ref == existing):
                        fail(f"{label}: {who}: volume {v['name']} uses {kind} {ref}, not rendered")
                    elif owner["kind"] == "Job" and hook_weight(owner) is not None and (kind, ref) in objs:
                        w = hook_weight(objs[(kind, ref)])
                        if w is None or w >= hook_weight(owner):
                            fail(f"{label}: hook {who} uses {kind} {ref}, which is not a hook created before it")
        if owner["kind"] == "Job" and hook_weight(owner) is not None:
            for c in spec["containers"]:
                for env in c.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                    if ref and ("Secret", ref["name"]) in objs:
                        w = hook_weight(objs[("Secret", ref["name"])])
                        if w is None or w >= hook_weight(owner):
                            fail(f"{label}: hook {who} reads Secret {ref['name']}, which is not a hook created before it")

    cfgs = {}
    for _, d in docs:
        if d.get("kind") == "ConfigMap":
            cfg = check_config_toml(label, d, known)
            if cfg is not None:
                cfgs[d["metadata"]["name"]] = cfg
    for d in deployments:
        spec = d["spec"]["template"]["spec"]
        cfg_names = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
        cfg = next((cfgs[n] for n in cfg_names if n in cfgs), None)
        if cfg is None:
            continue
        server = cfg.get("server", {})
        main = spec["containers"][0]
        port = main["ports"][0]["containerPort"]
        env = {e["name"]: e.get("value") for e in main.get("env") or []}
        if server.get("bind", "").rsplit(":", 1)[-1] != str(port) or env.get("DTE__SERVER__BIND", f":{port}").rsplit(":", 1)[-1] != str(port):
            fail(f"{label}: {d['metadata']['name']}: server.bind does not match containerPort {port}")
        sleep = 0
        pre = ((main.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
        if len(pre) == 2 and pre[0] == "sleep":
            sleep = int(pre[1])
        need = sleep + int(server.get("shutdown_timeout_secs", 30))
        if spec.get("terminationGracePeriodSeconds", 30) <= need:
            fail(f"{label}: {d['metadata']['name']}: terminationGracePeriodSeconds <= preStop + shutdown_timeout_secs ({need})")
        if "database" in cfg and (values.get("migration") or {}).get("enabled", True) and cfg["database"].get("migrate_on_start") is not False:
            fail(f"{label}: the server migrates at start although the hook Job does")
    for _, sm in docs:
        if (sm.get("apiVersion"), sm.get("kind")) in CRDS:
            check_servicemonitor(label, sm, docs)
            iv, to = (sm["spec"]["endpoints"][0].get(k, "") for k in ("interval", "scrapeTimeout"))
            if iv and to and seconds(to) > seconds(iv):
                fail(f"{label}: ServiceMonitor scrapeTimeout exceeds interval")


def check_dockerfile(defaults):
    """The image's user and port are the chart's."""
    if not os.path.exists(DOCKERFILE):
        fail("Dockerfile missing")
        return
    with open(DOCKERFILE) as f:
        lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    final = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    tail = lines[final:]
    users = [l.split()[1] for l in tail if l.upper().startswith("USER ")]
    want = f"{defaults['securityContext']['runAsUser']}:{defaults['securityContext']['runAsGroup']}"
    if not users or users[-1] != want:
        fail(f"Dockerfile: the final stage's USER is {users[-1] if users else 'unset'}, the chart runs as {want}")
    if not any(l.upper().startswith("EXPOSE ") and str(defaults["containerPort"]) in l.split()[1:] for l in tail):
        fail(f"Dockerfile: the final stage does not EXPOSE {defaults['containerPort']}")
    if not any(re.match(r'ENTRYPOINT\s+\["', l, re.I) for l in tail):
        fail("Dockerfile: ENTRYPOINT is not in exec form (SIGTERM would go to a shell)")


# ------------------------------------------------------------------- main run
known = example_keys()
if known is None:
    print(f"NOTE {EXAMPLE_TOML} is missing: config.toml keys are not checked against it")
value_sets = [("defaults", None)]
value_sets += [(os.path.basename(p)[: -len("-values.yaml")], p) for p in sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml")))]
value_sets += [(f"arg-{os.path.basename(p)}", p) for p in EXTRA]

shutil.rmtree(OUT, ignore_errors=True)
all_files, all_crds, linted = [], [], 0
for label, path in value_sets:
    try:
        values = load_values(path)
    except (OSError, yaml.YAMLError) as e:
        fail(f"{label}: cannot read values: {e}")
        continue
    for msg in lint(label, values):
        fail(f"{label}: helm lint --strict: {msg}")
    linted += 1
    try:
        docs = render(values)
    except helm.HelmError as e:
        fail(f"{label}: render failed: {str(e).strip()}")
        continue
    files, crds = write(label, docs)
    all_files += files
    all_crds += crds
    check_semantics(label, values, docs, known)
    print(f"ok   {label}: lint clean, {len(docs)} objects rendered ({len(crds)} custom)", flush=True)

for finding in validate(all_files):
    fail(f"kubernetes-validate: {finding}")

with open(os.path.join(CHART, "values.yaml")) as f:
    check_dockerfile(yaml.safe_load(f))

# ------------------------------------------------- negative checks (must fail)
negatives = 0
neg_dir = os.path.join(OUT, "negative")
os.makedirs(neg_dir, exist_ok=True)
# 1. A manifest with an unknown field (passed through extraEnv verbatim): the
#    values schema lets it by, `kubernetes-validate --strict` must refuse it.
bad_values = {"extraEnv": [{"name": "BROKEN", "valu": "typo"}]}
docs = [d for _, d in render(bad_values) if d.get("kind") == "Deployment"]
bad_file = os.path.join(neg_dir, "unknown-field.yaml")
with open(bad_file, "w") as f:
    yaml.safe_dump_all(docs, f)
if any("valu" in l and "ERROR" in l for l in validate([bad_file])):
    negatives += 1
else:
    fail("negative check: a Deployment with an unknown field (env[].valu) was not refused")
# 2. A built-in kind at an apiVersion Kubernetes 1.30 no longer serves.
hpa = next(d for _, d in render({"autoscaling": {"enabled": True}}) if d.get("kind") == "HorizontalPodAutoscaler")
hpa = copy.deepcopy(hpa)
hpa["apiVersion"] = "autoscaling/v2beta2"
old_file = os.path.join(neg_dir, "removed-api.yaml")
with open(old_file, "w") as f:
    yaml.safe_dump(hpa, f)
if validate([old_file]):
    negatives += 1
else:
    fail("negative check: an autoscaling/v2beta2 HPA (removed in 1.26) was not refused")
# 3. A value values.schema.json forbids.
if lint("negative", {"config": {"sii": {"environment": "prod"}}}):
    negatives += 1
else:
    fail("negative check: config.sii.environment=prod passed the strict lint")

elapsed = time.monotonic() - T0
if problems:
    print(f"check-helm: FAILED: {len(problems)} problem(s) (FAIL lines above); {elapsed:.1f}s")
    sys.exit(1)
print(
    f"check-helm: OK: strict lint clean for {linted} value sets; {len(all_files)} manifests valid against "
    f"Kubernetes {KUBE} (kubernetes-validate --strict); {len(all_crds)} ServiceMonitor(s) checked structurally "
    f"only (CRD, no schema offline); {negatives}/3 negative checks refused; {elapsed:.1f}s"
)
PY
