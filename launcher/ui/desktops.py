"""The desktops page: the user's pools as tiles or a list, and what to do with them.

What is shown, and in which order, comes from ``core.catalog`` (search,
favourites, recent); which actions a desktop offers from
``catalog.actions``. The page emits intents; the window carries them out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from launcher.core import catalog
from launcher.core.catalog import Show
from launcher.core.models import Desktop, DesktopState
from launcher.ui.resources import icon, themed_icon
from launcher.ui.widgets import Banner, StartingPanel, ask, ask_log_off

DesktopRole = Qt.ItemDataRole.UserRole + 1
FavouriteRole = Qt.ItemDataRole.UserRole + 2

_COLOURS = {
    DesktopState.AVAILABLE: "#1e7e34",
    DesktopState.CONNECTED: "#1f5fa8",
    DesktopState.DISCONNECTED: "#9a5b00",
    DesktopState.STARTING: "#9a5b00",
    DesktopState.UNAVAILABLE: "#6b6b6b",
    DesktopState.MAINTENANCE: "#6b6b6b",
}

Index = QModelIndex | QPersistentModelIndex


def badge_text(state: DesktopState) -> str:
    """The state as the badge says it, in the user's language."""
    texts = {
        DesktopState.AVAILABLE: QCoreApplication.translate("DesktopState", "Available"),
        DesktopState.CONNECTED: QCoreApplication.translate("DesktopState", "Connected"),
        DesktopState.DISCONNECTED: QCoreApplication.translate("DesktopState", "Disconnected"),
        DesktopState.STARTING: QCoreApplication.translate("DesktopState", "Starting"),
        DesktopState.UNAVAILABLE: QCoreApplication.translate("DesktopState", "All in use"),
        DesktopState.MAINTENANCE: QCoreApplication.translate("DesktopState", "Maintenance"),
    }
    return texts[state]


def protocols_label(desktop: Desktop) -> str:
    """``RDP · VNC``: the default first; right-click offers the others."""
    others = [p for p in desktop.protocols if p is not desktop.default_protocol]
    return " · ".join(p.value.upper() for p in (desktop.default_protocol, *others))


class DesktopListModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self._desktops: list[Desktop] = []
        self._favourites: frozenset[str] = frozenset()

    def set_desktops(self, desktops: list[Desktop], favourites: frozenset[str]) -> None:
        self.beginResetModel()
        self._desktops = list(desktops)
        self._favourites = favourites
        self.endResetModel()

    def desktops(self) -> list[Desktop]:
        """The desktops shown, in the order shown."""
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
        if role == FavouriteRole:
            return desktop.id in self._favourites
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            star = (
                QCoreApplication.translate("DesktopListModel", ", favourite")
                if desktop.id in self._favourites
                else ""
            )
            return f"{desktop.name}, {protocols_label(desktop)}, {badge_text(desktop.state)}{star}"
        return None


class _Card(QStyledItemDelegate):
    """Shared by the tile and the row: the star that toggles a favourite."""

    def __init__(self, on_star: Callable[[Desktop], None], parent: QWidget) -> None:
        super().__init__(parent)
        self._on_star = on_star

    def star_rect(self, rect: QRect) -> QRect:
        raise NotImplementedError

    def editorEvent(  # noqa: N802
        self, event: QEvent, model: object, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and self.star_rect(option.rect).contains(event.position().toPoint())
        ):
            self._on_star(index.data(DesktopRole))
            return True
        return False

    @staticmethod
    def _frame(painter: QPainter, rect: QRect, palette: QPalette, selected: bool) -> None:
        painter.setPen(
            palette.color(QPalette.ColorRole.Highlight)
            if selected
            else palette.color(QPalette.ColorRole.Mid)
        )
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 10, 10)
        if selected:
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 9, 9)

    @staticmethod
    def _badge(painter: QPainter, rect: QRect, state: DesktopState) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(_COLOURS[state]))
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, badge_text(state))

    @staticmethod
    def _star(painter: QPainter, rect: QRect, on: bool, palette: QPalette) -> None:
        (icon("star") if on else themed_icon("star-outline", palette)).paint(painter, rect)


class DesktopTile(_Card):
    """Paints a desktop as a card: icon, name, protocols, a state badge and a star."""

    SIZE = QSize(200, 170)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return self.SIZE

    def star_rect(self, rect: QRect) -> QRect:
        inner = rect.adjusted(6, 6, -6, -6)
        return QRect(inner.right() - 30, inner.top() + 8, 22, 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        desktop: Desktop = index.data(DesktopRole)
        rect = option.rect.adjusted(6, 6, -6, -6)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._frame(painter, rect, palette, selected)
        icon("desktop").paint(painter, QRect(rect.center().x() - 28, rect.top() + 14, 56, 56))
        self._star(painter, self.star_rect(option.rect), bool(index.data(FavouriteRole)), palette)

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

        width = painter.fontMetrics().horizontalAdvance(badge_text(desktop.state)) + 20
        self._badge(
            painter,
            QRect(rect.center().x() - width // 2, rect.top() + 124, width, 22),
            desktop.state,
        )
        painter.restore()


class DesktopRow(_Card):
    """Paints a desktop as a list row: icon, name and protocols, badge, star."""

    HEIGHT = 56

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return QSize(max(option.rect.width(), 300), self.HEIGHT)

    def star_rect(self, rect: QRect) -> QRect:
        return QRect(rect.right() - 36, rect.center().y() - 11, 22, 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        desktop: Desktop = index.data(DesktopRole)
        rect = option.rect.adjusted(4, 3, -4, -3)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._frame(painter, rect, palette, selected)
        icon("desktop").paint(painter, QRect(rect.left() + 12, rect.center().y() - 16, 32, 32))
        self._star(painter, self.star_rect(option.rect), bool(index.data(FavouriteRole)), palette)

        font = QFont(option.font)
        small = QFont(option.font)
        small.setPointSizeF(small.pointSizeF() * 0.85)
        painter.setFont(small)
        badge_width = painter.fontMetrics().horizontalAdvance(badge_text(desktop.state)) + 20
        badge = QRect(
            self.star_rect(option.rect).left() - 12 - badge_width,
            rect.center().y() - 11,
            badge_width,
            22,
        )
        self._badge(painter, badge, desktop.state)

        text_left = rect.left() + 56
        text_width = badge.left() - 12 - text_left
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = painter.fontMetrics().elidedText(
            desktop.name, Qt.TextElideMode.ElideRight, text_width
        )
        painter.drawText(
            QRect(text_left, rect.top() + 6, text_width, 22),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            name,
        )
        painter.setFont(small)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRect(text_left, rect.top() + 27, text_width, 18),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            protocols_label(desktop),
        )
        painter.restore()


class DesktopsPage(QWidget):
    """Emits intents; the main window carries them out."""

    connect_requested = Signal(object)  # Desktop
    connect_with_requested = Signal(object, object)  # Desktop, Protocol
    logoff_requested = Signal(object)  # Desktop, after the user confirmed
    reset_requested = Signal(object)  # Desktop, after the user confirmed
    restart_requested = Signal(object)  # Desktop, after the user confirmed
    favourite_toggled = Signal(object)  # Desktop
    view_changed = Signal(str)  # "tiles" or "list"
    refresh_requested = Signal()
    sign_out_requested = Signal()
    help_requested = Signal()
    settings_requested = Signal()
    about_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._all: list[Desktop] = []
        self._favourites: list[str] = []
        self._recents: list[str] = []
        self._show = Show.ALL
        self._busy = False
        self.confirm_box: QMessageBox | None = None

        self.heading = QLabel(self.tr("Your desktops"))
        self.heading.setStyleSheet("font-size: 16pt; font-weight: 600;")
        self.user_label = QLabel()
        self.refresh_button = self._tool("refresh", self.tr("Refresh the desktop list (F5)"))
        self.refresh_button.setAccessibleName(self.tr("Refresh the desktop list"))
        self.refresh_button.setShortcut("F5")
        self.settings_button = self._tool("settings", self.tr("Settings"))
        self.help_button = self._tool("help", self.tr("Check this computer and the broker (F1)"))
        self.help_button.setAccessibleName(self.tr("Help and diagnostics"))
        self.about_button = self._tool("info", self.tr("About Rubicon"))
        self.sign_out_button = QPushButton(themed_icon("sign-out"), self.tr("Sign out"))
        self.sign_out_button.setAccessibleName(self.tr("Sign out"))

        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search desktops (Ctrl+F)"))
        self.search.setAccessibleName(self.tr("Search desktops"))
        self.search.setClearButtonEnabled(True)
        self.search.addAction(themed_icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.all_button = self._choice(self.tr("All"), self.tr("Show all desktops"))
        self.favourites_button = self._choice(
            self.tr("Favourites"), self.tr("Show favourite desktops")
        )
        self.recent_button = self._choice(
            self.tr("Recent"), self.tr("Show recently opened desktops")
        )
        self.show_group = QButtonGroup(self)
        for n, button in enumerate((self.all_button, self.favourites_button, self.recent_button)):
            self.show_group.addButton(button, n)
        self.all_button.setChecked(True)
        self.tiles_button = self._tool("tiles", self.tr("Show desktops as tiles"))
        self.list_button = self._tool("list", self.tr("Show desktops as a list"))
        self.view_group = QButtonGroup(self)
        for button in (self.tiles_button, self.list_button):
            button.setCheckable(True)
            self.view_group.addButton(button)
        self.tiles_button.setChecked(True)

        self.model = DesktopListModel()
        self.view = QListView()
        self.view.setAccessibleName(self.tr("Desktops"))
        self.view.setModel(self.model)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setSpacing(4)
        self.view.setUniformItemSizes(True)
        self.view.setFrameShape(QListView.Shape.NoFrame)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._tile = DesktopTile(self._star_clicked, self.view)
        self._row = DesktopRow(self._star_clicked, self.view)
        self.set_view_mode("tiles")
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()

        self.banner = Banner()
        self.starting = StartingPanel()
        self.more_button = QToolButton()
        self.more_button.setText(self.tr("More"))
        self.more_button.setIcon(themed_icon("more"))
        self.more_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_button.setAccessibleName(self.tr("More actions for the selected desktop"))
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.more_menu = QMenu(self.more_button)
        self.more_button.setMenu(self.more_menu)
        self.more_menu.aboutToShow.connect(self._fill_more_menu)
        self.logoff_button = QPushButton(self.tr("Log off"))
        self.logoff_button.setAccessibleName(self.tr("Log off the selected desktop"))
        self.connect_button = QPushButton(self.tr("Connect"))
        self.connect_button.setAccessibleName(self.tr("Connect to the selected desktop"))
        self.connect_button.setDefault(True)
        self.connect_button.setMinimumHeight(34)
        self.connect_button.setMinimumWidth(120)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.user_label)
        top.addSpacing(8)
        for widget in (
            self.refresh_button,
            self.settings_button,
            self.help_button,
            self.about_button,
        ):
            top.addWidget(widget)
        top.addWidget(self.sign_out_button)
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addSpacing(8)
        for button in (self.all_button, self.favourites_button, self.recent_button):
            tools.addWidget(button)
        tools.addSpacing(8)
        tools.addWidget(self.tiles_button)
        tools.addWidget(self.list_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.more_button)
        bottom.addStretch(1)
        bottom.addWidget(self.logoff_button)
        bottom.addWidget(self.connect_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.banner)
        layout.addWidget(self.starting)
        layout.addLayout(bottom)

        order = [
            self.search,
            self.all_button,
            self.favourites_button,
            self.recent_button,
            self.tiles_button,
            self.list_button,
            self.view,
            self.more_button,
            self.logoff_button,
            self.connect_button,
            self.starting.cancel_button,
            self.refresh_button,
            self.settings_button,
            self.help_button,
            self.about_button,
            self.sign_out_button,
        ]
        for first, second in itertools.pairwise(order):
            self.setTabOrder(first, second)

        # activated covers double-click and Enter; doubleClicked too would launch twice.
        self.view.activated.connect(lambda index: self._emit(self.connect_requested, index))
        self.connect_button.clicked.connect(
            lambda: self._emit(self.connect_requested, self.view.currentIndex())
        )
        self.logoff_button.clicked.connect(self._logoff_selected)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.help_button.clicked.connect(self.help_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.about_button.clicked.connect(self.about_requested)
        self.search.textChanged.connect(self._rearrange)
        self.show_group.idClicked.connect(self._show_clicked)
        self.tiles_button.clicked.connect(lambda: self._view_clicked("tiles"))
        self.list_button.clicked.connect(lambda: self._view_clicked("list"))
        self.find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        self.find_shortcut.activated.connect(self._focus_search)
        self.favourite_shortcut = QShortcut(QKeySequence("Ctrl+D"), self)
        self.favourite_shortcut.activated.connect(self._toggle_selected_favourite)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().currentChanged.connect(self._update_buttons)
        self._rearrange()

    def _tool(self, name: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(themed_icon(name))
        button.setIconSize(QSize(20, 20))
        button.setAutoRaise(True)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        return button

    def _choice(self, text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setAccessibleName(name)
        button.setToolTip(name)
        return button

    # -- what is shown ---------------------------------------------------------

    def set_user(self, display_name: str) -> None:
        self.user_label.setText(self.tr("Signed in as %s") % display_name)

    def set_desktops(self, desktops: list[Desktop]) -> None:
        self._all = list(desktops)
        self._rearrange()

    def all_desktops(self) -> list[Desktop]:
        return list(self._all)

    def set_favourites(self, ids: list[str]) -> None:
        self._favourites = list(ids)
        self._rearrange()

    def set_recents(self, ids: list[str]) -> None:
        self._recents = list(ids)
        if self._show is Show.RECENT:
            self._rearrange()

    def set_show(self, show: Show) -> None:
        self._show = show
        {
            Show.ALL: self.all_button,
            Show.FAVOURITES: self.favourites_button,
            Show.RECENT: self.recent_button,
        }[show].setChecked(True)
        self._rearrange()

    def set_view_mode(self, mode: str) -> None:
        """``tiles`` (cards in a grid) or ``list`` (one row each)."""
        if mode == "list":
            self.view.setViewMode(QListView.ViewMode.ListMode)
            self.view.setItemDelegate(self._row)
            self.view.setResizeMode(QListView.ResizeMode.Adjust)
            self.list_button.setChecked(True)
        else:
            self.view.setViewMode(QListView.ViewMode.IconMode)
            self.view.setItemDelegate(self._tile)
            self.view.setResizeMode(QListView.ResizeMode.Adjust)
            self.tiles_button.setChecked(True)
        self.view.setMovement(QListView.Movement.Static)
        self.view.doItemsLayout()

    @property
    def view_mode(self) -> str:
        return "list" if self.view.viewMode() == QListView.ViewMode.ListMode else "tiles"

    def _rearrange(self, *_: object) -> None:
        current = self.selected()
        shown = catalog.arrange(
            self._all,
            query=self.search.text(),
            show=self._show,
            favourites=self._favourites,
            recents=self._recents,
        )
        self.model.set_desktops(shown, frozenset(self._favourites))
        ids = [d.id for d in shown]
        if shown:
            row = ids.index(current.id) if current and current.id in ids else 0
            self.view.setCurrentIndex(self.model.index(row))
        self.view.setVisible(bool(shown))
        self.empty_label.setText(self._empty_text())
        self.empty_label.setVisible(not shown)
        self._update_buttons()

    def _empty_text(self) -> str:
        if not self._all:
            return self.tr("No desktops are assigned to you. Ask your administrator for access.")
        if self.search.text().strip():
            return self.tr("No desktop matches “%s”.") % self.search.text().strip()
        if self._show is Show.FAVOURITES:
            return self.tr(
                "No favourites yet. Click the star on a desktop, or press Ctrl+D, to add it here."
            )
        return self.tr("You have not opened a desktop from this computer yet.")

    def selected(self) -> Desktop | None:
        index = self.view.currentIndex()
        return index.data(DesktopRole) if index.isValid() else None

    def focus_first(self) -> None:
        """The selected desktop (the first, after a sign-in) takes the keyboard:
        Enter opens it, the arrows move."""
        if self.model.rowCount() and self.view.isVisibleTo(self):
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0))
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def select(self, desktop_id: str) -> None:
        for row, desktop in enumerate(self.model.desktops()):
            if desktop.id == desktop_id:
                self.view.setCurrentIndex(self.model.index(row))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.view.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        desktop = self.selected()
        can = catalog.actions(desktop)
        busy = self._busy
        self.connect_button.setEnabled(not busy and can.connect)
        self.connect_button.setText(self.tr("Reconnect") if can.reconnect else self.tr("Connect"))
        self.logoff_button.setEnabled(not busy and can.logoff)
        self.more_button.setEnabled(not busy and desktop is not None)

    # -- intents ----------------------------------------------------------------

    def _show_clicked(self, button_id: int) -> None:
        self._show = (Show.ALL, Show.FAVOURITES, Show.RECENT)[button_id]
        self._rearrange()

    def _view_clicked(self, mode: str) -> None:
        self.set_view_mode(mode)
        self.view_changed.emit(mode)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _star_clicked(self, desktop: Desktop) -> None:
        self.favourite_toggled.emit(desktop)

    def _toggle_selected_favourite(self) -> None:
        desktop = self.selected()
        if desktop is not None:
            self.favourite_toggled.emit(desktop)

    def protocol_menu(self, desktop: Desktop) -> QMenu | None:
        """ "Connect with" actions for a desktop that offers more than one protocol."""
        if len(desktop.protocols) < 2:
            return None
        menu = QMenu(self)
        self._add_protocols(menu, desktop)
        return menu

    def _add_protocols(self, menu: QMenu, desktop: Desktop) -> None:
        for protocol in desktop.protocols:
            label = self.tr("Connect with %s") % protocol.value.upper()
            if protocol is desktop.default_protocol:
                label += self.tr(" (default)")
            action = menu.addAction(label)
            action.triggered.connect(
                lambda _=False, p=protocol: self.connect_with_requested.emit(desktop, p)
            )

    def actions_menu(self, desktop: Desktop, menu: QMenu | None = None) -> QMenu:
        """Everything one can do with ``desktop``: the context menu and the More button."""
        menu = menu if menu is not None else QMenu(self)
        can = catalog.actions(desktop)
        connect = menu.addAction(self.tr("Reconnect") if can.reconnect else self.tr("Connect"))
        connect.setEnabled(can.connect)
        connect.triggered.connect(lambda: self.connect_requested.emit(desktop))
        if can.protocols:
            sub = menu.addMenu(self.tr("Connect with"))
            self._add_protocols(sub, desktop)
        menu.addSeparator()
        logoff = menu.addAction(self.tr("Log off…"))
        logoff.setEnabled(can.logoff)
        logoff.triggered.connect(lambda: self.confirm("logoff", desktop))
        if desktop.allow_restart:
            restart = menu.addAction(self.tr("Restart…"))
            restart.setEnabled(can.restart)
            restart.triggered.connect(lambda: self.confirm("restart", desktop))
        if desktop.allow_reset:
            reset = menu.addAction(self.tr("Reset…"))
            reset.setEnabled(can.reset)
            reset.triggered.connect(lambda: self.confirm("reset", desktop))
        menu.addSeparator()
        starred = desktop.id in self._favourites
        star = menu.addAction(
            icon("star") if not starred else themed_icon("star-outline"),
            self.tr("Remove from favourites") if starred else self.tr("Add to favourites"),
        )
        star.setShortcut(QKeySequence("Ctrl+D"))
        star.triggered.connect(lambda: self.favourite_toggled.emit(desktop))
        return menu

    def _fill_more_menu(self) -> None:
        self.more_menu.clear()
        desktop = self.selected()
        if desktop is not None:
            self.actions_menu(desktop, self.more_menu)

    def _logoff_selected(self) -> None:
        desktop = self.selected()
        if desktop is not None and catalog.actions(desktop).logoff:
            self.confirm("logoff", desktop)

    def confirm(self, action: str, desktop: Desktop) -> QMessageBox:
        """Ask before a log off, restart or reset; the intent is emitted on yes."""
        signal = {
            "logoff": self.logoff_requested,
            "reset": self.reset_requested,
            "restart": self.restart_requested,
        }[action]

        def answered(answer: str | None) -> None:
            if answer == action:
                signal.emit(desktop)

        name = desktop.name
        if action == "logoff":
            box = ask_log_off(self, name=name, on_answer=answered)
        else:
            questions = {
                "reset": (
                    self.tr("Reset %s?"),
                    self.tr(
                        "Resetting turns %s off and on again at once, like pulling the plug. "
                        "Anything not saved on it is lost."
                    ),
                    self.tr("Reset"),
                    QMessageBox.ButtonRole.DestructiveRole,
                ),
                "restart": (
                    self.tr("Restart %s?"),
                    self.tr(
                        "Restarting asks %s to shut down and start again. Programs that are "
                        "open are closed; save your work first."
                    ),
                    self.tr("Restart"),
                    QMessageBox.ButtonRole.AcceptRole,
                ),
            }
            title, text, label, role = questions[action]
            box = ask(
                self,
                title=title % name,
                text=text % name,
                choices=[(action, label, role)],
                default=None,
                on_answer=answered,
            )
        self.confirm_box = box
        return box

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            index = self.view.currentIndex()  # the menu key: the selected desktop
        if not index.isValid() or not self.view.isEnabled():
            return
        menu = self.actions_menu(index.data(DesktopRole))
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _emit(self, signal: SignalInstance, index: QModelIndex) -> None:
        if index.isValid():
            signal.emit(index.data(DesktopRole))


__all__ = [
    "DesktopListModel",
    "DesktopRole",
    "DesktopRow",
    "DesktopTile",
    "DesktopsPage",
    "badge_text",
    "protocols_label",
]
