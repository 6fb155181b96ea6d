#!/usr/bin/env bash
# Odoo RPC clients from PyPI against the real sidecar (tests/clients/): odoo-client-lib
# (jsonrpc and json2), OdooRPC (jsonrpc) and Odooly (jsonrpc and json2), pinned in
# tests/clients/requirements.txt and installed in a venv of their own under .cache/.
# A database of its own, the SII simulator and the sidecar on loopback; all removed at the end.
#
# Environment (all optional):
#   DATABASE_URL         a role that may create databases (postgres://postgres@127.0.0.1:5432/postgres)
#   DTE_SIDECAR_BIN      the sidecar binary (target/debug/dte-sidecar, built if missing)
#   CLIENTS_DB           the database to create, dropped first (dte_clients_<pid>)
#   CLIENTS_SIDECAR_PORT, CLIENTS_SII_SIM_PORT, CLIENTS_SII_SIM_ADMIN_PORT (18170, 18180, 18181)
#   CLIENTS_CACHE        where the venv and the logs live (.cache/rpc-clients)
#
# Prints "rpc-clients: N passed, N failed"; exits non-zero when a test failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CLIENTS_CACHE:-$ROOT/.cache/rpc-clients}"
PYTHON="${PYTHON:-python3}"
ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="${CLIENTS_DB:-dte_clients_$$}"
SIDECAR_PORT="${CLIENTS_SIDECAR_PORT:-18170}"
SII_SIM_PORT="${CLIENTS_SII_SIM_PORT:-18180}"
SII_SIM_ADMIN_PORT="${CLIENTS_SII_SIM_ADMIN_PORT:-18181}"
SIDECAR="${DTE_SIDECAR_BIN:-$ROOT/target/debug/dte-sidecar}"
RUN_DIR="$CACHE/run"
mkdir -p "$CACHE" "$RUN_DIR"

# The pinned clients, in a venv keyed by the requirements and the Python version.
req="$ROOT/tests/clients/requirements.txt"
req_hash=$( (cat "$req"; "$PYTHON" --version) | sha256sum | cut -c1-12)
VENV="$CACHE/venv-$req_hash"
if [ ! -f "$VENV/.complete" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$req"
    touch "$VENV/.complete"
fi

if [ ! -x "$SIDECAR" ]; then
    (cd "$ROOT" && cargo build --bin dte-sidecar)
fi

# The database: named in the admin URL's place.
base="${ADMIN_URL%%\?*}"
query=""
[ "$base" != "$ADMIN_URL" ] && query="?${ADMIN_URL#*\?}"
DB_URL="${base%/*}/$DB$query"
BACKUP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dte-clients-backups.XXXXXX")"
quiet_psql() { PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN_URL" -qc "$1" >/dev/null; }
quiet_psql "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
quiet_psql "CREATE DATABASE $DB"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    quiet_psql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
    rm -rf "$BACKUP_DIR"
}
trap cleanup EXIT

KEY="clients-odoo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
OTHER_KEY="clients-ops-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
KEYS_DIR="$ROOT/tests/fixtures/keys"
CONF="$RUN_DIR/dte-sidecar.toml"
# CAFs come from the simulator, signed by a fake "SII IDK 100" key this sidecar trusts.
cat >"$CONF" <<EOF
[server]
bind = "127.0.0.1:$SIDECAR_PORT"

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
dir = "$BACKUP_DIR"
EOF
export DTE_CONFIG="$CONF" DATABASE_URL="$DB_URL"
export DTE__AUTH__API_KEYS__ODOO="$KEY" DTE__AUTH__API_KEYS__OPS="$OTHER_KEY"
export DTE__SECRETS__MASTER_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
cd "$ROOT"
NO_COLOR=1 "$SIDECAR" migrate >"$RUN_DIR/sidecar-migrate.log" 2>&1 || { cat "$RUN_DIR/sidecar-migrate.log"; exit 1; }
NO_COLOR=1 "$SIDECAR" sii-sim >"$RUN_DIR/sii-sim.log" 2>&1 &
pids+=("$!")
NO_COLOR=1 "$SIDECAR" serve >"$RUN_DIR/sidecar.log" 2>&1 &
pids+=("$!")
for url in "http://127.0.0.1:$SIDECAR_PORT/healthz" "http://127.0.0.1:$SII_SIM_ADMIN_PORT/healthz"; do
    for _ in $(seq 1 120); do
        curl -fsS "$url" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS "$url" >/dev/null || { echo "no answer from $url"; tail -40 "$RUN_DIR"/*.log; exit 1; }
done

log="$RUN_DIR/test.log"
set +e
DTE_HOST=127.0.0.1 DTE_PORT="$SIDECAR_PORT" DTE_KEY="$KEY" DTE_OTHER_KEY="$OTHER_KEY" \
DTE_SIM_ADMIN_URL="http://127.0.0.1:$SII_SIM_ADMIN_PORT" DTE_REPO="$ROOT" \
    "$VENV/bin/python" -m unittest discover -s "$ROOT/tests/clients" -t "$ROOT/tests/clients" -v >"$log" 2>&1
rc=$?
set -e
"$VENV/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -iE '^(odoo-client-lib|odoorpc|odooly) ' \
    | sed 's/^/  client: /'
grep -E ' \.\.\. (ok|FAIL|ERROR|skipped.*)$' "$log" | sed 's/^/  /' || true
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -1)
bad=$(grep -cE '^(FAIL|ERROR): ' "$log" || true)
if [ "$rc" -ne 0 ]; then
    sed -n '/^=\{20,\}/,$p' "$log"
    echo "  (sidecar log: $RUN_DIR/sidecar.log)"
fi
if [ -z "$ran" ] || [ "$ran" = 0 ]; then
    echo "rpc-clients: no test ran"
    tail -30 "$log"
    exit 1
fi
echo "rpc-clients: $(( ran - bad )) passed, $bad failed"
exit "$rc"
