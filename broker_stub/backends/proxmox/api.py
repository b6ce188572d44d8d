"""One session with a Proxmox VE API per URL and token on each broker node.

proxmoxer builds the URLs and speaks PVE's JSON; requests carries them over
one kept-alive HTTPS session, every request with a timeout. The certificate
is checked against the pool's CA file, or its SHA-256 fingerprint is pinned
(the node's own certificate, signed by the cluster's private CA). PVE's
answers are sorted into the backend error tree here, tasks (UPIDs) are
awaited here, and nothing secret is logged: proxmoxer logs every answer at
debug level (a SPICE ticket among them), so those records are dropped.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from broker_stub.backends.base import (
    BackendError,
    HypervisorUnavailable,
    MachineMissing,
    SnapshotMissing,
    StorageFull,
)
from broker_stub.backends.proxmox.options import ProxmoxOptions

try:
    import requests
    from proxmoxer import ProxmoxAPI, ResourceException  # type: ignore[import-untyped]
    from requests.adapters import HTTPAdapter
except ImportError:  # the proxmox extra is not installed; KIND.options says so
    requests = None  # type: ignore[assignment]

__all__ = ["Api", "requests"]

_TASK_POLL_S = (0.05, 0.1, 0.2, 0.5, 1.0)
# "Permission check failed (/vms/100, VM.PowerMgmt)"
_PERMISSION = re.compile(r"Permission check failed \(([^,]*), ([^)]+)\)")
_NO_VM = re.compile(r"Configuration file '[^']*' does not exist|VM \d+ does not exist")
_NO_SNAPSHOT = re.compile(r"snapshot '[^']*' does not exist")
_FULL = ("No space left", "not enough space", "out of space", "no free space")


class _NoAnswers(logging.Filter):
    """proxmoxer's "Status code: ..., output: ..." records hold whole answers: tickets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "output:" not in str(record.msg)


logging.getLogger("proxmoxer.core").addFilter(_NoAnswers())


def _pinned_adapter(fingerprint: str) -> Any:
    class Pinned(HTTPAdapter):
        """urllib3 compares the certificate's SHA-256 with the pin instead of a CA."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["assert_fingerprint"] = fingerprint
            super().init_poolmanager(*args, **kwargs)

    return Pinned()


class Api:
    """The node's session with one Proxmox VE API; safe across threads."""

    def __init__(self, options: ProxmoxOptions, secret: str) -> None:
        self.url = options.url
        self.timeout = options.request_timeout.total_seconds()
        user, _, token = options.token_id.partition("!")
        self._api = ProxmoxAPI(
            # host[:port] as the URL has it ("[::1]:8006" too); proxmoxer's port is 8006.
            urlsplit(options.url).netloc,
            user=user,
            token_name=token,
            token_value=secret,
            # Off only when the fingerprint is pinned: urllib3 then checks that instead.
            verify_ssl=options.ca_file if options.ca_file is not None else False,
            timeout=self.timeout,
        )
        self._session: Any = self._api._store["session"]
        if options.fingerprint is not None:
            self._session.mount("https://", _pinned_adapter(options.fingerprint))

    def get(self, path: str, doing: str, **params: Any) -> Any:
        return self._call("GET", path, doing, params)

    def post(self, path: str, doing: str, **data: Any) -> Any:
        return self._call("POST", path, doing, data)

    def put(self, path: str, doing: str, **data: Any) -> Any:
        return self._call("PUT", path, doing, data)

    def delete(self, path: str, doing: str, **params: Any) -> Any:
        return self._call("DELETE", path, doing, params)

    def run(
        self, method: str, path: str, *, node: str, doing: str, wait: float, **data: Any
    ) -> str:
        """Start a task (an answer that is a UPID) and wait for it; its exit status."""
        upid = self._call(method, path, doing, data)
        if not isinstance(upid, str) or not upid.startswith("UPID:"):
            raise BackendError(f"cannot {doing}: Proxmox answered {upid!r}, not a task")
        return self.wait(node, upid, doing, wait)

    def wait(self, node: str, upid: str, doing: str, timeout: float) -> str:
        """Wait for a task to end; BackendError (or a finer one) unless it ended OK."""
        deadline = time.monotonic() + timeout
        for attempt in itertools.count():
            status = self.get(f"nodes/{node}/tasks/{upid}/status", f"follow the task of {doing}")
            if status.get("status") == "stopped":
                exit_status = str(status.get("exitstatus", ""))
                if exit_status == "OK" or exit_status.startswith("WARNINGS"):
                    return exit_status
                raise _classify(f"cannot {doing}: its task ended with: {exit_status}", exit_status)
            if time.monotonic() >= deadline:
                raise BackendError(
                    f"cannot {doing}: its task {upid} did not end within {timeout:g}s; "
                    f"see it in the node's task log (pve {node})"
                )
            time.sleep(_TASK_POLL_S[min(attempt, len(_TASK_POLL_S) - 1)])
        raise AssertionError("itertools.count() ends")

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, doing: str, data: Mapping[str, Any]) -> Any:
        try:
            resource = self._api(path)
            if method == "GET":
                return resource.get(**data)
            if method == "POST":
                return resource.post(**data)
            if method == "PUT":
                return resource.put(**data)
            return resource.delete(**data)
        except ResourceException as exc:
            raise self._refused(exc, doing) from None
        except requests.exceptions.SSLError as exc:
            raise HypervisorUnavailable(
                f"Proxmox VE at {self.url}: its certificate is not the one the pool trusts "
                f"(ca_file or fingerprint): {_reason(exc)}"
            ) from None
        except requests.exceptions.Timeout:
            raise HypervisorUnavailable(
                f"Proxmox VE at {self.url} did not answer within {self.timeout:g}s ({doing})"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise HypervisorUnavailable(
                f"cannot reach Proxmox VE at {self.url} ({doing}): {_reason(exc)}"
            ) from None

    def _refused(self, exc: Any, doing: str) -> BackendError:
        status = int(exc.status_code)
        message = str(exc.content or exc.status_message).strip()
        if exc.errors:
            message += f" {exc.errors}"
        if status == 401:
            return HypervisorUnavailable(
                f"Proxmox VE at {self.url} refused the API token ({message}): check token_id, "
                "its secret and that the token has not expired or been removed"
            )
        if status == 403:
            found = _PERMISSION.search(message)
            if found:
                path, privilege = found.groups()
                return BackendError(
                    f"cannot {doing}: the API token lacks {privilege} on {path or '/'}; "
                    f"give its role {privilege} (docs/backends.md lists the privileges)"
                )
            return BackendError(f"cannot {doing}: Proxmox refused the API token: {message}")
        if status == 595 or "No route to host" in message:
            return BackendError(
                f"cannot {doing}: the VM's node is offline or unreachable from the cluster "
                f"({message}); bring it back or migrate the VM"
            )
        if "no quorum" in message:
            return HypervisorUnavailable(
                f"cannot {doing}: the Proxmox cluster has lost quorum ({message})"
            )
        return _classify(f"cannot {doing}: Proxmox answered {status}: {message}", message)


def _classify(text: str, message: str) -> BackendError:
    if _NO_VM.search(message):
        return MachineMissing(text)
    if _NO_SNAPSHOT.search(message):
        return SnapshotMissing(text)
    if any(full in message for full in _FULL):
        return StorageFull(text)
    return BackendError(text)


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests error, without its URL and retry wording."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return text[:300]
