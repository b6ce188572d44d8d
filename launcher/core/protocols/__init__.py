"""Turn a broker's connection details into a plan for a native client.

Everything here is pure: a plan says what to run and what to feed it, and
``launcher.core.supervisor`` is what starts it. Errors, a branch of the
launcher's one tree (``launcher.core.errors``)::

    LaunchError          a desktop could not be opened
    └── ClientNotFound   the native client is not installed

A plan can hand a client secrets and files in three ways besides ``stdin``:

* ``pass_fds``: bytes fed through a pipe the client inherits. The plan names
  the pipe's descriptor in argv as ``{fd:0}``, ``{fd:1}``, ...; the supervisor
  puts the real descriptor number there. (A fixed number would need the
  parent to move the pipe to that number in the child, which Python can only
  do with ``preexec_fn``, unsafe in a program with threads.)
* ``temp_files``: files the supervisor writes, mode 0600, into a private 0700
  directory before the start and removes after; argv names them
  ``{file:0}``, ``{file:1}``, ...
* ``pre_steps`` / ``post_steps``: plain records of work around the start,
  such as a Windows credential to store for ``mstsc`` and remove again
  (``launcher.core.wincred`` does them). The supervisor does the pre steps
  right before the start, and the post steps once, at the earliest of the
  client's exit, ``cleanup_after`` and the launcher's exit, and at once if the
  start fails.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from launcher.core.errors import RubiconError
from launcher.core.secret import Secret
from launcher.core.texts import Text

__all__ = [
    "AGAIN_OR_SEND_THE_LOG",
    "CERTIFICATE_UNEXPECTED",
    "CONNECTION_CLOSED",
    "CONNECT_AGAIN",
    "CONSOLE_PASSWORD_REFUSED",
    "NOT_ANSWERING",
    "STARTING_OR_OFF",
    "TRY_AGAIN_OR_TELL",
    "VNC_VIEWER",
    "ClientNotFound",
    "Credential",
    "ExitReason",
    "Finder",
    "LaunchError",
    "LaunchPlan",
    "RemoveCredential",
    "Step",
    "TempFile",
    "check_host",
    "fd_placeholder",
    "file_placeholder",
    "find_client",
    "first_reason",
    "not_installed",
    "plain_value",
    "refuse_proxy",
    "substitute",
]


class LaunchError(RubiconError):
    """A desktop could not be opened; ``str()`` is the user-facing message."""


class ClientNotFound(LaunchError):
    pass


@dataclass(frozen=True, slots=True)
class ExitReason:
    """Why a client stopped, as a user would want it said.

    ``failed``: show it as an error (else as information). ``logged_off``:
    the session ended on the desktop itself (the user or an administrator
    logged it off), so the broker may free the machine.
    """

    message: str
    hint: str = ""
    failed: bool = True
    logged_off: bool = False


# How the user's messages name a VNC viewer (vncviewer, or remote-viewer for VNC).
VNC_VIEWER = Text("client.vnc", "VNC viewer")
# Hints and reasons that more than one client gives.
CONNECT_AGAIN = Text("client.connect_again.hint", "Connect again to resume.")
AGAIN_OR_SEND_THE_LOG = Text(
    "client.again_or_log.hint",
    "Connect again; if it keeps happening, send the log to your administrator.",
)
STARTING_OR_OFF = Text(
    "client.starting_or_off.hint", "It may be starting or switched off; try again in a minute."
)
TRY_AGAIN_OR_TELL = Text(
    "client.again_or_tell.hint", "Try again; if it keeps happening, tell your administrator."
)
CONSOLE_PASSWORD_REFUSED = ExitReason(
    Text("client.console_password_refused", "The desktop refused the console password."),
    hint=Text(
        "client.console_password_refused.hint",
        "Try again; if it keeps happening, ask your administrator to check the desktop.",
    ),
)
NOT_ANSWERING = ExitReason(
    Text("client.not_answering", "The desktop is not answering on its display port."),
    hint=STARTING_OR_OFF,
)
CONNECTION_CLOSED = ExitReason(
    Text("client.closed", "The desktop closed the connection."), hint=CONNECT_AGAIN
)
# The broker vouched for the desktop's certificate (FreeRDP: its fingerprint;
# remote-viewer: the CA and subject) and the desktop showed another one.
CERTIFICATE_UNEXPECTED = ExitReason(
    Text(
        "client.certificate_unexpected",
        "The desktop's certificate is not the one the broker vouched for.",
    ),
    hint=Text(
        "client.certificate_unexpected.hint",
        "The connection was stopped before signing in. Tell your administrator: "
        "someone may be intercepting the connection.",
    ),
)


def refuse_proxy(proxy: str | None, client: Text) -> None:
    """LaunchError if the broker says to go through a ``proxy``: ``client`` cannot.

    Only remote-viewer reaches a SPICE desktop through an HTTP CONNECT proxy
    (its .vv file's ``proxy`` key); no VNC or RDP client here can, and going
    straight to a name only the proxy knows would just fail later.
    """
    if proxy is None:
        return
    raise LaunchError(
        Text(
            "launch.proxy_unsupported",
            "The {client} cannot reach this desktop: it is only reachable through a proxy.",
            client=client,
        ),
        hint=Text(
            "launch.proxy_unsupported.hint",
            "Only SPICE desktops opened in virt-viewer's remote-viewer can go through a "
            "proxy. Ask your administrator to check this desktop's console settings.",
        ),
    )


def not_installed(client: Text, override: str | None) -> Text:
    """``client`` is not installed; ``override``: the path the settings gave for it."""
    if override:
        return Text(
            "client.not_installed_at",
            "{client} is not installed at {path}.",
            client=client,
            path=override,
        )
    return Text("client.not_installed", "{client} is not installed.", client=client)


_PLACEHOLDER = re.compile(r"\{(file|fd):(\d+)\}")
PRIVATE_MODE = 0o600


def file_placeholder(index: int) -> str:
    """How argv names the plan's ``temp_files[index]``."""
    return f"{{file:{index}}}"


def fd_placeholder(index: int) -> str:
    """How argv names the descriptor that carries ``pass_fds[index]``."""
    return f"{{fd:{index}}}"


@dataclass(frozen=True, slots=True)
class TempFile:
    """A file the supervisor writes before the start and removes after.

    It has no path: the supervisor makes one in a private directory and puts
    it where argv says ``{file:N}``. ``contents`` may be secret-adjacent (an
    .rdp names the user), so it stays out of ``repr``.
    """

    contents: bytes = field(repr=False)
    suffix: str = ""
    mode: int = PRIVATE_MODE

    def __post_init__(self) -> None:
        if self.mode & 0o077:
            raise ValueError(f"a launch file must not be readable by others: {self.mode:o}")
        if "/" in self.suffix or "\\" in self.suffix or "\0" in self.suffix:
            raise ValueError(f"not a file suffix: {self.suffix!r}")


@dataclass(frozen=True, slots=True)
class Credential:
    """A Windows credential to store (CredWrite) right before ``mstsc`` starts.

    The password is a :class:`~launcher.core.secret.Secret`: the supervisor
    clears it once the credential is stored (or could not be), so a plan
    hands it over once.
    """

    target: str
    username: str
    password: Secret = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.password, Secret):
            raise TypeError("a credential's password must be a Secret")


@dataclass(frozen=True, slots=True)
class RemoveCredential:
    """Delete the Windows credential ``target`` (CredDelete)."""

    target: str


Step = Credential | RemoveCredential


@dataclass(frozen=True, slots=True)
class LaunchPlan:
    """What to run. ``stdin`` is written to the client and the pipe closed.

    ``stdin``, ``env`` and ``pass_fds`` may hold secrets, so they stay out of
    ``repr``; so do the contents of ``temp_files`` and the password of a
    :class:`Credential` step.

    ``title``: the desktop's name, which the plan gives the client's window
    through the client's own option where it has one; ``retitle``: it has
    none (TigerVNC), so the window is named ``title`` once the client has
    connected, where the platform allows (``protocols.window``).

    ``cleanup_after``: seconds after the start at which temp files are
    removed, for clients that read them at start-up but keep running
    (``mstsc``) or hand them to another process and exit at once (macOS
    ``open``). None: when the client exits. Post steps run at the same time,
    or when the client exits if that comes first.
    """

    argv: tuple[str, ...]
    stdin: bytes | None = field(default=None, repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    title: str = ""
    retitle: bool = False
    pass_fds: tuple[bytes, ...] = field(default=(), repr=False)
    temp_files: tuple[TempFile, ...] = ()
    pre_steps: tuple[Step, ...] = ()
    post_steps: tuple[Step, ...] = ()
    cleanup_after: float | None = None

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("a launch plan needs a program to run")
        for arg in self.argv:
            for match in _PLACEHOLDER.finditer(arg):
                kind, index = match.group(1), int(match.group(2))
                have = len(self.temp_files) if kind == "file" else len(self.pass_fds)
                if index >= have:
                    raise ValueError(f"argv names {match.group(0)} but the plan has {have}")
        if self.cleanup_after is not None and self.cleanup_after < 0:
            raise ValueError("cleanup_after must not be negative")
        if self.retitle and not self.title:
            raise ValueError("retitle needs a title")


def substitute(
    argv: Sequence[str], *, files: Sequence[str] = (), fds: Sequence[int] = ()
) -> tuple[str, ...]:
    """``argv`` with ``{file:N}`` and ``{fd:N}`` replaced by real paths and numbers."""

    def replace(match: re.Match[str]) -> str:
        index = int(match.group(2))
        values: Sequence[object] = files if match.group(1) == "file" else fds
        if index >= len(values):
            raise ValueError(f"nothing to put in place of {match.group(0)}")
        return str(values[index])

    return tuple(_PLACEHOLDER.sub(replace, arg) for arg in argv)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain_value(value: str, what: str) -> str:
    """``value`` if it is safe to put in a client's arguments or launch file.

    Refuses control characters (a newline would end an argument in FreeRDP's
    ``/args-from`` list or a line in an .rdp/.vv file) and text that looks like
    a plan placeholder, which the supervisor would replace.
    """
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters or line breaks")
    if _PLACEHOLDER.search(value):
        raise ValueError(f"{what} must not contain {{file:N}} or {{fd:N}}")
    return value


_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


# A name only an HTTP CONNECT proxy understands, such as Proxmox's
# "pvespiceproxy:<ticket>:<vmid>:<node>::<hash>": letters, digits and ". _ : -",
# never starting with "-" (an option) and nothing that ends a .vv line or value.
_PROXY_TARGET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]{0,1023}")


def check_host(host: str, *, proxied: bool = False) -> str:
    """``host`` if it is an IP address or a DNS name; ValueError otherwise.

    Anything else (spaces, ``:``, ``/``, ``,``, ``@``, non-ASCII) could change
    how a client parses the argument it is put in, so it is refused rather
    than escaped. Internationalised names must come in their ``xn--`` form,
    and IPv6 addresses without a ``%zone`` (Python accepts any text there).

    ``proxied``: the client reaches ``host`` through an HTTP CONNECT proxy,
    which alone resolves it; a proxy target name with colons (Proxmox's) is
    then accepted too, but still no space, ``/``, ``@``, ``%``, brace or
    control character, and no leading ``-``.
    """
    if proxied and _PROXY_TARGET.fullmatch(host):
        return host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if "%" in host:
            raise ValueError(f"not a host name or IP address (zone given): {host!r}")
        return host
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(p) for p in name.split(".")):
        raise ValueError(f"not a host name or IP address: {host!r}")
    return host


def find_client(
    names: Sequence[str],
    *,
    override: str | None = None,
    extra_dirs: Sequence[str] = (),
    path: str | None = None,
) -> str | None:
    """Return the first installed client among ``names``, or None.

    An ``override`` (a path from the user's settings) wins when it is an
    executable file; ``extra_dirs`` are the usual install places that are
    often missing from PATH (desktop launchers get a thin PATH).
    """
    if override:
        candidate = Path(override).expanduser()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        return None
    search = os.pathsep.join(
        p for p in (path if path is not None else os.environ.get("PATH", ""), *extra_dirs) if p
    )
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Finder:
    """How to find a client: its program names, the usual folders, what to install.

    ``folders``: the usual install places for a platform (``linux``,
    ``windows``, ``macos``), often missing from PATH; ``install``: what to
    install, one sentence for every platform or one per platform. Called, it
    returns the program's path or raises :class:`ClientNotFound` naming
    ``what`` is missing (at ``override``) and what to install.
    """

    names: tuple[str, ...]
    what: Text
    install: Text | Mapping[str, Text]
    folders: Callable[[str], Sequence[str]]

    def __call__(
        self,
        *,
        platform: str = "",
        override: str | None = None,
        path: str | None = None,
        extra_dirs: Sequence[str] | None = None,
    ) -> str:
        if extra_dirs is None:
            extra_dirs = self.folders(platform)
        found = find_client(self.names, override=override, extra_dirs=extra_dirs, path=path)
        if found is None:
            hint = self.install if isinstance(self.install, str) else self.install.get(platform, "")
            raise ClientNotFound(not_installed(self.what, override), hint=hint)
        return found

    def find(self, platform: str, override: str | None) -> str:
        """The client on ``platform``, or at ``override`` (a path from the settings)."""
        return self(platform=platform, override=override)


def first_reason(table: Sequence[tuple[str, ExitReason]], line: str) -> ExitReason | None:
    """The reason of the first ``(needle, reason)`` in ``table`` whose needle is in ``line``.

    A client's output classifier: which fatal line it has just printed.
    """
    for needle, reason in table:
        if needle in line:
            return reason
    return None


def platform_key() -> str:
    """``linux``, ``windows`` or ``macos``: the key of the install-hint tables."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"
