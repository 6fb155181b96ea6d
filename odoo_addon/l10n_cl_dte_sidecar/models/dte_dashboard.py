# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.tools.misc import formatLang

from .dte_failed_queue import WAITING_PERSON_DOMAIN
from .dte_sidecar_message import format_size


class DteDashboard(models.TransientModel):  # pylint: disable=no-wizard-in-models  # a screen, no wizard
    """KPIs of one company as the sidecar computes them (``dte.dashboard.get_kpis``)."""

    _name = "dte.dashboard"
    _description = "DTE dashboard"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    failed_queue_count = fields.Integer(string="Documents waiting for a retry", readonly=True)
    waiting_person_count = fields.Integer(
        string="Waiting for a person", readonly=True,
        help="Documents the SII refuses as they are: not retried on their own until a person "
        "corrects and requeues them, or abandons them.",
    )
    retry_success_rate = fields.Float(string="Retry success rate (%)", digits=(5, 1), readonly=True)
    retried_count = fields.Integer(string="Documents retried", readonly=True)
    retry_success_text = fields.Char(string="Retry success rate", compute="_compute_texts")
    contingency_active = fields.Boolean(string="Contingency active", readonly=True)
    pending_contingency_count = fields.Integer(string="Pending from contingency", readonly=True)
    backup_storage_mb = fields.Float(string="Backup storage (MB)", digits=(12, 3), readonly=True)
    backup_storage_bytes = fields.Integer(string="Backup storage (bytes)", readonly=True)
    backup_storage_text = fields.Char(string="Backup storage", compute="_compute_texts")
    documents_by_state = fields.Html(string="Documents by state", readonly=True, sanitize=True)
    folios_left = fields.Html(string="Folios left", readonly=True, sanitize=True)
    alert_count = fields.Integer(string="Open alerts", readonly=True)
    refreshed_at = fields.Datetime(string="Refreshed on", readonly=True)

    def _compute_display_name(self):
        for dashboard in self:
            dashboard.display_name = _("DTE dashboard: %(company)s", company=dashboard.company_id.name or "")

    @api.depends("retried_count", "retry_success_rate", "backup_storage_bytes")
    def _compute_texts(self):
        for dashboard in self:
            dashboard.retry_success_text = (
                _("%(rate)s %% of %(count)s retried",
                  rate=formatLang(self.env, dashboard.retry_success_rate, digits=1),
                  count=formatLang(self.env, dashboard.retried_count, digits=0))
                if dashboard.retried_count else _("No retries yet")
            )
            dashboard.backup_storage_text = format_size(self.env, dashboard.backup_storage_bytes)

    @api.model
    def _kpi_values(self, company):
        kpis = self.env["dte.sidecar.client"]._call("dte.dashboard", "get_kpis", company_id=company.id) or {}
        labels = dict(self.env["dte.document"]._fields["state"]._description_selection(self.env))
        states_table = self._html_table(
            [(labels.get(state, state), count) for state, count in sorted(
                (kpis.get("documents_by_state") or {}).items(), key=lambda item: -int(item[1] or 0))],
            _("State"), _("Documents"), _("No documents yet."),
        )
        types = dict(self.env["dte.document"]._fields["dte_type"]._description_selection(self.env))
        folios_table = self._html_table(
            [(types.get(str(code), code), left) for code, left in sorted((kpis.get("folios_left") or {}).items())],
            _("DTE type"), _("Folios left"), _("No CAF file loaded"),
        )
        waiting_person_count = self.env["dte.failed.queue"].search_count(
            [("company_id", "=", company.id), *WAITING_PERSON_DOMAIN]
        )
        alert_count = self.env["dte.alert"].search_count(
            [("company_id", "=", company.id), ("resolved_at", "=", False)]
        )
        return {
            "company_id": company.id,
            "failed_queue_count": int(kpis.get("failed_queue_count") or 0),
            "waiting_person_count": waiting_person_count,
            "retry_success_rate": float(kpis.get("retry_success_rate") or 0.0),
            "retried_count": int(kpis.get("retried_count") or 0),
            "contingency_active": bool(kpis.get("contingency_active")),
            "pending_contingency_count": int(kpis.get("pending_contingency_count") or 0),
            "backup_storage_mb": float(kpis.get("backup_storage_mb") or 0.0),
            "backup_storage_bytes": int(kpis.get("backup_storage_bytes")
                                        or round(float(kpis.get("backup_storage_mb") or 0.0) * 1048576)),
            "documents_by_state": states_table,
            "folios_left": folios_table,
            "alert_count": alert_count,
            "refreshed_at": fields.Datetime.now(),
        }

    @api.model
    def _count_text(self, value):
        """A count in the user's language (``1.234`` in es_CL)."""
        try:
            return formatLang(self.env, int(value), digits=0)
        except (TypeError, ValueError):
            return str(value)

    @api.model
    def _html_table(self, rows, head_label, head_value, empty):
        if not rows:
            return escape(empty)
        body = Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>") % (label, self._count_text(value))
            for label, value in rows
        )
        return Markup(
            "<table class='table table-sm'><thead><tr><th>%s</th><th class='text-end'>%s</th></tr></thead>"
            "<tbody>%s</tbody></table>"
        ) % (head_label, head_value, body)

    @api.model
    def action_open(self):
        """Menu entry: the dashboard of the current company, refreshed. One record per user
        and company, reused at every opening."""
        company = self.env.company
        values = self._kpi_values(company)
        dashboard = self.search([("create_uid", "=", self.env.uid), ("company_id", "=", company.id)],
                                order="id desc", limit=1)
        if dashboard:
            dashboard.write(values)
        else:
            dashboard = self.create(values)
        return dashboard._action_view()

    def action_refresh(self):
        self.ensure_one()
        self.write(self._kpi_values(self.company_id))
        return self._action_view()

    def _action_view(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.display_name,
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _open(self, xmlid, domain):
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = domain
        return action

    def action_open_failed_queue(self):
        return self._open(
            "l10n_cl_dte_sidecar.action_dte_failed_queue",
            [("company_id", "=", self.company_id.id), ("state", "in", ("pending", "retrying"))],
        )

    def action_open_waiting_person(self):
        return self._open(
            "l10n_cl_dte_sidecar.action_dte_failed_queue",
            [("company_id", "=", self.company_id.id), *WAITING_PERSON_DOMAIN],
        )

    def action_open_pending(self):
        return self._open(
            "l10n_cl_dte_sidecar.action_dte_contingency_pending",
            [("company_id", "=", self.company_id.id), ("uploaded", "=", False)],
        )

    def action_open_alerts(self):
        return self._open(
            "l10n_cl_dte_sidecar.action_dte_alert",
            [("company_id", "=", self.company_id.id), ("resolved_at", "=", False)],
        )

    def action_open_report_documents(self):
        return self._open("l10n_cl_dte_sidecar.action_dte_report_documents",
                          [("company_id", "=", self.company_id.id)])

    def action_open_report_failed_queue(self):
        return self._open("l10n_cl_dte_sidecar.action_dte_report_failed_queue",
                          [("company_id", "=", self.company_id.id)])

    def action_open_report_contingency(self):
        return self._open("l10n_cl_dte_sidecar.action_dte_report_contingency",
                          [("company_id", "=", self.company_id.id)])

    def action_open_contingency_wizard(self):
        return self.env["dte.contingency.wizard"].action_open(self.company_id)
