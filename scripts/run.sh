#!/usr/bin/env bash
# Runs the sidecar on this machine: installs missing system packages, starts a
# PostgreSQL of the project's own under .local/ unless DATABASE_URL is given, migrates
# and serves JSON-RPC on http://127.0.0.1:8070 (settings: config/dte-sidecar.example.toml).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_system_packages
if [ -z "${DATABASE_URL:-}" ]; then
    ensure_database
    ensure_service_database dte_sidecar
fi
mkdir -p "$LOCAL"
if [ -z "${DTE__AUTH__API_KEYS__ODOO:-}" ]; then
    if [ ! -s "$LOCAL/api_key" ]; then
        (umask 077; openssl rand -hex 24 > "$LOCAL/api_key")
    fi
    DTE__AUTH__API_KEYS__ODOO="$(cat "$LOCAL/api_key")"
    export DTE__AUTH__API_KEYS__ODOO
    log "API key for the client 'odoo' is in .local/api_key"
fi
cargo build --release --quiet
exec "$ROOT/target/release/dte-sidecar" serve "$@"
