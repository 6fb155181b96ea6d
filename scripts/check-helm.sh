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
#      root filesystem, the grace period exceeds the shutdown timeout, the
#      Dockerfile's user, port and schemas match the chart's;
#   4. checks every config.toml and DTE__ variable against the service's real
#      settings: the structs of src/settings.rs (all deny_unknown_fields, so an
#      unknown key stops the service) give the keys, their types and enum values
#      (nested ones too: sii.extra_caf_keys, simulator.faults); where
#      config/dte-sidecar.example.toml has the key, the type must agree (a key
#      it does not document, and an example key src/settings.rs lacks, are
#      reported too);
#   5. per container (serve, migrate, sii-sim), merges the example's defaults,
#      config.toml and the environment (values from rendered Secrets) as the
#      service does and applies what its settings check (Settings::check)
#      would refuse, plus what only the cluster decides: backup.dir on a
#      writable volume, key files on mounted volumes, the master key given to
#      `serve`, sii.simulator_url reaching the simulator's Service, probe and
#      ServiceMonitor paths being routes of src/server.rs (or of the
#      simulator's admin face) on the right ports.
# Custom resources: kubernetes-validate ships schemas for built-in kinds only,
# so the ServiceMonitor (monitoring.coreos.com/v1) is NOT schema-validated; it
# gets a hand-written structural check (check_servicemonitor below) instead.
# Then it proves it can fail: a manifest with an unknown field, a kind with a
# removed apiVersion, a value the schema forbids, a config key and a DTE__
# variable the service does not know, and a setting its check refuses must
# each be refused.
#
# Usage: scripts/check-helm.sh [EXTRA-VALUES.yaml ...]   (each must pass too)
# The Python tools live in a venv under .cache/check-helm/ (gitignored), made
# on the first run and reused; rendered manifests are left in
# .cache/check-helm/rendered/<value set>/ for reading.
set -euo pipefail
# ROOT, log and the venv (ensure_helm_venv: helm-python-sdk 0.2.2, kubernetes-validate).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_helm_venv || { echo "check-helm: FAILED: no venv for the Helm tools" >&2; exit 1; }

exec "$HELM_VENV/bin/python" - "$ROOT" "$@" <<'PY'
import base64
import copy
import glob
import ipaddress
import os
import posixpath
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
SETTINGS_RS = os.path.join(ROOT, "src", "settings.rs")
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


# ------------------------------------------------ the service's settings contract
def read(path):
    with open(path) as f:
        return f.read()


def rust_items(src):
    """Structs and enums of a Rust source: {name: {...}}. A struct records its
    fields (name -> type), whether serde fills missing fields (default) and
    whether it refuses unknown ones (deny_unknown_fields); an enum its variants
    as serde spells them (rename_all lowercase / snake_case)."""
    structs, enums = {}, {}
    code = re.sub(r"//[^\n]*", "", src)
    for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)pub (struct|enum) (\w+)\s*\{(.*?)\n\}", code, re.S):
        attrs, kind, name, body = m.groups()
        serde = " ".join(re.findall(r"#\[serde\(([^)]*)\)\]", attrs))
        if kind == "struct":
            fields = dict(re.findall(r"^\s*pub (\w+)\s*:\s*(.+?),\s*$", body, re.M))
            structs[name] = {"fields": fields, "default": re.search(r"\bdefault\b", serde) is not None,
                             "deny": "deny_unknown_fields" in serde}
        else:
            variants = re.findall(r"^\s*([A-Z]\w*)\s*,?\s*$", body, re.M)
            if "snake_case" in serde:
                variants = [re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower() for v in variants]
            elif "lowercase" in serde:
                variants = [v.lower() for v in variants]
            enums[name] = variants
    return structs, enums


def settings_contract():
    """The settings as src/settings.rs declares them, plus the types it names
    from other modules (crate::sii::simulator::faults::Faults ...)."""
    src = read(SETTINGS_RS)
    structs, enums = rust_items(src)
    for path in set(re.findall(r"crate((?:::\w+)+)::\w+", src)):
        parts = path.strip(":").split("::")
        for candidate in (os.path.join(ROOT, "src", *parts) + ".rs", os.path.join(ROOT, "src", *parts, "mod.rs")):
            if os.path.exists(candidate):
                s, e = rust_items(read(candidate))
                structs.update({k: v for k, v in s.items() if k not in structs})
                enums.update({k: v for k, v in e.items() if k not in enums})
    if "Settings" not in structs:
        raise SystemExit(f"check-helm: FAILED: no `pub struct Settings` in {SETTINGS_RS}")
    return {"structs": structs, "enums": enums}


CONTRACT = settings_contract()
SECTIONS = CONTRACT["structs"]["Settings"]["fields"]  # section -> struct name
INTS = {"u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
        "usize": (0, 2**64 - 1), "i32": (-2**31, 2**31 - 1), "i64": (-2**63, 2**63 - 1)}
STRINGS = {"String", "PathBuf", "Secret", "Timestamp", "NaiveDateTime", "NaiveDate"}


def strip_type(rust):
    rust = rust.strip()
    if rust.startswith("Option<") and rust.endswith(">"):
        rust = rust[len("Option<"):-1]
    return rust.split("::")[-1] if "<" not in rust else rust


def field_type(section, key):
    """Rust type of section.key, or None when the service has no such key."""
    struct = CONTRACT["structs"].get(strip_type(SECTIONS.get(section, "")))
    return None if struct is None else struct["fields"].get(key)


def check_value(where, rust, value):
    """Problems with `value` as the TOML value of a setting of Rust type `rust`."""
    rust = strip_type(rust)
    structs, enums = CONTRACT["structs"], CONTRACT["enums"]
    if rust in STRINGS:
        return [] if isinstance(value, str) else [f"{where} = {value!r} is not a string"]
    if rust in INTS:
        lo, hi = INTS[rust]
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return [] if ok else [f"{where} = {value!r} is not an integer of {rust}"]
    if rust in ("f64", "f32"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where} = {value!r} is not a number"]
    if rust == "bool":
        return [] if isinstance(value, bool) else [f"{where} = {value!r} is not a boolean"]
    if rust in enums:
        return [] if value in enums[rust] else [f"{where} = {value!r} is none of {', '.join(enums[rust])}"]
    m = re.fullmatch(r"Vec<(.+)>", rust)
    if m:
        if not isinstance(value, list):
            return [f"{where} = {value!r} is not a list"]
        return [p for i, item in enumerate(value) for p in check_value(f"{where}[{i}]", m.group(1), item)]
    m = re.fullmatch(r"(?:BTreeMap|HashMap)<String,\s*(.+)>", rust)
    if m:
        if not isinstance(value, dict):
            return [f"{where} is not a table"]
        return [p for k, v in value.items() for p in check_value(f"{where}.{k}", m.group(1), v)]
    if rust in structs:
        if not isinstance(value, dict):
            return [f"{where} = {value!r} is not a table"]
        return check_table(where, rust, value)
    note(f"settings type {rust} ({where}) is not known to this check; its value is not checked")
    return []


def check_table(where, struct_name, table):
    struct = CONTRACT["structs"][struct_name]
    out = []
    for key, value in table.items():
        rust = struct["fields"].get(key)
        if rust is None:
            if struct["deny"]:
                out.append(f"{where}.{key} is not a setting of the service ({struct_name} in src/settings.rs refuses unknown keys)")
            continue
        out += check_value(f"{where}.{key}", rust, value)
    if not struct["default"]:
        for key, rust in struct["fields"].items():
            if key not in table and not rust.strip().startswith("Option<"):
                out.append(f"{where}: {key} is required ({struct_name} has no defaults)")
    return out


def example_settings():
    """(values, documented keys) of the example file: its values are the
    service's defaults; documented also counts commented-out keys
    (`# caf_signing_key = ...`), which the example uses for optional ones."""
    if not os.path.exists(EXAMPLE_TOML):
        return None, None
    text = read(EXAMPLE_TOML)
    values = tomllib.loads(text)
    documented, section = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s*\[([\w.]+)\]\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^\s*#?\s*([a-z_][a-z0-9_]*)\s*=", line)
        if m and section:
            documented.setdefault(section, set()).add(m.group(1))
    return values, documented


EXAMPLE, DOCUMENTED = example_settings()


def check_example_documents():
    """Every setting of src/settings.rs should be in the example (NOTE only: the
    example is documentation, src/settings.rs decides)."""
    if EXAMPLE is None:
        note(f"{EXAMPLE_TOML} is missing: keys are checked against src/settings.rs only")
        return
    missing = []
    for section, struct_name in SECTIONS.items():
        struct = CONTRACT["structs"].get(strip_type(struct_name), {"fields": {}})
        for key in struct["fields"]:
            if key not in DOCUMENTED.get(section, set()) and key not in (EXAMPLE.get(section) or {}):
                missing.append(f"{section}.{key}")
    if missing:
        note(f"{os.path.basename(EXAMPLE_TOML)} does not document {', '.join(missing)}")
    for section, body in EXAMPLE.items():
        for p in check_value(f"example [{section}]", SECTIONS.get(section, "NoSuchSection"), body) if section in SECTIONS else [f"example: [{section}] is not a section of src/settings.rs"]:
            fail(f"{os.path.basename(EXAMPLE_TOML)} disagrees with src/settings.rs: {p}")


def check_config_contract(label, name, cfg):
    """config.toml against src/settings.rs (keys, types, enums) and the example
    (documented, same type)."""
    for section, body in cfg.items():
        if section not in SECTIONS:
            fail(f"{label}: {name}: config.toml: [{section}] is not a section of the service's settings; the service refuses it")
            continue
        for p in check_value(section, SECTIONS[section], body):
            fail(f"{label}: {name}: config.toml: {p}")
        if EXAMPLE is None or not isinstance(body, dict):
            continue
        for key, value in body.items():
            if field_type(section, key) is None:
                continue
            if key not in DOCUMENTED.get(section, set()) and key not in (EXAMPLE.get(section) or {}):
                note(f"{section}.{key} is set by the chart but not documented in {os.path.basename(EXAMPLE_TOML)}")
                continue
            want = (EXAMPLE.get(section) or {}).get(key)
            if want is not None and not (type(value) is type(want) or (type(want) is float and type(value) is int)):
                fail(f"{label}: {name}: config.toml: {section}.{key} = {value!r} is {type(value).__name__}, the example has {type(want).__name__}")


ENV_RE = re.compile(r"DTE__([A-Z0-9_]+?)__([A-Z0-9_]+?)(?:__([A-Z0-9_]+))?")


def check_env_contract(label, who, container):
    for env in container.get("env") or []:
        m = ENV_RE.fullmatch(env["name"])
        if not m:
            continue
        section, key, sub = (g.lower() if g else None for g in m.groups())
        rust = field_type(section, key)
        if rust is None:
            fail(f"{label}: {who}: {env['name']} names {section}.{key}, not a setting of the service; it refuses it")
        elif sub is not None and not re.match(r"(BTreeMap|HashMap)<", strip_type(rust)):
            fail(f"{label}: {who}: {env['name']} names {section}.{key}.{sub}, but {section}.{key} is not a map")


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


class FromSecret(str):
    """A setting whose value comes from a Secret the check cannot read."""


def set_path(cfg, section, key, sub, value):
    body = cfg.setdefault(section, {})
    if sub is None:
        body[key] = value
    else:
        body.setdefault(key, {})[sub] = value


def coerce(rust, value):
    """As the config crate turns an environment string into the field's type."""
    if isinstance(value, FromSecret) or rust is None:
        return value
    rust = strip_type(rust)
    try:
        if rust in INTS:
            return int(value)
        if rust in ("f64", "f32"):
            return float(value)
        if rust == "bool":
            return {"true": True, "false": False, "1": True, "0": False}.get(value.lower(), value)
    except ValueError:
        pass
    return value


def effective_settings(label, who, container, volumes, objs, existing):
    """What the service would load in this container: the example's defaults,
    then config.toml (DTE_CONFIG), then DATABASE_URL, then DTE__ variables.
    None when the container reads no config file of the chart."""
    env = {e["name"]: e for e in container.get("env") or []}
    path = (env.get("DTE_CONFIG") or {}).get("value")
    if not path:
        return None
    # The file itself (a subPath mount) or a file in a mounted ConfigMap directory.
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == path and m.get("subPath")), None)
    key = mount and mount["subPath"]
    if mount is None:
        parent, key = posixpath.split(posixpath.normpath(path))
        mount = next((m for m in container.get("volumeMounts", [])
                      if posixpath.normpath(m["mountPath"]) == parent and not m.get("subPath")), None)
    if mount is None:
        fail(f"{label}: {who}: DTE_CONFIG={path} is not a mounted file")
        return None
    cm_name = (volumes.get(mount["name"], {}).get("configMap") or {}).get("name")
    cm = objs.get(("ConfigMap", cm_name))
    text = ((cm or {}).get("data") or {}).get(key)
    if text is None:
        fail(f"{label}: {who}: DTE_CONFIG={path}: no such file in ConfigMap {cm_name}")
        return None
    try:
        file_cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"{label}: ConfigMap {cm_name}: config.toml does not parse: {e}")
        return None
    cfg = copy.deepcopy(EXAMPLE or {})
    for section, body in file_cfg.items():
        if isinstance(body, dict):
            cfg.setdefault(section, {}).update(copy.deepcopy(body))

    def value_of(e):
        if "value" in e:
            return e["value"]
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            return FromSecret("")
        secret = objs.get(("Secret", ref["name"]))
        data = (secret or {}).get("data") or {}
        if ref["key"] in data:
            return base64.b64decode(data[ref["key"]]).decode()
        if secret is None and ref["name"] == existing:
            return FromSecret("<from " + ref["name"] + ">")
        return None  # absent: an optional ref, or a problem reported elsewhere

    if "DATABASE_URL" in env:
        url = value_of(env["DATABASE_URL"])
        if url:
            set_path(cfg, "database", "url", None, url)
    for name, e in env.items():
        m = ENV_RE.fullmatch(name)
        if not m:
            continue
        value = value_of(e)
        if value is None:
            continue
        section, key, sub = (g.lower() if g else None for g in m.groups())
        set_path(cfg, section, key, sub, coerce(field_type(section, key) if sub is None else None, value))
    return cfg


def sweep_schedule_ok(secs):
    """jobs::sweep_tick::schedule: divides a minute, or whole minutes dividing an hour."""
    return (0 < secs < 60 and 60 % secs == 0) or (secs >= 60 and secs % 60 == 0 and 60 % (secs // 60) == 0)


def service_check(cfg):
    """What Settings::check (src/settings.rs) refuses; returns the messages."""
    out = []
    g = lambda s, k, d=None: (cfg.get(s) or {}).get(k, d)
    known = lambda v: v is not None and not isinstance(v, FromSecret)
    if bind_port(g("server", "bind", "")) is None:
        out.append(f"server.bind {g('server', 'bind')!r}: expected an address like 127.0.0.1:8070")
    url = g("database", "url", "")
    if known(url) and url and not re.match(r"postgres(ql)?://", url):
        out.append("database.url: expected a postgres:// URL")
    if g("database", "pool_size", 10) == 0:
        out.append("database.pool_size: must be at least 1")
    schema = g("database", "odoo_schema", "public")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", str(schema)) or schema == "dte_sidecar":
        out.append(f"database.odoo_schema {schema!r}: expected a schema name such as public (not dte_sidecar)")
    for name, key in (g("auth", "api_keys") or {}).items():
        if known(key) and len(key) < 16:
            out.append(f"auth.api_keys.{name}: an API key needs at least 16 characters")
        elif known(key) and key.strip() != key:
            out.append(f"auth.api_keys.{name}: an API key must not begin or end with whitespace")
    xml, body = g("limits", "max_xml_bytes", 1), g("limits", "max_body_bytes", 1)
    if not (1 <= xml <= body):
        out.append("limits.max_xml_bytes: must be between 1 and limits.max_body_bytes")
    if g("limits", "max_search_limit", 1) < 1:
        out.append("limits.max_search_limit: must be at least 1")
    if g("limits", "body_timeout_secs", 30) < 1:
        out.append("limits.body_timeout_secs: must be at least 1")
    if not g("clock", "speedup", 1) >= 1:
        out.append("clock.speedup: must be a number >= 1")
    key = g("secrets", "master_key", "")
    if known(key) and key and not re.fullmatch(r"[0-9a-fA-F]{64}", key.strip()):
        out.append("secrets.master_key: expected 64 hexadecimal characters (32 bytes)")
    if not 1 <= g("sii", "max_documents_per_envelope", 500) <= 2000:
        out.append("sii.max_documents_per_envelope: must be between 1 and 2000")
    if g("sii", "contingency_after_failures", 3) == 0:
        out.append("sii.contingency_after_failures: must be at least 1")
    if g("simulator", "default_outcome", "accept") not in ("accept", "reject", "objected"):
        out.append("simulator.default_outcome: expected accept, reject or objected")
    if not sweep_schedule_ok(int(g("jobs", "sweep_interval_secs", 60))):
        out.append("jobs.sweep_interval_secs: must divide a minute (1-30) or an hour (60-1800, whole minutes), or be 3600")
    if g("admin", "bind", ""):
        if bind_port(g("admin", "bind")) is None:
            out.append("admin.bind: expected an address like 127.0.0.1:8073")
        password = g("admin", "board_password", "")
        if not g("admin", "board_user", "") or not password or (known(password) and len(password) < 12):
            out.append("admin.board_password: the admin face needs admin.board_user and a password of at least 12 characters")
    if g("backup", "store", "dir") == "s3" and not g("backup", "s3_bucket", ""):
        out.append("backup.s3_bucket: required when backup.store = \"s3\"")
    if g("backup", "retention_years", 6) < 6:
        out.append("backup.retention_years: Chilean tax law requires at least 6 years")
    if g("smtp", "security", "starttls") not in ("starttls", "tls", "none"):
        out.append("smtp.security: expected starttls, tls or none")
    if g("smtp", "host", "") and not str(g("smtp", "to", "")).strip():
        out.append("smtp.to: alert mail needs at least one recipient")
    return out


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
    """Steps 4 and 5 of the header for every container of the chart."""
    existing = (values.get("secrets") or {}).get("existingSecret") or ""
    sims = []  # (service, deployment container, settings)
    serves = []
    for owner, template in pod_specs(docs):
        spec = template["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            who = f"{owner['kind']} {owner['metadata']['name']}/{c['name']}"
            check_env_contract(label, who, c)
            cmd = command_of(c)
            cfg = effective_settings(label, who, c, volumes, objs, existing)
            if cfg is None:
                continue
            for p in service_check(cfg):
                fail(f"{label}: {who} ({cmd}): the service would refuse its settings: {p}")
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
                cfg = tomllib.loads(d["data"]["config.toml"])
            except tomllib.TOMLDecodeError as e:
                fail(f"{label}: ConfigMap {d['metadata']['name']}: config.toml does not parse: {e}")
                continue
            check_config_contract(label, f"ConfigMap {d['metadata']['name']}", cfg)
    check_containers(label, docs, objs, values)

    for d in deployments:
        spec = d["spec"]["template"]["spec"]
        main = spec["containers"][0]
        if command_of(main) != "serve":
            continue
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        cfg = effective_settings(label, d["metadata"]["name"], main, volumes, objs, "") or {}
        sleep = 0
        pre = ((main.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
        if len(pre) == 2 and pre[0] == "sleep":
            sleep = int(pre[1])
        need = sleep + int(cfg.get("server", {}).get("shutdown_timeout_secs", 30))
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
check_example_documents()
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
    check_semantics(label, values, docs)
    print(f"ok   {label}: lint clean, {len(docs)} objects rendered ({len(crds)} custom)", flush=True)

for finding in validate(all_files):
    fail(f"kubernetes-validate: {finding}")

with open(os.path.join(CHART, "values.yaml")) as f:
    check_dockerfile(yaml.safe_load(f))

# ------------------------------------------------- negative checks (must fail)
negatives = []
neg_dir = os.path.join(OUT, "negative")
os.makedirs(neg_dir, exist_ok=True)


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
negative("a Deployment with an unknown field (env[].valu)", any("valu" in l and "ERROR" in l for l in validate([bad_file])))
# 2. A built-in kind at an apiVersion Kubernetes 1.30 no longer serves.
hpa = next(d for _, d in render({"autoscaling": {"enabled": True}}) if d.get("kind") == "HorizontalPodAutoscaler")
hpa = copy.deepcopy(hpa)
hpa["apiVersion"] = "autoscaling/v2beta2"
old_file = os.path.join(neg_dir, "removed-api.yaml")
with open(old_file, "w") as f:
    yaml.safe_dump(hpa, f)
negative("an autoscaling/v2beta2 HPA (removed in 1.26)", bool(validate([old_file])))
# 3. A value values.schema.json forbids.
negative("config.sii.environment=prod in the strict lint", bool(lint("negative", {"config": {"sii": {"environment": "prod"}}})))
# 4. A config key the service does not have (extraConfig is not schema-checked).
negative("extraConfig server.no_such_key", refused("unknown-key", {"extraConfig": {"server": {"no_such_key": 1}}}))
# 5. A DTE__ variable the service does not have (the old certificate-path guess).
negative("extraEnv DTE__SII__CERTIFICATE_PATH", refused("unknown-env", {"extraEnv": [{"name": "DTE__SII__CERTIFICATE_PATH", "value": "/x.p12"}]}))
# 6. A value of the wrong type, and one Settings::check refuses.
negative("extraConfig jobs.enabled = \"yes\"", refused("bad-type", {"extraConfig": {"jobs": {"enabled": "yes"}}}))
negative("extraConfig jobs.sweep_interval_secs = 45", refused("bad-sweep", {"extraConfig": {"jobs": {"sweep_interval_secs": 45}}}))
# 7. The admin board without a password in `serve` (an existing Secret lacks nothing
#    the check can see, so use an env override that empties it).
negative("admin board with a 5-character password", refused("short-board", {"adminBoard": {"enabled": True}, "extraEnv": [{"name": "DTE__ADMIN__BOARD_PASSWORD", "value": "short"}]}))

elapsed = time.monotonic() - T0
if problems:
    print(f"check-helm: FAILED: {len(problems)} problem(s) (FAIL lines above); {elapsed:.1f}s")
    sys.exit(1)
print(
    f"check-helm: OK: strict lint clean for {linted} value sets; {len(all_files)} manifests valid against "
    f"Kubernetes {KUBE} (kubernetes-validate --strict); config.toml and DTE__ variables match src/settings.rs; "
    f"{len(all_crds)} ServiceMonitor(s) checked structurally only (CRD, no schema offline); "
    f"{len(negatives)}/{len(negatives)} negative checks refused; {elapsed:.1f}s"
)
PY
