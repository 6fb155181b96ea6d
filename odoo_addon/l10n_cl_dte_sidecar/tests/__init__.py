# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_account_move_dte
from . import test_sidecar_records
from . import test_multi_company
from . import test_i18n
from . import test_smoke_backup
from . import test_smoke_failed_queue
from . import test_smoke_contingency
from . import test_screens
from . import test_smoke_screens
from . import test_tour_settings
from . import test_tours
from . import test_smoke_print
from . import test_send_chatter
from . import test_backup_download
from . import test_search_views
from . import test_spec_api
from . import test_scheduled_actions
