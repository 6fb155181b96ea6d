"""Checks the Helm chart helm/dte-sidecar without a helm binary or a cluster.

No helm, kubeconform or Go can be installed from the registries these machines
reach; two PyPI packages stand in for them (scripts/check-helm.sh makes their venv):
  helm-python-sdk      Helm 4 as a shared library: the real `helm lint` and the
                       real template engine (offline: `lookup` is empty);
  kubernetes-validate  JSON schemas of the Kubernetes API, offline.

The service's settings are the binary's to judge: this check asks
`dte-sidecar config check` and `dte-sidecar config schema` (target/debug/dte-sidecar,
or DTE_SIDECAR_BIN) and never reads the Rust sources for them.

For the default values, each helm/dte-sidecar/ci/*-values.yaml and each values
file given as an argument, it
  1. lints the chart strictly (warnings fail) for Kubernetes 1.30.0, which also
     checks the values against values.schema.json;
  2. renders the chart (hooks included) and validates every manifest with
     `kubernetes-validate --kubernetes-version 1.30.0 --strict` (unknown fields
     fail); a built-in kind it has no schema for (a removed apiVersion) fails;
  3. checks what schemas cannot see: selectors find their pods, the hook Job's
     ConfigMap/Secret come before it, every pod is non-root with a read-only
     root filesystem, the grace period exceeds the shutdown timeout, the
     Dockerfile's user, port and schemas match the chart's;
  4. gives every rendered config.toml, and per container (serve, migrate,
     sii-sim) that file with the container's environment (values from rendered
     Secrets; a Secret the user makes gets the schema's placeholder), to
     `dte-sidecar config check --for <command>`: what it refuses, the service
     would refuse at its start;
  5. with the settings the binary reports, checks what only the cluster decides:
     backup.dir on a writable volume, key files on mounted volumes, the master
     key given to `serve`, sii.simulator_url reaching the simulator's Service,
     probe and ServiceMonitor paths being routes of src/server.rs (or of the
     simulator's admin face) on the right ports;
  6. checks that helm/dte-sidecar/files/settings-defaults.json (the defaults the
     chart's helpers read) is what `config schema` says.
Custom resources: kubernetes-validate ships schemas for built-in kinds only, so
the ServiceMonitor (monitoring.coreos.com/v1) is NOT schema-validated; it gets a
hand-written structural check (check_servicemonitor below) instead.
Then it proves it can fail: a manifest with an unknown field, a kind with a
removed apiVersion, a value the schema forbids, a config key and a DTE__
variable the service does not know, and a setting its check refuses must each
be refused.

Usage: check_helm.py [EXTRA-VALUES.yaml ...]   (each must pass too)
       check_helm.py --write-chart-defaults    (regenerates the defaults file)
Rendered manifests are left in .cache/check-helm/rendered/<value set>/.
"""
import base64
import copy
import glob
import ipaddress
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import helm_python as helm
import yaml

T0 = time.monotonic()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CHART = os.path.join(ROOT, "helm", "dte-sidecar")
CHART_DEFAULTS = os.path.join(CHART, "files", "settings-defaults.json")
OUT = os.path.join(ROOT, ".cache", "check-helm", "rendered")
EXAMPLE_TOML = os.path.join(ROOT, "config", "dte-sidecar.example.toml")
SERVER_RS = os.path.join(ROOT, "src", "server.rs")
SIMULATOR_RS = os.path.join(ROOT, "src", "sii", "simulator", "mod.rs")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
VALIDATOR = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
KUBE = "1.30.0"
RELEASE = NAMESPACE = "dte"
# Custom resources kubernetes-validate has no schema for: checked structurally.
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
# Where the config file is read from: DTE_CONFIG, else the image's workdir.
IMAGE_WORKDIR = "/app"
# The commands `config check --for` knows; another container command is checked as serve.
COMMANDS = ("serve", "migrate", "sii-sim", "restore", "verify", "verify-file")

problems = []
notes = []


def fail(msg):
    problems.append(msg)
    print("FAIL " + msg, flush=True)


def note(msg):
    if msg not in notes:
        notes.append(msg)
        print("NOTE " + msg, flush=True)


def load_values(path):
    if path is None:
        return None
    with open(path) as f:
        return yaml.safe_load(f) or {}


def read(path):
    with open(path) as f:
        return f.read()


# ------------------------------------------------ the service's settings, from the binary
class Binary:
    """`dte-sidecar config …`, run with nothing of this process's environment."""

    def __init__(self, path):
        self.path = path
        self._schema = None

    def run(self, args, env=None):
        return subprocess.run([self.path, *args], env=env or {}, capture_output=True, text=True, check=False)

    def schema(self):
        if self._schema is None:
            run = self.run(["config", "schema"])
            if run.returncode != 0:
                raise SystemExit(f"check-helm: FAILED: {self.path} config schema: {run.stderr.strip()}")
            self._schema = json.loads(run.stdout)
        return self._schema

    def placeholder(self, env_name):
        """The value standing in for a secret setting kept where the check cannot read it."""
        for entry in self.schema():
            pattern = "DATABASE_URL" if entry["key"] == "database.url" and env_name == "DATABASE_URL" else entry["env"]
            if entry.get("placeholder") and re.fullmatch(re.escape(pattern).replace(r"\*", "[A-Z0-9_]+"), env_name):
                return entry["placeholder"]
        return None

    def check(self, command, config_text, env):
        """(settings as `command` would start with them, or None; the problems, one per line)."""
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write(config_text)
            f.flush()
            cmd = command if command in COMMANDS else "serve"
            run = self.run(["config", "check", "--for", cmd, "--json", "--config", f.name], env)
        if run.returncode == 0:
            return json.loads(run.stdout), []
        # The config crate names the file it read: that is our temporary copy of config.toml.
        lines = [re.sub(r" in \S+\.toml$", " in config.toml", line.removeprefix("dte-sidecar: ").removeprefix("bad setting: "))
                 for line in run.stderr.splitlines()]
        return None, [line for line in lines if line.strip()] or [f"exit code {run.returncode}"]


BINARY = Binary(os.environ.get("DTE_SIDECAR_BIN") or os.path.join(ROOT, "target", "debug", "dte-sidecar"))


def chart_defaults(schema):
    """The defaults the chart's helpers read, by key (secrets and user tables left out)."""
    return {e["key"]: e["default"] for e in schema if not e["secret"] and not e["key"].endswith(".*")}


def check_chart_defaults():
    want = chart_defaults(BINARY.schema())
    try:
        with open(CHART_DEFAULTS) as f:
            have = json.load(f)
    except (OSError, ValueError) as e:
        have = f"unreadable ({e})"
    if have != want:
        fail(f"{os.path.relpath(CHART_DEFAULTS, ROOT)} is not what `dte-sidecar config schema` says; "
             "regenerate it: scripts/check-helm.sh --write-chart-defaults")


def write_chart_defaults():
    os.makedirs(os.path.dirname(CHART_DEFAULTS), exist_ok=True)
    with open(CHART_DEFAULTS, "w") as f:
        json.dump(chart_defaults(BINARY.schema()), f, indent=2, sort_keys=True)
        f.write("\n")


def documented_keys(text):
    """{section: keys} the example file shows, commented-out keys included (it uses
    them for optional ones)."""
    documented, section = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s*\[([\w.]+)\]\s*$", line)
        if m:
            section = m.group(1)
            documented.setdefault(section, set())
            continue
        m = re.match(r"^\s*#?\s*([a-z_][a-z0-9_]*)\s*=", line)
        if m and section:
            documented[section].add(m.group(1))
    return documented


def check_example():
    """The example file is settings the binary takes, and documents every key (NOTE
    only: the example is documentation; a Rust test holds its values to the defaults)."""
    if not os.path.exists(EXAMPLE_TOML):
        note(f"{EXAMPLE_TOML} is missing")
        return
    text = read(EXAMPLE_TOML)
    for p in BINARY.check("sii-sim", text, {})[1]:
        fail(f"{os.path.basename(EXAMPLE_TOML)}: the service refuses it: {p}")
    documented = documented_keys(text)
    missing = []
    for entry in BINARY.schema():
        section, _, key = entry["key"].rpartition(".")
        if section not in documented or (key != "*" and key not in documented[section]
                                         and not any(s.startswith(entry["key"] + ".") for s in documented)):
            missing.append(entry["key"])
    if missing:
        note(f"{os.path.basename(EXAMPLE_TOML)} does not document {', '.join(missing)}")


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


def routes(path, block=None):
    """Paths routed in a Rust source (optionally inside `fn <block>`)."""
    src = read(path)
    if block:
        m = re.search(rf"fn {block}\b.*?\n\}}", src, re.S)
        src = m.group(0) if m else ""
    return set(re.findall(r'\.route\(\s*"(/[^"]*)"', src)) | set(re.findall(r'cfg\.route\(\s*"(/[^"]*)"', src))


SERVER_ROUTES = routes(SERVER_RS, "configure")
SIM_ADMIN_ROUTES = routes(SIMULATOR_RS, "admin_routes")


def bind_port(addr):
    """Port of a SocketAddr string, or None when the service would refuse it."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]{1,5})", str(addr))
    if not m:
        return None
    try:
        ipaddress.ip_address(m.group(1).strip("[]"))
    except ValueError:
        return None
    port = int(m.group(2))
    return port if port <= 65535 else None


def resolved_env(container, objs, existing, secrets_v):
    """The container's environment as the pod gets it (values from rendered Secrets);
    a secret from a Secret the chart does not render gets the schema's placeholder."""
    out = {}
    for e in container.get("env") or []:
        if "value" in e:
            out[e["name"]] = str(e["value"])
            continue
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            continue
        secret = objs.get(("Secret", ref["name"]))
        data = (secret or {}).get("data") or {}
        value = None
        if ref["key"] in data:
            value = base64.b64decode(data[ref["key"]]).decode()
        elif secret is None and ref["name"] == existing:
            value = BINARY.placeholder(e["name"])
        elif (e["name"] == "DATABASE_URL" and not secrets_v.get("databaseUrl")
              and ref["key"] == (secrets_v.get("keys") or {}).get("databaseUrl", "database-url")):
            # An empty secrets.databaseUrl renders (NOTES asks for it); the user fills it.
            value = BINARY.placeholder(e["name"])
        if value is not None:
            out[e["name"]] = value
        else:
            out.pop(e["name"], None)  # absent: an optional ref, or a problem reported elsewhere
    return out


def container_settings(label, who, container, volumes, objs, values):
    """What the binary says of this container's settings: (settings or None, problems).
    (None, []) when the container reads no config file of the chart."""
    values = values or {}
    secrets_v = values.get("secrets") or {}
    env = {e["name"]: e for e in container.get("env") or []}
    path = (env.get("DTE_CONFIG") or {}).get("value")
    if not path:
        return None, []
    # The file itself (a subPath mount) or a file in a mounted ConfigMap directory.
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == path and m.get("subPath")), None)
    key = mount and mount["subPath"]
    if mount is None:
        parent, key = posixpath.split(posixpath.normpath(path))
        mount = next((m for m in container.get("volumeMounts", [])
                      if posixpath.normpath(m["mountPath"]) == parent and not m.get("subPath")), None)
    if mount is None:
        fail(f"{label}: {who}: DTE_CONFIG={path} is not a mounted file")
        return None, []
    cm_name = (volumes.get(mount["name"], {}).get("configMap") or {}).get("name")
    cm = objs.get(("ConfigMap", cm_name))
    text = ((cm or {}).get("data") or {}).get(key)
    if text is None:
        fail(f"{label}: {who}: DTE_CONFIG={path}: no such file in ConfigMap {cm_name}")
        return None, []
    environment = resolved_env(container, objs, secrets_v.get("existingSecret") or "", secrets_v)
    environment.pop("DTE_CONFIG", None)  # the file goes by --config
    return BINARY.check(command_of(container), text, environment)
def mounted_file(container, volumes, path, writable=False):
    """Whether `path` lies on a volume mounted in the container (and, for a
    Secret/ConfigMap volume with items, is one of them); with writable, on a
    writable emptyDir or claim. Returns a problem or None."""
    path = posixpath.normpath(path)
    best = None
    for m in container.get("volumeMounts", []):
        mp = posixpath.normpath(m["mountPath"])
        if (path == mp or path.startswith(mp.rstrip("/") + "/")) and (best is None or len(mp) > len(posixpath.normpath(best["mountPath"]))):
            best = m
    if best is None:
        return f"{path} is on no mounted volume (the root filesystem is read-only or the file is absent)"
    vol = volumes.get(best["name"], {})
    if writable:
        if best.get("readOnly") or not ({"emptyDir", "persistentVolumeClaim"} & set(vol)):
            return f"{path} is on volume {best['name']}, which is not writable"
        return None
    rel = posixpath.relpath(path, posixpath.normpath(best["mountPath"]))
    for field in ("secret", "configMap"):
        items = (vol.get(field) or {}).get("items")
        if items is not None and rel not in {i["path"] for i in items}:
            return f"{path}: volume {best['name']} holds only {', '.join(i['path'] for i in items)}"
    return None


def command_of(container):
    args = container.get("args") or container.get("command") or ["serve"]
    return args[0]


def check_containers(label, docs, objs, values):
    """Steps 4 and 5 of the header for every container of the chart; returns the
    settings the binary reported, by (owner name, container name)."""
    sims = []  # (service, deployment container, settings)
    serves = []
    found = {}
    for owner, template in pod_specs(docs):
        spec = template["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            who = f"{owner['kind']} {owner['metadata']['name']}/{c['name']}"
            cmd = command_of(c)
            cfg, refusals = container_settings(label, who, c, volumes, objs, values)
            for p in refusals:
                fail(f"{label}: {who} ({cmd}): the service would refuse its settings: {p}")
            if cfg is None:
                continue
            found[(owner["metadata"]["name"], c["name"])] = cfg
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            for section, key in (("server", "bind"), ("admin", "bind"), ("simulator", "bind"), ("simulator", "admin_bind")):
                addr = str(cfg.get(section, {}).get(key, ""))
                used = {"server": cmd == "serve", "admin": cmd == "serve", "simulator": cmd == "sii-sim"}[section]
                if used and addr and bind_port(addr) and ipaddress.ip_address(addr.rsplit(":", 1)[0].strip("[]")).is_loopback:
                    fail(f"{label}: {who}: {section}.{key} {addr} is a loopback address: nothing outside the pod reaches it")
            if cmd in ("serve", "sii-sim", "restore", "verify"):
                for i, k in enumerate(cfg.get("sii", {}).get("extra_caf_keys") or []):
                    if isinstance(k, dict) and (p := mounted_file(c, volumes, k.get("path", ""))):
                        fail(f"{label}: {who}: sii.extra_caf_keys[{i}].path {p}")
                schemas = str(cfg.get("sii", {}).get("schemas_dir", ""))
                schemas = posixpath.normpath(posixpath.join(IMAGE_WORKDIR, schemas))
                if not any(schemas == d or schemas.startswith(d + "/") for d in DOCKER_SCHEMAS) and mounted_file(c, volumes, schemas):
                    fail(f"{label}: {who}: sii.schemas_dir {schemas} is neither in the image ({', '.join(sorted(DOCKER_SCHEMAS)) or 'no COPY of schemas/'}) nor mounted")
            if cmd == "serve":
                serves.append((owner, c, cfg))
                if not cfg.get("secrets", {}).get("master_key"):
                    fail(f"{label}: {who}: no secrets.master_key (DTE__SECRETS__MASTER_KEY): certificates and CAFs could not be loaded")
                if cfg.get("backup", {}).get("store", "dir") == "dir":
                    d = str(cfg["backup"].get("dir", ""))
                    if not d.startswith("/"):
                        fail(f"{label}: {who}: backup.dir {d!r} is relative (to {IMAGE_WORKDIR}, read-only)")
                    elif p := mounted_file(c, volumes, d, writable=True):
                        fail(f"{label}: {who}: backup.dir {p}")
                port = bind_port(cfg["server"].get("bind", ""))
                if ports.get("http") != port or c["ports"][0]["containerPort"] != port:
                    fail(f"{label}: {who}: server.bind port {port} is not its first container port \"http\" ({ports.get('http')})")
                admin = cfg.get("admin", {}).get("bind", "")
                if admin and ports.get("admin") != bind_port(admin):
                    fail(f"{label}: {who}: admin.bind {admin} is not its container port \"admin\" ({ports.get('admin')})")
                if not admin and "admin" in ports:
                    fail(f"{label}: {who}: container port \"admin\" but no admin.bind: nothing listens there")
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    http = (c.get(probe) or {}).get("httpGet")
                    if http and (http["path"] not in SERVER_ROUTES or http["port"] not in ("http", port)):
                        fail(f"{label}: {who}: {probe} {http['path']} on {http['port']} is not a route of src/server.rs on server.bind")
            elif cmd == "sii-sim":
                sim = cfg.get("simulator", {})
                if ports.get("sii") != bind_port(sim.get("bind", "")) or ports.get("admin") != bind_port(sim.get("admin_bind", "")):
                    fail(f"{label}: {who}: simulator.bind/admin_bind ({sim.get('bind')}, {sim.get('admin_bind')}) are not its ports \"sii\"/\"admin\" ({ports})")
                if sim.get("caf_signing_key") and (p := mounted_file(c, volumes, sim["caf_signing_key"])):
                    fail(f"{label}: {who}: simulator.caf_signing_key {p}")
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    http = (c.get(probe) or {}).get("httpGet")
                    if http and (http["path"] not in SIM_ADMIN_ROUTES or http["port"] != "admin"):
                        fail(f"{label}: {who}: {probe} {http['path']} is not a route of the simulator's admin face")
                sims.append((owner, c, cfg))
            elif cmd == "migrate" and not cfg.get("database", {}).get("url"):
                pass  # the empty databaseUrl case: NOTES warns, the Secret check below decides

    # sii.simulator_url of each server reaches a simulator Service's SII port.
    services = [d for _, d in docs if d.get("kind") == "Service"]
    for owner, c, cfg in serves:
        sii = cfg.get("sii", {})
        if sii.get("environment") != "simulator":
            continue
        m = re.fullmatch(r"https?://([^/:]+)(?::([0-9]+))?/?", str(sii.get("simulator_url", "")))
        host, port = (m.group(1), int(m.group(2) or 80)) if m else (None, None)
        if host in ("127.0.0.1", "localhost", "::1") or host is None:
            fail(f"{label}: {owner['metadata']['name']}: sii.simulator_url {sii.get('simulator_url')!r} reaches nothing from the pod")
            continue
        if not sims:
            continue
        svc = next((s for s in services if host in (s["metadata"]["name"], f"{s['metadata']['name']}.{NAMESPACE}.svc",
                                                   f"{s['metadata']['name']}.{NAMESPACE}.svc.cluster.local")), None)
        sim_dep, sim_c, sim_cfg = sims[0]
        sp = next((p for p in (svc or {}).get("spec", {}).get("ports", []) if p["port"] == port), None)
        target = (sp or {}).get("targetPort")
        target_port = {p.get("name"): p["containerPort"] for p in sim_c.get("ports", [])}.get(target, target)
        if svc is None or sp is None or not subset(svc["spec"]["selector"], sim_dep["spec"]["template"]["metadata"]["labels"]) \
                or target_port != bind_port(sim_cfg["simulator"].get("bind", "")):
            fail(f"{label}: {owner['metadata']['name']}: sii.simulator_url {sii.get('simulator_url')} does not reach the simulator's SII face")
    return found


def check_servicemonitor(label, sm, docs):
    """Structural check of a ServiceMonitor (no CRD schema offline): the fields
    used exist in monitoring.coreos.com/v1 as written from its API reference,
    and the selector, namespace and port find the chart's Service, whose port
    leads to the server's /metrics."""
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
    if len(matched) != 1:
        fail(f"{label}: ServiceMonitor {name}: selector matches {len(matched)} rendered Services, not 1")
    if NAMESPACE not in (spec.get("namespaceSelector") or {}).get("matchNames", [NAMESPACE]):
        fail(f"{label}: ServiceMonitor {name}: namespaceSelector leaves out {NAMESPACE}")
    if not spec.get("endpoints"):
        fail(f"{label}: ServiceMonitor {name}: no endpoints")
    for ep in spec.get("endpoints") or []:
        for key in set(ep) - known_ep:
            fail(f"{label}: ServiceMonitor {name}: unknown field endpoints[].{key}")
        ports = {p.get("name"): p for s in matched for p in s["spec"].get("ports", [])}
        if ep.get("port") not in ports:
            fail(f"{label}: ServiceMonitor {name}: endpoint port {ep.get('port')!r} is not a port of the Service")
        elif ports[ep["port"]].get("targetPort") != "http":
            fail(f"{label}: ServiceMonitor {name}: endpoint port {ep['port']!r} does not lead to the server's \"http\" port (server.bind)")
        if ep.get("path", "/metrics") not in SERVER_ROUTES:
            fail(f"{label}: ServiceMonitor {name}: endpoint path {ep.get('path')!r} is not a route of src/server.rs")
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


def check_semantics(label, values, docs):
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
    # Secrets the user makes: the chart only refers to them.
    users_secrets = {existing, ((values.get("siiSimulator") or {}).get("cafKeys") or {}).get("existingSecret") or ""} - {""}
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
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if not ref or ref.get("optional"):
                    continue
                secret = objs.get(("Secret", ref["name"]))
                if secret is None:
                    if ref["name"] not in users_secrets:
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
                    if (kind, ref) not in objs and not (kind == "Secret" and ref in users_secrets):
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

    for _, d in docs:
        if d.get("kind") == "ConfigMap" and "config.toml" in (d.get("data") or {}):
            try:
                tomllib.loads(d["data"]["config.toml"])
            except tomllib.TOMLDecodeError as e:
                fail(f"{label}: ConfigMap {d['metadata']['name']}: config.toml does not parse: {e}")
                continue
            # The file alone, as the command that needs least of it reads it.
            for p in BINARY.check("sii-sim", d["data"]["config.toml"], {})[1]:
                fail(f"{label}: ConfigMap {d['metadata']['name']}: config.toml: the service refuses it: {p}")
    settings = check_containers(label, docs, objs, values)

    for d in deployments:
        spec = d["spec"]["template"]["spec"]
        main = spec["containers"][0]
        if command_of(main) != "serve":
            continue
        cfg = settings.get((d["metadata"]["name"], main["name"]))
        if cfg is None:
            continue  # refused above
        sleep = 0
        pre = ((main.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
        if len(pre) == 2 and pre[0] == "sleep":
            sleep = int(pre[1])
        need = sleep + int(cfg["server"]["shutdown_timeout_secs"])
        if spec.get("terminationGracePeriodSeconds", 30) <= need:
            fail(f"{label}: {d['metadata']['name']}: terminationGracePeriodSeconds <= preStop + shutdown_timeout_secs ({need})")
        if (values.get("migration") or {}).get("enabled", True) and cfg.get("database", {}).get("migrate_on_start") is not False:
            fail(f"{label}: the server migrates at start although the hook Job does")
    for _, sm in docs:
        if (sm.get("apiVersion"), sm.get("kind")) in CRDS:
            check_servicemonitor(label, sm, docs)
            iv, to = (sm["spec"]["endpoints"][0].get(k, "") for k in ("interval", "scrapeTimeout"))
            if iv and to and seconds(to) > seconds(iv):
                fail(f"{label}: ServiceMonitor scrapeTimeout exceeds interval")


def dockerfile_final_stage():
    with open(DOCKERFILE) as f:
        lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    final = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    return lines[final:]


def docker_schemas():
    """Directories of the final image holding the repository's schemas/ (COPY schemas/ DEST)."""
    if not os.path.exists(DOCKERFILE):
        return set()
    out = set()
    for l in dockerfile_final_stage():
        m = re.match(r"COPY\s+(?:--\S+\s+)*schemas/?\s+(\S+)$", l, re.I)
        if m:
            out.add(posixpath.normpath(m.group(1)) + "/sii")
    return out


DOCKER_SCHEMAS = docker_schemas()


def check_dockerfile(defaults):
    """The image's user, port, workdir and schemas are the chart's."""
    if not os.path.exists(DOCKERFILE):
        fail("Dockerfile missing")
        return
    tail = dockerfile_final_stage()
    users = [l.split()[1] for l in tail if l.upper().startswith("USER ")]
    want = f"{defaults['securityContext']['runAsUser']}:{defaults['securityContext']['runAsGroup']}"
    if not users or users[-1] != want:
        fail(f"Dockerfile: the final stage's USER is {users[-1] if users else 'unset'}, the chart runs as {want}")
    if not any(l.upper().startswith("EXPOSE ") and str(defaults["containerPort"]) in l.split()[1:] for l in tail):
        fail(f"Dockerfile: the final stage does not EXPOSE {defaults['containerPort']}")
    if not any(re.match(r'ENTRYPOINT\s+\["', l, re.I) for l in tail):
        fail("Dockerfile: ENTRYPOINT is not in exec form (SIGTERM would go to a shell)")
    workdirs = [l.split()[1] for l in tail if l.upper().startswith("WORKDIR ")]
    if not workdirs or workdirs[-1] != IMAGE_WORKDIR:
        fail(f"Dockerfile: the final stage's WORKDIR is {workdirs[-1] if workdirs else 'unset'}, the check assumes {IMAGE_WORKDIR}")
    schemas = defaults["config"]["sii"]["schemas_dir"]
    if posixpath.normpath(posixpath.join(IMAGE_WORKDIR, schemas)) not in DOCKER_SCHEMAS:
        fail(f"Dockerfile: the SII schemas are not copied to config.sii.schemas_dir ({schemas}); copied to {sorted(DOCKER_SCHEMAS)}")


# ------------------------------------------------------------------- main run
def refused(name, values):
    """Renders `values` and runs the checks above quietly; True when any fails."""
    global problems
    saved, problems = problems, []
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        check_semantics(f"negative {name}", values, render(values))
    except helm.HelmError:
        problems.append("render refused")
    finally:
        sys.stdout.close()
        sys.stdout = out
        found, problems = problems, saved
    return bool(found)


def negative_checks():
    """Proves the checks can fail; returns their names."""
    negatives = []
    neg_dir = os.path.join(OUT, "negative")
    os.makedirs(neg_dir, exist_ok=True)

    def negative(name, ok):
        negatives.append(name)
        if not ok:
            fail(f"negative check: {name} was not refused")

    # 1. A manifest with an unknown field (passed through extraEnv verbatim): the
    #    values schema lets it by, `kubernetes-validate --strict` must refuse it.
    bad_values = {"extraEnv": [{"name": "BROKEN", "valu": "typo"}]}
    docs = [d for _, d in render(bad_values) if d.get("kind") == "Deployment"]
    bad_file = os.path.join(neg_dir, "unknown-field.yaml")
    with open(bad_file, "w") as f:
        yaml.safe_dump_all(docs, f)
    negative("a Deployment with an unknown field (env[].valu)",
             any("valu" in line and "ERROR" in line for line in validate([bad_file])))
    # 2. A built-in kind at an apiVersion Kubernetes 1.30 no longer serves.
    hpa = next(d for _, d in render({"autoscaling": {"enabled": True}}) if d.get("kind") == "HorizontalPodAutoscaler")
    hpa = copy.deepcopy(hpa)
    hpa["apiVersion"] = "autoscaling/v2beta2"
    old_file = os.path.join(neg_dir, "removed-api.yaml")
    with open(old_file, "w") as f:
        yaml.safe_dump(hpa, f)
    negative("an autoscaling/v2beta2 HPA (removed in 1.26)", bool(validate([old_file])))
    # 3. A value values.schema.json forbids.
    negative("config.sii.environment=prod in the strict lint",
             bool(lint("negative", {"config": {"sii": {"environment": "prod"}}})))
    # 4. A config key the service does not have (extraConfig is not schema-checked).
    negative("extraConfig server.no_such_key", refused("unknown-key", {"extraConfig": {"server": {"no_such_key": 1}}}))
    # 5. A DTE__ variable the service does not have (the old certificate-path guess).
    negative("extraEnv DTE__SII__CERTIFICATE_PATH",
             refused("unknown-env", {"extraEnv": [{"name": "DTE__SII__CERTIFICATE_PATH", "value": "/x.p12"}]}))
    # 6. A value of the wrong type, and one the settings check refuses.
    negative("extraConfig jobs.enabled = \"maybe\"", refused("bad-type", {"extraConfig": {"jobs": {"enabled": "maybe"}}}))
    negative("extraConfig jobs.sweep_interval_secs = 45",
             refused("bad-sweep", {"extraConfig": {"jobs": {"sweep_interval_secs": 45}}}))
    # 7. The admin board with a short password in `serve` (an env override after the
    #    Secret's entry wins, as in Kubernetes).
    negative("admin board with a 5-character password",
             refused("short-board", {"adminBoard": {"enabled": True},
                                     "extraEnv": [{"name": "DTE__ADMIN__BOARD_PASSWORD", "value": "short"}]}))
    return negatives


def main(argv):
    if argv == ["--write-chart-defaults"]:
        write_chart_defaults()
        print(f"wrote {os.path.relpath(CHART_DEFAULTS, ROOT)}")
        return 0
    if not os.access(BINARY.path, os.X_OK):
        print(f"check-helm: FAILED: no binary at {BINARY.path} (cargo build, or set DTE_SIDECAR_BIN)")
        return 1
    extra = [os.path.abspath(p) for p in argv]
    check_example()
    check_chart_defaults()
    value_sets = [("defaults", None)]
    value_sets += [(os.path.basename(p)[: -len("-values.yaml")], p)
                   for p in sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml")))]
    value_sets += [(f"arg-{os.path.basename(p)}", p) for p in extra]

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
        check_semantics(label, values, docs)
        print(f"ok   {label}: lint clean, {len(docs)} objects rendered ({len(crds)} custom)", flush=True)

    for finding in validate(all_files):
        fail(f"kubernetes-validate: {finding}")

    with open(os.path.join(CHART, "values.yaml")) as f:
        check_dockerfile(yaml.safe_load(f))

    negatives = negative_checks()
    elapsed = time.monotonic() - T0
    if problems:
        print(f"check-helm: FAILED: {len(problems)} problem(s) (FAIL lines above); {elapsed:.1f}s")
        return 1
    print(
        f"check-helm: OK: strict lint clean for {linted} value sets; {len(all_files)} manifests valid against "
        f"Kubernetes {KUBE} (kubernetes-validate --strict); config.toml and DTE__ variables accepted by "
        f"`dte-sidecar config check`; "
        f"{len(all_crds)} ServiceMonitor(s) checked structurally only (CRD, no schema offline); "
        f"{len(negatives)}/{len(negatives)} negative checks refused; {elapsed:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
