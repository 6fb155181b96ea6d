#!/usr/bin/env bash
# Runs every test: installs missing system packages, starts a PostgreSQL of the
# project's own under .local/ unless DATABASE_URL is given (a role that may create
# databases: each test gets its own), then the schema drift check, formatting and lints
# (clippy; ruff and pylint-odoo on the addon), the Rust suite, the fault drills (every mode
# of scripts/drill.py, each with its own PostgreSQL), a short run of each fuzz
# target, the hostile-input suite against the binary held to a memory limit,
# the Odoo RPC clients from PyPI against the debug binary, the addon's client tests, the
# Helm chart checks, the image built and run with podman (scripts/test-image.sh, from the
# debug binary `cargo test` builds), and the Odoo tests and tours (on ODOO_PATH, or
# ../shared/odoo19 when it is there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_system_packages
ensure_database
log "schema drift check"
scripts/schema.sh --check
if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
log "formatting and lints"
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
log "Odoo addon lints (scripts/lint-odoo.sh)"
scripts/lint-odoo.sh
log "cargo test"
cargo test --lib --bins --tests --locked
log "fault drills (scripts/test-drills.sh)"
DTE_SIDECAR_BIN="$ROOT/target/debug/dte-sidecar" scripts/test-drills.sh
log "fuzzing (scripts/test-fuzz.sh)"
scripts/test-fuzz.sh
log "hostile input under a memory limit (scripts/test-memory-limit.sh)"
DTE_SIDECAR_BIN="$ROOT/target/debug/dte-sidecar" scripts/test-memory-limit.sh
log "Odoo RPC clients (scripts/test-clients.sh)"
DTE_SIDECAR_BIN="$ROOT/target/debug/dte-sidecar" scripts/test-clients.sh
for extra in scripts/check-helm.sh scripts/test-image.sh scripts/test-odoo.sh; do
    if [ -x "$extra" ]; then
        log "$extra"
        "$extra"
    fi
done
log "all tests passed"
