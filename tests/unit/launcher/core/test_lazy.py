from __future__ import annotations

import subprocess
import sys

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


def test_a_first_use_from_many_threads_imports_once() -> None:
    code = (
        "import sys, threading\n"
        "from launcher.core.lazy import Lazy\n"
        "lazy = Lazy('email.mime.text')\n"
        "out = []\n"
        "threads = [threading.Thread(target=lambda: out.append(lazy.MIMEText)) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert len({id(c) for c in out}) == 1 and len(out) == 8\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
