"""The kiosk's desktop list: big painted tiles (name on up to two lines, state in
the kiosk's words), Connect, Log off (asked first), Sign out."""

from __future__ import annotations

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from launcher.core.models import Desktop, DesktopState
from launcher.ui.kiosk.parts import detail_label
from launcher.ui.resources import icon
from launcher.ui.widgets import Banner, ask_log_off

DesktopRole = Qt.ItemDataRole.UserRole + 1


def state_text(state: DesktopState) -> str:
    """A desktop's state in a kiosk's words (and the user's language)."""
    texts = {
        DesktopState.AVAILABLE: QCoreApplication.translate("KioskDesktops", "Available"),
        DesktopState.CONNECTED: QCoreApplication.translate("KioskDesktops", "Open elsewhere"),
        DesktopState.DISCONNECTED: QCoreApplication.translate("KioskDesktops", "Waiting for you"),
        DesktopState.STARTING: QCoreApplication.translate("KioskDesktops", "Starting"),
        DesktopState.UNAVAILABLE: QCoreApplication.translate("KioskDesktops", "All in use"),
        DesktopState.MAINTENANCE: QCoreApplication.translate("KioskDesktops", "Maintenance"),
    }
    return texts.get(state, state.value)


def _fit(text: str, metrics: QFontMetrics, rect: QRect, flags: int) -> str:
    """``text``, cut short with an ellipsis until it fits ``rect`` when wrapped."""
    if metrics.boundingRect(rect, flags, text).height() <= rect.height():
        return text
    words = text
    while len(words) > 1:
        words = words[:-1].rstrip()
        if metrics.boundingRect(rect, flags, words + "…").height() <= rect.height():
            return words + "…"
    return "…"


class _Tile(QStyledItemDelegate):
    """A desktop as a big tile: its icon, its name on up to two lines, its state."""

    SIZE = QSize(224, 184)

    def sizeHint(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.SIZE

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        desktop: Desktop = index.data(DesktopRole)
        rect = option.rect.adjusted(8, 8, -8, -8)
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 3))
        else:
            painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 12, 12)
        icon("desktop").paint(painter, QRect(rect.center().x() - 32, rect.top() + 14, 64, 64))

        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop) | int(
            Qt.TextFlag.TextWordWrap
        )
        name_rect = QRect(rect.left() + 10, rect.top() + 86, rect.width() - 20, 44)
        name = _fit(desktop.name, painter.fontMetrics(), name_rect, flags)
        painter.drawText(name_rect, flags, name)

        font.setBold(False)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        state_rect = QRect(rect.left() + 10, rect.bottom() - 30, rect.width() - 20, 22)
        painter.drawText(state_rect, Qt.AlignmentFlag.AlignCenter, state_text(desktop.state))
        painter.restore()


class KioskDesktopsPage(QWidget):
    """The user's desktops, big and plain: Connect, Log off, Sign out."""

    connect_requested = Signal(object)  # Desktop
    logoff_requested = Signal(object)  # Desktop
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel(self.tr("Your desktops"))
        self.heading.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.user_label = QLabel()
        self.user_label.setStyleSheet("font-size: 12pt;")
        self.sign_out_button = QPushButton(self.tr("Sign out"))
        self.sign_out_button.setAccessibleName(self.tr("Sign out"))
        self.sign_out_button.setMinimumSize(120, 44)
        self.view = QListWidget()
        self.view.setAccessibleName(self.tr("Desktops"))
        self.view.setViewMode(QListWidget.ViewMode.IconMode)
        self.view.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.view.setMovement(QListWidget.Movement.Static)
        self.view.setItemDelegate(_Tile(self.view))
        self.view.setSpacing(4)
        self.view.setUniformItemSizes(True)
        self.view.setStyleSheet("QListWidget { font-size: 12pt; }")
        self.empty_label = detail_label(
            self.tr("No desktops are assigned to you. Ask your administrator for access.")
        )
        self.empty_label.hide()
        self.banner = Banner()
        self.logoff_button = QPushButton(self.tr("Log off"))
        self.logoff_button.setAccessibleName(self.tr("Log off the selected desktop"))
        self.logoff_button.setMinimumSize(120, 44)
        self.connect_button = QPushButton(self.tr("Connect"))
        self.connect_button.setAccessibleName(self.tr("Connect to the selected desktop"))
        self.connect_button.setDefault(True)
        self.connect_button.setMinimumHeight(44)
        self.connect_button.setMinimumWidth(180)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.user_label)
        top.addSpacing(12)
        top.addWidget(self.sign_out_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.logoff_button)
        bottom.addWidget(self.connect_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.banner)
        layout.addLayout(bottom)

        self.view.itemActivated.connect(self._activated)
        self.view.currentItemChanged.connect(self._update_buttons)
        self.connect_button.clicked.connect(self._connect_selected)
        self.logoff_button.clicked.connect(self._logoff_selected)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self._busy = False
        self.confirm_box: QMessageBox | None = None
        self._update_buttons()

    def set_user(self, display_name: str) -> None:
        self.user_label.setText(self.tr("Signed in as %s") % display_name if display_name else "")

    def set_desktops(self, desktops: list[Desktop]) -> None:
        current = self.selected()
        self.view.clear()
        for desktop in desktops:
            state = state_text(desktop.state)
            item = QListWidgetItem(desktop.name)
            item.setData(DesktopRole, desktop)
            item.setToolTip(f"{desktop.name}, {state}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{desktop.name}, {state}")
            self.view.addItem(item)
        if desktops:
            ids = [d.id for d in desktops]
            row = ids.index(current.id) if current and current.id in ids else 0
            self.view.setCurrentRow(row)
        self.view.setVisible(bool(desktops))
        self.empty_label.setVisible(not desktops)
        self._update_buttons()

    def desktops(self) -> list[Desktop]:
        return [self.view.item(row).data(DesktopRole) for row in range(self.view.count())]

    def selected(self) -> Desktop | None:
        item = self.view.currentItem()
        if item is None:
            return None
        desktop: Desktop = item.data(DesktopRole)
        return desktop

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.view.setEnabled(not busy)
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        desktop = self.selected()
        self.connect_button.setEnabled(not self._busy and desktop is not None)
        self.connect_button.setText(
            self.tr("Reconnect")
            if desktop and desktop.state in (DesktopState.CONNECTED, DesktopState.DISCONNECTED)
            else self.tr("Connect")
        )
        self.logoff_button.setVisible(desktop is not None and desktop.session is not None)
        self.logoff_button.setEnabled(not self._busy)

    def _activated(self, item: QListWidgetItem) -> None:
        if not self._busy:
            self.connect_requested.emit(item.data(DesktopRole))

    def _connect_selected(self) -> None:
        desktop = self.selected()
        if desktop is not None:
            self.connect_requested.emit(desktop)

    def _logoff_selected(self) -> None:
        desktop = self.selected()
        if desktop is not None and desktop.session is not None:
            self.confirm_logoff(desktop)

    def confirm_logoff(self, desktop: Desktop) -> QMessageBox:
        """Log off ends the user's work: asked first; ``logoff_requested`` on yes."""

        def answered(answer: str | None) -> None:
            self.confirm_box = None
            if answer == "logoff":
                self.logoff_requested.emit(desktop)

        self.confirm_box = ask_log_off(self, name=desktop.name, on_answer=answered)
        return self.confirm_box

    def focus_first(self) -> None:
        """The selected desktop (the first, after a sign-in) takes the keyboard: Enter opens it."""
        if self.view.count() and self.view.isVisibleTo(self):
            if self.view.currentRow() < 0:
                self.view.setCurrentRow(0)
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)
