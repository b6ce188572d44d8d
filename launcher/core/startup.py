"""What one start of ``rubicon`` asks for: a broker, a user, a desktop to open.

It comes from a ``rubicon://`` link (the installers register Rubicon for
them), from options (``--server --user --desktop --protocol --fullscreen
--non-interactive``), or both: an option wins over the same part of a link.
A second start hands its request to the window already running (one per
user), as one line of JSON over a local socket: :func:`encode` and
:func:`decode`, which checks everything again, since it comes from outside.

Exit codes of ``rubicon`` (:class:`ExitCode`)::

    0  the window closed, or (--non-interactive) the desktop was opened
    1  something else failed; the message says what
    2  the command line or the link is wrong
    3  sign-in refused: password, one-time code, lock, certificate
    4  the desktop could not be opened
"""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from launcher.core import uri
from launcher.core.errors import RubiconError
from launcher.core.kinds import Protocol
from launcher.core.texts import Text

# The broker client (for normalize_url) and hashlib are imported where used:
# with trust, uuid, socket and OpenSSL behind them, they would cost the
# window's first frame several milliseconds that a start without --server,
# on a desktop with $XDG_RUNTIME_DIR, does not need to pay.

__all__ = ["ExitCode", "StartError", "StartRequest", "decode", "encode", "instance_name", "request"]

_DESKTOP = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9._@\\-]{1,128}$")
MAX_MESSAGE = 4096
_NOT_OURS = Text("start.handover_not_ours", "The message from another Rubicon is not one it sends.")


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    SIGN_IN = 3
    LAUNCH = 4


class StartError(RubiconError, ValueError):
    """A start request we refuse; ``str()`` says why in plain words (a :class:`Text`).

    On the launcher's error tree (``launcher.core.errors``), and a ``ValueError``.
    """


@dataclass(frozen=True, slots=True)
class StartRequest:
    server: str | None = None  # normalized broker URL
    user: str | None = None
    desktop: str | None = None
    protocol: Protocol | None = None
    fullscreen: bool | None = None
    non_interactive: bool = False

    @property
    def empty(self) -> bool:
        return self.server is None and self.user is None and self.desktop is None


def request(
    link: str | None = None,
    *,
    server: str | None = None,
    user: str | None = None,
    desktop: str | None = None,
    protocol: str | None = None,
    fullscreen: bool | None = None,
    non_interactive: bool = False,
) -> StartRequest:
    """The request of a command line; :class:`StartError` says what is wrong with it."""
    parsed = uri.Link(server="")
    if link:
        try:
            parsed = uri.parse(link)
        except uri.LinkError as e:
            raise StartError(*e.args) from None  # its Text, so that it can be translated
    try:
        if server:
            from launcher.core.broker import normalize_url

            url: str | None = normalize_url(server)
        else:
            url = parsed.server or None
    except ValueError as e:
        raise StartError(*e.args) from None
    user = user if user is not None else parsed.user
    if user is not None and not _USER.match(user):
        raise StartError(Text("start.bad_user", "{user} is not a valid username.", user=repr(user)))
    desktop = desktop if desktop is not None else parsed.desktop
    if desktop is not None and not _DESKTOP.match(desktop):
        raise StartError(
            Text(
                "start.bad_desktop",
                "{desktop} is not a desktop id (such as engineering or win-11).",
                desktop=repr(desktop),
            )
        )
    chosen = parsed.protocol
    if protocol is not None:
        try:
            chosen = Protocol(protocol.lower())
        except ValueError:
            names = ", ".join(p.value for p in Protocol)
            raise StartError(
                Text("start.bad_protocol", "--protocol takes one of {names}.", names=names)
            ) from None
    if non_interactive:
        missing = [
            name
            for name, value in (("--server", url), ("--user", user), ("--desktop", desktop))
            if not value
        ]
        if missing:
            raise StartError(
                Text(
                    "start.non_interactive_needs",
                    "--non-interactive needs {missing} (or a rubicon:// link that names "
                    "them) and a password remembered in the keychain.",
                    missing=", ".join(missing),
                )
            )
    return StartRequest(url, user, desktop, chosen, fullscreen, non_interactive)


def encode(req: StartRequest) -> bytes:
    """One line for the running window (not the non-interactive flag: that is per start)."""
    body = {
        "server": req.server,
        "user": req.user,
        "desktop": req.desktop,
        "protocol": req.protocol.value if req.protocol else None,
    }
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def decode(data: bytes) -> StartRequest:
    """The request another start sent; :class:`StartError` if it is not one."""
    if len(data) > MAX_MESSAGE:
        raise StartError(
            Text("start.handover_too_long", "The message from another Rubicon is too long.")
        )
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise StartError(_NOT_OURS) from None
    if not isinstance(body, dict) or not all(
        v is None or isinstance(v, str) for v in body.values()
    ):
        raise StartError(_NOT_OURS)
    return request(
        server=body.get("server"),
        user=body.get("user"),
        desktop=body.get("desktop"),
        protocol=body.get("protocol"),
    )


def instance_name(user: str | None = None, runtime_dir: str | None = None) -> str:
    """The local socket of this user's running Rubicon.

    A full path in ``$XDG_RUNTIME_DIR`` (private to the user) where there is
    one; else a name Qt places in its temp folder (Windows: a named pipe),
    with a hash of the user name in it so users never meet.
    """
    runtime = runtime_dir if runtime_dir is not None else os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return str(Path(runtime) / "rubicon.socket")
    user = user or os.environ.get("USER") or os.environ.get("USERNAME") or "user"
    import hashlib

    digest = hashlib.sha256(user.encode()).hexdigest()[:16]
    return f"rubicon-{digest}"
