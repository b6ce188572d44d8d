"""What launcher.core says reaches the window in the user's language, by its kind.

A stand-in translator plays a language: it wraps every CoreText source in
« » and says which key it was asked for, so a test sees that the window
translated each sentence (and each name inside one) by its key, and filled
the fields after translating.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTranslator
from pytestqt.qtbot import QtBot

from launcher.core.broker import BrokerUnreachable
from launcher.core.texts import Text
from launcher.ui import coretext
from launcher.ui.controller import describe
from tests.gui.conftest import WindowFactory, sign_in, submit
from tests.helpers.live_broker import LiveBroker


class Guillemets(QTranslator):
    """Translates CoreText into «English», or into ``broken`` for the keys given."""

    def __init__(self, broken: dict[str, str] | None = None) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.broken = broken or {}

    def isEmpty(self) -> bool:  # noqa: N802
        return False

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        if context != coretext.CONTEXT:
            return None  # no translation: Qt keeps the source
        key = disambiguation or ""
        self.asked.append(key)
        return self.broken.get(key, f"«{source}»")


@pytest.fixture
def guillemets(qapp: QCoreApplication) -> Iterator[Guillemets]:
    translator = Guillemets()
    assert QCoreApplication.installTranslator(translator)
    yield translator
    QCoreApplication.removeTranslator(translator)


def test_a_core_text_is_translated_by_its_key_then_filled(guillemets: Guillemets) -> None:
    said = Text("broker.unreachable", "Cannot reach the broker at {url}.", url="https://b.test")
    assert str(said) == "Cannot reach the broker at https://b.test."  # English for logs
    assert coretext.translate(said) == "«Cannot reach the broker at https://b.test.»"
    assert guillemets.asked == ["broker.unreachable"]
    assert coretext.translate("what the broker wrote") == "what the broker wrote"


def test_a_translation_that_does_not_fit_its_fields_is_not_used(qapp: QCoreApplication) -> None:
    translator = Guillemets(broken={"broker.unreachable": "Kein Broker unter {adresse}."})
    QCoreApplication.installTranslator(translator)
    try:
        said = Text("broker.unreachable", "Cannot reach the broker at {url}.", url="https://b.test")
        assert coretext.translate(said) == "Cannot reach the broker at https://b.test."
    finally:
        QCoreApplication.removeTranslator(translator)


def test_an_error_is_described_with_its_message_and_hint_translated(
    guillemets: Guillemets,
) -> None:
    error = BrokerUnreachable(
        Text("broker.timeout", "The broker at {url} did not answer in time.", url="https://b"),
        hint=Text("broker.timeout.hint", "Try again shortly."),
    )
    assert str(error) == "The broker at https://b did not answer in time. Try again shortly."
    assert (
        describe(error) == "«The broker at https://b did not answer in time.» «Try again shortly.»"
    )


def test_the_sign_in_page_shows_a_broker_that_is_down_in_the_users_language(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, guillemets: Guillemets
) -> None:
    window = make_window(tmp_path / "vncviewer")
    page = window.sign_in_page
    submit(qtbot, page, "http://127.0.0.1:9")  # discard port: nothing listens
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    assert page.banner.text() == (
        "«Cannot reach the broker at http://127.0.0.1:9.» "
        "«Check the server address and your network connection.»"
    )
    assert {"broker.unreachable", "broker.unreachable.hint"} <= set(guillemets.asked)


def test_a_missing_client_is_named_in_the_users_language(
    qtbot: QtBot,
    make_window: WindowFactory,
    broker: LiveBroker,
    tmp_path: Path,
    guillemets: Guillemets,
) -> None:
    missing = tmp_path / "no" / "vncviewer"
    window = make_window(missing)
    sign_in(qtbot, window, broker.url)
    banner = window.desktops_page.banner
    qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "«" in banner.text(), timeout=10_000)
    # The client's name is a text of its own inside the sentence: translated too.
    assert banner.text().startswith(f"««The VNC viewer» is not installed at {missing}.» «")
    assert {"client.not_installed_at", "vnc.viewer"} <= set(guillemets.asked)
