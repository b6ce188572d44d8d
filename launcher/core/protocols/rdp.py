"""RDP: FreeRDP on Linux, ``mstsc`` on Windows, Microsoft's client on macOS.

The password never goes on a command line:

* FreeRDP 2 reads it from stdin with ``/from-stdin:force``. Checked against
  Debian's xfreerdp 2.11.7: with ``/u:`` given it prompts ``Password: `` and
  reads one line; with a gateway user (``/gu:``) it then prompts
  ``Gateway Password: `` and reads a second line; a password with spaces,
  colons and non-ASCII letters read from a pipe signed in to
  ``freerdp-shadow-cli`` with NLA. With ``/g:`` alone the gateway uses the
  desktop's credentials and nothing more is read.
* FreeRDP 3 reads its whole command line from an inherited descriptor with
  ``/args-from:fd:N``, one argument a line. Upstream's option table
  (client/common/cmdline.h, FreeRDP 3.x) says the option "can not be combined
  with any other", so argv holds nothing but that option; an empty line ends
  the list. FreeRDP 3 is not packaged for Debian 12, so this was not run here.
* ``mstsc`` takes the password from a ``TERMSRV/<host>`` Windows credential the
  plan asks the supervisor to store right before the start and delete after
  (``launcher.core.wincred``); the .rdp file never holds it.
* Microsoft's macOS client cannot be handed a password; it asks for it.

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
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    AGAIN_OR_SEND_THE_LOG,
    STARTING_OR_OFF,
    TRY_AGAIN_OR_TELL,
    ClientNotFound,
    Credential,
    ExitReason,
    LaunchError,
    LaunchPlan,
    RemoveCredential,
    TempFile,
    check_host,
    fd_placeholder,
    file_placeholder,
    find_client,
    not_installed,
    plain_value,
)
from launcher.core.secret import Secret
from launcher.core.texts import Text

__all__ = [
    "Audio",
    "CertMode",
    "CertificatePolicy",
    "Gateway",
    "RdpOptions",
    "classify_line",
    "detect_freerdp_version",
    "exit_reason",
    "freerdp_arguments",
    "locate_freerdp",
    "locate_macos_app",
    "locate_mstsc",
    "plan_freerdp",
    "plan_macos",
    "plan_mstsc",
    "rdp_file",
]

# Debian 13 and Ubuntu 24.04 name FreeRDP 3's X11 client xfreerdp3; Fedora and
# Debian 12 (FreeRDP 2) call theirs xfreerdp. The SDL client takes the same
# arguments. Which major version it is comes from its --version output.
FREERDP_NAMES = ("xfreerdp3", "xfreerdp", "sdl-freerdp3", "sdl-freerdp")
FREERDP_DIRS = {
    "linux": ("/usr/bin", "/usr/local/bin", "/opt/freerdp/bin"),
    "windows": (r"C:\Program Files\FreeRDP",),
    "macos": ("/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin"),
}
MSTSC_NAMES = ("mstsc",)
MSTSC_DIRS = (r"C:\Windows\System32",)
# Microsoft renamed "Microsoft Remote Desktop" to "Windows App" in 2024.
MACOS_APPS = ("Windows App", "Microsoft Remote Desktop")
MACOS_APP_DIRS = ("/Applications", "~/Applications")

# What to install for the client each OS uses: FreeRDP on Linux, mstsc on
# Windows, Windows App on macOS.
INSTALL_HINT = {
    "linux": Text(
        "rdp.install.linux",
        "Install FreeRDP: sudo apt-get install freerdp3-x11 (Debian 13, Ubuntu 24.04) "
        "or sudo apt-get install freerdp2-x11 (Debian 12); Fedora: sudo dnf install freerdp.",
    ),
    "windows": Text(
        "rdp.install.windows",
        "Remote Desktop Connection (mstsc.exe) is part of Windows; if it is missing, "
        "ask your administrator to restore it.",
    ),
    "macos": Text(
        "rdp.install.macos",
        "Install Windows App (formerly Microsoft Remote Desktop) from the Mac App Store.",
    ),
}
# For FreeRDP where it is not the usual client.
FREERDP_HINT = {
    "linux": INSTALL_HINT["linux"],
    "windows": Text(
        "rdp.install_freerdp.windows",
        "Install FreeRDP from freerdp.com, or set its path in Settings.",
    ),
    "macos": Text(
        "rdp.install_freerdp.macos",
        "Install FreeRDP (brew install freerdp), or set its path in Settings.",
    ),
}

MIN_FREERDP = (2, 0, 0)  # /cert: and /from-stdin:force arrived with 2.0.0
# How long .rdp files and the TERMSRV credential are kept for mstsc and the
# macOS client: they read them while connecting, not at exit.
RDP_FILE_GRACE = 30.0


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
        _check_port(self.port)
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


def _check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return port


def _address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    check_host(host)
    _check_port(port)
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _password(connection: ConnectionInfo, options: RdpOptions) -> str | None:
    password = options.sso_password if options.sso_password is not None else connection.password
    if password is not None:
        plain_value(password, "password")
    return password


def _check_rdp(connection: ConnectionInfo) -> None:
    if connection.protocol is not Protocol.RDP:
        raise ValueError(f"not an RDP connection: {connection.protocol}")
    if connection.username is not None:
        plain_value(connection.username, "user name")


# --- FreeRDP ---------------------------------------------------------------

_VERSION = re.compile(r"FreeRDP version (\d+)\.(\d+)(?:\.(\d+))?")


def detect_freerdp_version(output: str) -> tuple[int, int, int] | None:
    """The version in ``xfreerdp --version`` output, or None.

    FreeRDP prints ``This is FreeRDP version 2.11.7 (2.11.7)``. Note that
    xfreerdp 2.x needs a display even for --version: run it with the user's
    DISPLAY, or it exits 1 with "failed to open display".
    """
    match = _VERSION.search(output)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _gateway_value(value: str) -> str:
    """A value inside FreeRDP 3's comma-separated ``/gateway:`` option.

    FreeRDP 3 splits the option at commas and then drops one backslash before
    any character, and an unescaped quote silently drops the gateway: escape
    backslash, comma and both quotes. (From another project's measurements of
    FreeRDP 3's client/common/cmdline.c; not run here.)
    """
    return re.sub(r"([\\,\"'])", r"\\\1", value)


def freerdp_arguments(
    connection: ConnectionInfo,
    *,
    version: tuple[int, int, int],
    options: RdpOptions,
) -> list[str]:
    """FreeRDP's arguments for ``connection``, secrets included only for 3.x.

    For 3.x the list carries ``/p:`` and the gateway password and must only
    ever travel through ``/args-from:fd:N``; for 2.x it holds no secret and
    ``/from-stdin:force`` takes the password from stdin.
    """
    v3 = version[0] >= 3
    password = _password(connection, options)
    gateway = options.gateway
    args = [f"/v:{_address(connection.host, connection.port)}"]
    if connection.username:
        args.append(f"/u:{connection.username}")
    if options.domain:
        args.append(f"/d:{options.domain}")

    cert = options.certificate
    if cert.mode is CertMode.TOFU:
        args.append("/cert:tofu")
    elif cert.mode is CertMode.FINGERPRINT:
        # deny: no prompt (there is no terminal) if the fingerprint does not match.
        args.append(f"/cert:deny,fingerprint:sha256:{cert.fingerprint}")
    else:
        args.append("/cert:ignore")

    if options.fullscreen:
        args.append("/f")
    elif options.width is not None:
        args.append(f"/size:{options.width}x{options.height}")
    if options.multimon:
        args.append("/multimon")
    args.append("+clipboard" if options.clipboard else "-clipboard")
    args.extend(f"/drive:{name},{path}" for name, path in options.drives)
    if options.audio is Audio.LOCAL:
        args.append(f"/sound:sys:{options.audio_system}" if options.audio_system else "/sound")
    else:
        # FreeRDP's AUDIO_MODE_PLAY_ON_SERVER is 1, AUDIO_MODE_NONE is 2.
        args.append("/audio-mode:1" if options.audio is Audio.REMOTE else "/audio-mode:2")

    if gateway is not None:
        where = _address(gateway.host, gateway.port)
        if v3:
            parts = [f"g:{where}"]
            if not gateway.use_sign_in:
                # Any of u:, d:, p: turns FreeRDP's "same credentials" off.
                parts.append(f"u:{_gateway_value(gateway.username or '')}")
                if gateway.domain:
                    parts.append(f"d:{_gateway_value(gateway.domain)}")
                if gateway.password is not None:
                    parts.append(f"p:{_gateway_value(gateway.password)}")
            args.append("/gateway:" + ",".join(parts))
        else:
            args.append(f"/g:{where}")
            if not gateway.use_sign_in:
                args.append(f"/gu:{gateway.username}")
                if gateway.domain:
                    args.append(f"/gd:{gateway.domain}")

    if options.title:
        args.append(f"/t:{options.title}")
    if v3:
        if password is not None:
            args.append(f"/p:{password}")
    elif password is not None:
        args.append("/from-stdin:force")
    return args


def _check_gateway_secret(gateway: Gateway | None, password: str | None, *, v3: bool) -> None:
    """Refuse what the client would have to ask a terminal it does not have."""
    if gateway is None or gateway.use_sign_in:
        return
    if gateway.password is None:
        raise LaunchError(
            Text("rdp.gateway_password_missing", "The gateway password is missing."),
            hint=Text(
                "rdp.gateway_password_missing.hint",
                "Ask your administrator to check the gateway settings of this desktop.",
            ),
        )
    if not v3 and password is None:
        raise LaunchError(
            Text(
                "rdp.freerdp2_gateway",
                "FreeRDP 2 can take a gateway password only together with the desktop's.",
            ),
            hint=Text(
                "rdp.freerdp2_gateway.hint",
                "Ask your administrator to enable single sign-on for this desktop, "
                "or install FreeRDP 3.",
            ),
        )


def _freerdp2_stdin(password: str | None, gateway: Gateway | None) -> bytes | None:
    """The lines ``/from-stdin:force`` reads: the password, then the gateway's if it asks."""
    if password is None:
        return None
    lines = [password]
    if gateway is not None and not gateway.use_sign_in and gateway.password is not None:
        lines.append(gateway.password)
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def plan_freerdp(
    connection: ConnectionInfo,
    *,
    client: str,
    version: tuple[int, int, int],
    options: RdpOptions,
) -> LaunchPlan:
    """The plan that opens ``connection`` in FreeRDP ``version`` at ``client``."""
    _check_rdp(connection)
    if version < MIN_FREERDP:
        shown = ".".join(map(str, version))
        raise LaunchError(
            Text("rdp.freerdp_too_old", "FreeRDP {version} is too old for Rubicon.", version=shown),
            hint=INSTALL_HINT["linux"],
        )
    password = _password(connection, options)
    _check_gateway_secret(options.gateway, password, v3=version[0] >= 3)
    args = freerdp_arguments(connection, version=version, options=options)
    if version[0] >= 3:
        payload = "".join(f"{arg}\n" for arg in args).encode("utf-8")
        return LaunchPlan(
            argv=(client, f"/args-from:fd:{fd_placeholder(0)}"),
            pass_fds=(payload,),
            title=options.title,
        )
    stdin = _freerdp2_stdin(password, options.gateway)
    return LaunchPlan(argv=(client, *args), stdin=stdin, title=options.title)


# --- .rdp files: mstsc and the macOS client -----------------------------------

_AUTHENTICATION_LEVEL = {
    # 0: connect without warning if the server cannot be authenticated,
    # 1: do not connect, 2: warn and let the user choose.
    CertMode.TOFU: 2,
    # Neither client can pin a fingerprint from an .rdp file: the certificate
    # must then be one Windows/macOS trusts.
    CertMode.FINGERPRINT: 1,
    CertMode.IGNORE: 0,
}
_AUDIO_MODE = {Audio.LOCAL: 0, Audio.REMOTE: 1, Audio.OFF: 2}


def rdp_file(connection: ConnectionInfo, *, options: RdpOptions) -> str:
    """The text of an .rdp file for ``connection``: CRLF lines, never a password."""
    _check_rdp(connection)
    lines = [f"full address:s:{_address(connection.host, connection.port)}"]
    if connection.username:
        lines.append(f"username:s:{connection.username}")
    if options.domain:
        lines.append(f"domain:s:{options.domain}")
    lines.append(f"screen mode id:i:{2 if options.fullscreen else 1}")
    if options.width is not None:
        lines += [f"desktopwidth:i:{options.width}", f"desktopheight:i:{options.height}"]
    lines += [
        f"use multimon:i:{int(options.multimon)}",
        f"redirectclipboard:i:{int(options.clipboard)}",
    ]
    if options.drives:
        lines.append("drivestoredirect:s:" + ";".join(path for _, path in options.drives))
    lines += [
        f"audiomode:i:{_AUDIO_MODE[options.audio]}",
        f"authentication level:i:{_AUTHENTICATION_LEVEL[options.certificate.mode]}",
        "prompt for credentials:i:0",
        "enablecredsspsupport:i:1",
    ]
    gateway = options.gateway
    if gateway is not None:
        lines += [
            f"gatewayhostname:s:{_address(gateway.host, gateway.port)}",
            "gatewayusagemethod:i:1",  # always use it
            "gatewayprofileusagemethod:i:1",  # these settings, not the user's defaults
            "gatewaycredentialssource:i:0",  # user name and password
            f"promptcredentialonce:i:{int(gateway.use_sign_in)}",
        ]
        if not gateway.use_sign_in and gateway.username:
            lines.append(f"gatewayusername:s:{gateway.username}")
    return "".join(f"{line}\r\n" for line in lines)


def _rdp_bytes(text: str) -> bytes:
    # What mstsc itself writes: UTF-16 little-endian with a byte order mark.
    return b"\xff\xfe" + text.encode("utf-16-le")


def plan_mstsc(
    connection: ConnectionInfo, *, options: RdpOptions, client: str = "mstsc"
) -> LaunchPlan:
    """``mstsc <file.rdp>``; the password goes in a TERMSRV credential, never the file.

    With a password and a user name the plan asks for a ``TERMSRV/<host>``
    credential (``DOMAIN\\user`` when there is a domain) to be stored right
    before the start and removed after (``launcher.core.wincred``, done by the
    supervisor); without either, mstsc asks the user.
    """
    text = rdp_file(connection, options=options)
    password = _password(connection, options)
    pre: tuple[Credential, ...] = ()
    post: tuple[RemoveCredential, ...] = ()
    if password is not None and connection.username:
        target = f"TERMSRV/{connection.host}"
        user = connection.username
        if options.domain and "\\" not in user and "@" not in user:
            user = f"{options.domain}\\{user}"
        pre = (Credential(target=target, username=user, password=Secret(password)),)
        post = (RemoveCredential(target=target),)
    return LaunchPlan(
        argv=(client, file_placeholder(0)),
        temp_files=(TempFile(_rdp_bytes(text), suffix=".rdp"),),
        pre_steps=pre,
        post_steps=post,
        cleanup_after=RDP_FILE_GRACE,
        title=options.title,
    )


def plan_macos(connection: ConnectionInfo, *, app_path: str, options: RdpOptions) -> LaunchPlan:
    """``open -a <Windows App> <file.rdp>``.

    ``open`` hands the file to the app and exits at once, so its exit says
    nothing about the session, and the file is kept for a grace time. The
    Microsoft client cannot be given a password: it asks the user.
    """
    text = rdp_file(connection, options=options)
    return LaunchPlan(
        argv=("/usr/bin/open", "-a", app_path, file_placeholder(0)),
        temp_files=(TempFile(_rdp_bytes(text), suffix=".rdp"),),
        cleanup_after=RDP_FILE_GRACE,
        title=options.title,
    )


# --- finding the client ----------------------------------------------------------


def _not_found(what: Text, hint: str, override: str | None) -> ClientNotFound:
    return ClientNotFound(not_installed(what, override), hint=hint)


def locate_freerdp(
    *,
    platform: str,
    override: str | None = None,
    path: str | None = None,
    extra_dirs: Sequence[str] | None = None,
) -> str:
    """The FreeRDP client to run, or :class:`ClientNotFound` naming what to install."""
    if extra_dirs is None:
        extra_dirs = FREERDP_DIRS.get(platform, ())
    found = find_client(FREERDP_NAMES, override=override, extra_dirs=extra_dirs, path=path)
    if found is None:
        raise _not_found(
            Text("rdp.client.freerdp", "The RDP client (FreeRDP)"),
            FREERDP_HINT.get(platform, ""),
            override,
        )
    return found


def locate_mstsc(
    *,
    override: str | None = None,
    path: str | None = None,
    extra_dirs: Sequence[str] | None = None,
) -> str:
    """``mstsc.exe``: on PATH, in System32, or where the settings say."""
    if extra_dirs is None:
        system_root = os.environ.get("SYSTEMROOT")
        extra_dirs = (os.path.join(system_root, "System32"),) if system_root else MSTSC_DIRS
    found = find_client(MSTSC_NAMES, override=override, extra_dirs=extra_dirs, path=path)
    if found is None:
        raise _not_found(
            Text("rdp.client.mstsc", "Remote Desktop Connection (mstsc)"),
            INSTALL_HINT["windows"],
            override,
        )
    return found


def locate_macos_app(
    *, override: str | None = None, search_dirs: Sequence[str] = MACOS_APP_DIRS
) -> str:
    """The Microsoft RDP app bundle (Windows App, or its old name), or ClientNotFound."""
    if override:
        bundle = Path(override).expanduser()
        if bundle.suffix == ".app" and bundle.is_dir():
            return str(bundle)
        raise _not_found(
            Text("rdp.client.macos", "The Microsoft Remote Desktop app"),
            INSTALL_HINT["macos"],
            override,
        )
    for directory in search_dirs:
        for name in MACOS_APPS:
            bundle = Path(directory).expanduser() / f"{name}.app"
            if bundle.is_dir():
                return str(bundle)
    raise _not_found(
        Text("rdp.client.windows_app", "The Microsoft Remote Desktop app (Windows App)"),
        INSTALL_HINT["macos"],
        None,
    )


# --- what FreeRDP says ------------------------------------------------------------

_SIGN_IN_REFUSED = ExitReason(
    Text("rdp.sign_in_refused", "The desktop refused the user name or password."),
    hint=Text(
        "rdp.sign_in_refused.hint",
        "Sign in to Rubicon again; if it keeps happening, ask your administrator.",
    ),
)
_UNREACHABLE = ExitReason(
    Text(
        "rdp.unreachable",
        "The desktop could not be reached or ended the connection while signing in.",
    ),
    hint=STARTING_OR_OFF,
)
_ACCOUNT_LOCKED = ExitReason(
    Text("rdp.account_locked", "Your account is locked."),
    hint=Text("rdp.account_locked.hint", "Ask your administrator to unlock it."),
)
_NAME_NOT_FOUND = ExitReason(
    Text("rdp.name_not_found", "The desktop's name could not be found."),
    hint=Text(
        "rdp.name_not_found.hint",
        "Check your network connection; if it is fine, tell your administrator.",
    ),
)
_NO_SECURE_CONNECTION = ExitReason(
    Text(
        "rdp.no_secure_connection",
        "A secure connection to the desktop or its gateway could not be set up.",
    ),
    hint=TRY_AGAIN_OR_TELL,
)

# First match in the client's output wins, so the specific certificate lines
# come before the generic TLS failure FreeRDP logs after them. Lines that also
# appear in good sessions (CERTIFICATE NAME MISMATCH for a self-signed
# certificate, transport errors at the end of a session) are not here.
_FATAL_LINES: Sequence[tuple[str, ExitReason]] = (
    (
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        ExitReason(
            Text(
                "rdp.certificate_changed",
                "The desktop's certificate has changed since you last connected.",
            ),
            hint=Text(
                "rdp.certificate_changed.hint",
                "Do not connect; tell your administrator, as someone may be "
                "intercepting the connection.",
            ),
        ),
    ),
    (
        "certificate not trusted, aborting",
        ExitReason(
            Text(
                "rdp.certificate_unexpected",
                "The desktop's certificate is not the one Rubicon expected.",
            ),
            hint=Text(
                "rdp.certificate_unexpected.hint",
                "Tell your administrator; the connection was stopped to protect your sign-in.",
            ),
        ),
    ),
    ("ERRCONNECT_LOGON_FAILURE", _SIGN_IN_REFUSED),
    ("ERRCONNECT_AUTHENTICATION_FAILED", _SIGN_IN_REFUSED),
    (
        "ERRCONNECT_PASSWORD_",  # _EXPIRED, _CERTAINLY_EXPIRED, _MUST_CHANGE
        ExitReason(
            Text("rdp.password_expired", "Your password has expired."),
            hint=Text(
                "rdp.password_expired.hint",
                "Change it (or ask your administrator to), then connect again.",
            ),
        ),
    ),
    ("ERRCONNECT_ACCOUNT_LOCKED_OUT", _ACCOUNT_LOCKED),
    (
        "ERRCONNECT_ACCOUNT_DISABLED",
        ExitReason(
            Text("rdp.account_disabled", "Your account is disabled."),
            hint=Text("rdp.account_disabled.hint", "Ask your administrator."),
        ),
    ),
    ("ERRCONNECT_DNS_NAME_NOT_FOUND", _NAME_NOT_FOUND),
    (
        # Not "Unable to load sound playback subsystem": plain /sound logs
        # that for pulse, then falls back to ALSA and connects.
        "rdpsnd_virtual_channel_init_event_ex reported an error",
        ExitReason(
            Text(
                "rdp.sound_unavailable",
                "The sound system set for remote desktops is not available on this computer.",
            ),
            hint=Text(
                "rdp.sound_unavailable.hint",
                "Ask your administrator to leave the RDP sound system on automatic.",
            ),
        ),
    ),
    ("ERRCONNECT_CONNECT_FAILED", _UNREACHABLE),
    ("freerdp_post_connect failed", _UNREACHABLE),
    ("ERRCONNECT_TLS_CONNECT_FAILED", _NO_SECURE_CONNECTION),
)


def classify_line(line: str) -> ExitReason | None:
    """A fatal reason if ``line`` of FreeRDP's output reports one."""
    for needle, reason in _FATAL_LINES:
        if needle in line:
            return reason
    return None


# xfreerdp's exit codes (client/X11/xf_client.h, XF_EXIT_*). 140, 143 and 147
# were seen from 2.11.7 here; the others are from the header. Codes 0 to 12
# are the server's "error info" passed through (MS-RDPBCGR 2.2.5.1.1): 2 is a
# logoff forced by an administrator, 12 the user logging off inside the
# desktop; both end the session, so the machine may be freed.
_NORMAL_EXITS = frozenset({0, 1, 11})  # success, disconnected, disconnected by the user
_LOGGED_OFF = ExitReason(
    Text("rdp.logged_off", "The session was logged off on the desktop."),
    failed=False,
    logged_off=True,
)
_EXIT_REASONS = {
    2: _LOGGED_OFF,
    12: _LOGGED_OFF,
    3: ExitReason(Text("rdp.idle", "The session ended after being idle."), failed=False),
    5: ExitReason(
        Text("rdp.taken_over", "The session was taken over by another connection."),
        failed=False,
    ),
    131: _UNREACHABLE,
    132: _SIGN_IN_REFUSED,
    134: _SIGN_IN_REFUSED,
    135: _ACCOUNT_LOCKED,
    140: _NAME_NOT_FOUND,
    141: _UNREACHABLE,
    143: _NO_SECURE_CONNECTION,
    147: _UNREACHABLE,
}


def exit_reason(code: int) -> ExitReason | None:
    """What xfreerdp's exit ``code`` means; None for a normal end of the session.

    Codes not listed get a generic reason. A logoff is not a failure but is
    reported (``logged_off``) so the launcher can tell the broker.
    """
    if code in _NORMAL_EXITS:
        return None
    return _EXIT_REASONS.get(
        code,
        ExitReason(
            Text(
                "client.stopped",
                "The {client} stopped unexpectedly (exit code {code}).",
                client=Text("client.rdp", "RDP client"),
                code=code,
            ),
            hint=AGAIN_OR_SEND_THE_LOG,
        ),
    )
