#!/usr/bin/env bash
# The fault drills (scripts/drill.py), every mode, each at a size that proves its point
# within the test command's budget: a sidecar killed with SIGKILL, two replicas sharing
# the work (one document per envelope, and shared envelopes), PostgreSQL crashing, the
# network to PostgreSQL blackholed, the backup directory full. Each drill runs its own
# PostgreSQL and processes on free ports. A drill that fails prints its own lines and
# fails the run.
#
# Environment: DTE_SIDECAR_BIN (default target/debug/dte-sidecar, as `cargo test` builds
# it), DRILLS (the modes to run, space-separated; default all).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_packages socat
export DTE_SIDECAR_BIN="${DTE_SIDECAR_BIN:-$ROOT/target/debug/dte-sidecar}"
[ -x "$DTE_SIDECAR_BIN" ] || cargo build --bin dte-sidecar --quiet

# name, then the drill's arguments
DRILL_RUNS=(
    "crash|crash --sends 120"
    "replicas|replicas --sends 400"
    "replicas-window-20|replicas --sends 400 --envelope-window 20"
    "database-crash|database-crash --sends 300"
    "partition|partition --sends 120"
    "archive-full|archive-full --sends 60"
)
passed=0
failed=0
for run in "${DRILL_RUNS[@]}"; do
    name="${run%%|*}"
    args="${run#*|}"
    if [ -n "${DRILLS:-}" ] && ! [[ " $DRILLS " == *" $name "* ]]; then
        continue
    fi
    out="$LOCAL/drill-$name.out"
    mkdir -p "$LOCAL"
    started=$(date +%s)
    # shellcheck disable=SC2086
    if python3 scripts/drill.py $args >"$out" 2>&1; then
        passed=$((passed + 1))
        printf '  %s: passed in %ss\n' "$name" "$(( $(date +%s) - started ))"
    else
        failed=$((failed + 1))
        printf '  %s: FAILED in %ss\n' "$name" "$(( $(date +%s) - started ))"
    fi
    sed 's/^/    /' "$out"
done
echo "drills: $passed passed, $failed failed"
[ "$failed" = 0 ]
