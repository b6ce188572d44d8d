"""Write the English source catalog of the window's texts: resources/i18n/rubicon_en.ts.

Run: python scripts/i18n.py   (after adding or changing any tr() text)

It runs pyside6-lupdate over launcher/ui; tests/unit/launcher/test_i18n.py
checks that the catalog holds every tr() and translate() text of the code.
A translation starts as a copy named rubicon_<lang>.ts, filled in with Qt
Linguist (pyside6-linguist) and compiled with pyside6-lrelease.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "resources" / "i18n" / "rubicon_en.ts"


def lupdate() -> str:
    found = shutil.which("pyside6-lupdate") or str(Path(sys.executable).parent / "pyside6-lupdate")
    if not Path(found).exists():
        raise SystemExit("pyside6-lupdate not found: pip install PySide6-Essentials")
    return found


def main() -> int:
    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "launcher" / "ui").glob("*.py"))
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
    print(CATALOG)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
