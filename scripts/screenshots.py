"""Render the launcher's windows to PNG files in docs/screenshots/, light and dark.

Run: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py
(RUBICON_SCREENSHOTS=DIR writes them elsewhere; the tests do.)
The windows are shown with sample data; nothing talks to a broker. Each
picture is made twice: NAME.png with a light palette and NAME-dark.png with
a dark one, the way the window follows the desktop's colour scheme.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QStyleFactory, QWidget

from launcher.core.doctor import Check, Report, Status
from launcher.core.models import Desktop, DesktopState, Protocol, SessionRef
from launcher.core.settings import Layers, SystemConfig, UserSettings
from launcher.core.trust import Presented
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.mainwindow import MainWindow, Options
from launcher.ui.trustdialog import TrustDialog

OUT = Path(
    os.environ.get("RUBICON_SCREENSHOTS")
    or Path(__file__).resolve().parents[1] / "docs" / "screenshots"
)
SERVER = "https://broker.example.com"
NEW_FINGERPRINT = ":".join(f"{(n * 37) % 256:02X}" for n in range(32))
OLD_FINGERPRINT = ":".join(f"{(n * 11 + 5) % 256:02X}" for n in range(32))

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
        "finance",
        "Finance",
        (Protocol.RDP, Protocol.VNC),
        Protocol.RDP,
        DesktopState.AVAILABLE,
        allow_reset=True,
        allow_restart=True,
    ),
    Desktop("lab", "Teaching lab (Linux)", (Protocol.VNC,), Protocol.VNC, DesktopState.UNAVAILABLE),
    Desktop("cad", "CAD workstation", (Protocol.SPICE,), Protocol.SPICE, DesktopState.STARTING),
    Desktop(
        "win",
        "Windows 11",
        (Protocol.RDP,),
        Protocol.RDP,
        DesktopState.DISCONNECTED,
        SessionRef("s2", "disconnected", "win-7"),
        allow_reset=True,
        allow_restart=True,
    ),
    Desktop("old", "Legacy apps", (Protocol.RDP,), Protocol.RDP, DesktopState.MAINTENANCE),
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
        Check("broker", "Broker", Status.OK, f"{SERVER} answers and is healthy."),
        Check("desktop", "Desktop port", Status.OK, "10.0.0.8:3389 accepts connections."),
    ),
    created=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
)


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202329",
        QPalette.ColorRole.WindowText: "#e8e8e8",
        QPalette.ColorRole.Base: "#2a2e35",
        QPalette.ColorRole.AlternateBase: "#30343b",
        QPalette.ColorRole.Text: "#e8e8e8",
        QPalette.ColorRole.Button: "#2f333a",
        QPalette.ColorRole.ButtonText: "#e8e8e8",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
        QPalette.ColorRole.Mid: "#4a4f57",
        QPalette.ColorRole.Dark: "#16181c",
        QPalette.ColorRole.Light: "#3a3f47",
        QPalette.ColorRole.Midlight: "#353a41",
        QPalette.ColorRole.Shadow: "#000000",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2a2e35",
        QPalette.ColorRole.ToolTipText: "#e8e8e8",
        QPalette.ColorRole.Link: "#7fb0ff",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c7077"))
    return palette


class Shooter:
    def __init__(self, app: QApplication, suffix: str) -> None:
        self.app = app
        self.suffix = suffix
        self.written: list[Path] = []

    def __call__(self, widget: QWidget, name: str) -> None:
        for _ in range(3):
            self.app.processEvents()
        path = OUT / f"{name}{self.suffix}.png"
        widget.grab().save(str(path))
        self.written.append(path)


def settle(window: QWidget) -> None:
    """Lays ``window`` out now: every shown widget with a layout, innermost first, has
    the layout request the event loop would bring it (its layout runs, and a widget that
    sizes itself, as the sign-in card does, takes its new minimum).

    The event loop does this one level a pass (a widget whose size changed tells its
    parent with a posted event); here all levels run in one go, so a size that changed
    deep inside reaches the window's minimum size before the next line.
    """

    def depth(widget: QWidget) -> int:
        parent = widget.parentWidget()
        return 0 if widget is window or parent is None else 1 + depth(parent)

    shown = [w for w in window.findChildren(QWidget) if w.isVisible() and w.layout() is not None]
    for widget in [*sorted(shown, key=depth, reverse=True), window]:
        QApplication.sendEvent(widget, QEvent(QEvent.Type.LayoutRequest))


def shoot_all(app: QApplication, shoot: Shooter) -> None:
    layers = Layers(
        None,
        system=SystemConfig.from_mapping({"cert_policy": "ask", "rdp": {"multimon": True}}),
        user=UserSettings(
            servers=[SERVER, "https://vdi.lab.example.com:8443"],
            favourites={SERVER: ["finance"]},
            recents={SERVER: ["engineering", "win"]},
            show_domain=True,
            domain="CORP",
            remember_password=True,
        ),
    )
    window = MainWindow(Options(settings=layers))
    window.resize(860, 600)
    page = window.sign_in_page
    page.prefill(server=SERVER, username="alice")
    window.show()
    shoot(window, "sign-in")

    page.password.setText("secret-password")
    page.ask_otp(
        "This account needs a one-time code from your authenticator app. "
        "Enter the code it shows now and sign in again."
    )
    page.otp.setText("")
    shoot(window, "sign-in-code")
    page.reset()

    page.password.setText("WRONG")
    page._show_caps_hint(True)
    page.show_error("The username or password is wrong. Check both and try again.")
    shoot(window, "sign-in-error")
    page._show_caps_hint(False)

    page.show_certificate_changed(
        origin=SERVER + ":443",
        pinned=OLD_FINGERPRINT,
        presented=NEW_FINGERPRINT,
        can_trust=True,
    )
    shoot(window, "sign-in-certificate-changed")
    page.reset()
    # The window grew to show both fingerprints; the pictures after it have the usual size,
    # once the window's minimum size has let go of the card's height.
    settle(window)
    window.resize(860, 600)

    desktops = window.desktops_page
    desktops.set_user("Alice Example")
    desktops.set_favourites(["finance"])
    desktops.set_recents(["engineering", "win"])
    desktops.set_desktops(SAMPLE)
    desktops.select("engineering")
    desktops.banner.show_message("Engineering desktop is open in its own window.", kind="info")
    window.stack.setCurrentWidget(desktops)
    shoot(window, "desktops")

    desktops.set_view_mode("list")
    desktops.banner.clear_message()
    desktops.select("finance")
    shoot(window, "desktops-list")

    desktops.set_view_mode("tiles")
    desktops.search.setText("win")
    shoot(window, "desktops-search")
    desktops.search.clear()

    desktops.select("cad")
    desktops.starting.start("CAD workstation")
    desktops.starting.set_seconds(12)
    shoot(window, "desktops-starting")
    desktops.starting.stop()

    desktops.select("finance")
    menu = desktops.actions_menu(SAMPLE[1])
    menu.popup(window.mapToGlobal(QPoint(300, 200)))
    shoot(menu, "desktop-menu")
    menu.close()
    assert isinstance(menu, QMenu)

    settings = window.show_settings()
    assert settings is not None
    for index, name in enumerate(("general", "protocols", "clients", "security")):
        settings.tabs.setCurrentIndex(index)
        shoot(settings, f"settings-{name}")
    settings.reject()

    about = window.show_about()
    assert about is not None
    shoot(about, "about")
    about.close()

    dialog = DiagnosticsDialog(lambda: SAMPLE_REPORT, lambda path, report: None, parent=window)
    dialog.show()
    dialog.show_report(SAMPLE_REPORT)
    shoot(dialog, "diagnostics")
    dialog.close()

    question = TrustDialog(
        Presented("https://broker.example.com:8443", NEW_FINGERPRINT, ""), parent=window
    )
    question.show()
    shoot(question, "trust")
    question.close()

    changed = TrustDialog(
        Presented("https://broker.example.com:8443", NEW_FINGERPRINT, ""),
        parent=window,
        pinned=OLD_FINGERPRINT,
    )
    changed.show()
    shoot(changed, "trust-changed")
    changed.close()

    confirm = desktops.confirm("reset", SAMPLE[4])
    shoot(confirm, "confirm-reset")
    confirm.reject()

    confirm = desktops.confirm("logoff", SAMPLE[0])
    shoot(confirm, "confirm-log-off")
    confirm.reject()

    # Closing the window while a desktop is open (MainWindow.ask_to_leave).
    leaving = window._leave_question("close", ["Engineering desktop"])
    shoot(leaving, "close-question")
    leaving.reject()
    window.close()


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setStyle(QStyleFactory.create("Fusion"))
    OUT.mkdir(parents=True, exist_ok=True)
    light = app.palette()
    written: list[Path] = []
    for suffix, palette in (("", light), ("-dark", dark_palette())):
        app.setPalette(palette)
        shoot = Shooter(app, suffix)
        shoot_all(app, shoot)
        shoot_kiosk(app, shoot)
        written += shoot.written
    for path in written:
        print(path)
    return 0


def shoot_kiosk(app: QApplication, shoot: Shooter) -> None:
    """The kiosk's screens (kiosk-*.png), in a window the size of a small monitor."""
    from launcher.core.kiosk import KioskConfig, KioskPolicy, Screen, hash_pin
    from launcher.ui.kiosk import KioskWindow
    from launcher.ui.poweron import Attempt

    config = KioskConfig(enabled=True, server=SERVER, policy=KioskPolicy(pin_hash=hash_pin("2468")))
    kiosk = KioskWindow(config)
    kiosk.resize(1024, 640)
    kiosk.show()

    def show(screen: Screen) -> None:
        kiosk.kiosk.screen = screen
        kiosk._render()
        # Entering a session re-shows the window full screen (800x800 offscreen).
        kiosk.showNormal()
        kiosk.resize(1024, 640)

    kiosk.kiosk.broker_unreachable(now=0)
    kiosk.waiting_page.set_reason(
        f"Cannot reach the broker at {SERVER}. "
        "Check the server address and your network connection."
    )
    show(Screen.WAITING_FOR_NETWORK)
    kiosk.waiting_page.set_seconds(7, trying=False)
    shoot(kiosk, "kiosk-waiting")

    show(Screen.SIGN_IN)
    kiosk.sign_in_page.banner.show_message(
        "Your session has ended and you have been signed out.", kind="info"
    )
    shoot(kiosk, "kiosk-sign-in")
    kiosk.sign_in_page.banner.clear_message()

    kiosk.desktops_page.set_user("Alice Example")
    kiosk.desktops_page.set_desktops(SAMPLE)
    show(Screen.DESKTOPS)
    shoot(kiosk, "kiosk-desktops")

    kiosk.connecting_page.heading.setText("Opening CAD workstation…")
    show(Screen.CONNECTING)
    kiosk._start_waiting(Attempt(SAMPLE[3], None), 12)  # its machine powers on
    shoot(kiosk, "kiosk-connecting")

    show(Screen.IN_SESSION)
    shoot(kiosk, "kiosk-in-session")

    show(Screen.ADMIN_PIN)
    kiosk.pin_page.pin.setText("1357")
    kiosk.pin_page.banner.show_message("That PIN is not right.")
    shoot(kiosk, "kiosk-admin-pin")
    kiosk.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
