# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The drift test: the running sidecar's vocabulary is the addon's snapshot, and the addon
has a label for every value and a sentence for every code; and what a person reads of a
real refusal does not depend on the sidecar's English."""

from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..tools import sidecar_rpc, vocabulary
from .common import COMPANY_RUT, DteLiveCommon
from .test_sidecar_messages import vocabulary_problems

OTHER_RUT = "76123456-0"


@tagged("post_install", "-at_install", "dte_live")
class TestVocabularyDrift(DteLiveCommon, TransactionCase):

    def test_the_sidecar_speaks_the_addons_vocabulary(self):
        with self.step() as env:
            live = env["dte.sidecar.client"]._call("dte.vocabulary", "get")
            problems = vocabulary_problems(env, live)
        self.assertEqual(live["version"], vocabulary.VOCABULARY["version"])
        self.assertFalse(problems, "the addon and the sidecar drifted apart:\n" + "\n".join(problems))

    def refused(self, env, call, english=None):
        """The text a person reads when ``call(env)`` is refused; the sidecar's English is
        replaced by ``english`` on the way, when given. Also returns the error as it came."""
        seen = []
        parse_error = sidecar_rpc.parse_error

        def rewrite(status, body):
            error = parse_error(status, body)
            if error is not None:
                seen.append(error.message)
                if english is not None:
                    error.message = english
            return error

        with patch.object(sidecar_rpc, "parse_error", side_effect=rewrite), \
                self.assertRaises(UserError) as caught:
            call(env)
        return str(caught.exception.args[0]), seen[0]

    def test_a_real_refusal_reads_the_same_whatever_the_english(self):
        env_calls = {
            "issuer": lambda env: env["dte.sidecar.client"]._call(
                "dte.backup", "backup_dte", dte_type="33", folio=1, xml_content="<DTE/>", track_id=None,
                move_id=1, rut_emisor=OTHER_RUT, company_id=self.live_company_id,
            ),
            "reason": lambda env: env["dte.sidecar.client"]._call(
                "dte.contingency", "enable_contingency", company_id=self.live_company_id, reason="boom",
            ),
        }
        with self.step() as env:
            env["res.lang"]._activate_lang("es_CL")
            env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
        with self.step() as env:
            company_name = env["res.company"].browse(self.live_company_id).name
        for name, call in env_calls.items():
            with self.subTest(name), self.step() as env:
                env_es = env(context={"lang": "es_CL", "tz": "America/Santiago"})
                spanish, english = self.refused(env_es, call)
                renamed, _ = self.refused(env_es, call, english="A wholly different English wording")
                self.assertEqual(spanish, renamed)
                self.assertNotIn(english, spanish)
                if name == "issuer":
                    self.assertEqual(
                        spanish,
                        f"El RUT emisor {OTHER_RUT} no es el de la empresa {company_name} "
                        f"({COMPANY_RUT}) (company.issuer_rut_differs)",
                    )
                else:
                    self.assertTrue(spanish.startswith("boom no es un valor válido de «Motivo»"), spanish)
                    self.assertIn("Problema de red", spanish)
