"""Single sign-on, heartbeats, disconnect and log off, and the protocol choice,
with a broker replayed in-process (the bundled one serves VNC pools only and
no heartbeat route yet; tests/helpers/fake_broker.py answers as docs/api.md says)."""

from __future__ import annotations

import io
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from launcher.core import log
from launcher.core.launching import Preferences
from launcher.core.models import Protocol
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory, answer
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop

DATA = Path(__file__).parents[1] / "data"
V2_TEXT = (DATA / "xfreerdp" / "version-2.txt").read_text().strip()
PASSWORD = "Sso pässword:1"


def rdp_broker(**extra: object) -> FakeBroker:
    return FakeBroker(
        desktops=[desktop("win", "rdp", "vnc", name="Windows 11")],
        connections={
            "win": {
                "protocol": "rdp",
                "host": "10.0.0.8",
                "port": 3389,
                "username": "ann",
                "sso": True,
                **extra,
            }
        },
        users={"ann": PASSWORD},
    )


@pytest.fixture
def file_log(tmp_path: Path) -> Iterator[Path]:
    """The launcher's log file at debug level, as the app sets it up."""
    root = logging.getLogger("rubicon")
    saved = (list(root.handlers), root.level, root.propagate)
    path = log.setup(level="debug", stream=io.StringIO(), directory=tmp_path / "logs")
    assert path is not None
    yield path
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:], root.level, root.propagate = saved


def sign_in(qtbot: QtBot, window: MainWindow, password: str = PASSWORD) -> None:
    page = window.sign_in_page
    page.server.setText("https://broker.test")
    page.username.setText("ann")
    page.password.setText(password)
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def make(
    make_window: WindowFactory, broker: FakeBroker, client: Path, key: str, **options: object
) -> MainWindow:
    make_window.client_factory = lambda url: broker.client(url)
    prefs = Preferences(clients={key: str(client)})
    return make_window(client, preferences=prefs, single_sign_on=True, **options)


def test_the_sign_in_password_reaches_the_rdp_client_on_stdin_only(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, file_log: Path
) -> None:
    broker = rdp_broker()
    client = fake_client.make(tmp_path / "bin", name="xfreerdp", version=V2_TEXT, hang=True)
    window = make(make_window, broker, client.path, "xfreerdp")
    sign_in(qtbot, window)
    assert window.holds_password  # an RDP desktop is listed
    with qtbot.waitSignal(window.client_started, timeout=10_000) as started:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    recorded = client.recorded()
    assert recorded["stdin"] == f"{PASSWORD}\n".encode()
    assert recorded["argv"][-1] == "/from-stdin:force"
    pid = started.args[0].client.pid
    for where in (f"/proc/{pid}/cmdline", f"/proc/{pid}/environ"):
        assert PASSWORD.encode() not in Path(where).read_bytes()
    held = window.session.sso
    assert held is not None

    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.session_left, timeout=10_000):
        answer(window.question_box, "Disconnect")  # the RDP desktop is open
    assert not window.holds_password
    assert held.cleared
    window.stop_clients()
    # Not in the log file, nor in any file the window wrote.
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith(".record.json"):
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert "fake-token" not in file_log.read_text()


def test_no_rdp_desktop_means_the_password_is_not_kept(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "h", "port": 5901}},
        users={"ann": PASSWORD},
    )
    window = make(make_window, broker, tmp_path / "vncviewer", "vncviewer")
    sign_in(qtbot, window)
    assert not window.holds_password


def test_without_single_sign_on_the_password_is_never_kept(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    make_window.client_factory = lambda url: rdp_broker().client(url)
    window = make_window(tmp_path / "xfreerdp", single_sign_on=False)
    sign_in(qtbot, window)
    assert not window.holds_password


def test_heartbeats_while_running_then_disconnect_when_the_viewer_ends(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={
            "lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901, "password": "pw"}
        },
        users={"ann": PASSWORD},
    )
    viewer = fake_client.make(
        tmp_path / "bin", replay=DATA / "vncviewer" / "connected.txt", hang=True
    )
    window = make(make_window, broker, viewer.path, "vncviewer", heartbeat_interval=0.05)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.client_connected, timeout=10_000) as connected:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert window.desktops_page.banner.text() == "Lab is connected."
    assert window.desktops_page.banner.kind_shown == "ok"
    qtbot.waitUntil(lambda: broker.paths().count("/api/v1/sessions/s-lab/heartbeat") >= 3)

    pid = connected.args[0].client.pid
    with qtbot.waitSignal(window.session_reported, timeout=10_000) as reported:
        os.kill(pid, signal.SIGTERM)  # ended outside Rubicon, as a desktop session might
    assert reported.args == ["s-lab", "disconnect"]
    beats = broker.paths().count("/api/v1/sessions/s-lab/heartbeat")
    qtbot.wait(200)
    assert broker.paths().count("/api/v1/sessions/s-lab/heartbeat") == beats  # stopped
    assert "/api/v1/sessions/s-lab/logoff" not in broker.paths()
    assert window.desktops_page.banner.text().startswith("Lab: The VNC viewer was ended")


def test_a_logoff_inside_the_desktop_is_passed_on(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = rdp_broker()
    client = fake_client.make(tmp_path / "bin", name="xfreerdp", version=V2_TEXT, exit_code=2)
    window = make(make_window, broker, client.path, "xfreerdp")
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.session_reported, timeout=15_000) as reported:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert reported.args == ["s-win", "logoff"]
    assert "/api/v1/sessions/s-win/disconnect" not in broker.paths()
    banner = window.desktops_page.banner
    assert banner.text() == "Windows 11: The session was logged off on the desktop."
    assert banner.kind_shown == "info"


def test_a_broker_without_heartbeats_is_no_trouble(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        users={"ann": PASSWORD},
        session_routes=404,
    )
    viewer = fake_client.make(tmp_path / "bin", exit_code=0)
    window = make(make_window, broker, viewer.path, "vncviewer", heartbeat_interval=0.05)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.session_reported, timeout=10_000) as reported:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert reported.args == ["s-lab", "disconnect"]  # tried; 404 is taken calmly
    assert window.desktops_page.banner.text() == (
        "Lab was closed. Your desktop stays yours until you log off."
    )


def test_connect_with_another_protocol_from_the_menu(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = rdp_broker()
    broker.connections["win"] = {"protocol": "vnc", "host": "10.0.0.8", "port": 5901}
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    window = make(make_window, broker, viewer.path, "vncviewer")
    sign_in(qtbot, window)
    [win] = window.desktops_page.model.desktops()
    menu = window.desktops_page.protocol_menu(win)
    assert menu is not None
    labels = [a.text() for a in menu.actions()]
    assert labels == ["Connect with RDP (default)", "Connect with VNC"]
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        menu.actions()[1].trigger()
    launches = [r.body for r in broker.requests if r.path.endswith("/launch")]
    assert launches == [{"protocol": Protocol.VNC.value}]
    assert viewer.recorded()["argv"][-1] == "10.0.0.8::5901"
    window.stop_clients()
