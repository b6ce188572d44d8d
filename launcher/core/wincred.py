"""The ``TERMSRV/<host>`` Windows credential that signs ``mstsc`` in.

``mstsc`` takes no password on its command line or in its .rdp file; it
uses a credential stored for ``TERMSRV/<host>`` in the user's Credential
Manager, as ``cmdkey /add:TERMSRV/<host> /user:... /pass:...`` would store
it. This module writes and deletes that credential with advapi32's
``CredWriteW`` and ``CredDeleteW`` (``CredReadW`` and ``CredFree`` to tell
whose it is) through ctypes:

* type ``CRED_TYPE_DOMAIN_PASSWORD``: what mstsc looks up, and a type whose
  secret other programs cannot read back (``CredRead`` returns it without
  the password; only the LSA uses it);
* persistence ``CRED_PERSIST_SESSION``: it lives in this logon session only,
  never on disk, and is gone at sign-out even if Rubicon is killed before
  it deletes it;
* the password as the credential blob: UTF-16 little-endian, no terminator,
  its size in bytes, at most ``CRED_MAX_CREDENTIAL_BLOB_SIZE``;
* the user name as ``DOMAIN\\user`` or ``user@domain`` when there is a domain;
* the comment :data:`COMMENT`, which ``CredReadW`` returns (without the
  password): a credential the user saved for the same target has another
  one, and is neither replaced nor deleted; one Rubicon left behind is.

advapi32 is loaded only on Windows, on first use. Everything else (the
structure, the UTF-16 strings, the calls) is plain ctypes, so tests on any
OS pass :class:`Api` functions of their own, made with ``ctypes.CFUNCTYPE``,
that read the structure back the way Windows would. Not run on Windows yet:
the layout is checked against wincred.h's 64-bit one, field by field.

The password: the :class:`~launcher.core.secret.Secret` is revealed once,
encoded and copied into a ctypes buffer, and that buffer is overwritten with
zeros after the call, whatever it returned. Python's short-lived ``str`` and
``bytes`` copies on the way are freed but not overwritten (as in
``launcher.core.secret``). Errors::

    LaunchError
    └── CredentialError   Windows refused to store or delete the credential
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from launcher.core import log
from launcher.core.protocols import Credential, LaunchError, RemoveCredential, Step
from launcher.core.secret import Secret
from launcher.core.texts import Text

if TYPE_CHECKING:
    CredentialPointer = ctypes._Pointer["CREDENTIALW"]

__all__ = [
    "COMMENT",
    "CREDENTIALW",
    "CRED_MAX_CREDENTIAL_BLOB_SIZE",
    "CRED_PERSIST_SESSION",
    "CRED_TYPE_DOMAIN_PASSWORD",
    "Api",
    "CredentialError",
    "read_wide",
    "remove",
    "run_step",
    "store",
    "windows_api",
]

# wincred.h
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

DWORD = ctypes.c_uint32
BOOL = ctypes.c_int
LPWSTR = ctypes.c_void_p  # UTF-16 text, built here (ctypes' c_wchar is UTF-32 off Windows)


class FILETIME(ctypes.Structure):
    _fields_ = (("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD))


class CREDENTIALW(ctypes.Structure):
    """wincred.h ``CREDENTIALW``: 80 bytes on 64-bit Windows, 52 on 32-bit."""

    _fields_ = (
        ("Flags", DWORD),
        ("Type", DWORD),
        ("TargetName", LPWSTR),
        ("Comment", LPWSTR),
        ("LastWritten", FILETIME),
        ("CredentialBlobSize", DWORD),
        ("CredentialBlob", ctypes.POINTER(ctypes.c_ubyte)),
        ("Persist", DWORD),
        ("AttributeCount", DWORD),
        ("Attributes", ctypes.c_void_p),  # PCREDENTIAL_ATTRIBUTEW
        ("TargetAlias", LPWSTR),
        ("UserName", LPWSTR),
    )


class CredentialError(LaunchError):
    """Windows did not store or delete a credential. Never names the password."""


@dataclass(frozen=True, slots=True)
class Api:
    """The advapi32 calls, as ctypes functions (or stand-ins with their signatures).

    ``cred_write(PCREDENTIALW, DWORD flags) -> BOOL``;
    ``cred_read(LPCWSTR target, DWORD type, DWORD flags, PCREDENTIALW *out) -> BOOL``;
    ``cred_free(PVOID)``: frees what ``cred_read`` returned;
    ``cred_delete(LPCWSTR target, DWORD type, DWORD flags) -> BOOL``;
    ``last_error()``: the Windows error code of the call that just failed.
    """

    cred_write: Callable[[CredentialPointer, int], int]
    cred_read: Callable[[int | None, int, int, ctypes._CArgObject], int]
    cred_free: Callable[[int | None], None]
    cred_delete: Callable[[int | None, int, int], int]
    last_error: Callable[[], int]


@functools.cache
def windows_api() -> Api:
    """advapi32's credential calls; CredentialError on any other OS."""
    if sys.platform != "win32":
        raise CredentialError(
            Text("wincred.not_windows", "Windows credentials can only be stored on Windows."),
            hint=Text(
                "wincred.not_windows.hint",
                "Use FreeRDP on this system, or let the RDP client ask for the password.",
            ),
        )
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    write = advapi32.CredWriteW
    write.argtypes = (ctypes.POINTER(CREDENTIALW), DWORD)
    write.restype = BOOL
    read = advapi32.CredReadW
    read.argtypes = (LPWSTR, DWORD, DWORD, ctypes.POINTER(ctypes.POINTER(CREDENTIALW)))
    read.restype = BOOL
    free = advapi32.CredFree
    free.argtypes = (ctypes.c_void_p,)
    free.restype = None
    delete = advapi32.CredDeleteW
    delete.argtypes = (LPWSTR, DWORD, DWORD)
    delete.restype = BOOL
    return Api(
        cred_write=write,
        cred_read=read,
        cred_free=free,
        cred_delete=delete,
        last_error=ctypes.get_last_error,
    )


def _wide(text: str, what: str, limit: int) -> ctypes.Array[ctypes.c_char]:
    """``text`` as a NUL-terminated UTF-16LE string in a ctypes buffer."""
    if "\0" in text:
        raise ValueError(f"{what} must not contain a NUL character")
    data = text.encode("utf-16-le")
    if len(data) // 2 > limit:
        raise ValueError(f"{what} is longer than Windows allows ({limit} characters)")
    data += b"\0\0"
    return ctypes.create_string_buffer(data, len(data))


def read_wide(address: int | None) -> str | None:
    """The NUL-terminated UTF-16LE string at ``address`` (what Windows reads from an LPWSTR)."""
    if not address:
        return None
    units = ctypes.cast(address, ctypes.POINTER(ctypes.c_uint16))
    length = 0
    while units[length]:
        length += 1
    return ctypes.string_at(address, 2 * length).decode("utf-16-le")


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


def _owner(target_w: ctypes.Array[ctypes.c_char], api: Api) -> str | None:
    """Who wrote the credential named ``target_w``: "rubicon", "user", None if none.

    Told by its comment. "unknown" if Windows would not say; callers then
    treat it as Rubicon's, since a password of ours must not be left behind.
    """
    found = ctypes.POINTER(CREDENTIALW)()
    if not api.cred_read(
        ctypes.addressof(target_w), CRED_TYPE_DOMAIN_PASSWORD, 0, ctypes.byref(found)
    ):
        return None if api.last_error() == ERROR_NOT_FOUND else "unknown"
    try:
        return "rubicon" if read_wide(found.contents.Comment) == COMMENT else "user"
    finally:
        api.cred_free(ctypes.cast(found, ctypes.c_void_p).value)


def store(target: str, username: str, password: Secret, *, api: Api | None = None) -> bool:
    """Store ``TERMSRV/<host>``-style credential ``target`` for this logon session.

    A credential the user saved for ``target`` is left alone and used
    instead (False); one Rubicon left behind is replaced. The buffer that
    held the password for the call is zeroed before this returns or raises;
    ``password`` itself is left to its owner.
    """
    api = api or windows_api()
    target_w = _wide(target, "the credential's target", CRED_MAX_DOMAIN_TARGET_NAME_LENGTH)
    user_w = _wide(username, "the user name", CRED_MAX_USERNAME_LENGTH)
    comment_w = _wide(COMMENT, "the comment", 256)
    if _owner(target_w, api) == "user":
        log.launch.info("using the credential saved in Windows for %s; not replacing it", target)
        return False
    encoded = password.reveal().encode("utf-16-le")
    size = len(encoded)
    if size > CRED_MAX_CREDENTIAL_BLOB_SIZE:
        del encoded
        raise CredentialError(
            Text(
                "wincred.password_too_long",
                "The password is too long for a Windows credential ({count} characters).",
                count=size // 2,
            ),
            hint=NOT_STORED_HINT,
        )
    # The one copy that can be wiped: a ctypes buffer, zeroed below.
    blob = (ctypes.c_ubyte * max(size, 1))()
    ctypes.memmove(blob, encoded, size)
    del encoded
    try:
        credential = CREDENTIALW(
            Flags=0,
            Type=CRED_TYPE_DOMAIN_PASSWORD,
            TargetName=ctypes.addressof(target_w),
            Comment=ctypes.addressof(comment_w),
            CredentialBlobSize=size,
            CredentialBlob=ctypes.cast(blob, ctypes.POINTER(ctypes.c_ubyte)),
            Persist=CRED_PERSIST_SESSION,
            AttributeCount=0,
            Attributes=None,
            TargetAlias=None,
            UserName=ctypes.addressof(user_w),
        )
        if not api.cred_write(ctypes.pointer(credential), 0):
            raise _failure("store", target, api.last_error())
    finally:
        ctypes.memset(blob, 0, ctypes.sizeof(blob))
    log.launch.info("stored the Windows credential %s for this session", target)
    return True


def remove(target: str, *, api: Api | None = None) -> bool:
    """Delete Rubicon's credential ``target``; False if there was none of Rubicon's.

    A credential the user saved for ``target`` is never deleted.
    """
    api = api or windows_api()
    target_w = _wide(target, "the credential's target", CRED_MAX_DOMAIN_TARGET_NAME_LENGTH)
    owner = _owner(target_w, api)
    if owner is None:
        log.launch.debug("the Windows credential %s was already gone", target)
        return False
    if owner == "user":
        log.launch.debug("the Windows credential %s is the user's own; kept", target)
        return False
    if api.cred_delete(ctypes.addressof(target_w), CRED_TYPE_DOMAIN_PASSWORD, 0):
        log.launch.info("removed the Windows credential %s", target)
        return True
    code = api.last_error()
    if code == ERROR_NOT_FOUND:
        log.launch.debug("the Windows credential %s was already gone", target)
        return False
    raise _failure("remove", target, code)


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
