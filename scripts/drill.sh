#!/usr/bin/env bash
# Drills with real processes (see scripts/drill.py):
#   scripts/drill.sh crash      # 200 sends, flaky SII, sidecar killed with SIGKILL and restarted
#   scripts/drill.sh replicas   # two sidecars on one database share 1,000 sends
#   scripts/drill.sh database-crash  # 300 sends while the drill's own PostgreSQL crashes and restarts
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_system_packages
ensure_database
cargo build --release --quiet
exec python3 scripts/drill.py "$@"
