"""Renders helm/dte-sidecar and turns what it renders into what podman runs.

Used by scripts/test-image.sh with the Python of scripts/check-helm.sh's venv
(helm-python-sdk: the real Helm template engine, offline).

    podman_from_chart.py render VALUES OUT NETWORK

(NETWORK: the podman network mode of the containers) writes into OUT:
  manifests.yaml        everything the chart renders (hooks included), for reading;
  run/<c>.args          for `podman run`: the options, the image and the arguments of
                        container <c> ("migrate": the hook Job's, "serve": the
                        Deployment's), NUL-separated, as the chart would run it: its
                        user, read-only root filesystem, capabilities, environment
                        (Secret entries in run/<c>.env, mode 0600), ConfigMap files,
                        emptyDirs (tmpfs) and claims (named volumes);
  kube/secret-<name>.json  each rendered Secret as `podman secret create` wants it
                        for env.valueFrom.secretKeyRef (its data map);
  kube/migrate.yaml     the hook ConfigMap and the hook Job's pod template as a Pod
                        (kube play runs Pods and Deployments, not Jobs);
  kube/server.yaml      the PersistentVolumeClaim, the ConfigMap and the Deployment;
  kube/sim.yaml         with siiSimulator.enabled, the simulator's ConfigMap and Deployment;
  expect.json           what the test checks the running pods against: container and
                        pod names, the probes (path and port number), the grace period,
                        each container's environment with Secret references resolved,
                        and the config.toml each container must see.

Only Deployment, Job, ConfigMap, Secret and PersistentVolumeClaim are used; the
rest (Service, ServiceAccount, HPA, PDB, NetworkPolicy, ServiceMonitor) has no
podman counterpart and is listed in expect.json as "not_run".
"""

import base64
import json
import os
import posixpath
import sys

import helm_python as helm
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "helm", "dte-sidecar")
RELEASE = NAMESPACE = "dte"
RUN_KINDS = {"Deployment", "Job", "ConfigMap", "Secret", "PersistentVolumeClaim"}


def render(values):
    chart = helm.Chart.load(CHART)
    try:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    finally:
        chart.close()
    docs = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt") or not text.strip():
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def secret_data(secret):
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def resolve_env(container, objs):
    """The container's environment as the kubelet would set it: {name: value}."""
    env = {}
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            raise SystemExit(f"podman_from_chart: {e['name']}: only value and secretKeyRef are supported")
        data = secret_data(objs[("Secret", ref["name"])])
        if ref["key"] in data:
            env[e["name"]] = data[ref["key"]]
        elif not ref.get("optional"):
            raise SystemExit(f"podman_from_chart: {e['name']}: Secret {ref['name']} has no {ref['key']}")
    return env


def security_args(pod_spec, container):
    sc = dict(pod_spec.get("securityContext") or {})
    sc.update(container.get("securityContext") or {})
    args = []
    if "runAsUser" in sc:
        args += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', sc['runAsUser'])}"]
    if sc.get("readOnlyRootFilesystem"):
        # Only the volumes the chart mounts are writable (podman would add tmpfs on /tmp, /run).
        args += ["--read-only", "--read-only-tmpfs=false"]
    for cap in (sc.get("capabilities") or {}).get("drop") or []:
        args += ["--cap-drop", cap]
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    return args


def volume_args(pod_spec, container, objs, out, tag):
    """-v/--mount options for the container's volumeMounts."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    args = []
    for m in container.get("volumeMounts") or []:
        vol = volumes[m["name"]]
        ro = ",ro" if m.get("readOnly") else ""
        if m.get("subPath"):
            raise SystemExit(f"podman_from_chart: {m['name']}: subPath mounts are not supported by podman kube play")
        if "configMap" in vol:
            cm = objs[("ConfigMap", vol["configMap"]["name"])]
            src = os.path.join(out, "run", f"{tag}-{m['name']}")
            os.makedirs(src, exist_ok=True)
            for key, text in (cm.get("data") or {}).items():
                with open(os.path.join(src, key), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(src, key), 0o644)
            args += ["--mount", f"type=bind,source={src},destination={m['mountPath']}{ro}"]
        elif "emptyDir" in vol:
            size = (vol["emptyDir"] or {}).get("sizeLimit")
            opts = f",tmpfs-size={size.replace('Mi', 'm').replace('Gi', 'g')}" if size else ""
            # Writable by the pod's user, as an emptyDir under fsGroup is.
            args += ["--mount", f"type=tmpfs,destination={m['mountPath']},tmpfs-mode=1777{opts}"]
        elif "persistentVolumeClaim" in vol:
            args += ["--mount", f"type=volume,source={vol['persistentVolumeClaim']['claimName']},destination={m['mountPath']}{ro}"]
        elif "hostPath" in vol:
            args += ["--mount", f"type=bind,source={vol['hostPath']['path']},destination={m['mountPath']}{ro}"]
        else:
            raise SystemExit(f"podman_from_chart: volume {m['name']}: type not supported here")
    return args


def run_args(pod_spec, container, objs, out, tag, network):
    """Everything after `podman run` for this container, and the env file."""
    env = resolve_env(container, objs)
    env_file = os.path.join(out, "run", f"{tag}.env")
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for k, v in env.items():
            if "\n" in v:
                raise SystemExit(f"podman_from_chart: {k}: a value with a newline cannot go in an env file")
            f.write(f"{k}={v}\n")
    args = ["--network", network, "--env-file", env_file]
    args += security_args(pod_spec, container)
    for p in container.get("ports") or []:
        args += ["--publish", f"127.0.0.1:{p['containerPort']}:{p['containerPort']}"]
    args += volume_args(pod_spec, container, objs, out, tag)
    if "terminationGracePeriodSeconds" in pod_spec:
        args += ["--stop-timeout", str(pod_spec["terminationGracePeriodSeconds"])]
    args.append(container["image"])
    args += container.get("command") or []
    args += container.get("args") or []
    return args


def probes(container):
    """The container's HTTP probes with their ports as numbers (named ports resolved)."""
    ports = {p["name"]: p["containerPort"] for p in container.get("ports") or []}
    found = {}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.get(kind)
        if probe:
            port = probe["httpGet"]["port"]
            found[kind] = {"path": probe["httpGet"]["path"], "port": ports.get(port, port),
                           "period": probe.get("periodSeconds", 10),
                           "failures": probe.get("failureThreshold", 3)}
    return found


def main():
    if len(sys.argv) != 5 or sys.argv[1] != "render":
        raise SystemExit("usage: podman_from_chart.py render VALUES OUT NETWORK")
    _, _, values_path, out, network = sys.argv
    with open(values_path) as f:
        values = yaml.safe_load(f) or {}
    docs = render(values)
    os.makedirs(os.path.join(out, "run"), exist_ok=True)
    os.makedirs(os.path.join(out, "kube"), exist_ok=True)
    with open(os.path.join(out, "manifests.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
    objs = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    hook = lambda d: "helm.sh/hook" in ((d.get("metadata") or {}).get("annotations") or {})

    deployment = next(d for d in docs if d["kind"] == "Deployment"
                      and d["spec"]["template"]["spec"]["containers"][0].get("args") == ["serve"])
    job = next(d for d in docs if d["kind"] == "Job")
    expect = {"not_run": sorted({d["kind"] for d in docs} - RUN_KINDS), "containers": {}, "secrets": []}

    for tag, owner in (("migrate", job), ("serve", deployment)):
        spec = owner["spec"]["template"]["spec"]
        container = spec["containers"][0]
        args = run_args(spec, container, objs, out, tag, network)
        with open(os.path.join(out, "run", f"{tag}.args"), "w") as f:
            f.write("\0".join(args) + "\0")
        env = resolve_env(container, objs)
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        config_path = env.get("DTE_CONFIG")
        config_text = None
        for m in container.get("volumeMounts") or []:
            cm = volumes[m["name"]].get("configMap")
            if cm and config_path and posixpath.dirname(config_path) == posixpath.normpath(m["mountPath"]):
                config_text = objs[("ConfigMap", cm["name"])]["data"][posixpath.basename(config_path)]
        expect["containers"][tag] = {
            "env": env,
            "config_path": config_path,
            "config": config_text,
            "user": (container.get("securityContext") or {}).get("runAsUser"),
            "probes": probes(container),
            "grace": spec.get("terminationGracePeriodSeconds", 30),
            "writable": [m["mountPath"] for m in container.get("volumeMounts") or []
                         if not m.get("readOnly") and not volumes[m["name"]].get("configMap")],
        }

    # podman 4.3 reads a secretKeyRef from a podman secret holding the data map.
    for d in docs:
        if d["kind"] == "Secret":
            with open(os.path.join(out, "kube", f"secret-{d['metadata']['name']}.json"), "w") as f:
                json.dump(d.get("data") or {}, f)
            expect["secrets"].append(d["metadata"]["name"])

    job_spec = job["spec"]["template"]
    migrate_pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": job["metadata"]["name"], "labels": job_spec["metadata"].get("labels", {})},
                   "spec": job_spec["spec"]}
    hook_cms = [d for d in docs if d["kind"] == "ConfigMap" and hook(d)]
    with open(os.path.join(out, "kube", "migrate.yaml"), "w") as f:
        yaml.safe_dump_all(hook_cms + [migrate_pod], f, sort_keys=False)
    def config_maps(owner):
        names = {v["configMap"]["name"] for v in owner["spec"]["template"]["spec"].get("volumes") or [] if "configMap" in v}
        return [objs[("ConfigMap", n)] for n in sorted(names)]

    server = [d for d in docs if d["kind"] == "PersistentVolumeClaim"] + config_maps(deployment) + [deployment]
    with open(os.path.join(out, "kube", "server.yaml"), "w") as f:
        yaml.safe_dump_all(server, f, sort_keys=False)
    # The SII simulator's Deployment (siiSimulator.enabled), a pod of its own.
    sim = next((d for d in docs if d["kind"] == "Deployment"
                and d["spec"]["template"]["spec"]["containers"][0].get("args") == ["sii-sim"]), None)
    if sim:
        with open(os.path.join(out, "kube", "sim.yaml"), "w") as f:
            yaml.safe_dump_all(config_maps(sim) + [sim], f, sort_keys=False)
        container = sim["spec"]["template"]["spec"]["containers"][0]
        sim_name = sim["metadata"]["name"]
        env = resolve_env(container, objs)
        expect["sim"] = {"pod": f"{sim_name}-pod-0", "container": f"{sim_name}-pod-0-{container['name']}",
                         "probes": probes(container), "config_path": env.get("DTE_CONFIG"),
                         "config": config_maps(sim)[0]["data"]["config.toml"],
                         "grace": sim["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)}

    name = deployment["metadata"]["name"]
    expect["migrate_pod"] = job["metadata"]["name"]
    expect["migrate_container"] = f"{job['metadata']['name']}-{job_spec['spec']['containers'][0]['name']}"
    # kube play names a Deployment's pod <name>-pod-0 and its containers <pod>-<container>.
    expect["server_pod"] = f"{name}-pod-0"
    expect["server_container"] = f"{name}-pod-0-{deployment['spec']['template']['spec']['containers'][0]['name']}"
    expect["claims"] = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1)
    os.chmod(os.path.join(out, "expect.json"), 0o600)


if __name__ == "__main__":
    main()
