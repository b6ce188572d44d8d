"""One vSphere session per vCenter (or ESXi) URL and account on each broker node.

The session is opened at the first call and kept; when vCenter ends it (it
expired, or an admin terminated it) the call that hears NotAuthenticated signs
in again once and is made again. A call that cannot reach vSphere at all drops
the session, and the next call opens a new one.

TLS is always verified: against a pinned SHA-256 fingerprint of the server's
certificate (checked on every connection pyVmomi opens), a CA file, or the
system's CAs. The password is read from its file at each sign-in, so a new
one needs no restart, and goes to vCenter and nowhere else.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from broker_stub import log
from broker_stub.backends.base import BackendError, HypervisorUnavailable
from broker_stub.backends.common import fingerprint_of, read_secret_file
from broker_stub.backends.vsphere.faults import translate, vim, vmodl
from broker_stub.backends.vsphere.options import VsphereOptions

try:
    import pyVim.connect

    _connect: Any = pyVim.connect
except ImportError:  # the vsphere extra is not installed; KIND.options says so
    _connect = None
# Not SmartConnect: it keeps the last session in a global of pyVim's, and sockets with it.
SmartStubAdapter: Any = getattr(_connect, "SmartStubAdapter", None)

__all__ = ["Connection", "TlsContext", "vim", "vmodl"]

# Seconds one HTTP request to vSphere may take (a task's wait is separate).
HTTP_TIMEOUT_S = 30
_POLL_FIRST_S = 0.05
_POLL_MAX_S = 1.0
T = TypeVar("T")
# What a connection that failed below vSphere's own faults raises.
_UNREACHABLE = (OSError, http.client.HTTPException, ssl.SSLError)


class TlsContext(ssl.SSLContext):
    """The broker's TLS to vSphere: every socket gets a timeout before its handshake
    (pyVmomi's API version check opens one without), and with `fingerprint` set the
    server's certificate must have exactly that SHA-256.

    With a fingerprint the chain is not checked (a pinned certificate is often
    self-signed, as ESXi's own is): the fingerprint is, on every socket.
    """

    fingerprint: str | None = None

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        sock.settimeout(HTTP_TIMEOUT_S)
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        if self.fingerprint is None:
            return wrapped
        der = wrapped.getpeercert(binary_form=True) or b""
        seen = fingerprint_of(der)
        if seen != self.fingerprint:
            wrapped.close()
            raise ssl.SSLCertVerificationError(
                f"the server's certificate has the SHA-256 fingerprint {seen}, "
                f"not the pinned {self.fingerprint}"
            )
        return wrapped


def tls_context(options: VsphereOptions) -> ssl.SSLContext:
    """How the broker checks the server: pinned fingerprint, CA file, or the system's CAs."""
    context = TlsContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname and chain checked by default
    if options.fingerprint is not None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the fingerprint is the check
        context.fingerprint = options.fingerprint
    elif options.ca_file is not None:
        context.load_verify_locations(cafile=options.ca_file)
    else:
        context.load_default_certs()
    return context


class Connection:
    """The node's session with one vSphere endpoint and account."""

    def __init__(self, options: VsphereOptions) -> None:
        self.url = options.sdk_url
        self._options = options
        self._lock = threading.Lock()
        self._si: Any = None

    def run(self, doing: str, act: Callable[[Any], T]) -> T:
        """`act(service_instance)`, signed in; its faults become backend errors.

        `doing` says what for the admin ("power on lab-007")."""
        si = self._session()
        try:
            try:
                return act(si)
            except vim.fault.NotAuthenticated:
                log.backend.info(
                    "vSphere at %s ended the broker's session; signing in again", self.url
                )
                self._drop(si)
                si = self._session()
                return act(si)
        except BackendError:
            raise
        except vmodl.MethodFault as fault:
            raise translate(fault, doing, self.url) from None
        except _UNREACHABLE as exc:
            self._drop(si)
            raise HypervisorUnavailable(
                f"vSphere at {self.url} failed to {doing}: {type(exc).__name__}: {exc}"
            ) from None

    def wait(self, task: Any, doing: str) -> Any:
        """The task's result once it succeeded; its fault if it failed;
        HypervisorUnavailable once `task_timeout` passed."""
        timeout = self._options.task_timeout.total_seconds()
        deadline = time.monotonic() + timeout
        pause = _POLL_FIRST_S
        collector = vim.ServiceInstance("ServiceInstance", task._stub).content.propertyCollector
        while True:
            info = _task_info(collector, task)
            state = info.get("info.state")
            if state == vim.TaskInfo.State.success:
                return info.get("info.result")
            if state == vim.TaskInfo.State.error:
                raise info["info.error"]
            if time.monotonic() > deadline:
                raise HypervisorUnavailable(
                    f"vSphere at {self.url} did not {doing} within {timeout:g}s "
                    f"(task {task._moId} is {state}); see the task in vCenter"
                )
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    def close(self) -> None:
        with self._lock:
            si, self._si = self._si, None
        if si is not None:
            _log_out(si)

    def _session(self) -> Any:
        with self._lock:
            if self._si is None:
                self._si = self._sign_in()
            return self._si

    def _drop(self, si: Any) -> None:
        with self._lock:
            if self._si is not si:
                return
            self._si = None
        _close(si._stub)

    def _sign_in(self) -> Any:
        where = urlsplit(self.url)
        try:
            password = read_secret_file(self._options.password_file, key="password_file")
        except ValueError as exc:
            raise HypervisorUnavailable(f"cannot sign in to vSphere at {self.url}: {exc}") from None
        stub = None
        try:
            # Asks the server which API versions it speaks, then signs in with the newest.
            stub = SmartStubAdapter(
                host=where.hostname,
                port=where.port or 443,
                path=where.path,
                sslContext=tls_context(self._options),
                httpConnectionTimeout=HTTP_TIMEOUT_S,
            )
            si = vim.ServiceInstance("ServiceInstance", stub)
            si.content.sessionManager.Login(self._options.user, password)
        except vmodl.MethodFault as fault:
            _close(stub)
            raise translate(fault, "sign in", self.url) from None
        except ssl.SSLCertVerificationError as exc:
            _close(stub)
            reason = getattr(exc, "verify_message", None) or exc
            raise HypervisorUnavailable(
                f"vSphere at {self.url} is not the server the pool trusts: {reason}; "
                "check the pool's fingerprint or ca_file"
            ) from None
        except _UNREACHABLE as exc:
            _close(stub)
            raise HypervisorUnavailable(
                f"cannot reach vSphere at {self.url}: {type(exc).__name__}: {exc}"
            ) from None
        log.backend.info("signed in to vSphere at %s as %s", self.url, self._options.user)
        return si


def _task_info(collector: Any, task: Any) -> dict[str, Any]:
    """A task's state, result and fault: only these, since the rest of TaskInfo may
    name an entity pyVmomi cannot read back (vcsim's snapshot tasks do)."""
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task, skip=False)],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.Task, pathSet=["info.state", "info.result", "info.error"]
            )
        ],
    )
    result = collector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
    return {} if result is None else {p.name: p.val for p in result.objects[0].propSet}


def _log_out(si: Any) -> None:
    try:
        si.content.sessionManager.Logout()
    except Exception as exc:  # gone already, or unreachable: nothing to free
        log.backend.debug("logging out of vSphere failed: %s", exc)
    _close(si._stub)


def _close(stub: Any) -> None:
    """Close the stub's pooled connections (pyVmomi keeps them open for reuse)."""
    if stub is not None:
        stub.DropConnections()
