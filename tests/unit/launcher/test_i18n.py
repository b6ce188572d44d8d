"""Every text the window shows goes through tr(), and the English catalog has it.

Regenerate the catalog with ``python scripts/i18n.py`` after changing a text.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

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

    for path in sorted(UI.glob("*.py")):
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
