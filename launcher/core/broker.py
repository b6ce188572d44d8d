"""Talk to a Rubicon broker: typed calls over httpx, and their errors.

Every failure a caller can meet is a :class:`BrokerError`, a branch of the
launcher's one error tree (drawn whole in ``launcher.core.errors``, whose root
carries the sentence to show the user, ``message``, and what to do about it,
``hint``)::

    BrokerError
    ├── BrokerUnreachable        no answer: down, wrong address, timeout
    ├── UntrustedCertificate     TLS: no trusted CA and no pin; ask the user (first use)
    ├── CertificateChanged       TLS: pinned, and now another certificate; refuse
    ├── BrokerProtocolError      an answer we cannot read: not a Rubicon broker?
    ├── DesktopStarting          202: the machine is powering on; launch again later
    └── BrokerRejected           the broker said no (problem+json, ``code``)
        ├── InvalidCredentials   wrong username or password
        ├── OtpRequired          right password; the user has TOTP: ask for the code
        ├── InvalidOtp           the code is wrong, too old or used already
        ├── OtpRequiredForPool   the pool wants a sign-in with a code: sign in again
        ├── TooManyAttempts      429: locked for ``retry_after`` seconds
        │   └── AccountLocked    ... this account (not the whole address)
        ├── BrokerBusy           503: directory, database or hypervisor down; ``retry_after``
        ├── SessionExpired       the sign-in token is no longer valid
        ├── NotEntitled          the user may not use that desktop
        ├── ActionNotAllowed     the pool does not let its users reset/restart
        ├── NoDesktopAvailable   every machine in the pool is taken
        └── DesktopFailed        the machine is dead, gone, did not start, has no
                                 console, or could not be made

Before any request, an address the client refuses is an
:class:`AddressRefused` (a branch of its own, and a ``ValueError``)::

    AddressRefused           normalize_url: that is no broker's address
    └── PlainHttpRefused     plain HTTP to a broker off this computer that
                             the admin did not allow

The client is synchronous on purpose: the UI runs it off the GUI thread.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Collection
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from launcher.core.lazy import Lazy

if TYPE_CHECKING:
    import ssl

    import httpx
else:  # not needed to show the first window
    httpx = Lazy("httpx")
    ssl = Lazy("ssl")

from launcher.core import log, trust
from launcher.core.errors import RubiconError
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
from launcher.core.texts import Text

__all__ = [
    "AccountLocked",
    "ActionNotAllowed",
    "AddressRefused",
    "BrokerBusy",
    "BrokerClient",
    "BrokerError",
    "BrokerProtocolError",
    "BrokerRejected",
    "BrokerUnreachable",
    "CertificateChanged",
    "DesktopFailed",
    "DesktopStarting",
    "InvalidCredentials",
    "InvalidOtp",
    "NoDesktopAvailable",
    "NotEntitled",
    "OtpRequired",
    "OtpRequiredForPool",
    "PlainHttpRefused",
    "SessionExpired",
    "TooManyAttempts",
    "UntrustedCertificate",
    "new_idempotency_key",
]

API = "/api/v1"
KEEPALIVE_EXPIRY_S = 2.0


class BrokerError(RubiconError):
    """Base of every broker failure; ``str()`` is the user-facing message."""


class BrokerUnreachable(BrokerError):
    pass


class AddressRefused(RubiconError, ValueError):
    """What was given as the broker's address is none the client will use.

    A ``ValueError`` too (as it was before the tree): callers that check an
    address catch that. Refused before any request.
    """


class PlainHttpRefused(AddressRefused):
    """A password would go over plain HTTP to a broker that is not on this computer."""

    def __init__(self, host: str) -> None:
        super().__init__(
            Text(
                "broker.plain_http",
                "Rubicon will not send your password to {host} over plain HTTP: anyone on "
                "the network between you could read it.",
                host=host,
            ),
            hint=Text(
                "broker.plain_http.hint",
                "Use the broker's https:// address. If this broker has no HTTPS, ask your "
                "administrator: only they can allow plain HTTP for it, in Rubicon's "
                "system settings (plain_http_hosts).",
            ),
        )
        self.host = host


def check_plain_http(url: str, *, allowed_hosts: Collection[str] = ()) -> None:
    """:class:`PlainHttpRefused` for ``http://`` to a host that is neither loopback
    nor one of ``allowed_hosts`` (the admin's ``plain_http_hosts``); else nothing.

    ``url`` as :func:`normalize_url` returns it.
    """
    parsed = httpx.URL(url)
    if parsed.scheme != "http":
        return
    host = parsed.host.lower()
    allowed = {h.strip().strip("[]").rstrip(".").lower() for h in allowed_hosts}
    if host in allowed or is_loopback(host):
        return
    raise PlainHttpRefused(host)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): this computer, by name alone."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BrokerProtocolError(BrokerError):
    pass


class UntrustedCertificate(BrokerError):
    """Neither a CA this computer trusts nor a pin vouches for the broker."""

    def __init__(self, presented: trust.Presented) -> None:
        super().__init__(
            Text(
                "broker.untrusted",
                "The broker at {origin} uses a certificate this computer does not trust.",
                origin=presented.origin,
            ),
            hint=Text(
                "broker.untrusted.hint",
                "Compare its fingerprint with the one your administrator gave you "
                "before you trust it.",
            ),
        )
        self.presented = presented


class CertificateChanged(BrokerError):
    """The broker was pinned, and now shows a different certificate.

    ``pinned``: the fingerprint trusted before; ``presented``: what it shows now.
    """

    def __init__(self, presented: trust.Presented, *, pinned: str) -> None:
        super().__init__(
            Text(
                "broker.certificate_changed",
                "The broker at {origin} presented a different certificate from the "
                "one you trusted before. Someone may be intercepting the connection, or the "
                "certificate was replaced. Rubicon will not connect.",
                origin=presented.origin,
            ),
            hint=Text(
                "broker.certificate_changed.hint",
                "Ask your administrator whether the broker's certificate changed, and "
                "compare its new fingerprint. Trusted before: {pinned}. Presented now: "
                "{fingerprint}.",
                pinned=pinned,
                fingerprint=presented.fingerprint,
            ),
        )
        self.presented = presented
        self.pinned = pinned


class DesktopStarting(BrokerError):
    """The broker is powering the machine on (202); launch again after ``retry_after`` s."""

    def __init__(self, message: str, *, session_id: str, retry_after: int) -> None:
        super().__init__(
            message,
            hint=Text(
                "broker.starting.hint", "Try again in {seconds} seconds.", seconds=retry_after
            ),
        )
        self.session_id = session_id
        self.retry_after = retry_after


class BrokerRejected(BrokerError):
    """The broker answered with a problem document.

    ``retry_after``: seconds from the ``Retry-After`` header (429, 503), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int,
        hint: str = "",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class InvalidCredentials(BrokerRejected):
    pass


class OtpRequired(BrokerRejected):
    """Not a failure: the password was right; send the login again with ``otp``."""


class InvalidOtp(BrokerRejected):
    pass


class OtpRequiredForPool(BrokerRejected):
    pass


class TooManyAttempts(BrokerRejected):
    """Sign-ins from this address are refused until ``retry_after`` seconds have passed."""


class AccountLocked(TooManyAttempts):
    """This account is locked for ``retry_after`` seconds, even with the right password."""


class BrokerBusy(BrokerRejected):
    """503: the broker cannot reach its directory or database; try after ``retry_after``."""


class ActionNotAllowed(BrokerRejected):
    pass


class SessionExpired(BrokerRejected):
    pass


class NotEntitled(BrokerRejected):
    pass


class NoDesktopAvailable(BrokerRejected):
    pass


class DesktopFailed(BrokerRejected):
    """The broker found the desktop broken (its ``detail`` says how and what to do)."""


_BY_CODE: dict[str, type[BrokerRejected]] = {
    "invalid_credentials": InvalidCredentials,
    "otp_required": OtpRequired,
    "invalid_otp": InvalidOtp,
    "otp_required_for_pool": OtpRequiredForPool,
    "account_locked": AccountLocked,
    "too_many_attempts": TooManyAttempts,
    "directory_unavailable": BrokerBusy,
    "database_unavailable": BrokerBusy,
    "invalid_token": SessionExpired,
    "not_entitled": NotEntitled,
    "action_not_allowed": ActionNotAllowed,
    "no_machine_available": NoDesktopAvailable,
    "pool_full": NoDesktopAvailable,
    "hypervisor_unavailable": BrokerBusy,
    "machine_unreachable": DesktopFailed,
    "machine_gone": DesktopFailed,
    "power_on_timeout": DesktopFailed,
    "no_console": DesktopFailed,
    "storage_full": DesktopFailed,
}

_HINTS: dict[type[BrokerRejected], Text] = {
    InvalidCredentials: Text(
        "broker.invalid_credentials.hint", "Check your username and password and try again."
    ),
    SessionExpired: Text("broker.session_expired.hint", "Sign in again."),
}


def _says_what_to_do(detail: str) -> bool:
    """Whether the broker's own sentence already tells the user what to do next."""
    lowered = detail.lower()
    return any(advice in lowered for advice in _ADVICE)


_ADVICE = ("try again", "sign in again")


def new_idempotency_key() -> str:
    """A fresh key for one launch the user asked for; reuse it only to ask again."""
    return str(uuid.uuid4())


def wait_in_words(seconds: int) -> Text:
    """``5 minutes``, ``1 minute``, ``40 seconds``: for "try again in ..."."""
    if seconds >= 90:
        return Text("wait.minutes", "{count} minutes", count=(seconds + 59) // 60)
    if seconds >= 60:
        return Text("wait.minute", "1 minute")
    if seconds <= 1:
        return Text("wait.second", "1 second")
    return Text("wait.seconds", "{count} seconds", count=seconds)


def _retry_hint(cls: type[BrokerRejected], retry_after: int | None) -> str:
    if retry_after is None:
        return ""
    when = wait_in_words(retry_after)
    if issubclass(cls, TooManyAttempts):
        return Text("broker.locked.hint", "You can try again in {wait}.", wait=when)
    return Text("broker.busy.hint", "Try again in {wait}.", wait=when)


def _retry_after(response: httpx.Response) -> int | None:
    """``Retry-After`` in whole seconds; an HTTP date or garbage counts as absent."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return int(value)
    return None


class BrokerClient:
    """One broker, one signed-in user at most.

    TLS is checked against the system's CAs, or, when ``pins`` holds a pin
    for this broker, against exactly the pinned certificate. ``transport``
    lets tests drive an in-process broker. With ``plain_http_hosts`` (the
    sign-in form passes the admin's list), plain HTTP to any other host than
    those and loopback is refused (:class:`PlainHttpRefused`) before any
    request; None leaves it to the caller (the kiosk's broker is the admin's).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        pins: trust.PinStore | None = None,
        transport: httpx.BaseTransport | None = None,
        plain_http_hosts: Collection[str] | None = None,
    ) -> None:
        self.base_url = normalize_url(base_url)
        if plain_http_hosts is not None:
            check_plain_http(self.base_url, allowed_hosts=plain_http_hosts)
        self._timeout = timeout
        self._pins = pins
        self._origin = trust.origin(self.base_url)
        self._pin = pins.get(self._origin) if pins else None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=trust.ssl_context(self._pin),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "Rubicon-launcher"},
            # Under the broker's 5 s keep-alive (uvicorn's default): a request on
            # a connection the server is closing that moment fails with ReadError.
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S),
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
    def closed(self) -> bool:
        """Whether close() was called: no connection of this client's is left open."""
        return self._http.is_closed

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    def login(self, *, username: str, password: str, otp: str | None = None) -> SignIn:
        """Sign in; ``otp`` is the TOTP code, sent after an :class:`OtpRequired`."""
        body = {"username": username, "password": password}
        if otp:
            body["otp"] = otp
        data = self._call("POST", "/auth/login", json=body)
        try:
            user = data["user"]
            role = user.get("role") or "user"
            if not isinstance(role, str):
                raise TypeError("user.role must be a string")
            sign_in = SignIn(
                user=User(username=user["username"], display_name=user["display_name"], role=role),
                token=data["token"],
                expires_at=datetime.fromisoformat(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise self._unreadable(Text("broker.answer.sign_in", "sign-in")) from e
        self._token = sign_in.token
        log.broker.info("signed in to %s as %s", self.base_url, sign_in.user.username)
        if self._pins is not None and self._pin is not None:
            self._follow_rotation(self._pins, self._pin)
        return sign_in

    def _follow_rotation(self, pins: trust.PinStore, pin: trust.Pin) -> None:
        """Keep a pinned broker's planned certificate rotation: ask ``GET /api/v1/tls``.

        Over the pinned connection: a certificate the broker announces as its
        next is kept beside the pin and accepted too; once the broker presents
        it, it becomes the pin alone. A broker without the route (older) or
        an answer we cannot read changes nothing.
        """
        try:
            response = self._http.get(API + "/tls")
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as e:
            log.broker.debug("%s: no certificate rotation news (%s)", self.base_url, e)
            return
        served = _peer_fingerprint(response)
        if served and served == pin.next_fingerprint:
            self._pin = pin = pins.pin(self._origin, pem=pin.next_pem)
            log.broker.info("%s now presents the certificate it announced", self.base_url)
        if not isinstance(body, dict):
            return
        announced = body.get("next")
        pem: str | None = None
        if isinstance(announced, dict) and _is_certificate(
            announced.get("pem"), announced.get("fingerprint")
        ):
            pem = str(announced["pem"])
        elif announced is not None:
            log.broker.warning("%s announced a next certificate that does not fit", self.base_url)
            return
        if (pem or "") != pin.next_pem:
            self._pin = pins.announce(self._origin, pem=pem) or pin

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
            raise self._unreadable(Text("broker.answer.desktops", "desktop list")) from e

    def launch(
        self,
        desktop_id: str,
        *,
        protocol: Protocol | None = None,
        idempotency_key: str | None = None,
    ) -> Launch:
        """Claim or reconnect a machine; :class:`DesktopStarting` while it powers on.

        ``idempotency_key``: one per launch the user asked for (see
        :func:`new_idempotency_key`), sent again unchanged while polling a
        starting machine, so a retry never claims a second one.
        """
        body = {"protocol": protocol.value} if protocol else {}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._request(
            "POST", f"/desktops/{_segment(desktop_id)}/launch", json=body, headers=headers
        )
        data = response.json() if response.content else None
        if response.status_code == 202 or (
            isinstance(data, dict) and data.get("status") == "starting"
        ):
            if not isinstance(data, dict):
                raise self._unreadable(Text("broker.answer.starting", "start-up notice"))
            retry = data.get("retry_after")
            if isinstance(retry, bool) or not isinstance(retry, int) or retry < 1:
                retry = _retry_after(response) or 10
            detail = data.get("detail")
            raise DesktopStarting(
                str(detail) if detail else Text("broker.starting", "Your desktop is starting."),
                session_id=str(data.get("session_id", "")),
                retry_after=min(retry, 300),
            )
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return _launch(data)
        except (KeyError, TypeError, ValueError) as e:
            raise self._unreadable(Text("broker.answer.connection", "connection details")) from e

    def logoff(self, session_id: str) -> None:
        self._call("POST", f"/sessions/{_segment(session_id)}/logoff")

    def reset(self, session_id: str) -> None:
        """Power-cycle the session's machine (where the pool allows it); unsaved work is lost."""
        self._call("POST", f"/sessions/{_segment(session_id)}/reset")

    def restart(self, session_id: str) -> None:
        """Reboot the session's machine (where the pool allows it)."""
        self._call("POST", f"/sessions/{_segment(session_id)}/restart")

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
        except httpx.ConnectError as e:
            if _certificate_refused(e):  # not the network: say so, as the other calls do
                raise self._trust_problem() from e
            raise self._unreachable() from e
        except httpx.HTTPError as e:
            raise self._unreachable() from e
        return response.status_code == 200

    def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        response = self._request(method, path, json=json)
        return response.json() if response.content else None

    def _request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """The successful response, or the :class:`BrokerError` that says why not."""
        headers = dict(headers or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._http.request(method, API + path, json=json, headers=headers)
        except httpx.TimeoutException as e:
            raise BrokerUnreachable(
                Text(
                    "broker.timeout",
                    "The broker at {url} did not answer in time.",
                    url=self.base_url,
                ),
                hint=Text(
                    "broker.timeout.hint",
                    "It may be overloaded or the network is slow; try again shortly.",
                ),
            ) from e
        except httpx.ConnectError as e:
            if _certificate_refused(e):
                raise self._trust_problem() from e
            log.broker.warning("cannot reach %s: %s", self.base_url, e)
            raise self._unreachable() from e
        except httpx.TransportError as e:
            log.broker.warning("cannot reach %s: %s", self.base_url, e)
            raise self._unreachable() from e
        log.broker.debug("%s %s -> %s", method, path, response.status_code)
        if response.is_success:
            try:
                if response.content:
                    response.json()
            except ValueError as e:
                raise self._unreadable(Text("broker.answer.reply", "reply")) from e
            return response
        raise self._rejection(response)

    def _unreachable(self) -> BrokerUnreachable:
        return BrokerUnreachable(
            Text("broker.unreachable", "Cannot reach the broker at {url}.", url=self.base_url),
            hint=Text(
                "broker.unreachable.hint", "Check the server address and your network connection."
            ),
        )

    def _trust_problem(self) -> BrokerError:
        try:
            shown = trust.presented(self.base_url, timeout=self._timeout)
        except (OSError, ssl.SSLError) as e:
            return BrokerUnreachable(
                Text(
                    "broker.tls_refused",
                    "The broker at {url} refused a secure connection ({why}).",
                    url=self.base_url,
                    why=str(e),
                ),
                hint=Text(
                    "broker.tls_refused.hint",
                    "Check the server address; ask your administrator about its certificate.",
                ),
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
                Text(
                    "broker.not_a_broker",
                    "The server at {url} answered HTTP {status}, which is not a broker reply.",
                    url=self.base_url,
                    status=response.status_code,
                ),
                hint=Text(
                    "broker.not_a_broker.hint", "Check that the address points to a Rubicon broker."
                ),
            )
        if code == "invalid_token":
            self._token = None
        cls = _BY_CODE.get(code, BrokerRejected)
        retry_after = _retry_after(response)
        return cls(
            str(detail),
            code=str(code),
            status=response.status_code,
            # The broker's sentence may already say what to do: never say it twice.
            hint=""
            if _says_what_to_do(str(detail))
            else _HINTS.get(cls) or _retry_hint(cls, retry_after),
            retry_after=retry_after,
        )

    def _unreadable(self, what: Text) -> BrokerProtocolError:
        """``what``: the kind of answer, as a Text of its own (``"desktop list"``)."""
        return BrokerProtocolError(
            Text(
                "broker.unreadable",
                "The broker at {url} sent a {what} this launcher cannot read.",
                url=self.base_url,
                what=what,
            ),
            hint=Text(
                "broker.unreadable.hint",
                "The broker may be a newer version; ask your administrator.",
            ),
        )


def _peer_fingerprint(response: httpx.Response) -> str:
    """The fingerprint of the certificate the connection of ``response`` was made with."""
    try:
        stream = response.extensions["network_stream"]
        der = stream.get_extra_info("ssl_object").getpeercert(True)
    except (KeyError, AttributeError, TypeError, ValueError):
        return ""
    return trust.fingerprint(der) if isinstance(der, bytes) else ""


def _is_certificate(pem: object, stated: object) -> bool:
    """Whether ``pem`` is a PEM certificate whose SHA-256 fingerprint is ``stated``."""
    if not isinstance(pem, str) or not isinstance(stated, str):
        return False
    try:
        der = ssl.PEM_cert_to_DER_cert(pem)
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ValueError, ssl.SSLError):
        return False
    return trust.fingerprint(der) == stated.upper()


def _certificate_refused(error: BaseException) -> bool:
    """Whether the TLS handshake failed on the certificate (not on the network)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def normalize_url(url: str) -> str:
    """Accept ``host``, ``host:port`` or a full URL; default to https.

    :class:`AddressRefused` (its message says what is wrong) for
    anything that is not the address of a server: a host name that could not
    be one, spaces, a port out of range, a query, or a username and password
    written into the address.
    """
    given = url.strip()
    if not given:
        raise AddressRefused(
            Text(
                "broker.address.empty",
                "Enter the broker's address, for example broker.example.com.",
            )
        )
    full = given if "://" in given else "https://" + given
    try:
        parsed = httpx.URL(full)
    except httpx.InvalidURL:
        parsed = None
    if parsed is not None and parsed.scheme not in ("http", "https"):
        raise AddressRefused(
            Text(
                "broker.address.scheme",
                "{address} is not a broker address; use https://host[:port].",
                address=given,
            )
        )
    if parsed is not None and parsed.userinfo:
        # Never repeat it: what is before the @ may be a password.
        raise AddressRefused(
            Text(
                "broker.address.userinfo",
                "Leave your username and password out of the broker's address; "
                "enter them in their own fields.",
            )
        )
    if (
        parsed is None
        or any(c.isspace() or not c.isprintable() for c in given)
        or not _valid_host(parsed.host)
        or not (parsed.port is None or 0 < parsed.port < 65536)
        or parsed.query
        or parsed.fragment
    ):
        raise AddressRefused(
            Text(
                "broker.address.bad",
                "“{address}” is not a valid address. Enter the broker's address, for "
                "example broker.example.com or https://broker.example.com:8443.",
                address=given,
            )
        )
    return str(parsed.copy_with(host=parsed.host.rstrip(".").lower())).rstrip("/")


# A DNS label: letters, digits, "-" inside, "_" where intranets use it.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def _valid_host(host: str) -> bool:
    """Whether ``host`` (as httpx parsed it) can name a server: an IP address or a DNS name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    return 0 < len(ascii_host) <= 253 and all(_LABEL.match(label) for label in labels)


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
        allow_reset=item.get("allow_reset") is True,
        allow_restart=item.get("allow_restart") is True,
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


# What a plain proxy URL is made of: no user (@), query (?), fragment (#),
# percent escape, space or control character can pass.
_PROXY_URL = re.compile(r"[A-Za-z0-9._:/\[\]-]+")


def _proxy(conn: dict[str, Any]) -> str | None:
    """An HTTP CONNECT proxy's URL: http(s), a host and a port, and nothing else."""
    proxy: str | None = _optional(conn, "proxy", str)
    if proxy is None:
        return None
    if _PROXY_URL.fullmatch(proxy):
        try:
            parts = urlsplit(proxy)
            port = parts.port  # ValueError beyond 65535 or for a bad [address]
        except ValueError:
            parts, port = urlsplit(""), None
        if (
            parts.scheme in ("http", "https")
            and parts.hostname
            and _valid_host(parts.hostname)
            and port  # given, and not 0
            and parts.path in ("", "/")
        ):
            return proxy
    raise ValueError(
        "connection.proxy must be an http:// or https:// URL with a host and a port "
        f"and nothing else, like http://proxy.example.com:3128; got {proxy!r}"
    )


# A GUID as Hyper-V writes a VM's id: 8-4-4-4-12 hex digits, no braces.
_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _vmconnect(conn: dict[str, Any], protocol: Protocol) -> str | None:
    vmconnect: str | None = _optional(conn, "vmconnect", str)
    if vmconnect is None:
        return None
    if protocol is not Protocol.RDP:
        raise ValueError(f"connection.vmconnect is for RDP only, not {protocol.value}")
    if not _GUID.fullmatch(vmconnect):
        raise ValueError(f"connection.vmconnect must be a VM's GUID; got {vmconnect!r}")
    return vmconnect


def _launch(data: dict[str, Any]) -> Launch:
    conn = data["connection"]
    expires = conn.get("expires_at")
    tls_port = _optional(conn, "tls_port", int)
    protocol = Protocol(conn["protocol"])
    return Launch(
        session_id=data["session_id"],
        connection=ConnectionInfo(
            protocol=protocol,
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
            proxy=_proxy(conn),
            vmconnect=_vmconnect(conn, protocol),
        ),
    )
