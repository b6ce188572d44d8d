"""The main window: sign-in and desktops pages, and the work behind them.

Pages emit intents; this window runs them off the GUI thread with
``tasks.run`` and shows the outcome. Broker calls and process starts never
happen on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from launcher.core import log
from launcher.core.broker import BrokerClient, BrokerError, SessionExpired
from launcher.core.launching import OpenedDesktop, open_desktop
from launcher.core.models import Desktop, SignIn
from launcher.core.protocols import LaunchError
from launcher.core.supervisor import ClientExit
from launcher.ui import tasks
from launcher.ui.desktops import DesktopsPage
from launcher.ui.resources import icon
from launcher.ui.signin import SignInPage


@dataclass(frozen=True, slots=True)
class Options:
    """What the composition root hands the window."""

    clients: Mapping[str, str]
    fullscreen: bool = False


class _ExitRelay(QObject):
    """Carries a client's exit from its watcher thread to the GUI thread."""

    exited = Signal(object, object)  # OpenedDesktop's desktop id, ClientExit


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
    client_exited = Signal(object)  # ClientExit

    def __init__(
        self,
        options: Options,
        *,
        client_factory: Callable[[str], BrokerClient] = BrokerClient,
        on_sign_in: Callable[[str, str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Rubicon"))
        self.setWindowIcon(icon("rubicon"))
        self.resize(760, 540)
        self._options = options
        self._client_factory = client_factory
        self._on_sign_in = on_sign_in
        self._broker: BrokerClient | None = None
        self._sign_in: SignIn | None = None
        self._opened: dict[str, OpenedDesktop] = {}
        self._launching: set[str] = set()  # desktop ids with a launch under way
        self._relay = _ExitRelay(self)
        self._relay.exited.connect(self._client_exited)

        self.sign_in_page = SignInPage()
        self.desktops_page = DesktopsPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.sign_in_page)
        self.stack.addWidget(self.desktops_page)
        self.setCentralWidget(self.stack)

        self.sign_in_page.submitted.connect(self._sign_in_submitted)
        self.desktops_page.connect_requested.connect(self.connect_desktop)
        self.desktops_page.logoff_requested.connect(self._logoff)
        self.desktops_page.refresh_requested.connect(self.refresh)
        self.desktops_page.sign_out_requested.connect(self.sign_out)

    # -- sign in / out -----------------------------------------------------

    def _sign_in_submitted(self, server: str, username: str, password: str) -> None:
        try:
            broker = self._client_factory(server)
        except ValueError as e:
            self.sign_in_page.show_error(str(e))
            return

        def work() -> SignIn:
            return broker.login(username=username, password=password)

        def failed(error: Exception) -> None:
            broker.close()
            self.sign_in_page.show_error(describe(error))

        tasks.run(
            self,
            work,
            on_success=lambda result: self._signed_in(broker, result),
            on_failure=failed,
        )

    def _signed_in(self, broker: BrokerClient, sign_in: SignIn) -> None:
        self._broker, self._sign_in = broker, sign_in
        self.sign_in_page.reset()
        if self._on_sign_in:
            self._on_sign_in(broker.base_url, sign_in.user.username)
        self.desktops_page.set_user(sign_in.user.display_name)
        self.desktops_page.banner.clear_message()
        self.desktops_page.set_desktops([])
        self.stack.setCurrentWidget(self.desktops_page)
        self.signed_in.emit()
        self.refresh()

    def sign_out(self) -> None:
        broker, self._broker, self._sign_in = self._broker, None, None
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
        self.desktops_shown.emit()

    def connect_desktop(self, desktop: Desktop) -> None:
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

        def work() -> OpenedDesktop:
            return open_desktop(
                broker,
                desktop,
                clients=self._options.clients,
                fullscreen=self._options.fullscreen,
                on_exit=lambda result: self._relay.exited.emit(desktop.id, result),
            )

        def failed(error: Exception) -> None:
            self._launching.discard(desktop.id)
            self._failed(error)

        self._launching.add(desktop.id)
        tasks.run(self, work, on_success=self._opened_desktop, on_failure=failed)

    def _opened_desktop(self, opened: OpenedDesktop) -> None:
        self._launching.discard(opened.desktop.id)
        self._opened[opened.desktop.id] = opened
        self.desktops_page.banner.show_message(
            self.tr("%s is open in its own window.") % opened.desktop.name, kind="info"
        )
        self.client_started.emit(opened)
        self.refresh()

    def _client_exited(self, desktop_id: str, result: ClientExit) -> None:
        opened = self._opened.pop(desktop_id, None)
        self.client_exited.emit(result)
        if opened is None or self._broker is None:
            return  # we stopped it ourselves (log off), or the user signed out
        name = opened.desktop.name
        if result.reason is not None:
            reason = result.reason
            self.desktops_page.banner.show_message(
                f"{name}: {reason.message} {reason.hint}".strip()
            )
        else:
            self.desktops_page.banner.show_message(
                self.tr("%s was closed. Your desktop stays yours until you log off.") % name,
                kind="info",
            )
        self.refresh()

    def _logoff(self, desktop: Desktop) -> None:
        broker = self._broker
        if broker is None or desktop.session is None:
            return
        session_id = desktop.session.id
        opened = self._opened.pop(desktop.id, None)
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
        if isinstance(error, SessionExpired):
            self.sign_out()
            self.sign_in_page.show_error(describe(error))
            return
        self.desktops_page.banner.show_message(describe(error))

    # -- shutdown ----------------------------------------------------------

    def stop_clients(self) -> None:
        for opened in list(self._opened.values()):
            opened.client.stop()
        self._opened.clear()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.stop_clients()
        if self._broker is not None:
            self._broker.close()
        super().closeEvent(event)
