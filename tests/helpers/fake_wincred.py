"""Windows' credential store, as CredWriteW and CredDeleteW see it, on any OS.

``FakeVault().api`` is a :class:`launcher.core.wincred.Api` whose functions
are ``ctypes.CFUNCTYPE`` callbacks: launcher code calls them through ctypes
exactly as it calls advapi32, and they read the ``CREDENTIALW`` structure
back field by field from raw memory, the wide strings as UTF-16LE and the
credential blob as bytes, the way Windows would. So the structure's layout,
the encodings and the sizes are really exercised, not mocked.

Each stored credential is kept in ``entries`` (by target) as Windows would
hold it, and every call is listed in ``calls``. ``wiped()`` says whether the
buffers that carried passwords were zeroed after the calls.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from dataclasses import dataclass
from typing import Any

from launcher.core import wincred
from launcher.core.wincred import CREDENTIALW, read_wide

# BOOL CredWriteW(PCREDENTIALW, DWORD)
CRED_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(CREDENTIALW), ctypes.c_uint32)
# BOOL CredReadW(LPCWSTR, DWORD, DWORD, PCREDENTIALW *)
CRED_READ = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_uint32,
    ctypes.c_uint32,
    ctypes.POINTER(ctypes.POINTER(CREDENTIALW)),
)
# VOID CredFree(PVOID)
CRED_FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
# BOOL CredDeleteW(LPCWSTR, DWORD, DWORD)
CRED_DELETE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32)

ERROR_NOT_FOUND = 1168


@dataclass(frozen=True)
class Stored:
    """One CREDENTIALW as CredWriteW received it."""

    flags: int
    type: int
    target: str | None
    comment: str | None
    blob_size: int
    blob: bytes
    persist: int
    attribute_count: int
    attributes: int | None
    target_alias: str | None
    username: str | None
    write_flags: int

    @property
    def password(self) -> str:
        return self.blob.decode("utf-16-le")


class FakeVault:
    """``write_error``/``read_error``/``delete_error``: make those calls fail with that error."""

    def __init__(self, *, write_error: int = 0, read_error: int = 0, delete_error: int = 0) -> None:
        self.write_error = write_error
        self.read_error = read_error
        self.delete_error = delete_error
        self.entries: dict[str, Stored] = {}
        self.calls: list[tuple[str, str | None]] = []
        self._blobs: list[ctypes.Array[Any]] = []
        # What CredReadW handed out and CredFree has not taken back, by address.
        self._lent: dict[int, tuple[Any, ...]] = {}
        self._last_error = 0
        self._lock = threading.Lock()
        # Kept on the instance: ctypes callbacks must outlive every call.
        self._write = CRED_WRITE(self._cred_write)
        self._read = CRED_READ(self._cred_read)
        self._free = CRED_FREE(self._cred_free)
        self._delete = CRED_DELETE(self._cred_delete)
        self.api = wincred.Api(
            cred_write=self._write,
            cred_read=self._read,
            cred_free=self._free,
            cred_delete=self._delete,
            last_error=self._get_last_error,
        )

    def save_as_user(self, target: str, username: str, comment: str | None = None) -> None:
        """A credential the user saved themselves (mstsc's "Remember me", cmdkey)."""
        self.entries[target] = Stored(
            flags=0,
            type=wincred.CRED_TYPE_DOMAIN_PASSWORD,
            target=target,
            comment=comment,
            blob_size=8,
            blob="mine".encode("utf-16-le"),
            persist=2,  # CRED_PERSIST_LOCAL_MACHINE
            attribute_count=0,
            attributes=None,
            target_alias=None,
            username=username,
            write_flags=0,
        )

    def outstanding(self) -> int:
        """CredReadW results not yet given back to CredFree."""
        with self._lock:
            return len(self._lent)

    def _get_last_error(self) -> int:
        return self._last_error

    def _cred_write(self, pointer: Any, flags: int) -> int:
        cred = pointer.contents
        size = cred.CredentialBlobSize
        address = ctypes.cast(cred.CredentialBlob, ctypes.c_void_p).value
        stored = Stored(
            flags=cred.Flags,
            type=cred.Type,
            target=read_wide(cred.TargetName),
            comment=read_wide(cred.Comment),
            blob_size=size,
            blob=ctypes.string_at(address, size) if address else b"",
            persist=cred.Persist,
            attribute_count=cred.AttributeCount,
            attributes=cred.Attributes,
            target_alias=read_wide(cred.TargetAlias),
            username=read_wide(cred.UserName),
            write_flags=flags,
        )
        with self._lock:
            self.calls.append(("write", stored.target))
            self._keep_blob(address)
            if self.write_error:
                self._last_error = self.write_error
                return 0
            assert stored.target is not None
            self.entries[stored.target] = stored
        return 1

    def _cred_read(self, target_address: int | None, type_: int, flags: int, out: Any) -> int:
        target = read_wide(target_address)
        with self._lock:
            self.calls.append(("read", target))
            if self.read_error:
                self._last_error = self.read_error
                return 0
            entry = self.entries.get(target or "")
            if entry is None or entry.type != type_ or flags != 0:
                self._last_error = ERROR_NOT_FOUND
                return 0
            # As Windows answers for a domain credential: no password in it.
            strings = [_wide_or_none(entry.target), _wide_or_none(entry.comment)]
            strings.append(_wide_or_none(entry.username))
            found = CREDENTIALW(
                Type=entry.type,
                TargetName=_address(strings[0]),
                Comment=_address(strings[1]),
                Persist=entry.persist,
                UserName=_address(strings[2]),
            )
            self._lent[ctypes.addressof(found)] = (found, *strings)
            out[0] = ctypes.pointer(found)
        return 1

    def _cred_free(self, address: int | None) -> None:
        with self._lock:
            assert address in self._lent, "CredFree of something CredReadW did not return"
            del self._lent[address]

    def _cred_delete(self, target_address: int | None, type_: int, flags: int) -> int:
        target = read_wide(target_address)
        with self._lock:
            self.calls.append(("delete", target))
            if self.delete_error:
                self._last_error = self.delete_error
                return 0
            entry = self.entries.get(target or "")
            if entry is None or entry.type != type_ or flags != 0:
                self._last_error = ERROR_NOT_FOUND
                return 0
            del self.entries[target or ""]
        return 1

    def _keep_blob(self, address: int | None) -> None:
        """Hold on to the ctypes buffer at ``address`` so wiped() can look at it later."""
        if not address:
            return
        for obj in gc.get_objects():
            if isinstance(obj, ctypes.Array) and ctypes.addressof(obj) == address:
                self._blobs.append(obj)
                return
        raise AssertionError("the credential blob is not a ctypes buffer of the caller's")

    def wiped(self) -> bool:
        """Every buffer a password came in now holds only zeros."""
        with self._lock:
            return bool(self._blobs) and all(not any(bytes(blob)) for blob in self._blobs)


def _wide_or_none(text: str | None) -> ctypes.Array[ctypes.c_char] | None:
    if text is None:
        return None
    data = text.encode("utf-16-le") + b"\0\0"
    return ctypes.create_string_buffer(data, len(data))


def _address(buffer: ctypes.Array[ctypes.c_char] | None) -> int | None:
    return ctypes.addressof(buffer) if buffer is not None else None
