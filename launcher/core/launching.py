"""Open a desktop: from a click on a pool to a running native client.

Runs off the GUI thread (it talks to the broker and starts a process).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from launcher.core import log, supervisor
from launcher.core.broker import BrokerClient
from launcher.core.models import Desktop, Protocol
from launcher.core.protocols import LaunchError, platform_key, vnc
from launcher.core.supervisor import ClientExit, RunningClient


@dataclass(frozen=True, slots=True)
class OpenedDesktop:
    desktop: Desktop
    session_id: str
    client: RunningClient


def open_desktop(
    broker: BrokerClient,
    desktop: Desktop,
    *,
    on_exit: Callable[[ClientExit], None],
    protocol: Protocol | None = None,
    clients: Mapping[str, str] | None = None,
    fullscreen: bool = False,
) -> OpenedDesktop:
    """Ask the broker for a machine in ``desktop`` and start its client.

    The client is found first, so a missing viewer never costs the user a
    machine the broker would otherwise hold for them.
    """
    protocol = protocol or desktop.default_protocol
    if protocol is not Protocol.VNC:
        raise LaunchError(
            f"This version of Rubicon cannot open {protocol.value.upper()} desktops.",
            hint="Choose VNC if the desktop offers it, or update Rubicon.",
        )
    overrides = clients or {}
    client = vnc.locate(override=overrides.get("vnc"), platform=platform_key())
    launch = broker.launch(desktop.id, protocol=protocol)
    plan = vnc.plan(launch.connection, client=client, fullscreen=fullscreen, title=desktop.name)
    log.launch.info("opening %s (session %s) with %s", desktop.id, launch.session_id, client)
    running = supervisor.start(plan, name="VNC viewer", classify=vnc.classify_line, on_exit=on_exit)
    return OpenedDesktop(desktop=desktop, session_id=launch.session_id, client=running)
