"""Open a desktop: from a click on a pool to a running native client.

``open_desktop`` runs off the GUI thread (it talks to the broker and starts
a process). It goes in this order, so that a missing client never costs the
user a machine the broker would hold for them:

1. :func:`choose_protocol`: the user's choice if the desktop offers it, else
   the desktop's default;
2. :func:`locate`: the client for that protocol on this OS (a path from the
   settings first, then PATH and the usual install folders), and for FreeRDP
   its version, asked once per program and remembered;
3. the broker's launch call, which returns the connection;
4. :func:`prepare`: pure code that turns connection, client and preferences
   into a :class:`~launcher.core.protocols.LaunchPlan` and says how to watch
   the client (fatal lines, exit codes, sign of a connection);
5. ``supervisor.start``.

Which client on which OS::

    protocol  Linux                          Windows        macOS
    VNC       vncviewer (or remote-viewer, if the settings say so), on every OS
    SPICE     remote-viewer                  remote-viewer  remote-viewer
    RDP       FreeRDP (xfreerdp3, xfreerdp)  mstsc          Windows App
              (FreeRDP everywhere if the settings give its path)
"""

from __future__ import annotations

import copy
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from launcher.core import log, supervisor
from launcher.core.broker import BrokerClient
from launcher.core.models import ConnectionInfo, Desktop, Protocol
from launcher.core.protocols import LaunchError, LaunchPlan, platform_key, rdp, spice, vnc
from launcher.core.protocols.rdp import freerdp, macos, mstsc
from launcher.core.secret import Secret
from launcher.core.settings import RdpSettings, UserSettings, client_override
from launcher.core.supervisor import (
    Classifier,
    ClientExit,
    ConnectWatch,
    ExitCodeReason,
    RunningClient,
)
from launcher.core.texts import Text

__all__ = [
    "FREERDP_VERSIONS",
    "Client",
    "FreeRdpVersions",
    "LaunchCancelled",
    "OpenedDesktop",
    "Preferences",
    "Prepared",
    "choose_protocol",
    "locate",
    "open_desktop",
    "prepare",
    "sso_supported",
]

# Keys of the settings' client paths (settings.CLIENT_KEYS).
VNCVIEWER = "vncviewer"
REMOTE_VIEWER = "remote-viewer"
FREERDP = "xfreerdp"
MSTSC = "mstsc"
RDP_APP = "rdp-app"
VNC_VIEWER = Text("client.vnc", "VNC viewer")  # how the user's messages name it

# Seconds to wait for a sign of a connection. Clients that give a sign are
# stopped when it has not come by then; silent ones are counted as connected
# (supervisor.ConnectWatch). Long enough for a user to answer a client's own
# certificate question.
SIGNED_TIMEOUT = 45.0
SILENT_TIMEOUT = 20.0
FREERDP_PROBE_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the user chose that shapes a launch: a snapshot, safe to pass to a thread."""

    fullscreen: bool = False
    clients: Mapping[str, str] = field(default_factory=dict)
    rdp: RdpSettings = field(default_factory=RdpSettings)
    vnc_client: str = VNCVIEWER
    spice_usbredir: bool = False
    # None: SIGNED_TIMEOUT or SILENT_TIMEOUT, by client.
    connect_timeout: float | None = None
    # A kiosk: every client full screen, remote-viewer without its menus and
    # quitting when the desktop disconnects.
    kiosk: bool = False

    @property
    def full_screen(self) -> bool:
        return self.fullscreen or self.kiosk

    @classmethod
    def from_settings(
        cls, settings: UserSettings, *, fullscreen: bool | None = None
    ) -> Preferences:
        """The settings' choices; ``fullscreen`` from the command line wins when given."""
        return cls(
            fullscreen=settings.fullscreen if fullscreen is None else fullscreen,
            clients=dict(settings.clients),
            rdp=copy.deepcopy(settings.rdp),
            vnc_client=settings.vnc.client,
            spice_usbredir=settings.spice.usbredir,
        )


class LaunchCancelled(Exception):
    """The user cancelled while the broker was being asked; no client was started."""


@dataclass(frozen=True, slots=True)
class Client:
    """A native client found on this computer.

    ``key``: which program (VNCVIEWER, REMOTE_VIEWER, FREERDP, MSTSC,
    RDP_APP); ``version``: FreeRDP's, which decides how it is given the password.
    """

    key: str
    path: str
    version: tuple[int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A plan and how to supervise the client it starts.

    ``detached``: the program hands the connection to another one and exits
    (macOS ``open``), so its exit says nothing about the session.
    """

    plan: LaunchPlan
    name: str
    classify: Classifier
    exit_reason: ExitCodeReason | None = None
    connect: ConnectWatch | None = None
    detached: bool = False


@dataclass(frozen=True, slots=True)
class OpenedDesktop:
    desktop: Desktop
    session_id: str
    client: RunningClient
    protocol: Protocol = Protocol.VNC
    host: str = ""
    port: int = 0
    detached: bool = False


def choose_protocol(desktop: Desktop, wanted: Protocol | None = None) -> Protocol:
    """``wanted`` if the desktop offers it, else the desktop's default."""
    if wanted is not None and wanted in desktop.protocols:
        return wanted
    if wanted is not None:
        log.launch.info(
            "%s does not offer %s; using %s", desktop.id, wanted.value, desktop.default_protocol
        )
    return desktop.default_protocol


def sso_supported(platform: str) -> bool:
    """Whether the RDP client used on ``platform`` can be handed the sign-in password.

    FreeRDP takes it on stdin or an inherited descriptor, ``mstsc`` from a
    ``TERMSRV/<host>`` Windows credential stored for the launch
    (``launcher.core.wincred``). The macOS app cannot be given one at all:
    there the user types it.
    """
    return platform != "macos"


# --- finding the client -------------------------------------------------------------


class FreeRdpVersions:
    """FreeRDP's version per program, asked once and remembered.

    ``xfreerdp --version`` opens the X display before it answers, so it runs
    with the user's environment (DISPLAY). A program replaced on disk (other
    size or time) is asked again.
    """

    def __init__(self, *, timeout: float = FREERDP_PROBE_TIMEOUT) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int], tuple[int, int, int]] = {}

    def get(self, path: str) -> tuple[int, int, int]:
        try:
            info = os.stat(path)
        except OSError as e:
            raise LaunchError(
                Text(
                    "launch.cannot_read",
                    "Cannot read {path}: {why}.",
                    path=path,
                    why=str(e.strerror or e),
                )
            ) from e
        key = (os.path.realpath(path), info.st_mtime_ns, info.st_size)
        with self._lock:
            if key in self._known:
                return self._known[key]
        version = self._probe(path)
        with self._lock:
            self._known[key] = version
        return version

    def _probe(self, path: str) -> tuple[int, int, int]:
        try:
            result = subprocess.run(
                [path, "--version"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._timeout,
                check=False,
            )
            output = (result.stdout + result.stderr).decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired) as e:
            log.launch.warning("%s --version failed: %s", path, e)
            output = ""
        version = freerdp.detect_version(output)
        if version is not None:
            log.launch.info("%s is FreeRDP %s", path, ".".join(map(str, version)))
            return version
        # Only FreeRDP 3 is packaged under a name ending in 3.
        if Path(path).name.endswith("3"):
            log.launch.warning("%s did not say its version; taking 3 from its name", path)
            return (3, 0, 0)
        if os.environ.get("DISPLAY"):
            message = Text(
                "launch.freerdp_version_unknown",
                "Rubicon could not find out which FreeRDP version {path} is.",
                path=path,
            )
        else:
            message = Text(
                "launch.freerdp_version_unknown.no_display",
                "Rubicon could not find out which FreeRDP version {path} is (DISPLAY is not set).",
                path=path,
            )
        raise LaunchError(
            message,
            hint=Text(
                "launch.freerdp_version_unknown.hint",
                "FreeRDP needs an X display to start, even to say its version. "
                "Run Rubicon in your desktop session; if that is where it runs, "
                "send the log to your administrator.",
            ),
        )


FREERDP_VERSIONS = FreeRdpVersions()


def locate(
    protocol: Protocol,
    preferences: Preferences,
    *,
    platform: str,
    versions: FreeRdpVersions | None = None,
) -> Client:
    """The client for ``protocol`` on ``platform``, or ClientNotFound naming what to install."""
    clients = preferences.clients
    if protocol is Protocol.SPICE or (
        protocol is Protocol.VNC and preferences.vnc_client == REMOTE_VIEWER
    ):
        path = spice.locate(platform=platform, override=client_override(clients, REMOTE_VIEWER))
        return Client(REMOTE_VIEWER, path)
    if protocol is Protocol.VNC:
        path = vnc.locate(platform=platform, override=client_override(clients, VNCVIEWER))
        return Client(VNCVIEWER, path)
    # RDP. FreeRDP set by the user wins on every OS.
    freerdp_path = client_override(clients, FREERDP)
    if platform == "windows" and not freerdp_path:
        return Client(MSTSC, mstsc.locate(override=client_override(clients, MSTSC)))
    if platform == "macos" and not freerdp_path:
        return Client(RDP_APP, macos.locate(override=client_override(clients, RDP_APP)))
    path = freerdp.locate(platform=platform, override=freerdp_path)
    return Client(FREERDP, path, (versions or FREERDP_VERSIONS).get(path))


# --- the plan ----------------------------------------------------------------------


def _rdp_options(
    connection: ConnectionInfo,
    preferences: Preferences,
    *,
    title: str,
    sso_password: str | None,
) -> rdp.RdpOptions:
    chosen = preferences.rdp
    fullscreen = preferences.full_screen if chosen.fullscreen is None else chosen.fullscreen
    fullscreen = fullscreen or preferences.kiosk
    gateway = connection.gateway
    certificate = (
        rdp.CertificatePolicy(rdp.CertMode.FINGERPRINT, connection.cert_fingerprint)
        if connection.cert_fingerprint
        else rdp.CertificatePolicy(rdp.CertMode.TOFU)
    )
    return rdp.RdpOptions(
        fullscreen=fullscreen,
        width=chosen.width,
        height=chosen.height,
        multimon=chosen.multimon,
        clipboard=chosen.clipboard,
        drives=tuple(sorted(chosen.drives.items())),
        audio=rdp.Audio(chosen.audio),
        gateway=rdp.Gateway(gateway.host, gateway.port) if gateway else None,
        certificate=certificate,
        domain=connection.domain,
        sso_password=sso_password,
        title=title,
    )


def _timeout(preferences: Preferences, default: float) -> float:
    return preferences.connect_timeout if preferences.connect_timeout is not None else default


def prepare(
    connection: ConnectionInfo,
    client: Client,
    preferences: Preferences,
    *,
    title: str = "",
    sso_password: str | None = None,
) -> Prepared:
    """The plan for ``connection`` in ``client``, and how to watch it. Pure.

    ``sso_password`` is used only for RDP and only when the connection says
    the pool signs the user in (``connection.sso``). Values the clients could
    misread become a :class:`LaunchError`.
    """
    try:
        return _prepare(connection, client, preferences, title, sso_password)
    except ValueError as e:
        raise LaunchError(
            Text(
                "launch.bad_connection",
                "The broker sent connection details Rubicon cannot use ({why}).",
                why=str(e),
            ),
            hint=Text("launch.bad_connection.hint", "Tell your administrator."),
        ) from e


def _prepare(
    connection: ConnectionInfo,
    client: Client,
    preferences: Preferences,
    title: str,
    sso_password: str | None,
) -> Prepared:
    protocol = connection.protocol
    if client.key == VNCVIEWER:
        return Prepared(
            vnc.plan(
                connection, client=client.path, fullscreen=preferences.full_screen, title=title
            ),
            name=VNC_VIEWER,
            classify=vnc.classify_line,
            connect=ConnectWatch(
                _timeout(preferences, SIGNED_TIMEOUT), connected_line=vnc.connected_line
            ),
        )
    if client.key == REMOTE_VIEWER:
        is_spice = protocol is Protocol.SPICE
        plan = spice.plan(
            connection,
            client=client.path,
            title=title,
            fullscreen=preferences.full_screen,
            kiosk=preferences.kiosk,
            ca_pem=connection.ca if is_spice else None,
            host_subject=connection.host_subject if is_spice else None,
            usbredir=preferences.spice_usbredir,
            debug=True,
        )
        # With --debug it says when it is connected, for SPICE (seen against
        # Xspice) as for VNC, so a desktop that never answers is given up on.
        watch = ConnectWatch(
            _timeout(preferences, SIGNED_TIMEOUT), connected_line=spice.connected_line
        )
        name = Text("client.spice", "SPICE viewer") if is_spice else VNC_VIEWER
        return Prepared(plan, name=name, classify=spice.classify_line, connect=watch)

    if protocol is not Protocol.RDP:
        raise ValueError(f"{client.key} does not open {protocol.value} desktops")
    password = sso_password if connection.sso else None
    options = _rdp_options(connection, preferences, title=title, sso_password=password)
    silent = ConnectWatch(_timeout(preferences, SILENT_TIMEOUT), assume_connected=True)
    if client.key == FREERDP:
        if client.version is None:
            raise ValueError("FreeRDP's version is not known")
        plan = freerdp.plan(connection, client=client.path, version=client.version, options=options)
        return Prepared(
            plan,
            name=Text("client.rdp", "RDP client"),
            classify=freerdp.classify_line,
            exit_reason=freerdp.exit_reason,
            connect=silent,
        )
    if client.key == MSTSC:
        plan = mstsc.plan(connection, options=options, client=client.path)
        return Prepared(plan, name="Remote Desktop Connection", classify=_nothing, connect=silent)
    if client.key == RDP_APP:
        plan = macos.plan(connection, app_path=client.path, options=options)
        return Prepared(plan, name=Path(client.path).stem, classify=_nothing, detached=True)
    raise ValueError(f"no plan for client {client.key}")


def _nothing(_line: str) -> None:
    """Classifier for clients whose output tells nothing (GUI programs)."""
    return None


# --- all together ------------------------------------------------------------------


def _sso_password(connection: ConnectionInfo, client: Client, sso: Secret | None) -> str | None:
    if not connection.sso or connection.protocol is not Protocol.RDP:
        return None
    if client.key not in (FREERDP, MSTSC):
        log.launch.info("%s cannot be handed the sign-in password; it will ask", client.key)
        return None
    if sso is None or sso.cleared:
        raise LaunchError(
            Text(
                "launch.sso_password_gone",
                "This desktop signs you in with your Rubicon password, "
                "which Rubicon no longer holds.",
            ),
            hint=Text("launch.sso_password_gone.hint", "Sign out, sign in again, and connect."),
        )
    return sso.reveal()


def open_desktop(
    broker: BrokerClient,
    desktop: Desktop,
    *,
    on_exit: Callable[[ClientExit], None],
    on_connected: Callable[[], None] | None = None,
    protocol: Protocol | None = None,
    preferences: Preferences | None = None,
    sso: Secret | None = None,
    platform: str | None = None,
    versions: FreeRdpVersions | None = None,
    idempotency_key: str | None = None,
    cancelled: threading.Event | None = None,
    run_step: supervisor.StepRunner | None = None,
) -> OpenedDesktop:
    """Ask the broker for a machine in ``desktop`` and start its client.

    ``sso`` is the sign-in password, passed to the client only for an RDP
    connection whose pool signs the user in (``connection.sso``).
    ``idempotency_key`` goes with the launch (the same one while a machine
    powers on; the broker raises ``DesktopStarting`` until it is up).
    ``cancelled`` set by the time the broker answers: no client is started
    (:class:`LaunchCancelled`). ``run_step`` does the plan's steps (the
    ``mstsc`` credential); None: :func:`launcher.core.wincred.run_step`.
    """
    preferences = preferences or Preferences()
    platform = platform or platform_key()
    chosen = choose_protocol(desktop, protocol)
    client = locate(chosen, preferences, platform=platform, versions=versions)
    launch = broker.launch(desktop.id, protocol=chosen, idempotency_key=idempotency_key)
    if cancelled is not None and cancelled.is_set():
        log.launch.info("launch of %s cancelled; no client started", desktop.id)
        raise LaunchCancelled(desktop.id)
    connection = launch.connection
    if connection.protocol is not chosen:
        # The broker knows best; find the client for what it actually sent.
        client = locate(connection.protocol, preferences, platform=platform, versions=versions)
    prepared = prepare(
        connection,
        client,
        preferences,
        title=desktop.name,
        sso_password=_sso_password(connection, client, sso),
    )
    log.launch.info(
        "opening %s (session %s) over %s with %s",
        desktop.id,
        launch.session_id,
        connection.protocol.value,
        client.path,
    )
    running = supervisor.start(
        prepared.plan,
        name=prepared.name,
        classify=prepared.classify,
        on_exit=on_exit,
        exit_reason=prepared.exit_reason,
        connect=prepared.connect,
        on_connected=on_connected,
        run_step=run_step,
    )
    return OpenedDesktop(
        desktop=desktop,
        session_id=launch.session_id,
        client=running,
        protocol=connection.protocol,
        host=connection.host,
        port=connection.port,
        detached=prepared.detached,
    )
