"""Desktops: search, favourites, recent, tiles or list, auto-launch, reconnect, reset and
restart, a machine that powers on (progress, same key, Cancel), links and
--non-interactive, with a broker replayed in-process (tests/helpers/fake_broker.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QObject, QProcess, Qt, QTimer
from PySide6.QtWidgets import QListView, QMessageBox
from pytestqt.qtbot import QtBot

from launcher.core import startup
from launcher.core.catalog import Show
from launcher.core.launching import Preferences
from launcher.core.models import DesktopState, Protocol
from launcher.core.settings import Layers, UserSettings
from launcher.core.startup import ExitCode
from launcher.ui.mainwindow import MainWindow
from launcher.ui.single import SingleInstance
from tests.gui.conftest import WindowFactory
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop
from tests.helpers.memory_keyring import memory_keyring

PASSWORD = "ann-password"
URL = "https://broker.test"


def three() -> FakeBroker:
    return FakeBroker(
        desktops=[
            desktop("engineering", "vnc", name="Engineering desktop"),
            desktop("lab", "vnc", name="Teaching lab"),
            desktop(
                "win",
                "rdp",
                "vnc",
                name="Windows 11",
                state="connected",
                session="s-win",
                allow_reset=True,
                allow_restart=True,
            ),
        ],
        connections={
            pool: {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}
            for pool in ("engineering", "lab", "win")
        },
    )


def make(
    make_window: WindowFactory,
    broker: FakeBroker,
    tmp_path: Path,
    *,
    layers: Layers | None = None,
    **options: object,
) -> tuple[MainWindow, fake_client.FakeClient]:
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    make_window.client_factory = lambda url: broker.client(url)
    window = make_window(
        viewer.path,
        preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
        settings=layers or Layers(tmp_path / "settings.json"),
        **options,
    )
    return window, viewer


def sign_in(qtbot: QtBot, window: MainWindow) -> None:
    page = window.sign_in_page
    page.server.setText(URL)
    page.username.setText("ann")
    page.password.setText(PASSWORD)
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def shown(window: MainWindow) -> list[str]:
    return [d.id for d in window.desktops_page.model.desktops()]


def test_search_narrows_the_tiles(qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> None:
    window, _ = make(make_window, three(), tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    assert shown(window) == ["engineering", "lab", "win"]
    qtbot.keyClicks(page.search, "win")
    assert shown(window) == ["win"]
    assert page.selected() is not None
    assert page.selected().id == "win"  # type: ignore[union-attr]
    page.search.setText("rdp")
    assert shown(window) == ["win"]
    page.search.setText("nothing like it")
    assert shown(window) == []
    assert page.empty_label.isVisibleTo(page)
    assert page.empty_label.text() == "No desktop matches “nothing like it”."
    assert not page.connect_button.isEnabled()
    page.search.clear()
    assert shown(window) == ["engineering", "lab", "win"]


def test_favourites_are_starred_first_and_kept(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    settings_path = tmp_path / "settings.json"
    window, _ = make(make_window, three(), tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    page.select("lab")
    qtbot.keyClick(page.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert shown(window) == ["lab", "engineering", "win"]
    qtbot.mouseClick(page.favourites_button, Qt.MouseButton.LeftButton)
    assert shown(window) == ["lab"]
    assert Layers(settings_path).effective().favourites == {URL: ["lab"]}

    # The star on the tile toggles it too.
    page.set_show(Show.ALL)
    rect = page.view.visualRect(page.model.index(0))
    star = page._tile.star_rect(rect).center()
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=star)
    assert Layers(settings_path).effective().favourites == {}
    assert shown(window) == ["engineering", "lab", "win"]


def test_recent_lists_what_was_opened(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, three(), tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    qtbot.mouseClick(page.recent_button, Qt.MouseButton.LeftButton)
    assert shown(window) == []
    assert "not opened a desktop" in page.empty_label.text()
    page.set_show(Show.ALL)
    page.select("lab")
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.recent_button, Qt.MouseButton.LeftButton)
    assert shown(window) == ["lab"]
    assert Layers(tmp_path / "settings.json").effective().recents == {URL: ["lab"]}
    window.stop_clients()


def test_tiles_or_a_list_as_the_user_chooses(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, three(), tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    assert page.view.viewMode() == QListView.ViewMode.IconMode
    qtbot.mouseClick(page.list_button, Qt.MouseButton.LeftButton)
    assert page.view.viewMode() == QListView.ViewMode.ListMode
    assert page.view_mode == "list"
    assert Layers(tmp_path / "settings.json").effective().view == "list"
    again, _ = make(
        make_window, three(), tmp_path / "again", layers=Layers(tmp_path / "settings.json")
    )
    assert again.desktops_page.view_mode == "list"


def test_one_desktop_opens_at_once_when_the_setting_is_on(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
    )
    layers = Layers(tmp_path / "settings.json", user=UserSettings(auto_launch=True))
    window, viewer = make(make_window, broker, tmp_path, layers=layers)
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        sign_in(qtbot, window)
    assert viewer.recorded()["argv"][-1] == "10.0.0.5::5901"
    window.stop_clients()


@pytest.mark.parametrize("auto_launch", [False, True], ids=["setting off", "setting on"])
def test_without_the_setting_nothing_opens_by_itself(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, auto_launch: bool
) -> None:
    """The window decides when it first shows the list, before its event loop runs on:
    with the setting on, the launch is under way as sign_in() returns (which proves
    the moment), so with it off, nothing under way then means nothing opens."""
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
    )
    layers = Layers(tmp_path / "settings.json", user=UserSettings(auto_launch=auto_launch))
    window, viewer = make(make_window, broker, tmp_path, layers=layers)
    sign_in(qtbot, window)
    page = window.desktops_page
    connecting = page.banner.text().startswith("Connecting to Lab")
    assert (connecting, page.view.isEnabled()) == (auto_launch, not auto_launch)
    if auto_launch:
        with qtbot.waitSignal(window.client_started, timeout=10_000):
            pass  # the event loop has not run since: it cannot have come yet
        assert viewer.recorded()["argv"][-1] == "10.0.0.5::5901"
        window.stop_clients()
    else:
        QCoreApplication.processEvents()
        assert not any(p.endswith("/launch") for p in broker.paths())
        assert page.connect_button.isEnabled()


def test_reconnect_reset_and_restart(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = three()
    window, _ = make(make_window, broker, tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    page.select("win")
    assert page.connect_button.text() == "Reconnect"
    assert page.logoff_button.isEnabled()
    [win] = [d for d in page.all_desktops() if d.id == "win"]
    menu = page.actions_menu(win)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels == [
        "Reconnect",
        "Connect with",
        "Log off…",
        "Restart…",
        "Reset…",
        "Add to favourites",
    ]
    [restart] = [a for a in menu.actions() if a.text() == "Restart…"]
    restart.trigger()
    box = page.confirm_box
    assert box is not None
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert "/api/v1/sessions/s-win/restart" not in broker.paths()

    page.confirm("reset", win)
    box = page.confirm_box
    assert box is not None
    [yes] = [b for b in box.buttons() if b.text() == "Reset"]
    with qtbot.waitSignal(window.machine_action_done, timeout=10_000) as done:
        yes.click()
    assert done.args[1] == "reset"
    assert "/api/v1/sessions/s-win/reset" in broker.paths()
    assert page.banner.text() == "Windows 11 was reset. Connect to it again in a minute."

    # A desktop without the flags offers neither.
    [eng] = [d for d in page.all_desktops() if d.id == "engineering"]
    texts = [a.text() for a in page.actions_menu(eng).actions()]
    assert "Reset…" not in texts
    assert "Restart…" not in texts

    qtbot.waitUntil(page.connect_button.isEnabled, timeout=10_000)  # the list came back
    # Reconnect with VNC, from the menu (the fake viewer is a VNC viewer).
    menu = page.actions_menu(win)
    [connect_with] = [a for a in menu.actions() if a.text() == "Connect with"]
    sub = connect_with.menu()
    assert [a.text() for a in sub.actions()] == [
        "Connect with RDP (default)",
        "Connect with VNC",
    ]
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        sub.actions()[1].trigger()
    launches = [r.body for r in broker.requests if r.path == "/api/v1/desktops/win/launch"]
    assert launches == [{"protocol": "vnc"}]
    window.stop_clients()


def test_a_machine_powering_on_shows_progress_and_is_asked_again_with_the_same_key(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        starting={"lab": 2},
        retry_after=1,
    )
    window, viewer = make(make_window, broker, tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    with qtbot.waitSignal(window.starting, timeout=10_000) as starting:
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    assert starting.args[1] == 1
    assert page.starting.isVisibleTo(page)
    assert page.starting.bar.maximum() == 0  # indeterminate
    assert "Lab" in page.starting.title.text()
    assert page.starting.countdown.text() == "Checking again in 1 s"
    with qtbot.waitSignal(window.client_started, timeout=15_000):
        pass
    assert not page.starting.isVisibleTo(page)
    keys = [r.idempotency_key for r in broker.requests if r.path.endswith("/launch")]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert keys[0]
    assert viewer.recorded()["argv"][-1] == "10.0.0.5::5901"
    window.stop_clients()


def active_timers(owner: QObject) -> int:
    return sum(timer.isActive() for timer in owner.findChildren(QTimer))


def test_cancel_stops_asking(qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        starting={"lab": 1000},
        retry_after=1,
    )
    window, viewer = make(make_window, broker, tmp_path)
    sign_in(qtbot, window)
    page = window.desktops_page
    with qtbot.waitSignal(window.starting, timeout=10_000):
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    # The next try comes from the waiter's countdown on a timer; none other asks again.
    waiter = window.waiter
    assert active_timers(waiter) == 1
    attempt = waiter.current
    assert attempt is not None
    with qtbot.waitSignal(window.start_cancelled, timeout=5_000):
        qtbot.mouseClick(page.starting.cancel_button, Qt.MouseButton.LeftButton)
    assert not page.starting.isVisibleTo(page)
    assert page.banner.text().startswith("Stopped waiting for Lab.")
    # Nothing left to ask again: the countdown is stopped and forgotten, and the
    # attempt is cancelled, so even a launch still on its way would start no client.
    assert active_timers(waiter) == 0
    assert waiter.current is None
    assert attempt.cancelled.is_set()
    assert broker.paths().count("/api/v1/desktops/lab/launch") == 1
    qtbot.waitUntil(page.connect_button.isEnabled, timeout=10_000)  # the list came back
    assert broker.paths().count("/api/v1/desktops/lab/launch") == 1
    assert not viewer.record.exists()


def test_a_machine_that_never_starts_is_given_up(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        starting={"lab": 1000},
        retry_after=1,
    )
    window, _ = make(make_window, broker, tmp_path, start_wait_limit=1.5)
    sign_in(qtbot, window)
    page = window.desktops_page
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.banner.kind_shown == "error", timeout=10_000)
    assert page.banner.text().startswith("Lab did not start in time.")
    assert not page.starting.isVisibleTo(page)


def test_a_link_signs_in_with_the_remembered_password_and_opens_the_desktop(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    with memory_keyring() as keychain:
        keychain.set_password("rubicon:" + URL, "ann", PASSWORD)
        layers = Layers(tmp_path / "settings.json", user=UserSettings(remember_password=True))
        broker = three()
        window, _ = make(make_window, broker, tmp_path, layers=layers)
        request = startup.request("rubicon://broker.test/lab?protocol=vnc&user=ann")
        with qtbot.waitSignal(window.client_started, timeout=15_000) as started:
            window.open_request(request)
    assert started.args[0].desktop.id == "lab"
    launches = [r.body for r in broker.requests if r.path.endswith("/launch")]
    assert launches == [{"protocol": "vnc"}]
    window.stop_clients()


def test_a_link_while_signed_in_opens_the_desktop(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, three(), tmp_path)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.client_started, timeout=10_000) as started:
        window.open_request(startup.request("rubicon://broker.test/engineering"))
    assert started.args[0].desktop.id == "engineering"
    window.open_request(startup.request("rubicon://broker.test/nope"))
    assert "There is no desktop “nope”" in window.desktops_page.banner.text()
    window.open_request(startup.request("rubicon://other.test/lab"))
    assert "The link is for the broker https://other.test" in (window.desktops_page.banner.text())
    window.stop_clients()


def test_a_link_without_a_remembered_password_waits_for_the_user(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, three(), tmp_path)
    with qtbot.waitSignal(window.password_recalled, timeout=5_000) as recalled:
        window.open_request(startup.request("rubicon://broker.test/lab?user=ann"))
    assert recalled.args == [False]
    page = window.sign_in_page
    assert (page.server.text(), page.username.text(), page.password.text()) == (URL, "ann", "")
    page.password.setText(PASSWORD)
    with qtbot.waitSignal(window.client_started, timeout=10_000) as started:
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert started.args[0].desktop.id == "lab"  # carried out after sign-in
    window.stop_clients()


FORWARD = """
import sys
from PySide6.QtCore import QCoreApplication
from launcher.ui.single import SingleInstance
app = QCoreApplication([])
sys.exit(0 if SingleInstance(sys.argv[1]).forward(sys.argv[2].encode() + b"\\n") else 1)
"""


def test_a_second_start_hands_its_link_to_the_first(qtbot: QtBot, tmp_path: Path) -> None:
    name = str(tmp_path / "rubicon.socket")
    first = SingleInstance(name)
    assert first.listen()
    message = startup.encode(startup.request("rubicon://broker.test/lab?user=ann")).strip()
    second = QProcess()
    try:
        with qtbot.waitSignal(first.received, timeout=20_000) as received:
            second.start(sys.executable, ["-c", FORWARD, name, message.decode()])
        assert second.waitForFinished(20_000)
        assert second.exitCode() == 0  # the first one answered "ok"
        assert startup.decode(received.args[0]).desktop == "lab"
    finally:
        if second.state() != QProcess.ProcessState.NotRunning:
            second.kill()
            second.waitForFinished(5_000)
        first.close()
    assert not SingleInstance(name).forward(b"{}\n", timeout_ms=500)  # nobody listens


def test_a_stale_socket_is_taken_over(tmp_path: Path) -> None:
    name = str(tmp_path / "rubicon.socket")
    (tmp_path / "rubicon.socket").write_text("left by a crash")
    instance = SingleInstance(name)
    assert instance.listen()
    instance.close()


# -- --non-interactive ------------------------------------------------------------


def test_non_interactive_without_a_remembered_password_fails_with_exit_code_3(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, three(), tmp_path, interactive=False)
    with qtbot.waitSignal(window.run_finished, timeout=5_000) as finished:
        window.open_request(
            startup.request("rubicon://broker.test/lab?user=ann", non_interactive=True)
        )
    code, message = finished.args
    assert code == ExitCode.SIGN_IN
    assert "No password is remembered for ann" in message


@pytest.mark.parametrize(
    ("broker_options", "code", "words"),
    [
        ({"otp": {"ann": "123456"}}, ExitCode.SIGN_IN, "one-time code"),
        ({"users": {"ann": "other"}}, ExitCode.SIGN_IN, "username or password is wrong"),
    ],
)
def test_non_interactive_sign_in_problems_end_the_run(
    qtbot: QtBot,
    make_window: WindowFactory,
    tmp_path: Path,
    broker_options: dict[str, object],
    code: ExitCode,
    words: str,
) -> None:
    broker = three()
    for key, value in broker_options.items():
        setattr(broker, key, value)
    with memory_keyring() as keychain:
        keychain.set_password("rubicon:" + URL, "ann", PASSWORD)
        layers = Layers(tmp_path / "settings.json", user=UserSettings(remember_password=True))
        window, _ = make(make_window, broker, tmp_path, layers=layers, interactive=False)
        with qtbot.waitSignal(window.run_finished, timeout=10_000) as finished:
            window.open_request(
                startup.request("rubicon://broker.test/lab?user=ann", non_interactive=True)
            )
    assert finished.args[0] == code
    assert words in finished.args[1]
    assert window.trust_dialog is None
    assert window.settings_dialog is None


def test_non_interactive_opens_the_desktop_and_ends_with_it(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = three()
    viewer = fake_client.make(tmp_path / "quick", exit_code=0)
    with memory_keyring() as keychain:
        keychain.set_password("rubicon:" + URL, "ann", PASSWORD)
        make_window.client_factory = lambda url: broker.client(url)
        window = make_window(
            viewer.path,
            preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
            settings=Layers(tmp_path / "s.json", user=UserSettings(remember_password=True)),
            interactive=False,
        )
        with qtbot.waitSignal(window.run_finished, timeout=15_000) as finished:
            window.open_request(
                startup.request("rubicon://broker.test/lab?user=ann", non_interactive=True)
            )
    assert finished.args == [ExitCode.OK, ""]
    assert viewer.recorded()["argv"][-1] == "10.0.0.5::5901"


def test_non_interactive_missing_desktop_is_exit_code_4(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    with memory_keyring() as keychain:
        keychain.set_password("rubicon:" + URL, "ann", PASSWORD)
        layers = Layers(tmp_path / "settings.json", user=UserSettings(remember_password=True))
        window, _ = make(make_window, three(), tmp_path, layers=layers, interactive=False)
        with qtbot.waitSignal(window.run_finished, timeout=10_000) as finished:
            window.open_request(
                startup.request("rubicon://broker.test/gone?user=ann", non_interactive=True)
            )
    assert finished.args[0] == ExitCode.LAUNCH


def test_the_state_badges_read_in_plain_words(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[
            desktop(state, "vnc", state=state)
            for state in ("available", "connected", "disconnected", "starting", "maintenance")
        ],
        connections={},
    )
    window, _ = make(make_window, broker, tmp_path)
    sign_in(qtbot, window)
    model = window.desktops_page.model
    texts = [
        model.data(model.index(row), Qt.ItemDataRole.AccessibleTextRole)
        for row in range(model.rowCount())
    ]
    assert texts == [
        "Available, VNC, Available",
        "Connected, VNC, Connected",
        "Disconnected, VNC, Disconnected",
        "Starting, VNC, Starting",
        "Maintenance, VNC, Maintenance",
    ]
    states = [d.state for d in model.desktops()]
    assert states[-1] is DesktopState.MAINTENANCE
    window.desktops_page.select("maintenance")
    assert not window.desktops_page.connect_button.isEnabled()
    QCoreApplication.processEvents()
    assert Protocol.VNC in model.desktops()[0].protocols
