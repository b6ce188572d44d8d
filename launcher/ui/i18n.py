"""Translations: every text of the window goes through Qt's ``tr()``.

The English source catalog is ``resources/i18n/rubicon_en.ts``, made with
``pyside6-lupdate`` by ``scripts/i18n.py`` (a test checks that it holds
every ``tr()`` text of the code). A translator adds ``rubicon_<lang>.ts``,
compiles it with ``pyside6-lrelease`` to ``.qm`` beside it, and this module
loads the one for the user's locale at start.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from launcher.core import log
from launcher.ui.resources import resources_dir


def install_translator(app: QCoreApplication, locale: QLocale | None = None) -> bool:
    """Load ``rubicon_<lang>.qm`` for ``locale`` (default: the system's); False if none."""
    translator = QTranslator(app)
    folder = str(resources_dir() / "i18n")
    if not translator.load(locale or QLocale(), "rubicon", "_", folder):
        return False
    app.installTranslator(translator)
    log.app.info("translations loaded from %s", translator.filePath())
    return True
