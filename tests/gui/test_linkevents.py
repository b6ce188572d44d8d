"""A rubicon:// link that macOS hands the running application as a QFileOpenEvent.

pytest-qt's application is Rubicon's own (``qapp_cls`` in tests/conftest.py):
the events are posted to it as the system posts them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QFileOpenEvent
from pytestqt.qtbot import QtBot

from launcher.core.settings import Layers
from launcher.core.startup import StartRequest
from launcher.ui.linkevents import Application
from tests.gui.conftest import WindowFactory


def post(app: Application, url: str) -> None:
    QCoreApplication.postEvent(app, QFileOpenEvent(QUrl(url)))


def test_a_link_event_becomes_the_request_of_that_link(qtbot: QtBot, qapp: Application) -> None:
    with qtbot.waitSignal(qapp.links.requested, timeout=5_000) as got:
        post(qapp, "rubicon://broker.example.com/lab?user=ann&protocol=vnc")

    request = got.args[0]
    assert isinstance(request, StartRequest)
    assert (request.server, request.desktop, request.user) == (
        "https://broker.example.com",
        "lab",
        "ann",
    )
    assert request.protocol is not None
    assert request.protocol.value == "vnc"


def test_a_bad_link_is_refused_with_the_reason(qtbot: QtBot, qapp: Application) -> None:
    requested: list[object] = []
    qapp.links.requested.connect(requested.append)
    try:
        with qtbot.waitSignal(qapp.links.refused, timeout=5_000) as got:
            post(qapp, "rubicon://broker.example.com/lab?colour=red")
        assert "colour" in got.args[0]
        with qtbot.waitSignal(qapp.links.refused, timeout=5_000) as got:
            post(qapp, "rubicon://broker.example.com:99999/lab")
        assert got.args[0] == "The rubicon:// link is not a valid address."
        assert requested == []
    finally:
        qapp.links.requested.disconnect(requested.append)


def test_a_file_or_another_scheme_is_left_alone(qtbot: QtBot, qapp: Application) -> None:
    said: list[object] = []
    qapp.links.requested.connect(said.append)
    qapp.links.refused.connect(said.append)
    try:
        post(qapp, "file:///tmp/report.pdf")
        post(qapp, "https://broker.example.com/lab")
        qtbot.wait(200)
        assert said == []
    finally:
        qapp.links.requested.disconnect(said.append)
        qapp.links.refused.disconnect(said.append)


def test_the_window_fills_in_a_clicked_link_and_shows_a_bad_one(
    qtbot: QtBot, qapp: Application, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window(tmp_path / "vncviewer", settings=Layers(tmp_path / "settings.json"))
    qapp.links.requested.connect(window.open_request)
    qapp.links.refused.connect(window.refuse_link)
    try:
        post(qapp, "rubicon://broker.example.com/lab?user=ann")
        page = window.sign_in_page
        qtbot.waitUntil(lambda: page.server.text() == "https://broker.example.com", timeout=5_000)
        assert page.username.text() == "ann"

        post(qapp, "rubicon://broker.example.com/lab?colour=red")
        qtbot.waitUntil(lambda: "colour" in page.banner.text(), timeout=5_000)
    finally:
        qapp.links.requested.disconnect(window.open_request)
        qapp.links.refused.disconnect(window.refuse_link)
