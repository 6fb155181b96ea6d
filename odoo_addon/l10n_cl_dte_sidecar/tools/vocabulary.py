# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sidecar's vocabulary, as this addon was built against.

``sidecar_vocabulary.json`` beside this module is what the sidecar publishes
(``dte-sidecar vocabulary``, or ``dte.vocabulary.get`` over RPC): the states of each
lifecycle, the error types, contingency reasons, alert kinds, DTE types and every message
code with its parameters. The addon's selections take their VALUES from it; their labels
are the addon's own (translatable) words. ``tests/test_vocabulary.py`` compares this
snapshot with the running sidecar's and fails when they differ, when a value has no label
or when a code has no sentence. To take a new sidecar's vocabulary:
``dte-sidecar vocabulary > odoo_addon/l10n_cl_dte_sidecar/tools/sidecar_vocabulary.json``.

This module imports nothing from Odoo.
"""

import json
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().with_name("sidecar_vocabulary.json")
VOCABULARY = json.loads(SNAPSHOT.read_text(encoding="utf-8"))

#: Every selection built here: ``(path, labels, extras)``, for the drift test.
SELECTIONS = []


def values(path):
    """The list at a dotted ``path`` of the snapshot (``states.document``, ``error_types``)."""
    node = VOCABULARY
    for part in path.split("."):
        node = node[part]
    return list(node)


def selection(path, labels, extras=()):
    """``[(value, label), ...]`` for the values at ``path``, labelled from ``labels``.

    ``extras`` are the addon's own values (``[(value, label, after_value)]``), put after
    the sidecar's value they follow. A value without a label shows as itself (the drift
    test fails on it).
    """
    SELECTIONS.append((path, labels, tuple(extra[0] for extra in extras)))
    items = [(value, labels.get(value, value)) for value in values(path)]
    for value, label, after in extras:
        position = next((i + 1 for i, item in enumerate(items) if item[0] == after), len(items))
        items.insert(position, (value, label))
    return items


def messages():
    """``{code: {"code", "params", "english"}}`` of the catalogue."""
    return {message["code"]: message for message in VOCABULARY["messages"]}
