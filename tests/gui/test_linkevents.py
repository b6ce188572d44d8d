"""A rubicon:// link that macOS hands the running application as a QFileOpenEvent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from launcher.core.settings import Layers
from launcher.core.startup import StartRequest
from launcher.ui.linkevents import LinkEvents
from tests.gui.conftest import WindowFactory


def post(app: QApplication, url: str) -> None:
    QCoreApplication.postEvent(app, QFileOpenEvent(QUrl(url)))


@pytest.fixture
def links(qapp: QApplication) -> Iterator[LinkEvents]:
    watching = LinkEvents(qapp)
    yield watching
    watching.deleteLater()  # and with it the application's event filter


def test_a_link_event_becomes_the_request_of_that_link(
    qtbot: QtBot, qapp: QApplication, links: LinkEvents
) -> None:
    with qtbot.waitSignal(links.requested, timeout=5_000) as got:
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


def test_a_bad_link_is_refused_with_the_reason(
    qtbot: QtBot, qapp: QApplication, links: LinkEvents
) -> None:
    requested: list[object] = []
    links.requested.connect(requested.append)
    with qtbot.waitSignal(links.refused, timeout=5_000) as got:
        post(qapp, "rubicon://broker.example.com/lab?colour=red")
    assert "colour" in got.args[0]
    with qtbot.waitSignal(links.refused, timeout=5_000) as got:
        post(qapp, "rubicon://broker.example.com:99999/lab")
    assert got.args[0] == "The rubicon:// link is not a valid address."
    assert requested == []


def test_a_file_or_another_scheme_is_left_alone(
    qtbot: QtBot, qapp: QApplication, links: LinkEvents
) -> None:
    said: list[object] = []
    links.requested.connect(said.append)
    links.refused.connect(said.append)
    post(qapp, "file:///tmp/report.pdf")
    post(qapp, "https://broker.example.com/lab")
    qtbot.wait(200)
    assert said == []


def test_the_window_fills_in_a_clicked_link_and_shows_a_bad_one(
    qtbot: QtBot,
    qapp: QApplication,
    links: LinkEvents,
    make_window: WindowFactory,
    tmp_path: Path,
) -> None:
    window = make_window(tmp_path / "vncviewer", settings=Layers(tmp_path / "settings.json"))
    links.requested.connect(window.open_request)
    links.refused.connect(window.refuse_link)
    post(qapp, "rubicon://broker.example.com/lab?user=ann")
    page = window.sign_in_page
    qtbot.waitUntil(lambda: page.server.text() == "https://broker.example.com", timeout=5_000)
    assert page.username.text() == "ann"

    post(qapp, "rubicon://broker.example.com/lab?colour=red")
    qtbot.waitUntil(lambda: "colour" in page.banner.text(), timeout=5_000)
