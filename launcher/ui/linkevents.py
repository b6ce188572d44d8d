"""Links the system hands a running Rubicon as an event rather than in argv.

On macOS a click on a rubicon:// link (in a browser, a mail, a web portal)
starts Rubicon if it is not running, and then sends the application object a
``QFileOpenEvent`` holding the URL; the link is never in argv, and no second
process starts to hand it over. :class:`Application` is Rubicon's
``QApplication``: it gives those events to its :class:`LinkEvents`, which
checks each link exactly as a link on the command line is
(``startup.request``) and says what it asks for.

Not an event filter on the application: a filter written in Python would be
called for every event of every widget, which cost the first frame a fifth
of its time; ``event()`` runs only for events sent to the application itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from launcher.core import log, startup, uri
from launcher.ui import coretext

__all__ = ["Application", "LinkEvents"]


class LinkEvents(QObject):
    """Turns rubicon:// open events into start requests."""

    requested = Signal(object)  # startup.StartRequest
    refused = Signal(str)  # why the link cannot be followed, in the user's language

    def take(self, event: QEvent) -> bool:
        """Whether ``event`` was a rubicon:// link, now requested or refused."""
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


class Application(QApplication):
    """Rubicon's QApplication: the links the system sends it go to ``links``."""

    # Until __init__ has made it: Qt sends the application events while it is built.
    _links: LinkEvents | None = None

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(list(argv))
        self._links = LinkEvents()  # no parent: it lives as long as this object holds it

    @property
    def links(self) -> LinkEvents:
        assert self._links is not None
        return self._links

    def event(self, event: QEvent) -> bool:
        if self._links is not None and self._links.take(event):
            return True
        return super().event(event)
