# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestSettingsLayout(HttpCase):
    """The sidecar's settings in a real browser: no wrapped label, the whole resolution
    date, aligned links (tour ``l10n_cl_dte_sidecar_settings_layout``)."""

    def test_settings_layout(self):
        company = self.env.ref("base.main_company")
        company.write({"dte_resolution_number": 80, "dte_resolution_date": "2026-01-02"})
        self.env.ref("base.user_admin").write({"company_id": company.id, "company_ids": [(4, company.id)]})
        self.start_tour("/odoo/settings", "l10n_cl_dte_sidecar_settings_layout", login="admin")
