# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

I18N = Path(__file__).resolve().parents[1] / "i18n"
PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|%d")


@tagged("post_install", "-at_install")
class TestSpanish(TransactionCase):
    """Every string of the addon an accountant may see has its es_CL translation."""

    def test_every_term_is_translated_to_es_cl(self):
        reader = TranslationModuleReader(self.env.cr, modules=["l10n_cl_dte_sidecar"], lang="en_US")
        terms = {row[4] for row in reader if row[4]}
        self.assertGreater(len(terms), 200)
        translations = {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / "es_CL.po"))}
        missing = sorted(term for term in terms if not translations.get(term))
        self.assertFalse(missing, f"not translated in i18n/es_CL.po: {missing}")
        for term in terms:
            self.assertEqual(
                sorted(PLACEHOLDER.findall(term)), sorted(PLACEHOLDER.findall(translations[term])),
                f"placeholders differ in the translation of {term!r}",
            )

    def test_spanish_is_what_a_chilean_user_sees(self):
        self.env["res.lang"]._activate_lang("es_CL")
        self.env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
        env = self.env(context={"lang": "es_CL"})
        self.assertEqual(env.ref("l10n_cl_dte_sidecar.menu_dte_failed_queue").name, "Cola de reintentos")
        labels = dict(env["dte.document"]._fields["state"]._description_selection(env))
        self.assertEqual(labels["accepted_with_objections"], "Aceptado con reparos")
        arch = env["account.move"].get_view(env.ref("account.view_move_form").id)["arch"]
        self.assertIn("Enviar al SII", arch)
