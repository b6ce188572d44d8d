"""The window's words for what ``launcher.core`` says: core texts translated by their kind.

The core writes English :class:`~launcher.core.texts.Text` sentences (in its
errors and a client's exit reasons). The window's catalog holds each of them
in the context ``CoreText``: its English template is the source and its key
the disambiguation, so two kinds with the same English can be translated
apart (``scripts/i18n.py`` puts them there). :func:`translate` looks the
template up by the key, then fills its fields, translating each value that
is itself a Text. A translation whose fields do not match the English ones
is not used. Anything that is not a Text (what the broker wrote, a path) is
shown as it is.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from launcher.core import log
from launcher.core.errors import RubiconError
from launcher.core.texts import Text

CONTEXT = "CoreText"


def translate(text: str) -> str:
    """``text`` in the user's language where it is a core Text with a translation."""
    if not isinstance(text, Text):
        return text
    values = {
        name: translate(value) if isinstance(value, str) else value
        for name, value in text.values.items()
    }
    template = QCoreApplication.translate(CONTEXT, text.template, text.key)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        log.ui.warning("the translation of %s does not fit its fields; shown in English", text.key)
        return text.template.format(**values)


def sentence(message: str, hint: str = "") -> str:
    """A message and what to do about it, each translated, as one line."""
    return " ".join(part for part in (translate(message), translate(hint)) if part)


def of_error(error: BaseException) -> str:
    """What an exception says: a core error (the tree of :class:`RubiconError`) its
    message and hint, translated; anything else ``str(error)``, as it is."""
    if isinstance(error, RubiconError):
        return sentence(error.message, error.hint)
    return str(error)
