# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The scheduled actions are data an update does not touch (noupdate): a database that had
the addon before 19.0.1.1.0 gets the retry's new code here, which returns the notification
Run Manually shows, and the attach cron is created by the update itself."""


def migrate(cr, version):
    cr.execute(
        """
        UPDATE ir_act_server SET code = %s
         WHERE id = (SELECT c.ir_actions_server_id FROM ir_cron c
                       JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = c.id
                      WHERE d.module = 'l10n_cl_dte_sidecar' AND d.name = 'ir_cron_retry_failed_dtes')
        """,
        ["action = model._cron_retry_failed_dtes()"],
    )
