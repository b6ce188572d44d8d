"""RDP: what every RDP client is given, and the .rdp file two of them read.

One module per client: ``freerdp`` (FreeRDP 2 and 3, Linux, and any OS whose
settings give its path), ``mstsc`` (Windows), ``macos`` (Microsoft's client
on macOS); ``rdpfile`` is the .rdp text ``mstsc`` and the macOS client open.
The password never goes on a command line (each client module says how it
gets there, if at all).

Certificates: ``/cert:`` has unified FreeRDP's certificate options since 2.0.0
(FreeRDP ChangeLog, #5880); 2.11.7 accepts ``/cert:tofu`` and
``/cert:deny,fingerprint:sha256:<hex>`` where the hex is lower or upper case
with colons between the bytes (without colons it did not match). A
fingerprint is an extra way to accept a certificate, not a pin: a certificate
already stored in FreeRDP's known_hosts2 is still accepted. ``ignore`` is only
used when an administrator set it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import check_host, plain_value, refuse_proxy
from launcher.core.protocols.driver import Launch
from launcher.core.texts import Text

__all__ = [
    "RDP_CLIENT",
    "Audio",
    "CertMode",
    "CertificatePolicy",
    "Gateway",
    "RdpOptions",
    "address",
    "check_connection",
    "check_port",
    "normalise_fingerprint",
    "options_for",
    "password_for",
]


class CertMode(enum.StrEnum):
    TOFU = "tofu"  # accept on first use, refuse a changed certificate later
    FINGERPRINT = "fingerprint"  # accept the certificate whose SHA-256 the broker gave
    IGNORE = "ignore"  # no check; only when an administrator set it


class Audio(enum.StrEnum):
    LOCAL = "local"  # play on this computer
    REMOTE = "remote"  # leave it on the remote computer
    OFF = "off"


_HEX_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class CertificatePolicy:
    """How the client checks the desktop's certificate; set by the administrator."""

    mode: CertMode = CertMode.TOFU
    fingerprint: str | None = None
    set_by_admin: bool = False

    def __post_init__(self) -> None:
        if self.mode is CertMode.IGNORE and not self.set_by_admin:
            raise ValueError("only an administrator may turn certificate checks off")
        if self.mode is CertMode.FINGERPRINT:
            if self.fingerprint is None:
                raise ValueError("a fingerprint policy needs the certificate's SHA-256")
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))
        elif self.fingerprint is not None:
            raise ValueError(f"a {self.mode.value} policy takes no fingerprint")


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as FreeRDP prints it: lower-case hex bytes joined by colons."""
    digits = re.sub(r"[\s:]", "", text).lower()
    if not _HEX_FINGERPRINT.fullmatch(digits):
        raise ValueError("not a SHA-256 fingerprint (64 hex digits, colons allowed)")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


@dataclass(frozen=True, slots=True)
class Gateway:
    """A Remote Desktop Gateway in front of the desktops.

    With ``use_sign_in`` the gateway gets the desktop's user name and
    password; otherwise ``username`` (and ``domain``) with ``password``.
    """

    host: str
    port: int = 443
    username: str | None = None
    domain: str | None = None
    use_sign_in: bool = True
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_host(self.host)
        check_port(self.port)
        if not self.use_sign_in and not self.username:
            raise ValueError("a gateway with its own sign-in needs a user name")
        for value, what in ((self.username, "gateway user"), (self.domain, "gateway domain")):
            if value is not None:
                plain_value(value, what)
        if self.password is not None:
            plain_value(self.password, "gateway password")


@dataclass(frozen=True, slots=True)
class RdpOptions:
    """What the user (and the administrator) chose for an RDP desktop.

    ``sso_password`` is the user's own password when the pool signs them in
    to the desktop (single sign-on); without it the broker's password for the
    connection is used, if it gave one.
    """

    fullscreen: bool = True
    width: int | None = None
    height: int | None = None
    multimon: bool = False
    clipboard: bool = True
    drives: tuple[tuple[str, str], ...] = ()
    audio: Audio = Audio.LOCAL
    # FreeRDP's /sound:sys: (pulse, alsa, ...). Leave it None: 2.11.7 given
    # sys:pulse without a PulseAudio server aborts the whole connection,
    # while plain /sound picks a backend that works.
    audio_system: str | None = None
    gateway: Gateway | None = None
    certificate: CertificatePolicy = field(default_factory=CertificatePolicy)
    domain: str | None = None
    sso_password: str | None = field(default=None, repr=False)
    title: str = ""

    def __post_init__(self) -> None:
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        for size in (self.width, self.height):
            if size is not None and not 200 <= size <= 16384:
                raise ValueError(f"window size out of range: {size}")
        for name, path in self.drives:
            for value, what in ((name, "drive name"), (path, "drive path")):
                plain_value(value, what)
                if not value or "," in value or ";" in value:
                    raise ValueError(f"{what} must be non-empty without ',' or ';': {value!r}")
        if self.audio_system is not None and not re.fullmatch(r"[a-z0-9_-]+", self.audio_system):
            raise ValueError(f"not an audio system name: {self.audio_system!r}")
        plain_value(self.title, "title")
        if self.domain is not None:
            plain_value(self.domain, "domain")
        if self.sso_password is not None:
            plain_value(self.sso_password, "password")


def check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return port


def address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    check_host(host)
    check_port(port)
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def password_for(connection: ConnectionInfo, options: RdpOptions) -> str | None:
    password = options.sso_password if options.sso_password is not None else connection.password
    if password is not None:
        plain_value(password, "password")
    return password


# A Hyper-V VM's id as VMConnect takes it: 8-4-4-4-12 hex digits, no braces.
_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
RDP_CLIENT = Text("client.rdp", "RDP client")


def check_connection(connection: ConnectionInfo) -> None:
    """ValueError for what no RDP client should be given; LaunchError for a proxy."""
    if connection.protocol is not Protocol.RDP:
        raise ValueError(f"not an RDP connection: {connection.protocol}")
    refuse_proxy(connection.proxy, RDP_CLIENT)
    if connection.username is not None:
        plain_value(connection.username, "user name")
    if connection.vmconnect is not None and not _GUID.fullmatch(connection.vmconnect):
        raise ValueError(f"not a VM id (GUID): {connection.vmconnect!r}")


def options_for(launch: Launch) -> RdpOptions:
    """The options for the launch's connection from the user's RDP settings.

    ValueError if it is not an RDP connection.
    """
    connection, preferences = launch.connection, launch.preferences
    if connection.protocol is not Protocol.RDP:
        raise ValueError(f"{launch.client.key} does not open {connection.protocol.value} desktops")
    chosen = preferences.rdp
    fullscreen = preferences.full_screen if chosen.fullscreen is None else chosen.fullscreen
    fullscreen = fullscreen or preferences.kiosk
    gateway = connection.gateway
    certificate = (
        CertificatePolicy(CertMode.FINGERPRINT, connection.cert_fingerprint)
        if connection.cert_fingerprint
        else CertificatePolicy(CertMode.TOFU)
    )
    return RdpOptions(
        fullscreen=fullscreen,
        width=chosen.width,
        height=chosen.height,
        multimon=chosen.multimon,
        clipboard=chosen.clipboard,
        drives=tuple(sorted(chosen.drives.items())),
        audio=Audio(chosen.audio),
        gateway=Gateway(gateway.host, gateway.port) if gateway else None,
        certificate=certificate,
        domain=connection.domain,
        sso_password=launch.sso_password,
        title=launch.title,
    )
