"""Composition root: arguments, paths, logging, and the window (or the doctor).

Before the window's first frame it does only what that frame needs: the
command line, the settings, logging to stderr (the log file opens after the
frame; what was logged before is kept and written to it first), the
single-instance check, and the sign-in page. The rest follows the first
frame (``launcher.ui.firstframe``) or waits until needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from launcher import __version__
from launcher.core import childenv, log
from launcher.core.settings import Layers, UserSettings, config_dir
from launcher.core.startup import (
    ExitCode,
    StartError,
    StartRequest,
    decode,
    encode,
    instance_name,
    request,
)

if TYPE_CHECKING:
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication

    from launcher.core.kiosk import KioskConfig
    from launcher.ui.firstframe import FirstFrame

# Seconds for each of the doctor's checks; the doctor itself is imported only
# when it runs (it loads httpx, ssl and more the window does not need at start).
DOCTOR_TIMEOUT = 5.0


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
        default=DOCTOR_TIMEOUT,
        metavar="SECONDS",
        help=f"for each network check and client (default: {DOCTOR_TIMEOUT:g})",
    )


def split_links(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(rubicon:// links, the other arguments): a link may stand anywhere."""
    links = [a for a in argv if a.lower().startswith("rubicon:")]
    return links, [a for a in argv if not a.lower().startswith("rubicon:")]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    links, argv = split_links(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="rubicon",
        description=(
            "Rubicon signs you in to a connection broker, lists the remote desktops you "
            "may use, and opens the one you pick in its native client (TigerVNC or "
            "remote-viewer for VNC, remote-viewer for SPICE, FreeRDP, mstsc or Windows App "
            "for RDP)."
        ),
        epilog="Examples: rubicon --server https://broker.example.com --user alice; "
        "rubicon rubicon://broker.example.com/engineering?protocol=rdp (what a link in a "
        "mail or web page starts). A second start hands its link to the window already "
        "open. Exit codes: 0 done, 1 failed, 2 bad command line or link, 3 sign-in "
        "refused, 4 the desktop could not be opened.",
    )
    parser.add_argument("--server", metavar="URL", help="broker address to fill in")
    parser.add_argument("--user", metavar="NAME", help="username to fill in")
    parser.add_argument("--desktop", metavar="ID", help="open this desktop after sign-in")
    parser.add_argument(
        "--protocol",
        choices=["rdp", "spice", "vnc"],
        help="open the desktop with this protocol (default: the desktop's own)",
    )
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help="no dialogs: sign in with the password remembered in the keychain, open "
        "--desktop, exit when it closes; any problem ends the run with a message and an "
        "exit code",
    )
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
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: the settings' log level, else info)",
    )
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument(
        "--kiosk",
        action="store_true",
        help="run as a kiosk: full screen, sign in, desktop, sign out, no way to quit "
        "(also [kiosk] enabled = true in the system config)",
    )
    parser.add_argument(
        "--hash-pin",
        action="store_true",
        help="ask for an admin PIN and print its hash, for [kiosk] admin_pin_hash",
    )
    # For benchmarks/launcher_startup.py: print when the window is on screen, then quit.
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
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
    args = parser.parse_args(argv)
    if len(links) > 1:
        parser.error("give at most one rubicon:// link")
    args.link = links[0] if links else None
    return args


def start_request(args: argparse.Namespace) -> StartRequest:
    """What this start asks for, from the link and the options; StartError if wrong."""
    return request(
        args.link,
        server=args.server,
        user=args.user,
        desktop=args.desktop,
        protocol=args.protocol,
        fullscreen=args.fullscreen,
        non_interactive=args.non_interactive,
    )


def settings_layers(args: argparse.Namespace, settings_path: Path) -> Layers:
    """System file > command line > the user's file > defaults."""
    command_line: dict[str, object] = {}
    if args.fullscreen is not None:
        command_line["fullscreen"] = args.fullscreen
    if args.log_level is not None:
        command_line["log_level"] = args.log_level
    return Layers.load(settings_path, command_line=command_line)


def qt_version() -> str | None:
    """Qt's version, loading only QtCore (no display needed); None without PySide6."""
    try:
        from PySide6 import QtCore
    except ImportError:
        return None
    return str(QtCore.qVersion())


def run_doctor(args: argparse.Namespace) -> int:
    from launcher.core import doctor

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


def run_hash_pin() -> int:
    """Prompt for a PIN (twice on a terminal; one line from a pipe) and print its hash."""
    import getpass

    from launcher.core.kiosk import hash_pin

    try:
        if sys.stdin.isatty():
            pin = getpass.getpass("Admin PIN (4 to 12 digits): ")
            if getpass.getpass("The same PIN again: ") != pin:
                sys.stderr.write("rubicon: the two PINs differ; nothing printed.\n")
                return 1
        else:
            pin = sys.stdin.readline().strip()
        hashed = hash_pin(pin)
    except ValueError as e:
        sys.stderr.write(f"rubicon: {e}\n")
        return 1
    except (EOFError, KeyboardInterrupt):
        return 1
    sys.stdout.write(hashed + "\n")
    return 0


def kiosk_config(args: argparse.Namespace, layers: Layers) -> KioskConfig | None:
    """The kiosk set-up when --kiosk or the system config asks for kiosk mode, else None.

    ``layers`` hold the system config as read at this start: without --kiosk
    and without a ``[kiosk]`` table there, it is no kiosk, and kiosk mode's
    module is not even loaded.
    """
    if not (args.kiosk or layers.system.section("kiosk")):
        return None
    from launcher.core.kiosk import KioskConfig

    config = KioskConfig.load()
    if not (args.kiosk or config.enabled):
        return None
    return dataclasses.replace(config, enabled=True, server=config.server or args.server or "")


# Qt platforms that open windows on a display named in the environment: X11 (DISPLAY)
# and Wayland (WAYLAND_DISPLAY, else the socket wayland-0 in XDG_RUNTIME_DIR).
X11_PLATFORMS = ("xcb",)
WAYLAND_PLATFORMS = ("wayland", "wayland-egl", "wayland-brcm")


def missing_display(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why the window could not open for want of a display, or None if it may open.

    Without one, Qt aborts the process (exit 134) and blames its xcb plugin's
    libraries ("xcb-cursor0 is needed"). Only X11 and Wayland are judged, from
    the environment alone (no connection is tried, so the start is not slowed):
    on Linux and the BSDs with the default platform or ``QT_QPA_PLATFORM``
    naming only xcb or Wayland, none of which has its display. Any other
    platform (offscreen, vnc, eglfs, Windows, macOS) is Qt's to judge.
    """
    if platform.startswith(("win32", "cygwin", "darwin")):
        return None
    asked = environ.get("QT_QPA_PLATFORM", "")
    # "wayland;xcb" is a list to try in turn; "vnc:size=800x600" carries options.
    names = [part.split(":", 1)[0].strip() for part in asked.split(";")]
    names = [name for name in names if name] or ["xcb", "wayland"]
    for name in names:
        if name in X11_PLATFORMS:
            if environ.get("DISPLAY"):
                return None
        elif name in WAYLAND_PLATFORMS:
            if environ.get("WAYLAND_DISPLAY") or environ.get("WAYLAND_SOCKET"):
                return None
            runtime = environ.get("XDG_RUNTIME_DIR")
            if runtime and Path(runtime, "wayland-0").exists():
                return None
        else:
            return None
    unset = [
        var
        for var, platforms in (("DISPLAY", X11_PLATFORMS), ("WAYLAND_DISPLAY", WAYLAND_PLATFORMS))
        if any(name in platforms for name in names)
    ]
    why = " and ".join(unset) + (" is" if len(unset) == 1 else " are") + " not set"
    if asked.strip():
        why += f" (QT_QPA_PLATFORM={asked})"
    return (
        f"there is no display to open the window on: {why}. Run rubicon in "
        "your desktop session (from its menu or a terminal there), or over SSH with X "
        "forwarding (ssh -X), or point DISPLAY at a running X server (DISPLAY=:0 rubicon). "
        "'rubicon doctor' and 'rubicon --help' need no display."
    )


def exit_when_shown(frame: FirstFrame) -> None:
    """Print ``shown <monotonic s> <CPU s>`` once the window's first frame is up; then quit.

    Connect it before anything else: the moment printed is the frame's. The
    quit waits one turn of the event loop, for what the start does once its
    frame is up (``frame.settled``, right after): the peak memory of the run
    counts that work too.
    """
    from PySide6.QtCore import QCoreApplication, QTimer

    def done() -> None:
        sys.stdout.write(f"shown {time.monotonic():.6f} {time.process_time():.6f}\n")
        sys.stdout.flush()
        QTimer.singleShot(0, lambda: QCoreApplication.exit(0))

    frame.painted.connect(done)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "doctor" or args.hash_pin:
        gc.enable()  # launcher/__main__ turns it off for a window's start
        return run_doctor(args) if args.command == "doctor" else run_hash_pin()
    # Until the window's first frame, no cyclic garbage collection: the start
    # makes many objects and next to no cycles, and the collector's passes over
    # them (Qt's bindings, our modules) would only delay that frame. It is back
    # on once the frame is painted, and in any case when this returns.
    gc.disable()
    try:
        return start(args)
    finally:
        gc.enable()


def start(args: argparse.Namespace) -> int:
    """The window's run, from the command line to its exit code."""
    try:
        wanted = start_request(args)
    except StartError as e:
        sys.stderr.write(f"rubicon: {e}\n")
        return int(ExitCode.USAGE)
    # Before Qt, which would abort with a message about its own libraries instead.
    no_display = missing_display(os.environ)
    if no_display is not None:
        sys.stderr.write(f"rubicon: {no_display}\n")
        return int(ExitCode.FAILED)
    settings_path = args.settings or default_settings_path()
    layers = settings_layers(args, settings_path)
    settings = layers.effective()
    # The file opens once the window is on screen; what is logged before waits in memory.
    log.setup(
        level=settings.log_level,
        json_output=args.log_json,
        directory=args.log_dir or log.log_dir(),
        defer_file=True,
    )
    try:
        return run_window(args, wanted, layers, settings, settings_path)
    finally:
        log.open_deferred_file()  # a start that ended before its first frame: keep its records


def run_window(
    args: argparse.Namespace,
    wanted: StartRequest,
    layers: Layers,
    settings: UserSettings,
    settings_path: Path,
) -> int:
    """The window (or the kiosk window) until it closes; its exit code.

    ``settings`` are ``layers.effective()``, as the start found them.
    """
    os.environ.setdefault("QT_ENABLE_HIGHDPI_SCALING", "1")

    # Imported here so --help, --version and doctor work without a display.
    from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler

    from launcher.ui.firstframe import FirstFrame
    from launcher.ui.i18n import install_translator
    from launcher.ui.linkevents import Application
    from launcher.ui.mainwindow import MainWindow, Options
    from launcher.ui.resources import window_icon
    from launcher.ui.single import SingleInstance

    def qt_message(kind: QtMsgType, _context: object, message: str) -> None:
        level = {
            QtMsgType.QtDebugMsg: "debug",
            QtMsgType.QtInfoMsg: "info",
            QtMsgType.QtWarningMsg: "warning",
        }.get(kind, "error")
        getattr(log.qt, level)(message)

    qInstallMessageHandler(qt_message)
    app = Application([sys.argv[0]])
    # Qt has read its plug-in paths: what it starts (a browser for a link, a file
    # manager for the log folder) gets the user's environment, not the bundle's.
    childenv.restore_own()
    app.setApplicationName("Rubicon")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("rubicon")
    install_translator(app)

    kiosk = kiosk_config(args, layers)
    if kiosk is not None:
        return run_kiosk(app, args, kiosk, settings, settings_path)

    # One window per user: a second start hands its link to the first and ends.
    # A --non-interactive run is a job of its own and neither forwards nor listens.
    instance = SingleInstance(instance_name(), app)
    if not wanted.non_interactive:
        if instance.forward(encode(wanted)):
            log.app.info("handed the request to the Rubicon already running")
            return int(ExitCode.OK)
        instance.listen()

    window = MainWindow(
        Options(
            # The launch preferences come from ``settings`` when first needed.
            settings_path=settings_path,
            log_dir=args.log_dir or log.log_dir(),
            settings=layers,
            interactive=not wanted.non_interactive,
            # Pins live beside the settings file, so a separate --settings is a separate
            # profile. The file is read when the broker client is first made.
            pins_path=settings_path.parent / "pins.json",
        ),
    )
    window.sign_in_page.prefill(
        server=wanted.server or settings.last_server,
        username=wanted.user or settings.last_username,
    )

    def handed_over(data: bytes) -> None:
        log.app.info("a second start handed over its request")
        window.open_request(decode_request(data))

    instance.received.connect(handed_over)
    # macOS hands a clicked link to the running application as an event.
    app.links.requested.connect(window.open_request)
    app.links.refused.connect(window.refuse_link)
    outcome: list[int] = []

    def finished(code: int, message: str) -> None:
        if message:
            sys.stderr.write(f"rubicon: {message}\n")
        outcome.append(code)
        window.close()
        # It may come before the event loop runs: quit from the loop, once it does.
        QTimer.singleShot(0, lambda: app.exit(code))

    def first_frame() -> None:
        """The window is on screen: its icon, the log file, then the keychain or the link."""
        gc.enable()
        # For the frame and the task bar (every window of the application takes it).
        app.setWindowIcon(window_icon())
        log_file = log.open_deferred_file()
        log.app.info("Rubicon %s started; log file %s", __version__, log_file or "none")
        if wanted.empty:
            window.recall_password()
        else:
            window.open_request(wanted)

    window.run_finished.connect(finished)
    window.show()
    frame = FirstFrame(window)
    if args.exit_when_shown:
        exit_when_shown(frame)  # first: the moment it prints is the frame's
    frame.settled.connect(first_frame)
    # SIGTERM (a log-out, a shutdown) and Ctrl+C: nobody to ask what becomes of an open
    # desktop; shutdown() disconnects it and tells the broker, then the window closes.
    install_signal_handlers(window.shutdown)
    code = app.exec()
    instance.close()
    settle_at_exit(app)
    return outcome[0] if outcome else code


def install_signal_handlers(close: Callable[[], object]) -> None:
    """Ctrl-C or SIGTERM call ``close`` (the main window's ``shutdown``, which asks
    nothing; the kiosk's way out).

    Python runs signal handlers only between bytecodes, and Qt's idle event
    loop runs none: a short timer hands control back to Python now and then.
    """
    from PySide6.QtCore import QCoreApplication, QTimer

    signal.signal(signal.SIGINT, lambda *_: close())
    signal.signal(signal.SIGTERM, lambda *_: close())
    wakeup = QTimer(QCoreApplication.instance(), interval=250)
    wakeup.timeout.connect(lambda: None)
    wakeup.start()


def decode_request(data: bytes) -> StartRequest:
    """A request from a second start; a bad one is logged and does nothing."""
    try:
        return decode(data)
    except StartError as e:
        log.app.warning("ignoring a request from another start: %s", e)
        return StartRequest()


def run_kiosk(
    app: QApplication,
    args: argparse.Namespace,
    config: KioskConfig,
    settings: UserSettings,
    settings_path: Path,
) -> int:
    """The kiosk window instead of the main window; exits 0 after the admin's PIN."""
    from launcher.core import trust
    from launcher.core.launching import Preferences, sso_supported
    from launcher.core.protocols import platform_key
    from launcher.ui.firstframe import FirstFrame
    from launcher.ui.kiosk import KioskWindow
    from launcher.ui.resources import window_icon

    window = KioskWindow(
        config,
        preferences=Preferences.from_settings(settings, fullscreen=True),
        # Pins and CA trust are the kiosk account's: nobody at a kiosk is asked.
        pins=trust.PinStore(settings_path.parent / "pins.json"),
        # Held in memory while the user is signed in, zeroed when they are signed out.
        single_sign_on=sso_supported(platform_key()),
    )

    def leave() -> None:
        window.shutdown()
        app.exit(0)

    def first_frame() -> None:
        gc.enable()
        app.setWindowIcon(window_icon())
        log_file = log.open_deferred_file()
        log.app.info(
            "Rubicon %s started in kiosk mode (broker %s); log file %s",
            __version__,
            config.server or "-",
            log_file or "none",
        )

    window.admin_exit.connect(leave)
    window.start()
    frame = FirstFrame(window)
    if args.exit_when_shown:
        exit_when_shown(frame)
    frame.settled.connect(first_frame)
    # SIGTERM (the session wrapper, a shutdown) stops the clients and quits; the
    # window itself refuses to close.
    install_signal_handlers(leave)
    code = app.exec()
    settle_at_exit(app, watchers=[window])
    return code


def settle_at_exit(app: QApplication, *, watchers: Sequence[QObject] = ()) -> None:
    """The event loop has ended: stop the event filters on the application and
    wait for background work, while the objects they would call still exist.

    Python tears the windows down after this; an application event filter or a
    worker's report reaching them then could crash the process at exit (a
    frozen kiosk did, once, in CI).
    """
    from launcher.ui import tasks

    for watcher in watchers:
        app.removeEventFilter(watcher)
    tasks.finish()
