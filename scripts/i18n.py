"""Write the English source catalog of the window's texts: resources/i18n/rubicon_en.ts.

Run: python scripts/i18n.py   (after adding or changing any tr() text, or a core Text)

It runs pyside6-lupdate over launcher/ui, then adds the sentences of
launcher/core (every ``Text(key, template, ...)`` call, found by reading the
code) in the context ``CoreText``, each with its English template as the
source and its key as the disambiguation: the window translates them by that
key (launcher/ui/coretext.py). tests/unit/launcher/test_i18n.py checks that
the catalog holds every tr() and translate() text of the window and every
core Text. A translation starts as a copy named rubicon_<lang>.ts, filled in
with Qt Linguist (pyside6-linguist) and compiled with pyside6-lrelease.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "resources" / "i18n" / "rubicon_en.ts"
CORE = ROOT / "launcher" / "core"
CORE_CONTEXT = "CoreText"  # launcher.ui.coretext.CONTEXT


def core_texts() -> dict[str, str]:
    """Key → English template of every ``Text(...)`` call in launcher/core.

    ValueError if a call does not spell its key and template out as literals,
    or if one key stands for two different templates.
    """
    found: dict[str, str] = {}
    for path in sorted(CORE.rglob("*.py")):
        if path.name == "texts.py":  # where Text is defined (and made again when copied)
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Text"
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            literals = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if len(node.args) != 2 or len(literals) != 2:
                raise ValueError(f"{where}: Text() wants a literal key and template")
            key, template = literals
            if found.setdefault(key, template) != template:
                raise ValueError(f"{where}: key {key!r} has two templates")
    return found


def core_context(texts: dict[str, str]) -> str:
    """The catalog's ``CoreText`` context, as lupdate would write it."""
    lines = ["<context>", f"    <name>{CORE_CONTEXT}</name>"]
    for key, template in sorted(texts.items()):
        lines += [
            "    <message>",
            f"        <source>{quoted(template)}</source>",
            f"        <comment>{quoted(key)}</comment>",
            '        <translation type="unfinished"></translation>',
            "    </message>",
        ]
    lines.append("</context>")
    return "\n".join(lines) + "\n"


def quoted(text: str) -> str:
    return escape(text, {"'": "&apos;", '"': "&quot;"})


def lupdate() -> str:
    found = shutil.which("pyside6-lupdate") or str(Path(sys.executable).parent / "pyside6-lupdate")
    if not Path(found).exists():
        raise SystemExit("pyside6-lupdate not found: pip install PySide6-Essentials")
    return found


def main() -> int:
    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "launcher" / "ui").rglob("*.py"))
    CATALOG.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            lupdate(),
            *sources,
            "-source-language",
            "en",
            "-target-language",
            "en",
            "-no-obsolete",
            "-locations",
            "none",
            "-ts",
            str(CATALOG.relative_to(ROOT)),
        ],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    catalog = CATALOG.read_text(encoding="utf-8")
    end = catalog.rindex("</TS>")
    CATALOG.write_text(catalog[:end] + core_context(core_texts()) + catalog[end:], encoding="utf-8")
    print(CATALOG)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
