#!/usr/bin/env bash
# The Odoo addon (odoo_addon/) checked with OCA's linters: ruff with OCA's rules
# (odoo_addon/.ruff.toml) and pylint-odoo (odoo_addon/.pylintrc), every check of the
# plugin for Odoo 19 less the three named below. Pinned; installed in a venv under
# .cache/odoo-lint/ (gitignored) on the first run and reused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT/odoo_addon"
VENV="$ROOT/.cache/odoo-lint/venv"
REQUIREMENTS="ruff==0.17.5 pylint-odoo==10.0.12"
if [ "$(cat "$VENV/.requirements" 2>/dev/null || true)" != "$REQUIREMENTS" ]; then
    log "making $VENV ($REQUIREMENTS)"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    printf '%s' "$REQUIREMENTS" >"$VENV/.requirements"
fi
"$VENV/bin/ruff" check --config .ruff.toml --no-cache .
# Left out, with their reasons:
#   prefer-env-translation             Odoo 19 still takes `_()` from odoo; moving every
#                                      call to `self.env._` is a sweep of its own.
#   consider-merging-classes-inherited the printed invoice's half of account.move is
#                                      kept in account_move_print.py on purpose.
#   missing-readme                     the description is readme/*.md, from which OCA's
#                                      generator writes README.rst when a release is cut.
"$VENV/bin/pylint" --rcfile=.pylintrc --disable=all --enable=odoolint \
    --disable=prefer-env-translation,consider-merging-classes-inherited,missing-readme \
    l10n_cl_dte_sidecar l10n_cl_dte_sidecar_api_example tests
log "lint-odoo: OK: ruff and pylint-odoo found nothing"
