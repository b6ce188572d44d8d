"""The yardstick for launcher start-up: a bare PySide6 window, nothing else.

    QT_QPA_PLATFORM=offscreen python benchmarks/bare_qt.py

It shows an empty QWidget the size of Rubicon's window and, once the window
is exposed and its first frame painted, prints ``shown <time.monotonic()>``
and quits: the same moment ``rubicon --exit-when-shown`` reports.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication, QWidget


def done() -> None:
    sys.stdout.write(f"shown {time.monotonic():.6f} {time.process_time():.6f}\n")
    sys.stdout.flush()
    QCoreApplication.exit(0)


class Exposed(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        exposed = isinstance(watched, QWindow) and watched.isExposed()
        if event.type() == QEvent.Type.Expose and exposed:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, done)
        return False


def main() -> int:
    app = QApplication(sys.argv[:1])
    window = QWidget()
    window.setWindowTitle("bare")
    window.resize(760, 540)
    window.show()
    handle = window.windowHandle()
    assert handle is not None
    if handle.isExposed():
        QTimer.singleShot(0, done)
    else:
        handle.installEventFilter(Exposed(handle))
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
