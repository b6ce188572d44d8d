"""The Settings dialog (admin-locked keys read-only) and the About dialog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QLabel
from pytestqt.qtbot import QtBot

from launcher import __version__
from launcher.core import clients
from launcher.core.settings import Layers, SystemConfig, UserSettings
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.mainwindow import MainWindow
from launcher.ui.settingsdialog import SettingsDialog
from tests.gui.conftest import WindowFactory
from tests.helpers import fake_client

LOCKED = {"fullscreen": True, "cert_policy": "system", "rdp": {"multimon": True}}


def window_with(
    make_window: WindowFactory, tmp_path: Path, system: dict[str, object]
) -> MainWindow:
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    layers = Layers(tmp_path / "settings.json", system=SystemConfig.from_mapping(system))
    return make_window(viewer.path, settings=layers)


def test_locked_settings_are_shown_read_only_and_never_saved(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = window_with(make_window, tmp_path, LOCKED)
    dialog = window.show_settings()
    assert dialog is not None
    assert dialog.lock_box.isVisibleTo(dialog)
    for key in ("fullscreen", "cert_policy", "rdp.multimon"):
        control = dialog.controls[key]
        assert not control.isEnabled(), key
        assert control.toolTip() == "Set by your administrator"
    assert dialog.fullscreen.isChecked()  # the admin's value is what shows
    assert dialog.cert_policy.currentData() == "system"
    for key in ("rdp.clipboard", "view", "auto_launch", "clients.xfreerdp"):
        assert dialog.controls[key].isEnabled(), key

    dialog.clipboard.setChecked(False)
    dialog.view.setCurrentIndex(dialog.view.findData("list"))
    dialog.auto_launch.setChecked(True)
    dialog.client_paths["xfreerdp"].setText("/opt/freerdp/bin/xfreerdp")
    dialog.window_size.setCurrentIndex(dialog.window_size.findData("1600x900"))
    dialog.log_level.setCurrentIndex(dialog.log_level.findData("debug"))
    with qtbot.waitSignal(window.settings_saved, timeout=5_000):
        dialog.ok_button.click()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved == {
        "auto_launch": True,
        "clients": {"xfreerdp": "/opt/freerdp/bin/xfreerdp"},
        "log_level": "debug",
        "rdp": {"clipboard": False, "width": 1600, "height": 900},
        "view": "list",
    }
    assert window.desktops_page.view_mode == "list"
    prefs = window.session.preferences
    assert prefs.rdp.clipboard is False
    assert prefs.rdp.multimon is True  # the admin's
    assert prefs.fullscreen is True
    assert prefs.clients["xfreerdp"] == "/opt/freerdp/bin/xfreerdp"


def test_cancel_changes_nothing(qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> None:
    window = window_with(make_window, tmp_path, {})
    dialog = window.show_settings()
    assert dialog is not None
    assert not dialog.lock_box.isVisibleTo(dialog)
    dialog.fullscreen.setChecked(True)
    dialog.reject()
    assert not (tmp_path / "settings.json").exists()
    assert window.settings.effective().fullscreen is False


@pytest.mark.parametrize(
    ("platform", "offered"),
    [
        ("linux", ["vncviewer", "remote-viewer", "xfreerdp"]),
        ("windows", ["vncviewer", "remote-viewer", "mstsc", "xfreerdp"]),
        ("macos", ["vncviewer", "remote-viewer", "rdp-app", "xfreerdp"]),
    ],
)
def test_the_clients_page_names_the_clients_of_the_registry(
    qtbot: QtBot, platform: str, offered: list[str]
) -> None:
    dialog = SettingsDialog(UserSettings(), platform=platform)
    qtbot.addWidget(dialog)
    assert list(dialog.client_paths) == offered
    labels = {label.buddy(): label.text() for label in dialog.findChildren(QLabel)}
    names = [labels[dialog.client_paths[key]] for key in offered]
    assert names == [f"{clients.by_key(key).title}:" for key in offered]


def test_a_locked_certificate_policy_refuses_an_untrusted_broker_without_asking(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from launcher.core.broker import UntrustedCertificate
    from launcher.core.trust import Presented

    window = window_with(make_window, tmp_path, {"cert_policy": "system"})
    window._sign_in_failed(UntrustedCertificate(Presented("https://b.test:443", "AA:BB", "")))
    assert window.trust_dialog is None
    text = window.sign_in_page.banner.text()
    assert "accept only certificates this computer trusts" in text


def test_about_shows_the_versions_and_opens_the_diagnostics(
    qtbot: QtBot, window: MainWindow
) -> None:
    about = window.show_about()
    assert about is not None
    assert about.version_labels["Rubicon"].text() == __version__
    assert about.version_labels["Qt"].text()
    assert about.version_labels["PySide6"].text()
    with qtbot.waitSignal(window.diagnostics_opened, timeout=5_000) as opened:
        about.diagnostics_button.click()
    dialog: DiagnosticsDialog = opened.args[0]
    qtbot.waitSignal(dialog.report_shown, timeout=30_000).wait()
    assert "Rubicon" in dialog.text.toPlainText()
    about.close()


def test_settings_and_about_are_reachable_from_both_pages(qtbot: QtBot, window: MainWindow) -> None:
    window.sign_in_page.settings_button.click()
    assert window.settings_dialog is not None
    window.settings_dialog.reject()
    window.desktops_page.settings_button.click()
    assert window.settings_dialog is not None
    assert isinstance(window.settings_dialog.controls["fullscreen"], QCheckBox)
    window.settings_dialog.reject()
    window.sign_in_page.about_button.click()
    assert window.about_dialog is not None
    assert window.about_dialog.isVisible()
    window.about_dialog.close()
