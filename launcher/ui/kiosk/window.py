"""KioskWindow: the pages in a stack, the state machine's screens rendered, the work
done with a SessionController and a LaunchFlow; the admin chord and PIN; idle
sign-out from the input it watches. The screens are listed in the package's docstring."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QStackedWidget, QVBoxLayout, QWidget

from launcher.core import heartbeat, log, trust
from launcher.core.broker import (
    BrokerClient,
    BrokerUnreachable,
    CertificateChanged,
    OtpRequired,
    SessionExpired,
    UntrustedCertificate,
)
from launcher.core.kiosk import Kiosk, KioskConfig, Screen, broker_not_ready, check_pin
from launcher.core.launching import OpenedDesktop, Preferences
from launcher.core.models import Desktop, SignIn
from launcher.core.supervisor import ClientExit
from launcher.ui import coretext, tasks
from launcher.ui.controller import SessionController, describe
from launcher.ui.kiosk.desktops import KioskDesktopsPage
from launcher.ui.kiosk.pages import MessagePage, PinPage, WaitingPage
from launcher.ui.launchflow import LaunchFlow
from launcher.ui.poweron import START_WAIT_LIMIT, Attempt
from launcher.ui.resources import icon
from launcher.ui.signin import SignInPage

ADMIN_CHORD = "Ctrl+Alt+Shift+K"
MAX_START_WAIT = 60  # seconds between tries while a desktop powers on, at most


# Input that counts as someone at the kiosk.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
    }
)


class KioskWindow(QWidget):
    """Renders the kiosk state machine; does the work with a :class:`SessionController`."""

    screen_changed = Signal(str)  # a Screen value
    signed_out = Signal(str)  # why: "session", "failed", "idle", "user", "expired"
    admin_exit = Signal()  # the right PIN: leave kiosk mode

    def __init__(
        self,
        config: KioskConfig,
        *,
        preferences: Preferences | None = None,
        client_factory: Callable[[str], BrokerClient] | None = None,
        pins: trust.PinStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_interval: int = 1000,
        single_sign_on: bool = False,
        heartbeat_interval: float = heartbeat.DEFAULT_INTERVAL,
        start_wait_limit: float = START_WAIT_LIMIT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kiosk")
        self.setWindowTitle(self.tr("Rubicon"))
        self.setWindowIcon(icon("rubicon"))
        self.setWindowFlags(
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.config = config
        self.kiosk = Kiosk(config.policy)
        self._clock = clock
        self._closing_allowed = False
        self._checking = False  # a try to reach the broker is under way
        self._pin_checking = False
        self._rendered: Screen | None = None
        self._first_list = False  # the next list is the first after a sign-in
        self._client_factory = client_factory or (lambda url: BrokerClient(url, pins=pins))
        self.session = SessionController(
            dataclasses.replace(preferences or Preferences(), kiosk=True),
            client_factory=self._client_factory,
            single_sign_on=single_sign_on,
            heartbeat_interval=heartbeat_interval,
            parent=self,
        )
        self.session.signed_in.connect(self._signed_in)
        self.session.sign_in_failed.connect(self._sign_in_failed)
        self.session.desktops_listed.connect(self._listed)
        self.session.failed.connect(self._failed)
        self.session.client_connected.connect(self._client_connected)
        self.session.client_exited.connect(self._client_exited)
        self.session.logged_off.connect(self._logged_off)
        # The main window's launch flow: one key per launch, a limit, Cancel.
        self.flow = LaunchFlow(
            self.session, limit=start_wait_limit, longest_wait=MAX_START_WAIT, parent=self
        )
        self.flow.waiting.connect(self._start_waiting)
        self.flow.tick.connect(self._start_tick)
        self.flow.opened.connect(self._client_started)
        self.flow.failed.connect(self._launch_failed)
        self.flow.gave_up.connect(self._start_gave_up)
        self.flow.cancelled.connect(self._start_cancelled)
        self.flow.already_open.connect(self._already_open)

        self.waiting_page = WaitingPage()
        self.sign_in_page = SignInPage(fixed_server=config.server, kiosk=True)
        self.desktops_page = KioskDesktopsPage()
        self.connecting_page = MessagePage(self.tr("Opening your desktop…"), busy=True)
        self.session_page = MessagePage(
            self.tr("Your desktop is open"),
            self.tr(
                "It fills the screen. When you sign out of it or close it, "
                "you come back here and Rubicon signs you out."
            ),
        )
        self.pin_page = PinPage()
        self.exit_page = MessagePage(self.tr("Leaving kiosk mode…"), busy=True)
        self.stack = QStackedWidget()
        self._pages: dict[Screen, QWidget] = {
            Screen.WAITING_FOR_NETWORK: self.waiting_page,
            Screen.SIGN_IN: self.sign_in_page,
            Screen.DESKTOPS: self.desktops_page,
            Screen.CONNECTING: self.connecting_page,
            Screen.IN_SESSION: self.session_page,
            Screen.ADMIN_PIN: self.pin_page,
            Screen.EXITED: self.exit_page,
        }
        for page in self._pages.values():
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.waiting_page.retry_requested.connect(self.try_broker)
        self.sign_in_page.submitted.connect(self._submitted)
        self.desktops_page.connect_requested.connect(self.connect_desktop)
        self.desktops_page.logoff_requested.connect(self._logoff)
        self.desktops_page.sign_out_requested.connect(lambda: self.sign_out("user"))
        self.connecting_page.cancelled.connect(self._cancel_start)
        self.pin_page.submitted.connect(self._pin_submitted)
        self.pin_page.cancelled.connect(self._pin_cancelled)

        self.admin_shortcut = QShortcut(QKeySequence(ADMIN_CHORD), self)
        self.admin_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.admin_shortcut.activated.connect(self.ask_for_pin)
        self.ticker = QTimer(self)
        self.ticker.setInterval(tick_interval)
        self.ticker.timeout.connect(self.tick)

    # -- start and stop ----------------------------------------------------------

    def start(self) -> None:
        """Show full screen, watch for activity, and try the broker (if one is set)."""
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.showFullScreen()
        self.ticker.start()
        if self.config.server:
            self.try_broker()
        else:
            # No broker set by the admin: the user types one; nothing to wait for.
            self.kiosk.broker_reachable(self._clock())
            self._render()

    def shutdown(self) -> None:
        """Stop everything and close for real (SIGTERM, or after the admin's exit)."""
        self.ticker.stop()
        self.flow.cancel_all()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.session.sign_out()  # the broker hears it from a pool thread, waited for at exit
        self.session.close()
        self._closing_allowed = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._closing_allowed:
            super().closeEvent(event)
            return
        log.ui.info("kiosk: close refused")
        event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Alt+F4 and Escape close nothing here (a window manager's Alt+F4
        # arrives as a close event, refused above).
        if event.key() == Qt.Key.Key_F4 and event.modifiers() & Qt.KeyboardModifier.AltModifier:
            event.accept()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in _ACTIVITY:
            self.kiosk.activity(self._clock())
        return False

    # -- rendering -----------------------------------------------------------------

    def _render(self) -> None:
        screen = self.kiosk.screen
        page = self._pages[screen]
        if self.stack.currentWidget() is not page:
            self.stack.setCurrentWidget(page)
        if screen is Screen.WAITING_FOR_NETWORK:
            self._update_countdown()
        if screen is not self._rendered:
            previous, self._rendered = self._rendered, screen
            # Under a session the client's full-screen window must be on top.
            self._stay_on_top(screen not in (Screen.CONNECTING, Screen.IN_SESSION))
            if screen is Screen.SIGN_IN:
                self.sign_in_page.focus_first_empty()
            elif screen is Screen.DESKTOPS:
                self.desktops_page.focus_first()
            elif screen is Screen.ADMIN_PIN:
                self.pin_page.reset()
            log.ui.info("kiosk: %s → %s", previous, screen)
            self.screen_changed.emit(screen.value)

    def _stay_on_top(self, on: bool) -> None:
        flag = Qt.WindowType.WindowStaysOnTopHint
        if bool(self.windowFlags() & flag) == on:
            return
        shown = self.isVisible()
        self.setWindowFlag(flag, on)  # hides a shown window
        if shown:
            self.showFullScreen()

    # -- the network ---------------------------------------------------------------

    def try_broker(self) -> None:
        """Ask the broker's /healthz off the GUI thread; the answer moves the state."""
        if self._checking or not self.config.server:
            return
        self._checking = True
        self._update_countdown()
        server = self.config.server

        def work() -> None:
            broker = self._client_factory(server)
            try:
                if not broker.healthz():
                    raise broker_not_ready(broker.base_url)
            finally:
                broker.close()

        tasks.run(self, work, on_success=self._reachable, on_failure=self._unreachable)

    def _reachable(self, _: object) -> None:
        self._checking = False
        self.kiosk.broker_reachable(self._clock())
        self._render()

    def _unreachable(self, error: Exception) -> None:
        self._checking = False
        log.ui.warning("kiosk: broker unreachable: %s", error)
        self.kiosk.broker_unreachable(self._clock())
        self._show_reason(error)
        self._render()

    def _show_reason(self, error: Exception) -> None:
        """Why the broker cannot be used: the network, or its certificate."""
        page = self.waiting_page
        if isinstance(error, (UntrustedCertificate, CertificateChanged)):
            page.heading.setText(self.tr("The broker cannot be trusted"))
            page.set_reason(
                self.tr(
                    "The broker at %s presents a certificate this kiosk does not trust. "
                    "Tell your administrator."
                )
                % error.presented.origin
            )
        else:
            page.heading.setText(self.tr("Waiting for the network"))
            page.set_reason(describe(error))

    def _update_countdown(self) -> None:
        self.waiting_page.set_seconds(
            self.kiosk.seconds_to_retry(self._clock()), trying=self._checking
        )

    # -- time ------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: the countdown, idle sign-out, a stale form, a stale PIN prompt."""
        now = self._clock()
        if self.kiosk.tick(now):
            # On the list, or while a desktop was being opened (a machine powering on).
            log.ui.info(
                "kiosk: signed out after %.0f s without activity", self.config.policy.idle_sign_out
            )
            self._signed_out("idle")
        elif self.kiosk.form_idle(now):
            if self.sign_in_page.username.text() or self.sign_in_page.password.text():
                self._clear_sign_in()
            self.kiosk.activity(now)
        if self.kiosk.retry_due(now) and not self._checking:
            self.try_broker()
        self._render()

    # -- sign in and out ---------------------------------------------------------------

    def _submitted(self, server: str, username: str, password: str) -> None:
        self.kiosk.activity(self._clock())
        try:
            otp = self.sign_in_page.otp_code()
        except ValueError as e:
            self.sign_in_page.show_error(coretext.of_error(e))
            return
        self.session.sign_in(self.config.server or server, username, password, otp=otp)

    def _sign_in_failed(self, error: Exception) -> None:
        if isinstance(error, OtpRequired):
            # The password was right: the code field appears, the password stays for it.
            self.sign_in_page.ask_otp(describe(error))
            return
        if isinstance(error, UntrustedCertificate):
            # Nobody at a kiosk is asked to trust a certificate.
            self.sign_in_page.show_error(
                self.tr(
                    "The broker at %s uses a certificate this kiosk does not trust. "
                    "Tell your administrator."
                )
                % error.presented.origin
            )
            return
        if isinstance(error, BrokerUnreachable) and self.config.server:
            self._clear_sign_in()
            self.kiosk.broker_unreachable(self._clock())
            self._show_reason(error)
            self._render()
            return
        self.sign_in_page.show_error(describe(error))

    def _signed_in(self, sign_in: SignIn) -> None:
        self._clear_sign_in()
        self.desktops_page.set_user(sign_in.user.display_name)
        self.desktops_page.banner.clear_message()
        self.desktops_page.set_desktops([])
        self.kiosk.signed_in(self._clock())
        self._first_list = True
        self._render()
        self.refresh()

    def sign_out(self, why: str, *, report: tuple[str, str] | None = None) -> None:
        """Sign out now; ``report`` the ended session to the broker first."""
        self.kiosk.sign_out(self._clock())
        self.session.sign_out(report=report)
        self._signed_out(why)

    def _signed_out(self, why: str, *, detail: str = "") -> None:
        """The state machine is back on sign-in: forget everything the screen showed."""
        if self.session.current is not None:
            self.session.sign_out()
        self.flow.cancel_all()  # a launch on its way starts no client
        if self.desktops_page.confirm_box is not None:
            self.desktops_page.confirm_box.reject()  # the last user's question, unanswered
        self._reset_connecting_page()
        self._clear_sign_in()
        self.desktops_page.set_desktops([])
        self.desktops_page.set_user("")
        self.desktops_page.banner.clear_message()
        self.desktops_page.set_busy(False)
        message = {
            "session": self.tr("Your session has ended and you have been signed out."),
            "idle": self.tr("You were signed out because nobody used the screen for a while."),
            "expired": self.tr("Your sign-in expired. Sign in again."),
            "failed": self.tr("Your desktop could not be opened: %s Sign in to try again.")
            % detail,
        }.get(why)
        if message:
            self.sign_in_page.banner.show_message(
                message, kind="error" if why == "failed" else "info"
            )
        self._render()
        self.signed_out.emit(why)

    def _clear_sign_in(self) -> None:
        """Empty the form: nothing the last user typed stays on screen."""
        page = self.sign_in_page
        page.reset()
        page.username.clear()
        page.password.clear()
        if not self.config.server:
            page.server.clear()
        page.focus_first_empty()

    # -- desktops ----------------------------------------------------------------------

    def refresh(self) -> None:
        if self.session.refresh():
            self.desktops_page.set_busy(True)

    def _listed(self, desktops: list[Desktop]) -> None:
        page = self.desktops_page
        page.set_busy(False)
        page.set_desktops(desktops)
        first, self._first_list = self._first_list, False
        if first and self.kiosk.screen is Screen.DESKTOPS:
            page.focus_first()  # Enter right after sign-in opens the first desktop
        wanted = self.kiosk.desktop_to_open
        auto = self.kiosk.underlying is Screen.CONNECTING and wanted
        if not auto or self.flow.busy or self.kiosk.client_running:
            return
        match = next((d for d in desktops if d.id == wanted), None)
        if match is None:
            self.kiosk.connect_failed(self._clock())
            self.desktops_page.banner.show_message(
                self.tr("The desktop set for this kiosk (%s) is not available to you.") % wanted
            )
            self._render()
            return
        self._launch(match)

    def connect_desktop(self, desktop: Desktop) -> None:
        self.kiosk.connect(desktop.id, self._clock())
        if self.kiosk.underlying is Screen.CONNECTING:
            self._launch(desktop)
            self._render()

    def _launch(self, desktop: Desktop) -> None:
        self._reset_connecting_page()
        self.connecting_page.heading.setText(self.tr("Opening %s…") % desktop.name)
        self.desktops_page.banner.clear_message()
        if self.flow.open(desktop) is None and not self.flow.attempt(desktop.id):
            if self.session.is_open(desktop.id):
                return  # its client runs behind us: already_open follows
            # Nobody signed in any more: back to where the state machine says.
            self.kiosk.connect_failed(self._clock())

    def _reset_connecting_page(self) -> None:
        page = self.connecting_page
        page.heading.setText(self.tr("Opening your desktop…"))
        page.detail.clear()
        page.countdown.hide()
        page.cancel_button.hide()

    def _start_waiting(self, attempt: Attempt, seconds: int) -> None:
        page = self.connecting_page
        page.detail.setText(
            self.tr("%s is starting. Rubicon opens it as soon as it is ready.")
            % attempt.desktop.name
        )
        page.set_seconds(seconds)
        page.cancel_button.show()

    def _start_tick(self, _attempt: Attempt, seconds: int) -> None:
        self.connecting_page.set_seconds(seconds)

    def _back_to_the_list(self, message: str = "") -> None:
        """A launch is over without a client: the list again, where idle sign-out runs."""
        self.kiosk.connect_failed(self._clock())
        self._reset_connecting_page()
        if message:
            self.desktops_page.banner.show_message(message)
        self._render()
        self.refresh()

    def _launch_failed(self, _attempt: Attempt, error: Exception) -> None:
        if isinstance(error, SessionExpired):
            self.kiosk.connect_failed(self._clock())
            self.sign_out("expired")
            return
        self._back_to_the_list(describe(error))

    def _start_gave_up(self, attempt: Attempt) -> None:
        self._back_to_the_list(
            self.tr("%s did not start in time. Try again later, or ask your administrator.")
            % attempt.desktop.name
        )

    def _cancel_start(self) -> None:
        self.flow.cancel()  # _start_cancelled follows

    def _start_cancelled(self, _attempt: Attempt) -> None:
        self._back_to_the_list()

    def _already_open(self, opened: OpenedDesktop, _brought: bool) -> None:
        log.ui.info("kiosk: %s is already open", opened.desktop.id)
        self.kiosk.session_started()
        self._render()

    def _client_started(self, _attempt: Attempt, opened: OpenedDesktop) -> None:
        self.kiosk.client_started()
        self.connecting_page.cancel_button.hide()
        self.connecting_page.countdown.hide()
        log.ui.info("kiosk: %s started (pid %d)", opened.desktop.id, opened.client.pid)

    def _client_connected(self, opened: OpenedDesktop) -> None:
        self.kiosk.session_started()
        self._render()

    def _client_exited(self, opened: OpenedDesktop | None, result: ClientExit) -> None:
        if opened is None:
            return  # stopped by us, or nobody is signed in any more
        reason = result.reason
        event = self.config.policy.session_end_event(
            logged_off=reason is not None and reason.logged_off
        )
        log.ui.info("kiosk: session %s ended; broker hears %s", opened.session_id, event)
        self.kiosk.session_ended(self._clock())
        self.session.sign_out(report=(opened.session_id, event))
        if reason is not None and reason.failed and not result.connected:
            self._signed_out("failed", detail=coretext.translate(reason.message))
        else:
            self._signed_out("session")

    def _logoff(self, desktop: Desktop) -> None:
        if self.session.logoff(desktop):
            self.desktops_page.set_busy(True)

    def _logged_off(self, desktop: Desktop) -> None:
        self.desktops_page.banner.show_message(
            self.tr("Logged off %s.") % desktop.name, kind="info"
        )
        self.refresh()

    def _failed(self, error: Exception) -> None:
        self.desktops_page.set_busy(False)
        if isinstance(error, SessionExpired):
            self.sign_out("expired")
            return
        self.desktops_page.banner.show_message(describe(error))

    # -- the admin's way out --------------------------------------------------------------

    def ask_for_pin(self) -> None:
        if self.kiosk.ask_for_pin():
            self.kiosk.activity(self._clock())
            self._render()

    def _pin_submitted(self, pin: str) -> None:
        now = self._clock()
        locked = self.kiosk.pin_locked_for(now)
        if locked:
            self._pin_locked(locked)
            return
        if self._pin_checking or self.config.policy.pin_hash is None:
            return
        self._pin_checking = True
        self.pin_page.set_busy(True)
        pin_hash = self.config.policy.pin_hash
        tasks.run(
            self,
            lambda: check_pin(pin_hash, pin),
            on_success=self._pin_checked,
            on_failure=lambda _error: self._pin_checked(False),
        )

    def _pin_checked(self, correct: bool) -> None:
        self._pin_checking = False
        now = self._clock()
        if self.kiosk.pin_checked(bool(correct), now):
            log.app.warning("kiosk: the admin PIN was entered; leaving kiosk mode")
            self._render()
            self.session.sign_out()
            self.session.close()
            self.admin_exit.emit()
            return
        if self.kiosk.screen is not Screen.ADMIN_PIN:
            return  # the prompt went away meanwhile
        log.app.warning("kiosk: a wrong admin PIN was entered")
        self.pin_page.reset()
        locked = self.kiosk.pin_locked_for(now)
        if locked:
            self._pin_locked(locked)
        else:
            self.pin_page.banner.show_message(self.tr("That PIN is not right."))

    def _pin_locked(self, seconds: int) -> None:
        self.pin_page.pin.clear()
        self.pin_page.banner.show_message(
            self.tr("Too many wrong PINs. Try again in %d seconds.") % seconds
        )

    def _pin_cancelled(self) -> None:
        self.kiosk.cancel_pin()
        self.pin_page.reset()
        self._render()
