# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a person reads when the sidecar refuses: a sentence of the addon per code of the
sidecar's catalogue, in the user's language, never the sidecar's English."""

import re
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models.dte_sidecar_message import sentence_params
from ..tools import sidecar_rpc, vocabulary
from .common import DteCommon

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CALL = "odoo.addons.l10n_cl_dte_sidecar.models.dte_sidecar_client.sidecar_rpc.call"


def message_params(vocab):
    """``{code: [params]}`` of a vocabulary's messages: what the addon depends on. The
    English beside them is for logs, and may change freely."""
    return {message["code"]: list(message.get("params") or []) for message in vocab.get("messages", [])}


def message_drift(live, known):
    """The codes of ``live`` (the sidecar's) missing from ``known`` (the snapshot), gone
    from it, or with other parameters."""
    problems = []
    for code in sorted(set(live) | set(known)):
        if code not in known:
            problems.append(f"messages: the sidecar publishes {code} {live[code]}, the snapshot lacks it "
                            "(tools/sidecar_vocabulary.json)")
        elif code not in live:
            problems.append(f"messages: the snapshot has {code}, the sidecar no longer publishes it "
                            "(tools/sidecar_vocabulary.json)")
        elif live[code] != known[code]:
            problems.append(f"messages: {code} takes {live[code]} in the sidecar, {known[code]} in the "
                            "snapshot (tools/sidecar_vocabulary.json)")
    return problems


def vocabulary_problems(env, vocab, snapshot=None):
    """What the addon lacks to speak ``vocab`` (a vocabulary as the sidecar publishes it),
    as sentences; empty when nothing. ``snapshot`` (the addon's, by default) must hold the
    same codes with the same parameters, states and lists; a message's English wording
    alone is no drift."""
    snapshot = vocabulary.VOCABULARY if snapshot is None else snapshot
    problems = []
    for key in sorted(set(vocab) | set(snapshot)):
        if key == "messages":
            problems += message_drift(message_params(vocab), message_params(snapshot))
        elif vocab.get(key) != snapshot.get(key):
            problems.append(f"{key}: the sidecar publishes {vocab.get(key)!r}, the snapshot has "
                            f"{snapshot.get(key)!r} (tools/sidecar_vocabulary.json)")
    client = env["dte.sidecar.client"]
    sentences = client._dte_message_sentences()
    codes = {message["code"]: message["params"] for message in vocab.get("messages", [])}
    for code, params in codes.items():
        if code not in sentences:
            problems.append(f"{code}: no sentence in _dte_message_sentences")
            continue
        expected = set(sentence_params(code, params))
        used = set(PLACEHOLDER.findall(sentences[code]))
        if used != expected:
            problems.append(f"{code}: the sentence uses {sorted(used)}, the code's parameters are {sorted(expected)}")
    # A sentence for a code the sidecar does not have (yet, or any more) harms nobody: the
    # addon may speak to a sidecar older or newer than its snapshot.
    for path, labels, extras in vocabulary.SELECTIONS:
        node = vocab
        for part in path.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        for value in node or []:
            if value not in labels:
                problems.append(f"{path}: the value {value!r} has no label")
        for value in extras:
            if value in (node or []):
                problems.append(f"{path}: the addon's own value {value!r} is now the sidecar's")
    return problems


@tagged("post_install", "-at_install")
class TestSidecarMessages(DteCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env_es = cls._spanish_env()

    def refusal(self, code, params, name="odoo.exceptions.UserError", english="some English", status=422,
                retryable=False):
        return sidecar_rpc.SidecarRemoteError(name, english, status, [english], code=code, params=params,
                                              retryable=retryable)

    def raised(self, error, env=None):
        env = env or self.env_es
        # AccessError is a UserError.
        with patch(CALL, side_effect=error), self.assertRaises(UserError) as caught:
            env["dte.sidecar.client"]._call("dte.test", "run")
        return caught.exception

    def test_the_snapshot_is_spoken_whole(self):
        """Every code of the snapshot has a sentence with exactly its parameters, and every
        value of a selection has a label (the live test compares with the sidecar)."""
        self.assertEqual(vocabulary_problems(self.env, vocabulary.VOCABULARY), [])
        self.assertGreater(len(vocabulary.messages()), 70)

    def test_a_planted_difference_is_found(self):
        planted = {**vocabulary.VOCABULARY, "contingency_reasons": [*vocabulary.values("contingency_reasons"), "flood"]}
        planted["messages"] = [*planted["messages"], {"code": "sii.new_thing", "params": ["x"], "english": "{x}"}]
        problems = vocabulary_problems(self.env, planted)
        self.assertTrue(any(p.startswith("contingency_reasons: the sidecar publishes") for p in problems), problems)
        self.assertIn("contingency_reasons: the value 'flood' has no label", problems)
        self.assertIn("sii.new_thing: no sentence in _dte_message_sentences", problems)
        self.assertIn("messages: the sidecar publishes sii.new_thing ['x'], the snapshot lacks it "
                      "(tools/sidecar_vocabulary.json)", problems)
        # A code gone, a code's parameters renamed, a state more.
        states = {**vocabulary.VOCABULARY["states"],
                  "queue": [*vocabulary.values("states.queue"), "frozen"]}
        changed = {**vocabulary.VOCABULARY, "states": states, "messages": [
            {**message, "params": ["status", "text"]} if message["code"] == "sii.http" else message
            for message in vocabulary.VOCABULARY["messages"] if message["code"] != "sii.received_earlier"
        ]}
        problems = vocabulary_problems(self.env, changed)
        self.assertIn("messages: the snapshot has sii.received_earlier, the sidecar no longer publishes it "
                      "(tools/sidecar_vocabulary.json)", problems)
        self.assertIn("messages: sii.http takes ['status', 'text'] in the sidecar, ['status', 'detail'] in the "
                      "snapshot (tools/sidecar_vocabulary.json)", problems)
        self.assertIn("sii.http: the sentence uses ['status'], the code's parameters are ['status', 'text']", problems)
        self.assertTrue(any(p.startswith("states: the sidecar publishes") for p in problems), problems)
        self.assertIn("states.queue: the value 'frozen' has no label", problems)

    def test_a_new_english_wording_is_no_drift(self):
        """The sidecar rewords a message (its English, for logs): nothing the addon shows
        changes, and the drift test stays green."""
        reworded = {**vocabulary.VOCABULARY, "messages": [
            {**message, "english": "A wholly different English wording: " + message["english"]}
            for message in vocabulary.VOCABULARY["messages"]
        ]}
        self.assertEqual(vocabulary_problems(self.env, reworded), [])
        client = self.env_es["dte.sidecar.client"]
        params = {"status": "500", "detail": "Internal Server Error"}
        with patch.object(vocabulary, "VOCABULARY", reworded):
            reworded_text = client._dte_stored_text("sii.http", params, "A wholly different English wording")
        self.assertEqual(reworded_text, client._dte_stored_text("sii.http", params, "the SII answered HTTP 500"))
        self.assertEqual(reworded_text, "El SII respondió con el estado HTTP 500 (sii.http)")
        renamed = {**vocabulary.VOCABULARY, "messages": [
            {**message, "params": ["company_id", "rut"]} if message["code"] == "company.issuer_rut_differs" else message
            for message in vocabulary.VOCABULARY["messages"]
        ]}
        self.assertIn(
            "company.issuer_rut_differs: the sentence uses ['argument', 'company_id', 'company_rut', 'rut'], "
            "the code's parameters are ['company_id', 'rut']",
            vocabulary_problems(self.env, renamed, snapshot=renamed),
        )

    def test_selections_take_their_values_from_the_vocabulary(self):
        fields_ = {
            ("dte.document", "state"): "states.document",
            ("dte.failed.queue", "state"): "states.queue",
            ("dte.failed.queue", "error_type"): "error_types",
            ("dte.contingency", "reason"): "contingency_reasons",
            ("dte.contingency.wizard", "reason"): "contingency_reasons",
            ("dte.alert", "rule_kind"): "alert_kinds",
            ("dte.backup", "dte_type"): "dte_types",
        }
        for (model, field), path in fields_.items():
            with self.subTest(model=model, field=field):
                values = [value for value, _label in self.env[model]._fields[field].selection]
                self.assertEqual(values, vocabulary.values(path))
        statuses = [value for value, _label in self.env["dte.failed.queue"]._fields["queue_status"].selection]
        self.assertEqual(statuses, ["pending", "waiting_person", "retrying", "success", "abandoned"])
        reasons = dict(self.env["dte.contingency"]._fields["reason"]._description_selection(self.env_es))
        self.assertEqual(reasons["network"], "Problema de red")

    def test_a_refusal_reads_in_spanish_with_its_code(self):
        company = self.company
        error = self.refusal("company.issuer_rut_differs", {
            "argument": "rut_emisor", "rut": "76123456-0", "company_id": company.id, "company_rut": "76000001-9",
        }, name="odoo.exceptions.ValidationError",
            english=f"rut_emisor: 76123456-0 is not the RUT of company {company.id} (76000001-9)")
        raised = self.raised(error)
        self.assertIsInstance(raised, ValidationError)
        # The company by its name, the RUTs as they came, the code for support.
        self.assertEqual(
            str(raised.args[0]),
            f"El RUT emisor 76123456-0 no es el de la empresa {company.name} (76000001-9) "
            "(company.issuer_rut_differs)",
        )
        # An English user reads English, built from the same code.
        self.assertEqual(
            str(self.raised(error, self.env(context={"lang": "en_US"})).args[0]),
            f"Issuer RUT 76123456-0 is not the RUT of company {company.name} (76000001-9) "
            "(company.issuer_rut_differs)",
        )
        # An invoice by its name; a record the user cannot see (or that is gone) by its id.
        move = self._create_invoice()
        client = self.env_es["dte.sidecar.client"]
        self.assertEqual(client._dte_message_text("document.move_has_no_dte", {"move_id": move.id}),
                         f"La factura {move.display_name} no tiene DTE (document.move_has_no_dte)")
        self.assertEqual(client._dte_message_text("document.move_has_no_dte", {"move_id": 987654321}),
                         "La factura 987654321 no tiene DTE (document.move_has_no_dte)")

    def test_the_spanish_does_not_depend_on_the_english(self):
        params = {"argument": "reason", "got": "boom", "allowed": vocabulary.values("contingency_reasons")}
        texts = {
            str(self.raised(self.refusal("rpc.unknown_choice", params, english=english)).args[0])
            for english in ("reason: boom is not one of manual, sii_unavailable", "anything else at all", "")
        }
        self.assertEqual(len(texts), 1, texts)
        text = texts.pop()
        self.assertEqual(
            text,
            "boom no es un valor válido de «Motivo» (valores válidos: Manual, SII no disponible, "
            "Problema con el certificado, Problema de red, Otro) (rpc.unknown_choice)",
        )

    def test_the_database_restarting_is_worth_a_new_try(self):
        error = self.refusal("server.database_unavailable", {"retry_after_secs": 1},
                             name="odoo.exceptions.ServerError", status=503, retryable=True)
        self.assertEqual(
            str(self.raised(error).args[0]),
            "La base de datos del servicio DTE se está reiniciando; intente de nuevo en un momento "
            "(server.database_unavailable)",
        )

    def test_numbers_and_dates_in_the_users_language(self):
        client = self.env_es["dte.sidecar.client"]
        self.assertEqual(
            client._dte_message_text("request.body_too_large", {"limit": 1048576}),
            "La solicitud supera el tamaño que acepta el servicio DTE (1,0 MB) (request.body_too_large)",
        )
        self.assertEqual(
            client._dte_message_text("rpc.out_of_range", {"argument": "batch_size", "min": 1, "max": 10000}),
            "El valor de «Tamaño del lote» debe estar entre 1 y 10.000 (rpc.out_of_range)",
        )
        # A UTC moment in the user's time zone (Santiago is UTC-3 in January), as the lists
        # write it; a date as the language writes dates.
        self.assertEqual(
            client._dte_message_text("certificate.expired", {"not_after": "2026-01-31 03:00:00 UTC"}),
            "El certificado venció el 31 ene 2026, 00:00 (certificate.expired)",
        )
        self.assertEqual(
            client._dte_message_text("folio.caf_expired", {"folio": 1500, "expired_on": "2026-07-05"}),
            "El CAF que contiene el folio 1500 venció el 05-07-2026 (folio.caf_expired)",
        )
        self.assertEqual(
            client._dte_message_text("field.line_amount", {
                "field": "document.lines[0].amount", "expected": 1234567, "quantity": 2.5, "price": 493827,
                "got": 1234000}),
            "«document.lines[0].amount»: se esperaba 1.234.567 (2,5 × 493.827, redondeado, menos descuento más "
            "recargo) y se indicó 1.234.000 (field.line_amount)",
        )
        # A document's field by its label; one the addon has no label for as it came.
        self.assertEqual(client._dte_message_text("field.required", {"field": "document.receiver.giro"}),
                         "«Giro del receptor» es obligatorio (field.required)")
        self.assertEqual(client._dte_message_text("field.required", {"field": "document.lines[2].name"}),
                         "«document.lines[2].name» es obligatorio (field.required)")
        # The SII's own words are shown; words of ours for support are not.
        self.assertEqual(
            client._dte_message_text("sii.verdict", {"sii_code": "RCH", "detail": "DTE Rechazado: Error en Monto"}),
            "Veredicto del SII RCH: DTE Rechazado: Error en Monto (sii.verdict)",
        )
        self.assertEqual(client._dte_message_text("sii.connection", {"detail": "Connection refused (os error 111)"}),
                         "No se pudo conectar con el SII (sii.connection)")
        # Queue states by their labels.
        self.assertEqual(
            client._dte_message_text("queue.retry_not_pending", {"id": 987654321, "state": "abandoned"}),
            "La entrada 987654321 está en estado Abandonado: solo las entradas pendientes se pueden reintentar "
            "(primero vuelva a encolar una abandonada) (queue.retry_not_pending)",
        )

    def test_an_unknown_code_shows_the_english_and_warns(self):
        logger = "odoo.addons.l10n_cl_dte_sidecar.models.dte_sidecar_message"
        error = self.refusal("sii.something_new", {"x": 1}, english="the SII said something new")
        with self.assertLogs(logger, level="WARNING") as logs:
            raised = self.raised(error)
        self.assertEqual(str(raised.args[0]), "the SII said something new (sii.something_new)")
        self.assertIn("sii.something_new", logs.output[0])

    def test_access_refusals_stay_access_errors(self):
        error = self.refusal("auth.company_not_of_key", {"company_id": 987654}, name="odoo.exceptions.AccessError",
                             status=403)
        raised = self.raised(error)
        self.assertIsInstance(raised, AccessError)
        self.assertEqual(
            str(raised.args[0]),
            "La clave API del servicio DTE no puede actuar por la empresa 987654 (auth.company_not_of_key)",
        )
