# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Download XML: a backup's signed XML, byte for byte, with a type that matches its bytes.

The SII's documents are ISO-8859-1 (their XML declaration says so). Odoo's
``/web/content`` would serve them as ``text/xml; charset=utf-8``, and under RFC 7303 the
charset parameter of ``text/xml`` wins over the declaration: a conforming reader would
decode them as UTF-8 and break every accented letter. Here they go out as
``application/xml`` with the charset their declaration names.
"""

import base64
import re

from odoo import http
from odoo.exceptions import MissingError
from odoo.http import content_disposition, request

#: The encoding an XML declaration names (XML 1.0, production [80]).
XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")


def xml_content_type(xml):
    """``application/xml``, with the charset the XML declaration of ``xml`` names (none
    when it names none: then the XML itself says UTF-8 or UTF-16, by its first bytes)."""
    match = XML_ENCODING.match(xml)
    if not match:
        return "application/xml"
    return "application/xml; charset={}".format(match.group(1).decode("ascii"))


class DteBackupController(http.Controller):
    @http.route(
        ["/l10n_cl_dte_sidecar/backup/<int:backup_id>/xml",
         "/l10n_cl_dte_sidecar/backup/<int:backup_id>/xml/<string:filename>"],
        type="http", auth="user", methods=["GET"],
    )
    def download_backup_xml(self, backup_id, filename=None):
        """The backup's XML as the sidecar keeps it. The name in the URL is only for the
        browser's address bar: the file is named after the backup. Access is checked as the
        model does (``_dte_fetch_xml``: the user must be allowed to read the backup)."""
        backup = request.env["dte.backup"].browse(backup_id).exists()
        if not backup:
            raise MissingError(request.env._("This DTE backup does not exist or was removed."))
        fetched = backup._dte_fetch_xml()
        xml = base64.b64decode(fetched["xml_base64"])
        return request.make_response(xml, headers=[
            ("Content-Type", xml_content_type(xml)),
            ("Content-Length", str(len(xml))),
            ("Content-Disposition", content_disposition(fetched["filename"])),
            ("X-Content-Type-Options", "nosniff"),
        ])
