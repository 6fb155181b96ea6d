# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import table_kind


class IrModel(models.Model):
    _inherit = "ir.model"

    def _compute_count(self):  # pylint: disable=missing-return  # a compute returns nothing
        """Odoo counts only the rows of ``_auto`` models, so the uninstall dialog said
        "DTE alert 0" whatever the sidecar held. This addon's models read views: count
        their rows too (uninstalling keeps those rows; the sidecar owns them)."""
        super()._compute_count()
        for model in self:
            records = self.env.get(model.model)
            if (records is None or records._abstract or records._auto
                    or records._original_module != "l10n_cl_dte_sidecar"
                    or not table_kind(self.env.cr, records._table)):
                continue
            [[count]] = self.env.execute_query(SQL("SELECT COUNT(*) FROM %s", SQL.identifier(records._table)))
            model.count = count
