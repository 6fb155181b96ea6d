#!/usr/bin/env bash
# Drills with real processes (see scripts/drill.py):
#   scripts/drill.sh crash      # 200 sends, flaky SII, sidecar killed with SIGKILL and restarted
#   scripts/drill.sh replicas   # two sidecars on one database share 1,000 sends
#   scripts/drill.sh database-crash  # 300 sends while the drill's own PostgreSQL crashes and restarts
#   scripts/drill.sh partition       # 120 sends while the network to PostgreSQL is blackholed for 20 s
#   scripts/drill.sh archive-full    # 60 sends on a backup directory too small for them (root)
# Each drill starts its own PostgreSQL; scripts/test-drills.sh runs them all for the test command.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_system_packages
ensure_packages socat
cargo build --release --quiet
exec python3 scripts/drill.py "$@"
