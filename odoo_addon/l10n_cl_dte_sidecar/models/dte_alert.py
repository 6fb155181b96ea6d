# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.tools.misc import formatLang

from ..tools import vocabulary
from .dte_sidecar_message import decimals
from .dte_sidecar_text import stored_params

_logger = logging.getLogger(__name__)

#: The labels of the sidecar's alert kinds (the values come from its vocabulary).
ALERT_RULE_LABELS = {
    "contingency_auto": "Contingency switched on: the SII did not answer",
    "queue_backlog": "More than 10 documents waiting for a retry",
    "retry_success_low": "Retry success rate under 80 %",
    "contingency_long": "Contingency on for more than 24 h",
    "folios_low": "Folios running low",
    "no_verdict": "No verdict from the SII for days",
}
ALERT_RULES = vocabulary.selection("alert_kinds", ALERT_RULE_LABELS)


class DteAlert(models.Model):
    """Critical alerts raised by the sidecar (view ``dte_alert``).

    A cron turns every unresolved alert into a warning activity for each DTE manager of
    its company, and removes those activities once the sidecar resolves the alert.
    """

    _name = "dte.alert"
    _inherit = ["dte.sidecar.view.mixin", "mail.thread", "mail.activity.mixin"]
    _description = "DTE alert"
    _auto = False
    _log_access = False
    _table = "dte_alert"
    _order = "raised_at desc, id desc"
    _rec_name = "message"  # searchable; the name shown is the sentence (_compute_display_name)

    company_id = fields.Many2one("res.company", readonly=True)
    rule = fields.Char(readonly=True)
    rule_kind = fields.Selection(ALERT_RULES, string="Alert", compute="_compute_rule_kind")
    message = fields.Text(string="Message (technical)", readonly=True)
    details = fields.Text(readonly=True)
    text = fields.Text(string="Message", compute="_compute_text")
    raised_at = fields.Datetime(string="Raised on", readonly=True)
    resolved_at = fields.Datetime(string="Resolved on", readonly=True)
    resolved = fields.Boolean(compute="_compute_resolved", search="_search_resolved")

    @api.depends("rule")
    def _compute_rule_kind(self):
        known = dict(ALERT_RULES)
        for alert in self:
            alert.rule_kind = alert.rule if alert.rule in known else False

    @api.depends("rule", "details", "message")
    @api.depends_context("lang")
    def _compute_text(self):
        for alert in self:
            alert.text = alert._alert_text()

    def _alert_number(self, value):
        """A number of an alert's details in the user's language (``1.234``, ``66,7``)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value) if value is not None else "?"
        return formatLang(self.env, value, digits=min(decimals(value), 1))

    def _alert_text(self):
        """What the alert says, in the user's language, from its rule and its details (the
        sidecar's ``message`` is English for logs). A rule this addon does not know shows
        that message as it came."""
        self.ensure_one()
        details = stored_params(self.details)
        number = self._alert_number
        if self.rule == "contingency_auto":
            text = _("The SII did not answer %(failures)s times in a row: contingency mode was switched on",
                     failures=number(details.get("failures")))
        elif self.rule == "queue_backlog":
            text = _("%(count)s documents wait in the retry queue (more than 10)", count=number(details.get("count")))
        elif self.rule == "retry_success_low":
            text = _("Only %(rate)s %% of the retried documents reached the SII (under 80 %%)",
                     rate=number(details.get("rate")))
        elif self.rule == "contingency_long":
            text = _("Contingency mode has been on for %(hours)s hours (more than 24)",
                     hours=number(details.get("hours")))
        elif self.rule == "folios_low":
            text = _("Only %(left)s folios of DTE %(dte_type)s are left: load a new CAF",
                     left=number(details.get("left")), dte_type=details.get("dte_type") or "?")
        elif self.rule == "no_verdict":
            text = _("The SII has given no verdict for days on Track ID %(track_id)s",
                     track_id=details.get("track_id") or "?")
        else:
            return (self.message or self.rule or "").strip()
        return f"{text} ({self.rule})"

    def _rule_text(self):
        self.ensure_one()
        labels = dict(self._fields["rule_kind"]._description_selection(self.env))
        return labels.get(self.rule_kind) or self.rule or ""

    @api.depends("resolved_at")
    def _compute_resolved(self):
        for alert in self:
            alert.resolved = bool(alert.resolved_at)

    def _search_resolved(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        resolved = (operator == "=") == bool(value)
        return [("resolved_at", "!=" if resolved else "=", False)]

    @api.depends_context("lang")
    def _compute_display_name(self):
        for alert in self:
            text = alert._alert_text()
            alert.display_name = text.splitlines()[0] if text else str(alert.id)

    @api.model
    def _cron_sync_activities(self):
        """Schedule a warning activity per unresolved alert and DTE manager of its company;
        drop the activities of resolved alerts."""
        alerts = self.sudo().search([])  # pylint: disable=no-search-all  # resolved ones lose theirs
        activity_type = self.env.ref("mail.mail_activity_data_warning", raise_if_not_found=False)
        managers = self.env["res.users"].sudo().search([
            ("all_group_ids", "in", self.env.ref("l10n_cl_dte_sidecar.group_dte_manager").ids),
            ("share", "=", False),
        ])
        Activity = self.env["mail.activity"].sudo()
        existing = Activity.search([("res_model", "=", self._name), ("res_id", "in", alerts.ids)])
        seen = {(activity.res_id, activity.user_id.id) for activity in existing}
        resolved_ids = set(alerts.filtered("resolved_at").ids)
        stale = existing.filtered(lambda activity: activity.res_id in resolved_ids)
        if stale:
            stale.unlink()
        created = 0
        for alert in alerts.filtered(lambda a: not a.resolved_at):
            for user in managers:
                if alert.company_id and alert.company_id not in user.company_ids:
                    continue
                if (alert.id, user.id) in seen:
                    continue
                alert.activity_schedule(
                    activity_type_id=activity_type.id if activity_type else False,
                    summary=_("DTE alert: %(rule)s", rule=alert._rule_text()),
                    note=alert.with_context(lang=user.lang)._alert_text(),
                    user_id=user.id,
                )
                created += 1
        _logger.info("DTE alerts: %s activities scheduled, %s removed", created, len(stale))
        return created
