"""SPICE and VNC through virt-viewer's ``remote-viewer``.

The connection, console password included, is a ``.vv`` document written to
``remote-viewer -`` on stdin, so it is never on the command line or on disk.
Checked against Debian 12's remote-viewer 11.0 on an Xvfb screen: with
``type=vnc`` it read the document from stdin and Xvnc logged "Server default
pixel format" (VncAuth passed); with ``type=spice`` it signed in to Xspice
(xserver-xspice 0.1.5), whose spice-server logged "connected successfully"
for each channel, and showed its screen.

A ``.vv`` document is a GLib key file: group ``[virt-viewer]``, one
``key=value`` a line, and in values GLib's escapes ``\\n``, ``\\t``, ``\\r``,
``\\\\`` and ``\\s`` for a leading space (GLib drops leading blanks
otherwise). The ``ca`` key holds the CA's PEM text with its newlines written
as ``\\n``. A wrong password, a refused connection or a certificate other
than the one the broker vouched for leaves remote-viewer waiting on a
dialog; :func:`classify_line` lets the supervisor stop it.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    CERTIFICATE_UNEXPECTED,
    CONNECTION_CLOSED,
    CONSOLE_PASSWORD_REFUSED,
    NOT_ANSWERING,
    VNC_VIEWER,
    ExitReason,
    Finder,
    LaunchPlan,
    check_host,
    first_reason,
    refuse_proxy,
)
from launcher.core.protocols.driver import Driver, Launch, Runner
from launcher.core.texts import Text

__all__ = [
    "classify_line",
    "connected_line",
    "escape_value",
    "locate",
    "plan",
    "version_from_output",
    "vv_document",
]

CLIENT_NAMES = ("remote-viewer",)
EXTRA_DIRS = {
    "linux": ("/usr/bin", "/usr/local/bin"),
    # The MSI installs to a folder named after its version, e.g. "VirtViewer v11.0-256".
    "windows": (r"C:\Program Files\VirtViewer*\bin",),
    "macos": ("/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin"),
}
INSTALL_HINT = {
    "linux": Text(
        "spice.install.linux",
        "Install virt-viewer: sudo apt-get install virt-viewer "
        "(Fedora: sudo dnf install virt-viewer).",
    ),
    "windows": Text(
        "spice.install.windows",
        "Install virt-viewer for Windows from virt-manager.org, "
        "or set the path of remote-viewer.exe in Settings.",
    ),
    "macos": Text(
        "spice.install.macos",
        "Install virt-viewer's remote-viewer (for example with Homebrew or MacPorts), "
        "or set its path in Settings.",
    ),
}
KIOSK_FLAGS = ("--kiosk", "--kiosk-quit", "on-disconnect")


def escape_value(value: str) -> str:
    """``value`` as a GLib key-file string: what ``g_key_file_get_string`` reads back."""
    if "\0" in value:
        raise ValueError("a .vv value cannot hold a NUL character")
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if out.startswith(" "):
        out = "\\s" + out[1:]
    elif out.startswith("\f"):
        # GLib drops leading blanks, form feed included, and has no escape for it.
        raise ValueError("a .vv value cannot start with a form feed")
    return out


def vv_document(
    connection: ConnectionInfo,
    *,
    title: str = "",
    fullscreen: bool = False,
    kiosk: bool = False,
    ca_pem: str | None = None,
    host_subject: str | None = None,
    usbredir: bool = False,
) -> str:
    """The ``[virt-viewer]`` document that opens ``connection``.

    SPICE over TLS (``connection.tls``) uses ``tls-port`` and, when given,
    ``ca`` and ``host-subject`` to check the server; with ``connection.tls_port``
    both ports are written and the server says which channels need TLS. ``delete-this-file`` is
    set although stdin leaves nothing to delete: a copy saved by mistake
    still goes away once read.

    With ``connection.proxy`` (SPICE only) the document names it in ``proxy``:
    remote-viewer asks it ``CONNECT <host>:<port>`` and speaks SPICE through
    the tunnel, so ``host`` may be a name only the proxy knows (Proxmox's
    spiceproxy). A VNC connection with a proxy is a LaunchError: remote-viewer
    uses the proxy for SPICE only.
    """
    if connection.protocol not in (Protocol.SPICE, Protocol.VNC):
        raise ValueError(f"remote-viewer does not open {connection.protocol} connections")
    spice = connection.protocol is Protocol.SPICE
    if not spice:
        refuse_proxy(connection.proxy, VNC_VIEWER)
    proxy = connection.proxy
    check_host(connection.host, proxied=proxy is not None)
    if not 0 < connection.port < 65536:
        raise ValueError(f"port out of range: {connection.port}")
    entries: list[tuple[str, str]] = [
        ("type", connection.protocol.value),
        ("host", connection.host),
    ]
    tls_port = connection.tls_port if spice else None
    if tls_port is not None:
        # Both ports: the server decides which channels must use TLS.
        if not 0 < tls_port < 65536:
            raise ValueError(f"port out of range: {tls_port}")
        entries += [("port", str(connection.port)), ("tls-port", str(tls_port))]
    else:
        entries.append(("tls-port" if spice and connection.tls else "port", str(connection.port)))
    if connection.password is not None:
        entries.append(("password", connection.password))
    if title:
        entries.append(("title", title))
    if fullscreen or kiosk:
        entries.append(("fullscreen", "1"))
    if ca_pem is not None:
        entries.append(("ca", ca_pem))
    if host_subject is not None:
        entries.append(("host-subject", host_subject))
    if proxy is not None:
        entries.append(("proxy", proxy))
    if spice:
        entries.append(("enable-usbredir", "1" if usbredir else "0"))
    entries.append(("delete-this-file", "1"))
    lines = ["[virt-viewer]", *(f"{key}={escape_value(value)}" for key, value in entries)]
    return "".join(f"{line}\n" for line in lines)


def plan(
    connection: ConnectionInfo,
    *,
    client: str,
    title: str = "",
    fullscreen: bool = False,
    kiosk: bool = False,
    ca_pem: str | None = None,
    host_subject: str | None = None,
    usbredir: bool = False,
    debug: bool = False,
) -> LaunchPlan:
    """``remote-viewer [--kiosk --kiosk-quit on-disconnect] [--debug] -``, the .vv on stdin.

    ``debug`` makes remote-viewer log what the supervisor needs to tell a
    working connection from a refused one (:func:`connected_line`,
    :func:`classify_line`); without it a refused SPICE connection prints
    nothing. Checked here with remote-viewer 11.0: the debug lines name
    hosts, ports and window sizes, never the password.
    """
    document = vv_document(
        connection,
        title=title,
        fullscreen=fullscreen,
        kiosk=kiosk,
        ca_pem=ca_pem,
        host_subject=host_subject,
        usbredir=usbredir,
    )
    argv = (client, *(KIOSK_FLAGS if kiosk else ()), *(("--debug",) if debug else ()), "-")
    return LaunchPlan(argv=argv, stdin=document.encode("utf-8"), title=title)


def _folders(platform: str) -> list[str]:
    return [found for pattern in EXTRA_DIRS.get(platform, ()) for found in glob.glob(pattern)]


# remote-viewer, or ClientNotFound naming what to install.
locate = Finder(
    CLIENT_NAMES,
    what=Text("spice.viewer", "The SPICE viewer (remote-viewer)"),
    install=INSTALL_HINT,
    folders=_folders,
)


PROXY_REFUSED = ExitReason(
    Text("spice.proxy_refused", "The desktop's console proxy refused the connection."),
    hint=Text(
        "spice.proxy_refused.hint",
        "Its one-time ticket may have run out, or the desktop moved: connect again. "
        "If it keeps happening, tell your administrator.",
    ),
)


# remote-viewer prints the "got vnc error" lines on stderr (GLib warnings)
# and then waits on a dialog. The SPICE lines come only with --debug: without
# it a refused SPICE connection prints nothing at all. All recorded from 11.0
# here, "main channel: auth failure" against Xspice with a wrong password.
_FATAL_LINES: Sequence[tuple[str, ExitReason]] = (
    ("got vnc error Authentication failure", CONSOLE_PASSWORD_REFUSED),
    ("got vnc error Unable to connect to", NOT_ANSWERING),
    # The proxy answered but would not open the tunnel: "... HTTP proxy
    # connection not allowed" for a 403, "... HTTP proxy connection failed: 502"
    # (recorded through tests/helpers/connect_proxy). Before the line below,
    # which it also matches; a proxy that does not answer at all is that one.
    ("main channel: failed to connect HTTP proxy", PROXY_REFUSED),
    ("main channel: failed to connect", NOT_ANSWERING),
    ("main channel: auth failure", CONSOLE_PASSWORD_REFUSED),
    # TLS: the desktop's certificate is not what the .vv's ``ca`` and
    # ``host-subject`` vouch for. spice-gtk's warnings, recorded against
    # Xspice with TLS: a certificate the ``ca`` did not sign ("Error in server
    # certificate verification: ...") and another subject ("ssl: subject
    # '...' verification failed", then "ssl: verification failed"). Not the
    # "SSL_connect: error" line after either: any failed TLS setup logs it.
    ("Error in server certificate verification", CERTIFICATE_UNEXPECTED),
    ("ssl: verification failed", CERTIFICATE_UNEXPECTED),
    # The desktop went away after a working connection; remote-viewer then
    # quits by itself (exit 0), so without this line it would look normal.
    ("got vnc error Server closed the connection", CONNECTION_CLOSED),
    ("display has disconnected, shutting down", CONNECTION_CLOSED),
)


def classify_line(line: str) -> ExitReason | None:
    """A fatal reason if ``line`` of remote-viewer's output reports one."""
    return first_reason(_FATAL_LINES, line)


# With --debug: "desktop resize WxH" comes once a VNC server accepted the
# password and described its screen (seen with 11.0 against Xvnc); "main
# channel: opened" once a SPICE server linked the main channel, password
# checked (seen against Xspice, which logged the main channel "connected
# successfully" at the same moment); "notebook show display" when either
# shows the remote screen.
_CONNECTED_LINES = ("desktop resize ", "main channel: opened", "notebook show display")


def connected_line(line: str) -> bool:
    """Whether ``line`` of remote-viewer's ``--debug`` output shows a working connection."""
    return any(needle in line for needle in _CONNECTED_LINES)


def version_from_output(output: str) -> str | None:
    """The version in ``remote-viewer --version`` output (``remote-viewer version 11.0``)."""
    match = re.search(r"remote-viewer version (\S+)", output)
    return match.group(1) if match else None


def _version(path: str, run: Runner, timeout: float) -> tuple[str | None, str]:
    return version_from_output(run([path, "--version"], timeout)), ""


def _plan(launch: Launch) -> LaunchPlan:
    connection, preferences = launch.connection, launch.preferences
    is_spice = connection.protocol is Protocol.SPICE
    return plan(
        connection,
        client=launch.client.path,
        title=launch.title,
        fullscreen=preferences.full_screen,
        kiosk=preferences.kiosk,
        ca_pem=connection.ca if is_spice else None,
        host_subject=connection.host_subject if is_spice else None,
        usbredir=preferences.spice_usbredir,
        debug=True,
    )


def _name(path: str, protocol: Protocol) -> str:
    return Text("client.spice", "SPICE viewer") if protocol is Protocol.SPICE else VNC_VIEWER


# With --debug it says when it is connected, for SPICE (seen against Xspice)
# as for VNC, so a desktop that never answers is given up on.
DRIVER = Driver(
    locate=locate.find,
    version=_version,
    plan=_plan,
    name=_name,
    classify=classify_line,
    connected_line=connected_line,
)
