"""The main window: sign-in and desktops pages, and the work behind them.

Pages emit intents; this window runs them off the GUI thread with
``tasks.run`` and shows the outcome. Broker calls and process starts never
happen on the GUI thread.

Single sign-on: the sign-in password is kept in a :class:`Secret` only where
the RDP client can take it (FreeRDP; see ``launching.sso_supported``), and
only while the user's desktop list offers RDP. It goes to a client only for
a connection whose pool asks for it (``sso``), and is zeroed on sign-out,
on an expired sign-in and when the window closes.

While a client runs, a heartbeat tells the broker so; when the client ends
without a log off, the broker hears "disconnect" (the session stays, the
user may reconnect), or "log off" if the client says the session was logged
off on the desktop itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, qVersion
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from launcher.core import doctor, heartbeat, log, trust
from launcher.core.broker import (
    BrokerClient,
    BrokerError,
    BrokerRejected,
    DesktopStarting,
    SessionExpired,
    UntrustedCertificate,
)
from launcher.core.launching import OpenedDesktop, Preferences, open_desktop, sso_supported
from launcher.core.models import Desktop, Protocol, SignIn
from launcher.core.protocols import LaunchError, platform_key
from launcher.core.secret import Secret
from launcher.core.settings import config_dir
from launcher.core.supervisor import ClientExit
from launcher.ui import tasks
from launcher.ui.desktops import DesktopsPage
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.resources import icon
from launcher.ui.signin import SignInPage
from launcher.ui.trustdialog import TrustDialog


@dataclass(frozen=True, slots=True)
class Options:
    """What the composition root hands the window."""

    preferences: Preferences = field(default_factory=Preferences)
    settings_path: Path | None = None  # for the diagnostics report and bundle
    log_dir: Path | None = None
    heartbeat_interval: float = heartbeat.DEFAULT_INTERVAL
    # Keep the sign-in password for RDP single sign-on, where the client can take it.
    single_sign_on: bool = field(default_factory=lambda: sso_supported(platform_key()))


class _ExitRelay(QObject):
    """Carries a client's news from supervisor threads to the GUI thread."""

    exited = Signal(object, object)  # OpenedDesktop's desktop id, ClientExit
    connected = Signal(object)  # desktop id


def describe(error: Exception) -> str:
    """The sentence to show for a failure from the broker or a launch."""
    if isinstance(error, (BrokerError, LaunchError)):
        return str(error)
    if isinstance(error, ValueError):
        return str(error)
    log.ui.error("unexpected failure", exc_info=error)
    return f"Something went wrong: {error}. Please send the log to your administrator."


class MainWindow(QMainWindow):
    signed_in = Signal()
    desktops_shown = Signal()
    client_started = Signal(object)  # OpenedDesktop
    client_connected = Signal(object)  # OpenedDesktop
    client_exited = Signal(object)  # ClientExit
    session_reported = Signal(str, str)  # session id, "disconnect" or "logoff"
    diagnostics_opened = Signal(object)  # DiagnosticsDialog

    def __init__(
        self,
        options: Options,
        *,
        client_factory: Callable[[str], BrokerClient] | None = None,
        pins: trust.PinStore | None = None,
        on_sign_in: Callable[[str, str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Rubicon"))
        self.setWindowIcon(icon("rubicon"))
        self.resize(760, 540)
        self._options = options
        self._pins = pins
        self._client_factory = client_factory or (lambda url: BrokerClient(url, pins=pins))
        self.trust_dialog: TrustDialog | None = None
        self._on_sign_in = on_sign_in
        self._broker: BrokerClient | None = None
        self._sign_in: SignIn | None = None
        self._sso: Secret | None = None
        self._opened: dict[str, OpenedDesktop] = {}
        self._heartbeats: dict[str, heartbeat.Heartbeat] = {}
        self._launching: set[str] = set()  # desktop ids with a launch under way
        self._last_address: tuple[str, int] | None = None  # for diagnostics
        self._report_target: tuple[str | None, tuple[str, int] | None] = (None, None)
        self._diagnostics: DiagnosticsDialog | None = None
        self._relay = _ExitRelay(self)
        self._relay.exited.connect(self._client_exited)
        self._relay.connected.connect(self._client_connected)

        self.sign_in_page = SignInPage()
        self.desktops_page = DesktopsPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.sign_in_page)
        self.stack.addWidget(self.desktops_page)
        self.setCentralWidget(self.stack)

        self.sign_in_page.submitted.connect(self._sign_in_submitted)
        self.sign_in_page.help_requested.connect(self.show_diagnostics)
        self.desktops_page.connect_requested.connect(self.connect_desktop)
        self.desktops_page.connect_with_requested.connect(self.connect_desktop)
        self.desktops_page.logoff_requested.connect(self._logoff)
        self.desktops_page.refresh_requested.connect(self.refresh)
        self.desktops_page.sign_out_requested.connect(self.sign_out)
        self.desktops_page.help_requested.connect(self.show_diagnostics)
        self.help_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents), self)
        self.help_shortcut.activated.connect(self.show_diagnostics)

    @property
    def holds_password(self) -> bool:
        """Whether the sign-in password is kept for single sign-on right now."""
        return self._sso is not None and not self._sso.cleared

    # -- sign in / out -----------------------------------------------------

    def _sign_in_submitted(self, server: str, username: str, password: str) -> None:
        try:
            broker = self._client_factory(server)
        except ValueError as e:
            self.sign_in_page.show_error(str(e))
            return
        keep = Secret(password) if self._options.single_sign_on else None

        def work() -> SignIn:
            return broker.login(username=username, password=password)

        def failed(error: Exception) -> None:
            if keep is not None:
                keep.clear()
            broker.close()
            self.sign_in_page.show_error(describe(error))
            if isinstance(error, UntrustedCertificate) and self._pins is not None:
                self._ask_trust(error.presented)

        tasks.run(
            self,
            work,
            on_success=lambda result: self._signed_in(broker, result, keep),
            on_failure=failed,
        )

    def _ask_trust(self, presented: trust.Presented) -> None:
        dialog = TrustDialog(presented, self)
        self.trust_dialog = dialog

        def trusted() -> None:
            assert self._pins is not None
            self._pins.pin(presented.origin, pem=presented.pem)
            self.sign_in_page.submit()

        dialog.accepted.connect(trusted)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _signed_in(self, broker: BrokerClient, sign_in: SignIn, sso: Secret | None) -> None:
        self._forget_password()
        self._broker, self._sign_in, self._sso = broker, sign_in, sso
        self.sign_in_page.reset()
        if self._on_sign_in:
            self._on_sign_in(broker.base_url, sign_in.user.username)
        self.desktops_page.set_user(sign_in.user.display_name)
        self.desktops_page.banner.clear_message()
        self.desktops_page.set_desktops([])
        self.stack.setCurrentWidget(self.desktops_page)
        self.signed_in.emit()
        self.refresh()

    def _forget_password(self) -> None:
        if self._sso is not None:
            self._sso.clear()
            self._sso = None

    def sign_out(self) -> None:
        broker, self._broker, self._sign_in = self._broker, None, None
        self._forget_password()
        self._stop_heartbeats()
        self.stack.setCurrentWidget(self.sign_in_page)
        self.sign_in_page.reset()
        if broker is None:
            return

        def done(_: object) -> None:
            broker.close()

        def failed(error: Exception) -> None:
            log.ui.warning("sign-out: %s", describe(error))
            broker.close()

        tasks.run(self, broker.logout, on_success=done, on_failure=failed)

    # -- desktops ----------------------------------------------------------

    def refresh(self) -> None:
        if self._broker is None:
            return
        self.desktops_page.set_busy(True)
        tasks.run(self, self._broker.desktops, on_success=self._show, on_failure=self._failed)

    def _show(self, desktops: list[Desktop]) -> None:
        self.desktops_page.set_busy(False)
        self.desktops_page.set_desktops(desktops)
        if self._sso is not None and not any(Protocol.RDP in d.protocols for d in desktops):
            # Nothing here can sign in with it: do not hold it any longer.
            log.ui.debug("no RDP desktop; the sign-in password is not kept")
            self._forget_password()
        self.desktops_shown.emit()

    def connect_desktop(self, desktop: Desktop, protocol: Protocol | None = None) -> None:
        broker = self._broker
        if broker is None:
            return
        if desktop.id in self._launching:
            return
        running = self._opened.get(desktop.id)
        if running and running.client.running():
            self.desktops_page.banner.show_message(
                self.tr("%s is already open in its own window.") % desktop.name, kind="info"
            )
            return
        self.desktops_page.set_busy(True)
        self.desktops_page.banner.show_message(
            self.tr("Connecting to %s…") % desktop.name, kind="info"
        )
        sso = self._sso

        def work() -> OpenedDesktop:
            return open_desktop(
                broker,
                desktop,
                protocol=protocol,
                preferences=self._options.preferences,
                sso=sso,
                on_exit=lambda result: self._relay.exited.emit(desktop.id, result),
                on_connected=lambda: self._relay.connected.emit(desktop.id),
            )

        def failed(error: Exception) -> None:
            self._launching.discard(desktop.id)
            self._failed(error)

        self._launching.add(desktop.id)
        tasks.run(self, work, on_success=self._opened_desktop, on_failure=failed)

    def _opened_desktop(self, opened: OpenedDesktop) -> None:
        self._launching.discard(opened.desktop.id)
        self._opened[opened.desktop.id] = opened
        self._last_address = (opened.host, opened.port) if opened.host else None
        name = opened.desktop.name
        if opened.detached:
            message = self.tr("%s is opening in %s.") % (name, opened.client.name)
        else:
            message = self.tr("%s is open in its own window.") % name
            if self._broker is not None:
                beat = heartbeat.for_session(
                    self._broker, opened.session_id, interval=self._options.heartbeat_interval
                )
                self._heartbeats[opened.desktop.id] = beat.start()
        self.desktops_page.banner.show_message(message, kind="info")
        self.client_started.emit(opened)
        self.refresh()

    def _client_connected(self, desktop_id: str) -> None:
        opened = self._opened.get(desktop_id)
        if opened is None:
            return
        self.desktops_page.banner.show_message(
            self.tr("%s is connected.") % opened.desktop.name, kind="ok"
        )
        self.client_connected.emit(opened)

    def _client_exited(self, desktop_id: str, result: ClientExit) -> None:
        opened = self._opened.pop(desktop_id, None)
        self._stop_heartbeat(desktop_id)
        self.client_exited.emit(result)
        if opened is None or self._broker is None:
            return  # we stopped it ourselves (log off), or the user signed out
        name = opened.desktop.name
        reason = result.reason
        if opened.detached and (reason is None or not reason.failed):
            return  # the app it handed the desktop to carries on
        if reason is not None:
            kind = "error" if reason.failed else "info"
            self.desktops_page.banner.show_message(
                f"{name}: {reason.message} {reason.hint}".strip(), kind=kind
            )
        else:
            self.desktops_page.banner.show_message(
                self.tr("%s was closed. Your desktop stays yours until you log off.") % name,
                kind="info",
            )
        logged_off = reason is not None and reason.logged_off
        self._report_session(opened.session_id, "logoff" if logged_off else "disconnect")

    def _report_session(self, session_id: str, event: str) -> None:
        """Tell the broker the client ended: ``disconnect`` or ``logoff``; then refresh."""
        broker = self._broker
        if broker is None:
            return

        def work() -> None:
            try:
                if event == "logoff":
                    broker.logoff(session_id)
                else:
                    broker.disconnect(session_id)
            except BrokerRejected as e:
                if e.code not in (
                    "not_found",
                    "session_not_found",
                    "session_ended",
                    "method_not_allowed",
                ):
                    raise
                log.ui.info("broker did not take %s for %s: %s", event, session_id, e.code)

        def done(_: object) -> None:
            self.session_reported.emit(session_id, event)
            self.refresh()

        def failed(error: Exception) -> None:
            log.ui.warning("could not tell the broker about %s: %s", session_id, describe(error))
            self.session_reported.emit(session_id, "")
            self.refresh()

        tasks.run(self, work, on_success=done, on_failure=failed)

    def _logoff(self, desktop: Desktop) -> None:
        broker = self._broker
        if broker is None or desktop.session is None:
            return
        session_id = desktop.session.id
        opened = self._opened.pop(desktop.id, None)
        self._stop_heartbeat(desktop.id)
        self.desktops_page.set_busy(True)

        def work() -> None:
            if opened:
                opened.client.stop()
            broker.logoff(session_id)

        def done(_: object) -> None:
            self.desktops_page.banner.show_message(
                self.tr("Logged off %s.") % desktop.name, kind="info"
            )
            self.refresh()

        tasks.run(self, work, on_success=done, on_failure=self._failed)

    def _failed(self, error: Exception) -> None:
        self.desktops_page.set_busy(False)
        if isinstance(error, DesktopStarting):
            self.desktops_page.banner.show_message(describe(error), kind="info")
            self.refresh()
            return
        if isinstance(error, SessionExpired):
            self.sign_out()
            self.sign_in_page.show_error(describe(error))
            return
        self.desktops_page.banner.show_message(describe(error))

    # -- heartbeats ----------------------------------------------------------

    def _stop_heartbeat(self, desktop_id: str) -> None:
        beat = self._heartbeats.pop(desktop_id, None)
        if beat is not None:
            beat.stop(timeout=0)  # never wait on the network here

    def _stop_heartbeats(self) -> None:
        for desktop_id in list(self._heartbeats):
            self._stop_heartbeat(desktop_id)

    # -- diagnostics ---------------------------------------------------------

    def _take_report_target(self) -> None:
        """On the GUI thread: the broker and desktop the next report checks."""
        server = self._broker.base_url if self._broker else self.sign_in_page.server.text().strip()
        self._report_target = (server or None, self._last_address)

    def make_report(self) -> doctor.Report:
        """The doctor's report on this window's broker and last desktop (off the GUI thread)."""
        server, desktop = self._report_target
        return doctor.build_report(
            settings_path=self._options.settings_path or config_dir() / "settings.json",
            log_directory=self._options.log_dir,
            server=server,
            desktop=desktop,
            qt_version=qVersion(),
        )

    def write_bundle(self, path: Path, report: doctor.Report) -> list[str]:
        return doctor.write_bundle(
            path,
            report,
            settings_path=self._options.settings_path or config_dir() / "settings.json",
            log_directory=self._options.log_dir,
        )

    def show_diagnostics(self) -> DiagnosticsDialog:
        if self._diagnostics is None:
            self._diagnostics = DiagnosticsDialog(
                self.make_report,
                self.write_bundle,
                before_run=self._take_report_target,
                parent=self,
            )
        dialog = self._diagnostics
        if dialog.isVisible():
            dialog.raise_()  # already open, maybe behind the window
        dialog.show()
        dialog.activateWindow()
        dialog.run()
        self.diagnostics_opened.emit(dialog)
        return dialog

    # -- shutdown ----------------------------------------------------------

    def stop_clients(self) -> None:
        self._stop_heartbeats()
        for opened in list(self._opened.values()):
            opened.client.stop()
        self._opened.clear()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._forget_password()
        self.stop_clients()
        if self._broker is not None:
            self._broker.close()
        super().closeEvent(event)
