"""Know when a window's first frame is on screen, to do then what can wait.

``FirstFrame(window).painted`` is emitted once, after the window was first
exposed and that frame painted and flushed (a zero timer after the expose
event, which Qt handles by painting): ``--exit-when-shown`` reports that
moment. ``settled`` follows it at once, or comes after ``at_latest_ms`` if
the window is not exposed by then (started minimised, say, or on a display
that never shows it): the start's deferred work (the log file, the keychain,
a link) hangs on it, so it is never put off for long. Slots run in the order
they were connected; each signal is emitted once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QWidget

# A window not on screen by then gets its deferred work done anyway.
AT_LATEST_MS = 2000


class FirstFrame(QObject):
    """Watches ``widget``'s first frame; make it right after ``show()``."""

    painted = Signal()
    settled = Signal()

    def __init__(self, widget: QWidget, *, at_latest_ms: int = AT_LATEST_MS) -> None:
        super().__init__(widget)
        self._painted = False
        self._settled = False
        handle = widget.windowHandle()
        if handle is None:
            raise ValueError("show the window before waiting for its first frame")
        if handle.isExposed():
            QTimer.singleShot(0, self, self._paint_done)
        else:
            handle.installEventFilter(self)
        QTimer.singleShot(at_latest_ms, self, self._settle)

    @property
    def is_painted(self) -> bool:
        return self._painted

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        exposed = isinstance(watched, QWindow) and watched.isExposed()
        if event.type() == QEvent.Type.Expose and exposed:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._paint_done)  # after the frame is painted and flushed
        return False

    def _paint_done(self) -> None:
        if not self._painted:
            self._painted = True
            self.painted.emit()
        self._settle()

    def _settle(self) -> None:
        if not self._settled:
            self._settled = True
            self.settled.emit()
