"""``rubicon://`` links: a broker and, optionally, a desktop to open.

    rubicon://broker.example.com/engineering?protocol=rdp&user=alice
    rubicon://broker.example.com:8443/
    rubicon://127.0.0.1:8080/demo?tls=0      (plain HTTP: loopback brokers only)

A link comes from outside (a mail, a web page), so everything in it is
checked; a bad link is refused with a sentence that says what is wrong.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from launcher.core.errors import RubiconError
from launcher.core.kinds import Protocol
from launcher.core.texts import Text

SCHEME = "rubicon"
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9._@\\-]{1,128}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_KNOWN = {"protocol", "user", "tls"}


class LinkError(RubiconError, ValueError):
    """A link we will not follow; ``str()`` says why (its message, a :class:`Text`).

    On the launcher's error tree (``launcher.core.errors``), and a ``ValueError``.
    """


@dataclass(frozen=True, slots=True)
class Link:
    server: str  # a broker URL: https://host[:port]
    desktop: str | None = None
    protocol: Protocol | None = None
    user: str | None = None


def parse(text: str) -> Link:
    """The link in ``text``, or :class:`LinkError`."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() != SCHEME:
        raise LinkError(
            Text(
                "link.not_rubicon",
                "Not a Rubicon link: it must start with {scheme}://",
                scheme=SCHEME,
            )
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise LinkError(
            Text("link.bad_port", "The link's port is not a number from 1 to 65535.")
        ) from None
    if not host or not _valid_host(host):
        raise LinkError(
            Text("link.no_broker", "The link does not name a broker: use rubicon://BROKER/DESKTOP.")
        )
    if parts.username or parts.password:
        raise LinkError(
            Text(
                "link.credentials",
                "Links must not carry a username or password before the broker's name.",
            )
        )

    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - _KNOWN)
    if unknown:
        raise LinkError(
            Text(
                "link.unknown_options",
                "The link has options Rubicon does not know: {options}.",
                options=", ".join(unknown),
            )
        )
    if any(len(v) > 1 for v in query.values()):
        raise LinkError(
            Text("link.repeated_option", "The link repeats an option; give each at most once.")
        )
    opts = {k: v[0] for k, v in query.items()}

    tls = opts.get("tls", "1")
    if tls not in ("0", "1"):
        raise LinkError(Text("link.bad_tls", "tls= takes 0 or 1."))
    if tls == "0" and not _loopback(host):
        raise LinkError(
            Text(
                "link.plain_http",
                "Plain HTTP (tls=0) is allowed only for a broker on this computer.",
            )
        )
    scheme = "https" if tls == "1" else "http"
    shown = f"[{host}]" if ":" in host else host
    # As the sign-in form writes it (broker.normalize_url): no default port, so
    # rubicon://b:443/ names the broker https://b the user is signed in to.
    default = 443 if scheme == "https" else 80
    server = f"{scheme}://{shown}" + (f":{port}" if port and port != default else "")

    path = unquote(parts.path).strip("/")
    desktop = path or None
    if desktop is not None and not _ID.match(desktop):
        raise LinkError(
            Text(
                "link.bad_desktop",
                "{desktop} is not a desktop name a broker would use.",
                desktop=repr(desktop),
            )
        )

    protocol = None
    if "protocol" in opts:
        try:
            protocol = Protocol(opts["protocol"].lower())
        except ValueError:
            names = ", ".join(p.value for p in Protocol)
            raise LinkError(
                Text("link.bad_protocol", "protocol= takes one of {names}.", names=names)
            ) from None

    user = opts.get("user") or None
    if user is not None and not _USER.match(user):
        raise LinkError(Text("link.bad_user", "user= is not a valid username."))
    return Link(server=server, desktop=desktop, protocol=protocol, user=user)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOST.match(host))
    return True


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
