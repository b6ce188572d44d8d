from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from launcher.core.lazy import Lazy


def test_the_module_is_imported_at_the_first_attribute_and_passed_through() -> None:
    name = "colorsys"  # in the standard library, imported by nothing of ours
    sys.modules.pop(name, None)
    lazy = Lazy(name)
    assert name not in sys.modules
    assert "not imported yet" in repr(lazy)
    assert lazy.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert name in sys.modules
    assert lazy.rgb_to_hsv is sys.modules[name].rgb_to_hsv
    assert "imported" in repr(lazy)


def test_submodules_come_along() -> None:
    lazy = Lazy("xml", "dom")
    assert lazy.dom.Node is sys.modules["xml.dom"].Node


def test_after_the_first_use_a_lookup_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first lookup pays for the import; the others are passed straight on."""
    imported: list[str] = []
    real = importlib.import_module

    def counting(name: str, package: str | None = None) -> ModuleType:
        imported.append(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", counting)
    lazy = Lazy("json", "decoder")
    for _ in range(3):
        assert lazy.dumps([1]) == "[1]"
        assert lazy.decoder.JSONDecodeError is sys.modules["json.decoder"].JSONDecodeError
    assert imported == ["json", "json.decoder"]
