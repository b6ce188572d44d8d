"""The work behind the windows, without a widget: sign in, list, connect, log off.

:class:`SessionController` holds the signed-in broker client, the clients it
started with their heartbeats, and the sign-in password kept for single
sign-on. A window calls its methods with what the user asked for and renders
what its signals report. The desktop window (``mainwindow``) and the kiosk
window (``kiosk``) share it, so both sign in, launch and tell the broker
about sessions the same way; what each shows, and what it does when a
client ends, stays with the window.

Broker calls and process starts run off the GUI thread with ``tasks.run``;
every signal is emitted on the GUI thread. When the controller (normally a
child of its window) is destroyed, outstanding work reports to nobody.

Leaving while desktops are open (the window closes, the user signs out):
:meth:`SessionController.leave` lets their clients run on without the
launcher (``None``: "keep it open"; their heartbeats stop, so the broker
marks them disconnected after its timeout), or stops them and tells the
broker ``disconnect`` or ``logoff``, off the GUI thread; ``left`` follows.

Single sign-on: the sign-in password is kept in a :class:`Secret` only where
the RDP client can take it (FreeRDP, or mstsc through a Windows credential;
see ``launching.sso_supported``), and
only while the user's desktop list offers RDP. It goes to a client only for
a connection whose pool asks for it (``sso``), and is zeroed on sign-out, on
an expired sign-in and on :meth:`SessionController.close`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal

from launcher.core import heartbeat, log
from launcher.core.broker import BrokerClient, BrokerError, BrokerRejected
from launcher.core.errors import RubiconError
from launcher.core.launching import OpenedDesktop, Preferences, open_desktop
from launcher.core.models import Desktop, Protocol, SignIn
from launcher.core.secret import Secret
from launcher.core.supervisor import ClientExit
from launcher.ui import coretext, tasks

# What the broker may answer when told about a session that is already over.
_SESSION_GONE = ("not_found", "session_not_found", "session_ended", "method_not_allowed")


def describe(error: Exception) -> str:
    """The sentence to show for a failure, translated: one the core tells the user
    about (:class:`RubiconError`) as it says; anything else is a bug, logged."""
    if isinstance(error, RubiconError):
        return coretext.of_error(error)
    log.ui.error("unexpected failure", exc_info=error)
    return QCoreApplication.translate(
        "SessionController",
        "Something went wrong: %s. Please send the log to your administrator.",
    ) % str(error)


class _ClientRelay(QObject):
    """Carries a client's news from supervisor threads to the GUI thread."""

    exited = Signal(object, object)  # desktop id, ClientExit
    connected = Signal(object)  # desktop id


def tell_broker(broker: BrokerClient, session_id: str, event: str) -> None:
    """``disconnect`` or ``logoff`` for ``session_id``; a session already over is no error.

    Blocking: call it off the GUI thread.
    """
    try:
        if event == "logoff":
            broker.logoff(session_id)
        else:
            broker.disconnect(session_id)
    except BrokerRejected as e:
        if e.code not in _SESSION_GONE:
            raise
        log.ui.info("broker did not take %s for %s: %s", event, session_id, e.code)


class SessionController(QObject):
    """One user's sign-in and the desktops opened under it."""

    signed_in = Signal(object)  # SignIn
    sign_in_failed = Signal(object)  # Exception
    desktops_listed = Signal(object)  # list[Desktop]
    failed = Signal(object)  # Exception from listing or logging off
    launch_failed = Signal(object, object)  # Desktop, Exception
    client_started = Signal(object)  # OpenedDesktop
    client_connected = Signal(object)  # OpenedDesktop
    # OpenedDesktop, or None when it was stopped by us or the user signed out; ClientExit
    client_exited = Signal(object, object)
    session_reported = Signal(str, str)  # session id, "disconnect"/"logoff" ("" if it failed)
    logged_off = Signal(object)  # Desktop
    left = Signal(object)  # after leave(): None (kept open), "disconnect" or "logoff"

    def __init__(
        self,
        preferences: Preferences,
        *,
        client_factory: Callable[[str], BrokerClient],
        single_sign_on: bool,
        heartbeat_interval: float = heartbeat.DEFAULT_INTERVAL,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.preferences = preferences  # read at each launch; a window may replace it
        self._client_factory = client_factory
        self._single_sign_on = single_sign_on
        self._heartbeat_interval = heartbeat_interval
        self._broker: BrokerClient | None = None
        self._sign_in: SignIn | None = None
        self._sso: Secret | None = None
        self._opened: dict[str, OpenedDesktop] = {}
        self._heartbeats: dict[str, heartbeat.Heartbeat] = {}
        self._launching: set[str] = set()  # desktop ids with a launch under way
        # A client's news can overtake its launch's result (they come from
        # different threads): kept here until the launch lands in _started.
        self._early: dict[str, list[ClientExit | None]] = {}  # None: connected
        self.last_address: tuple[str, int] | None = None  # of the last desktop, for diagnostics
        self._relay = _ClientRelay(self)
        self._relay.exited.connect(self._client_exited)
        self._relay.connected.connect(self._client_connected)

    # -- state ---------------------------------------------------------------

    @property
    def broker(self) -> BrokerClient | None:
        """The signed-in broker client, or None."""
        return self._broker

    @property
    def base_url(self) -> str | None:
        return self._broker.base_url if self._broker is not None else None

    @property
    def current(self) -> SignIn | None:
        """Who is signed in, or None."""
        return self._sign_in

    @property
    def sso(self) -> Secret | None:
        """The kept sign-in password, for tests and the window's checks."""
        return self._sso

    @property
    def holds_password(self) -> bool:
        """Whether the sign-in password is kept for single sign-on right now."""
        return self._sso is not None and not self._sso.cleared

    def running(self, desktop_id: str) -> OpenedDesktop | None:
        """The desktop opened for ``desktop_id`` while its client still runs, else None."""
        opened = self._opened.get(desktop_id)
        return opened if opened is not None and opened.client.running() else None

    def is_open(self, desktop_id: str) -> bool:
        """A client started for ``desktop_id`` still runs."""
        return self.running(desktop_id) is not None

    def opened(self) -> list[OpenedDesktop]:
        return list(self._opened.values())

    def open_desktops(self) -> list[OpenedDesktop]:
        """Desktops whose client runs and speaks for the session (not one handed to
        another program, such as the macOS app): what leaving must decide about."""
        return [o for o in self._opened.values() if not o.detached and o.client.running()]

    # -- sign in / out ---------------------------------------------------------

    def sign_in(self, server: str, username: str, password: str, *, otp: str | None = None) -> None:
        """Sign in off the GUI thread: ``signed_in`` or ``sign_in_failed`` follows.

        ``otp``: the one-time code, sent after the broker asked for one (``OtpRequired``).
        """
        try:
            broker = self._client_factory(server)
        except ValueError as e:
            self.sign_in_failed.emit(e)
            return
        keep = Secret(password) if self._single_sign_on else None

        def work() -> SignIn:
            try:
                return broker.login(username=username, password=password, otp=otp)
            except BaseException:
                broker.close()  # here, as in sign_out: a callback may never come
                raise

        def failed(error: Exception) -> None:
            if keep is not None:
                keep.clear()
            self.sign_in_failed.emit(error)

        def done(sign_in: SignIn) -> None:
            self._forget_password()
            self._broker, self._sign_in, self._sso = broker, sign_in, keep
            self.signed_in.emit(sign_in)

        tasks.run(self, work, on_success=done, on_failure=failed)

    def _forget_password(self) -> None:
        if self._sso is not None:
            self._sso.clear()
            self._sso = None

    def sign_out(self, *, report: tuple[str, str] | None = None) -> None:
        """Forget the user at once; tell the broker off the GUI thread.

        ``report``: (session id, ``disconnect`` or ``logoff``) to send first,
        while the sign-in is still valid. Clients still running keep running.
        """
        broker, self._broker, self._sign_in = self._broker, None, None
        self._forget_password()
        self._stop_heartbeats()
        if broker is None:
            return

        def work() -> None:
            # Closed here, not in a callback: a window closed right after the
            # sign-out gets no callback, and its connection would stay open.
            try:
                if report is not None:
                    tell_broker(broker, *report)
            finally:
                try:
                    broker.logout()
                finally:
                    broker.close()

        def done(_: object) -> None:
            if report is not None:
                self.session_reported.emit(*report)

        def failed(error: Exception) -> None:
            log.ui.warning("sign-out: %s", describe(error))
            if report is not None:
                self.session_reported.emit(report[0], "")

        tasks.run(self, work, on_success=done, on_failure=failed)

    # -- desktops --------------------------------------------------------------

    def refresh(self) -> bool:
        """Ask for the desktop list; False when nobody is signed in."""
        if self._broker is None:
            return False
        tasks.run(self, self._broker.desktops, on_success=self._listed, on_failure=self.failed.emit)
        return True

    def _listed(self, desktops: list[Desktop]) -> None:
        if self._sso is not None and not any(Protocol.RDP in d.protocols for d in desktops):
            # Nothing here can sign in with it: do not hold it any longer.
            log.ui.debug("no RDP desktop; the sign-in password is not kept")
            self._forget_password()
        self.desktops_listed.emit(desktops)

    def connect_desktop(
        self,
        desktop: Desktop,
        protocol: Protocol | None = None,
        *,
        idempotency_key: str | None = None,
        cancelled: threading.Event | None = None,
    ) -> bool:
        """Open ``desktop`` off the GUI thread; False when there is nothing to do.

        Nothing happens while nobody is signed in, while a launch of the same
        desktop is under way, or while its client still runs (see :meth:`is_open`).
        ``idempotency_key`` and ``cancelled`` go to ``open_desktop``: one key per
        click, the same while a machine powers on (``ui.poweron.StartWaiter``).
        """
        broker = self._broker
        if broker is None or desktop.id in self._launching or self.is_open(desktop.id):
            return False
        sso = self._sso
        preferences = self.preferences

        def work() -> OpenedDesktop:
            return open_desktop(
                broker,
                desktop,
                protocol=protocol,
                preferences=preferences,
                sso=sso,
                idempotency_key=idempotency_key,
                cancelled=cancelled,
                on_exit=lambda result: self._relay.exited.emit(desktop.id, result),
                on_connected=lambda: self._relay.connected.emit(desktop.id),
            )

        def failed(error: Exception) -> None:
            self._launching.discard(desktop.id)
            self._early.pop(desktop.id, None)
            self.launch_failed.emit(desktop, error)

        self._launching.add(desktop.id)
        tasks.run(self, work, on_success=self._started, on_failure=failed)
        return True

    def _started(self, opened: OpenedDesktop) -> None:
        desktop_id = opened.desktop.id
        self._launching.discard(desktop_id)
        self._opened[desktop_id] = opened
        self.last_address = (opened.host, opened.port) if opened.host else None
        if not opened.detached and self._broker is not None:
            beat = heartbeat.for_session(
                self._broker, opened.session_id, interval=self._heartbeat_interval
            )
            self._heartbeats[desktop_id] = beat.start()
        self.client_started.emit(opened)
        for news in self._early.pop(desktop_id, []):
            if news is None:
                self._client_connected(desktop_id)
            else:
                self._client_exited(desktop_id, news)

    def _client_connected(self, desktop_id: str) -> None:
        if desktop_id in self._launching:
            self._early.setdefault(desktop_id, []).append(None)
            return
        opened = self._opened.get(desktop_id)
        if opened is not None:
            self.client_connected.emit(opened)

    def _client_exited(self, desktop_id: str, result: ClientExit) -> None:
        if desktop_id in self._launching:
            self._early.setdefault(desktop_id, []).append(result)
            return
        opened = self._opened.pop(desktop_id, None)
        self._stop_heartbeat(desktop_id)
        self.client_exited.emit(opened if self._broker is not None else None, result)

    def report_session(self, session_id: str, event: str) -> None:
        """Tell the broker a client ended (``disconnect`` or ``logoff``); ``session_reported``."""
        broker = self._broker
        if broker is None:
            return

        def failed(error: Exception) -> None:
            log.ui.warning("could not tell the broker about %s: %s", session_id, describe(error))
            self.session_reported.emit(session_id, "")

        tasks.run(
            self,
            lambda: tell_broker(broker, session_id, event),
            on_success=lambda _: self.session_reported.emit(session_id, event),
            on_failure=failed,
        )

    def logoff(self, desktop: Desktop) -> bool:
        """Stop the desktop's client and end its session; False without a session."""
        broker = self._broker
        if broker is None or desktop.session is None:
            return False
        session_id = desktop.session.id
        opened = self._opened.pop(desktop.id, None)
        self._stop_heartbeat(desktop.id)

        def work() -> None:
            if opened:
                opened.client.stop()
            broker.logoff(session_id)

        tasks.run(
            self,
            work,
            on_success=lambda _: self.logged_off.emit(desktop),
            on_failure=self.failed.emit,
        )
        return True

    def stop_client(self, desktop_id: str) -> None:
        """Stop the client of ``desktop_id`` off the GUI thread; the broker is not told."""
        opened = self._opened.pop(desktop_id, None)
        self._stop_heartbeat(desktop_id)
        if opened is None:
            return
        tasks.run(
            self,
            opened.client.stop,
            on_success=lambda _: None,
            on_failure=lambda e: log.ui.warning("could not stop %s: %s", desktop_id, e),
        )

    def leave(self, event: str | None) -> None:
        """The user leaves the desktops that are open: ``left`` follows, on the GUI thread.

        ``None``: their clients run on, also after the launcher exits; the
        heartbeats stop, so the broker marks the sessions disconnected after its
        timeout. ``disconnect`` or ``logoff``: the clients are stopped and the
        broker told, off the GUI thread; a broker that cannot be told is logged
        (its heartbeat timeout then has the last word).
        """
        leaving = self.open_desktops()
        self._stop_heartbeats()
        self._opened.clear()
        broker = self._broker

        def work() -> None:
            for opened in leaving:
                if event is None:
                    opened.client.let_go()
                    continue
                opened.client.stop()
                if broker is None:
                    continue
                try:
                    tell_broker(broker, opened.session_id, event)
                except (BrokerError, OSError) as e:
                    log.ui.warning(
                        "could not tell the broker %s for %s: %s", event, opened.session_id, e
                    )

        def failed(error: Exception) -> None:
            log.ui.error("leaving the open desktops failed", exc_info=error)
            self.left.emit(event)

        log.ui.info("leaving %d open desktop(s): %s", len(leaving), event or "kept open")
        tasks.run(self, work, on_success=lambda _: self.left.emit(event), on_failure=failed)

    # -- heartbeats and shutdown -------------------------------------------------

    def _stop_heartbeat(self, desktop_id: str) -> None:
        beat = self._heartbeats.pop(desktop_id, None)
        if beat is not None:
            beat.stop(timeout=0)  # never wait on the network here

    def _stop_heartbeats(self) -> None:
        for desktop_id in list(self._heartbeats):
            self._stop_heartbeat(desktop_id)

    def stop_clients(self) -> None:
        """Stop every client started here (blocks up to a few seconds per client)."""
        self._stop_heartbeats()
        for opened in list(self._opened.values()):
            opened.client.stop()
        self._opened.clear()

    def close(self) -> None:
        """The window is closing: zero the password, stop the clients, close the broker."""
        self._forget_password()
        self.stop_clients()
        if self._broker is not None:
            self._broker.close()
