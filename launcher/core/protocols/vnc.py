"""VNC through TigerVNC's ``vncviewer``.

The console password goes in the vncpasswd format through ``-passwd`` on a
pipe (the plan's stdin), so it is never on the command line or on disk.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    CONNECTION_CLOSED,
    CONSOLE_PASSWORD_REFUSED,
    NOT_ANSWERING,
    VNC_VIEWER,
    ExitReason,
    Finder,
    LaunchPlan,
    first_reason,
    refuse_proxy,
)
from launcher.core.protocols.driver import Driver, Launch, Runner
from launcher.core.texts import Text

CLIENT_NAMES = ("vncviewer", "xtigervncviewer")
EXTRA_DIRS = {
    "linux": ("/usr/bin", "/usr/local/bin", "/opt/TigerVNC/bin"),
    "windows": (r"C:\Program Files\TigerVNC",),
    "macos": ("/Applications/TigerVNC Viewer.app/Contents/MacOS",),
}
INSTALL_HINT = {
    "linux": Text(
        "vnc.install.linux",
        "Install TigerVNC's viewer: sudo apt-get install tigervnc-viewer "
        "(Fedora: sudo dnf install tigervnc).",
    ),
    "windows": Text(
        "vnc.install.windows",
        "Install the TigerVNC viewer from tigervnc.org, or set its path in Settings.",
    ),
    "macos": Text(
        "vnc.install.macos", "Install the TigerVNC viewer (brew install --cask tigervnc-viewer)."
    ),
}

# VNC authentication "encrypts" the password with DES under this fixed key,
# with the bits of each key byte mirrored. It hides nothing; the format is
# what vncviewer's -passwd expects.
_VNC_KEY = bytes([23, 82, 107, 6, 35, 78, 88, 7])
_MIRRORED_KEY = bytes(int(f"{b:08b}"[::-1], 2) for b in _VNC_KEY)

MAX_PASSWORD = 8


def obfuscate_password(password: str) -> bytes:
    """The 8 bytes of a vncpasswd file for ``password``.

    VNC authentication uses only the first 8 bytes; longer passwords are cut
    exactly as the server cuts them.
    """
    # Here, not at the top: only a VNC launch needs it. PyCryptodome rather than
    # cryptography: the bundle carries its DES alone (70 KB, not 12 MB).
    from Cryptodome.Cipher import DES

    raw = password.encode("utf-8")[:MAX_PASSWORD].ljust(MAX_PASSWORD, b"\0")
    return DES.new(_MIRRORED_KEY, DES.MODE_ECB).encrypt(raw)  # noqa: S304 - the format, not secrecy


def server_address(host: str, port: int) -> str:
    """TigerVNC's ``host::port`` (two colons: a port, not a display number)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"{host}::{port}"


def plan(
    connection: ConnectionInfo,
    *,
    client: str,
    fullscreen: bool = False,
    title: str = "",
) -> LaunchPlan:
    """The argv and stdin that open ``connection`` in ``vncviewer``.

    vncviewer has no option for its window's title (it shows the remote
    desktop's own name, ``root@vm - TigerVNC``): with a ``title`` the plan
    says ``retitle``, and the window is named after the desktop once connected.
    """
    if connection.protocol is not Protocol.VNC:
        raise ValueError(f"not a VNC connection: {connection.protocol}")
    refuse_proxy(connection.proxy, VNC_VIEWER)
    argv = [client]
    if fullscreen:
        argv += ["-FullScreen"]
    stdin = None
    if connection.password is not None:
        argv += ["-passwd", "/dev/stdin"]
        stdin = obfuscate_password(connection.password)
    argv.append(server_address(connection.host, connection.port))
    return LaunchPlan(argv=tuple(argv), stdin=stdin, title=title, retitle=bool(title))


# The viewer to run, or ClientNotFound naming what to install.
locate = Finder(
    CLIENT_NAMES,
    what=Text("vnc.viewer", "The VNC viewer"),
    install=INSTALL_HINT,
    folders=lambda platform: EXTRA_DIRS.get(platform, ()),
)


# vncviewer reports a fatal error and then waits on its own dialog; these
# lines let the supervisor stop it and say what happened instead.
_FATAL_LINES: Sequence[tuple[str, ExitReason]] = (
    ("Authentication failure", CONSOLE_PASSWORD_REFUSED),
    ("unable to connect to socket", NOT_ANSWERING),
    ("End of stream", CONNECTION_CLOSED),
)


def classify_line(line: str) -> ExitReason | None:
    """A fatal reason if ``line`` of the viewer's output reports one."""
    return first_reason(_FATAL_LINES, line)


# TigerVNC logs these once the server has accepted the password and sent its
# first frame-buffer description (1.12: "CConn: Using pixel format ...", then
# "CConnection: Enabling continuous updates"); never after a failed sign-in.
_CONNECTED_LINES = ("Using pixel format", "Enabling continuous updates")


def connected_line(line: str) -> bool:
    """Whether ``line`` of the viewer's output shows a working connection."""
    return any(needle in line for needle in _CONNECTED_LINES)


def version_from_help(output: str) -> str | None:
    """TigerVNC's version from the banner ``vncviewer -h`` prints, e.g. ``1.12.0``.

    vncviewer has no ``--version``; ``-h`` prints the banner and the usage,
    exits 1, and needs no display.
    """
    match = re.search(r"TigerVNC (?:Viewer )?(?:\d+-bit )?v(\d+(?:\.\d+)+)", output)
    return match.group(1) if match else None


def _version(path: str, run: Runner, timeout: float) -> tuple[str | None, str]:
    # TigerVNC has no --version; -h prints the banner (exit 1) without a display.
    return version_from_help(run([path, "-h"], timeout)), ""


def _plan(launch: Launch) -> LaunchPlan:
    return plan(
        launch.connection,
        client=launch.client.path,
        fullscreen=launch.preferences.full_screen,
        title=launch.title,
    )


DRIVER = Driver(
    locate=locate.find,
    version=_version,
    plan=_plan,
    name=lambda path, protocol: VNC_VIEWER,
    classify=classify_line,
    connected_line=connected_line,
)
