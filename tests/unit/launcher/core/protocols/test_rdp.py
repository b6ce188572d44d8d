"""RDP plans, exactly: FreeRDP 2 and 3, mstsc, the macOS client."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    ClientNotFound,
    Credential,
    LaunchError,
    RemoveCredential,
    rdp,
)
from launcher.core.protocols.rdp import (
    Audio,
    CertificatePolicy,
    CertMode,
    Gateway,
    RdpOptions,
)
from launcher.core.secret import Secret

DATA = Path(__file__).parents[4] / "data" / "xfreerdp"
FP = "EC63A53089E79D400B26AA7910ECFDDE35F4440476EFB1349231D1E572A77D73"
FP_COLONS = ":".join(FP[i : i + 2] for i in range(0, 64, 2)).lower()
TOFU_DEFAULTS = ["/v:10.0.0.8:3389", "/u:ann", "/cert:tofu", "/f", "+clipboard", "/sound"]
XF2 = "/usr/bin/xfreerdp"
XF3 = "/usr/bin/xfreerdp3"
V2 = (2, 11, 7)
V3 = (3, 5, 1)


def conn(**kw: object) -> ConnectionInfo:
    base: dict[str, object] = {
        "protocol": Protocol.RDP,
        "host": "10.0.0.8",
        "port": 3389,
        "username": "ann",
    }
    base.update(kw)
    return ConnectionInfo(**base)  # type: ignore[arg-type]


WINDOWED = RdpOptions(
    fullscreen=False,
    width=1600,
    height=900,
    clipboard=False,
    drives=(("home", "/home/ann"), ("scans", "/srv/scans")),
    audio=Audio.REMOTE,
    domain="CORP",
    title="Lab 1",
    certificate=CertificatePolicy(CertMode.FINGERPRINT, FP),
    sso_password="s3cret pw",
)
MULTIMON = RdpOptions(
    multimon=True,
    audio=Audio.OFF,
    certificate=CertificatePolicy(CertMode.IGNORE, set_by_admin=True),
)
SOUND_SYS = RdpOptions(audio_system="pulse", sso_password="s3cret pw")
SAME_GATEWAY = RdpOptions(gateway=Gateway("gw.example.com"), sso_password="s3cret pw")
OWN_GATEWAY = RdpOptions(
    gateway=Gateway(
        "gw.example.com",
        8443,
        username="gw,user",
        domain="GW",
        use_sign_in=False,
        password='gw"pw\\1',
    ),
    sso_password="s3cret pw",
)

# (connection, options, argv after the client, stdin)
FREERDP2_CASES = [
    pytest.param(
        conn(),
        RdpOptions(sso_password="s3cret pw"),
        [*TOFU_DEFAULTS, "/from-stdin:force"],
        b"s3cret pw\n",
        id="defaults",
    ),
    pytest.param(
        conn(),
        WINDOWED,
        [
            "/v:10.0.0.8:3389",
            "/u:ann",
            "/d:CORP",
            f"/cert:deny,fingerprint:sha256:{FP_COLONS}",
            "/size:1600x900",
            "-clipboard",
            "/drive:home,/home/ann",
            "/drive:scans,/srv/scans",
            "/audio-mode:1",
            "/t:Lab 1",
            "/from-stdin:force",
        ],
        b"s3cret pw\n",
        id="windowed-fingerprint-drives",
    ),
    pytest.param(
        conn(password="broker-pw"),
        MULTIMON,
        [
            "/v:10.0.0.8:3389",
            "/u:ann",
            "/cert:ignore",
            "/f",
            "/multimon",
            "+clipboard",
            "/audio-mode:2",
            "/from-stdin:force",
        ],
        b"broker-pw\n",
        id="multimon-admin-ignore-broker-password",
    ),
    pytest.param(
        conn(),
        SOUND_SYS,
        [
            "/v:10.0.0.8:3389",
            "/u:ann",
            "/cert:tofu",
            "/f",
            "+clipboard",
            "/sound:sys:pulse",
            "/from-stdin:force",
        ],
        b"s3cret pw\n",
        id="sound-system",
    ),
    pytest.param(
        conn(),
        SAME_GATEWAY,
        [*TOFU_DEFAULTS, "/g:gw.example.com:443", "/from-stdin:force"],
        b"s3cret pw\n",
        id="gateway-same-sign-in",
    ),
    pytest.param(
        conn(),
        OWN_GATEWAY,
        [*TOFU_DEFAULTS, "/g:gw.example.com:8443", "/gu:gw,user", "/gd:GW", "/from-stdin:force"],
        b's3cret pw\ngw"pw\\1\n',
        id="gateway-own-sign-in",
    ),
    pytest.param(
        conn(host="fd00::5", username=None),
        RdpOptions(),
        ["/v:[fd00::5]:3389", "/cert:tofu", "/f", "+clipboard", "/sound"],
        None,
        id="ipv6-no-password",
    ),
]


@pytest.mark.parametrize(("connection", "options", "args", "stdin"), FREERDP2_CASES)
def test_freerdp2_argv_and_stdin_exactly(
    connection: ConnectionInfo, options: RdpOptions, args: list[str], stdin: bytes | None
) -> None:
    plan = rdp.plan_freerdp(connection, client=XF2, version=V2, options=options)
    assert plan.argv == (XF2, *args)
    assert plan.stdin == stdin
    assert plan.pass_fds == ()
    assert plan.temp_files == ()
    assert plan.pre_steps == plan.post_steps == ()


# (connection, options, lines read through /args-from:fd:N)
FREERDP3_CASES = [
    pytest.param(
        conn(),
        RdpOptions(sso_password="s3cret pw"),
        [*TOFU_DEFAULTS, "/p:s3cret pw"],
        id="defaults",
    ),
    pytest.param(
        conn(),
        WINDOWED,
        [
            "/v:10.0.0.8:3389",
            "/u:ann",
            "/d:CORP",
            f"/cert:deny,fingerprint:sha256:{FP_COLONS}",
            "/size:1600x900",
            "-clipboard",
            "/drive:home,/home/ann",
            "/drive:scans,/srv/scans",
            "/audio-mode:1",
            "/t:Lab 1",
            "/p:s3cret pw",
        ],
        id="windowed-fingerprint-drives",
    ),
    pytest.param(
        conn(password="broker-pw"),
        MULTIMON,
        [
            "/v:10.0.0.8:3389",
            "/u:ann",
            "/cert:ignore",
            "/f",
            "/multimon",
            "+clipboard",
            "/audio-mode:2",
            "/p:broker-pw",
        ],
        id="multimon-admin-ignore-broker-password",
    ),
    pytest.param(
        conn(),
        SAME_GATEWAY,
        [*TOFU_DEFAULTS, "/gateway:g:gw.example.com:443", "/p:s3cret pw"],
        id="gateway-same-sign-in",
    ),
    pytest.param(
        conn(),
        OWN_GATEWAY,
        [
            *TOFU_DEFAULTS,
            '/gateway:g:gw.example.com:8443,u:gw\\,user,d:GW,p:gw\\"pw\\\\1',
            "/p:s3cret pw",
        ],
        id="gateway-own-sign-in-escaped",
    ),
    pytest.param(
        conn(host="fd00::5", username=None),
        RdpOptions(),
        ["/v:[fd00::5]:3389", "/cert:tofu", "/f", "+clipboard", "/sound"],
        id="ipv6-no-password",
    ),
]


@pytest.mark.parametrize(("connection", "options", "lines"), FREERDP3_CASES)
def test_freerdp3_reads_everything_from_an_inherited_fd(
    connection: ConnectionInfo, options: RdpOptions, lines: list[str]
) -> None:
    plan = rdp.plan_freerdp(connection, client=XF3, version=V3, options=options)
    # /args-from cannot be combined with any other argument.
    assert plan.argv == (XF3, "/args-from:fd:{fd:0}")
    assert plan.pass_fds == ("".join(f"{line}\n" for line in lines).encode(),)
    assert plan.stdin is None


@pytest.mark.parametrize("version", [(3, 0, 0), (3, 10, 3), (4, 0, 0)])
def test_every_freerdp_from_3_on_uses_args_from(version: tuple[int, int, int]) -> None:
    plan = rdp.plan_freerdp(conn(), client=XF3, version=version, options=RdpOptions())
    assert plan.argv[1] == "/args-from:fd:{fd:0}"


def test_freerdp_older_than_2_is_refused() -> None:
    with pytest.raises(LaunchError, match=r"FreeRDP 1\.2\.0 is too old") as caught:
        rdp.plan_freerdp(conn(), client=XF2, version=(1, 2, 0), options=RdpOptions())
    assert "freerdp3-x11" in str(caught.value)


def test_freerdp2_cannot_take_a_gateway_password_alone() -> None:
    options = RdpOptions(
        gateway=Gateway("gw.example.com", username="g", use_sign_in=False, password="gp")
    )
    with pytest.raises(LaunchError, match="only together with the desktop's"):
        rdp.plan_freerdp(conn(), client=XF2, version=V2, options=options)
    # FreeRDP 3 can.
    plan = rdp.plan_freerdp(conn(), client=XF3, version=V3, options=options)
    assert b"/gateway:g:gw.example.com:443,u:g,p:gp\n" in plan.pass_fds[0]


@pytest.mark.parametrize("version", [V2, V3])
def test_a_gateway_with_its_own_sign_in_needs_its_password(version: tuple[int, int, int]) -> None:
    options = RdpOptions(
        gateway=Gateway("gw.example.com", username="g", use_sign_in=False), sso_password="pw"
    )
    with pytest.raises(LaunchError, match="gateway password is missing"):
        rdp.plan_freerdp(conn(), client=XF2, version=version, options=options)


def test_plan_refuses_other_protocols() -> None:
    with pytest.raises(ValueError, match="not an RDP connection"):
        rdp.plan_freerdp(conn(protocol=Protocol.VNC), client=XF2, version=V2, options=RdpOptions())


# --- mstsc and macOS ------------------------------------------------------------

RDP_DEFAULTS = (
    "full address:s:10.0.0.8:3389\r\n"
    "username:s:ann\r\n"
    "screen mode id:i:2\r\n"
    "use multimon:i:0\r\n"
    "redirectclipboard:i:1\r\n"
    "audiomode:i:0\r\n"
    "authentication level:i:2\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
)
RDP_WINDOWED = (
    "full address:s:10.0.0.8:3389\r\n"
    "username:s:ann\r\n"
    "domain:s:CORP\r\n"
    "screen mode id:i:1\r\n"
    "desktopwidth:i:1600\r\n"
    "desktopheight:i:900\r\n"
    "use multimon:i:0\r\n"
    "redirectclipboard:i:0\r\n"
    "drivestoredirect:s:/home/ann;/srv/scans\r\n"
    "audiomode:i:1\r\n"
    "authentication level:i:1\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
)
RDP_MULTIMON_GATEWAY = (
    "full address:s:[fd00::5]:3390\r\n"
    "screen mode id:i:2\r\n"
    "use multimon:i:1\r\n"
    "redirectclipboard:i:1\r\n"
    "audiomode:i:2\r\n"
    "authentication level:i:0\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
    "gatewayhostname:s:gw.example.com:8443\r\n"
    "gatewayusagemethod:i:1\r\n"
    "gatewayprofileusagemethod:i:1\r\n"
    "gatewaycredentialssource:i:0\r\n"
    "promptcredentialonce:i:0\r\n"
    "gatewayusername:s:gw,user\r\n"
)
MULTIMON_GATEWAY = RdpOptions(
    multimon=True,
    audio=Audio.OFF,
    certificate=CertificatePolicy(CertMode.IGNORE, set_by_admin=True),
    gateway=OWN_GATEWAY.gateway,
)

# (connection, options, .rdp text, credential to store: (target, user name, password))
MSTSC_CASES = [
    pytest.param(
        conn(),
        RdpOptions(sso_password="s3cret pw"),
        RDP_DEFAULTS,
        (("TERMSRV/10.0.0.8", "ann", "s3cret pw"),),
        id="defaults-sso",
    ),
    pytest.param(
        conn(password="broker-pw"),
        dataclasses.replace(WINDOWED, sso_password=None),
        RDP_WINDOWED,
        (("TERMSRV/10.0.0.8", "CORP\\ann", "broker-pw"),),
        id="windowed-domain-broker-password",
    ),
    pytest.param(
        conn(username="ann@corp.example", password="broker-pw"),
        RdpOptions(domain="CORP"),
        (
            "full address:s:10.0.0.8:3389\r\n"
            "username:s:ann@corp.example\r\n"
            "domain:s:CORP\r\n"
            "screen mode id:i:2\r\n"
            "use multimon:i:0\r\n"
            "redirectclipboard:i:1\r\n"
            "audiomode:i:0\r\n"
            "authentication level:i:2\r\n"
            "prompt for credentials:i:0\r\n"
            "enablecredsspsupport:i:1\r\n"
        ),
        (("TERMSRV/10.0.0.8", "ann@corp.example", "broker-pw"),),
        id="upn-user-keeps-its-form",
    ),
    pytest.param(
        conn(username=None, password="broker-pw"),
        RdpOptions(),
        (
            "full address:s:10.0.0.8:3389\r\n"
            "screen mode id:i:2\r\n"
            "use multimon:i:0\r\n"
            "redirectclipboard:i:1\r\n"
            "audiomode:i:0\r\n"
            "authentication level:i:2\r\n"
            "prompt for credentials:i:0\r\n"
            "enablecredsspsupport:i:1\r\n"
        ),
        (),
        id="no-user-name-mstsc-asks",
    ),
    pytest.param(
        conn(host="fd00::5", port=3390, username=None),
        MULTIMON_GATEWAY,
        RDP_MULTIMON_GATEWAY,
        (),
        id="multimon-gateway-no-user",
    ),
]


def credentials(steps: tuple[object, ...]) -> tuple[tuple[str, str, str], ...]:
    """A plan's credential steps as (target, user name, password); the password a Secret."""
    out = []
    for step in steps:
        assert isinstance(step, Credential)
        assert isinstance(step.password, Secret)
        assert "Secret(***)" in repr(step.password)
        out.append((step.target, step.username, step.password.reveal()))
    return tuple(out)


def rdp_text(contents: bytes) -> str:
    assert contents.startswith(b"\xff\xfe")  # UTF-16 LE with BOM, as mstsc writes
    return contents[2:].decode("utf-16-le")


@pytest.mark.parametrize(("connection", "options", "text", "pre"), MSTSC_CASES)
def test_mstsc_rdp_file_and_credential_steps_exactly(
    connection: ConnectionInfo,
    options: RdpOptions,
    text: str,
    pre: tuple[tuple[str, str, str], ...],
) -> None:
    plan = rdp.plan_mstsc(connection, options=options)
    assert plan.argv == ("mstsc", "{file:0}")
    (rdp_file,) = plan.temp_files
    assert rdp_file.suffix == ".rdp"
    assert rdp_file.mode == 0o600
    assert rdp_text(rdp_file.contents) == text
    assert credentials(plan.pre_steps) == pre
    assert plan.post_steps == tuple(RemoveCredential(target) for target, _, _ in pre)
    for _, _, password in pre:
        assert password not in rdp_text(rdp_file.contents)
        assert password not in repr(plan)
    assert plan.cleanup_after == rdp.RDP_FILE_GRACE
    assert plan.stdin is None
    assert plan.pass_fds == ()


@pytest.mark.parametrize(("connection", "options", "text", "pre"), MSTSC_CASES)
def test_macos_opens_the_rdp_file_with_the_microsoft_app(
    connection: ConnectionInfo,
    options: RdpOptions,
    text: str,
    pre: tuple[tuple[str, str, str], ...],
) -> None:
    app = "/Applications/Windows App.app"
    plan = rdp.plan_macos(connection, app_path=app, options=options)
    assert plan.argv == ("/usr/bin/open", "-a", app, "{file:0}")
    assert rdp_text(plan.temp_files[0].contents) == text
    # The Microsoft client cannot be handed a password: no steps, no stdin.
    assert plan.pre_steps == plan.post_steps == ()
    assert plan.stdin is None
    assert plan.cleanup_after == rdp.RDP_FILE_GRACE


# --- secrets --------------------------------------------------------------------

# A marker keeps a short password from being, by chance, part of an ordinary
# argument such as "/cert:".
passwords = (
    st.text(
        alphabet=st.characters(min_codepoint=32, exclude_categories=("Cs", "Cc")),
        max_size=30,
    )
    .filter(lambda p: "{" not in p)
    .map(lambda p: f"\u00a7pw\u00a7{p}")
)


@given(password=passwords)
def test_passwords_never_in_argv_repr_or_rdp_file(password: str) -> None:
    options = RdpOptions(sso_password=password, gateway=SAME_GATEWAY.gateway)
    plans = [
        rdp.plan_freerdp(conn(), client=XF2, version=V2, options=options),
        rdp.plan_freerdp(conn(), client=XF3, version=V3, options=options),
        rdp.plan_mstsc(conn(), options=options),
        rdp.plan_macos(conn(), app_path="/Applications/Windows App.app", options=options),
    ]
    for plan in plans:
        assert all(password not in arg for arg in plan.argv)
        assert password not in repr(plan)
        for temp in plan.temp_files:
            assert password not in rdp_text(temp.contents)
    assert password not in repr(options)
    assert plans[0].stdin == f"{password}\n".encode()
    assert f"/p:{password}\n".encode() in plans[1].pass_fds[0]
    assert credentials(plans[2].pre_steps) == (("TERMSRV/10.0.0.8", "ann", password),)


@pytest.mark.parametrize("bad", ["pw\nnext", "pw\r", "a\0b"])
def test_a_password_with_a_line_break_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="password"):
        RdpOptions(sso_password=bad)
    with pytest.raises(ValueError, match="password"):
        rdp.plan_freerdp(conn(password=bad), client=XF3, version=V3, options=RdpOptions())


@given(st.text(max_size=40))
def test_odd_host_names_are_refused_or_stay_one_argument(host: str) -> None:
    try:
        plan = rdp.plan_freerdp(conn(host=host), client=XF3, version=V3, options=RdpOptions())
    except ValueError:
        return
    lines = plan.pass_fds[0].decode().splitlines()
    assert lines[0] in (f"/v:{host}:3389", f"/v:[{host}]:3389")
    assert all(not line.startswith("/v:") for line in lines[1:])


@given(st.text(max_size=40))
def test_user_names_and_titles_cannot_add_arguments(text: str) -> None:
    try:
        plan = rdp.plan_freerdp(
            conn(username=text), client=XF3, version=V3, options=RdpOptions(title=text)
        )
    except ValueError:
        return
    lines = plan.pass_fds[0].decode().split("\n")
    assert lines[-1] == ""  # ends with a newline, and no empty line before it
    assert all(lines[:-1])
    assert sum(line.startswith("/p:") for line in lines) == 0


# --- options --------------------------------------------------------------------


def test_certificate_policy_rules() -> None:
    with pytest.raises(ValueError, match="only an administrator"):
        CertificatePolicy(CertMode.IGNORE)
    with pytest.raises(ValueError, match="needs the certificate"):
        CertificatePolicy(CertMode.FINGERPRINT)
    with pytest.raises(ValueError, match="not a SHA-256"):
        CertificatePolicy(CertMode.FINGERPRINT, "abc")
    with pytest.raises(ValueError, match="takes no fingerprint"):
        CertificatePolicy(CertMode.TOFU, FP)
    assert CertificatePolicy(CertMode.FINGERPRINT, FP).fingerprint == FP_COLONS
    assert CertificatePolicy(CertMode.FINGERPRINT, FP_COLONS.upper()).fingerprint == FP_COLONS
    assert RdpOptions().certificate == CertificatePolicy(CertMode.TOFU)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 800}, "both width and height"),
        ({"width": 10, "height": 10}, "out of range"),
        ({"drives": (("a,b", "/x"),)}, "drive name"),
        ({"drives": (("a", "/x;y"),)}, "drive path"),
        ({"drives": (("", "/x"),)}, "drive name"),
        ({"audio_system": "pulse,dev:1"}, "audio system"),
        ({"title": "two\nlines"}, "title"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RdpOptions(**kwargs)  # type: ignore[arg-type]


def test_gateway_rules() -> None:
    with pytest.raises(ValueError, match="needs a user name"):
        Gateway("gw.example.com", use_sign_in=False)
    with pytest.raises(ValueError, match="not a host name"):
        Gateway("gw example")
    with pytest.raises(ValueError, match="port"):
        Gateway("gw.example.com", port=0)
    assert "gp-secret" not in repr(
        Gateway("gw", username="u", use_sign_in=False, password="gp-secret")
    )


# --- version, discovery, output -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ((DATA / "version-2.txt").read_text(), (2, 11, 7)),
        # version-3.txt is synthesized (no FreeRDP 3 package for Debian 12),
        # in the shape FreeRDP 3's freerdp_client_print_version() prints.
        ((DATA / "version-3.txt").read_text(), (3, 5, 1)),
        ("This is FreeRDP version 3.0.0-beta3 (c4b1e9b)\n", (3, 0, 0)),
        ("[WARN] something first\nThis is FreeRDP version 2.3 (x)\n", (2, 3, 0)),
        ("failed to open display: \n", None),
        ("", None),
    ],
)
def test_detect_freerdp_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert rdp.detect_freerdp_version(text) == version


def make_exe(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_locate_freerdp_prefers_freerdp3_and_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound) as caught:
        rdp.locate_freerdp(platform="linux", path=str(tmp_path), extra_dirs=())
    assert "sudo apt-get install freerdp3-x11" in str(caught.value)
    assert "freerdp2-x11" in str(caught.value)
    make_exe(tmp_path, "xfreerdp")
    assert rdp.locate_freerdp(platform="linux", path=str(tmp_path), extra_dirs=()) == str(
        tmp_path / "xfreerdp"
    )
    make_exe(tmp_path, "xfreerdp3")
    assert rdp.locate_freerdp(platform="linux", path="", extra_dirs=(str(tmp_path),)) == str(
        tmp_path / "xfreerdp3"
    )
    override = make_exe(tmp_path / "opt", "my-rdp")
    assert rdp.locate_freerdp(platform="linux", override=str(override)) == str(override)


def test_locate_mstsc(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound, match="part of Windows"):
        rdp.locate_mstsc(path=str(tmp_path), extra_dirs=())
    exe = make_exe(tmp_path / "System32", "mstsc")
    assert rdp.locate_mstsc(path="", extra_dirs=(str(tmp_path / "System32"),)) == str(exe)


def test_locate_macos_app(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound, match="Mac App Store"):
        rdp.locate_macos_app(search_dirs=(str(tmp_path),))
    old = tmp_path / "Microsoft Remote Desktop.app"
    old.mkdir()
    assert rdp.locate_macos_app(search_dirs=(str(tmp_path),)) == str(old)
    new = tmp_path / "Windows App.app"
    new.mkdir()
    assert rdp.locate_macos_app(search_dirs=(str(tmp_path),)) == str(new)
    assert rdp.locate_macos_app(override=str(old)) == str(old)
    with pytest.raises(ClientNotFound, match="at /nowhere"):
        rdp.locate_macos_app(override="/nowhere/Some.app")


@pytest.mark.parametrize(
    ("recording", "expected"),
    [
        ("connected.txt", None),
        ("connected-default-plan.txt", None),
        (
            "wrong-password-shadow.txt",
            "The desktop could not be reached or ended the connection while signing in.",
        ),
        (
            "connection-refused.txt",
            "The desktop could not be reached or ended the connection while signing in.",
        ),
        ("dns-name-not-found.txt", "The desktop's name could not be found."),
        ("fingerprint-mismatch.txt", "The desktop's certificate is not the one Rubicon expected."),
        (
            "certificate-changed.txt",
            "The desktop's certificate has changed since you last connected.",
        ),
        (
            "sound-system-missing.txt",
            "The sound system set for remote desktops is not available on this computer.",
        ),
        ("version-2.txt", None),
    ],
)
def test_recorded_freerdp_output_is_classified(recording: str, expected: str | None) -> None:
    reasons = [
        reason
        for line in (DATA / recording).read_text().splitlines()
        if (reason := rdp.classify_line(line)) is not None
    ]
    # The supervisor keeps the first reason it sees.
    assert (reasons[0].message if reasons else None) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # What FreeRDP logs against a Windows server (freerdp_set_last_error_ex
        # names); not recorded here, where the only server is freerdp-shadow-cli.
        (
            "[ERROR][com.freerdp.core] - nla_recv_pdu:freerdp_set_last_error_ex "
            "ERRCONNECT_LOGON_FAILURE [0x00020014]",
            "The desktop refused the user name or password.",
        ),
        (
            "[ERROR][com.freerdp.core] - ERRCONNECT_PASSWORD_EXPIRED [0x0002000E]",
            "Your password has expired.",
        ),
        ("ERRCONNECT_ACCOUNT_LOCKED_OUT", "Your account is locked."),
        ("WARNING: CERTIFICATE NAME MISMATCH!", None),
    ],
)
def test_windows_server_errors_are_classified(line: str, expected: str | None) -> None:
    reason = rdp.classify_line(line)
    assert (reason.message if reason else None) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, None),
        (1, None),
        (11, None),
        (140, "The desktop's name could not be found."),
        (147, "The desktop could not be reached or ended the connection while signing in."),
        (200, "The RDP client stopped unexpectedly (exit code 200)."),
    ],
)
def test_exit_codes(code: int, expected: str | None) -> None:
    reason = rdp.exit_reason(code)
    assert (reason.message if reason else None) == expected


@pytest.mark.parametrize("code", [2, 12])
def test_a_logoff_on_the_desktop_is_no_failure_but_is_told(code: int) -> None:
    reason = rdp.exit_reason(code)
    assert reason is not None
    assert (reason.failed, reason.logged_off) == (False, True)
    assert reason.message == "The session was logged off on the desktop."


@pytest.mark.parametrize("code", [0, 1, 3, 5, 11, 140, 147, 200])
def test_only_logoff_codes_say_logged_off(code: int) -> None:
    reason = rdp.exit_reason(code)
    assert reason is None or not reason.logged_off
