"""The main window: sign-in and desktops pages, and what they show.

Pages emit intents; the window hands them to its :class:`SessionController`
(``self.session``, in ``controller.py``), which signs in, lists, launches,
keeps heartbeats and the single sign-on password, and reports back with
signals. Broker calls and process starts never happen on the GUI thread.

When a client ends without a log off, the broker hears "disconnect" (the
session stays, the user may reconnect), or "log off" if the client says the
session was logged off on the desktop itself.

A launch carries one Idempotency-Key per click. While the broker powers the
machine on (202), the page shows a moving bar, a countdown to the next try
and Cancel (``poweron.StartWaiter``); the next try sends the same key, and
Cancel stops asking (a launch already on its way starts no client).

Settings come in layers (``core.settings.Layers``): the window reads the
effective values and writes only the user's own choices (favourites,
recents, the view, the broker list, the Settings dialog), never what the
admin locked. :meth:`MainWindow.open_request` carries out a ``rubicon://``
link or a command line, also one handed over by a second start. Without
``interactive`` (``--non-interactive``) no dialog is ever shown: what would
need one ends the run with ``run_finished(exit code, message)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, qVersion
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from launcher.core import catalog, credentials, heartbeat, log, servers, trust
from launcher.core.broker import (
    BrokerClient,
    DesktopStarting,
    OtpRequired,
    SessionExpired,
    UntrustedCertificate,
)
from launcher.core.launching import LaunchCancelled, OpenedDesktop, Preferences, sso_supported
from launcher.core.models import Desktop, Protocol, SignIn
from launcher.core.protocols import platform_key
from launcher.core.settings import Layers, config_dir
from launcher.core.signin import account_name
from launcher.core.startup import ExitCode, StartRequest
from launcher.core.supervisor import ClientExit
from launcher.ui import tasks
from launcher.ui.about import AboutDialog
from launcher.ui.controller import SessionController, describe
from launcher.ui.desktops import DesktopsPage
from launcher.ui.poweron import START_WAIT_LIMIT, Attempt, StartWaiter
from launcher.ui.resources import icon
from launcher.ui.settingsdialog import SettingsDialog
from launcher.ui.signin import SignInPage
from launcher.ui.trustdialog import TrustDialog

__all__ = ["MainWindow", "Options", "describe"]


if TYPE_CHECKING:  # both load much the first window does not need
    from launcher.core import doctor
    from launcher.ui.diagnostics import DiagnosticsDialog


@dataclass(frozen=True, slots=True)
class Options:
    """What the composition root hands the window."""

    preferences: Preferences = field(default_factory=Preferences)
    settings_path: Path | None = None  # for the diagnostics report and bundle
    log_dir: Path | None = None
    heartbeat_interval: float = heartbeat.DEFAULT_INTERVAL
    # Keep the sign-in password for RDP single sign-on, where the client can take it.
    single_sign_on: bool = field(default_factory=lambda: sso_supported(platform_key()))
    # The settings layers; None: defaults in memory, nothing is saved.
    settings: Layers | None = None
    # False (--non-interactive): never a dialog; what needs one ends the run.
    interactive: bool = True
    start_wait_limit: float = START_WAIT_LIMIT


class MainWindow(QMainWindow):
    signed_in = Signal()
    desktops_shown = Signal()
    client_started = Signal(object)  # OpenedDesktop
    client_connected = Signal(object)  # OpenedDesktop
    client_exited = Signal(object)  # ClientExit
    session_reported = Signal(str, str)  # session id, "disconnect" or "logoff"
    diagnostics_opened = Signal(object)  # DiagnosticsDialog
    sign_in_failed = Signal(object)  # the error
    otp_requested = Signal()
    starting = Signal(object, int)  # Desktop, seconds until the next try
    start_cancelled = Signal(object)  # Desktop
    machine_action_done = Signal(object, str)  # Desktop, "reset" or "restart"
    settings_saved = Signal()
    password_recalled = Signal(bool)  # whether the keychain had one
    credentials_stored = Signal(bool)  # remembered (True) or forgotten (False)
    run_finished = Signal(int, str)  # non-interactive: exit code, message

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
        self._layers = options.settings or Layers()
        self._interactive = options.interactive
        self._pins = pins
        self.trust_dialog: TrustDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._pending: StartRequest | None = None  # a link to carry out after sign-in
        self._first_list = False  # the next list is the first after a sign-in
        self._attempts: dict[str, Attempt] = {}  # desktop id -> launch under way
        self._finished = False
        self._remember: tuple[str, str | None] | None = None  # account, password to store
        self._on_sign_in = on_sign_in
        self._report_target: tuple[str | None, tuple[str, int] | None] = (None, None)
        self._diagnostics: DiagnosticsDialog | None = None
        self.session = SessionController(
            options.preferences,
            client_factory=client_factory or (lambda url: BrokerClient(url, pins=pins)),
            single_sign_on=options.single_sign_on,
            heartbeat_interval=options.heartbeat_interval,
            parent=self,
        )
        self.session.signed_in.connect(self._signed_in)
        self.session.sign_in_failed.connect(self._sign_in_failed)
        self.session.desktops_listed.connect(self._show)
        self.session.failed.connect(self._failed)
        self.session.launch_failed.connect(self._launch_failed)
        self.session.client_started.connect(self._opened_desktop)
        self.session.client_connected.connect(self._client_connected)
        self.session.client_exited.connect(self._client_exited)
        self.session.session_reported.connect(self._session_reported)
        self.session.logged_off.connect(self._logged_off)

        self.sign_in_page = SignInPage()
        self.desktops_page = DesktopsPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.sign_in_page)
        self.stack.addWidget(self.desktops_page)
        self.setCentralWidget(self.stack)

        self.waiter = StartWaiter(limit=options.start_wait_limit, parent=self)
        self.waiter.waiting.connect(self._start_waiting)
        self.waiter.tick.connect(
            lambda _a, seconds: self.desktops_page.starting.set_seconds(seconds)
        )
        self.waiter.retry.connect(self._launch)
        self.waiter.gave_up.connect(self._start_gave_up)

        page = self.sign_in_page
        page.submitted.connect(self._sign_in_submitted)
        page.help_requested.connect(self.show_diagnostics)
        page.settings_requested.connect(self.show_settings)
        page.about_requested.connect(self.show_about)
        page.servers_changed.connect(self._servers_changed)
        page.server_chosen.connect(lambda _: self.recall_password())
        desktops = self.desktops_page
        desktops.connect_requested.connect(self.connect_desktop)
        desktops.connect_with_requested.connect(self.connect_desktop)
        desktops.logoff_requested.connect(self._logoff)
        desktops.reset_requested.connect(lambda d: self._machine_action(d, "reset"))
        desktops.restart_requested.connect(lambda d: self._machine_action(d, "restart"))
        desktops.favourite_toggled.connect(self._toggle_favourite)
        desktops.view_changed.connect(self._view_changed)
        desktops.refresh_requested.connect(self.refresh)
        desktops.sign_out_requested.connect(self.sign_out)
        desktops.help_requested.connect(self.show_diagnostics)
        desktops.settings_requested.connect(self.show_settings)
        desktops.about_requested.connect(self.show_about)
        desktops.starting.cancelled.connect(self.cancel_start)
        self.help_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents), self)
        self.help_shortcut.activated.connect(self.show_diagnostics)
        self.settings_shortcut = QShortcut(QKeySequence("Ctrl+,"), self)
        self.settings_shortcut.activated.connect(self.show_settings)
        self._apply_settings()

    @property
    def holds_password(self) -> bool:
        """Whether the sign-in password is kept for single sign-on right now."""
        return self.session.holds_password

    # -- sign in / out -----------------------------------------------------

    def _sign_in_submitted(self, server: str, username: str, password: str) -> None:
        try:
            otp = self.sign_in_page.otp_code()
        except ValueError as e:
            self.sign_in_page.show_error(str(e))
            return
        remember = self.sign_in_page.remember.isChecked()
        self._remember = (username, password if remember else None)
        self.session.sign_in(server, username, password, otp=otp)

    def _sign_in_failed(self, error: Exception) -> None:
        self._remember = None
        page = self.sign_in_page
        self.sign_in_failed.emit(error)
        if isinstance(error, OtpRequired):
            if not self._interactive:
                self._finish(ExitCode.SIGN_IN, describe(error))
                return
            page.ask_otp(describe(error))
            self.otp_requested.emit()
            return
        if isinstance(error, UntrustedCertificate) and (
            self._layers.effective().cert_policy == "system" or not self._interactive
        ):
            page.show_error(
                self.tr(
                    "The broker at %s uses a certificate this computer does not trust, and "
                    "Rubicon is set to accept only certificates this computer trusts. Ask "
                    "your administrator."
                )
                % error.presented.origin
            )
        else:
            page.show_error(describe(error))
            if isinstance(error, UntrustedCertificate) and self._pins is not None:
                self._ask_trust(error.presented)
        if not self._interactive:
            self._finish(ExitCode.SIGN_IN, page.banner.text())

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

    def _signed_in(self, sign_in: SignIn) -> None:
        server = self.session.base_url or ""
        page = self.sign_in_page
        user = self._layers.user
        if server:
            if not self._layers.locked("servers"):
                user.servers = servers.use(user.servers, server)
            user.last_server = server
        user.last_username = page.username.text().strip() or sign_in.user.username
        if not page.domain.isHidden():
            user.domain = page.domain.text().strip()
        if not self._layers.locked("remember_password"):
            user.remember_password = page.remember.isChecked()
        self._save_settings()
        remember, self._remember = self._remember, None
        if server and remember is not None:
            self._store_password(server, *remember)
        page.set_servers(self._layers.effective().servers, locked=self._layers.locked("servers"))
        page.reset()
        if self._on_sign_in and server:
            self._on_sign_in(server, sign_in.user.username)
        desktops = self.desktops_page
        desktops.set_user(sign_in.user.display_name)
        desktops.banner.clear_message()
        desktops.set_favourites(user.favourites.get(server, []))
        desktops.set_recents(user.recents.get(server, []))
        desktops.set_desktops([])
        self.stack.setCurrentWidget(desktops)
        self._first_list = True
        self.signed_in.emit()
        self.refresh()

    def sign_out(self) -> None:
        self.waiter.cancel()
        self._attempts.clear()
        self._pending = None
        self._first_list = False
        self.session.sign_out()
        self.stack.setCurrentWidget(self.sign_in_page)
        self.sign_in_page.reset()

    # -- remember me ---------------------------------------------------------

    def _store_password(self, server: str, account: str, password: str | None) -> None:
        """Remember (or, with None, forget) the password in the keychain, off the GUI thread."""

        def work() -> None:
            if password is None:
                credentials.forget(server=server, username=account)
            else:
                credentials.remember(server=server, username=account, password=password)

        def failed(error: Exception) -> None:
            log.ui.warning("keychain: %s", error)
            if password is not None:
                self.desktops_page.banner.show_message(str(error), kind="warn")
            self.credentials_stored.emit(False)

        tasks.run(
            self,
            work,
            on_success=lambda _: self.credentials_stored.emit(password is not None),
            on_failure=failed,
        )

    def recall_password(self, *, then_sign_in: bool = False) -> None:
        """Fill the password from the keychain when the user chose to be remembered.

        The keychain may block (an unlock prompt): asked off the GUI thread.
        ``then_sign_in``: sign in with it at once (a link, a command line).
        """
        page = self.sign_in_page
        account = account_name(page.username.text(), page.domain.text())
        try:
            server = servers.normalize_url(page.server.text())
        except ValueError:
            server = ""
        if not (server and account and self._layers.effective().remember_password):
            self._recalled(None, then_sign_in, account, server)
            return

        def failed(error: Exception) -> None:
            log.ui.warning("keychain: %s", error)
            self._recalled(None, then_sign_in, account, server)

        tasks.run(
            self,
            lambda: credentials.recall(server=server, username=account),
            on_success=lambda password: self._recalled(password, then_sign_in, account, server),
            on_failure=failed,
        )

    def _recalled(
        self, password: str | None, then_sign_in: bool, account: str, server: str
    ) -> None:
        page = self.sign_in_page
        same = account_name(page.username.text(), page.domain.text()) == account
        if password and same and not page.password.text():
            page.password.setText(password)
            self.password_recalled.emit(True)
            if then_sign_in:
                page.submit()
            return
        self.password_recalled.emit(False)
        if then_sign_in and not self._interactive:
            self._finish(
                ExitCode.SIGN_IN,
                self.tr(
                    "No password is remembered for %s at %s. Sign in once in the window "
                    "with “Remember my password” ticked, then try again."
                )
                % (account or "?", server or "?"),
            )

    # -- settings --------------------------------------------------------------

    @property
    def settings(self) -> Layers:
        return self._layers

    def _apply_settings(self) -> None:
        """Show what the effective settings say: brokers, domain, remember me, view."""
        effective = self._layers.effective()
        page = self.sign_in_page
        page.set_servers(effective.servers, locked=self._layers.locked("servers"))
        page.set_domain_shown(effective.show_domain, effective.domain)
        page.remember.setChecked(effective.remember_password)
        page.remember.setEnabled(not self._layers.locked("remember_password"))
        self.desktops_page.set_view_mode(effective.view)
        for button in (self.desktops_page.tiles_button, self.desktops_page.list_button):
            button.setEnabled(not self._layers.locked("view"))

    def _save_settings(self) -> None:
        try:
            self._layers.save()
        except OSError as e:
            log.app.warning("could not save settings to %s: %s", self._layers.path, e)

    def show_settings(self) -> SettingsDialog | None:
        if not self._interactive:
            return None
        dialog = SettingsDialog(self._layers.effective(), locked=self._layers.locked, parent=self)
        self.settings_dialog = dialog
        dialog.accepted.connect(lambda: self._settings_chosen(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _settings_chosen(self, dialog: SettingsDialog) -> None:
        self._layers.update(dialog.chosen())
        self._save_settings()
        effective = self._layers.effective()
        if self._options.settings is not None:
            self.session.preferences = Preferences.from_settings(effective)
        logging.getLogger("rubicon").setLevel(effective.log_level.upper())
        self._apply_settings()
        self.settings_saved.emit()

    def show_about(self) -> AboutDialog | None:
        if not self._interactive:
            return None
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self.show_diagnostics, parent=self)
        self.about_dialog.show()
        self.about_dialog.activateWindow()
        return self.about_dialog

    def _servers_changed(self, updated: list[str]) -> None:
        if not self._layers.locked("servers"):
            self._layers.user.servers = list(updated)
            self._save_settings()

    def _toggle_favourite(self, desktop: Desktop) -> None:
        server = self.session.base_url
        if not server:
            return
        user = self._layers.user
        user.favourites = catalog.toggle_favourite(user.favourites, server, desktop.id)
        self._save_settings()
        self.desktops_page.set_favourites(user.favourites.get(server, []))

    def _view_changed(self, mode: str) -> None:
        self._layers.user.view = mode
        self._save_settings()

    # -- desktops ----------------------------------------------------------

    def refresh(self) -> None:
        if self.session.refresh():
            self.desktops_page.set_busy(True)

    def _show(self, desktops: list[Desktop]) -> None:
        self.desktops_page.set_busy(False)
        self.desktops_page.set_desktops(desktops)
        first, self._first_list = self._first_list, False
        self.desktops_shown.emit()
        if not first:
            return
        pending, self._pending = self._pending, None
        if pending is not None and pending.desktop:
            self._connect_by_id(pending.desktop, pending.protocol)
            return
        target = catalog.auto_launch_target(desktops, self._layers.effective().auto_launch)
        if target is not None:
            log.ui.info("only one desktop (%s): opening it", target.id)
            self.connect_desktop(target)

    def _connect_by_id(self, desktop_id: str, protocol: Protocol | None) -> None:
        for desktop in self.desktops_page.all_desktops():
            if desktop.id == desktop_id:
                self.desktops_page.search.clear()
                self.desktops_page.select(desktop.id)
                self.connect_desktop(desktop, protocol)
                return
        message = (
            self.tr(
                "There is no desktop “%s” for you on this broker. Pick one from the list, "
                "or ask your administrator."
            )
            % desktop_id
        )
        self.desktops_page.banner.show_message(message)
        if not self._interactive:
            self._finish(ExitCode.LAUNCH, message)

    def connect_desktop(self, desktop: Desktop, protocol: Protocol | None = None) -> None:
        """Open ``desktop``: one click, one Idempotency-Key for every try."""
        if self.session.is_open(desktop.id):
            self.desktops_page.banner.show_message(
                self.tr("%s is already open in its own window.") % desktop.name, kind="info"
            )
            return
        if desktop.id in self._attempts:
            return  # under way, or its machine is starting
        if self._launch(Attempt(desktop, protocol)):
            self.desktops_page.banner.show_message(
                self.tr("Connecting to %s…") % desktop.name, kind="info"
            )

    def _launch(self, attempt: Attempt) -> bool:
        started = self.session.connect_desktop(
            attempt.desktop,
            attempt.protocol,
            idempotency_key=attempt.key,
            cancelled=attempt.cancelled,
        )
        if started:
            self._attempts[attempt.desktop.id] = attempt
            self.desktops_page.set_busy(True)
        return started

    def _launch_failed(self, desktop: Desktop, error: Exception) -> None:
        attempt = self._attempts.get(desktop.id)
        if isinstance(error, LaunchCancelled) or (
            attempt is not None and attempt.cancelled.is_set()
        ):
            return
        if isinstance(error, DesktopStarting) and attempt is not None:
            self.desktops_page.set_busy(False)
            self.waiter.wait(attempt, error.retry_after)
            return
        self._attempts.pop(desktop.id, None)
        if attempt is not None:
            self.waiter.finish(attempt)
            self.desktops_page.starting.stop()
        self._failed(error)
        if not self._interactive:
            self._finish(ExitCode.LAUNCH, describe(error))

    # -- a machine powering on -------------------------------------------------

    def _start_waiting(self, attempt: Attempt, seconds: int) -> None:
        self.desktops_page.banner.clear_message()
        self.desktops_page.starting.start(attempt.desktop.name)
        self.starting.emit(attempt.desktop, seconds)

    def _start_gave_up(self, attempt: Attempt) -> None:
        self._attempts.pop(attempt.desktop.id, None)
        self.desktops_page.starting.stop()
        message = (
            self.tr("%s did not start in time. Try again later, or ask your administrator.")
            % attempt.desktop.name
        )
        self.desktops_page.banner.show_message(message)
        if not self._interactive:
            self._finish(ExitCode.LAUNCH, message)

    def cancel_start(self) -> None:
        """Stop asking for the machine that powers on; no client will be started."""
        attempt = self.waiter.cancel()
        if attempt is None:
            return
        self._attempts.pop(attempt.desktop.id, None)
        page = self.desktops_page
        page.starting.stop()
        page.set_busy(False)
        page.banner.show_message(
            self.tr(
                "Stopped waiting for %s. It may go on starting; Connect opens it when it is ready."
            )
            % attempt.desktop.name,
            kind="info",
        )
        self.start_cancelled.emit(attempt.desktop)
        self.refresh()

    def _opened_desktop(self, opened: OpenedDesktop) -> None:
        attempt = self._attempts.pop(opened.desktop.id, None)
        if attempt is not None:
            if self.waiter.current is attempt:
                self.desktops_page.starting.stop()
            self.waiter.finish(attempt)
        server = self.session.base_url
        if server:
            user = self._layers.user
            user.recents = catalog.note_recent(user.recents, server, opened.desktop.id)
            self._save_settings()
            self.desktops_page.set_recents(user.recents[server])
        name = opened.desktop.name
        if opened.detached:
            message = self.tr("%s is opening in %s.") % (name, opened.client.name)
        else:
            message = self.tr("%s is open in its own window.") % name
        self.desktops_page.banner.show_message(message, kind="info")
        self.client_started.emit(opened)
        self.refresh()

    def _client_connected(self, opened: OpenedDesktop) -> None:
        self.desktops_page.banner.show_message(
            self.tr("%s is connected.") % opened.desktop.name, kind="ok"
        )
        self.client_connected.emit(opened)

    def _client_exited(self, opened: OpenedDesktop | None, result: ClientExit) -> None:
        self.client_exited.emit(result)
        if not self._interactive:
            reason = result.reason
            if reason is not None and reason.failed:
                self._finish(ExitCode.LAUNCH, f"{reason.message} {reason.hint}".strip())
            else:
                self._finish(ExitCode.OK, "")
        if opened is None:
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
        self.session.report_session(opened.session_id, "logoff" if logged_off else "disconnect")

    def _session_reported(self, session_id: str, event: str) -> None:
        self.session_reported.emit(session_id, event)
        self.refresh()

    def _logoff(self, desktop: Desktop) -> None:
        if self.session.logoff(desktop):
            self.desktops_page.set_busy(True)

    def _logged_off(self, desktop: Desktop) -> None:
        self.desktops_page.banner.show_message(
            self.tr("Logged off %s.") % desktop.name, kind="info"
        )
        self.refresh()

    def _machine_action(self, desktop: Desktop, action: str) -> None:
        """Reset or restart the machine of the user's session in ``desktop``."""
        broker = self.session.broker
        if broker is None or desktop.session is None:
            return
        session_id = desktop.session.id
        self.desktops_page.set_busy(True)

        def work() -> None:
            if action == "reset":
                broker.reset(session_id)
            else:
                broker.restart(session_id)

        def done(_: object) -> None:
            if action == "reset":
                text = self.tr("%s was reset. Connect to it again in a minute.")
            else:
                text = self.tr("%s is restarting. Connect to it again in a minute.")
            self.desktops_page.banner.show_message(text % desktop.name, kind="info")
            self.machine_action_done.emit(desktop, action)
            self.refresh()

        tasks.run(self, work, on_success=done, on_failure=self._failed)

    # -- links and the command line --------------------------------------------

    def open_request(self, request: StartRequest) -> None:
        """Carry out a link or command line: sign-in details, then the desktop."""
        if self._interactive:
            self._bring_to_front()
        if request.empty:
            return
        current = self.session.base_url
        if current is not None:
            if request.server and request.server != current:
                self.desktops_page.banner.show_message(
                    self.tr(
                        "The link is for the broker %s, and you are signed in to %s. Sign "
                        "out, then open the link again."
                    )
                    % (request.server, current),
                    kind="warn",
                )
                if not self._interactive:
                    self._finish(ExitCode.USAGE, self.desktops_page.banner.text())
                return
            if request.desktop:
                self._connect_by_id(request.desktop, request.protocol)
            return
        self._pending = request if request.desktop else None
        page = self.sign_in_page
        if request.server:
            page.server.setText(request.server)
        if request.user:
            page.username.setText(request.user)
            page.password.clear()
        page.focus_first_empty()
        if page.server.text().strip() and page.username.text().strip():
            self.recall_password(then_sign_in=True)
        elif not self._interactive:
            self._finish(ExitCode.USAGE, self.tr("Give the broker and the username."))

    def _bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        if QGuiApplication.platformName() not in ("offscreen", "minimal"):
            self.raise_()  # those platforms have no stacking, and say so as a warning
        self.activateWindow()

    def _finish(self, code: ExitCode, message: str) -> None:
        """A non-interactive run is over: tell the composition root, once."""
        if self._finished:
            return
        self._finished = True
        self.run_finished.emit(int(code), message)

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

    # -- diagnostics ---------------------------------------------------------

    def _take_report_target(self) -> None:
        """On the GUI thread: the broker and desktop the next report checks."""
        server = self.session.base_url or self.sign_in_page.server.text().strip()
        self._report_target = (server or None, self.session.last_address)

    def make_report(self) -> doctor.Report:
        """The doctor's report on this window's broker and last desktop (off the GUI thread)."""
        from launcher.core import doctor

        server, desktop = self._report_target
        return doctor.build_report(
            settings_path=self._options.settings_path or config_dir() / "settings.json",
            log_directory=self._options.log_dir,
            server=server,
            desktop=desktop,
            qt_version=qVersion(),
        )

    def write_bundle(self, path: Path, report: doctor.Report) -> list[str]:
        from launcher.core import doctor

        return doctor.write_bundle(
            path,
            report,
            settings_path=self._options.settings_path or config_dir() / "settings.json",
            log_directory=self._options.log_dir,
        )

    def show_diagnostics(self) -> DiagnosticsDialog:
        from launcher.ui.diagnostics import DiagnosticsDialog

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
        self.session.stop_clients()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.waiter.cancel()
        self.session.close()
        super().closeEvent(event)
