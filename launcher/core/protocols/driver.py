"""What a native client's module gives the launcher: its :class:`Driver`.

Each module of a client in ``launcher.core.clients`` (``vnc``, ``spice``,
``rdp.freerdp``, ``rdp.mstsc``, ``rdp.macos``) defines ``DRIVER``: how to
find the client, ask its version, build its plan from a connection and the
user's :class:`Preferences`, read its output and exit codes, and tell that
it connected. ``launching`` and ``doctor`` use it through :func:`load`.
Everything here is pure but :func:`run_for_output`.
"""

from __future__ import annotations

import copy
import importlib
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from launcher.core import childenv
from launcher.core.clients import VNCVIEWER, NativeClient
from launcher.core.kinds import Protocol
from launcher.core.models import ConnectionInfo
from launcher.core.protocols import ExitReason, LaunchPlan
from launcher.core.settings import RdpSettings, UserSettings

__all__ = [
    "Client",
    "Driver",
    "Launch",
    "Preferences",
    "Runner",
    "load",
    "no_version",
    "nothing",
    "run_for_output",
]

# Runs a program with a timeout and returns its output (``run_for_output``).
Runner = Callable[[Sequence[str], float], str]


def run_for_output(argv: Sequence[str], timeout: float) -> str:
    """stdout and stderr of ``argv``, whatever its exit code; raises OSError or TimeoutExpired."""
    result = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=childenv.for_children(),
    )
    return (result.stdout + result.stderr).decode("utf-8", "replace")


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


@dataclass(frozen=True, slots=True)
class Client:
    """A native client found on this computer.

    ``key``: which program (``launcher.core.clients``); ``version``: for a
    client whose plan depends on it (FreeRDP: how it is given the password).
    """

    key: str
    path: str
    version: tuple[int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class Launch:
    """What a plan is built from: the broker's connection, the client found, the
    user's choices, the desktop's name for the window, and the sign-in password
    when the pool signs the user in (single sign-on)."""

    connection: ConnectionInfo
    client: Client
    preferences: Preferences
    title: str = ""
    sso_password: str | None = field(default=None, repr=False)


class Versions:
    """A client's version per program, for clients whose plan depends on it."""

    def get(self, path: str) -> tuple[int, int, int]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Driver:
    """How the launcher works one native client.

    ``locate(platform, override)``: its path, or ClientNotFound naming what to
    install. ``version(path, run, timeout)``: its version for the report, or
    None and why. ``versions``: for a client whose plan depends on its
    version, where the launch asks it. ``plan(connection, client,
    preferences, title, sso_password)``: its LaunchPlan (ValueError for what
    it cannot open). ``name(path, protocol)``: how the user's messages name
    it. ``classify``: a fatal reason from a line of its output; ``exit_reason``:
    from its exit code (None: any code but 0 fails). Connect signal:
    ``connected_line`` proves a connection, or ``silent`` (it says nothing
    when it succeeds: still running after the timeout counts), or neither (no
    watch). ``detached``: it hands the connection to another program and
    exits at once.
    """

    locate: Callable[[str, str | None], str]
    version: Callable[[str, Runner, float], tuple[str | None, str]]
    plan: Callable[[Launch], LaunchPlan]
    name: Callable[[str, Protocol], str]
    classify: Callable[[str], ExitReason | None]
    exit_reason: Callable[[int], ExitReason | None] | None = None
    connected_line: Callable[[str], bool] | None = None
    silent: bool = False
    detached: bool = False
    versions: Versions | None = None


def load(client: NativeClient) -> Driver:
    """The driver of ``client``: ``DRIVER`` in its module, imported on first use."""
    driver = getattr(importlib.import_module(client.module), "DRIVER", None)
    if not isinstance(driver, Driver):
        raise TypeError(f"{client.module} has no DRIVER for {client.key}")
    return driver


def nothing(_line: str) -> None:
    """Classifier for clients whose output tells nothing (GUI programs)."""
    return None


def no_version(path: str, run: Runner, timeout: float) -> tuple[str | None, str]:
    """The version probe of a client that cannot say its version."""
    return None, "it has no version option"
