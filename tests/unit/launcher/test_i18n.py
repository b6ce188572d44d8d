"""Every text the window shows goes through tr(), and the English catalog has it.

Regenerate the catalog with ``python scripts/i18n.py`` after changing a text.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import string
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import launcher.core
from launcher.core import errors, trust
from launcher.core.broker import (
    BrokerRejected,
    CertificateChanged,
    DesktopStarting,
    PlainHttpRefused,
    UntrustedCertificate,
)
from launcher.core.errors import RubiconError
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


def error_tree() -> list[type[RubiconError]]:
    """Every class of the launcher's error tree, root first: found by importing every
    module of launcher.core (an error is defined where it is raised) and walking down."""
    for module in pkgutil.walk_packages(launcher.core.__path__, "launcher.core."):
        importlib.import_module(module.name)
    found: list[type[RubiconError]] = []
    waiting: list[type[RubiconError]] = [RubiconError]
    while waiting:
        cls = waiting.pop(0)
        if cls not in found and cls.__module__.startswith("launcher."):
            found.append(cls)
            waiting += cls.__subclasses__()
    return found


# What carries a sentence for the user from the core: its first argument and hint=.
# ExitReason is no exception, but says why a client ended in the same two parts.
CARRIERS = {cls.__name__ for cls in error_tree()} | {"ExitReason"}


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


def texts_off_the_tree(folder: Path) -> list[str]:
    """Where an exception that is not on the tree is made with a Text (``file:line``):
    the window translates only the tree's errors, so its sentence would stay in English."""
    off: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name = node.func.id
            if name in CARRIERS or not name.endswith(("Error", "Exception")):
                continue
            said = [*node.args, *(k.value for k in node.keywords)]
            if any(
                isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "Text"
                for v in said
            ):
                off.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return off


def test_every_error_made_with_a_text_is_on_the_tree() -> None:
    """``ValueError(Text(...))`` would reach the window as a bug, not in the user's words."""
    assert texts_off_the_tree(CORE) + texts_off_the_tree(UI) == []


def test_the_walk_finds_the_whole_tree() -> None:
    # Among them errors of modules nothing else here imports (wincred).
    assert {"BrokerRejected", "ClientNotFound", "CredentialError", "OtpFormatError"} < CARRIERS


def drawn_tree() -> dict[str, str]:
    """Each class drawn in launcher/core/errors.py's docstring → its parent there."""
    assert errors.__doc__ is not None
    drawn: dict[str, str] = {}
    parents: list[str] = []  # the last name drawn at each depth
    for line in errors.__doc__.splitlines():
        branch = line.find("── ")
        if line.startswith("    RubiconError"):
            parents = ["RubiconError"]
        elif parents and branch >= 0:
            depth = (branch - 4) // 4 + 1  # "    ├── " is depth 1, "    │   ├── " depth 2
            name = line[branch + 3 :].split()[0]
            drawn[name] = parents[depth - 1]
            parents[depth:] = [name]
    return drawn


def test_the_tree_in_the_docstring_of_errors_is_the_tree_in_the_code() -> None:
    """Every error under its own parent: the drawing cannot drift from the classes."""
    tree = {
        cls.__name__: next(b.__name__ for b in cls.__bases__ if issubclass(b, RubiconError))
        for cls in error_tree()[1:]
    }
    assert drawn_tree() == tree


MESSAGE = Text("test.error", "Something happened.")
HINT = Text("test.error.hint", "Do this about it.")


def an_error(cls: type[RubiconError]) -> RubiconError:
    """One of ``cls``, made as the launcher makes it."""
    presented = trust.Presented(origin="https://b.test", fingerprint="AA:BB", pem="")
    made_apart: dict[type[RubiconError], Callable[[], RubiconError]] = {
        UntrustedCertificate: lambda: UntrustedCertificate(presented),
        CertificateChanged: lambda: CertificateChanged(presented, pinned="CC:DD"),
        DesktopStarting: lambda: DesktopStarting(MESSAGE, session_id="s-1", retry_after=30),
        PlainHttpRefused: lambda: PlainHttpRefused("b.test"),
    }
    if cls in made_apart:
        return made_apart[cls]()
    if issubclass(cls, BrokerRejected):
        return cls(MESSAGE, hint=HINT, code="refused", status=403)
    return cls(MESSAGE, hint=HINT)


@pytest.mark.parametrize("cls", error_tree(), ids=lambda cls: cls.__name__)
def test_an_error_says_its_message_then_its_hint(cls: type[RubiconError]) -> None:
    error = an_error(cls)
    assert isinstance(error.message, Text)
    assert isinstance(error.hint, Text)
    assert str(error) == f"{error.message} {error.hint}"


def test_an_error_without_a_hint_is_its_message_alone() -> None:
    assert str(RubiconError(MESSAGE)) == "Something happened."
    assert str(RubiconError(MESSAGE, hint=HINT)) == "Something happened. Do this about it."


def test_what_was_a_value_error_still_is_one() -> None:
    """Callers check an address, a link or a start with ``except ValueError``."""
    names = {cls.__name__ for cls in error_tree() if issubclass(cls, ValueError)}
    assert names == {
        "AddressRefused",
        "PlainHttpRefused",
        "LinkError",
        "StartError",
        "OtpFormatError",
    }


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
