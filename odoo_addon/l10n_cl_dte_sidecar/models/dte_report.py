# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .dte_contingency import CONTINGENCY_REASONS


class DteContingencyPeriod(models.Model):
    """Contingency periods of each company over time, for graphs and pivots: one row per
    switch-on of the sidecar's audit log, ended by the next switch-off (ongoing if none).

    A view of this addon (dropped at uninstall) over the sidecar's own audit table, read
    only; the sidecar keeps the data.
    """

    _name = "dte.contingency.period"
    _description = "DTE contingency period"
    _auto = False
    _log_access = False
    _table = "dte_contingency_period"
    _order = "started_at desc, id desc"
    _rec_name = "started_at"

    company_id = fields.Many2one("res.company", readonly=True)
    started_at = fields.Datetime(string="Started on", readonly=True)
    ended_at = fields.Datetime(string="Ended on", readonly=True)
    ongoing = fields.Boolean(readonly=True)
    duration_hours = fields.Float(string="Duration (h)", digits=(12, 1), readonly=True, aggregator="sum")
    reason = fields.Selection(CONTINGENCY_REASONS, readonly=True)
    started_by = fields.Many2one("res.users", string="Switched on by", readonly=True)

    def init(self):
        self.env.cr.execute(SQL(
            """CREATE OR REPLACE VIEW %s AS
            SELECT on_.id, on_.company_id, on_.created_at AS started_at, off_.created_at AS ended_at,
                   off_.created_at IS NULL AS ongoing,
                   round((EXTRACT(EPOCH FROM COALESCE(off_.created_at, (now() AT TIME ZONE 'UTC')) - on_.created_at)
                          / 3600.0)::numeric, 1)::float8 AS duration_hours,
                   CASE WHEN on_.details ~ '^\\s*\\{' THEN (on_.details::jsonb ->> 'reason') END AS reason,
                   on_.actor_uid AS started_by
              FROM dte_sidecar.dte_audit_log on_
              LEFT JOIN LATERAL (
                    SELECT off_.created_at FROM dte_sidecar.dte_audit_log off_
                     WHERE off_.company_id = on_.company_id AND off_.action = 'contingency.disable'
                       AND (off_.created_at, off_.id) > (on_.created_at, on_.id)
                     ORDER BY off_.created_at, off_.id LIMIT 1) off_ ON TRUE
             WHERE on_.action = 'contingency.enable'""",
            SQL.identifier(self._table),
        ))

    def _compute_display_name(self):
        for period in self:
            started = fields.Datetime.to_string(period.started_at) or ""
            period.display_name = f"{period.company_id.name or ''} {started}".strip()
