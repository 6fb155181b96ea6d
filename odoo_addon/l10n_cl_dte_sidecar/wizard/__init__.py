# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import dte_contingency_wizard
from . import dte_company_upload_wizard
