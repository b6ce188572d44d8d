"""Render the launcher's windows to PNG files in docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py
The windows are shown with sample data; nothing talks to a broker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from launcher.core.models import Desktop, DesktopState, Protocol, SessionRef
from launcher.ui.mainwindow import MainWindow, Options

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

SAMPLE = [
    Desktop(
        "engineering",
        "Engineering desktop",
        (Protocol.VNC,),
        Protocol.VNC,
        DesktopState.CONNECTED,
        SessionRef("s1", "active", "eng-1"),
    ),
    Desktop("finance", "Finance", (Protocol.VNC,), Protocol.VNC, DesktopState.AVAILABLE),
    Desktop("lab", "Teaching lab (Linux)", (Protocol.VNC,), Protocol.VNC, DesktopState.UNAVAILABLE),
]


def main() -> int:
    app = QApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow(Options(clients={}))
    window.resize(760, 540)
    window.sign_in_page.prefill(server="https://broker.example.com", username="alice")
    window.show()
    app.processEvents()
    window.grab().save(str(OUT / "sign-in.png"))

    window.sign_in_page.show_error(
        "Wrong username or password. Check your username and password and try again."
    )
    app.processEvents()
    window.grab().save(str(OUT / "sign-in-error.png"))

    window.desktops_page.set_user("Alice Example")
    window.desktops_page.set_desktops(SAMPLE)
    window.desktops_page.banner.show_message(
        "Engineering desktop is open in its own window.", kind="info"
    )
    window.stack.setCurrentWidget(window.desktops_page)
    app.processEvents()
    window.grab().save(str(OUT / "desktops.png"))
    for name in ("sign-in.png", "sign-in-error.png", "desktops.png"):
        print(OUT / name)
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
