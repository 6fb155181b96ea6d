#!/usr/bin/env bash
# Runs the sidecar on this machine with the SII simulator as its SII: installs missing
# system packages, starts a PostgreSQL of the project's own under .local/ unless
# DATABASE_URL is given, migrates, starts `sii-sim` (127.0.0.1:8071, admin on 8072) and
# serves JSON-RPC on http://127.0.0.1:8070. Extra settings: DTE_CONFIG or DTE__… variables.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_system_packages
if [ -z "${DATABASE_URL:-}" ]; then
    ensure_database
    ensure_service_database dte_sidecar
fi
mkdir -p "$LOCAL"
secret() { # a random secret kept under .local/ across runs
    [ -s "$LOCAL/$1" ] || (umask 077; openssl rand -hex "$2" > "$LOCAL/$1")
    cat "$LOCAL/$1"
}
export DTE__AUTH__API_KEYS__ODOO="${DTE__AUTH__API_KEYS__ODOO:-$(secret api_key 24)}"
export DTE__SECRETS__MASTER_KEY="${DTE__SECRETS__MASTER_KEY:-$(secret master_key 32)}"
log "API key of the client 'odoo': .local/api_key"
# The simulated SII issues CAFs signed with the fake SII key, which this sidecar trusts.
local_config="$LOCAL/run.toml"
cat > "$local_config" <<TOML
[sii]
extra_caf_keys = [{ idk = 100, path = "$ROOT/tests/fixtures/keys/FAKE-SII-IDK100-public.pem" }]
[simulator]
caf_signing_key = "$ROOT/tests/fixtures/keys/FAKE-SII-IDK100-private.pem"
[backup]
dir = "$LOCAL/backups"
TOML
export DTE_CONFIG="${DTE_CONFIG:-$local_config}"
cargo build --release --quiet
"$ROOT/target/release/dte-sidecar" sii-sim &
simulator=$!
trap 'kill $simulator 2>/dev/null || true' EXIT
"$ROOT/target/release/dte-sidecar" serve "$@"
