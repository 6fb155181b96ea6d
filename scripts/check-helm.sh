#!/usr/bin/env bash
# Checks the Helm chart helm/dte-sidecar without a helm binary or a cluster: strict
# lint and Kubernetes 1.30 schemas for every value set, the chart's settings given to
# the binary's own `dte-sidecar config check`, and negative checks (see
# scripts/check_helm.py). Runs the check's own tests first.
#
# Usage: scripts/check-helm.sh [EXTRA-VALUES.yaml ...]   (each must pass too)
#        scripts/check-helm.sh --write-chart-defaults    (after changing a default)
# Needs the binary: target/debug/dte-sidecar (scripts/test.sh builds it first), or
# DTE_SIDECAR_BIN. The Python tools live in a venv under .cache/check-helm/
# (gitignored), made on the first run and reused; rendered manifests are left in
# .cache/check-helm/rendered/<value set>/ for reading.
set -euo pipefail
# ROOT, log and the venv (ensure_helm_venv: helm-python-sdk 0.2.2, kubernetes-validate).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_helm_venv || { echo "check-helm: FAILED: no venv for the Helm tools" >&2; exit 1; }
if [ "${1:-}" != "--write-chart-defaults" ]; then
    if ! out=$("$HELM_VENV/bin/python" "$ROOT/scripts/test_check_helm.py" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "check-helm: FAILED: its own tests (scripts/test_check_helm.py)" >&2
        exit 1
    fi
    log "scripts/test_check_helm.py: $(printf '%s\n' "$out" | grep -E '^Ran ')"
fi
exec "$HELM_VENV/bin/python" "$ROOT/scripts/check_helm.py" "$@"
