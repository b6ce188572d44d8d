"""A rubicon:// link that macOS hands the running application as a QFileOpenEvent.

Rubicon's own application (``linkevents.Application``) runs in a process of
its own here, with the event posted to it as the system posts it; the tests
in this process hand the events to a ``LinkEvents`` as that application does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QFileOpenEvent
from pytestqt.qtbot import QtBot

from launcher.core.settings import Layers
from launcher.core.startup import StartRequest
from launcher.ui.linkevents import LinkEvents
from tests.gui.conftest import WindowFactory

ROOT = Path(__file__).resolve().parents[2]


def opened(url: str) -> QFileOpenEvent:
    return QFileOpenEvent(QUrl(url))


# The application posts itself the event, as macOS does, and reports what its
# links said once the event loop has delivered it.
POSTED = """
import sys
from PySide6.QtCore import QCoreApplication, QTimer, QUrl
from PySide6.QtGui import QFileOpenEvent
from launcher.ui.linkevents import Application

app = Application(["rubicon"])
app.links.requested.connect(lambda r: print("requested", r.server, r.desktop, r.user))
app.links.refused.connect(lambda why: print("refused", why))
for link in sys.argv[1:]:
    QCoreApplication.postEvent(app, QFileOpenEvent(QUrl(link)))
QTimer.singleShot(300, app.quit)
app.exec()
"""


def test_rubicons_application_takes_the_link_events_posted_to_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", POSTED, "rubicon://broker.example.com/lab?user=ann",
         "file:///tmp/report.pdf", "rubicon://broker.example.com/lab?colour=red"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "requested https://broker.example.com lab ann"
    assert lines[1].startswith("refused ")
    assert "colour" in lines[1]
    assert len(lines) == 2  # the file was left to others


def test_a_link_event_becomes_the_request_of_that_link(qtbot: QtBot) -> None:
    links = LinkEvents()
    with qtbot.waitSignal(links.requested, timeout=5_000) as got:
        assert links.take(opened("rubicon://broker.example.com/lab?user=ann&protocol=vnc"))

    request = got.args[0]
    assert isinstance(request, StartRequest)
    assert (request.server, request.desktop, request.user) == (
        "https://broker.example.com",
        "lab",
        "ann",
    )
    assert request.protocol is not None
    assert request.protocol.value == "vnc"


def test_a_bad_link_is_refused_with_the_reason(qtbot: QtBot) -> None:
    links = LinkEvents()
    requested: list[object] = []
    links.requested.connect(requested.append)
    with qtbot.waitSignal(links.refused, timeout=5_000) as got:
        assert links.take(opened("rubicon://broker.example.com/lab?colour=red"))
    assert "colour" in got.args[0]
    with qtbot.waitSignal(links.refused, timeout=5_000) as got:
        assert links.take(opened("rubicon://broker.example.com:99999/lab"))
    assert got.args[0] == "The rubicon:// link is not a valid address."
    assert requested == []


def test_a_file_or_another_scheme_is_left_alone() -> None:
    links = LinkEvents()
    said: list[object] = []
    links.requested.connect(said.append)
    links.refused.connect(said.append)

    assert links.take(opened("file:///tmp/report.pdf")) is False
    assert links.take(opened("https://broker.example.com/lab")) is False
    assert said == []


def test_the_window_fills_in_a_clicked_link_and_shows_a_bad_one(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window(tmp_path / "vncviewer", settings=Layers(tmp_path / "settings.json"))
    links = LinkEvents()
    links.requested.connect(window.open_request)
    links.refused.connect(window.refuse_link)

    links.take(opened("rubicon://broker.example.com/lab?user=ann"))
    page = window.sign_in_page
    qtbot.waitUntil(lambda: page.server.text() == "https://broker.example.com", timeout=5_000)
    assert page.username.text() == "ann"

    links.take(opened("rubicon://broker.example.com/lab?colour=red"))
    qtbot.waitUntil(lambda: "colour" in page.banner.text(), timeout=5_000)
