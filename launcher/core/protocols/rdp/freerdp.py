"""RDP through FreeRDP 2 and 3 (``xfreerdp``, ``xfreerdp3``, the SDL clients).

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

Which major version a program is comes from its ``--version`` output
(:func:`detect_version`).

Hyper-V's VM console (``connection.vmconnect``): ``/vmconnect:<VM id>`` after
``/v:``, then ``/port:<port>``. From FreeRDP's client/common/cmdline.c: in
2.11.7 and 3.0 to 3.9 ``/vmconnect`` sets port 2179 outright, from 3.10 only
when ``/v:`` left it at 3389; either way it turns security negotiation off
(``NegotiateSecurityLayer``) and, given a value, sends it as the blob of an RDP
preconnection PDU (version 2). Options are handled in the order of FreeRDP's
own table, not of argv, and ``/port`` after all of them, so it is what keeps
the broker's port. xfreerdp 2.11.7 given this argv sent a version 2
preconnection PDU with the id (UTF-16LE) as its first bytes to a loopback
listener on the broker's port (tests/e2e/test_vmconnect.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from launcher.core import log
from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    AGAIN_OR_SEND_THE_LOG,
    CERTIFICATE_UNEXPECTED,
    STARTING_OR_OFF,
    TRY_AGAIN_OR_TELL,
    ExitReason,
    Finder,
    LaunchError,
    LaunchPlan,
    fd_placeholder,
    first_reason,
)
from launcher.core.protocols.driver import (
    Driver,
    Launch,
    Runner,
    Versions,
    run_for_output,
)
from launcher.core.protocols.rdp import (
    RDP_CLIENT,
    Audio,
    CertMode,
    Gateway,
    RdpOptions,
    address,
    check_connection,
    options_for,
    password_for,
)
from launcher.core.texts import Text

__all__ = [
    "FREERDP_VERSIONS",
    "FreeRdpVersions",
    "arguments",
    "ask_version",
    "classify_line",
    "detect_version",
    "exit_reason",
    "locate",
    "plan",
]

# Debian 13 and Ubuntu 24.04 name FreeRDP 3's X11 client xfreerdp3; Fedora and
# Debian 12 (FreeRDP 2) call theirs xfreerdp. The SDL client takes the same
# arguments. Which major version it is comes from its --version output.
NAMES = ("xfreerdp3", "xfreerdp", "sdl-freerdp3", "sdl-freerdp")
EXTRA_DIRS = {
    "linux": ("/usr/bin", "/usr/local/bin", "/opt/freerdp/bin"),
    "windows": (r"C:\Program Files\FreeRDP",),
    "macos": ("/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin"),
}
# What to install: FreeRDP is Linux's RDP client, and an alternative elsewhere.
INSTALL_HINT = {
    "linux": Text(
        "rdp.install.linux",
        "Install FreeRDP: sudo apt-get install freerdp3-x11 (Debian 13, Ubuntu 24.04) "
        "or sudo apt-get install freerdp2-x11 (Debian 12); Fedora: sudo dnf install freerdp.",
    ),
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


_VERSION = re.compile(r"FreeRDP version (\d+)\.(\d+)(?:\.(\d+))?")


def detect_version(output: str) -> tuple[int, int, int] | None:
    """The version in ``xfreerdp --version`` output, or None.

    FreeRDP prints ``This is FreeRDP version 2.11.7 (2.11.7)``. Note that
    xfreerdp 2.x needs a display even for --version: run it with the user's
    DISPLAY, or it exits 1 with "failed to open display".
    """
    match = _VERSION.search(output)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def ask_version(path: str, run: Runner, timeout: float) -> tuple[int, int, int] | None:
    """The version ``path --version`` says; raises OSError or TimeoutExpired from ``run``."""
    return detect_version(run([path, "--version"], timeout))


def probe_version(path: str, run: Runner, timeout: float) -> tuple[str | None, str]:
    """The version for the diagnostics report, or None and why."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        return None, "xfreerdp opens the X display even to print its version; DISPLAY is not set"
    found = ask_version(path, run, timeout)
    return (".".join(map(str, found)) if found else None), ""


PROBE_TIMEOUT = 15.0


class FreeRdpVersions(Versions):
    """FreeRDP's version per program, asked once and remembered.

    ``xfreerdp --version`` opens the X display before it answers, so it runs
    with the user's environment (DISPLAY). A program replaced on disk (other
    size or time) is asked again.
    """

    def __init__(self, *, timeout: float = PROBE_TIMEOUT) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int], tuple[int, int, int]] = {}

    def get(self, path: str) -> tuple[int, int, int]:
        try:
            info = os.stat(path)
        except OSError as e:
            raise LaunchError(
                Text(
                    "launch.cannot_read",
                    "Cannot read {path}: {why}.",
                    path=path,
                    why=str(e.strerror or e),
                )
            ) from e
        key = (os.path.realpath(path), info.st_mtime_ns, info.st_size)
        with self._lock:
            if key in self._known:
                return self._known[key]
        version = self._probe(path)
        with self._lock:
            self._known[key] = version
        return version

    def _probe(self, path: str) -> tuple[int, int, int]:
        try:
            version = ask_version(path, run_for_output, self._timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            log.launch.warning("%s --version failed: %s", path, e)
            version = None
        if version is not None:
            log.launch.info("%s is FreeRDP %s", path, ".".join(map(str, version)))
            return version
        # Only FreeRDP 3 is packaged under a name ending in 3.
        if Path(path).name.endswith("3"):
            log.launch.warning("%s did not say its version; taking 3 from its name", path)
            return (3, 0, 0)
        if os.environ.get("DISPLAY"):
            message = Text(
                "launch.freerdp_version_unknown",
                "Rubicon could not find out which FreeRDP version {path} is.",
                path=path,
            )
        else:
            message = Text(
                "launch.freerdp_version_unknown.no_display",
                "Rubicon could not find out which FreeRDP version {path} is (DISPLAY is not set).",
                path=path,
            )
        raise LaunchError(
            message,
            hint=Text(
                "launch.freerdp_version_unknown.hint",
                "FreeRDP needs an X display to start, even to say its version. "
                "Run Rubicon in your desktop session; if that is where it runs, "
                "send the log to your administrator.",
            ),
        )


FREERDP_VERSIONS = FreeRdpVersions()


def _gateway_value(value: str) -> str:
    """A value inside FreeRDP 3's comma-separated ``/gateway:`` option.

    FreeRDP 3 splits the option at commas and then drops one backslash before
    any character, and an unescaped quote silently drops the gateway: escape
    backslash, comma and both quotes. (From another project's measurements of
    FreeRDP 3's client/common/cmdline.c; not run here.)
    """
    return re.sub(r"([\\,\"'])", r"\\\1", value)


def arguments(
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
    password = password_for(connection, options)
    gateway = options.gateway
    args = [f"/v:{address(connection.host, connection.port)}"]
    if connection.vmconnect is not None:
        # /vmconnect turns security negotiation off, sends the VM id in a
        # preconnection PDU and sets port 2179 (2.x always; 3.x if /v gave
        # none or 3389), whatever the order in argv: FreeRDP handles its
        # options in the order of its own table. /port is applied after them
        # all, in 2.11.7 and 3.x alike, so the broker's port holds.
        args += [f"/vmconnect:{connection.vmconnect}", f"/port:{connection.port}"]
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
        where = address(gateway.host, gateway.port)
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


def plan(
    connection: ConnectionInfo,
    *,
    client: str,
    version: tuple[int, int, int],
    options: RdpOptions,
) -> LaunchPlan:
    """The plan that opens ``connection`` in FreeRDP ``version`` at ``client``."""
    check_connection(connection)
    if version < MIN_FREERDP:
        shown = ".".join(map(str, version))
        raise LaunchError(
            Text("rdp.freerdp_too_old", "FreeRDP {version} is too old for Rubicon.", version=shown),
            hint=INSTALL_HINT["linux"],
        )
    password = password_for(connection, options)
    _check_gateway_secret(options.gateway, password, v3=version[0] >= 3)
    args = arguments(connection, version=version, options=options)
    if version[0] >= 3:
        payload = "".join(f"{arg}\n" for arg in args).encode("utf-8")
        return LaunchPlan(
            argv=(client, f"/args-from:fd:{fd_placeholder(0)}"),
            pass_fds=(payload,),
            title=options.title,
        )
    stdin = _freerdp2_stdin(password, options.gateway)
    return LaunchPlan(argv=(client, *args), stdin=stdin, title=options.title)


# The FreeRDP client to run, or ClientNotFound naming what to install.
locate = Finder(
    NAMES,
    what=Text("rdp.client.freerdp", "The RDP client (FreeRDP)"),
    install=INSTALL_HINT,
    folders=lambda platform: EXTRA_DIRS.get(platform, ()),
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
    ("certificate not trusted, aborting", CERTIFICATE_UNEXPECTED),
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
    return first_reason(_FATAL_LINES, line)


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
                client=RDP_CLIENT,
                code=code,
            ),
            hint=AGAIN_OR_SEND_THE_LOG,
        ),
    )


def _plan(launch: Launch) -> LaunchPlan:
    options = options_for(launch)
    client = launch.client
    if client.version is None:
        raise ValueError("FreeRDP's version is not known")
    return plan(launch.connection, client=client.path, version=client.version, options=options)


def _name(path: str, protocol: Protocol) -> str:
    return RDP_CLIENT


DRIVER = Driver(
    locate=locate.find,
    version=probe_version,
    plan=_plan,
    name=_name,
    classify=classify_line,
    exit_reason=exit_reason,
    silent=True,
    versions=FREERDP_VERSIONS,
)
