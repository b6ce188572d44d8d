"""The Diagnostics dialog: opened with F1 or Help, the doctor's report, copy, bundle."""

from __future__ import annotations

import zipfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from launcher.core.doctor import Report, Status
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import USERS
from tests.helpers.live_broker import LiveBroker


def open_with_f1(qtbot: QtBot, window: MainWindow) -> DiagnosticsDialog:
    with qtbot.waitSignal(window.diagnostics_opened, timeout=5_000) as opened:
        qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog: DiagnosticsDialog = opened.args[0]
    qtbot.waitSignal(dialog.report_shown, timeout=30_000).wait()
    return dialog


def test_f1_on_the_sign_in_page_checks_the_broker_typed_in(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker
) -> None:
    window.sign_in_page.server.setText(broker.url)
    dialog = open_with_f1(qtbot, window)
    report = dialog.report
    assert report is not None
    assert report.by_id("broker").status is Status.OK
    text = dialog.text.toPlainText()
    assert text == report.to_text()
    assert f"Broker: {broker.url} answers and is healthy." in text
    assert "VNC viewer (TigerVNC)" in text
    assert dialog.save_button.isEnabled()
    assert dialog.summary.kind_shown in ("ok", "warn")


def test_help_on_the_desktops_page_copies_and_saves_a_bundle(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, tmp_path: Path
) -> None:
    page = window.sign_in_page
    page.server.setText(broker.url)
    page.username.setText("ann")
    page.password.setText(USERS["ann"])
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.diagnostics_opened, timeout=5_000) as opened:
        qtbot.mouseClick(window.desktops_page.help_button, Qt.MouseButton.LeftButton)
    dialog: DiagnosticsDialog = opened.args[0]
    qtbot.waitSignal(dialog.report_shown, timeout=30_000).wait()
    assert dialog.report is not None
    assert dialog.report.by_id("broker").summary == f"{broker.url} answers and is healthy."

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == dialog.report.to_text()
    assert dialog.status.text() == "Report copied to the clipboard."

    target = tmp_path / "support.zip"
    dialog._choose_path = lambda: target
    with qtbot.waitSignal(dialog.bundle_saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == f"Support bundle saved to {target}."
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        report_text = zf.read("report.txt").decode()
    assert names[:2] == ["report.txt", "report.json"]
    assert USERS["ann"] not in report_text
    assert "Broker" in report_text


def test_a_cancelled_save_writes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    written: list[Path] = []
    dialog = DiagnosticsDialog(
        lambda: Report(()), lambda path, report: written.append(path), choose_path=lambda: None
    )
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.report_shown, timeout=10_000):
        dialog.run()
    assert dialog.summary.text() == "Everything checked is fine."
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert written == []
    dialog.close()


def test_checks_that_cannot_run_say_why(qtbot: QtBot) -> None:
    def broken() -> Report:
        raise OSError("no such thing")

    dialog = DiagnosticsDialog(broken, lambda path, report: None)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.failed, timeout=10_000):
        dialog.run()
    assert dialog.text.toPlainText() == "The checks could not run: no such thing"
    assert not dialog.save_button.isEnabled()
    assert dialog.rerun_button.isEnabled()
    dialog.close()
