"""Every text the window shows goes through tr(), and the English catalog has it.

Regenerate the catalog with ``python scripts/i18n.py`` after changing a text.
"""

from __future__ import annotations

import ast
import importlib.util
import string
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from launcher.core.kiosk import broker_not_ready
from launcher.core.startup import StartError, request
from launcher.core.texts import Text
from launcher.ui.coretext import CONTEXT

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "resources" / "i18n" / "rubicon_en.ts"
UI = ROOT / "launcher" / "ui"


def texts_in_code() -> set[tuple[str, str]]:
    """(context, text) of every self.tr("...") and translate("context", "...")."""
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST, context: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                args = child.args
                if (
                    child.func.attr == "tr"
                    and args
                    and isinstance(args[0], ast.Constant)
                    and isinstance(args[0].value, str)
                ):
                    found.add((context, args[0].value))
                if (
                    child.func.attr == "translate"
                    and len(args) >= 2
                    and all(isinstance(a, ast.Constant) for a in args[:2])
                ):
                    found.add((str(args[0].value), str(args[1].value)))  # type: ignore[attr-defined]
            visit(child, context)

    for path in sorted(UI.rglob("*.py")):
        visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def texts_in_catalog() -> set[tuple[str, str]]:
    root = ET.parse(CATALOG).getroot()  # noqa: S314 - our own file
    return {
        (context.findtext("name") or "", message.findtext("source") or "")
        for context in root.iter("context")
        for message in context.iter("message")
    }


def test_the_catalog_is_an_english_ts_file() -> None:
    root = ET.parse(CATALOG).getroot()  # noqa: S314
    assert root.tag == "TS"
    assert root.get("sourcelanguage") == "en"


def test_every_text_of_the_window_is_in_the_catalog() -> None:
    code = texts_in_code()
    assert len(code) > 150
    missing = sorted(code - texts_in_catalog())
    assert not missing, f"run python scripts/i18n.py; missing: {missing[:10]}"


def test_the_sign_in_and_desktop_pages_translate_their_texts() -> None:
    catalog = texts_in_catalog()
    for expected in [
        ("SignInPage", "Sign in"),
        ("SignInPage", "Caps Lock is on"),
        ("DesktopsPage", "Search desktops"),
        ("DesktopState", "Available"),
        ("MainWindow", "Connecting to %s…"),
        ("SettingsDialog", "Rubicon settings"),
    ]:
        assert expected in catalog


# -- what launcher.core says: translated by its kind ------------------------------

CORE = ROOT / "launcher" / "core"
# What carries a sentence for the user from the core: its first argument and hint=.
CARRIERS = {
    "BrokerError",
    "BrokerUnreachable",
    "BrokerProtocolError",
    "LaunchError",
    "ClientNotFound",
    "CredentialError",
    "CredentialStoreError",
    "ExitReason",
    "LinkError",
    "StartError",
}


def core_texts() -> dict[str, str]:
    """scripts/i18n.py's reading of every Text(key, template) call in launcher/core."""
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    texts: dict[str, str] = script.core_texts()
    return texts


def core_texts_in_catalog() -> dict[str, str]:
    """Key (the disambiguation) → English source of the catalog's CoreText context."""
    root = ET.parse(CATALOG).getroot()  # noqa: S314
    return {
        message.findtext("comment") or "": message.findtext("source") or ""
        for context in root.iter("context")
        if context.findtext("name") == CONTEXT
        for message in context.iter("message")
    }


def test_every_core_text_kind_has_its_entry_in_the_catalog() -> None:
    texts = core_texts()  # also: a literal key and template each, one template a key
    assert len(texts) > 100
    assert core_texts_in_catalog() == texts, "run python scripts/i18n.py"
    for key, template in texts.items():
        # What the window fills in must be the fields of the English.
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert all(name.isidentifier() for name in fields), key


def plain_sentences(folder: Path) -> list[str]:
    """Where an error that carries a sentence for the user is made with a literal or an
    f-string (``file:line``): shown through ``coretext``, it would stay in English."""
    plain: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in CARRIERS
            ):
                continue
            said = node.args[:1] + [k.value for k in node.keywords if k.arg in ("message", "hint")]
            for value in said:
                written = isinstance(value, ast.Constant) and value.value not in ("", None)
                if written or isinstance(value, ast.JoinedStr):
                    plain.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return plain


def test_no_core_error_carries_a_sentence_that_is_not_a_text() -> None:
    """A message or hint written as a literal or an f-string would reach the user untranslated.

    Links and start options included: a link handed to the window is refused in its words.
    """
    assert plain_sentences(CORE) == []


def test_no_error_the_window_makes_carries_a_sentence_that_is_not_a_text() -> None:
    """The windows make core errors too (the kiosk's broker that is not ready yet)."""
    assert plain_sentences(UI) == []


@pytest.mark.parametrize(
    ("link", "options", "key"),
    [
        ("rubicon://broker.example.com/lab?colour=red", {}, "link.unknown_options"),
        ("rubicon://broker.example.com:99999/lab", {}, "link.bad_port"),
        ("rubicon://broker.example.com/lab", {"protocol": "x11"}, "start.bad_protocol"),
        (None, {"desktop": "Lab Desktop"}, "start.bad_desktop"),
        (None, {"non_interactive": True}, "start.non_interactive_needs"),
    ],
)
def test_a_refused_link_or_start_says_why_in_a_text_the_window_translates(
    link: str | None, options: dict[str, Any], key: str
) -> None:
    with pytest.raises(StartError) as refused:
        request(link, **options)
    (why,) = refused.value.args
    assert isinstance(why, Text)
    assert why.key == key
    assert str(refused.value) == str(why)


def test_a_broker_that_is_not_ready_is_said_in_a_text() -> None:
    error = broker_not_ready("https://broker.test")
    assert isinstance(error.message, Text)
    assert error.message.key == "kiosk.broker_not_ready"
    assert str(error.message) == "The broker at https://broker.test answered but is not ready."
