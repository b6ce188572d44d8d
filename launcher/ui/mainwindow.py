"""The main window: sign-in and desktops pages, and what they show.

Pages emit intents; the window hands them to its :class:`SessionController`
(``self.session``, in ``controller.py``), which signs in, lists, launches,
keeps heartbeats and the single sign-on password, and reports back with
signals. Broker calls and process starts never happen on the GUI thread.

When a client ends without a log off, the broker hears "disconnect" (the
session stays, the user may reconnect), or "log off" if the client says the
session was logged off on the desktop itself.

Desktops are opened through a :class:`~launcher.ui.launchflow.LaunchFlow`,
the same one the kiosk uses: one Idempotency-Key per click; while the broker
powers the machine on (202), the page shows a moving bar, a countdown to the
next try and Cancel; the next try sends the same key, and Cancel stops asking
(a launch already on its way starts no client). A desktop whose client still
runs is brought to the front instead.

Settings come in layers (``core.settings.Layers``): the window reads the
effective values and writes only the user's own choices (favourites,
recents, the view, the broker list, the Settings dialog), never what the
admin locked. :meth:`MainWindow.open_request` carries out a ``rubicon://``
link or a command line, also one handed over by a second start. Without
``interactive`` (``--non-interactive``) no dialog is ever shown: what would
need one ends the run with ``run_finished(exit code, message)``.

Closing the window or signing out while desktops are open asks what becomes
of them (:meth:`MainWindow.ask_to_leave`): keep them open (their clients
outlive the window; without heartbeats the broker counts them disconnected
after its timeout), disconnect, or log off; the broker hears it before the
window goes. :meth:`MainWindow.shutdown` (SIGTERM, Ctrl+C) disconnects
without asking. Log off and Sign out ask first too.

Only the sign-in page is built with the window, so that it is on screen
sooner: the desktops page (:attr:`MainWindow.desktops_page`), the session
controller with the broker client and the launch machinery
(:attr:`MainWindow.session`), the launch flow and the dialogs are built,
and their modules imported, when first needed: at sign-in, or when a test
or a link asks for them. Those modules are named in one place,
``launcher/ui/deferred.py``; the window uses them from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, qVersion
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox, QStackedWidget, QWidget

from launcher.core import log
from launcher.core.settings import Layers, config_dir
from launcher.core.signin import account_name
from launcher.ui import coretext
from launcher.ui.deferred import (
    about,
    broker,
    catalog,
    controller,
    credentials,
    desktops,
    diagnostics,
    doctor,
    heartbeat,
    launchflow,
    launching,
    poweron,
    protocols,
    servers,
    settingsdialog,
    startup,
    tasks,
    trust,
    trustdialog,
)
from launcher.ui.signin import SignInPage
from launcher.ui.widgets import ask

__all__ = ["MainWindow", "Options", "describe"]


if TYPE_CHECKING:  # for the annotations only
    from launcher.core.broker import BrokerClient
    from launcher.core.launching import OpenedDesktop, Preferences
    from launcher.core.models import Desktop, Protocol, SignIn
    from launcher.core.startup import ExitCode, StartRequest
    from launcher.core.supervisor import ClientExit
    from launcher.ui.about import AboutDialog
    from launcher.ui.controller import SessionController
    from launcher.ui.desktops import DesktopsPage
    from launcher.ui.diagnostics import DiagnosticsDialog
    from launcher.ui.launchflow import LaunchFlow
    from launcher.ui.poweron import Attempt, StartWaiter
    from launcher.ui.settingsdialog import SettingsDialog
    from launcher.ui.trustdialog import TrustDialog


def describe(error: Exception) -> str:
    """The sentence a user reads for ``error`` (:func:`launcher.ui.controller.describe`,
    kept importable from here)."""
    return controller.describe(error)


@dataclass(frozen=True, slots=True)
class Options:
    """What the composition root hands the window.

    A None below is resolved when the session controller is made, so that
    making the window loads none of the launch machinery.
    """

    # None: from ``settings`` (the defaults without them).
    preferences: Preferences | None = None
    settings_path: Path | None = None  # for the diagnostics report and bundle
    log_dir: Path | None = None
    heartbeat_interval: float | None = None  # None: heartbeat.DEFAULT_INTERVAL
    # Keep the sign-in password for RDP single sign-on, where the client can take it.
    # None: where this platform's RDP client can (launching.sso_supported).
    single_sign_on: bool | None = None
    # The settings layers; None: defaults in memory, nothing is saved.
    settings: Layers | None = None
    # False (--non-interactive): never a dialog; what needs one ends the run.
    interactive: bool = True
    start_wait_limit: float | None = None  # None: poweron.START_WAIT_LIMIT
    # Where certificate pins are kept, for a window not handed ``pins``: the file
    # is read when first needed (the broker client, a certificate to trust).
    pins_path: Path | None = None


class MainWindow(QMainWindow):
    signed_in = Signal()
    desktops_shown = Signal()
    client_started = Signal(object)  # OpenedDesktop
    client_connected = Signal(object)  # OpenedDesktop
    client_exited = Signal(object)  # ClientExit
    session_reported = Signal(str, str)  # session id, "disconnect" or "logoff"
    session_left = Signal(str)  # open desktops left: "keep", "disconnect" or "logoff"
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
        # Its icon is the application's (app.py sets it once the first frame is up).
        self.setWindowTitle(self.tr("Rubicon"))
        self.resize(760, 540)
        self._options = options
        self._layers = options.settings or Layers()
        self._interactive = options.interactive
        self._pin_store = pins
        self._client_factory = client_factory
        # What the next launch uses, until the session controller exists to hold it.
        self._preferences = options.preferences
        self.trust_dialog: TrustDialog | None = None
        self._changed: broker.CertificateChanged | None = None  # the last one refused
        self.settings_dialog: SettingsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._pending: StartRequest | None = None  # a link to carry out after sign-in
        self._first_list = False  # the next list is the first after a sign-in
        self._finished = False
        self._remember: tuple[str, str | None] | None = None  # account, password to store
        self._on_sign_in = on_sign_in
        self._report_target: tuple[str | None, tuple[str, int] | None] = (None, None)
        self._diagnostics: DiagnosticsDialog | None = None
        # Made when first needed: see the properties below.
        self._session: SessionController | None = None
        self._desktops_page: DesktopsPage | None = None
        self._flow: LaunchFlow | None = None
        # Closing with desktops open: the question, what was chosen, and done.
        self.question_box: QMessageBox | None = None
        self._leaving: str | None = None  # "close" or "sign out" while leaving
        self._left = False
        self._quiet = False  # shutdown(): no question, disconnect

        self.sign_in_page = SignInPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.sign_in_page)
        self.setCentralWidget(self.stack)

        page = self.sign_in_page
        page.submitted.connect(self._sign_in_submitted)
        self._connect_links(page)
        page.servers_changed.connect(self._servers_changed)
        page.trust_new_requested.connect(self._trust_new_certificate)
        page.server_chosen.connect(lambda _: self.recall_password())
        self.help_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents), self)
        self.help_shortcut.activated.connect(self.show_diagnostics)
        self.settings_shortcut = QShortcut(QKeySequence("Ctrl+,"), self)
        self.settings_shortcut.activated.connect(self.show_settings)
        self._apply_settings()

    def _connect_links(self, page: SignInPage | DesktopsPage) -> None:
        """The Help, Settings and About links that both pages show."""
        page.help_requested.connect(self.show_diagnostics)
        page.settings_requested.connect(self.show_settings)
        page.about_requested.connect(self.show_about)

    # -- built when first needed -------------------------------------------------

    @property
    def _pins(self) -> trust.PinStore | None:
        """The pins handed to the window, or those in ``Options.pins_path`` (read now)."""
        if self._pin_store is None and self._options.pins_path is not None:
            self._pin_store = trust.PinStore(self._options.pins_path)
        return self._pin_store

    @property
    def session(self) -> SessionController:
        """Signs in, lists, launches: made, with the broker client and the launch
        machinery, the first time the window needs it (normally the sign-in)."""
        if self._session is None:
            self._session = self._make_session()
        return self._session

    def _make_session(self) -> SessionController:
        options = self._options
        pins = self._pins
        single_sign_on = options.single_sign_on
        if single_sign_on is None:
            single_sign_on = launching.sso_supported(protocols.platform_key())

        def client(url: str) -> BrokerClient:
            # The form refuses plain HTTP off this computer unless the admin allowed it.
            allowed = self._layers.effective().plain_http_hosts
            return broker.BrokerClient(url, pins=pins, plain_http_hosts=allowed)

        session = controller.SessionController(
            self._current_preferences(),
            client_factory=self._client_factory or client,
            single_sign_on=single_sign_on,
            heartbeat_interval=(
                heartbeat.DEFAULT_INTERVAL
                if options.heartbeat_interval is None
                else options.heartbeat_interval
            ),
            parent=self,
        )
        session.signed_in.connect(self._signed_in)
        session.sign_in_failed.connect(self._sign_in_failed)
        session.desktops_listed.connect(self._show)
        session.failed.connect(self._failed)
        session.client_connected.connect(self._client_connected)
        session.client_exited.connect(self._client_exited)
        session.session_reported.connect(self._session_reported)
        session.logged_off.connect(self._logged_off)
        session.left.connect(self._left_desktops)
        return session

    def _current_preferences(self) -> Preferences:
        if self._preferences is None:
            if self._options.settings is not None:
                self._preferences = launching.Preferences.from_settings(self._layers.effective())
            else:
                self._preferences = launching.Preferences()
        return self._preferences

    @property
    def desktops_page(self) -> DesktopsPage:
        """The desktop list: built the first time it is needed (a sign-in), not with
        the window, so that the sign-in page is on screen sooner."""
        if self._desktops_page is None:
            self._desktops_page = self._build_desktops_page()
        return self._desktops_page

    def _build_desktops_page(self) -> DesktopsPage:
        page = desktops.DesktopsPage()
        self.stack.addWidget(page)
        page.connect_requested.connect(self.connect_desktop)
        page.connect_with_requested.connect(self.connect_desktop)
        page.logoff_requested.connect(self._logoff)
        page.reset_requested.connect(lambda d: self._machine_action(d, "reset"))
        page.restart_requested.connect(lambda d: self._machine_action(d, "restart"))
        page.favourite_toggled.connect(self._toggle_favourite)
        page.view_changed.connect(self._view_changed)
        page.refresh_requested.connect(self.refresh)
        page.sign_out_requested.connect(self.ask_to_sign_out)
        self._connect_links(page)
        page.starting.cancelled.connect(self.cancel_start)
        self._apply_view_settings(page)
        return page

    @property
    def flow(self) -> LaunchFlow:
        """Opens desktops: start, wait while a machine powers on, cancel, reconnect
        (the kiosk's too); made with the first launch."""
        if self._flow is None:
            limit = self._options.start_wait_limit
            flow = launchflow.LaunchFlow(
                self.session,
                limit=poweron.START_WAIT_LIMIT if limit is None else limit,
                parent=self,
            )
            flow.asking.connect(lambda _attempt: self.desktops_page.set_busy(True))
            flow.waiting.connect(self._start_waiting)
            flow.tick.connect(lambda _a, seconds: self.desktops_page.starting.set_seconds(seconds))
            flow.opened.connect(self._opened_desktop)
            flow.failed.connect(self._launch_failed)
            flow.gave_up.connect(self._start_gave_up)
            flow.cancelled.connect(self._start_cancelled)
            flow.already_open.connect(self._already_open)
            self._flow = flow
        return self._flow

    @property
    def waiter(self) -> StartWaiter:
        """Asks again while a machine powers on (the flow's)."""
        return self.flow.waiter

    @property
    def holds_password(self) -> bool:
        """Whether the sign-in password is kept for single sign-on right now."""
        return self._session is not None and self._session.holds_password

    # -- sign in / out -----------------------------------------------------

    def _sign_in_submitted(self, server: str, username: str, password: str) -> None:
        try:
            otp = self.sign_in_page.otp_code()
        except ValueError as e:
            self.sign_in_page.show_error(coretext.of_error(e))
            return
        remember = self.sign_in_page.remember.isChecked()
        self._remember = (username, password if remember else None)
        self.session.sign_in(server, username, password, otp=otp)

    def _sign_in_failed(self, error: Exception) -> None:
        self._remember = None
        page = self.sign_in_page
        self.sign_in_failed.emit(error)
        if isinstance(error, broker.OtpRequired):
            if not self._interactive:
                self._finish(startup.ExitCode.SIGN_IN, describe(error))
                return
            page.ask_otp(describe(error))
            self.otp_requested.emit()
            return
        if isinstance(error, broker.CertificateChanged):
            self._certificate_changed(error)
            return
        if isinstance(error, broker.UntrustedCertificate) and (
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
            if isinstance(error, broker.UntrustedCertificate) and self._pins is not None:
                self._ask_trust(error.presented)
        if not self._interactive:
            self._finish(startup.ExitCode.SIGN_IN, page.banner.text())

    def _certificate_changed(self, error: broker.CertificateChanged) -> None:
        """Both fingerprints in full, and "Trust the new certificate…" where allowed:
        asked about (cert_policy "ask"), not locked off (trust_new_certificates)."""
        effective = self._layers.effective()
        can_trust = (
            self._interactive
            and self._pins is not None
            and effective.cert_policy == "ask"
            and effective.trust_new_certificates
        )
        self._changed = error if can_trust else None
        self.sign_in_page.show_certificate_changed(
            origin=error.presented.origin,
            pinned=error.pinned,
            presented=error.presented.fingerprint,
            can_trust=can_trust,
        )
        if not self._interactive:
            self._finish(startup.ExitCode.SIGN_IN, describe(error))

    def _trust_new_certificate(self) -> None:
        """The user asked to trust the broker's new certificate: confirm, then pin it."""
        error = self._changed
        if error is None or self._pins is None:
            return
        self._ask_trust(error.presented, pinned=error.pinned)

    def _ask_trust(self, presented: trust.Presented, *, pinned: str | None = None) -> None:
        """First use, or (``pinned``) a certificate that changed: a yes pins it, signs in."""
        dialog = trustdialog.TrustDialog(presented, self, pinned=pinned)
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
        if self._flow is not None:
            self._flow.cancel_all()
            self.desktops_page.starting.stop()
        self._pending = None
        self._first_list = False
        if self._session is not None:  # none yet: nobody ever signed in
            self._session.sign_out()
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
                self.desktops_page.banner.show_message(coretext.of_error(error), kind="warn")
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
                startup.ExitCode.SIGN_IN,
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
        if self._desktops_page is not None:  # else when it is built
            self._apply_view_settings(self._desktops_page)

    def _apply_view_settings(self, desktops: DesktopsPage) -> None:
        desktops.set_view_mode(self._layers.effective().view)
        for button in (desktops.tiles_button, desktops.list_button):
            button.setEnabled(not self._layers.locked("view"))

    def _save_settings(self) -> None:
        try:
            self._layers.save()
        except OSError as e:
            log.app.warning("could not save settings to %s: %s", self._layers.path, e)

    def show_settings(self) -> SettingsDialog | None:
        if not self._interactive:
            return None
        dialog = settingsdialog.SettingsDialog(
            self._layers.effective(), locked=self._layers.locked, parent=self
        )
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
            self._preferences = launching.Preferences.from_settings(effective)
            if self._session is not None:
                self._session.preferences = self._preferences
        logging.getLogger("rubicon").setLevel(effective.log_level.upper())
        self._apply_settings()
        self.settings_saved.emit()

    def show_about(self) -> AboutDialog | None:
        if not self._interactive:
            return None
        if self.about_dialog is None:
            self.about_dialog = about.AboutDialog(self.show_diagnostics, parent=self)
        self.about_dialog.show()
        self.about_dialog.activateWindow()
        return self.about_dialog

    def _servers_changed(self, updated: list[str]) -> None:
        self.sign_in_page.banner.clear_message()  # about a broker that may be gone
        if not self._layers.locked("servers"):
            self._forget_pins(before=self._layers.user.servers, after=updated)
            self._layers.user.servers = list(updated)
            self._save_settings()

    def _forget_pins(self, *, before: list[str], after: list[str]) -> None:
        """A broker removed from the list (or edited away) takes its pinned certificate
        along, unless another address in the list leads to the same broker."""
        pins = self._pins
        if pins is None:
            return
        kept = {trust.origin(server) for server in after}
        for server in before:
            gone = trust.origin(server)
            if server not in after and gone not in kept:
                pins.forget(gone)

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
        if first:
            self.desktops_page.focus_first()  # Enter right after sign-in opens it
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
            self._finish(startup.ExitCode.LAUNCH, message)

    def connect_desktop(self, desktop: Desktop, protocol: Protocol | None = None) -> None:
        """Open ``desktop``: one click, one Idempotency-Key for every try."""
        if self.flow.open(desktop, protocol) is not None:
            self.desktops_page.banner.show_message(
                self.tr("Connecting to %s…") % desktop.name, kind="info"
            )

    def _already_open(self, opened: OpenedDesktop, brought: bool) -> None:
        name = opened.desktop.name
        if brought:
            message = self.tr("%s is already open in its own window, now in front.") % name
        else:
            message = (
                self.tr(
                    "%s is already open in its own window. Switch to it with the task bar "
                    "or Alt+Tab."
                )
                % name
            )
        self.desktops_page.banner.show_message(message, kind="info")

    def _launch_failed(self, attempt: Attempt, error: Exception) -> None:
        if self.flow.waiting_for is None:
            self.desktops_page.starting.stop()
        self._failed(error)
        if not self._interactive:
            self._finish(startup.ExitCode.LAUNCH, describe(error))

    # -- a machine powering on -------------------------------------------------

    def _start_waiting(self, attempt: Attempt, seconds: int) -> None:
        self.desktops_page.set_busy(False)
        self.desktops_page.banner.clear_message()
        self.desktops_page.starting.start(attempt.desktop.name)
        self.starting.emit(attempt.desktop, seconds)

    def _start_gave_up(self, attempt: Attempt) -> None:
        self.desktops_page.set_busy(False)
        self.desktops_page.starting.stop()
        message = (
            self.tr("%s did not start in time. Try again later, or ask your administrator.")
            % attempt.desktop.name
        )
        self.desktops_page.banner.show_message(message)
        if not self._interactive:
            self._finish(startup.ExitCode.LAUNCH, message)

    def cancel_start(self) -> None:
        """Stop asking for the machine that powers on; no client will be started."""
        if self._flow is not None:
            self._flow.cancel()  # _start_cancelled follows

    def _start_cancelled(self, attempt: Attempt) -> None:
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

    def _opened_desktop(self, _attempt: Attempt, opened: OpenedDesktop) -> None:
        if self.flow.waiting_for is None:
            self.desktops_page.starting.stop()
        server = self.session.base_url
        if server:
            user = self._layers.user
            user.recents = catalog.note_recent(user.recents, server, opened.desktop.id)
            self._save_settings()
            self.desktops_page.set_recents(user.recents[server])
        name = opened.desktop.name
        if opened.detached:
            client = coretext.translate(opened.client.name)
            message = self.tr("%s is opening in %s.") % (name, client)
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
                self._finish(
                    startup.ExitCode.LAUNCH, coretext.sentence(reason.message, reason.hint)
                )
            else:
                self._finish(startup.ExitCode.OK, "")
        if opened is None:
            return  # we stopped it ourselves (log off), or the user signed out
        name = opened.desktop.name
        reason = result.reason
        if opened.detached and (reason is None or not reason.failed):
            return  # the app it handed the desktop to carries on
        if reason is not None:
            kind = "error" if reason.failed else "info"
            self.desktops_page.banner.show_message(
                f"{name}: {coretext.sentence(reason.message, reason.hint)}", kind=kind
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
        # What the last request or sign-in said is over: this one speaks for itself.
        self.sign_in_page.banner.clear_message()
        if self._desktops_page is not None:
            self._desktops_page.banner.clear_message()
        current = self._session.base_url if self._session is not None else None
        if current is not None:
            if request.server and not servers.same(request.server, current):
                self.desktops_page.banner.show_message(
                    self.tr(
                        "The link is for the broker %s, and you are signed in to %s. Sign "
                        "out, then open the link again."
                    )
                    % (request.server, current),
                    kind="warn",
                )
                if not self._interactive:
                    self._finish(startup.ExitCode.USAGE, self.desktops_page.banner.text())
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
            self._finish(startup.ExitCode.USAGE, self.tr("Give the broker and the username."))

    def _bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        if QGuiApplication.platformName() not in ("offscreen", "minimal"):
            self.raise_()  # those platforms have no stacking, and say so as a warning
        self.activateWindow()

    def refuse_link(self, message: str) -> None:
        """A link the window was handed cannot be followed: say why where the user is."""
        self._bring_to_front()
        if self._session is not None:
            self.desktops_page.banner.show_message(message, kind="warn")
        else:
            self.sign_in_page.show_error(message)

    def _finish(self, code: ExitCode, message: str) -> None:
        """A non-interactive run is over: tell the composition root, once."""
        if self._finished:
            return
        self._finished = True
        self.run_finished.emit(int(code), message)

    def _failed(self, error: Exception) -> None:
        self.desktops_page.set_busy(False)
        if isinstance(error, broker.DesktopStarting):
            self.desktops_page.banner.show_message(describe(error), kind="info")
            self.refresh()
            return
        if isinstance(error, broker.SessionExpired):
            self.sign_out()
            self.sign_in_page.show_error(describe(error))
            return
        self.desktops_page.banner.show_message(describe(error))

    # -- diagnostics ---------------------------------------------------------

    def _take_report_target(self) -> None:
        """On the GUI thread: the broker and desktop the next report checks."""
        session = self._session
        current = session.base_url if session is not None else None
        server = current or self.sign_in_page.server.text().strip()
        self._report_target = (server or None, session.last_address if session else None)

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
            self._diagnostics = diagnostics.DiagnosticsDialog(
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

    # -- leaving: sign out, close ------------------------------------------------

    def _open_desktops(self) -> list[OpenedDesktop]:
        return self._session.open_desktops() if self._session is not None else []

    def ask_to_sign_out(self) -> QMessageBox | None:
        """Sign out, after asking: what becomes of the open desktops, or just whether."""
        if self._leaving is not None:
            return None
        if self._open_desktops():
            return self.ask_to_leave("sign out")
        server = self.session.base_url or ""

        def answered(answer: str | None) -> None:
            self.question_box = None
            if answer == "sign_out":
                self.sign_out()

        self.question_box = ask(
            self,
            title=self.tr("Sign out?"),
            text=self.tr("Sign out of %s?") % server,
            detail=self.tr("Your desktops stay as they are; sign in again to reach them."),
            choices=[("sign_out", self.tr("Sign out"), QMessageBox.ButtonRole.AcceptRole)],
            default="sign_out",
            on_answer=answered,
        )
        return self.question_box

    def ask_to_leave(self, leaving: str) -> QMessageBox:
        """Ask what becomes of the open desktops before ``leaving`` ("close" or
        "sign out"): keep them open, disconnect, log off, or Cancel."""
        return self._leave_question(leaving, [o.desktop.name for o in self._open_desktops()])

    def _leave_question(self, leaving: str, names: list[str]) -> QMessageBox:
        if len(names) == 1:
            text = self.tr("%s is still open. What becomes of it?") % names[0]
        else:
            text = self.tr("%d desktops are still open: %s. What becomes of them?") % (
                len(names),
                ", ".join(names),
            )
        keep, disconnect, logoff = self.tr("Keep open"), self.tr("Disconnect"), self.tr("Log off")
        said = (
            (
                keep,
                self.tr(
                    "keep working without Rubicon. After a few minutes the broker counts it "
                    "as disconnected, and may end it after its time limit."
                ),
            ),
            (disconnect, self.tr("close it; it stays yours, and Reconnect brings you back.")),
            (logoff, self.tr("end the session; programs are closed, unsaved work is lost.")),
        )
        detail = "".join(f"<p><b>{escape(b)}</b>: {escape(what)}</p>" for b, what in said)
        title = self.tr("Close Rubicon?") if leaving == "close" else self.tr("Sign out?")

        def answered(answer: str | None) -> None:
            self.question_box = None
            if answer is not None:
                self._leave(leaving, None if answer == "keep" else answer)

        self.question_box = ask(
            self,
            title=title,
            text=text,
            detail=detail,
            choices=[
                ("keep", keep, QMessageBox.ButtonRole.AcceptRole),
                ("disconnect", disconnect, QMessageBox.ButtonRole.AcceptRole),
                ("logoff", logoff, QMessageBox.ButtonRole.DestructiveRole),
            ],
            default="disconnect",
            on_answer=answered,
        )
        return self.question_box

    def _leave(self, leaving: str, event: str | None) -> None:
        """Keep the open desktops (None), or ``disconnect``/``logoff`` them; then go."""
        self._leaving = leaving
        if self._flow is not None:
            self._flow.cancel_all()
        if self._desktops_page is not None:
            page = self._desktops_page
            page.set_busy(True)
            page.starting.stop()
            names = ", ".join(o.desktop.name for o in self._open_desktops())
            if event is None:
                message = self.tr("Leaving %s open…") % names
            elif event == "logoff":
                message = self.tr("Logging off %s…") % names
            else:
                message = self.tr("Disconnecting %s…") % names
            page.banner.show_message(message, kind="info")
        self.session.leave(event)  # _left_desktops follows

    def _left_desktops(self, event: str | None) -> None:
        leaving, self._leaving = self._leaving, None
        self.session_left.emit(event or "keep")
        if leaving == "close":
            self._left = True
            self.close()
        elif leaving == "sign out":
            self.sign_out()

    # -- shutdown ----------------------------------------------------------

    def stop_clients(self) -> None:
        """Stop every client now (blocks: tests, the end of a non-interactive run)."""
        if self._session is not None:
            self._session.stop_clients()

    def shutdown(self) -> None:
        """Close without asking (SIGTERM, Ctrl+C): open desktops are disconnected."""
        self._quiet = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._left and self._open_desktops():
            event.ignore()  # closed once the broker has heard what becomes of them
            if self._leaving is not None:
                return
            if self._interactive and not self._quiet:
                if self.question_box is None:
                    self.ask_to_leave("close")
                else:
                    self.question_box.activateWindow()
                return
            self._leave("close", "disconnect")
            return
        if self._flow is not None:
            self._flow.cancel_all()
        if self._session is not None:
            self._session.close()
        super().closeEvent(event)
