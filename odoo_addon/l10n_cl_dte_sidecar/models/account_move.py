# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from ..tools import dte_json
from .dte_document import DOCUMENT_STATES
from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

_logger = logging.getLogger(__name__)

#: States shown as a warning after "Send to SII".
WARNING_STATES = ("failed", "rejected", "abandoned", "contingency")

DISPATCH_TYPES = [
    ("1", "1 - Operation is a sale"),
    ("2", "2 - Sales to be made"),
    ("3", "3 - Consignments"),
    ("4", "4 - Free delivery"),
    ("5", "5 - Internal transfer"),
    ("6", "6 - Other transfers, not a sale"),
    ("7", "7 - Return guide"),
    ("8", "8 - Transfer for export"),
    ("9", "9 - Sale for export"),
]
REFERENCE_CODES = [
    ("1", "1 - Cancels the referenced document"),
    ("2", "2 - Corrects the text of the referenced document"),
    ("3", "3 - Corrects amounts"),
]

#: Default RazonRef, in the SII's language (it goes into the document, not the UI).
SII_REFERENCE_REASONS = {
    "1": "Anula documento de referencia",
    "2": "Corrige texto del documento de referencia",
    "3": "Corrige montos",
}


class AccountMove(models.Model):
    _inherit = "account.move"

    dte_code = fields.Char(string="DTE type code", compute="_compute_dte_code")
    dte_can_send = fields.Boolean(string="Can be sent to the SII", compute="_compute_dte_status")
    dte_document_id = fields.Many2one("dte.document", string="DTE document", compute="_compute_dte_status")
    dte_state = fields.Selection(
        DOCUMENT_STATES, string="DTE state", compute="_compute_dte_status", search="_search_dte_state"
    )
    dte_folio = fields.Char(string="DTE folio", compute="_compute_dte_status")
    dte_track_id = fields.Char(string="SII track ID", compute="_compute_dte_status")
    dte_message = fields.Text(string="DTE message", compute="_compute_dte_status")
    dte_state_changed_at = fields.Datetime(string="DTE state changed on", compute="_compute_dte_status")
    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", compute="_compute_dte_document_data")
    dte_receiver_rut = fields.Char(string="Receiver RUT", compute="_compute_dte_document_data")
    dte_issue_date = fields.Date(string="Issue date (FchEmis)", compute="_compute_dte_document_data")
    dte_amount_total = fields.Monetary(
        string="Total (MntTotal)", compute="_compute_dte_document_data", currency_field="company_currency_id"
    )
    dte_contingency_active = fields.Boolean(
        string="Company in DTE contingency", compute="_compute_dte_contingency_active"
    )
    dte_dispatch_type = fields.Selection(
        DISPATCH_TYPES, string="Dispatch type (IndTraslado)", default="1",
        help="Type 52 dispatch guides: why the goods move.",
    )
    dte_reference_code = fields.Selection(
        REFERENCE_CODES, string="Reference code (CodRef)",
        help="Debit and credit notes: what the note does to the document it refers to. "
        "Empty: cancels it when the amount is the same, corrects amounts otherwise.",
    )

    # Computes ----------------------------------------------------------------------

    @api.depends("l10n_latam_document_type_id", "country_code")
    def _compute_dte_code(self):
        for move in self:
            code = move.l10n_latam_document_type_id.code
            move.dte_code = code if move.country_code == "CL" and code in dte_json.DTE_TYPES else False

    @api.depends("dte_code", "partner_id.commercial_partner_id.vat", "invoice_date", "amount_total_signed")
    def _compute_dte_document_data(self):
        """What the DTE says about the receiver, the date and the total (in pesos)."""
        for move in self:
            partner = move.partner_id.commercial_partner_id
            move.dte_type = move.dte_code or False
            move.dte_receiver_rut = dte_json.format_rut(partner.vat) if move.dte_code and partner.vat else False
            move.dte_issue_date = move.invoice_date if move.dte_code else False
            move.dte_amount_total = abs(move.amount_total_signed) if move.dte_code else 0.0

    @api.depends("dte_code", "state")
    @api.depends_context("uid")
    def _compute_dte_status(self):
        """Read the DTE's state from the sidecar's ``dte_document`` view each time: no copy
        of it is kept on the move, so it cannot drift."""
        move_ids = [move._origin.id for move in self if move._origin.id]
        may_send = self._dte_user_may_send()
        client = self.env["dte.sidecar.client"]
        documents = {}
        if move_ids:
            # sudo: whoever may see the invoice may see the state of its DTE.
            for document in self.env["dte.document"].sudo().search(
                [("move_id", "in", move_ids)], order="id desc"
            ):
                documents.setdefault(document.move_id.id, document)
        entries = client._dte_queue_entries([document.id for document in documents.values()])
        for move in self:
            document = documents.get(move._origin.id)
            move.dte_document_id = document.id if document else False
            move.dte_state = document.state if document else False
            move.dte_folio = str(document.folio) if document and document.folio else False
            move.dte_track_id = document.track_id if document else False
            move.dte_message = client._dte_document_text(
                document.state, document.message_code, document.message_params, document.message,
                entries.get(document.id),
            ) if document else False
            move.dte_state_changed_at = document.state_changed_at if document else False
            # Once the sidecar has the document, sending again only returns it (the sidecar
            # retries, polls and reconciles on its own): the button is for the first time.
            move.dte_can_send = bool(may_send and move.state == "posted" and move.dte_code and not document)

    def _search_dte_state(self, operator, value):
        if operator in ("=", "!="):
            values, positive = [value], operator == "="
        elif operator in ("in", "not in"):
            values, positive = list(value), operator == "in"
        else:
            return NotImplemented
        states = [v for v in values if v]
        Document = self.env["dte.document"].sudo()
        domain = Domain.FALSE
        if states:
            domain |= Domain("id", "in", Document.search([("state", "in", states)]).move_id.ids)
        if len(states) != len(values):
            domain |= Domain("id", "not in", Document.search([("move_id", "!=", False)]).move_id.ids)
        return domain if positive else ~domain

    @api.depends("company_id")
    def _compute_dte_contingency_active(self):
        companies = self.company_id
        active = set()
        if companies:
            active = set(self.env["dte.contingency"].sudo().search(
                [("company_id", "in", companies.ids), ("enabled", "=", True)]
            ).company_id.ids)
        for move in self:
            move.dte_contingency_active = move.company_id.id in active and bool(move.dte_code)

    # Sending --------------------------------------------------------------------------

    @api.model
    def _dte_user_may_send(self):
        """DTE users who may issue invoices (``account.group_account_invoice``) send them;
        retrying, abandoning, contingency and the company's keys stay with DTE managers."""
        user = self.env.user
        return self.env.su or (
            user.has_group("l10n_cl_dte_sidecar.group_dte_user")
            and user.has_group("account.group_account_invoice")
        )

    def action_send_to_sii(self):
        """"Send to SII": the sidecar stamps, signs, stores and uploads the document (or keeps
        it for later during contingency) and answers its state, folio and track id."""
        if not self._dte_user_may_send():
            raise AccessError(_(
                "Only DTE users who may issue invoices can send documents to the SII."
            ))
        # Sending gives the invoice its legal existence: the user must be allowed to change
        # these invoices (which also applies the multi-company rules).
        self.check_access("write")
        client = self.env["dte.sidecar.client"]
        lines, kind = [], "success"
        for move in self:
            move._dte_check_sendable()
            params = {"move_id": move.id, "company_id": move.company_id.id, "document": move._dte_document_json()}
            folio = move._dte_folio_number()
            if folio:
                # The invoice's number is its folio: the sidecar checks it lies in a loaded
                # CAF and is unused, so the number printed on the invoice is the SII's.
                params["folio"] = folio
            result = client._call("account.move", "action_send_to_sii", **params) or {}
            if not isinstance(result, dict):
                result = {}
            state = result.get("state") or ""
            state_label = dict(self._fields["dte_state"]._description_selection(self.env)).get(state, state)
            if result.get("track_id"):
                text = _(
                    "%(move)s: %(state)s, folio %(folio)s, track ID %(track)s.",
                    move=move.name, state=state_label or _("unknown"),
                    folio=result.get("folio") or "-", track=result["track_id"],
                )
            else:
                text = _(
                    "%(move)s: %(state)s, folio %(folio)s.",
                    move=move.name, state=state_label or _("unknown"), folio=result.get("folio") or "-",
                )
            said = client._dte_document_text(
                state, result.get("message_code"), result.get("message_params"), result.get("message") or "",
                move._dte_queue_entry_after_send(state, result.get("document_id")),
            )
            if said:
                text = client._dte_join(text, said)
            lines.append(text)
            if state in WARNING_STATES or not state:
                kind = "warning"
            move.message_post(body=Markup("<p>%s</p>") % move._dte_send_summary(state, text))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Send to SII"),
                "message": "\n".join(lines),
                "type": kind,
                "sticky": kind != "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _dte_queue_entry_after_send(self, state, document_id):
        """The queue entry of a document whose upload just failed, as the sidecar has it
        now (it was committed after this transaction began): its next retry, or a person
        who must act, comes from it."""
        if state not in ("failed", "abandoned") or not document_id:
            return self.env["dte.failed.queue"]
        states = ["pending", "retrying"] if state == "failed" else ["abandoned"]
        # sudo: whoever sent the invoice may read what comes next for its document.
        Queue = self.env["dte.failed.queue"].sudo()
        try:
            entries = Queue._dte_refresh_where(
                [("document_id", "=", int(document_id)), ("state", "in", states)], limit=1,
            )
        except UserError as error:
            # The document is sent or queued all the same: only its schedule is not said.
            _logger.warning("DTE: the queue entry of document %s could not be read: %s", document_id, error)
            return Queue.browse()
        return entries[:1]

    @api.model
    def _dte_send_summary(self, state, text):
        """What the chatter says after "Send to SII": whether the document reached the SII,
        failed and waits for a retry, was rejected, or is kept for later."""
        if state in ("sent", "accepted", "accepted_with_objections"):
            return _("DTE sent to the SII: %(text)s", text=text)
        if state in ("generated", "sending"):
            return _("DTE stamped and signed, its upload to the SII is under way: %(text)s", text=text)
        if state == "failed":
            return _("The upload of the DTE to the SII failed; it will be retried: %(text)s", text=text)
        if state == "abandoned":
            return _("The upload of the DTE to the SII failed and will not be retried: %(text)s", text=text)
        if state == "rejected":
            return _("The SII rejected the DTE: %(text)s", text=text)
        if state == "contingency":
            # Nothing went to the SII yet: the document waits for the contingency upload.
            return _("DTE issued in contingency, kept to be sent to the SII later: %(text)s", text=text)
        return _("The DTE sidecar did not say what became of the DTE: %(text)s", text=text)

    def _dte_check_sendable(self):
        self.ensure_one()
        if self.state != "posted":
            raise UserError(_("Only posted documents can be sent to the SII (%(move)s).", move=self.display_name))
        if not self.dte_code:
            raise UserError(_(
                "%(move)s is not a Chilean electronic document of type 33, 34, 52, 56 or 61.",
                move=self.display_name,
            ))
        missing = dte_json.missing_values(self._dte_values())
        if missing:
            labels = self._dte_missing_labels()
            raise UserError(_(
                "%(move)s cannot be sent to the SII yet. Missing or wrong:\n%(missing)s",
                move=self.display_name,
                missing="\n".join("- " + labels.get(key, key) for key in missing),
            ))

    @api.model
    def _dte_missing_labels(self):
        return {
            "dte_type": _("document type (33, 34, 52, 56 or 61)"),
            "issuer.rut": _("company RUT (Tax ID)"),
            "issuer.rut_valid": _("company RUT is not valid"),
            "issuer.name": _("company name"),
            "issuer.giro": _("company activity description (giro)"),
            "issuer.acteco": _("company economic activity codes (Acteco)"),
            "issuer.address": _("company street"),
            "issuer.comuna": _("company city (comuna)"),
            "receiver.rut": _("customer RUT (Tax ID)"),
            "receiver.rut_valid": _("customer RUT is not valid"),
            "receiver.name": _("customer name"),
            "receiver.giro": _("customer activity description (giro)"),
            "receiver.address": _("customer street"),
            "receiver.comuna": _("customer city (comuna)"),
            "issue_date": _("invoice date"),
            "lines": _("at least one invoice line"),
            "references": _("the document this note corrects (reversed or debited invoice)"),
            "dispatch_type": _("dispatch type (IndTraslado)"),
        }

    def _dte_document_json(self):
        self.ensure_one()
        return dte_json.build_document(self._dte_values())

    # Extraction of plain values --------------------------------------------------------

    @api.model
    def _dte_partner_values(self, partner):
        partner = partner.commercial_partner_id
        street = " ".join(part for part in (partner.street, partner.street2) if part)
        return {
            "rut": dte_json.format_rut(partner.vat),
            "name": partner.name,
            "giro": partner.l10n_cl_activity_description,
            "address": street,
            # Odoo CE has no comuna field: the city holds it, as in Chilean addresses (the
            # state is the region, too long and not a city for CiudadRecep/CiudadOrigen).
            "comuna": partner.city,
            "city": partner.city,
            "email": partner.email,
        }

    def _dte_folio_number(self):
        self.ensure_one()
        number = (self.l10n_latam_document_number or "").strip()
        return int(number) if number.isdigit() and int(number) > 0 else None

    def _dte_values(self):
        """Plain values of the move for :func:`dte_json.build_document`."""
        self.ensure_one()
        company = self.company_id
        issuer = self._dte_partner_values(company.partner_id)
        issuer["name"] = company.name
        issuer["giro"] = company.l10n_cl_activity_description
        issuer["acteco"] = company._dte_acteco_codes()
        issuer["resolution_number"] = company.dte_resolution_number
        issuer["resolution_date"] = (
            fields.Date.to_string(company.dte_resolution_date) if company.dte_resolution_date else None
        )
        company_currency = company.currency_id
        # Amounts in pesos as booked: revenue is a credit on invoices and debit notes, a
        # debit on credit notes; a line that goes the other way is a discount.
        sign = 1 if self.move_type in ("out_refund", "in_invoice", "in_receipt") else -1
        lines = []
        for line in self.invoice_line_ids.filtered(lambda aml: aml.display_type == "product"):
            vat_taxes = line.tax_ids.filtered(lambda t: t.l10n_cl_sii_code == 14)
            subtotal = sign * line.balance
            price_unit = line.price_unit
            if line.currency_id != company_currency and line.amount_currency:
                price_unit = line.price_unit * abs(line.balance / line.amount_currency)
            product_name = line.product_id.display_name if line.product_id else False
            first_line = (line.name or "").split("\n")[0]
            name = product_name or first_line
            lines.append({
                "name": name,
                "description": line.name if line.name and line.name != name else None,
                "quantity": line.quantity,
                "uom": line.product_uom_id.name if line.product_id else None,
                "price_unit": price_unit,
                "discount_pct": line.discount or None,
                "subtotal": subtotal,
                "exempt": not vat_taxes,
            })
        amounts = self._l10n_cl_get_amounts()
        values = {
            "dte_type": self.dte_code or self.l10n_latam_document_type_id.code,
            "issue_date": fields.Date.to_string(self.invoice_date) if self.invoice_date else None,
            "due_date": fields.Date.to_string(self.invoice_date_due) if self.invoice_date_due else None,
            # FmaPago: 1 cash (due on issue), 2 credit.
            "payment_method": 1 if (not self.invoice_date_due or not self.invoice_date
                                    or self.invoice_date_due <= self.invoice_date) else 2,
            "issuer": issuer,
            "receiver": self._dte_partner_values(self.partner_id),
            "lines": lines,
            "totals": {
                "net": amounts.get("subtotal_amount_taxable"),
                "exempt": amounts.get("subtotal_amount_exempt"),
                "vat": amounts.get("vat_amount"),
                "total": amounts.get("total_amount"),
            },
            "references": self._dte_references(),
        }
        if values["dte_type"] == "52":
            values["dispatch_type"] = self.dte_dispatch_type
        return values

    def _dte_origin(self):
        """The document a 56 or 61 corrects: the reversed invoice, or the debited one when
        ``account_debit_note`` is installed."""
        self.ensure_one()
        if self.reversed_entry_id:
            return self.reversed_entry_id
        if "debit_origin_id" in self._fields and self.debit_origin_id:
            return self.debit_origin_id
        return self.browse()

    def _dte_references(self):
        self.ensure_one()
        if self.dte_code not in dte_json.TYPES_WITH_REFERENCE:
            return []
        origin = self._dte_origin()
        if not origin:
            return []
        code = self.dte_reference_code
        if not code:
            same_amount = origin.currency_id.compare_amounts(origin.amount_total, self.amount_total) == 0
            if self.dte_code == "61" and same_amount:
                code = "1"
            else:
                code = "3"
        reason = (self.ref or "").strip() or SII_REFERENCE_REASONS[code]
        folio = origin.dte_folio or origin._dte_folio_number()
        return [{
            "doc_type": origin.l10n_latam_document_type_id.code,
            "folio": str(folio) if folio else None,
            "date": fields.Date.to_string(origin.invoice_date) if origin.invoice_date else None,
            "code": code,
            "reason": reason,
        }]
