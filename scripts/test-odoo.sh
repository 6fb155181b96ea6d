#!/usr/bin/env bash
# Tests of the Odoo addon (odoo_addon/l10n_cl_dte_sidecar).
#
# 1. Always: the addon's RPC client and document JSON, in plain Python (no Odoo).
# 2. With an Odoo 19 CE tree (ODOO_PATH, or ../shared/odoo19 beside the checkout when it
#    is there): Chromium, wkhtmltopdf, poppler-utils and fonts-liberation (Debian packages,
#    installed when missing and we are root), a venv with Odoo's requirements plus websocket-client (cached
#    under .cache/), a fresh database with account + l10n_cl for a Chilean company, the SII
#    simulator and the sidecar on 127.0.0.1, the addon installed with its tests and tours
#    (`--test-enable --test-tags /l10n_cl_dte_sidecar`; a skipped tour or browser test is a
#    failure), a check of the job board in Chromium, then an uninstall that must leave
#    every row of the sidecar's data in place. The tours' screenshots go to a folder printed
#    at the end (under ODOO_CACHE).
#    Without an Odoo tree it says "SKIPPED: no Odoo 19 tree" and stops there.
#
# Environment (all optional except ODOO_PATH for step 2):
#   ODOO_PATH            Odoo 19 tree (has odoo-bin and requirements.txt); default
#                        ../shared/odoo19 beside the checkout when it exists
#   PGHOST/PGPORT        PostgreSQL (the host and port of DATABASE_URL when it is set, as
#                        scripts/test.sh does; else 127.0.0.1:5432); PG_SUPERUSER (postgres)
#                        creates the role
#   ODOO_DB_USER         role Odoo and the sidecar use (odoo; Odoo refuses "postgres")
#   ODOO_TEST_DB         database to create, dropped first (l10n_cl_dte_sidecar_test)
#   KEEP_DB=1            keep the database (and its rows) after the run
#   ODOO_TEST_TAGS       Odoo's --test-tags (/l10n_cl_dte_sidecar,/l10n_cl_dte_sidecar_api_example:
#                        all the tests of the addon and of the module that calls its API;
#                        /l10n_cl_dte_sidecar:TestDteTours: the tours only)
#   DTE_SIDECAR_BIN      sidecar binary (default: target/debug/dte-sidecar, brought up to
#                        date with `cargo build --bin dte-sidecar`: cheap after `cargo test`)
#   SIDECAR_PORT, SII_SIM_PORT, SII_SIM_ADMIN_PORT, ODOO_HTTP_PORT (18070, 18080, 18081, 18069)
#   SIDECAR_BOARD_PORT   the sidecar's job board (SIDECAR_PORT + 3)
#   ODOO_CACHE           where the venv, Odoo's data dir and the logs live (.cache/odoo)
#   ODOO_VENV            an existing venv with Odoo's requirements and websocket-client,
#                        used as it is (default: one made under ODOO_CACHE, keyed by
#                        requirements.txt)
#   The sidecar's second backup copies (backup.dir) go to a temporary directory, removed
#   at the end (kept with KEEP_DB=1).
#
# Exit status: 0 when every test that ran passed; non-zero otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDONS_DIR="$ROOT/odoo_addon"
CACHE="${ODOO_CACHE:-$ROOT/.cache/odoo}"
PYTHON="${PYTHON:-python3}"
status=0

say() { printf '\n== %s\n' "$*"; }
now() { date +%s; }

# --- 1. Plain Python tests of the client -------------------------------------------------
say "addon client tests (plain Python, no Odoo)"
client_py="$PYTHON"
if ! "$client_py" -c 'import requests' 2>/dev/null; then
    mkdir -p "$CACHE"
    [ -x "$CACHE/client-venv/bin/python" ] || "$PYTHON" -m venv "$CACHE/client-venv"
    "$CACHE/client-venv/bin/pip" install -q requests
    client_py="$CACHE/client-venv/bin/python"
fi
client_log="$(mktemp)"
if "$client_py" -m unittest discover -s "$ADDONS_DIR/tests" -t "$ADDONS_DIR/tests" -v >"$client_log" 2>&1; then
    client_rc=0
else
    client_rc=1
    status=1
fi
grep -E '(ok|FAIL|ERROR|skipped.*)$' "$client_log" | sed 's/^/  /' || true
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$client_log" | tail -1)
bad=$(grep -cE '^(FAIL|ERROR): ' "$client_log" || true)
if [ "$client_rc" -ne 0 ]; then
    sed -n '/^=\{20,\}/,$p' "$client_log"
fi
echo "addon-client: $(( ${ran:-0} - bad )) passed, $bad failed"
rm -f "$client_log"

# --- 2. Odoo ------------------------------------------------------------------------------
if [ -z "${ODOO_PATH:-}" ] && [ -x "$ROOT/../shared/odoo19/odoo-bin" ]; then
    ODOO_PATH="$ROOT/../shared/odoo19"
fi
if [ -z "${ODOO_PATH:-}" ]; then
    echo "SKIPPED: no Odoo 19 tree (neither ODOO_PATH nor $ROOT/../shared/odoo19): the addon's Odoo tests and tours did not run (see odoo_addon/README.md)"
    exit "$status"
fi
ODOO_PATH="$(cd "$ODOO_PATH" && pwd)"
[ -x "$ODOO_PATH/odoo-bin" ] || { echo "ODOO_PATH=$ODOO_PATH has no odoo-bin"; exit 2; }
grep -q "version_info = (19" "$ODOO_PATH/odoo/release.py" || { echo "ODOO_PATH is not Odoo 19"; exit 2; }

# scripts/test.sh hands over the PostgreSQL it started (DATABASE_URL, an admin URL).
if [ -z "${PGPORT:-}" ] && [[ "${DATABASE_URL:-}" =~ ^postgres(ql)?://([^@/]+@)?([^:/]+):([0-9]+)/ ]]; then
    PGHOST="${PGHOST:-${BASH_REMATCH[3]}}" PGPORT="${BASH_REMATCH[4]}"
fi
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"
# Odoo's tree stays read-only: its compiled Python goes to the cache.
export PYTHONPYCACHEPREFIX="$CACHE/pycache"
PG_SUPERUSER="${PG_SUPERUSER:-postgres}"
DB_USER="${ODOO_DB_USER:-odoo}"
DB="${ODOO_TEST_DB:-l10n_cl_dte_sidecar_test}"
SIDECAR_PORT="${SIDECAR_PORT:-18070}"
SII_SIM_PORT="${SII_SIM_PORT:-18080}"
SII_SIM_ADMIN_PORT="${SII_SIM_ADMIN_PORT:-18081}"
ODOO_HTTP_PORT="${ODOO_HTTP_PORT:-18069}"
RUN_DIR="$CACHE/run"
mkdir -p "$CACHE" "$RUN_DIR"
# The sidecar's second copy of every backup (backup.dir): a throwaway directory, never the
# default ./dte-backups under the working directory.
BACKUP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dte-sidecar-backups.XXXXXX")"

pids=()
stop_services() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_services
    if [ "${KEEP_DB:-0}" != 1 ] && [ -n "${ODOO_BIN_READY:-}" ]; then
        "$VENV/bin/python" "$ODOO_PATH/odoo-bin" db -c "$CONF" drop "$DB" >/dev/null 2>&1 || true
    fi
    if [ "${KEEP_DB:-0}" != 1 ]; then
        rm -rf "$BACKUP_DIR"
    fi
}
trap cleanup EXIT

odoo_t0=$(now)
# The browser the tours run in, wkhtmltopdf for printed reports and pdftoppm to look at them.
# The printed DTE's SII box and stamp legend are in Arial: Liberation Sans has its metrics
# (fontconfig maps arial to it); without it they would fall back to DejaVu Sans, wider.
say "system packages for Odoo's browser tests and reports"
browser_packages=(chromium fonts-dejavu-core fonts-liberation wkhtmltopdf poppler-utils)
missing=()
for pkg in "${browser_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]}"
        # Wait for another apt run on the machine rather than fail on its lock.
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages: ${missing[*]} (install them as root)"
        exit 2
    fi
fi
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "chromium is not on PATH"; exit 2; }
echo "$("$CHROMIUM" --version 2>/dev/null | head -1), $(wkhtmltopdf --version 2>/dev/null | head -1)"

# Odoo's Python requirements, in a venv keyed by the requirements file. websocket-client is
# what Odoo drives Chromium with; requirements.txt does not list it.
say "Odoo venv"
t0=$(now)
EXTRA_REQUIREMENTS="websocket-client"
req_hash=$( (cat "$ODOO_PATH/requirements.txt"; echo "$EXTRA_REQUIREMENTS"; "$PYTHON" --version) | sha256sum | cut -c1-12)
VENV="${ODOO_VENV:-$CACHE/venv-$req_hash}"
if [ -n "${ODOO_VENV:-}" ]; then
    [ -x "$VENV/bin/python" ] || { echo "ODOO_VENV=$VENV has no bin/python"; exit 2; }
    "$VENV/bin/python" -c "import websocket" 2>/dev/null \
        || { echo "ODOO_VENV=$VENV lacks websocket-client: Odoo would skip every browser test"; exit 2; }
elif [ ! -f "$VENV/.complete" ]; then
    if ! command -v pg_config >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q >/dev/null && apt-get install -y -q libpq-dev python3-dev build-essential >/dev/null
    fi
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    # python-ldap is left out: only auth_ldap uses it and it needs libldap2-dev libsasl2-dev.
    grep -v '^python-ldap' "$ODOO_PATH/requirements.txt" >"$VENV/requirements.txt"
    # cbor2 builds from source and needs setuptools<80.
    echo 'setuptools<80' >"$VENV/constraints.txt"
    PIP_CONSTRAINT="$VENV/constraints.txt" "$VENV/bin/pip" install -q --disable-pip-version-check \
        -r "$VENV/requirements.txt" $EXTRA_REQUIREMENTS
    touch "$VENV/.complete"
fi
echo "venv ready in $(( $(now) - t0 )) s: $VENV"
# The independent PDF417 reader the printed-DTE tests decode barcodes with (pinned), into
# whichever venv runs the tests; Pillow, which reads the images, comes with Odoo.
TEST_PACKAGES=("zxing-cpp==3.1.1")
if ! "$VENV/bin/python" -c 'import zxingcpp, PIL' 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check "${TEST_PACKAGES[@]}"
fi

# The database role (Odoo refuses to run as postgres).
psql -U "$PG_SUPERUSER" -d postgres -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'" | grep -q 1 \
    || psql -U "$PG_SUPERUSER" -d postgres -qc "CREATE ROLE \"$DB_USER\" LOGIN CREATEDB"

CONF="$RUN_DIR/odoo.conf"
cat >"$CONF" <<EOF
[options]
addons_path = $ODOO_PATH/addons,$ODOO_PATH/odoo/addons,$ADDONS_DIR
data_dir = $CACHE/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $DB_USER
http_interface = 127.0.0.1
http_port = $ODOO_HTTP_PORT
without_demo = True
EOF
ODOO=("$VENV/bin/python" "$ODOO_PATH/odoo-bin")
ODOO_BIN_READY=1

say "fresh database $DB (Chile, account + l10n_cl)"
t0=$(now)
"${ODOO[@]}" db -c "$CONF" drop "$DB" >/dev/null 2>&1 || true
"${ODOO[@]}" db -c "$CONF" init "$DB" --country CL --force >"$RUN_DIR/db-init.log" 2>&1 \
    || { tail -40 "$RUN_DIR/db-init.log"; exit 1; }
"${ODOO[@]}" -c "$CONF" -d "$DB" -i account,l10n_cl --stop-after-init >"$RUN_DIR/db-base.log" 2>&1 \
    || { tail -40 "$RUN_DIR/db-base.log"; exit 1; }
echo "database ready in $(( $(now) - t0 )) s"

# The sidecar and its SII simulator, on loopback.
say "sidecar"
# The debug binary: `cargo test` in scripts/test.sh has just built its crate, so this build
# is cheap, where a release build would compile everything again.
if [ -n "${DTE_SIDECAR_BIN:-}" ]; then
    SIDECAR="$DTE_SIDECAR_BIN"
    [ -x "$SIDECAR" ] || { echo "DTE_SIDECAR_BIN=$SIDECAR is not an executable"; exit 2; }
else
    SIDECAR="$ROOT/target/debug/dte-sidecar"
    (cd "$ROOT" && cargo build --locked --bin dte-sidecar)
fi
SIDECAR_BOARD_PORT="${SIDECAR_BOARD_PORT:-$((SIDECAR_PORT + 3))}"
BOARD_USER="ops"
BOARD_PASSWORD="board-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SHOT_DIR="$CACHE/screenshots/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$SHOT_DIR"
API_KEY="odoo-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
MASTER_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
SIDECAR_CONF="$RUN_DIR/dte-sidecar.toml"
# The addon's tests use CAF files signed by a fake "SII IDK 100" key: the simulator signs
# fresh ones with it, and this sidecar (only this test one) trusts it.
cat >"$SIDECAR_CONF" <<EOF
[server]
bind = "127.0.0.1:$SIDECAR_PORT"

[sii]
environment = "simulator"
simulator_url = "http://127.0.0.1:$SII_SIM_PORT"
schemas_dir = "$ROOT/schemas/sii"

[[sii.extra_caf_keys]]
idk = 100
path = "$ADDONS_DIR/l10n_cl_dte_sidecar/tests/data/FAKE-SII-IDK100-public.pem"

[simulator]
bind = "127.0.0.1:$SII_SIM_PORT"
admin_bind = "127.0.0.1:$SII_SIM_ADMIN_PORT"
caf_signing_key = "$ADDONS_DIR/l10n_cl_dte_sidecar/tests/data/FAKE-SII-IDK100-private.pem"
# The SII's verdict one second after an upload, and the sidecar asks two seconds after it:
# the tours see an invoice accepted without waiting a business minute.
processing_delay_secs = 1

[jobs]
first_poll_secs = 2

[admin]
bind = "127.0.0.1:$SIDECAR_BOARD_PORT"
board_user = "$BOARD_USER"

[backup]
store = "dir"
dir = "$BACKUP_DIR"
EOF
export DTE_CONFIG="$SIDECAR_CONF"
export DATABASE_URL="postgres://$DB_USER@$PGHOST:$PGPORT/$DB"
export DTE__AUTH__API_KEYS__ODOO="$API_KEY"
export DTE__SECRETS__MASTER_KEY="$MASTER_KEY"
export DTE__ADMIN__BOARD_PASSWORD="$BOARD_PASSWORD"
cd "$ROOT"
NO_COLOR=1 "$SIDECAR" migrate >"$RUN_DIR/sidecar-migrate.log" 2>&1 || { cat "$RUN_DIR/sidecar-migrate.log"; exit 1; }
# NO_COLOR: plain text in the log files.
NO_COLOR=1 "$SIDECAR" sii-sim >"$RUN_DIR/sii-sim.log" 2>&1 &
pids+=("$!")
NO_COLOR=1 "$SIDECAR" serve >"$RUN_DIR/sidecar.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$SIDECAR_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$SIDECAR_PORT/healthz" >/dev/null \
    || { echo "the sidecar does not answer"; tail -40 "$RUN_DIR/sidecar.log"; exit 1; }
for _ in $(seq 1 20); do
    curl -fsS "http://127.0.0.1:$SII_SIM_ADMIN_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
echo "sidecar on 127.0.0.1:$SIDECAR_PORT, SII simulator on 127.0.0.1:$SII_SIM_PORT (admin $SII_SIM_ADMIN_PORT)"

# Install the addon and run its tests, with l10n_cl_dte_sidecar_api_example beside it: a
# module that calls the addon's API as any other module would.
say "install l10n_cl_dte_sidecar (and l10n_cl_dte_sidecar_api_example) and run their tests"
t0=$(now)
test_log="$RUN_DIR/odoo-test.log"
set +e
DTE_SIDECAR_URL="http://127.0.0.1:$SIDECAR_PORT" DTE_SIDECAR_API_KEY="$API_KEY" \
DTE_SII_SIM_ADMIN_URL="http://127.0.0.1:$SII_SIM_ADMIN_PORT" DTE_SCREENSHOT_DIR="$SHOT_DIR" \
    "${ODOO[@]}" -c "$CONF" -d "$DB" -i l10n_cl_dte_sidecar,l10n_cl_dte_sidecar_api_example --test-enable \
    --test-tags "${ODOO_TEST_TAGS:-/l10n_cl_dte_sidecar,/l10n_cl_dte_sidecar_api_example}" --screenshots "$SHOT_DIR/failures" --stop-after-init >"$test_log" 2>&1
odoo_rc=$?
set -e
echo "odoo-bin exited $odoo_rc after $(( $(now) - t0 )) s (log: $test_log)"
grep -E ": Starting [A-Za-z0-9_]+\.test|skipped |: (FAIL|ERROR): " "$test_log" | sed -E 's/^.* (odoo\.addons\.|odoo\.tests\.)/  /' || true
result_line=$(grep -E "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$test_log" | tail -1 || true)
if [ -z "$result_line" ]; then
    echo "no test result line from Odoo"
    tail -60 "$test_log"
    status=1
else
    read -r failed errors total < <(echo "$result_line" \
        | sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')
    skipped=$(grep -c "skipped setUpClass\|: skipped \|odoo\.tests\.result: skipped " "$test_log" || true)
    # Odoo skips a browser test (and still says "0 failed") when Chromium or websocket-client
    # is missing or Chromium does not start: here that is a failure.
    browser_skips=$(grep -cE "websocket-client module is not installed|Chrome executable not found|Failed to detect chrome devtools port|Error during Chrome headless connection|skipped .*(TestDteTours|[Tt]our)" "$test_log" || true)
    tours_run=$(grep -cE "odoo\.addons\.l10n_cl_dte_sidecar\.tests\.test_tours\..*Open \".*\" in browser" "$test_log" || true)
    tours_ok=$(grep -cE "odoo\.addons\.l10n_cl_dte_sidecar\.tests\.test_tours\..*browser: tour succeeded" "$test_log" || true)
    echo "$result_line" | sed -E 's/^.* (odoo\.tests\.result: )/  /'
    echo "odoo: $(( total - failed - errors )) passed, $(( failed + errors )) failed, $skipped skipped (tours: $tours_run run, $tours_ok succeeded)"
    if [ "$browser_skips" != 0 ] || [ "$tours_run" = 0 ] || [ "$tours_ok" != "$tours_run" ]; then
        echo "  tours or browser tests were skipped or did not succeed ($browser_skips browser skips):"
        grep -E "websocket-client module|Chrome executable|chrome devtools port|Chrome headless connection|skipped " "$test_log" | head -10 | sed 's/^/    /' || true
        status=1
    fi
    if [ "$failed" != 0 ] || [ "$errors" != 0 ]; then
        status=1
        echo "  (sidecar log: $RUN_DIR/sidecar.log, SII simulator log: $RUN_DIR/sii-sim.log)"
    fi
fi
[ "$odoo_rc" = 0 ] || status=1
# The install must log no warning and no error of its own.
problems=$(grep -E " (WARNING|ERROR|CRITICAL) " "$test_log" | grep -vE "odoo\.tests\.result|: (FAIL|ERROR): " || true)
if [ -n "$problems" ]; then
    echo "warnings or errors in the log:"
    echo "$problems" | head -40
    status=1
fi

# The job board (apalis-board) in Chromium, behind its basic authentication.
say "job board in a browser"
if "$VENV/bin/python" "$ROOT/scripts/check-board.py" --url "http://127.0.0.1:$SIDECAR_BOARD_PORT/" \
        --user "$BOARD_USER" --password-env DTE__ADMIN__BOARD_PASSWORD --chromium "$CHROMIUM" \
        --screenshot "$SHOT_DIR/job_board.png" >"$RUN_DIR/board.log" 2>&1; then
    sed 's/^/  /' "$RUN_DIR/board.log"
    echo "job-board: 1 passed, 0 failed"
else
    sed 's/^/  /' "$RUN_DIR/board.log"
    echo "job-board: 0 passed, 1 failed"
    status=1
fi

# Uninstall: Odoo drops its views, never the sidecar's rows. The sidecar is stopped first:
# its own jobs (cron ticks, status polls) would change the counts meanwhile.
say "uninstall leaves every row"
stop_services
count_rows() {
    psql -U "$DB_USER" -d "$DB" -qtA -c "
        SELECT string_agg(t.relname || '=' || (xpath('/row/n/text()',
               query_to_xml(format('SELECT count(*) AS n FROM dte_sidecar.%I', t.relname), false, true, '')))[1]::text,
               ' ' ORDER BY t.relname)
          FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'dte_sidecar' AND t.relkind = 'r' AND t.relname LIKE 'dte\_%'"
}
before=$(count_rows)
echo "before: $before"
"${ODOO[@]}" shell -c "$CONF" -d "$DB" --no-http >"$RUN_DIR/uninstall.log" 2>&1 <<'EOF'
module = env["ir.module.module"].search([("name", "=", "l10n_cl_dte_sidecar")])
module.button_immediate_uninstall()
env.cr.commit()
EOF
after=$(count_rows)
echo "after:  $after"
state=$(psql -U "$DB_USER" -d "$DB" -qtAc "SELECT state FROM ir_module_module WHERE name = 'l10n_cl_dte_sidecar'")
views_left=$(psql -U "$DB_USER" -d "$DB" -qtAc "SELECT count(*) FROM pg_views WHERE schemaname = current_schema() AND viewname LIKE 'dte\_%'")
nonzero=$(echo "$before" | tr ' ' '\n' | grep -cv '=0$' || true)
if [ "$state" = uninstalled ] && [ -n "$before" ] && [ "$before" = "$after" ] && [ "$nonzero" -gt 0 ]; then
    echo "uninstall: 1 passed, 0 failed (module $state, $views_left views left in Odoo's schema, rows unchanged)"
else
    echo "uninstall: 0 passed, 1 failed (module '$state', rows before [$before] after [$after])"
    grep -E "ERROR|Traceback" -A10 "$RUN_DIR/uninstall.log" | head -40 || true
    status=1
fi

echo "screenshots: $SHOT_DIR ($(find "$SHOT_DIR" -name '*.png' | wc -l) PNG files)"
echo "odoo part took $(( $(now) - odoo_t0 )) s"
exit "$status"
