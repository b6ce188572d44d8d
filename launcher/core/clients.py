"""The native clients Rubicon starts: one description each, in one list.

A :class:`NativeClient` says which client it is (``key``: the settings'
``clients`` key and the doctor's ``client.<key>`` check), how the report
names it, which protocols it opens, on which OS it is the one used, and
whether it can be handed the sign-in password. The rest (how to find it,
ask its version, build its plan, read its output and exit codes, tell that
it connected) is its driver, ``DRIVER`` in the module ``module`` names
(``launcher.core.protocols.driver.load``): launch code, loaded on first
use, because the settings read this list before the window's first frame.

Which client on which OS (:func:`choose`)::

    protocol  Linux                          Windows        macOS
    VNC       vncviewer (or remote-viewer, if the settings say so), on every OS
    SPICE     remote-viewer                  remote-viewer  remote-viewer
    RDP       FreeRDP (xfreerdp3, xfreerdp)  mstsc          Windows App
              (FreeRDP everywhere if the settings give its path)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from launcher.core.kinds import Protocol
from launcher.core.texts import Text

__all__ = [
    "CLIENTS",
    "FREERDP",
    "KEYS",
    "MSTSC",
    "RDP_APP",
    "REMOTE_VIEWER",
    "VNCVIEWER",
    "NativeClient",
    "by_key",
    "choose",
    "keys_for",
]

VNCVIEWER = "vncviewer"
REMOTE_VIEWER = "remote-viewer"
FREERDP = "xfreerdp"
MSTSC = "mstsc"
RDP_APP = "rdp-app"

EVERY_OS = frozenset({"linux", "windows", "macos"})


@dataclass(frozen=True, slots=True)
class NativeClient:
    """One native client.

    ``title``: how the doctor's report and the settings dialog name it (a
    Text, which the window translates). ``platforms``: the OSes
    (``protocols.platform_key``) where it is the client for its protocols;
    ``anywhere_with_path``: also on any other OS when the settings give its
    path (FreeRDP), and where no client is the usual one; ``sso``: it can be
    handed the sign-in password.
    """

    key: str
    title: str
    protocols: frozenset[Protocol]
    platforms: frozenset[str]
    module: str
    anywhere_with_path: bool = False
    sso: bool = False


CLIENTS: tuple[NativeClient, ...] = (
    NativeClient(
        VNCVIEWER,
        Text("client.title.vncviewer", "VNC viewer (TigerVNC)"),
        frozenset({Protocol.VNC}),
        EVERY_OS,
        "launcher.core.protocols.vnc",
    ),
    NativeClient(
        REMOTE_VIEWER,
        Text("client.title.remote-viewer", "SPICE viewer (virt-viewer)"),
        frozenset({Protocol.SPICE, Protocol.VNC}),
        EVERY_OS,
        "launcher.core.protocols.spice",
    ),
    NativeClient(
        MSTSC,
        Text("client.title.mstsc", "RDP client (mstsc)"),
        frozenset({Protocol.RDP}),
        frozenset({"windows"}),
        "launcher.core.protocols.rdp.mstsc",
        sso=True,
    ),
    NativeClient(
        RDP_APP,
        Text("client.title.rdp-app", "RDP client (Windows App)"),
        frozenset({Protocol.RDP}),
        frozenset({"macos"}),
        "launcher.core.protocols.rdp.macos",
    ),
    NativeClient(
        FREERDP,
        Text("client.title.xfreerdp", "RDP client (FreeRDP)"),
        frozenset({Protocol.RDP}),
        frozenset({"linux"}),
        "launcher.core.protocols.rdp.freerdp",
        anywhere_with_path=True,
        sso=True,
    ),
)
KEYS = tuple(client.key for client in CLIENTS)


def by_key(key: str) -> NativeClient:
    """The client whose key is ``key``; ValueError if there is none."""
    for client in CLIENTS:
        if client.key == key:
            return client
    raise ValueError(f"no plan for client {key}")


def keys_for(protocol: Protocol) -> tuple[str, ...]:
    """The keys of the clients that open ``protocol``."""
    return tuple(client.key for client in CLIENTS if protocol in client.protocols)


def choose(
    protocol: Protocol,
    *,
    platform: str,
    path_of: Callable[[str], str | None],
    preferred: Mapping[Protocol, str] | None = None,
) -> NativeClient:
    """The client that opens ``protocol`` on ``platform``.

    In this order: the one the settings prefer for the protocol
    (``preferred``, e.g. the VNC viewer); one that is used on any OS and
    has a path in the settings (``path_of(key)``); the usual one on the
    platform; one used on any OS.
    """
    offered = [client for client in CLIENTS if protocol in client.protocols]
    wanted = (preferred or {}).get(protocol)
    tiers: tuple[Callable[[NativeClient], bool], ...] = (
        lambda c: c.key == wanted,
        lambda c: c.anywhere_with_path and bool(path_of(c.key)),
        lambda c: platform in c.platforms,
        lambda c: c.anywhere_with_path,
    )
    for fits in tiers:
        for client in offered:
            if fits(client):
                return client
    raise ValueError(f"no client opens {protocol.value} desktops")
