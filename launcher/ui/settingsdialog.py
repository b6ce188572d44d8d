"""The Settings dialog: display, protocols, client programs, certificates, logs.

It edits a copy of the effective settings and hands it back with
:meth:`SettingsDialog.chosen`; the window gives it to
``settings.Layers.update``, which keeps what the admin locked. Locked keys
are shown, read-only, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from launcher.core import clients as native_clients
from launcher.core.protocols import platform_key
from launcher.core.settings import LEGACY_CLIENT_KEYS, UserSettings
from launcher.ui import coretext
from launcher.ui.resources import themed_icon

_SIZES: list[tuple[int, int] | None] = [
    None,
    (1024, 768),
    (1280, 720),
    (1280, 1024),
    (1366, 768),
    (1600, 900),
    (1920, 1080),
    (2560, 1440),
]


def _size(value: tuple[int, int] | None) -> str:
    """A window size as the combo box keeps it: ``1600x900``, or "" for the client's own."""
    return f"{value[0]}x{value[1]}" if value else ""


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: UserSettings,
        *,
        locked: Callable[[str], bool] = lambda key: False,
        platform: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._platform = platform or platform_key()  # which clients to offer paths for
        self.setWindowTitle(self.tr("Rubicon settings"))
        self.setAccessibleName(self.tr("Rubicon settings"))
        self._settings = deepcopy(settings)
        self._locked = locked
        # Setting key -> the control that edits it (tests and the lock marks use it).
        self.controls: dict[str, QWidget] = {}

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(self.tr("Settings pages"))
        self.tabs.tabBar().setAccessibleName(self.tr("Settings pages"))
        self.tabs.addTab(self._general(), self.tr("&General"))
        self.tabs.addTab(self._protocols(), self.tr("&Protocols"))
        self.tabs.addTab(self._clients(), self.tr("&Clients"))
        self.tabs.addTab(self._security(), self.tr("&Security"))

        self.lock_note = QLabel(
            self.tr(
                "Settings marked with a lock are set by your administrator and cannot be "
                "changed here."
            )
        )
        self.lock_note.setWordWrap(True)
        lock_row = QHBoxLayout()
        lock_icon = QLabel()
        lock_icon.setPixmap(themed_icon("lock").pixmap(16, 16))
        lock_row.addWidget(lock_icon)
        lock_row.addWidget(self.lock_note, 1)
        self.lock_box = QWidget()
        self.lock_box.setLayout(lock_row)
        self.lock_box.setVisible(any(locked(key) for key in self.controls))

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Save"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.lock_box)
        layout.addWidget(self.buttons)
        self._apply_locks()
        self.resize(560, 460)

    # -- pages -------------------------------------------------------------------

    def _check(self, key: str, text: str, value: bool) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(value)
        box.setAccessibleName(text.replace("&", ""))
        self.controls[key] = box
        return box

    def _combo(
        self, key: str, name: str, items: list[tuple[str, object]], value: object
    ) -> QComboBox:
        combo = QComboBox()
        for text, data in items:
            combo.addItem(text, data)
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))
        combo.setAccessibleName(name)
        self.controls[key] = combo
        return combo

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        form.addRow(label, field)

    def _general(self) -> QWidget:
        s = self._settings
        page = QWidget()
        display = QGroupBox(self.tr("Display"))
        form = QFormLayout(display)
        self.fullscreen = self._check(
            "fullscreen", self.tr("Open desktops &full screen"), s.fullscreen
        )
        form.addRow(self.fullscreen)
        self.multimon = self._check(
            "rdp.multimon", self.tr("Use &all monitors (RDP)"), s.rdp.multimon
        )
        form.addRow(self.multimon)
        current = (s.rdp.width, s.rdp.height) if s.rdp.width and s.rdp.height else None
        sizes = list(_SIZES)
        if current not in sizes:
            sizes.append(current)
        self.window_size = self._combo(
            "rdp.width",
            self.tr("Window size when not full screen"),
            [
                (self.tr("The client's choice") if v is None else f"{v[0]} × {v[1]}", _size(v))
                for v in sizes
            ],
            _size(current),
        )
        self._row(form, self.tr("&Window size (RDP):"), self.window_size)

        list_box = QGroupBox(self.tr("Desktop list"))
        form2 = QFormLayout(list_box)
        self.view = self._combo(
            "view",
            self.tr("Show desktops as"),
            [(self.tr("Tiles"), "tiles"), (self.tr("A list"), "list")],
            s.view,
        )
        self._row(form2, self.tr("Show desktops &as:"), self.view)
        self.auto_launch = self._check(
            "auto_launch",
            self.tr("&Open my desktop at once when I have only one"),
            s.auto_launch,
        )
        form2.addRow(self.auto_launch)

        layout = QVBoxLayout(page)
        layout.addWidget(display)
        layout.addWidget(list_box)
        layout.addStretch(1)
        return page

    def _protocols(self) -> QWidget:
        s = self._settings
        page = QWidget()
        rdp = QGroupBox(self.tr("RDP (Windows desktops)"))
        form = QFormLayout(rdp)
        self.clipboard = self._check(
            "rdp.clipboard", self.tr("Share the &clipboard"), s.rdp.clipboard
        )
        form.addRow(self.clipboard)
        self.audio = self._combo(
            "rdp.audio",
            self.tr("Sound"),
            [
                (self.tr("Play on this computer"), "local"),
                (self.tr("Play on the remote desktop"), "remote"),
                (self.tr("Off"), "off"),
            ],
            s.rdp.audio,
        )
        self._row(form, self.tr("&Sound:"), self.audio)
        vnc = QGroupBox(self.tr("VNC"))
        form2 = QFormLayout(vnc)
        self.vnc_client = self._combo(
            "vnc.client",
            self.tr("VNC viewer"),
            [
                (self.tr("TigerVNC (vncviewer)"), "vncviewer"),
                (self.tr("virt-viewer (remote-viewer)"), "remote-viewer"),
            ],
            s.vnc.client,
        )
        self._row(form2, self.tr("&Viewer:"), self.vnc_client)
        spice = QGroupBox(self.tr("SPICE"))
        form3 = QFormLayout(spice)
        self.usbredir = self._check(
            "spice.usbredir",
            self.tr("Offer this computer's &USB devices to the desktop"),
            s.spice.usbredir,
        )
        form3.addRow(self.usbredir)
        layout = QVBoxLayout(page)
        for box in (rdp, vnc, spice):
            layout.addWidget(box)
        layout.addStretch(1)
        return page

    def _clients(self) -> QWidget:
        page = QWidget()
        intro = QLabel(
            self.tr(
                "Rubicon finds the remote-display programs by itself. Give a path only "
                "for a program installed somewhere unusual."
            )
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        self.client_paths: dict[str, QLineEdit] = {}
        # A path for each client this OS may use: its own, and those a path brings in.
        for client in native_clients.CLIENTS:
            if not (self._platform in client.platforms or client.anywhere_with_path):
                continue
            key, name = client.key, coretext.translate(client.title)
            field = QLineEdit(self._settings.client_path(key) or "")
            field.setPlaceholderText(self.tr("found automatically"))
            field.setAccessibleName(self.tr("Path of %s") % name)
            browse = QPushButton(self.tr("Browse…"))
            browse.setAccessibleName(self.tr("Choose the program for %s") % name)
            browse.clicked.connect(lambda _=False, f=field, n=name: self._browse(f, n))
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(browse)
            label = QLabel(name + ":")
            label.setBuddy(field)
            form.addRow(label, row)
            self.client_paths[key] = field
            self.controls[f"clients.{key}"] = field
            self.controls[f"clients.{key}.browse"] = browse
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _security(self) -> QWidget:
        s = self._settings
        page = QWidget()
        trust = QGroupBox(self.tr("Broker certificates"))
        form = QFormLayout(trust)
        self.cert_policy = self._combo(
            "cert_policy",
            self.tr("Certificate policy"),
            [
                (self.tr("Ask me once, showing the fingerprint"), "ask"),
                (self.tr("Only certificates this computer trusts"), "system"),
            ],
            s.cert_policy,
        )
        self._row(form, self.tr("&Untrusted certificates:"), self.cert_policy)
        self.trust_new = self._check(
            "trust_new_certificates",
            self.tr("Let me trust a broker's &new certificate after it changes"),
            s.trust_new_certificates,
        )
        form.addRow(self.trust_new)
        note = QLabel(
            self.tr(
                "A broker whose certificate changed after you trusted it is refused, and both "
                "fingerprints are shown. Trusting the new one takes a confirmation; a change "
                "the broker announced ahead of time needs none."
            )
        )
        note.setWordWrap(True)
        form.addRow(note)
        signin = QGroupBox(self.tr("Signing in"))
        form2 = QFormLayout(signin)
        self.remember = self._check(
            "remember_password",
            self.tr("&Remember my password in this computer's keychain"),
            s.remember_password,
        )
        form2.addRow(self.remember)
        self.show_domain = self._check(
            "show_domain", self.tr("Ask for a &domain (for Windows accounts)"), s.show_domain
        )
        form2.addRow(self.show_domain)
        logs = QGroupBox(self.tr("Support"))
        form3 = QFormLayout(logs)
        self.log_level = self._combo(
            "log_level",
            self.tr("Log level"),
            [
                (self.tr("Errors only"), "error"),
                (self.tr("Warnings"), "warning"),
                (self.tr("Normal"), "info"),
                (self.tr("Everything (for support)"), "debug"),
            ],
            s.log_level,
        )
        self._row(form3, self.tr("&Log:"), self.log_level)
        layout = QVBoxLayout(page)
        for box in (trust, signin, logs):
            layout.addWidget(box)
        layout.addStretch(1)
        return page

    def _apply_locks(self) -> None:
        why = self.tr("Set by your administrator")
        for key, control in self.controls.items():
            setting = key.removesuffix(".browse")
            if setting == "rdp.width":
                locked = self._locked("rdp.width") or self._locked("rdp.height")
            else:
                locked = self._locked(setting)
            if locked:
                control.setEnabled(False)
                control.setToolTip(why)
                lock = themed_icon("lock")
                if isinstance(control, QCheckBox):
                    control.setIcon(lock)
                elif isinstance(control, QComboBox):
                    control.setItemIcon(control.currentIndex(), lock)
                elif isinstance(control, QLineEdit):
                    control.addAction(lock, QLineEdit.ActionPosition.TrailingPosition)
                control.setAccessibleDescription(why)

    def _browse(self, field: QLineEdit, name: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose %s") % name, field.text())
        if path:
            field.setText(path)

    # -- the result ----------------------------------------------------------------

    def chosen(self) -> UserSettings:
        """The settings as the dialog shows them now."""
        s = deepcopy(self._settings)
        s.fullscreen = self.fullscreen.isChecked()
        s.rdp.multimon = self.multimon.isChecked()
        size = str(self.window_size.currentData() or "")
        if size:
            width, height = size.split("x")
            s.rdp.width, s.rdp.height = int(width), int(height)
        else:
            s.rdp.width, s.rdp.height = None, None
        s.view = str(self.view.currentData())
        s.auto_launch = self.auto_launch.isChecked()
        s.show_domain = self.show_domain.isChecked()
        s.rdp.clipboard = self.clipboard.isChecked()
        s.rdp.audio = str(self.audio.currentData())
        s.vnc.client = str(self.vnc_client.currentData())
        s.spice.usbredir = self.usbredir.isChecked()
        clients = {
            k: v
            for k, v in s.clients.items()
            if k not in self.client_paths and k not in LEGACY_CLIENT_KEYS
        }
        for key, field in self.client_paths.items():
            if field.text().strip():
                clients[key] = field.text().strip()
        s.clients = clients
        s.cert_policy = str(self.cert_policy.currentData())
        s.trust_new_certificates = self.trust_new.isChecked()
        s.remember_password = self.remember.isChecked()
        s.log_level = str(self.log_level.currentData())
        return s
