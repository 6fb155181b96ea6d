# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import sidecar_rpc

_logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8070"
PARAM_URL = "l10n_cl_dte_sidecar.url"
PARAM_API_KEY = "l10n_cl_dte_sidecar.api_key"
PARAM_TIMEOUT = "l10n_cl_dte_sidecar.timeout"


class DteSidecarClient(models.AbstractModel):
    """The one place that talks to the sidecar.

    Every call is ``POST <url>/json/2/<model>/<method>`` with the named arguments as JSON
    and ``Authorization: bearer <key>``, the way any Odoo 19 client calls Odoo. The user
    who acts travels in ``context`` (``uid``, ``login``, ``lang``), as Odoo clients send it,
    so that the sidecar's audit log names a person. Tests patch :meth:`_call`.
    """

    _name = "dte.sidecar.client"
    _description = "DTE sidecar client"

    @api.model
    def _get_config(self):
        icp = self.env["ir.config_parameter"].sudo()
        url = (icp.get_param(PARAM_URL) or DEFAULT_URL).strip()
        api_key = (icp.get_param(PARAM_API_KEY) or "").strip()
        try:
            timeout = float(icp.get_param(PARAM_TIMEOUT) or sidecar_rpc.DEFAULT_TIMEOUT)
        except ValueError:
            timeout = sidecar_rpc.DEFAULT_TIMEOUT
        return url, api_key, timeout if timeout > 0 else sidecar_rpc.DEFAULT_TIMEOUT

    @api.model
    def _dte_is_configured(self):
        """True once an API key is set (the scheduled actions skip quietly until then)."""
        return bool(self._get_config()[1])

    @api.model
    def _call(self, model, method, **params):
        """Call ``model.method(**params)`` on the sidecar and return its result.

        Errors become a ``UserError`` (``ValidationError`` for a refused argument,
        ``AccessError`` for a refused key or company) that a person can read: its sentence
        is built from the error's code and parameters (``dte_sidecar_message.py``), never
        from the sidecar's English. The API key never appears in a log line or a message.
        """
        url, api_key, timeout = self._get_config()
        if not api_key:
            raise UserError(_(
                "The DTE sidecar API key is not set. Set it in Settings > Invoicing > "
                "Chilean DTE (sidecar)."
            ))
        params.setdefault("context", {
            "uid": self.env.uid,
            "login": self.env.user.login,
            "lang": self.env.lang or "es_CL",
        })
        try:
            return sidecar_rpc.call(url, api_key, model, method, params, timeout=timeout)
        except sidecar_rpc.SidecarTimeout:
            raise UserError(_(
                "The DTE sidecar at %(url)s did not answer within %(timeout)s seconds. "
                "The operation may still complete: check the document's state before trying "
                "again (sending the same invoice twice never produces a second folio).",
                url=url, timeout=int(timeout),
            )) from None
        except sidecar_rpc.SidecarUnreachable:
            raise UserError(_(
                "Cannot reach the DTE sidecar at %(url)s. Check that the service is running "
                "and that the URL in the settings is right.",
                url=url,
            )) from None
        except sidecar_rpc.SidecarRemoteError as error:
            # The English message goes to the log only: a person reads the code's sentence.
            _logger.info(
                "dte-sidecar refused %s.%s: %s %s: %s", model, method, error.name, error.code or "(no code)",
                error.message,
            )
            if error.status == 401 or error.short_name == "AccessDenied":
                raise AccessError(_(
                    "The DTE sidecar refused the API key. Check the key in the settings."
                )) from None
            if error.code:
                text = self._dte_remote_error_text(error)
            elif error.is_missing:
                # A sidecar older than the codes.
                text = _("DTE sidecar: %(message)s", message=error.message or _("the record does not exist"))
            else:
                text = _("DTE sidecar: %(message)s", message=error.message)
            if error.is_access_error:
                raise AccessError(text) from None
            if error.short_name == "ValidationError":
                raise ValidationError(text) from None
            raise UserError(text) from None
        except sidecar_rpc.SidecarProtocolError as error:
            _logger.warning("dte-sidecar %s.%s: %s", model, method, error)
            raise UserError(_(
                "The DTE sidecar gave an unexpected answer (HTTP %(status)s). "
                "See the server log for details.",
                status=error.status or "-",
            )) from None
        except sidecar_rpc.SidecarConfigError as error:
            raise UserError(_("The DTE sidecar is not configured correctly: %(error)s", error=str(error))) from None
