"""Sentences the core says to the user, in a form the window can translate.

The core has no Qt, so it cannot translate; it writes English. A sentence
an error (or a client's exit reason) carries is a :class:`Text`: a ``str``
whose value is the English sentence, so logs, the command line and every
comparison read it as before, and which also keeps what a translation
needs to make the sentence again:

- ``key``: what kind of sentence it is (``"broker.unreachable"``), stable
  across wording changes; the window looks the translation up by it;
- ``template``: the English with named fields (``"Cannot reach the broker
  at {url}."``), the source text of the translation;
- ``values``: what fills the fields. A value that is itself a Text (a
  client's name, a wait in minutes) is translated too.

``Text(key, template, **values)``: ``key`` and ``template`` must be written
out as literals where it is called. ``scripts/i18n.py`` collects every call
in ``launcher/core`` into the window's catalog, and
``tests/unit/launcher/test_i18n.py`` checks that each key has one English
template and a catalog entry. The window translates with
``launcher.ui.coretext``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

__all__ = ["Text", "Value"]

Value = str | int


class Text(str):
    """An English sentence for the user, with its kind (``key``), template and values."""

    key: str
    template: str
    values: Mapping[str, Value]

    def __new__(cls, key: str, template: str, /, **values: Value) -> Self:
        self = super().__new__(cls, template.format(**values))
        self.key = key
        self.template = template
        self.values = values
        return self

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # copy and pickle make it again through Text(), not str(): a Text, as it was.
        return (_remake, (self.key, self.template, dict(self.values)))


def _remake(key: str, template: str, values: dict[str, Value]) -> Text:
    return Text(key, template, **values)
