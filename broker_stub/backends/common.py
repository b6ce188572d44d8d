"""What the hypervisor backends (libvirt, vsphere, proxmox, hyperv) have in common.

Their kinds find and make machines the same way (`hypervisor_kind`,
`clone_limit`), recycle the same way (`recycle`; only a revert differs),
check and store their pools file's tables the same way (`exactly_one`,
`stored_options`, `read_pem`, `normal_fingerprint` with `fingerprint_of`), and
read the secrets their tables name the same way (`read_secret_file`). A plug-in
may use these too (docs/backends.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from broker_stub.backends.base import (
    Backend,
    BackendKind,
    Context,
    MachineMissing,
    MachineRef,
    NotSupported,
    RecycleMode,
)

NO_CLONES = "the pool has no [pools.backend.clones]"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# How a selection key reads in "exactly one of ..." where the key alone would not say it.
_SPELLED = {"tagged": "tagged = true", "clones": "[pools.backend.clones]"}


def hypervisor_kind(
    name: str,
    *,
    options: Callable[[Mapping[str, Any]], dict[str, Any]],
    create: Callable[[Mapping[str, Any], Context], Backend],
) -> BackendKind:
    """A kind that finds or makes its pool's machines and can recycle them every way."""
    return BackendKind(
        name=name,
        options=options,
        create=create,
        recycle_modes=frozenset(RecycleMode),
        discovers=True,
        clone_limit=clone_limit,
    )


def clone_limit(stored: Mapping[str, Any]) -> int | None:
    """The stored options' `[clones] max`; None when the pool's machines are not made."""
    clones = stored.get("clones")
    return int(clones["max"]) if isinstance(clones, Mapping) else None


class Recyclable(Protocol):
    name: str

    def power_off(self, machine: MachineRef) -> None: ...

    def provision(self, name: str) -> None: ...

    def destroy(self, machine: MachineRef) -> None: ...


def recycle(
    backend: Recyclable,
    machine: MachineRef,
    mode: RecycleMode,
    *,
    revert: Callable[[], None],
    clones: bool,
) -> None:
    """`Backend.recycle` for a backend whose `revert` goes back to a snapshot and that,
    with `clones`, makes its machines (a rebuild is destroy, then provision)."""
    if mode == RecycleMode.POWEROFF:
        backend.power_off(machine)
    elif mode == RecycleMode.REVERT:
        revert()
    elif mode == RecycleMode.REBUILD:
        if not clones:
            raise NotSupported("rebuild", backend.name, NO_CLONES)
        with contextlib.suppress(MachineMissing):  # gone already: make it afresh all the same
            backend.destroy(machine)
        backend.provision(machine.name)


def exactly_one(machines: str, choices: Mapping[str, object]) -> None:
    """ValueError unless exactly one of the ways to select the pool's `machines` is given
    (a value other than None or False); the message lists them in the order given."""
    given = [key for key, value in choices.items() if value is not None and value is not False]
    if len(given) == 1:
        return
    *others, last = [_SPELLED.get(key, key) for key in choices]
    raise ValueError(
        f"say which {machines} are the pool's with exactly one of {', '.join(others)} or "
        f"{last}; this table has {len(given)}" + (f" ({', '.join(given)})" if given else "")
    )


def stored_options(options: BaseModel) -> dict[str, Any]:
    """What is kept with a pool: the table as written, durations in whole seconds ("60s")."""
    durations = {
        key: f"{int(value.total_seconds())}s"
        for key, value in options
        if isinstance(value, timedelta)
    }
    return options.model_dump(mode="json", exclude_defaults=True) | durations


def read_pem(path: str, *, key: str = "ca_file") -> str:
    """The PEM certificate(s) in `path`; ValueError, naming the table's `key`, if none."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{key}: cannot read {path}: {exc}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"{key}: {path} holds no PEM certificate")
    return text


def normal_fingerprint(text: str, *, key: str = "fingerprint") -> str:
    """A certificate's SHA-256 fingerprint in the one form the backends compare with,
    `fingerprint_of`'s: 64 lower-case hex digits. Colons, spaces and case are the
    admin's choice; ValueError, naming `key`, says what is wrong and the form wanted."""
    digits = re.sub(r"[\s:]", "", text).lower()
    if _SHA256_HEX.fullmatch(digits):
        return digits
    stray = next((char for char in digits if char not in "0123456789abcdef"), None)
    if stray is not None:
        wrong = f"{text!r} holds {stray!r}, which is not a hex digit"
    else:
        wrong = f"{text!r} has {len(digits)} hex digits, not 64"
        wrong += " (a SHA-1 fingerprint?)" if len(digits) == 40 else ""
    raise ValueError(
        f"{key}: {wrong}; give the SHA-256 fingerprint of the server's certificate, "
        "32 bytes in hex with or without colons (AB:CD:...:EF), as "
        "`openssl x509 -noout -fingerprint -sha256` prints it"
    )


def fingerprint_of(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as `normal_fingerprint` spells it."""
    return hashlib.sha256(der).hexdigest()


def read_secret_file(path: str, *, key: str) -> str:
    """The secret alone on the one line of `path` (a password, a token's secret).

    ValueError, naming the table's `key` and the path and saying what to do, if the
    file cannot be read, its group or others may read it, it is empty, or it holds
    more than one line. The line ending goes; spaces stay (a password may have them).
    """
    try:
        with open(path, "rb") as file:
            # The mode of the file read, not of whatever the path names a moment later.
            mode = os.fstat(file.fileno()).st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ValueError(
                    f"{key}: {path} may be read by its group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}, "
                    "with the file owned by the broker's user"
                )
            data = file.read()
    except OSError as exc:
        raise ValueError(
            f"{key}: cannot read {path}: {exc.strerror or exc}; "
            "give a file the broker's user can read"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{key}: {path} is not UTF-8 text; write the secret in UTF-8") from None
    secret = text.rstrip("\r\n")
    if not secret.strip():
        raise ValueError(f"{key}: {path} is empty; write the secret on its one line")
    if "\n" in secret or "\r" in secret:
        raise ValueError(
            f"{key}: {path} holds more than one line; leave the secret alone on one line"
        )
    return secret
