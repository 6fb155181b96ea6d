# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading

from odoo import models

#: The scheduled action a person is running now in this thread (Run Manually), and the
#: action its code returned.
_manual_run = threading.local()


class IrCron(models.Model):
    """Run Manually shows what a scheduled action's code returns.

    Odoo 19 runs the job of Run Manually (``method_direct_trigger``) in its own cursor, as
    the scheduler would, and answers ``True``: what the server action returns (the
    ``action`` its code sets) never reaches the person who clicked. Here the action the
    code returned during that run, if it is a client action or a window action, is
    answered instead, so a scheduled action whose code ends with
    ``action = model._cron_…()`` can show a notification of what it did.
    """

    _inherit = "ir.cron"

    def method_direct_trigger(self):
        _manual_run.cron_id, _manual_run.action = self.id, None
        try:
            result = super().method_direct_trigger()
            action = _manual_run.action
        finally:
            _manual_run.cron_id, _manual_run.action = None, None
        if isinstance(action, dict) and action.get("type") in ("ir.actions.client", "ir.actions.act_window"):
            return action
        return result


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def run(self):
        result = super().run()
        cron_id = self.env.context.get("cron_id")
        if cron_id and cron_id == getattr(_manual_run, "cron_id", None):
            _manual_run.action = result
        return result
