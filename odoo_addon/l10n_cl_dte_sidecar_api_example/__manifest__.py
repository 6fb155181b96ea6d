# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Chile - DTE sidecar: API example",
    "summary": "How another module calls the DTE API of l10n_cl_dte_sidecar (its tests are "
    "the example)",
    "version": "19.0.1.0.0",
    "category": "Hidden/Tests",
    "website": "https://github.com/dte-sidecar/dte-sidecar",
    "author": "dte-sidecar authors",
    "license": "LGPL-3",
    "depends": ["l10n_cl_dte_sidecar"],
}
