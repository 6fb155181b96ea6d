# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
# Plain Python (no Odoo import): tested outside Odoo by odoo_addon/tests/.
from . import dte_json, sidecar_rpc
