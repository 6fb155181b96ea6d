#!/usr/bin/env bash
# The container image and the Helm chart, built and run for real, without Docker:
# podman + runc, a Debian base made with debootstrap, the binary built on the host.
#
#  1. base image  localhost/debian-base:<codename> from `debootstrap --variant=minbase`
#                 against the Debian mirror apt uses here (read from /etc/apt/sources.list*),
#                 kept as a tarball under .cache/image/ and re-imported from it;
#  2. image       the Dockerfile with BINARY=prebuilt and RUNTIME_IMAGE=<that base>; the
#                 binary is a copy of target/debug/dte-sidecar (which `cargo test` has
#                 just built) with its debug info stripped (IMAGE_BINARY overrides it);
#  3. run         the chart rendered for this machine (scripts/podman_from_chart.py) and
#                 its containers run with `podman run` exactly as rendered (user 10001,
#                 read-only root filesystem, no capabilities, the ConfigMap's config.toml,
#                 the Secret's entries as environment variables, /tmp and the backup
#                 claim as the only writable places): `migrate`, then `serve` until
#                 /readyz answers 200, a company, certificate and CAF (issued by the SII
#                 simulator, `dte-sidecar sii-sim` on the host), one invoice sent and
#                 accepted and its second copy on the backup volume, then a SIGTERM while
#                 a second upload is in flight: that request completes and the server
#                 exits 0 within the grace period;
#  4. kube play   the rendered migration Job (as a Pod), the SII simulator's Deployment
#                 and ConfigMap, then the server's ConfigMap, claim and Deployment under
#                 `podman kube play`, Secrets as podman secrets: the migration exits 0,
#                 the probes answer, each pod sees the config file (and the server the
#                 environment, user and read-only root) the values asked for, and each
#                 stops cleanly on SIGTERM.
#                 podman cannot run Service, ServiceAccount, HPA, PDB, NetworkPolicy or
#                 ServiceMonitor: those stay under scripts/check-helm.sh's schema checks.
#
# Needs root (podman as root, apt-get). Installs podman, runc, debootstrap and friends.
# Environment: DATABASE_URL (an admin URL; scripts/test.sh exports it), IMAGE_TEST_PORT
# (first of 7 ports, default 18270, below the kernel's ephemeral range so that no outgoing
# connection holds one; the next free block of 7 is taken if one is busy), IMAGE_BINARY, KEEP_IMAGE_TEST=1 (leave the work
# directory for reading). Containers, pods, podman secrets and volumes, the simulator and
# the two databases are removed at the end, also on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
T_START=$(date +%s)

IMAGE_CACHE="$ROOT/.cache/image"
PORT="${IMAGE_TEST_PORT:-18270}"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
block_busy() { local p; for p in $(seq "$1" $(($1 + 6))); do port_busy "$p" && return 0; done; return 1; }
while block_busy "$PORT"; do PORT=$((PORT + 10)); done
SIM_PORT=$((PORT + 1)) SIM_ADMIN_PORT=$((PORT + 2)) RUN_PORT=$((PORT + 3)) KUBE_PORT=$((PORT + 4))
KUBE_SIM_PORT=$((PORT + 5)) KUBE_SIM_ADMIN_PORT=$((PORT + 6))
IMAGE="localhost/dte-sidecar:test"
# Containers reach the host's loopback (PostgreSQL, the simulator) at 10.0.2.2 through
# slirp4netns; the host reaches their published ports on 127.0.0.1.
NETWORK="slirp4netns:allow_host_loopback=true"
HOST_FROM_CONTAINER=10.0.2.2
DB_PREFIX="dte_image_${PORT}"

fail() { echo "test-image: FAILED: $*" >&2; exit 1; }
elapsed() { echo $(($(date +%s) - $1)); }
checks=0
passed() { checks=$((checks + 1)); echo "ok   $*"; }

if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: scripts/test-image.sh needs root (rootful podman, apt-get); CI runs as root"
    exit 0
fi
[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL is not set (scripts/test.sh exports it)"

ensure_packages podman runc catatonit slirp4netns uidmap debootstrap binutils curl python3-venv postgresql-client

# podman's settings for this machine, without touching /etc/containers: runc (crun refuses
# the hybrid cgroups here), cgroupfs (no systemd) and limits below the machine's hard ones
# (podman's defaults exceed them; kube play has no --ulimit, so they go here).
mkdir -p "$IMAGE_CACHE"
export CONTAINERS_CONF="$IMAGE_CACHE/containers.conf"
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dte-image-test.XXXXXX")"
chmod 700 "$WORK"
sim_pid=""
cleanup() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ]; then
        for c in dte-run-migrate dte-run-serve; do
            podman container exists "$c" && { echo "--- podman logs $c (last 40 lines)"; podman logs "$c" 2>&1 | tail -40; }
        done
        for k in migrate server; do
            [ -f "$WORK/kube/expect.json" ] || continue
            c=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["migrate_container" if sys.argv[2]=="migrate" else "server_container"])' "$WORK/kube/expect.json" "$k")
            podman container exists "$c" && { echo "--- podman logs $c (last 40 lines)"; podman logs "$c" 2>&1 | tail -40; }
        done
    fi
    podman rm -f -t 0 dte-run-migrate dte-run-serve >/dev/null 2>&1
    for f in "$WORK"/kube/kube/migrate.yaml "$WORK"/kube/kube/server.yaml "$WORK"/kube/kube/sim.yaml; do
        [ -f "$f" ] && podman kube down "$f" >/dev/null 2>&1
    done
    for d in "$WORK"/run "$WORK"/kube; do
        for s in "$d"/kube/secret-*.json; do
            [ -f "$s" ] || continue
            s=${s##*/secret-}; podman secret rm "${s%.json}" >/dev/null 2>&1
        done
    done
    # Named volumes: the claims, and those kube play makes for ConfigMap volumes.
    podman volume rm -f dte-run-backup dte-kube-backup dte-kube dte-kube-migrate dte-kube-sii-sim >/dev/null 2>&1
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    for db in run kube; do
        psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS ${DB_PREFIX}_$db WITH (FORCE)" >/dev/null 2>&1
    done
    if [ "${KEEP_IMAGE_TEST:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    if [ "$rc" != 0 ]; then echo "test-image: FAILED after $(elapsed "$T_START") s" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until the command succeeds, at most $1 seconds, checking every 0.2 s.
wait_for() {
    local limit=$1 t0
    shift
    t0=$(date +%s)
    until "$@" >/dev/null 2>&1; do
        [ "$(elapsed "$t0")" -lt "$limit" ] || return 1
        sleep 0.2
    done
}
http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1")" = 200 ]; }

# --------------------------------------------------------------------- 1. base image
. /etc/os-release
CODENAME="${VERSION_CODENAME:-bookworm}"
[ "$CODENAME" = bookworm ] || fail "the image is Debian bookworm and the binary is built on the host: run on bookworm (this is $CODENAME)"
BASE="localhost/debian-base:$CODENAME"
# Bump when the recipe below changes: the cached tarball and image are then made anew.
BASE_RECIPE=2
BASE_TAR="$IMAGE_CACHE/debian-base-$CODENAME-r$BASE_RECIPE.tar"
t0=$(date +%s)
if [ "$(podman image inspect --format '{{index .Labels "dte-sidecar.base-recipe"}}' "$BASE" 2>/dev/null)" = "$BASE_RECIPE" ]; then
    log "base image $BASE: present"
else
    if [ ! -s "$BASE_TAR" ]; then
        # The mirror apt uses on this machine, so the build reaches only what apt reaches.
        mirror=$(python3 - "$CODENAME" <<'PY'
import glob, re, sys
codename = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list") + glob.glob("/etc/apt/sources.list.d/*")):
    text = open(path, errors="replace").read()
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            f = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith("#"):
                    k, v = line.split(":", 1)
                    f[k.strip().lower()] = v.split()
            if "deb" in f.get("types", []) and codename in f.get("suites", []) and "main" in f.get("components", []):
                print(f["uris"][0]); sys.exit(0)
    elif path.endswith(".list") or path.endswith("sources.list"):
        for line in text.splitlines():
            parts = re.sub(r"\[[^\]]*\]", "", line.split("#")[0]).split()
            if len(parts) >= 4 and parts[0] == "deb" and parts[2] == codename and "main" in parts[3:]:
                print(parts[1]); sys.exit(0)
sys.exit(f"no 'deb ... {codename} main' source in /etc/apt/sources.list*")
PY
        ) || fail "cannot tell which Debian mirror apt uses"
        log "making the base image with debootstrap ($CODENAME, minbase, from apt's mirror)"
        rootfs="$IMAGE_CACHE/rootfs"
        rm -rf "$rootfs"
        debootstrap --variant=minbase "$CODENAME" "$rootfs" "$mirror" >"$IMAGE_CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$IMAGE_CACHE/debootstrap.log"; fail "debootstrap failed (log: $IMAGE_CACHE/debootstrap.log)"; }
        # As Debian's own images: apt keeps no package files or caches in a layer, and
        # (-slim) no documentation, manuals or translations, now or later.
        cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT
        cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
        find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
        find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/cache/apt/archives/*.deb \
            "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
        find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
        tar -C "$rootfs" -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
        rm -rf "$rootfs"
    fi
    rm -f "$IMAGE_CACHE"/debian-base-"$CODENAME"-r*.tar.part
    podman import --quiet --change "LABEL dte-sidecar.base-recipe=$BASE_RECIPE" "$BASE_TAR" "$BASE" >/dev/null
    log "base image $BASE made in $(elapsed "$t0") s"
fi
BASE_SECS=$(elapsed "$t0")

# -------------------------------------------------------------------------- 2. image
BIN="${IMAGE_BINARY:-$ROOT/target/debug/dte-sidecar}"
if [ ! -x "$BIN" ]; then
    log "building $BIN"
    cargo build --locked --bin dte-sidecar
fi
mkdir -p "$ROOT/dist"
install -m 0755 "$BIN" "$ROOT/dist/dte-sidecar"
strip --strip-debug "$ROOT/dist/dte-sidecar"
log "image binary: $BIN, debug info stripped: $(($(stat -c %s "$ROOT/dist/dte-sidecar") / 1048576)) MiB"
t0=$(date +%s)
previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
podman build --quiet --network host --build-arg BINARY=prebuilt --build-arg "RUNTIME_IMAGE=$BASE" \
    -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "podman build failed"; }
BUILD_SECS=$(elapsed "$t0")
# Storage stays bounded: the image this one replaces (with its untagged layers) and the
# stage that only carried the binary go.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
podman image prune -f --filter label=dte-sidecar.stage=prebuilt >/dev/null 2>&1 || true
IMAGE_MB=$(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000))
passed "image $IMAGE built in $BUILD_SECS s, $IMAGE_MB MB (base image: $BASE_SECS s)"
[ "$(podman run --rm --network none "$IMAGE" --version)" = "$("$BIN" --version)" ] \
    || fail "the image's binary is not $BIN"

# ------------------------------------------------------------- chart values, rendering
ensure_helm_venv || fail "no venv for the Helm tools"
HELM_PY="$HELM_VENV/bin/python"
API_KEY=$(openssl rand -hex 24)
export PGOPTIONS="--client-min-messages=warning"
for db in run kube; do
    psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS ${DB_PREFIX}_$db WITH (FORCE)" >/dev/null
    psql "$DATABASE_URL" -qc "CREATE DATABASE ${DB_PREFIX}_$db" >/dev/null
done
# DATABASE_URL of a database as a container sees it: loopback becomes the host's.
container_db_url() {
    python3 - "$DATABASE_URL" "$1" "$HOST_FROM_CONTAINER" <<'PY'
import sys, urllib.parse as u
url, db, host = sys.argv[1:]
p = u.urlsplit(url)
netloc = p.netloc
if p.hostname in ("127.0.0.1", "localhost", "::1"):
    netloc = netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""
    netloc += host + (f":{p.port}" if p.port else "")
print(u.urlunsplit((p.scheme, netloc, "/" + db, p.query, p.fragment)))
PY
}
# The values of a release named $1 on port $2 with database $3, its SII simulator at URL
# $4: the chart's defaults (persistence on a claim, migration hook, json logs) plus what
# this machine needs; more values (YAML) on stdin.
write_values() {
    cat >"$WORK/$1-values.yaml" <<YAML
fullnameOverride: dte-$1
image:
  repository: ${IMAGE%:*}
  tag: ${IMAGE##*:}
  pullPolicy: Never
replicaCount: 1
strategy:
  type: Recreate
containerPort: $2
persistence:
  accessModes: [ReadWriteOnce]
  size: 1Gi
secrets:
  databaseUrl: $(container_db_url "$3")
  apiKeys:
    odoo: $API_KEY
  masterKey: $(openssl rand -hex 32)
config:
  server:
    shutdown_timeout_secs: 20
  log:
    format: json
  sii:
    environment: simulator
    simulator_url: $4
    extra_caf_keys:
      - idk: 100
        path: /etc/dte-sidecar/sii-test-keys/FAKE-SII-IDK100-public.pem
  jobs:
    first_poll_secs: 2
extraVolumes:
  - name: sii-test-keys
    hostPath:
      path: $ROOT/tests/fixtures/keys/FAKE-SII-IDK100-public.pem
      type: File
extraVolumeMounts:
  - name: sii-test-keys
    mountPath: /etc/dte-sidecar/sii-test-keys/FAKE-SII-IDK100-public.pem
    readOnly: true
YAML
    cat >>"$WORK/$1-values.yaml"
    "$HELM_PY" "$ROOT/scripts/podman_from_chart.py" render "$WORK/$1-values.yaml" "$WORK/$1" "$NETWORK" \
        || fail "rendering the chart with $1-values.yaml failed"
}
write_values run "$RUN_PORT" "${DB_PREFIX}_run" "http://$HOST_FROM_CONTAINER:$SIM_PORT" </dev/null
# Under kube play the chart's own simulator Deployment runs too, and the server uses it.
# (It issues no CAFs here: its key pair comes in a Secret volume, which podman 4.3
# cannot mount.)
write_values kube "$KUBE_PORT" "${DB_PREFIX}_kube" "http://$HOST_FROM_CONTAINER:$KUBE_SIM_PORT" <<YAML
siiSimulator:
  enabled: true
  port: $KUBE_SIM_PORT
  adminPort: $KUBE_SIM_ADMIN_PORT
YAML
passed "chart rendered for podman run (port $RUN_PORT) and kube play (port $KUBE_PORT)"

# The SII simulator on the host, from the same binary, issuing CAFs with the fake SII key.
cat >"$WORK/sim.toml" <<TOML
[sii]
schemas_dir = "$ROOT/schemas/sii"
extra_caf_keys = [{ idk = 100, path = "$ROOT/tests/fixtures/keys/FAKE-SII-IDK100-public.pem" }]
[simulator]
bind = "0.0.0.0:$SIM_PORT"
admin_bind = "127.0.0.1:$SIM_ADMIN_PORT"
processing_delay_secs = 1
caf_signing_key = "$ROOT/tests/fixtures/keys/FAKE-SII-IDK100-private.pem"
TOML
DTE_CONFIG="$WORK/sim.toml" "$BIN" sii-sim >"$WORK/sim.log" 2>&1 &
sim_pid=$!
SIM_ADMIN="http://127.0.0.1:$SIM_ADMIN_PORT"
wait_for 30 http_ok "$SIM_ADMIN/healthz" || { tail -20 "$WORK/sim.log"; fail "the SII simulator did not start"; }

# ------------------------------------------------------------------ 3. podman run
t_run=$(date +%s)
mapfile -d '' -t migrate_args <"$WORK/run/run/migrate.args"
mapfile -d '' -t serve_args <"$WORK/run/run/serve.args"
podman volume rm -f dte-run-backup >/dev/null 2>&1 || true
podman volume create dte-run-backup >/dev/null
podman run --name dte-run-migrate "${migrate_args[@]}" >"$WORK/run-migrate.log" 2>&1 \
    || { tail -20 "$WORK/run-migrate.log"; fail "migrate in the image failed"; }
grep -q '"database migrated"' "$WORK/run-migrate.log" || fail "migrate did not say it migrated"
passed "podman run: migrate exited 0 (as the hook Job runs it: user 10001, read-only root)"

podman run -d --name dte-run-serve "${serve_args[@]}" >/dev/null
RUN_URL="http://127.0.0.1:$RUN_PORT"
wait_for 60 http_ok "$RUN_URL/readyz" || fail "/readyz did not answer 200 within 60 s"
passed "podman run: serve up, /readyz 200 after $(elapsed "$t_run") s"

[ "$(podman exec dte-run-serve id -u)" = 10001 ] || fail "serve does not run as 10001"
if podman exec dte-run-serve sh -c 'touch /app/x || touch /x' 2>/dev/null; then fail "the root filesystem is writable"; fi
passed "podman run: serve runs as uid 10001 on a read-only root filesystem"

# JSON-RPC calls as the README shows them.
rpc() { # model/method JSON -> the answer; fails unless HTTP 200
    local out code
    out=$(curl -s --max-time 60 -w '\n%{http_code}' "$RPC_URL/json/2/$1" -H "Authorization: bearer $API_KEY" \
        -H 'Content-Type: application/json' -d "$2")
    code=${out##*$'\n'}
    [ "$code" = 200 ] || { echo "$1: HTTP $code: ${out%$'\n'*}" >&2; return 1; }
    printf '%s' "${out%$'\n'*}"
}
json_get() { python3 -c 'import json,sys; v=json.loads(sys.stdin.read()); [v:=v[int(k) if isinstance(v, list) else k] for k in sys.argv[1:]]; print(v)' "$@"; }
send_doc() { # move_id -> action_send_to_sii's answer
    python3 - "$1" <<'PY' | rpc account.move/action_send_to_sii @-
import datetime, json, sys
doc = json.load(open("docs/dte-json/33.json"))
doc["issue_date"] = datetime.date.today().isoformat()
print(json.dumps({"move_id": int(sys.argv[1]), "company_id": 1, "document": doc}))
PY
}
RPC_URL=$RUN_URL
rpc dte.company/register '{"company_id":1,"rut":"76000001-9","name":"Empresa Demo SpA","resolution_number":0,"resolution_date":"2026-01-02"}' >/dev/null \
    || fail "register failed"
rpc dte.company/set_certificate "{\"company_id\":1,\"password\":\"1234\",\"pkcs12\":\"$(base64 -w0 tests/fixtures/keys/signer-11111111-1.p12)\"}" >/dev/null \
    || fail "set_certificate failed"
curl -sf --max-time 30 "$SIM_ADMIN/caf" -H 'Content-Type: application/json' -o "$WORK/caf33.xml" \
    -d "{\"rut\":\"76000001-9\",\"name\":\"EMPRESA DEMO SPA\",\"dte_type\":33,\"folio_from\":1,\"folio_to\":50,\"authorized_on\":\"$(date +%F)\"}" \
    || fail "the simulator issued no CAF"
python3 -c 'import json,sys; print(json.dumps({"company_id": 1, "caf_xml": open(sys.argv[1], encoding="latin-1").read()}))' "$WORK/caf33.xml" \
    | rpc dte.caf/load @- >/dev/null || fail "loading the CAF failed"
sent=$(send_doc 1001) || fail "action_send_to_sii failed"
[ "$(json_get state <<<"$sent")" = sent ] || fail "the invoice was not received by the SII: $sent"
folio=$(json_get folio <<<"$sent")
accepted() { [ "$(rpc account.move/get_dte_status '{"move_ids":[1001]}' | json_get 0 state)" = accepted ]; }
wait_for 60 accepted || fail "no accepted verdict within 60 s: $(rpc account.move/get_dte_status '{"move_ids":[1001]}')"
passed "podman run: invoice 33 folio $folio sent (track id $(json_get track_id <<<"$sent")) and accepted by the SII"
podman exec dte-run-serve sh -c "test -s /var/lib/dte-sidecar/backups/1/33/$folio.xml" \
    || fail "no second copy of folio $folio on the backup volume"
passed "podman run: the second copy is on the backup claim (/var/lib/dte-sidecar/backups/1/33/$folio.xml)"

# SIGTERM while an upload is in flight: the request completes, the server exits 0 in time.
curl -sf -X PUT "$SIM_ADMIN/faults" -H 'Content-Type: application/json' -d '{"latency_ms":3000,"only":["upload"]}' >/dev/null
(send_doc 1002 >"$WORK/inflight.json" 2>"$WORK/inflight.err"; echo $? >"$WORK/inflight.rc") &
inflight=$!
sending() { [ "$(psql "${DATABASE_URL%/*}/${DB_PREFIX}_run" -Atqc "SELECT state FROM dte_sidecar.dte_document WHERE move_id = 1002")" = sending ]; }
wait_for 30 sending || fail "the second invoice never reached the upload"
grace=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containers"]["serve"]["grace"])' "$WORK/run/expect.json")
t0=$(date +%s.%N)
podman stop -t "$grace" dte-run-serve >/dev/null
stop_secs=$(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))")
wait "$inflight" || true
curl -sf -X PUT "$SIM_ADMIN/faults" -H 'Content-Type: application/json' -d '{}' >/dev/null
exit_code=$(podman inspect --format '{{.State.ExitCode}}' dte-run-serve)
[ "$exit_code" = 0 ] || fail "serve exited $exit_code after SIGTERM (137: killed at the end of the grace period)"
[ "$(cat "$WORK/inflight.rc")" = 0 ] || fail "the in-flight send failed during shutdown: $(cat "$WORK/inflight.err")"
[ "$(json_get state <"$WORK/inflight.json")" = sent ] || fail "the in-flight send did not complete: $(cat "$WORK/inflight.json")"
passed "podman run: SIGTERM with an upload in flight: it completed (state sent), serve exited 0 in $stop_secs s (grace $grace s)"
podman rm dte-run-serve dte-run-migrate >/dev/null
RUN_SECS=$(elapsed "$t_run")

# ------------------------------------------------------------------- 4. kube play
t_kube=$(date +%s)
K="$WORK/kube"
expect() { # a value of expect.json by its keys: strings as they are, the rest as JSON
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v:=v[k] for k in sys.argv[2:]]; sys.stdout.write(v if isinstance(v, str) else json.dumps(v) + "\n")' "$K/expect.json" "$@"
}
podman volume rm -f dte-kube-backup dte-kube dte-kube-migrate dte-kube-sii-sim >/dev/null 2>&1 || true
for s in "$K"/kube/secret-*.json; do
    name=${s##*/secret-}
    podman secret create "${name%.json}" "$s" >/dev/null
done
podman kube play --network "$NETWORK" "$K/kube/migrate.yaml" >"$WORK/kube-migrate.out" 2>&1 \
    || { cat "$WORK/kube-migrate.out"; fail "kube play of the migration pod failed"; }
mc=$(expect migrate_container)
code=$(timeout 120 podman wait "$mc") || fail "the migration pod did not finish within 120 s"
[ "$code" = 0 ] || { podman logs "$mc" | tail -20; fail "the migration pod exited $code"; }
podman logs "$mc" 2>&1 | grep -q '"database migrated"' || fail "the migration pod did not say it migrated"
passed "kube play: the migration Job's pod ran \`migrate\` and exited 0"
podman kube down "$K/kube/migrate.yaml" >/dev/null 2>&1 || true

# The chart's SII simulator: its probes answer and it sees its rendered config.toml.
podman kube play --network "$NETWORK" "$K/kube/sim.yaml" >"$WORK/kube-sim.out" 2>&1 \
    || { cat "$WORK/kube-sim.out"; fail "kube play of the simulator's Deployment failed"; }
for probe in livenessProbe readinessProbe; do
    url="http://127.0.0.1:$(expect sim probes $probe port)$(expect sim probes $probe path)"
    wait_for 30 http_ok "$url" || fail "kube play: the simulator's $probe ($url) did not answer 200"
done
podman exec "$(expect sim container)" cat "$(expect sim config_path)" >"$WORK/seen-sim-config.toml"
expect sim config >"$WORK/want-sim-config.toml"
cmp -s "$WORK/seen-sim-config.toml" "$WORK/want-sim-config.toml" || fail "the simulator pod's config.toml is not the rendered one"
passed "kube play: the simulator's Deployment up, its liveness and readiness probes answer 200, it sees its rendered config.toml"

podman kube play --network "$NETWORK" "$K/kube/server.yaml" >"$WORK/kube-server.out" 2>&1 \
    || { cat "$WORK/kube-server.out"; fail "kube play of the Deployment failed"; }
sc=$(expect server_container)
# The probes as the kubelet runs them (podman 4.3 turns only the liveness probe into a
# healthcheck, one that runs curl inside the container and needs systemd timers).
startup_limit=$(( $(expect containers serve probes startupProbe period) * $(expect containers serve probes startupProbe failures) ))
for probe in startupProbe livenessProbe readinessProbe; do
    url="http://127.0.0.1:$(expect containers serve probes $probe port)$(expect containers serve probes $probe path)"
    wait_for "$startup_limit" http_ok "$url" || fail "kube play: the $probe ($url) did not answer 200"
done
passed "kube play: Deployment up; startup, liveness and readiness probes answer 200 after $(elapsed "$t_kube") s"

# What the pod sees is what the values asked for.
podman exec "$sc" cat "$(expect containers serve config_path)" >"$WORK/seen-config.toml"
expect containers serve config >"$WORK/want-config.toml"
cmp -s "$WORK/seen-config.toml" "$WORK/want-config.toml" || fail "the pod's config.toml is not the rendered ConfigMap's"
python3 - "$WORK/seen-config.toml" "$KUBE_PORT" "$KUBE_SIM_PORT" "$HOST_FROM_CONTAINER" <<'PY' || fail "the pod's config.toml is not what the values asked for"
import sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))
port, sim_port, host = sys.argv[2:]
want = {("server", "bind"): f"0.0.0.0:{port}", ("server", "shutdown_timeout_secs"): 20,
        ("log", "format"): "json", ("sii", "environment"): "simulator",
        ("sii", "simulator_url"): f"http://{host}:{sim_port}", ("jobs", "first_poll_secs"): 2,
        ("database", "migrate_on_start"): False, ("backup", "dir"): "/var/lib/dte-sidecar/backups"}
bad = [f"{s}.{k} = {cfg.get(s, {}).get(k)!r}, want {v!r}" for (s, k), v in want.items() if cfg.get(s, {}).get(k) != v]
if bad:
    sys.exit("\n".join(bad))
PY
python3 - "$K/expect.json" "$sc" <<'PY' || fail "the pod's environment is not the rendered one"
import json, subprocess, sys
want = json.load(open(sys.argv[1]))["containers"]["serve"]["env"]
bad = []
for name, value in want.items():
    seen = subprocess.run(["podman", "exec", sys.argv[2], "printenv", name], capture_output=True, text=True)
    if seen.returncode != 0 or seen.stdout.rstrip("\n") != value:
        bad.append(name)  # names only: the values are secrets
if bad:
    sys.exit("differ: " + ", ".join(bad))
print(f"   environment: {', '.join(sorted(want))}")
PY
[ "$(podman exec "$sc" id -u)" = "$(expect containers serve user)" ] || fail "the pod does not run as the chart's user"
if podman exec "$sc" sh -c 'touch /app/x || touch /x' 2>/dev/null; then fail "the pod's root filesystem is writable"; fi
podman exec "$sc" sh -c 'touch /tmp/probe /var/lib/dte-sidecar/backups/.probe && rm /tmp/probe /var/lib/dte-sidecar/backups/.probe' \
    || fail "the pod's /tmp or backup claim is not writable"
RPC_URL="http://127.0.0.1:$KUBE_PORT"
uid=$(curl -s --max-time 10 "$RPC_URL/jsonrpc" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"id\":1,\"params\":{\"service\":\"common\",\"method\":\"login\",\"args\":[\"odoo\",\"odoo\",\"$API_KEY\"]}}" | json_get result)
if [ "$uid" = False ] || [ -z "$uid" ]; then fail "the pod refuses the API key of the values' Secret"; fi
podman logs "$sc" >"$WORK/kube-server.log" 2>&1
python3 -c 'import json,sys; lines=[l for l in open(sys.argv[1]) if l.strip()]; [json.loads(l) for l in lines]; assert lines' "$WORK/kube-server.log" \
    || fail "the pod's logs are not JSON lines (config.log.format = json)"
passed "kube play: the pod sees the rendered config.toml and environment (API key, master key, database from the Secret), runs as $(expect containers serve user), read-only root, writable /tmp and claim, JSON logs"

grace=$(expect containers serve grace)
t0=$(date +%s.%N)
# (podman 4.3 complains on stderr that it has no systemd timer to remove for the healthcheck.)
podman pod stop -t "$grace" "$(expect server_pod)" >/dev/null 2>"$WORK/kube-stop.err" \
    || { cat "$WORK/kube-stop.err"; fail "podman pod stop failed"; }
stop_secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
code=$(podman inspect --format '{{.State.ExitCode}}' "$sc")
[ "$code" = 0 ] || fail "the pod's server exited $code on SIGTERM"
passed "kube play: SIGTERM to the pod: the server exited 0 in $stop_secs s (grace $grace s)"
podman kube down "$K/kube/server.yaml" >/dev/null 2>&1 || true
podman pod stop -t "$(expect sim grace)" "$(expect sim pod)" >/dev/null 2>"$WORK/kube-stop.err" \
    || { cat "$WORK/kube-stop.err"; fail "podman pod stop of the simulator failed"; }
code=$(podman inspect --format '{{.State.ExitCode}}' "$(expect sim container)")
[ "$code" = 0 ] || fail "the simulator pod exited $code on SIGTERM"
passed "kube play: SIGTERM to the simulator's pod: it exited 0"
podman kube down "$K/kube/sim.yaml" >/dev/null 2>&1 || true
KUBE_SECS=$(elapsed "$t_kube")
echo "     not run by podman kube play (schema-checked by scripts/check-helm.sh): $(expect not_run | tr -d '[]"')"

echo "test-image: image $IMAGE_MB MB built in $BUILD_SECS s (base image $BASE_SECS s); podman run $RUN_SECS s; kube play $KUBE_SECS s; total $(elapsed "$T_START") s"
echo "test-image: $checks passed, 0 failed"
