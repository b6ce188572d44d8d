"""A client's window named after the desktop and brought to the front (issue 10 #21).

Each client is given the desktop's name by its own title option, as exact
argv (FreeRDP ``/t:``, remote-viewer ``title=`` in its .vv file: their tests
are in rdp/test_freerdp.py and test_spice.py). TigerVNC's vncviewer has none, so its
plan says ``retitle`` and the window is named through xprop once connected;
xdotool brings a running client's window to the front. Those argv are exact
here too.
"""

from __future__ import annotations

import pytest

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import LaunchPlan, spice, vnc, window
from launcher.core.protocols.rdp import RdpOptions, freerdp

XDOTOOL, XPROP = "/usr/bin/xdotool", "/usr/bin/xprop"


def test_vncviewer_has_no_title_option_so_its_plan_names_the_window_once_connected() -> None:
    plan = vnc.plan(
        ConnectionInfo(Protocol.VNC, "10.0.0.7", 5901, password="pw123456"),
        client="/usr/bin/vncviewer",
        title="Engineering desktop",
    )
    assert plan.argv == ("/usr/bin/vncviewer", "-passwd", "/dev/stdin", "10.0.0.7::5901")
    assert (plan.title, plan.retitle) == ("Engineering desktop", True)
    untitled = vnc.plan(ConnectionInfo(Protocol.VNC, "10.0.0.7", 5901), client="/usr/bin/vncviewer")
    assert not untitled.retitle


def test_clients_with_a_title_option_take_the_name_on_their_command_line() -> None:
    xfreerdp = freerdp.plan(
        ConnectionInfo(Protocol.RDP, "10.0.0.9", 3389, username="ann"),
        client="/usr/bin/xfreerdp",
        version=(2, 11, 7),
        options=RdpOptions(title="Windows 11"),
    )
    assert "/t:Windows 11" in xfreerdp.argv
    assert not xfreerdp.retitle
    viewer = spice.plan(
        ConnectionInfo(Protocol.SPICE, "10.0.0.9", 5900),
        client="/usr/bin/remote-viewer",
        title="Lab 2",
    )
    assert viewer.stdin is not None
    assert b"\ntitle=Lab 2\n" in viewer.stdin
    assert not viewer.retitle


def test_a_plan_cannot_ask_to_name_a_window_without_a_name() -> None:
    with pytest.raises(ValueError, match="retitle needs a title"):
        LaunchPlan(argv=("vncviewer",), retitle=True)


def test_x11_argv_exactly() -> None:
    assert window.find_windows(XDOTOOL, 4242) == (XDOTOOL, "search", "--pid", "4242")
    assert window.activate(XDOTOOL, "2097157") == (XDOTOOL, "windowactivate", "2097157")
    assert window.raise_and_focus(XDOTOOL, "2097157") == (
        XDOTOOL,
        "windowraise",
        "2097157",
        "windowfocus",
        "2097157",
    )
    assert window.set_title(XPROP, "2097157", "Büro – Lab 1") == (
        (
            XPROP,
            "-id",
            "2097157",
            "-f",
            "_NET_WM_NAME",
            "8u",
            "-set",
            "_NET_WM_NAME",
            "Büro – Lab 1",
        ),
        (XPROP, "-id", "2097157", "-f", "WM_NAME", "8t", "-set", "WM_NAME", "Büro – Lab 1"),
    )


def test_what_xdotool_prints_is_read_as_window_ids_only() -> None:
    assert window.window_ids("2097157\n2097160\n") == ("2097157", "2097160")
    assert window.window_ids("Defaulting to search window name\n\n12 x\n") == ()


@pytest.mark.parametrize("bad", ["", "0x200005", "-1", "1; rm", "2097157\n"])
def test_anything_but_a_window_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a window id"):
        window.activate(XDOTOOL, bad)


@pytest.mark.parametrize("title", ["", "two\nlines", "tab\there"])
def test_a_title_is_one_line(title: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        window.set_title(XPROP, "1", title)


@pytest.mark.parametrize(
    ("env", "platform", "usable"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),  # XWayland
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "macos", False),
        ({"DISPLAY": ":0"}, "windows", False),
    ],
)
def test_only_an_x_display_on_linux_is_worked_on(
    env: dict[str, str], platform: str, usable: bool
) -> None:
    assert window.usable(env, platform=platform) is usable


def test_no_process_id_no_search() -> None:
    with pytest.raises(ValueError, match="not a process id"):
        window.find_windows(XDOTOOL, 0)
