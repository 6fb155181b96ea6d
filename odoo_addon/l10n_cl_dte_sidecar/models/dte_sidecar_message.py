# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the sidecar refuses, in the words of the person who reads it.

Every error the sidecar answers carries a stable code of its catalogue and the code's
parameters (``error.data.code``, ``error.data.params``; the catalogue is published whole,
see ``tools/vocabulary.py``). The sentence a person reads is built here from those: one
translatable sentence per code, its parameters formatted by Odoo in the user's language and
time zone (quantities grouped, dates as the lists show them, argument names as labels),
and the code in parentheses for support. The sidecar's English ``message`` is for logs and
support only; nothing here reads it, except to show it, as it came, for a code this addon
does not know yet (with a warning in the log).
"""

import logging
from datetime import date, datetime

import pytz

from odoo import _, api, models
from odoo.tools.misc import babel_locale_parse, format_date, format_datetime, formatLang, get_lang, posix_to_ldml

from ..tools import vocabulary

_logger = logging.getLogger(__name__)

#: Parameters that carry the sidecar's own English prose (a parser's finding, a path
#: described in words): kept for the technical detail, never put in a sentence.
PROSE_PARAMS = frozenset({"detail", "path"})
#: Parameters a code's sentence leaves out on purpose, beside the prose ones.
UNSHOWN_PARAMS = {
    # "try again in a moment" says it better than a number of seconds.
    "server.database_unavailable": frozenset({"retry_after_secs"}),
    # Where the certificate came from (``certificate``, ``pkcs12``): the sentence says it.
    "certificate.unusable": frozenset({"argument"}),
}
#: How a parameter is shown, by its name (``raw`` when not listed): folios, RUTs, DTE types
#: and the ids of the sidecar's rows are shown as they came; quantities are grouped in the
#: user's language; a company and an invoice by their names when the user may read them.
PARAM_KINDS = {
    "company_id": "company",
    "move_id": "move",
    "argument": "argument",
    "field": "argument",
    "part": "argument",
    "limit": "bytes",
    "seconds": "number",
    "max": "number",
    "min": "number",
    "most": "number",
    "given": "number",
    "retry_after_secs": "number",
    "length": "number",
    "amount": "number",
    "value": "number",
    "expected": "number",
    "got": "number",
    "gross": "number",
    "price": "number",
    "quantity": "number",
    "other": "argument",
    "not_after": "moment",
    "expired_on": "moment",
    "date": "moment",
}
#: Where a code's parameter is shown otherwise than its name says.
CODE_PARAM_KINDS = {
    "orm.invalid_field": {"field": "raw"},
    # A queue entry by its name (``DTE 33 N° 27``): its id is the sidecar's.
    "queue.move_refused": {"id": "queue_entry", "from": "queue_state", "to": "queue_state"},
    "queue.abandon_not_pending": {"id": "queue_entry", "state": "queue_state"},
    "queue.requeue_not_abandoned": {"id": "queue_entry", "state": "queue_state"},
    "queue.retry_not_pending": {"id": "queue_entry", "state": "queue_state"},
    "queue.changed": {"id": "queue_entry", "to": "queue_state"},
}
#: The selections that label the values an argument may take (``rpc.unknown_choice``).
CHOICE_FIELDS = {
    "reason": ("dte.contingency", "reason"),
    "error_type": ("dte.failed.queue", "error_type"),
}
#: The date part of a moment in a message: day, abbreviated month and year, as the lists
#: show them (``7 dic 2026``); the time follows the language's own format, to the minute.
DATE_PATTERN = "d MMM y"


#: Codes whose ``detail`` is the SII's own words (its reason for a refusal or a verdict, in
#: Spanish): the sentence shows them.
SII_WORDS_CODES = frozenset({"sii.upload_status", "sii.answer", "sii.verdict"})


def sentence_params(code, params):
    """The parameters of ``code`` its sentence must show: all but the prose and unshown."""
    return [
        name for name in params
        if (name not in PROSE_PARAMS or code in SII_WORDS_CODES) and name not in UNSHOWN_PARAMS.get(code, ())
    ]


def decimals(number):
    """How many decimals ``number`` has (at most 6): 0 for ``12``, 2 for ``0.25``."""
    if isinstance(number, int) or float(number).is_integer():
        return 0
    return min(6, len(repr(float(number)).split(".")[1]))


def format_size(env, size):
    """Bytes for a person in the user's language: ``4,7 KB``, ``12,3 MB`` (units of 1024)."""
    size = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            break
        size /= 1024
    return f"{formatLang(env, size, digits=0 if unit == 'B' else 1)} {unit}"


def format_moment(env, moment):
    """A UTC datetime in the user's time zone (``7 dic 2026, 23:13`` in es_CL, ``7 Dec
    2026, 11:13 PM`` in English), or a date as the language writes dates."""
    if isinstance(moment, datetime):
        tz = env.context.get("tz") or env.user.tz or "America/Santiago"
        if moment.tzinfo:
            moment = moment.astimezone(pytz.utc).replace(tzinfo=None)
        lang = get_lang(env)
        time_pattern = posix_to_ldml(lang.time_format.replace(":%S", ""), locale=babel_locale_parse(lang.code))
        return format_datetime(env, moment, tz=tz, dt_format=f"{DATE_PATTERN}, {time_pattern}")
    return format_date(env, moment)


def parse_moment(text):
    """``2026-12-01``, ``2026-12-01 10:00:00 UTC`` or ISO 8601 → a date or a datetime, or None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class DteSidecarClient(models.AbstractModel):
    _inherit = "dte.sidecar.client"

    @api.model
    def _dte_message_sentences(self):
        """One sentence per code of the sidecar's catalogue, with its parameters as
        ``%(name)s`` (the drift test holds them equal to the catalogue's)."""
        return {
            # The request itself.
            "request.body_unreadable": _("The DTE service could not read the request"),
            "request.body_late": _("The request did not reach the DTE service within %(seconds)s seconds"),
            "request.body_empty": _("The request to the DTE service was empty"),
            "request.body_not_json": _("The DTE service could not read the request: it is not JSON"),
            "request.body_too_large": _("The request is larger than the DTE service accepts (%(limit)s)"),
            "request.busy": _("The DTE service is busy with other large requests; try again in a moment"),
            "request.malformed": _("The DTE service did not understand the request"),
            "request.answer_too_large": _(
                "The answer would be larger than %(limit)s: ask for fewer records or fields"
            ),
            "rpc.no_such_method": _("The DTE service has no method %(method)s"),
            "rpc.no_such_model": _("The DTE service has no model %(model)s"),
            "rpc.no_such_service": _("The DTE service has no service method %(method)s"),
            "rpc.not_served": _("The DTE service does not serve this address"),
            "rpc.missing_argument": _("%(method)s() is missing the required value %(argument)s"),
            "rpc.unexpected_argument": _("%(method)s() does not take the value %(argument)s"),
            "rpc.repeated_argument": _("%(method)s() received the value %(argument)s twice"),
            "rpc.too_many_arguments": _(
                "%(method)s() takes %(most)s positional values but received %(given)s"
            ),
            "rpc.invalid_argument": _("The value of %(argument)s does not have the expected form"),
            "rpc.unknown_choice": _("%(got)s is not a valid value of %(argument)s (valid values: %(allowed)s)"),
            "rpc.nul_character": _("%(argument)s may not contain a NUL character"),
            "rpc.not_record_id": _("%(argument)s must be the id of an Odoo record"),
            "rpc.out_of_range": _("%(argument)s must be between %(min)s and %(max)s"),
            "orm.invalid_domain": _("The search filter sent to the DTE service is not valid"),
            "orm.invalid_field": _("%(argument)s: %(field)s is not a field of %(model)s"),
            "orm.invalid_order": _("The sort order sent to the DTE service is not valid"),
            "orm.record_missing": _("The record %(model)s(%(id)s) does not exist or was deleted"),
            # Who may do what.
            "auth.denied": _("The DTE sidecar refused the API key. Check the key in the settings."),
            "auth.company_not_of_key": _("The DTE service's API key may not act for company %(company_id)s"),
            "auth.company_not_of_request": _("Company %(company_id)s is not among the companies of this request"),
            # The server.
            "server.internal": _(
                "The DTE service had an internal error (reference %(reference)s); its log has the details"
            ),
            "server.database_unavailable": _(
                "The DTE service's database is restarting; try again in a moment"
            ),
            "server.master_key_missing": _(
                "The DTE service has no master key: certificates and CAF files cannot be stored safely. "
                "Tell the administrator"
            ),
            # Companies, certificates, CAFs and folios.
            "company.unknown": _(
                "Company %(company_id)s is not registered in the DTE service yet: register it first"
            ),
            "company.id_invalid": _("The company must be given by its Odoo id"),
            "company.rut_fixed": _(
                "Company %(company_id)s is registered with RUT %(company_rut)s; a company's RUT does not change"
            ),
            "company.name_length": _("The company name must have 1 to %(max)s characters"),
            "company.resolution_negative": _("The SII resolution number cannot be negative"),
            "company.no_resolution_date": _(
                "Company %(company_id)s has no SII resolution date: set it on the company and register it again"
            ),
            "company.issuer_rut_differs": _(
                "%(argument)s %(rut)s is not the RUT of company %(company_id)s (%(company_rut)s)"
            ),
            "certificate.missing": _("Company %(company_id)s has no signing certificate: load one"),
            "certificate.not_base64": _("The certificate must be a .p12 or .pfx file"),
            "certificate.expired": _("The certificate expired on %(not_after)s"),
            "certificate.not_yet_valid": _("The certificate is not valid yet"),
            "certificate.unusable": _("The certificate cannot be used: check the file and its password"),
            "caf.invalid": _("The CAF file is not valid (%(part)s)"),
            "caf.overlaps": _(
                "Folios %(from)s to %(to)s of DTE %(dte_type)s overlap a CAF already loaded for company "
                "%(company_id)s"
            ),
            "folio.used": _("Folio %(folio)s of DTE %(dte_type)s is already used"),
            "folio.no_caf": _(
                "Folio %(folio)s is not in any CAF of DTE %(dte_type)s loaded for company %(company_id)s"
            ),
            "folio.caf_expired": _("The CAF holding folio %(folio)s expired on %(expired_on)s"),
            "folio.exhausted": _("No folios left for DTE %(dte_type)s of company %(company_id)s: load a new CAF"),
            "folio.taken_over": _(
                "Another process took a folio of the envelope while it was being stamped; try again"
            ),
            # Documents and their sending.
            "document.invalid_field": _("The document's %(field)s is not valid"),
            "document.schema": _("%(argument)s does not follow the SII schema %(schema)s"),
            "document.xml_malformed": _("%(argument)s is not well-formed XML"),
            "document.xml_encoding": _("The encoding of %(argument)s cannot be read"),
            "document.xml_too_large": _("%(argument)s is larger than %(limit)s"),
            "document.xml_not_base64": _("%(argument)s must be sent as a file (base64)"),
            "document.xml_dtd": _("%(argument)s holds a DTD or entity declaration, which is not accepted"),
            "document.xml_not_latin1": _(
                "%(argument)s holds the character '%(character)s', which cannot be written in ISO-8859-1"
            ),
            "document.xml_other_identity": _(
                "%(argument)s holds DTE %(found_type)s folio %(found_folio)s, not DTE %(dte_type)s folio %(folio)s"
            ),
            "document.xml_not_signed_dte": _("%(argument)s is not a signed DTE that could be sent to the SII"),
            "document.move_other_company": _("Invoice %(move_id)s belongs to company %(company_id)s"),
            "document.move_in_progress": _(
                "The DTE of invoice %(move_id)s is being issued by another operation; try again in a moment"
            ),
            "document.move_has_no_dte": _("Invoice %(move_id)s has no DTE"),
            "document.entered_contingency": _(
                "The company entered contingency mode while its documents were being stamped"
            ),
            "document.barcode_failed": _("The electronic stamp (TED) cannot be drawn as a barcode"),
            "document.give_document_or_move": _("Give either the document or the invoice, not both"),
            # A document's fields, as the sidecar checks them.
            "document.request_shape": _("%(field)s does not have the expected form"),
            "document.type_unsupported": _("%(field)s: DTE type %(dte_type)s is not supported (33, 34, 52, 56, 61)"),
            "field.rut_invalid": _("%(field)s is not a valid RUT"),
            "field.date_range": _("%(field)s: %(date)s is outside 2000-01-01 to 2050-12-31"),
            "document.guide_needs_transfer": _(
                "%(field)s: a dispatch guide (52) needs the transfer indicator (IndTraslado 1 to 9)"
            ),
            "field.range": _("%(field)s must be between %(min)s and %(max)s"),
            "document.transfer_only_guide": _("%(field)s: only a dispatch guide (52) takes it, not a DTE %(dte_type)s"),
            "field.actecos_count": _("%(field)s: 1 to %(max)s activity codes are required"),
            "field.acteco_invalid": _("%(field)s: %(acteco)s is not an activity code (1 to 6 digits)"),
            "field.digits_range": _("%(field)s must have %(min)s to %(max)s digits"),
            "field.digits_max": _("%(field)s has more than %(max)s digits"),
            "field.required_on_type": _("%(field)s is required on a DTE %(dte_type)s"),
            "field.amount_digits": _("%(field)s: %(amount)s must have at most 18 digits"),
            "field.not_positive": _("%(field)s: %(value)s must be greater than 0"),
            "field.quantity_digits": _("%(field)s: %(value)s has more than 12 integer or 6 decimal digits"),
            "field.percent_range": _("%(field)s: %(value)s is not a percentage between 0.01 and 999.99"),
            "field.count_range": _("%(field)s: 1 to %(max)s are required, %(got)s were given"),
            "field.too_many": _("%(field)s: at most %(max)s"),
            "document.exempt_only": _("%(field)s: an exempt invoice (34) takes only exempt lines"),
            "document.exempt_no_net": _("%(field)s: an exempt invoice (34) has no taxable amount"),
            "field.required_with": _("%(field)s is required with %(other)s"),
            "field.positive_when_given": _("%(field)s must be greater than 0 when given"),
            "field.too_large": _("%(field)s is too large"),
            "field.expected_got": _("%(field)s: %(expected)s was expected, %(got)s was given"),
            "field.expected_missing": _("%(field)s: %(expected)s was expected and is missing"),
            "field.percent_amount": _(
                "%(field)s: %(expected)s was expected (%(percent)s %% of %(gross)s), %(got)s was given"
            ),
            "field.line_amount": _(
                "%(field)s: %(expected)s was expected (%(quantity)s × %(price)s, rounded, less discount plus "
                "surcharge), %(got)s was given"
            ),
            "field.not_peso_amount": _("%(field)s: %(value)s is not a whole, positive amount of pesos"),
            "document.needs_reference": _(
                "%(field)s: a DTE %(dte_type)s must reference the document it modifies, with code 1 (cancels), 2"
                " (fixes text) or 3 (fixes amounts)"
            ),
            "field.totals_out_of_range": _(
                "%(field)s: %(value)s is out of range (are the discounts larger than the lines?)"
            ),
            "field.required": _("%(field)s is required"),
            "field.too_long": _("%(field)s has %(length)s characters, at most %(max)s are allowed"),
            "field.control_character": _("%(field)s contains the control character U+%(code)s"),
            "field.not_latin1": _("%(field)s contains '%(character)s', which ISO-8859-1 cannot represent"),
            # What the SII said, or why it could not be asked.
            "sii.timeout": _("The SII did not answer in time"),
            "sii.connection": _("The SII could not be reached"),
            "sii.unreadable": _("The SII's answer could not be read"),
            "sii.call_cap": _(
                "Not sent yet: this server's limit of calls per minute to the SII was reached; it is retried "
                "later"
            ),
            "sii.http": _("The SII answered with HTTP status %(status)s"),
            "sii.soap_fault": _("The SII answered with an error of its web service"),
            "sii.token_signing": _("The request for an SII token could not be signed: check the certificate"),
            "sii.internal": _("The connection to the SII failed inside the DTE service"),
            "sii.upload_status": _("The SII refused the upload (STATUS %(status)s): %(detail)s"),
            "sii.answer": _("The SII answered %(sii_code)s: %(detail)s"),
            "sii.received": _("Received by the SII (Track ID %(track_id)s); waiting for its verdict"),
            "sii.received_earlier": _(
                "Received by the SII (Track ID %(track_id)s; an earlier upload of this envelope had reached it)"
            ),
            "sii.verdict": _("The SII's verdict %(sii_code)s: %(detail)s"),
            "document.xml_unusable": _("The stored XML cannot be sent"),
            "contingency.quarantined": _("Set aside: the stored XML cannot be read"),
            # The retry queue.
            "queue.move_refused": _("Retry queue entry %(id)s is %(from)s: it cannot become %(to)s"),
            "queue.abandon_not_pending": _("Entry %(id)s is %(state)s: only pending entries can be abandoned"),
            "queue.requeue_not_abandoned": _("Entry %(id)s is %(state)s: only abandoned entries can be requeued"),
            "queue.retry_not_pending": _(
                "Entry %(id)s is %(state)s: only pending entries can be retried (requeue an abandoned one first)"
            ),
            "queue.changed": _("Retry queue entry %(id)s changed meanwhile: it was not moved to %(to)s"),
            "queue.already_open": _("DTE %(dte_type)s-%(folio)s already has an open entry in the retry queue"),
            "queue.no_entries": _("No retry queue entries were given"),
            "queue.error_message_empty": _("The error message must say what went wrong"),
            # Backups.
            "backup.one_at_a_time": _("Download one backup at a time"),
            "backup.differs": _(
                "DTE %(dte_type)s folio %(folio)s of company %(company_id)s is already backed up "
                "(backup %(backup_id)s) with a different XML; a folio is never reused"
            ),
            "backup.track_id": _("The Track ID must be the SII's (letters and digits, at most 100)"),
            # Contingency.
            "contingency.nothing_to_create": _("There is nothing to create"),
            "contingency.already_pending": _("Invoice %(move_id)s already has a document pending upload"),
        }

    @api.model
    def _dte_argument_labels(self):
        """How the arguments and fields the sidecar names read for a person."""
        return {
            "rut_emisor": _("Issuer RUT"),
            "document.issuer.rut": _("Issuer RUT"),
            "document.receiver.rut": _("Receiver RUT"),
            "rut": _("RUT"),
            "company_id": _("Company"),
            "move_id": _("Invoice"),
            "document_id": _("DTE document"),
            "reason": _("Reason"),
            "comment": _("Comment"),
            "error_type": _("Error type"),
            "error_message": _("Error message"),
            "certificate": _("Certificate"),
            "pkcs12": _("Certificate (.p12)"),
            "password": _("Certificate password"),
            "caf_xml": _("CAF file"),
            "folio": _("Folio"),
            "dte_type": _("DTE type"),
            "xml_content": _("DTE XML"),
            "name": _("Name"),
            "resolution_number": _("SII resolution number"),
            "resolution_date": _("SII resolution date"),
            "track_id": _("Track ID"),
            "batch_size": _("Batch size"),
            # A document's fields (``document.`` in front, or not).
            "issuer.name": _("Issuer's business name"),
            "issuer.giro": _("Issuer's line of business"),
            "issuer.address": _("Issuer's address"),
            "issuer.comuna": _("Issuer's comuna"),
            "issuer.city": _("Issuer's city"),
            "issuer.actecos": _("Issuer's activity codes (Acteco)"),
            "receiver.name": _("Receiver's business name"),
            "receiver.giro": _("Receiver's line of business"),
            "receiver.address": _("Receiver's address"),
            "receiver.comuna": _("Receiver's comuna"),
            "receiver.city": _("Receiver's city"),
            "issue_date": _("Issue date"),
            "lines": _("Invoice lines"),
            "references": _("References"),
            "payment_form": _("Payment method"),
            "totals.net": _("Net amount"),
            "totals.exempt": _("Exempt amount"),
            "totals.iva": _("VAT"),
            "totals.total": _("Total amount"),
        }

    @api.model
    def _dte_message_text(self, code, params, english=""):
        """The sentence of ``code`` with ``params``, in the user's language, with the code
        in parentheses. An unknown code shows ``english`` (logged as a warning)."""
        params = params if isinstance(params, dict) else {}
        template = self._dte_message_sentences().get(code)
        if template is None:
            _logger.warning("dte-sidecar: no sentence for the code %s: its English is shown", code)
            return self._dte_with_code(english or code, code)
        declared = vocabulary.messages().get(code, {}).get("params") or list(params)
        names = sentence_params(code, [*declared, *(name for name in params if name not in declared)])
        values = {name: self._dte_param_text(code, name, params.get(name)) for name in names}
        try:
            text = template % values
        except (KeyError, ValueError, TypeError):
            _logger.warning("dte-sidecar: the sentence of %s does not take its parameters", code)
            text = english or template
        return self._dte_with_code(text, code)

    @api.model
    def _dte_with_code(self, text, code):
        text = (text or "").strip()
        return f"{text} ({code})" if code else text

    @api.model
    def _dte_param_text(self, code, name, value):
        """One parameter as a person reads it."""
        if value is None:
            return "?"
        kind = CODE_PARAM_KINDS.get(code, {}).get(name) or PARAM_KINDS.get(name, "raw")
        if kind == "argument" and isinstance(value, str):
            labels = self._dte_argument_labels()
            return labels.get(value) or labels.get(value.removeprefix("document."), value)
        if kind in ("number", "bytes") and isinstance(value, (int, float)) and not isinstance(value, bool):
            if kind == "bytes":
                return format_size(self.env, value)
            return formatLang(self.env, value, digits=decimals(value))
        if kind == "moment":
            moment = parse_moment(value)
            return format_moment(self.env, moment) if moment else str(value)
        if kind == "company" and isinstance(value, int) and not isinstance(value, bool):
            # A company's name is no secret (it is in the company switcher).
            company = self.env["res.company"].sudo().browse(value).exists()
            return company.name if company else str(value)
        if kind == "move" and isinstance(value, int) and not isinstance(value, bool):
            move = self.env["account.move"].browse(value).exists()
            if move and move.has_access("read"):
                return move.display_name
            return str(value)
        if kind == "queue_entry" and isinstance(value, int) and not isinstance(value, bool):
            entry = self.env["dte.failed.queue"].browse(value).exists()
            if entry and entry.has_access("read"):
                return entry.display_name
            return str(value)
        if kind == "queue_state":
            return self._dte_label("dte.failed.queue", "state", value)
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return str(value)

    @api.model
    def _dte_label(self, model, field, value):
        """The translated label of a selection value, or the value."""
        labels = dict(self.env[model]._fields[field]._description_selection(self.env))
        if isinstance(value, list):
            return ", ".join(str(labels.get(item, item)) for item in value)
        return str(labels.get(value, value))

    @api.model
    def _dte_remote_error_text(self, error):
        """What a person reads for a :class:`SidecarRemoteError` that carries a code."""
        if error.code == "rpc.unknown_choice":
            return self._dte_unknown_choice_text(error)
        return self._dte_message_text(error.code, error.params, error.message)

    @api.model
    def _dte_unknown_choice_text(self, error):
        """``rpc.unknown_choice``: the valid values as the selections label them, when the
        addon knows the argument's values."""
        params = dict(error.params)
        argument = params.get("argument")
        field = CHOICE_FIELDS.get(argument)
        if field and isinstance(params.get("allowed"), list):
            params["allowed"] = [self._dte_label(*field, item) for item in params["allowed"]]
        return self._dte_message_text(error.code, params, error.message)
