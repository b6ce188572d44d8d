"""Composition root: arguments, paths, logging, and the window."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from launcher import __version__
from launcher.core import log
from launcher.core.settings import UserSettings, config_dir


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rubicon",
        description=(
            "Rubicon signs you in to a connection broker, lists the remote desktops you "
            "may use, and opens the one you pick in its native client (TigerVNC for VNC)."
        ),
        epilog="Example: rubicon --server https://broker.example.com --user alice",
    )
    parser.add_argument("--server", metavar="URL", help="broker address to fill in")
    parser.add_argument("--user", metavar="NAME", help="username to fill in")
    parser.add_argument(
        "--fullscreen",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="open desktops full screen (default: the saved setting, else windowed)",
    )
    parser.add_argument(
        "--settings",
        metavar="FILE",
        type=Path,
        help="settings file to use (default: settings.json in the user config directory)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log on stderr (default: info)",
    )
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument("--version", action="version", version=f"rubicon {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log.setup(level=args.log_level, json_output=args.log_json)
    os.environ.setdefault("QT_ENABLE_HIGHDPI_SCALING", "1")

    # Imported here so --help and --version work without a display.
    from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from launcher.ui.mainwindow import MainWindow, Options
    from launcher.ui.resources import icon

    def qt_message(kind: QtMsgType, _context: object, message: str) -> None:
        level = {
            QtMsgType.QtDebugMsg: "debug",
            QtMsgType.QtInfoMsg: "info",
            QtMsgType.QtWarningMsg: "warning",
        }.get(kind, "error")
        getattr(log.qt, level)(message)

    qInstallMessageHandler(qt_message)
    app = QApplication([sys.argv[0]])
    app.setApplicationName("Rubicon")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("rubicon")
    app.setWindowIcon(icon("rubicon"))

    settings_path = args.settings or config_dir() / "settings.json"
    settings = UserSettings.load(settings_path)

    def remember(server: str, username: str) -> None:
        settings.last_server, settings.last_username = server, username
        try:
            settings.save(settings_path)
        except OSError as e:
            log.app.warning("could not save settings to %s: %s", settings_path, e)

    fullscreen = settings.fullscreen if args.fullscreen is None else args.fullscreen
    window = MainWindow(
        Options(clients=dict(settings.clients), fullscreen=fullscreen), on_sign_in=remember
    )
    window.sign_in_page.prefill(
        server=args.server or settings.last_server, username=args.user or settings.last_username
    )
    window.show()
    # Ctrl-C or SIGTERM closes the window like the close button does. Python
    # runs signal handlers only between bytecodes, and Qt's idle event loop
    # runs none: a short timer hands control back to Python now and then.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    signal.signal(signal.SIGTERM, lambda *_: window.close())
    wakeup = QTimer(interval=250)
    wakeup.timeout.connect(lambda: None)
    wakeup.start()
    log.app.info("Rubicon %s started", __version__)
    return app.exec()
