"""The ``TERMSRV/<host>`` Windows credential that signs ``mstsc`` in.

``mstsc`` takes no password on its command line or in its .rdp file; it
uses a credential stored for ``TERMSRV/<host>`` in the user's Credential
Manager, as ``cmdkey /add:TERMSRV/<host> /user:... /pass:...`` would store
it. This module writes, reads and deletes that credential through pywin32's
``win32cred`` (``CredWrite``, ``CredRead``, ``CredDelete``):

* type ``CRED_TYPE_DOMAIN_PASSWORD``: what mstsc looks up, and a type whose
  secret other programs cannot read back (``CredRead`` returns it without
  the password; only the LSA uses it);
* persistence ``CRED_PERSIST_SESSION``: it lives in this logon session only,
  never on disk, and is gone at sign-out even if Rubicon is killed before
  it deletes it;
* the password as the credential blob, a ``str`` that win32cred stores as
  UTF-16 without a terminator; at most ``CRED_MAX_CREDENTIAL_BLOB_SIZE``
  bytes, checked here before the call;
* the user name as ``DOMAIN\\user`` or ``user@domain`` when there is a domain;
* the comment :data:`COMMENT`, which ``CredRead`` returns (without the
  password): a credential the user saved for the same target has another
  one, and is neither replaced nor deleted; one Rubicon left behind is.

Not pywin32-ctypes (what keyring uses on Windows): its ``CredRead`` and
``CredDelete`` take only ``CRED_TYPE_GENERIC`` and raise ValueError for any
other type, so it could store this credential but neither tell whose one
is there nor delete it.

win32cred is imported only on Windows, on first use. Tests on any OS pass
an :class:`Api` of their own: a stand-in with win32cred's three functions
and pywintypes' error class (``tests/helpers/fake_wincred.py``).

The password: the :class:`~launcher.core.secret.Secret` is revealed once and
handed to ``CredWrite`` as a ``str``; win32cred copies it into a buffer it
frees without overwriting, as Python frees its own short-lived copies (see
``launcher.core.secret``). Errors::

    LaunchError
    └── CredentialError   Windows refused to store or delete the credential
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from launcher.core import log
from launcher.core.protocols import Credential, LaunchError, RemoveCredential, Step
from launcher.core.secret import Secret
from launcher.core.texts import Text

__all__ = [
    "COMMENT",
    "CRED_MAX_CREDENTIAL_BLOB_SIZE",
    "CRED_PERSIST_SESSION",
    "CRED_TYPE_DOMAIN_PASSWORD",
    "Api",
    "CredentialError",
    "Win32Cred",
    "remove",
    "run_step",
    "store",
    "windows_api",
]

# wincred.h (win32cred has the first two as well; named here so that
# nothing but the calls needs Windows)
CRED_TYPE_DOMAIN_PASSWORD = 2
CRED_PERSIST_SESSION = 1
CRED_MAX_CREDENTIAL_BLOB_SIZE = 5 * 512
CRED_MAX_USERNAME_LENGTH = 513
CRED_MAX_DOMAIN_TARGET_NAME_LENGTH = 337
# winerror.h
ERROR_NOT_FOUND = 1168
ERROR_NO_SUCH_LOGON_SESSION = 1312
ERROR_BAD_USERNAME = 2202

# Shown in Credential Manager next to the credential, for whoever finds one
# that outlived a crash.
COMMENT = "Stored by Rubicon for one connection; removed once it has started."


class CredentialError(LaunchError):
    """Windows did not store or delete a credential. Never names the password."""


class Win32Cred(Protocol):
    """What this module calls of pywin32's ``win32cred``: the module itself, or a stand-in."""

    def CredWrite(self, credential: dict[str, Any], flags: int, /) -> None: ...  # noqa: N802
    def CredRead(self, target: str, type_: int, flags: int, /) -> dict[str, Any]: ...  # noqa: N802
    def CredDelete(self, target: str, type_: int, flags: int, /) -> None: ...  # noqa: N802


@dataclass(frozen=True, slots=True)
class Api:
    """``win32cred`` and the error its calls raise (``pywintypes.error``).

    The error carries Windows' code as ``winerror``; ``funcname`` and
    ``strerror`` say which call and Windows' own words.
    """

    win32cred: Win32Cred
    error: type[Exception]


@functools.cache
def windows_api() -> Api:
    """pywin32's credential calls; CredentialError on any other OS."""
    # A block of its own: type checkers off Windows skip it, imports and all.
    if sys.platform == "win32":
        import pywintypes
        import win32cred

        return Api(win32cred=win32cred, error=pywintypes.error)
    raise CredentialError(
        Text("wincred.not_windows", "Windows credentials can only be stored on Windows."),
        hint=Text(
            "wincred.not_windows.hint",
            "Use FreeRDP on this system, or let the RDP client ask for the password.",
        ),
    )


def _check(text: str, what: str, limit: int) -> None:
    """Refuse what Windows would cut at a NUL or refuse as too long."""
    if "\0" in text:
        raise ValueError(f"{what} must not contain a NUL character")
    if _utf16_units(text) > limit:
        raise ValueError(f"{what} is longer than Windows allows ({limit} characters)")


def _utf16_units(text: str) -> int:
    # Counted, not encoded: no further copy of a password.
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _code(error: Exception) -> int:
    code = getattr(error, "winerror", None)
    return code if isinstance(code, int) else 0


def _failure(action: str, target: str, code: int) -> CredentialError:
    why: Text
    if code == ERROR_NO_SUCH_LOGON_SESSION:
        why = Text(
            "wincred.why.no_logon_session",
            "this sign-in session cannot hold credentials; a policy may forbid saving them",
        )
    elif code == ERROR_BAD_USERNAME:
        # A domain credential's user name is DOMAIN\user or user@domain.
        why = Text(
            "wincred.why.bad_username", "it takes the user name only as DOMAIN\\user or user@domain"
        )
    else:
        why = Text("wincred.why.code", "Windows error {code}", code=code)
    if action == "store":
        return CredentialError(
            Text(
                "wincred.not_stored",
                "Windows did not store the sign-in for {target} ({why}).",
                target=target,
                why=why,
            ),
            hint=NOT_STORED_HINT,
        )
    # Session-only: sign-out removes it in any case.
    return CredentialError(
        Text(
            "wincred.not_removed",
            "Windows did not remove the sign-in for {target} ({why}).",
            target=target,
            why=why,
        ),
        hint=Text(
            "wincred.not_removed.hint",
            "It goes when you sign out of Windows; to remove it now: cmdkey /delete:{target}",
            target=target,
        ),
    )


NOT_STORED_HINT = Text(
    "wincred.not_stored.hint", "Remote Desktop Connection will ask for the password instead."
)


def _owner(target: str, api: Api) -> str | None:
    """Who wrote the credential ``target``: "rubicon", "user", None if none.

    Told by its comment. "unknown" if Windows would not say; callers then
    treat it as Rubicon's, since a password of ours must not be left behind.
    """
    try:
        found = api.win32cred.CredRead(target, CRED_TYPE_DOMAIN_PASSWORD, 0)
    except api.error as e:
        return None if _code(e) == ERROR_NOT_FOUND else "unknown"
    return "rubicon" if found.get("Comment") == COMMENT else "user"


def store(target: str, username: str, password: Secret, *, api: Api | None = None) -> bool:
    """Store ``TERMSRV/<host>``-style credential ``target`` for this logon session.

    A credential the user saved for ``target`` is left alone and used
    instead (False); one Rubicon left behind is replaced. ``password`` is
    left to its owner.
    """
    api = api or windows_api()
    _check(target, "the credential's target", CRED_MAX_DOMAIN_TARGET_NAME_LENGTH)
    _check(username, "the user name", CRED_MAX_USERNAME_LENGTH)
    if _owner(target, api) == "user":
        log.launch.info("using the credential saved in Windows for %s; not replacing it", target)
        return False
    revealed = password.reveal()
    size = 2 * _utf16_units(revealed)
    if size > CRED_MAX_CREDENTIAL_BLOB_SIZE:
        raise CredentialError(
            Text(
                "wincred.password_too_long",
                "The password is too long for a Windows credential ({count} characters).",
                count=size // 2,
            ),
            hint=NOT_STORED_HINT,
        )
    try:
        api.win32cred.CredWrite(
            {
                "Type": CRED_TYPE_DOMAIN_PASSWORD,
                "TargetName": target,
                "UserName": username,
                "CredentialBlob": revealed,
                "Comment": COMMENT,
                "Persist": CRED_PERSIST_SESSION,
            },
            0,
        )
    except api.error as e:
        raise _failure("store", target, _code(e)) from e
    log.launch.info("stored the Windows credential %s for this session", target)
    return True


def remove(target: str, *, api: Api | None = None) -> bool:
    """Delete Rubicon's credential ``target``; False if there was none of Rubicon's.

    A credential the user saved for ``target`` is never deleted.
    """
    api = api or windows_api()
    _check(target, "the credential's target", CRED_MAX_DOMAIN_TARGET_NAME_LENGTH)
    owner = _owner(target, api)
    if owner is None:
        log.launch.debug("the Windows credential %s was already gone", target)
        return False
    if owner == "user":
        log.launch.debug("the Windows credential %s is the user's own; kept", target)
        return False
    try:
        api.win32cred.CredDelete(target, CRED_TYPE_DOMAIN_PASSWORD, 0)
    except api.error as e:
        if _code(e) == ERROR_NOT_FOUND:
            log.launch.debug("the Windows credential %s was already gone", target)
            return False
        raise _failure("remove", target, _code(e)) from e
    log.launch.info("removed the Windows credential %s", target)
    return True


def run_step(step: Step, *, api: Api | None = None) -> None:
    """Do a plan's :class:`Credential` or :class:`RemoveCredential` step."""
    try:
        if isinstance(step, Credential):
            store(step.target, step.username, step.password, api=api)
        elif isinstance(step, RemoveCredential):
            remove(step.target, api=api)
        else:  # pragma: no cover - the Step union has no other members
            raise TypeError(f"not a credential step: {step!r}")
    except ValueError as e:
        raise CredentialError(
            Text("wincred.cannot_store", "Rubicon cannot store this sign-in ({why}).", why=str(e))
        ) from e
