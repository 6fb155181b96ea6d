# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import dte_sidecar_client
from . import dte_sidecar_view_mixin
from . import dte_document
from . import dte_backup
from . import dte_failed_queue
from . import dte_contingency
from . import dte_contingency_pending
from . import dte_audit_log
from . import dte_alert
from . import dte_caf
from . import dte_dashboard
from . import account_move
from . import account_move_print
from . import res_company
from . import res_config_settings
