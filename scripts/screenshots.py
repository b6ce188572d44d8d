"""Render the launcher's windows to PNG files in docs/screenshots/.

Run: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py
The windows are shown with sample data; nothing talks to a broker.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from launcher.core.doctor import Check, Report, Status
from launcher.core.models import Desktop, DesktopState, Protocol, SessionRef
from launcher.core.trust import Presented
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.mainwindow import MainWindow, Options
from launcher.ui.trustdialog import TrustDialog

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
    Desktop(
        "finance", "Finance", (Protocol.RDP, Protocol.VNC), Protocol.RDP, DesktopState.AVAILABLE
    ),
    Desktop("lab", "Teaching lab (Linux)", (Protocol.VNC,), Protocol.VNC, DesktopState.UNAVAILABLE),
]


# What `rubicon doctor` says on a typical workstation: fixed, so the picture
# does not change from run to run.
SAMPLE_REPORT = Report(
    (
        Check("rubicon", "Rubicon", Status.OK, "version 0.1.0."),
        Check("python", "Python", Status.OK, "3.11.7 (CPython) on Linux-6.1.0-x86_64."),
        Check("qt", "Qt", Status.OK, "version 6.7.2."),
        Check("display", "Display", Status.OK, "X display :0."),
        Check(
            "client.vncviewer",
            "VNC viewer (TigerVNC)",
            Status.OK,
            "/usr/bin/vncviewer, version 1.12.0.",
        ),
        Check(
            "client.remote-viewer",
            "SPICE viewer (virt-viewer)",
            Status.OK,
            "/usr/bin/remote-viewer, version 11.0.",
        ),
        Check(
            "client.xfreerdp",
            "RDP client (FreeRDP)",
            Status.OK,
            "/usr/bin/xfreerdp, version 2.11.7.",
        ),
        Check(
            "settings",
            "Settings",
            Status.OK,
            "the file is valid.",
            details={"path": "/home/alice/.config/rubicon/settings.json"},
        ),
        Check(
            "broker.tls",
            "Broker TLS",
            Status.WARN,
            "the certificate is not trusted by this computer (self-signed certificate).",
            action="Compare its SHA-256 with the one your administrator gave you.",
            details={"SHA-256": "3F:9A:51:0C:7E:22:B4:91:6D:0E:8C:55:A7:13:F0:42:…"},
        ),
        Check("broker", "Broker", Status.OK, "https://broker.example.com answers and is healthy."),
        Check("desktop", "Desktop port", Status.OK, "10.0.0.8:3389 accepts connections."),
    ),
    created=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
)


def main() -> int:
    app = QApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow(Options())
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

    dialog = DiagnosticsDialog(lambda: SAMPLE_REPORT, lambda path, report: None, parent=window)
    dialog.show()
    dialog.show_report(SAMPLE_REPORT)
    app.processEvents()
    dialog.grab().save(str(OUT / "diagnostics.png"))
    dialog.close()

    question = TrustDialog(
        Presented(
            "https://broker.example.com:8443",
            ":".join(f"{(n * 37) % 256:02X}" for n in range(32)),
            "",
        ),
        parent=window,
    )
    question.show()
    app.processEvents()
    question.grab().save(str(OUT / "trust.png"))
    question.close()
    names = ("sign-in.png", "sign-in-error.png", "desktops.png", "diagnostics.png", "trust.png")
    for name in names:
        print(OUT / name)
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
