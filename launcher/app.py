"""Composition root: arguments, paths, logging, and the window (or the doctor)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from launcher import __version__
from launcher.core import doctor, log, trust
from launcher.core.launching import Preferences
from launcher.core.settings import UserSettings, config_dir


def default_settings_path() -> Path:
    return config_dir() / "settings.json"


def _add_doctor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check this computer, the clients and the broker; print a report",
        description=(
            "Check what Rubicon needs: the native clients and their versions, the settings "
            "file, the broker (reachable, healthy, its TLS certificate) and, if given, a "
            "desktop's display port. Exits 1 if a check failed."
        ),
        epilog="Example: rubicon doctor --server https://broker.example.com "
        "--desktop-host 10.0.0.8:3389",
    )
    parser.add_argument(
        "--server",
        dest="doctor_server",
        metavar="URL",
        help="broker to check (default: the last one)",
    )
    parser.add_argument(
        "--desktop-host", metavar="HOST:PORT", help="a desktop's display port to try to reach"
    )
    parser.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="the broker certificate's SHA-256 your administrator gave you, to compare",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--bundle",
        metavar="FILE.zip",
        type=Path,
        help="also write a support bundle: the report, the settings and the logs, redacted",
    )
    parser.add_argument(
        "--settings",
        dest="doctor_settings",
        metavar="FILE",
        type=Path,
        help="settings file to check (default: settings.json in the user config directory)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=doctor.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"for each network check and client (default: {doctor.DEFAULT_TIMEOUT:g})",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rubicon",
        description=(
            "Rubicon signs you in to a connection broker, lists the remote desktops you "
            "may use, and opens the one you pick in its native client (TigerVNC or "
            "remote-viewer for VNC, remote-viewer for SPICE, FreeRDP, mstsc or Windows App "
            "for RDP)."
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
        help="how much to log (default: info)",
    )
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument(
        "--log-dir",
        metavar="DIR",
        type=Path,
        help=f"where the window keeps {log.LOG_FILE} (default: the user log directory)",
    )
    parser.add_argument("--version", action="version", version=f"rubicon {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands (without one, the window opens)"
    )
    _add_doctor(commands)
    return parser.parse_args(argv)


def qt_version() -> str | None:
    """Qt's version, loading only QtCore (no display needed); None without PySide6."""
    try:
        from PySide6 import QtCore
    except ImportError:
        return None
    return str(QtCore.qVersion())


def run_doctor(args: argparse.Namespace) -> int:
    log.setup(level="warning", json_output=args.log_json)
    settings_path = args.doctor_settings or args.settings or default_settings_path()
    report = doctor.build_report(
        settings_path=settings_path,
        log_directory=args.log_dir or log.log_dir(),
        server=args.doctor_server or args.server,
        desktop=args.desktop_host,
        pin=args.fingerprint,
        qt_version=qt_version(),
        timeout=args.timeout,
    )
    sys.stdout.write(report.to_json() if args.json else report.to_text())
    if args.bundle is not None:
        try:
            doctor.write_bundle(
                args.bundle,
                report,
                settings_path=settings_path,
                log_directory=args.log_dir or log.log_dir(),
            )
        except OSError as e:
            sys.stderr.write(f"rubicon doctor: cannot write {args.bundle}: {e.strerror or e}\n")
            return 2
        sys.stderr.write(f"Support bundle written to {args.bundle}\n")
    return 1 if report.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "doctor":
        return run_doctor(args)
    log_file = log.setup(
        level=args.log_level, json_output=args.log_json, directory=args.log_dir or log.log_dir()
    )
    os.environ.setdefault("QT_ENABLE_HIGHDPI_SCALING", "1")

    # Imported here so --help, --version and doctor work without a display.
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

    settings_path = args.settings or default_settings_path()
    settings = UserSettings.load(settings_path)

    def remember(server: str, username: str) -> None:
        settings.last_server, settings.last_username = server, username
        try:
            settings.save(settings_path)
        except OSError as e:
            log.app.warning("could not save settings to %s: %s", settings_path, e)

    window = MainWindow(
        Options(
            preferences=Preferences.from_settings(settings, fullscreen=args.fullscreen),
            settings_path=settings_path,
            log_dir=args.log_dir or log.log_dir(),
        ),
        # Pins live beside the settings file, so a separate --settings is a separate profile.
        pins=trust.PinStore(settings_path.parent / "pins.json"),
        on_sign_in=remember,
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
    log.app.info("Rubicon %s started; log file %s", __version__, log_file or "none")
    return app.exec()
