"""Windows' credential store behind pywin32's ``win32cred``, on any OS.

``FakeVault().api`` is a :class:`launcher.core.wincred.Api` whose
``win32cred`` has the three calls the launcher makes, with pywin32's
signatures and answers (win32/src/win32credmodule.cpp):

* ``CredWrite(credential, flags)`` takes the keys pywin32 parses, each of
  its type (TypeError otherwise, as PyArg_ParseTupleAndKeywords says), and
  keeps the ``CredentialBlob`` str as Windows gets it: UTF-16LE, no
  terminator. Windows keys a credential by target *and* type: writing one
  replaces only the one of the same type.
* ``CredRead(target, type, flags)`` answers a dict with pywin32's keys; for
  a domain type the blob is empty, as Windows never hands that password out.
* What is missing, and anything a test makes fail, raises :class:`error`
  as pywintypes.error is raised: ``(winerror, funcname, strerror)``, with
  those three as attributes; ERROR_NOT_FOUND is 1168, "Element not found.".

pywin32 only installs on Windows, so :class:`error` is this module's; the
launcher catches whatever class ``Api.error`` names and reads ``winerror``.
Stored credentials are in ``store`` (by target and type) and ``entries``
(by target); every call is listed in ``calls``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from launcher.core import wincred

T = TypeVar("T")

CRED_TYPE_GENERIC = 1
CRED_PERSIST_LOCAL_MACHINE = 2
CRED_PRESERVE_CREDENTIAL_BLOB = 1
ERROR_INVALID_PARAMETER = 87
ERROR_NOT_FOUND = 1168
ERROR_INVALID_FLAGS = 1004
# What FormatMessage says for the codes the tests use.
MESSAGES = {
    5: "Access is denied.",
    87: "The parameter is incorrect.",
    1004: "Invalid flags.",
    1168: "Element not found.",
    1312: "A specified logon session does not exist. It may already have been terminated.",
    2202: "The specified username is invalid.",
}

# PyWinObject_AsCREDENTIAL's keywords: k = an unsigned int, O = a str or None here.
_CREDENTIAL_KEYS = {
    "Flags": int,
    "Type": int,
    "TargetName": str,
    "Comment": str,
    "LastWritten": object,
    "CredentialBlob": str,
    "Persist": int,
    "Attributes": object,
    "TargetAlias": str,
    "UserName": str,
}


class error(Exception):  # noqa: N801 - pywintypes' name for it
    """pywintypes.error: Windows' code, the call, and Windows' words for the code."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror = winerror
        self.funcname = funcname
        self.strerror = strerror


def _fail(code: int, call: str) -> error:
    return error(code, call, MESSAGES.get(code, f"Windows error {code}."))


@dataclass(frozen=True)
class Stored:
    """One credential as Windows holds it after CredWrite."""

    type: int
    target: str
    username: str | None
    blob: bytes
    persist: int
    comment: str | None
    flags: int = 0
    target_alias: str | None = None
    attributes: tuple[Any, ...] = ()
    write_flags: int = 0
    last_written: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def password(self) -> str:
        return self.blob.decode("utf-16-le")

    @property
    def blob_size(self) -> int:
        return len(self.blob)


class FakeWin32Cred:
    """pywin32's ``win32cred`` over a :class:`FakeVault`."""

    def __init__(self, vault: FakeVault) -> None:
        self._vault = vault

    def CredWrite(self, credential: dict[str, Any], flags: int = 0, /) -> None:  # noqa: N802
        if not isinstance(credential, dict):
            raise TypeError("CREDENTIAL must be a dict")
        for key, value in credential.items():
            if key not in _CREDENTIAL_KEYS:
                raise TypeError(f"'{key}' is an invalid keyword argument for CREDENTIAL")
            wanted = _CREDENTIAL_KEYS[key]
            if value is not None and not isinstance(value, wanted):
                raise TypeError(f"CREDENTIAL {key} must be {wanted.__name__}, not {value!r}")
        target = credential.get("TargetName")
        blob = credential.get("CredentialBlob") or ""
        stored = Stored(
            type=credential.get("Type", 0),
            target=target or "",
            username=credential.get("UserName"),
            # What PyUnicode_AsWideChar makes of it on Windows: UTF-16 code units.
            blob=blob.encode("utf-16-le", "surrogatepass"),
            persist=credential.get("Persist", 0),
            comment=credential.get("Comment"),
            flags=credential.get("Flags", 0),
            target_alias=credential.get("TargetAlias"),
            attributes=tuple(credential.get("Attributes") or ()),
            write_flags=flags,
        )

        def write() -> None:
            # Windows' own checks: a target, and a blob within wincred.h's limit.
            if not stored.target or stored.blob_size > wincred.CRED_MAX_CREDENTIAL_BLOB_SIZE:
                raise _fail(ERROR_INVALID_PARAMETER, "CredWrite")
            self._vault.put(stored)

        allowed = CRED_PRESERVE_CREDENTIAL_BLOB
        self._vault.answer("write", target, "CredWrite", flags & ~allowed, write)

    def CredRead(self, target: str, type_: int, flags: int = 0, /) -> dict[str, Any]:  # noqa: N802
        def read() -> dict[str, Any]:
            found = self._vault.get(target, type_, "CredRead")
            secret = found.blob if found.type == CRED_TYPE_GENERIC else b""
            return {
                "Flags": found.flags,
                "Type": found.type,
                "TargetName": found.target,
                "Comment": found.comment,
                "LastWritten": found.last_written,
                "CredentialBlob": secret,
                "Persist": found.persist,
                "Attributes": found.attributes,
                "TargetAlias": found.target_alias,
                "UserName": found.username,
            }

        return self._vault.answer("read", target, "CredRead", flags, read)

    def CredDelete(self, target: str, type_: int, flags: int = 0, /) -> None:  # noqa: N802
        def delete() -> None:
            self._vault.get(target, type_, "CredDelete")
            self._vault.store.pop((target, type_))

        self._vault.answer("delete", target, "CredDelete", flags, delete)


class FakeVault:
    """``write_error``/``read_error``/``delete_error``: make those calls fail with that error."""

    def __init__(self, *, write_error: int = 0, read_error: int = 0, delete_error: int = 0) -> None:
        self.errors = {"write": write_error, "read": read_error, "delete": delete_error}
        self.store: dict[tuple[str, int], Stored] = {}
        self.calls: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self.api = wincred.Api(win32cred=FakeWin32Cred(self), error=error)

    @property
    def entries(self) -> dict[str, Stored]:
        """The stored credentials by target, whatever their type."""
        with self._lock:
            return {target: stored for (target, _), stored in self.store.items()}

    def save_as_user(
        self,
        target: str,
        username: str,
        comment: str | None = None,
        *,
        type_: int = wincred.CRED_TYPE_DOMAIN_PASSWORD,
    ) -> None:
        """A credential the user saved themselves (mstsc's "Remember me", cmdkey)."""
        self.put(
            Stored(
                type=type_,
                target=target,
                username=username,
                blob="mine".encode("utf-16-le"),
                persist=CRED_PERSIST_LOCAL_MACHINE,
                comment=comment,
            )
        )

    def put(self, stored: Stored) -> None:
        self.store[stored.target, stored.type] = stored

    def get(self, target: str, type_: int, call: str) -> Stored:
        found = self.store.get((target, type_))
        if found is None:
            raise _fail(ERROR_NOT_FOUND, call)
        return found

    def answer(
        self, kind: str, target: str | None, call: str, bad_flags: int, do: Callable[[], T]
    ) -> T:
        """Log the call, fail it as the test asked or on flags Windows does not know, else do it."""
        with self._lock:
            self.calls.append((kind, target))
            if self.errors[kind]:
                raise _fail(self.errors[kind], call)
            if bad_flags:
                raise _fail(ERROR_INVALID_FLAGS, call)
            return do()
