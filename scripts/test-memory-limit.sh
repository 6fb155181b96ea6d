#!/usr/bin/env bash
# The hostile-input suite over real HTTP against the real binary held to a memory limit,
# as the Helm chart's 512Mi imposes one (scripts/hostile_memory.py): every hostile request
# gets an Odoo-shaped error on both doors, the process never dies, /readyz answers 200 to
# another client throughout, and the cgroup's peak memory stays under the limit.
#
# The limit is a memory cgroup made for the run (v1: memory.limit_in_bytes, under the
# cgroup this script runs in; v2: memory.max), so it needs root; otherwise it prints
# "SKIPPED" and exits 0. A database of its own, the SII simulator and the sidecar on
# loopback; all removed at the end.
#
# Environment (all optional):
#   DATABASE_URL         a role that may create databases (postgres://postgres@127.0.0.1:5432/postgres)
#   DTE_SIDECAR_BIN      the sidecar binary (target/debug/dte-sidecar, built if missing)
#   MEMLIMIT_MB          the limit (512)
#   MEMLIMIT_DB          the database to create, dropped first (dte_memlimit_<pid>)
#   MEMLIMIT_SIDECAR_PORT, MEMLIMIT_SII_SIM_PORT, MEMLIMIT_SII_SIM_ADMIN_PORT (18370, 18380, 18381)
#
# Prints "memory-limit: N passed, N failed"; exits non-zero when a check failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" != 0 ]; then
    echo "memory-limit: SKIPPED: a memory cgroup needs root"
    exit 0
fi
ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="${MEMLIMIT_DB:-dte_memlimit_$$}"
LIMIT_MB="${MEMLIMIT_MB:-512}"
SIDECAR_PORT="${MEMLIMIT_SIDECAR_PORT:-18370}"
SII_SIM_PORT="${MEMLIMIT_SII_SIM_PORT:-18380}"
SII_SIM_ADMIN_PORT="${MEMLIMIT_SII_SIM_ADMIN_PORT:-18381}"
SIDECAR="${DTE_SIDECAR_BIN:-$ROOT/target/debug/dte-sidecar}"
limit_bytes=$((LIMIT_MB * 1024 * 1024))

if [ ! -x "$SIDECAR" ]; then
    (cd "$ROOT" && cargo build --locked --bin dte-sidecar)
fi

# A memory cgroup for the sidecar alone. Under cgroup v1 it is a child of the cgroup this
# script runs in, so whatever limits and accounting hold this script hold it too.
CGROUP=""
CGROUP_VERSION=""
v1_path=$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/self/cgroup | head -n 1)
if [ -n "$v1_path" ] && [ -d "/sys/fs/cgroup/memory$v1_path" ]; then
    CGROUP="/sys/fs/cgroup/memory${v1_path%/}/dte-memlimit-$$"
    mkdir "$CGROUP"
    echo "$limit_bytes" >"$CGROUP/memory.limit_in_bytes"
    # No swapping around the limit where swap is accounted.
    echo "$limit_bytes" >"$CGROUP/memory.memsw.limit_in_bytes" 2>/dev/null || true
    CGROUP_VERSION=1
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    # v2: a process may only sit in a leaf, and the parent must delegate the memory
    # controller; the root cgroup always can.
    v2_path=$(sed -n 's/^0::\(.*\)$/\1/p' /proc/self/cgroup | head -n 1)
    parent="/sys/fs/cgroup${v2_path%/}"
    if ! grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null \
        && ! echo +memory >"$parent/cgroup.subtree_control" 2>/dev/null; then
        parent=/sys/fs/cgroup
        grep -qw memory "$parent/cgroup.subtree_control" || echo +memory >"$parent/cgroup.subtree_control"
    fi
    CGROUP="$parent/dte-memlimit-$$"
    mkdir "$CGROUP"
    echo "$limit_bytes" >"$CGROUP/memory.max"
    echo 0 >"$CGROUP/memory.swap.max" 2>/dev/null || true
    CGROUP_VERSION=2
else
    echo "memory-limit: no memory cgroup controller on this machine (neither cgroup v1 nor v2)" >&2
    exit 1
fi

base="${ADMIN_URL%%\?*}"
query=""
[ "$base" != "$ADMIN_URL" ] && query="?${ADMIN_URL#*\?}"
DB_URL="${base%/*}/$DB$query"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dte-memlimit.XXXXXX")"
quiet_psql() { PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN_URL" -qc "$1" >/dev/null; }
quiet_psql "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
quiet_psql "CREATE DATABASE $DB"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rmdir "$CGROUP" 2>/dev/null || true
    quiet_psql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

KEY="memlimit-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
KEYS_DIR="$ROOT/tests/fixtures/keys"
CONF="$WORK/dte-sidecar.toml"
mkdir -p "$WORK/backups"
cat >"$CONF" <<EOF
[server]
bind = "127.0.0.1:$SIDECAR_PORT"

[limits]
body_timeout_secs = 2

[sii]
environment = "simulator"
simulator_url = "http://127.0.0.1:$SII_SIM_PORT"
schemas_dir = "$ROOT/schemas/sii"

[[sii.extra_caf_keys]]
idk = 100
path = "$KEYS_DIR/FAKE-SII-IDK100-public.pem"

[simulator]
bind = "127.0.0.1:$SII_SIM_PORT"
admin_bind = "127.0.0.1:$SII_SIM_ADMIN_PORT"
caf_signing_key = "$KEYS_DIR/FAKE-SII-IDK100-private.pem"

[backup]
store = "dir"
dir = "$WORK/backups"
EOF
export DTE_CONFIG="$CONF" DATABASE_URL="$DB_URL" DTE__AUTH__API_KEYS__ODOO="$KEY"
export DTE__SECRETS__MASTER_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
cd "$ROOT"
NO_COLOR=1 "$SIDECAR" migrate >"$WORK/sidecar-migrate.log" 2>&1 || { cat "$WORK/sidecar-migrate.log"; exit 1; }
NO_COLOR=1 "$SIDECAR" sii-sim >"$WORK/sii-sim.log" 2>&1 &
pids+=("$!")
# The sidecar enters the cgroup before it starts: every thread and allocation it makes counts.
NO_COLOR=1 sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP" "$SIDECAR" serve \
    >"$WORK/sidecar.log" 2>&1 &
sidecar_pid=$!
pids+=("$sidecar_pid")
for url in "http://127.0.0.1:$SIDECAR_PORT/readyz" "http://127.0.0.1:$SII_SIM_ADMIN_PORT/healthz"; do
    for _ in $(seq 1 120); do
        curl -fsS "$url" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS "$url" >/dev/null || { echo "no answer from $url"; tail -40 "$WORK"/*.log; exit 1; }
done
grep -qx "$sidecar_pid" "$CGROUP/cgroup.procs" || { echo "memory-limit: the sidecar is not in $CGROUP" >&2; exit 1; }
echo "memory-limit: dte-sidecar (pid $sidecar_pid) in $CGROUP (cgroup v$CGROUP_VERSION), limit $LIMIT_MB MiB"

set +e
DTE_BASE="http://127.0.0.1:$SIDECAR_PORT" DTE_KEY="$KEY" DTE_PID="$sidecar_pid" DTE_CGROUP="$CGROUP" \
DTE_CGROUP_VERSION="$CGROUP_VERSION" DTE_LIMIT_BYTES="$limit_bytes" DTE_REPO="$ROOT" DTE_WORK="$WORK" \
    python3 "$ROOT/scripts/hostile_memory.py"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "--- the sidecar's log (last 40 lines)"
    tail -40 "$WORK/sidecar.log"
fi
exit "$rc"
