"""The desktops page: the user's pools as tiles, and what to do with them."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from launcher.core.models import Desktop, DesktopState
from launcher.ui.resources import icon
from launcher.ui.widgets import Banner

DesktopRole = Qt.ItemDataRole.UserRole + 1

_BADGE = {
    DesktopState.AVAILABLE: ("Available", "#1e7e34"),
    DesktopState.CONNECTED: ("Connected", "#1f5fa8"),
    DesktopState.DISCONNECTED: ("Disconnected", "#b26a00"),
    DesktopState.STARTING: ("Starting", "#b26a00"),
    DesktopState.UNAVAILABLE: ("All in use", "#7a7a7a"),
    DesktopState.MAINTENANCE: ("Maintenance", "#7a7a7a"),
}

Index = QModelIndex | QPersistentModelIndex


def protocols_label(desktop: Desktop) -> str:
    """``RDP · VNC``: the default first; right-click offers the others."""
    others = [p for p in desktop.protocols if p is not desktop.default_protocol]
    return " · ".join(p.value.upper() for p in (desktop.default_protocol, *others))


class DesktopListModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self._desktops: list[Desktop] = []

    def set_desktops(self, desktops: list[Desktop]) -> None:
        self.beginResetModel()
        self._desktops = list(desktops)
        self.endResetModel()

    def desktops(self) -> list[Desktop]:
        return list(self._desktops)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._desktops)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        desktop = self._desktops[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return desktop.name
        if role == DesktopRole:
            return desktop
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            badge = _BADGE[desktop.state][0]
            return f"{desktop.name}, {protocols_label(desktop)}, {badge}"
        return None


class DesktopTile(QStyledItemDelegate):
    """Paints a desktop as a card: icon, name, protocol and a state badge."""

    SIZE = QSize(200, 170)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return self.SIZE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        desktop: Desktop = index.data(DesktopRole)
        rect = option.rect.adjusted(6, 6, -6, -6)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(
            QColor(palette.color(QPalette.ColorRole.Highlight))
            if selected
            else palette.color(QPalette.ColorRole.Mid)
        )
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 10, 10)
        if selected:
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 9, 9)

        icon("desktop").paint(painter, QRect(rect.center().x() - 28, rect.top() + 14, 56, 56))

        name_rect = QRect(rect.left() + 8, rect.top() + 78, rect.width() - 16, 22)
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = painter.fontMetrics().elidedText(
            desktop.name, Qt.TextElideMode.ElideRight, name_rect.width()
        )
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignCenter, name)

        font.setBold(False)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        painter.setFont(font)
        proto_rect = QRect(rect.left() + 8, rect.top() + 100, rect.width() - 16, 18)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(proto_rect, Qt.AlignmentFlag.AlignCenter, protocols_label(desktop))

        text, colour = _BADGE[desktop.state]
        width = painter.fontMetrics().horizontalAdvance(text) + 20
        badge = QRect(rect.center().x() - width // 2, rect.top() + 124, width, 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawRoundedRect(badge, 11, 11)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class DesktopsPage(QWidget):
    """Emits intents; the main window carries them out."""

    connect_requested = Signal(object)  # Desktop
    connect_with_requested = Signal(object, object)  # Desktop, Protocol
    logoff_requested = Signal(object)  # Desktop
    refresh_requested = Signal()
    sign_out_requested = Signal()
    help_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel(self.tr("Your desktops"))
        self.heading.setStyleSheet("font-size: 16pt; font-weight: 600;")
        self.user_label = QLabel()
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.setAccessibleName(self.tr("Refresh the desktop list"))
        self.refresh_button.setShortcut("F5")
        self.sign_out_button = QPushButton(self.tr("Sign out"))
        self.sign_out_button.setAccessibleName(self.tr("Sign out"))
        self.help_button = QPushButton(self.tr("Help"))
        self.help_button.setAccessibleName(self.tr("Help and diagnostics"))
        self.help_button.setToolTip(self.tr("Check this computer and the broker (F1)"))

        self.model = DesktopListModel()
        self.view = QListView()
        self.view.setAccessibleName(self.tr("Desktops"))
        self.view.setModel(self.model)
        self.view.setItemDelegate(DesktopTile(self.view))
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setSpacing(4)
        self.view.setUniformItemSizes(True)
        self.view.setFrameShape(QListView.Shape.NoFrame)
        self.empty_label = QLabel(
            self.tr("No desktops are assigned to you. Ask your administrator for access.")
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()

        self.banner = Banner()
        self.logoff_button = QPushButton(self.tr("Log off"))
        self.logoff_button.setAccessibleName(self.tr("Log off the selected desktop"))
        self.connect_button = QPushButton(self.tr("Connect"))
        self.connect_button.setAccessibleName(self.tr("Connect to the selected desktop"))
        self.connect_button.setDefault(True)
        self.connect_button.setMinimumHeight(34)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.user_label)
        top.addWidget(self.refresh_button)
        top.addWidget(self.help_button)
        top.addWidget(self.sign_out_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.logoff_button)
        bottom.addWidget(self.connect_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.banner)
        layout.addLayout(bottom)

        # activated covers double-click and Enter; doubleClicked too would launch twice.
        self.view.activated.connect(lambda index: self._emit(self.connect_requested, index))
        self.connect_button.clicked.connect(
            lambda: self._emit(self.connect_requested, self.view.currentIndex())
        )
        self.logoff_button.clicked.connect(
            lambda: self._emit(self.logoff_requested, self.view.currentIndex())
        )
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.help_button.clicked.connect(self.help_requested)
        # Desktops offering several protocols: right-click to pick one.
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().currentChanged.connect(self._update_buttons)
        self._update_buttons()

    def set_user(self, display_name: str) -> None:
        self.user_label.setText(self.tr("Signed in as %s") % display_name)

    def set_desktops(self, desktops: list[Desktop]) -> None:
        current = self.selected()
        self.model.set_desktops(desktops)
        ids = [d.id for d in desktops]
        row = ids.index(current.id) if current and current.id in ids else 0
        if desktops:
            self.view.setCurrentIndex(self.model.index(row))
        self.view.setVisible(bool(desktops))
        self.empty_label.setVisible(not desktops)
        self._update_buttons()

    def selected(self) -> Desktop | None:
        index = self.view.currentIndex()
        return index.data(DesktopRole) if index.isValid() else None

    def select(self, desktop_id: str) -> None:
        for row, desktop in enumerate(self.model.desktops()):
            if desktop.id == desktop_id:
                self.view.setCurrentIndex(self.model.index(row))

    def set_busy(self, busy: bool) -> None:
        self.view.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)
        self._update_buttons(busy=busy)

    def _update_buttons(self, *_: object, busy: bool = False) -> None:
        desktop = self.selected()
        self.connect_button.setEnabled(not busy and desktop is not None)
        self.connect_button.setText(
            self.tr("Reconnect")
            if desktop and desktop.state in (DesktopState.CONNECTED, DesktopState.DISCONNECTED)
            else self.tr("Connect")
        )
        self.logoff_button.setEnabled(
            not busy and desktop is not None and desktop.session is not None
        )

    def protocol_menu(self, desktop: Desktop) -> QMenu | None:
        """ "Connect with" actions for a desktop that offers more than one protocol."""
        if len(desktop.protocols) < 2:
            return None
        menu = QMenu(self)
        for protocol in desktop.protocols:
            label = self.tr("Connect with %s") % protocol.value.upper()
            if protocol is desktop.default_protocol:
                label += self.tr(" (default)")
            action = menu.addAction(label)
            action.triggered.connect(
                lambda _=False, p=protocol: self.connect_with_requested.emit(desktop, p)
            )
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid() or not self.view.isEnabled():
            return
        menu = self.protocol_menu(index.data(DesktopRole))
        if menu is not None:
            menu.exec(self.view.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def _emit(self, signal: SignalInstance, index: QModelIndex) -> None:
        if index.isValid():
            signal.emit(index.data(DesktopRole))
