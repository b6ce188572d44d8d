"""Talk to a Rubicon broker: typed calls over httpx, one error tree.

Every failure a caller can meet is a :class:`BrokerError` that carries the
sentence to show the user (``message``) and what to do about it (``hint``)::

    BrokerError
    ├── BrokerUnreachable        no answer: down, wrong address, timeout
    ├── UntrustedCertificate     TLS: no trusted CA and no pin; ask the user (first use)
    ├── CertificateChanged       TLS: pinned, and now another certificate; refuse
    ├── BrokerProtocolError      an answer we cannot read: not a Rubicon broker?
    ├── DesktopStarting          202: the machine is powering on; launch again later
    └── BrokerRejected           the broker said no (problem+json, ``code``)
        ├── InvalidCredentials   wrong username or password
        ├── SessionExpired       the sign-in token is no longer valid
        ├── NotEntitled          the user may not use that desktop
        └── NoDesktopAvailable   every machine in the pool is taken

The client is synchronous on purpose: the UI runs it off the GUI thread.
"""

from __future__ import annotations

import ssl
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from launcher.core import log, trust
from launcher.core.models import (
    ConnectionInfo,
    Desktop,
    DesktopState,
    GatewayInfo,
    Launch,
    Protocol,
    SessionRef,
    SignIn,
    User,
)

__all__ = [
    "BrokerClient",
    "BrokerError",
    "BrokerProtocolError",
    "BrokerRejected",
    "BrokerUnreachable",
    "CertificateChanged",
    "DesktopStarting",
    "InvalidCredentials",
    "NoDesktopAvailable",
    "NotEntitled",
    "SessionExpired",
    "UntrustedCertificate",
]

API = "/api/v1"


class BrokerError(Exception):
    """Base of every broker failure; ``str()`` is the user-facing message."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class BrokerUnreachable(BrokerError):
    pass


class BrokerProtocolError(BrokerError):
    pass


class UntrustedCertificate(BrokerError):
    """Neither a CA this computer trusts nor a pin vouches for the broker."""

    def __init__(self, presented: trust.Presented) -> None:
        super().__init__(
            f"The broker at {presented.origin} uses a certificate this computer does not trust.",
            hint="Compare its fingerprint with the one your administrator gave you "
            "before you trust it.",
        )
        self.presented = presented


class CertificateChanged(BrokerError):
    """The broker was pinned, and now shows a different certificate."""

    def __init__(self, presented: trust.Presented, *, pinned: str) -> None:
        super().__init__(
            f"The broker at {presented.origin} presented a different certificate from the "
            "one you trusted before. Someone may be intercepting the connection, or the "
            "certificate was replaced. Rubicon will not connect.",
            hint="Ask your administrator whether the broker's certificate changed; "
            f"the new fingerprint is {presented.fingerprint}.",
        )
        self.presented = presented
        self.pinned = pinned


class DesktopStarting(BrokerError):
    """The broker is powering the machine on (202); launch again after ``retry_after`` s."""

    def __init__(self, message: str, *, session_id: str, retry_after: int) -> None:
        super().__init__(message, hint=f"Try again in {retry_after} seconds.")
        self.session_id = session_id
        self.retry_after = retry_after


class BrokerRejected(BrokerError):
    """The broker answered with a problem document."""

    def __init__(self, message: str, *, code: str, status: int, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status


class InvalidCredentials(BrokerRejected):
    pass


class SessionExpired(BrokerRejected):
    pass


class NotEntitled(BrokerRejected):
    pass


class NoDesktopAvailable(BrokerRejected):
    pass


_BY_CODE: dict[str, type[BrokerRejected]] = {
    "invalid_credentials": InvalidCredentials,
    "invalid_token": SessionExpired,
    "not_entitled": NotEntitled,
    "no_machine_available": NoDesktopAvailable,
}

_HINTS: dict[type[BrokerRejected], str] = {
    InvalidCredentials: "Check your username and password and try again.",
    SessionExpired: "Sign in again.",
}


class BrokerClient:
    """One broker, one signed-in user at most.

    TLS is checked against the system's CAs, or, when ``pins`` holds a pin
    for this broker, against exactly the pinned certificate. ``transport``
    lets tests drive an in-process broker.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        pins: trust.PinStore | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_url(base_url)
        self._timeout = timeout
        self._pin = pins.get(trust.origin(self.base_url)) if pins else None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=trust.ssl_context(self._pin),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "Rubicon-launcher"},
        )
        self._token: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    def login(self, *, username: str, password: str) -> SignIn:
        data = self._call("POST", "/auth/login", json={"username": username, "password": password})
        try:
            user = data["user"]
            sign_in = SignIn(
                user=User(username=user["username"], display_name=user["display_name"]),
                token=data["token"],
                expires_at=datetime.fromisoformat(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise self._unreadable("sign-in") from e
        self._token = sign_in.token
        log.broker.info("signed in to %s as %s", self.base_url, sign_in.user.username)
        return sign_in

    def logout(self) -> None:
        if self._token is None:
            return
        try:
            self._call("POST", "/auth/logout")
        finally:
            self._token = None

    def desktops(self) -> list[Desktop]:
        data = self._call("GET", "/desktops")
        try:
            return [_desktop(item) for item in data["desktops"]]
        except (KeyError, TypeError, ValueError) as e:
            raise self._unreadable("desktop list") from e

    def launch(self, desktop_id: str, *, protocol: Protocol | None = None) -> Launch:
        body = {"protocol": protocol.value} if protocol else {}
        data = self._call("POST", f"/desktops/{_segment(desktop_id)}/launch", json=body)
        if isinstance(data, dict) and data.get("status") == "starting":
            raise DesktopStarting(
                str(data.get("detail") or "Your desktop is starting."),
                session_id=str(data.get("session_id", "")),
                retry_after=int(data.get("retry_after") or 10),
            )
        try:
            return _launch(data)
        except (KeyError, TypeError, ValueError) as e:
            raise self._unreadable("connection details") from e

    def logoff(self, session_id: str) -> None:
        self._call("POST", f"/sessions/{_segment(session_id)}/logoff")

    def heartbeat(self, session_id: str) -> None:
        """Tell the broker the client of ``session_id`` is still running (204)."""
        self._call("POST", f"/sessions/{_segment(session_id)}/heartbeat")

    def disconnect(self, session_id: str) -> None:
        """Tell the broker the client closed but the session goes on (204).

        The machine stays the user's; Reconnect goes back to it.
        """
        self._call("POST", f"/sessions/{_segment(session_id)}/disconnect")

    def healthz(self) -> bool:
        """True if the broker answers ``GET /healthz`` with 200; no sign-in needed."""
        try:
            response = self._http.get("/healthz")
        except httpx.HTTPError as e:
            raise BrokerUnreachable(
                f"Cannot reach the broker at {self.base_url}.",
                hint="Check the server address and your network connection.",
            ) from e
        return response.status_code == 200

    def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            response = self._http.request(method, API + path, json=json, headers=headers)
        except httpx.TimeoutException as e:
            raise BrokerUnreachable(
                f"The broker at {self.base_url} did not answer in time.",
                hint="It may be overloaded or the network is slow; try again shortly.",
            ) from e
        except httpx.ConnectError as e:
            if _certificate_refused(e):
                raise self._trust_problem() from e
            log.broker.warning("cannot reach %s: %s", self.base_url, e)
            raise BrokerUnreachable(
                f"Cannot reach the broker at {self.base_url}.",
                hint="Check the server address and your network connection.",
            ) from e
        except httpx.TransportError as e:
            log.broker.warning("cannot reach %s: %s", self.base_url, e)
            raise BrokerUnreachable(
                f"Cannot reach the broker at {self.base_url}.",
                hint="Check the server address and your network connection.",
            ) from e
        log.broker.debug("%s %s -> %s", method, path, response.status_code)
        if response.is_success:
            return response.json() if response.content else None
        raise self._rejection(response)

    def _trust_problem(self) -> BrokerError:
        try:
            shown = trust.presented(self.base_url, timeout=self._timeout)
        except (OSError, ssl.SSLError) as e:
            return BrokerUnreachable(
                f"The broker at {self.base_url} refused a secure connection ({e}).",
                hint="Check the server address; ask your administrator about its certificate.",
            )
        if self._pin is not None and shown.fingerprint != self._pin.fingerprint:
            log.broker.warning(
                "%s: certificate %s is not the pinned %s",
                shown.origin,
                shown.fingerprint,
                self._pin.fingerprint,
            )
            return CertificateChanged(shown, pinned=self._pin.fingerprint)
        return UntrustedCertificate(shown)

    def _rejection(self, response: httpx.Response) -> BrokerError:
        try:
            problem = response.json()
            code, detail = problem["code"], problem["detail"]
        except (ValueError, KeyError, TypeError):
            return BrokerProtocolError(
                f"The server at {self.base_url} answered HTTP {response.status_code}, "
                "which is not a broker reply.",
                hint="Check that the address points to a Rubicon broker.",
            )
        if code == "invalid_token":
            self._token = None
        cls = _BY_CODE.get(code, BrokerRejected)
        return cls(
            str(detail), code=str(code), status=response.status_code, hint=_HINTS.get(cls, "")
        )

    def _unreadable(self, what: str) -> BrokerProtocolError:
        return BrokerProtocolError(
            f"The broker at {self.base_url} sent a {what} this launcher cannot read.",
            hint="The broker may be a newer version; ask your administrator.",
        )


def _certificate_refused(error: BaseException) -> bool:
    """Whether the TLS handshake failed on the certificate (not on the network)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def normalize_url(url: str) -> str:
    """Accept ``host``, ``host:port`` or a full URL; default to https."""
    url = url.strip()
    if not url:
        raise ValueError("Enter the broker's address, for example broker.example.com.")
    if "://" not in url:
        url = "https://" + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{url} is not a broker address; use https://host[:port].")
    return str(parsed).rstrip("/")


def _segment(value: str) -> str:
    # Ids go into the path: refuse anything that could climb out of it.
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"not a valid id: {value!r}")
    return value


def _desktop(item: dict[str, Any]) -> Desktop:
    session = item.get("session")
    return Desktop(
        id=item["id"],
        name=item["name"],
        protocols=tuple(Protocol(p) for p in item["protocols"]),
        default_protocol=Protocol(item["default_protocol"]),
        state=DesktopState(item["state"]),
        session=(
            SessionRef(id=session["id"], state=session["state"], machine=session["machine"])
            if session
            else None
        ),
    )


def _optional(conn: dict[str, Any], key: str, kind: type[Any]) -> Any:
    """``conn[key]`` if present and not null; ValueError if it has the wrong type."""
    value = conn.get(key)
    if value is None:
        return None
    # bool is an int in Python: never take True for a port number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"connection.{key} must be {kind.__name__}")
    return value


def _port(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"{what} is not a port number")
    return value


def _gateway(conn: dict[str, Any]) -> GatewayInfo | None:
    gateway = _optional(conn, "gateway", dict)
    if gateway is None:
        return None
    host = gateway["host"]
    if not isinstance(host, str) or not host:
        raise ValueError("connection.gateway.host must be a host name")
    port = gateway.get("port")
    return GatewayInfo(host=host, port=443 if port is None else _port(port, "gateway.port"))


def _launch(data: dict[str, Any]) -> Launch:
    conn = data["connection"]
    expires = conn.get("expires_at")
    tls_port = _optional(conn, "tls_port", int)
    return Launch(
        session_id=data["session_id"],
        connection=ConnectionInfo(
            protocol=Protocol(conn["protocol"]),
            host=conn["host"],
            port=int(conn["port"]),
            tls=bool(conn.get("tls", False)),
            username=conn.get("username"),
            password=conn.get("password"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            domain=_optional(conn, "domain", str),
            tls_port=None if tls_port is None else _port(tls_port, "tls_port"),
            ca=_optional(conn, "ca", str),
            host_subject=_optional(conn, "host_subject", str),
            cert_fingerprint=_optional(conn, "cert_fingerprint", str),
            gateway=_gateway(conn),
            sso=bool(_optional(conn, "sso", bool)),
        ),
    )
