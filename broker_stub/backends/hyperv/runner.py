"""Running statements on a Hyper-V host: `Runner.run(statements) -> objects`, or an error.

`PsrpRunner` is the real one: PowerShell remoting (PSRP) over WinRM HTTPS with
pypsrp, one set of runspace pools per host on each broker node (shared
through the backends' `Shared`), reopened when one broke. Tests use a
replaying runner (tests/helpers/hyperv.py) that answers from recorded
exchanges; both hand the backend the same plain values, made by `plain` from
the objects pypsrp's own deserializer returns.

A cmdlet's error records come back as `PowerShellFailed`, with each record's
FullyQualifiedErrorId, category and message; anything that keeps the call
from reaching PowerShell (the host away, TLS, credentials, a timeout) is
HypervisorUnavailable.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from broker_stub import log
from broker_stub.backends.base import BackendError, HypervisorUnavailable
from broker_stub.backends.hyperv.commands import Statement, render
from broker_stub.backends.hyperv.options import HyperVOptions

try:
    from pypsrp.complex_objects import GenericComplexObject, PSInvocationState
    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    INSTALLED = True
except ImportError:  # the hyperv extra is not installed; KIND.options says so
    INSTALLED = False

# Runspace pools kept open per host on one node; more calls at once open more.
IDLE_POOLS = 4
_POLL_S = 5

# ErrorCategory values ([MS-PSRP] 2.2.3.15; System.Management.Automation.ErrorCategory).
OBJECT_NOT_FOUND = 13
PERMISSION_DENIED = 18
INVALID_ARGUMENT = 5


@dataclass(frozen=True)
class ErrorInfo:
    """One error record a cmdlet wrote."""

    # FullyQualifiedErrorId: "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM"
    error_id: str
    category: int
    message: str
    target: str | None = None


class PowerShellFailed(BackendError):
    """The statements ran and wrote error records."""

    def __init__(self, errors: Sequence[ErrorInfo]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


class CallTimedOut(HypervisorUnavailable):
    """The statements did not finish within the time given (they were stopped)."""


class Runner(Protocol):
    def run(self, statements: Sequence[Statement], *, timeout: float) -> list[Any]:
        """The statements' output as plain values (see `plain`)."""
        ...

    def close(self) -> None: ...


def plain(value: Any) -> Any:
    """A deserialized PSRP object as Python: objects become dicts of their properties
    (adapted and note properties), enums and other objects with a value their
    ToString text, GUIDs strings, lists lists."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if INSTALLED and isinstance(value, GenericComplexObject):
        properties = {**value.adapted_properties, **value.extended_properties}
        if properties:
            return {str(k): plain(v) for k, v in properties.items()}
        if value.to_string is not None:
            return str(value.to_string)
        return [plain(v) for v in value.property_sets] or None
    return value


def error_info(record: Any) -> ErrorInfo:
    """pypsrp's ErrorRecord as ErrorInfo; the exception's message first."""
    message = str(record) if getattr(record, "_to_string", None) else ""
    exception = getattr(record, "exception", None)
    if exception is not None:
        props = {**exception.adapted_properties, **exception.extended_properties}
        message = str(props.get("Message") or message)
    return ErrorInfo(
        error_id=str(record.fq_error or ""),
        category=int(record.category or 0),
        message=message or str(record.message or record.fq_error),
        target=getattr(record, "target_name", None),
    )


class PsrpRunner:
    """PowerShell on one Hyper-V host through pypsrp; safe across threads."""

    def __init__(self, options: HyperVOptions) -> None:
        self.where = f"{options.host}:{options.port}"
        self._options = options
        self._lock = threading.Lock()
        self._idle: list[Any] = []

    def run(self, statements: Sequence[Statement], *, timeout: float) -> list[Any]:
        pool = self._take()
        try:
            output = self._invoke(pool, statements, timeout)
        except PowerShellFailed:
            self._give(pool)
            raise
        except CallTimedOut:
            self._discard(pool)
            raise
        except Exception as exc:  # pypsrp's, requests' and TLS errors alike
            self._discard(pool)
            raise self._unavailable(exc) from None
        self._give(pool)
        return output

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for pool in idle:
            self._discard(pool)

    def _invoke(self, pool: Any, statements: Sequence[Statement], timeout: float) -> list[Any]:
        shell = add_statements(PowerShell(pool), statements)
        log.backend.debug("Hyper-V %s: %s", self.where, render(statements))
        deadline = time.monotonic() + timeout
        shell.begin_invoke()
        while shell.state == PSInvocationState.RUNNING:
            left = deadline - time.monotonic()
            if left <= 0:
                shell.stop()
                raise CallTimedOut(
                    f"the Hyper-V host {self.where} did not finish "
                    f"{statements[0][0].cmdlet} within {timeout:g}s; it was stopped"
                )
            shell.poll_invoke(timeout=max(1, min(_POLL_S, int(left))))
        if shell.had_errors or shell.streams.error:
            raise PowerShellFailed([error_info(r) for r in shell.streams.error])
        return [plain(o) for o in shell.output]

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _give(self, pool: Any) -> None:
        with self._lock:
            if len(self._idle) < IDLE_POOLS:
                self._idle.append(pool)
                return
        self._discard(pool)

    @staticmethod
    def _discard(pool: Any) -> None:
        try:
            pool.close()
        except Exception:  # a broken pool may not close; it is dropped all the same
            log.backend.debug("closing a Hyper-V runspace pool failed", exc_info=True)

    def _open(self) -> Any:
        options = self._options
        seconds = int(options.operation_timeout.total_seconds())
        password = options.password()
        try:
            wsman = WSMan(
                options.host,
                port=options.port,
                ssl=True,
                auth=options.auth,
                username=options.user,
                password=None if password is None else password.get_secret_value(),
                # A CA file, or the system's CAs; never off.
                cert_validation=options.ca_file or True,  # type: ignore[arg-type]  # requests' verify
                operation_timeout=seconds,
                read_timeout=seconds + 10,
                connection_timeout=min(seconds, 30),
                encryption="auto",
                no_proxy=True,
            )
            pool = RunspacePool(wsman)
            pool.open()
        except AuthenticationError as exc:
            raise HypervisorUnavailable(
                f"the Hyper-V host {self.where} refused the broker's credentials "
                f"(auth {options.auth}, user {options.user or 'from the Kerberos ticket'}): "
                f"{exc}; check the user, the password file or the keytab"
            ) from None
        except Exception as exc:
            raise self._unavailable(exc) from None
        log.backend.info("opened a PowerShell session on Hyper-V host %s", self.where)
        return pool

    def _unavailable(self, exc: BaseException) -> HypervisorUnavailable:
        if isinstance(exc, HypervisorUnavailable):
            return exc
        return HypervisorUnavailable(
            f"cannot reach PowerShell on the Hyper-V host {self.where} over WinRM HTTPS: "
            f"{type(exc).__name__}: {exc}"
        )


def add_statements(shell: Any, statements: Sequence[Statement]) -> Any:
    """Put the statements on a pypsrp PowerShell as cmdlets and typed parameters."""
    for statement in statements:
        for command in statement:
            shell.add_cmdlet(command.cmdlet)
            for name, value in command.parameters:
                # A switch is a parameter without a value; everything else is typed data.
                shell.add_parameter(name, None if value is True else _wire(value))
        shell.add_statement()
    return shell


def _wire(value: Any) -> Any:
    """A parameter value as pypsrp serializes it (a tuple is a string array)."""
    return list(value) if isinstance(value, tuple) else value
