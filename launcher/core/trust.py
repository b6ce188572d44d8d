"""Which broker certificates to trust: the system's CAs, or a pin the user made.

A broker with a certificate from a CA the system trusts needs nothing here.
A broker with its own certificate (``rubicon-broker init``) is trusted once
the user has compared its SHA-256 fingerprint and said yes: we keep that
exact certificate and, from then on, accept that certificate and no other.
A pinned broker that shows another certificate is refused: that is what an
attacker in the middle looks like, and also what a replaced certificate
looks like. Two ways lead past it:

- a planned rotation: the broker announces its next certificate
  (``GET /api/v1/tls``) over the connection the pin already trusts; the pin
  keeps it beside the current one (:meth:`PinStore.announce`), accepts
  either, and becomes the new one alone once the broker presents it
  (:meth:`PinStore.pin`). Nobody is asked;
- the user compares the new fingerprint with the one the administrator gave
  and trusts it deliberately (the window asks, behind a warning, unless the
  admin locked ``trust_new_certificates`` off): :meth:`PinStore.pin` again.

The errors for both cases belong to the broker client (``launcher.core.broker``).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import threading
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from launcher.core import log
from launcher.core.lazy import Lazy

if TYPE_CHECKING:
    import ssl
else:  # not needed to show the first window
    ssl = Lazy("ssl")

__all__ = [
    "Pin",
    "PinStore",
    "Presented",
    "fetch_certificate",
    "fingerprint",
    "origin",
    "presented",
    "ssl_context",
]


@dataclass(frozen=True, slots=True)
class Presented:
    """The certificate a broker showed us, as the user is asked about it."""

    origin: str
    fingerprint: str
    pem: str


@dataclass(frozen=True, slots=True)
class Pin:
    """The certificate trusted for one broker, and the next one it announced, if any."""

    fingerprint: str
    pem: str
    pinned_at: str
    next_fingerprint: str = ""
    next_pem: str = ""


def fingerprint(der: bytes) -> str:
    """SHA-256 as colon-separated upper-case hex, as ``rubicon-broker init`` prints it."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def origin(url: str) -> str:
    """``https://host:port`` of a broker URL: what a pin belongs to."""
    from httpx import URL  # local: keeps this module cheap to import for the doctor

    parsed = URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}:{port}"


def fetch_certificate(host: str, port: int, *, timeout: float = 10.0) -> bytes:
    """The broker's certificate (DER), read without checking it: to show or compare."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only look at the certificate
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError(f"{host}:{port} sent no certificate")
    return der


def ssl_context(pin: Pin | None) -> ssl.SSLContext:
    """Verify against the system's CAs, or accept exactly the pinned certificate.

    A pinned certificate is made the only trust anchor, with partial chains
    allowed so that a leaf can anchor itself. The host name is not checked
    for a pin: the user pinned this certificate for this address.
    """
    if pin is None:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=pin.pem)
    if pin.next_pem:  # announced by the broker over this pin: a planned rotation
        context.load_verify_locations(cadata=pin.next_pem)
    return context


class PinStore:
    """Pins by broker origin, in one JSON file readable by the user alone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pins: dict[str, Pin] = {}
        # The broker client (on a worker thread) and the window both change pins.
        self._lock = threading.Lock()
        known = {f.name for f in fields(Pin)}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self._pins = {
                o: Pin(**{k: v for k, v in p.items() if k in known}) for o, p in raw.items()
            }
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as e:
            # A damaged pin file must not silently trust anything: start empty,
            # keep the file for the admin to look at.
            log.app.warning("pin file %s unreadable (%s); no broker is pinned", path, e)

    def get(self, origin: str) -> Pin | None:
        with self._lock:
            return self._pins.get(origin)

    def pin(self, origin: str, *, pem: str) -> Pin:
        """Trust exactly this certificate for ``origin`` from now on (and forget any other)."""
        der = ssl.PEM_cert_to_DER_cert(pem)
        pin = Pin(
            fingerprint=fingerprint(der),
            pem=pem,
            pinned_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with self._lock:
            before = self._pins.get(origin)
            self._pins[origin] = pin
            self._save()
        if before is not None and before.fingerprint != pin.fingerprint:
            log.app.warning(
                "pinned %s with certificate %s instead of %s",
                origin,
                pin.fingerprint,
                before.fingerprint,
            )
        else:
            log.app.info("pinned %s with certificate %s", origin, pin.fingerprint)
        return pin

    def announce(self, origin: str, *, pem: str | None) -> Pin | None:
        """Keep the broker's next certificate beside the pinned one (None: no next one).

        Only for what the pinned broker itself said over a connection this pin
        verified. Without a pin for ``origin`` nothing changes.
        """
        with self._lock:
            pin = self._pins.get(origin)
            if pin is None:
                return None
            next_fingerprint = fingerprint(ssl.PEM_cert_to_DER_cert(pem)) if pem else ""
            if next_fingerprint == pin.fingerprint:  # that one is pinned already
                next_fingerprint, pem = "", None
            if next_fingerprint == pin.next_fingerprint:
                return pin
            pin = Pin(pin.fingerprint, pin.pem, pin.pinned_at, next_fingerprint, pem or "")
            self._pins[origin] = pin
            self._save()
        if next_fingerprint:
            log.app.info("%s announced its next certificate %s", origin, next_fingerprint)
        else:
            log.app.info("%s no longer announces a next certificate", origin)
        return pin

    def forget(self, origin: str) -> None:
        with self._lock:
            if self._pins.pop(origin, None) is None:
                return
            self._save()
        log.app.info("forgot the pinned certificate of %s", origin)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".pins-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({o: asdict(p) for o, p in self._pins.items()}, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def presented(url: str, *, timeout: float = 10.0) -> Presented:
    """The certificate the broker at ``url`` shows right now."""
    where = origin(url)
    host, port = _host_port(where)
    der = fetch_certificate(host, port, timeout=timeout)
    return Presented(where, fingerprint(der), ssl.DER_cert_to_PEM_cert(der))


def _host_port(where: str) -> tuple[str, int]:
    rest = where.split("://", 1)[1]
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)
