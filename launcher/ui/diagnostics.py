"""The Diagnostics dialog: the ``rubicon doctor`` report, copy it, save a support bundle.

The checks run clients and reach the network, so they run off the GUI
thread with ``tasks.run``; so does writing the bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from launcher.core import log
from launcher.core.doctor import Report, Status
from launcher.ui import tasks
from launcher.ui.widgets import Banner

BundleWriter = Callable[[Path, Report], object]


class DiagnosticsDialog(QDialog):
    """Shows a report made by ``make_report``; ``write_bundle`` saves a support bundle.

    ``choose_path`` asks where to save (a file dialog by default; tests give
    their own). ``before_run`` is called on the GUI thread before each run,
    to take what the report needs from widgets; ``make_report`` itself runs
    on a pool thread and must not touch them.
    """

    report_shown = Signal(object)  # Report
    bundle_saved = Signal(object)  # Path
    failed = Signal(str)

    def __init__(
        self,
        make_report: Callable[[], Report],
        write_bundle: BundleWriter,
        *,
        choose_path: Callable[[], Path | None] | None = None,
        before_run: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Rubicon diagnostics"))
        self.resize(720, 520)
        self._make_report = make_report
        self._write_bundle = write_bundle
        self._choose_path = choose_path or self._ask_path
        self._before_run = before_run
        self.report: Report | None = None

        intro = QLabel(
            self.tr(
                "What Rubicon found on this computer. Send the support bundle to your "
                "administrator if something does not work; passwords and tokens are "
                "removed from it."
            )
        )
        intro.setWordWrap(True)
        self.summary = Banner()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName(self.tr("Diagnostics report"))
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rerun_button = QPushButton(self.tr("Run again"))
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setAccessibleName(self.tr("Copy the report"))
        self.save_button = QPushButton(self.tr("Save support bundle…"))
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.setDefault(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.rerun_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.summary)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.rerun_button.clicked.connect(self.run)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self.save_bundle)
        self.close_button.clicked.connect(self.accept)

    def run(self) -> None:
        """Run the checks off the GUI thread; the report replaces the text when done."""
        if self._before_run is not None:
            self._before_run()
        self._set_busy(True)
        self.summary.clear_message()
        self.text.setPlainText(self.tr("Running checks…"))
        tasks.run(self, self._make_report, on_success=self.show_report, on_failure=self._failed)

    def show_report(self, report: Report) -> None:
        self.report = report
        self.text.setPlainText(report.to_text())
        warnings, failures = report.count(Status.WARN), report.count(Status.FAIL)
        if failures:
            noun = self.tr("problem") if failures == 1 else self.tr("problems")
            self.summary.show_message(
                self.tr("%d %s found; see FAIL below.") % (failures, noun), kind="error"
            )
        elif warnings:
            noun = self.tr("warning") if warnings == 1 else self.tr("warnings")
            self.summary.show_message(
                self.tr("%d %s; see WARN below.") % (warnings, noun), kind="warn"
            )
        else:
            self.summary.show_message(self.tr("Everything checked is fine."), kind="ok")
        self._set_busy(False)
        self.report_shown.emit(report)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.status.setText(self.tr("Report copied to the clipboard."))

    def save_bundle(self) -> None:
        report = self.report
        if report is None:
            return
        path = self._choose_path()
        if path is None:
            return
        self._set_busy(True)
        self.status.setText(self.tr("Saving %s…") % path)

        def saved(_: object) -> None:
            self._set_busy(False)
            self.status.setText(self.tr("Support bundle saved to %s.") % path)
            self.bundle_saved.emit(path)

        tasks.run(
            self,
            lambda: self._write_bundle(path, report),
            on_success=saved,
            on_failure=self._failed,
        )

    def _ask_path(self) -> Path | None:
        default = Path.home() / f"rubicon-support-{datetime.now():%Y%m%d-%H%M}.zip"
        name, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save support bundle"), str(default), self.tr("Zip files (*.zip)")
        )
        return Path(name) if name else None

    def _failed(self, error: Exception) -> None:
        log.ui.warning("diagnostics: %s", error)
        self._set_busy(False)
        message = str(error) or type(error).__name__
        self.status.setText(self.tr("Failed: %s") % message)
        if self.report is None:
            self.text.setPlainText(self.tr("The checks could not run: %s") % message)
        self.failed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        self.rerun_button.setEnabled(not busy)
        self.copy_button.setEnabled(not busy and self.report is not None)
        self.save_button.setEnabled(not busy and self.report is not None)
