"""Open a desktop: from a click on a pool to a running native client.

``open_desktop`` runs off the GUI thread (it talks to the broker and starts
a process). It goes in this order, so that a missing client never costs the
user a machine the broker would hold for them:

1. :func:`choose_protocol`: the user's choice if the desktop offers it, else
   the desktop's default;
2. :func:`locate`: the client for that protocol on this OS (a path from the
   settings first, then PATH and the usual install folders), and for a client
   whose plan depends on its version (FreeRDP) the version, asked once per
   program and remembered;
3. the broker's launch call, which returns the connection;
4. :func:`prepare`: pure code that turns connection, client and preferences
   into a :class:`~launcher.core.protocols.LaunchPlan` and says how to watch
   the client (fatal lines, exit codes, sign of a connection);
5. ``supervisor.start``.

Which client opens which protocol on which OS is ``launcher.core.clients``;
what each needs is its driver (``launcher.core.protocols.driver``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from launcher.core import clients, log, supervisor
from launcher.core.broker import BrokerClient
from launcher.core.clients import FREERDP, MSTSC, RDP_APP, REMOTE_VIEWER, VNCVIEWER
from launcher.core.models import ConnectionInfo, Desktop, Protocol
from launcher.core.protocols import LaunchError, LaunchPlan, platform_key
from launcher.core.protocols.driver import Client, Launch, Preferences, Versions, load
from launcher.core.protocols.rdp.freerdp import FREERDP_VERSIONS, FreeRdpVersions
from launcher.core.secret import Secret
from launcher.core.settings import client_override
from launcher.core.supervisor import (
    Classifier,
    ClientExit,
    ConnectWatch,
    ExitCodeReason,
    RunningClient,
)
from launcher.core.texts import Text

__all__ = [
    "FREERDP",
    "FREERDP_VERSIONS",
    "MSTSC",
    "RDP_APP",
    "REMOTE_VIEWER",
    "VNCVIEWER",
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

# Seconds to wait for a sign of a connection. Clients that give a sign are
# stopped when it has not come by then; silent ones are counted as connected
# (supervisor.ConnectWatch). Long enough for a user to answer a client's own
# certificate question.
SIGNED_TIMEOUT = 45.0
SILENT_TIMEOUT = 20.0


class LaunchCancelled(Exception):
    """The user cancelled while the broker was being asked; no client was started."""


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
    return clients.choose(Protocol.RDP, platform=platform, path_of=lambda key: None).sso


# --- finding the client -------------------------------------------------------------


def locate(
    protocol: Protocol,
    preferences: Preferences,
    *,
    platform: str,
    versions: Versions | None = None,
) -> Client:
    """The client for ``protocol`` on ``platform``, or ClientNotFound naming what to install.

    ``versions``: where to ask the version of a client whose plan depends on
    it (None: its driver's own, remembered for the launcher's life).
    """
    paths = preferences.clients
    chosen = clients.choose(
        protocol,
        platform=platform,
        path_of=lambda key: client_override(paths, key),
        preferred={Protocol.VNC: preferences.vnc_client},
    )
    driver = load(chosen)
    path = driver.locate(platform, client_override(paths, chosen.key))
    if driver.versions is None:
        return Client(chosen.key, path)
    return Client(chosen.key, path, (versions or driver.versions).get(path))


# --- the plan ----------------------------------------------------------------------


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
    driver = load(clients.by_key(client.key))
    password = sso_password if connection.sso else None
    plan = driver.plan(Launch(connection, client, preferences, title, password))
    connect = None
    if driver.connected_line is not None:
        connect = ConnectWatch(
            _timeout(preferences, SIGNED_TIMEOUT), connected_line=driver.connected_line
        )
    elif driver.silent:
        connect = ConnectWatch(_timeout(preferences, SILENT_TIMEOUT), assume_connected=True)
    return Prepared(
        plan,
        name=driver.name(client.path, connection.protocol),
        classify=driver.classify,
        exit_reason=driver.exit_reason,
        connect=connect,
        detached=driver.detached,
    )


# --- all together ------------------------------------------------------------------


def _sso_password(connection: ConnectionInfo, client: Client, sso: Secret | None) -> str | None:
    if not connection.sso or connection.protocol is not Protocol.RDP:
        return None
    if not clients.by_key(client.key).sso:
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
    versions: Versions | None = None,
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
