"""Modules imported when first used, so that the first window does not wait for them.

``httpx = Lazy("httpx")`` binds a stand-in; the first attribute looked up on it
imports the module (``importlib.import_module``, under Python's import locks, so
from any thread) and every lookup after that is passed straight on. Modules that
only a broker call, a launch or the keychain need (httpx, ssl, keyring) cost the
start-up nothing this way. Type checkers see the real import
(``if TYPE_CHECKING: import httpx``).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class Lazy:
    """Stands in for module ``name`` (and its ``submodules``) until first used."""

    def __init__(self, name: str, *submodules: str) -> None:
        self._name = name
        self._submodules = submodules
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = importlib.import_module(self._name)
            for sub in self._submodules:
                importlib.import_module(f"{self._name}.{sub}")
            self._module = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r}, {state}>"
