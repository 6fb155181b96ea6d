#!/usr/bin/env bash
# Regenerates src/store/schema.rs from the migrations (`--check`: fail when it differs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_diesel_cli
ensure_database
admin="$DATABASE_URL"
db="dte_schema_$$"
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
url="${admin%/*}/$db"
psql "$url" -qc "CREATE SCHEMA dte_sidecar" >/dev/null
out=$(mktemp)
# Apply the migrations without letting diesel touch schema.rs; print it separately.
plain=$(mktemp)
printf '[migrations_directory]\ndir = "%s/migrations"\n' "$ROOT" > "$plain"
DATABASE_URL="$url?options=-csearch_path%3Ddte_sidecar" diesel migration run --config-file "$plain" >/dev/null
DATABASE_URL="$url?options=-csearch_path%3Ddte_sidecar" diesel print-schema > "$out"
if [ "${1:-}" = "--check" ]; then
    if ! diff -u src/store/schema.rs "$out"; then
        echo "src/store/schema.rs is out of date: run scripts/schema.sh" >&2
        exit 1
    fi
    log "schema.rs matches the migrations"
else
    cp "$out" src/store/schema.rs
    log "src/store/schema.rs regenerated"
fi
