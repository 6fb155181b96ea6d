# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError

from ..tools import vocabulary

_logger = logging.getLogger(__name__)

PUBLISH_FUNCTION = "dte_sidecar.publish_odoo_views"
#: Transaction-local setting that holds, per view, the rows the sidecar has just answered
#: (migration 2026-12-07-000010_odoo_view_overlay, docs/decisions/010).
OVERLAY_SETTING = "dte_sidecar.overlay_%s"
#: The views that have an overlay.
OVERLAY_TABLES = ("dte_backup", "dte_failed_queue", "dte_contingency", "dte_contingency_pending")

#: The labels of the DTE types the sidecar issues (the values come from its vocabulary).
DTE_TYPE_LABELS = {
    "33": "33 - Electronic Invoice",
    "34": "34 - Exempt Electronic Invoice",
    "52": "52 - Electronic Dispatch Guide",
    "56": "56 - Electronic Debit Note",
    "61": "61 - Electronic Credit Note",
}
DTE_TYPE_SELECTION = vocabulary.selection("dte_types", DTE_TYPE_LABELS)


class DteSidecarViewMixin(models.AbstractModel):
    """Read-only model over a view that the sidecar publishes in Odoo's schema.

    The sidecar keeps its real tables in its own schema ``dte_sidecar`` and publishes plain
    views named like the models' tables (``dte_backup`` …) through the SQL function
    ``dte_sidecar.publish_odoo_views(schema)``. Uninstalling this addon drops those views
    only, never the data behind them. Nothing is written through the ORM: every change goes
    through the sidecar's RPC, which keeps the audit trail.
    """

    _name = "dte.sidecar.view.mixin"
    _description = "DTE sidecar read-only view"
    _auto = False
    _log_access = False

    def init(self):
        if self._abstract:
            return
        self._dte_publish_views()

    @api.model
    def _dte_publish_views(self):
        """Ask the sidecar's SQL function to (re)create its views in Odoo's schema.

        Odoo calls ``init()`` of every model at install and update, and again whenever a
        table is missing. Installing without a migrated sidecar stops with a message that
        says what to run; a later reload only logs it, so that Odoo keeps starting.
        """
        cr = self.env.cr
        cr.execute("SELECT to_regprocedure(%s) IS NOT NULL", [PUBLISH_FUNCTION + "(text)"])
        if cr.fetchone()[0]:
            cr.execute("SELECT dte_sidecar.publish_odoo_views(current_schema())")
            return
        message = _(
            "The DTE sidecar has not prepared this database (%(db)s): the function "
            "%(function)s is missing. Run `dte-sidecar migrate` (or start `dte-sidecar serve`) "
            "with DATABASE_URL pointing at this database, then install or update this module again.",
            db=cr.dbname,
            function=PUBLISH_FUNCTION + "(text)",
        )
        module = self.env["ir.module.module"].sudo().search([("name", "=", "l10n_cl_dte_sidecar")], limit=1)
        if module.state in ("to install", "uninstalled"):
            raise UserError(message)
        _logger.error("%s (model %s)", message, self._name)

    def _check_removed_columns(self, log=False):
        """Nothing to do on a view, and Odoo's version is wrong here.

        At the end of every install or update Odoo calls this on every model. Its query
        finds columns by table name in *any* schema, so it sees the NOT NULL columns of the
        sidecar's real table ``dte_sidecar.<name>`` (e.g. ``xml_content``) and then runs
        ``ALTER TABLE <name> ... DROP NOT NULL`` on our view, which PostgreSQL refuses and
        the install fails (seen on 19.0 f1e68e16). A view has no constraint to drop.
        """
        return

    # Read-only through the ORM --------------------------------------------------------

    def _dte_readonly_error(self):
        return UserError(_(
            "%(model)s records belong to the DTE sidecar and cannot be changed in Odoo. "
            "Use the buttons, which ask the sidecar to act.",
            model=self._description,
        ))

    # The rows are the sidecar's: these refuse on purpose, without calling super().
    # pylint: disable=method-required-super,no-raise-unlink
    @api.model_create_multi
    def create(self, vals_list):
        raise self._dte_readonly_error()

    def write(self, vals):
        raise self._dte_readonly_error()

    def unlink(self):
        raise self._dte_readonly_error()

    def copy(self, default=None):
        raise self._dte_readonly_error()

    # pylint: enable=method-required-super,no-raise-unlink

    # What the sidecar just committed, visible in this transaction -------------------------

    @api.model
    def _dte_overlay_columns(self):
        """The view's columns Odoo reads, as the sidecar's RPC ``read`` names them."""
        return sorted(
            name for name, field in self._fields.items()
            if field.store and field.column_type and name != "id"
        ) + ["display_name"]

    @api.model
    def _dte_overlay_row(self, row):
        """A row of the sidecar's ``read`` as the view's columns hold it: Odoo's ``false``
        for an empty value becomes NULL (except for booleans), ``[id, name]`` an id."""
        values = {"id": row["id"]}
        for name in self._dte_overlay_columns():
            value = row.get(name, False)
            field = self._fields.get(name)
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if value is False and not (field and field.type == "boolean"):
                value = None
            values[name] = value
        return values

    @api.model
    def _dte_overlay_put(self, rows):
        """Show ``rows`` (as the sidecar's ``read`` answers them) in this transaction's
        view, in place of what its snapshot holds; Odoo's cache of the model is dropped.

        The rows go into a transaction-local setting (``set_config(…, true)``): they are
        gone at commit or rollback, and a savepoint rollback restores the previous overlay.
        """
        if self._table not in OVERLAY_TABLES:
            raise ValueError(f"{self._table} has no overlay")
        rows = [row for row in rows or [] if isinstance(row, dict) and row.get("id")]
        if not rows:
            return
        setting = OVERLAY_SETTING % self._table
        cr = self.env.cr
        cr.execute("SELECT current_setting(%s, true)", [setting])
        current = json.loads(cr.fetchone()[0] or "[]")
        by_id = {row["id"]: row for row in current}
        by_id.update((row["id"], self._dte_overlay_row(row)) for row in rows)
        cr.execute("SELECT set_config(%s, %s, true)", [setting, json.dumps(list(by_id.values()))])
        self.env[self._name].invalidate_model()

    def _dte_refresh(self):
        """Read these records from the sidecar (over RPC, its committed truth) and show them
        in this transaction (see :meth:`_dte_overlay_put`). Returns the records that exist."""
        if not self.ids:
            return self
        rows = self._dte_client()._call(
            self._name, "read", ids=list(self.ids), fields=self._dte_overlay_columns()
        ) or []
        self._dte_overlay_put(rows)
        return self.browse([row["id"] for row in rows if isinstance(row, dict) and row.get("id")])

    @api.model
    def _dte_refresh_where(self, domain, limit=None):
        """The sidecar's rows matching ``domain`` (its RPC ``search_read``), shown in this
        transaction; returns them as records."""
        rows = self._dte_client()._call(
            self._name, "search_read", domain=domain, fields=self._dte_overlay_columns(), limit=limit,
        ) or []
        self._dte_overlay_put(rows)
        return self.browse([row["id"] for row in rows if isinstance(row, dict) and row.get("id")])

    # What the API's callers expect of Odoo ------------------------------------------------

    @api.model
    def _dte_company(self, company_id=None, move_id=None):
        """The company an API call acts for: ``company_id`` when given, else the invoice's
        (``move_id``) when this transaction sees it, else the current company. A company
        the user may not use is refused, as Odoo refuses it."""
        company = self.env["res.company"]
        if company_id:
            company = company.browse(int(company_id)).exists()
            if not company:
                raise UserError(_("The company %(company)s does not exist.", company=company_id))
        elif move_id:
            move = self.env["account.move"].sudo().browse(int(move_id)).exists()
            company = move.company_id
        company = company or self.env.company
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(_(
                "You cannot act for the company %(company)s.", company=company.display_name,
            ))
        return company

    # Helpers for the buttons ----------------------------------------------------------

    @api.model
    def _dte_check_manager(self):
        if not self.env.su and not self.env.user.has_group("l10n_cl_dte_sidecar.group_dte_manager"):
            raise AccessError(_("Only DTE managers can do this."))

    @api.model
    def _dte_client(self):
        return self.env["dte.sidecar.client"]

    @api.model
    def _dte_notify(self, message, kind="success", title=None, reload=True):
        """A notification, then a reload of the current view (the sidecar changed rows)."""
        params = {"message": message, "type": kind, "sticky": kind != "success"}
        if title:
            params["title"] = title
        if reload:
            params["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}
