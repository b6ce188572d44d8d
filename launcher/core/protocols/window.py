"""A client's window on X11: bring it to the front, give it the desktop's name. Pure.

Rubicon does not own the native client's window, so it asks the X server
through two small programs, with the argv built here and run by
``supervisor.RunningClient`` (off the GUI thread):

* ``xdotool`` finds the client's windows by its process id (``_NET_WM_PID``)
  and brings one to the front: ``windowactivate`` under a window manager that
  follows EWMH (it switches to the window's workspace, restores it if it was
  minimised, raises it and gives it the keyboard); where the window manager
  refuses that, or there is none, ``windowraise`` and ``windowfocus``.
* ``xprop`` names the window (``_NET_WM_NAME`` as UTF-8 and ``WM_NAME`` as
  compound text, so that any name reads right). Only for a client that has
  no title option of its own: TigerVNC's ``vncviewer`` calls its window
  after the remote desktop's own name (``root@vm - TigerVNC``), so the plan
  says ``retitle`` and Rubicon names it once it has connected. FreeRDP
  (``/t:``) and remote-viewer (``title=`` in the .vv file) take the desktop's
  name on their command line.

Elsewhere nothing is done and the window says the desktop is open in its own
window: on Wayland a program may not raise another's window (XWayland
clients such as vncviewer are reached through ``DISPLAY`` where the
compositor allows it); on Windows and macOS Rubicon does not reach into
another program's windows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "activate",
    "find_windows",
    "raise_and_focus",
    "set_title",
    "usable",
    "window_ids",
]

_ID = re.compile(r"\d{1,12}")


def usable(env: Mapping[str, str], *, platform: str) -> bool:
    """Whether the X11 tools may be used: Linux (or a BSD) with an X display."""
    return platform == "linux" and bool(env.get("DISPLAY"))


def find_windows(xdotool: str, pid: int) -> tuple[str, ...]:
    """``xdotool search``: the ids of the windows of process ``pid``, one per line."""
    if pid <= 0:
        raise ValueError(f"not a process id: {pid}")
    return (xdotool, "search", "--pid", str(pid))


def window_ids(output: str) -> tuple[str, ...]:
    """The window ids ``xdotool search`` printed; anything else is ignored."""
    return tuple(line.strip() for line in output.splitlines() if _ID.fullmatch(line.strip()))


def _check(window: str) -> str:
    if not _ID.fullmatch(window):
        raise ValueError(f"not a window id: {window!r}")
    return window


def activate(xdotool: str, window: str) -> tuple[str, ...]:
    """Ask an EWMH window manager to show ``window`` in front, with the keyboard."""
    return (xdotool, "windowactivate", _check(window))


def raise_and_focus(xdotool: str, window: str) -> tuple[str, ...]:
    """Without an EWMH window manager: raise ``window`` and give it the keyboard."""
    window = _check(window)
    return (xdotool, "windowraise", window, "windowfocus", window)


def set_title(xprop: str, window: str, title: str) -> tuple[tuple[str, ...], ...]:
    """Name ``window`` ``title``: its EWMH name (UTF-8), then its ICCCM one."""
    window = _check(window)
    if not title or any(ord(c) < 32 or ord(c) == 127 for c in title):
        raise ValueError("a window title is one line of text")
    return (
        (xprop, "-id", window, "-f", "_NET_WM_NAME", "8u", "-set", "_NET_WM_NAME", title),
        (xprop, "-id", window, "-f", "WM_NAME", "8t", "-set", "WM_NAME", title),
    )
