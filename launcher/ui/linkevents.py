"""Links the system hands a running Rubicon as an event rather than in argv.

On macOS a click on a rubicon:// link (in a browser, a mail, a web portal)
starts Rubicon if it is not running, and then sends the application a
``QFileOpenEvent`` holding the URL; the link is never in argv, and no second
process starts to hand it over. :class:`LinkEvents` watches the application
for those events and says what each link asks for, checked exactly as a link
on the command line is (``startup.request``).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QFileOpenEvent

from launcher.core import log, startup, uri
from launcher.ui import coretext

__all__ = ["LinkEvents"]


class LinkEvents(QObject):
    """Turns the application's rubicon:// open events into start requests."""

    requested = Signal(object)  # startup.StartRequest
    refused = Signal(str)  # why the link cannot be followed, in the user's language

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        url = event.url()
        if url.scheme().lower() != uri.SCHEME:
            return False  # a file, or another program's link: not ours to take
        if not url.isValid():  # Qt could not read it as an address (a port past 65535, ...)
            log.app.warning("refused a link from the system: %s", url.errorString())
            self.refused.emit(self.tr("The rubicon:// link is not a valid address."))
            return True
        try:
            request = startup.request(url.toString())
        except startup.StartError as e:
            log.app.warning("refused a link from the system: %s", e)
            self.refused.emit(coretext.of_error(e))
            return True
        log.app.info("the system handed over a link")
        self.requested.emit(request)
        return True
