"""FreeRDP 2 and 3 plans, exactly; its version, discovery, output and exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import ClientNotFound, LaunchError
from launcher.core.protocols.rdp import Gateway, RdpOptions, freerdp
from launcher.core.protocols.rdp.freerdp import FreeRdpVersions
from tests.helpers import fake_client
from tests.unit.launcher.core.protocols.rdp.cases import (
    DATA,
    FP_COLONS,
    MULTIMON,
    OWN_GATEWAY,
    SAME_GATEWAY,
    SOUND_SYS,
    TOFU_DEFAULTS,
    V2,
    V3,
    VM_ID,
    WINDOWED,
    XF2,
    XF3,
    conn,
    make_exe,
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
        conn(host="hv1.example.com", port=2179, vmconnect=VM_ID),
        RdpOptions(sso_password="s3cret pw"),
        [
            "/v:hv1.example.com:2179",
            f"/vmconnect:{VM_ID}",
            "/port:2179",
            *TOFU_DEFAULTS[1:],
            "/from-stdin:force",
        ],
        b"s3cret pw\n",
        id="hyper-v-vm-console",
    ),
    pytest.param(
        conn(host="hv1.example.com", port=12179, vmconnect=VM_ID),
        RdpOptions(),
        ["/v:hv1.example.com:12179", f"/vmconnect:{VM_ID}", "/port:12179", *TOFU_DEFAULTS[1:]],
        None,
        id="hyper-v-vm-console-other-port",
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
    plan = freerdp.plan(connection, client=XF2, version=V2, options=options)
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
    pytest.param(
        conn(host="hv1.example.com", port=2179, vmconnect=VM_ID),
        RdpOptions(sso_password="s3cret pw"),
        [
            "/v:hv1.example.com:2179",
            f"/vmconnect:{VM_ID}",
            "/port:2179",
            *TOFU_DEFAULTS[1:],
            "/p:s3cret pw",
        ],
        id="hyper-v-vm-console",
    ),
]


@pytest.mark.parametrize(("connection", "options", "lines"), FREERDP3_CASES)
def test_freerdp3_reads_everything_from_an_inherited_fd(
    connection: ConnectionInfo, options: RdpOptions, lines: list[str]
) -> None:
    plan = freerdp.plan(connection, client=XF3, version=V3, options=options)
    # /args-from cannot be combined with any other argument.
    assert plan.argv == (XF3, "/args-from:fd:{fd:0}")
    assert plan.pass_fds == ("".join(f"{line}\n" for line in lines).encode(),)
    assert plan.stdin is None


@pytest.mark.parametrize("version", [(3, 0, 0), (3, 10, 3), (4, 0, 0)])
def test_every_freerdp_from_3_on_uses_args_from(version: tuple[int, int, int]) -> None:
    plan = freerdp.plan(conn(), client=XF3, version=version, options=RdpOptions())
    assert plan.argv[1] == "/args-from:fd:{fd:0}"


def test_freerdp_older_than_2_is_refused() -> None:
    with pytest.raises(LaunchError, match=r"FreeRDP 1\.2\.0 is too old") as caught:
        freerdp.plan(conn(), client=XF2, version=(1, 2, 0), options=RdpOptions())
    assert "freerdp3-x11" in str(caught.value)


def test_freerdp2_cannot_take_a_gateway_password_alone() -> None:
    options = RdpOptions(
        gateway=Gateway("gw.example.com", username="g", use_sign_in=False, password="gp")
    )
    with pytest.raises(LaunchError, match="only together with the desktop's"):
        freerdp.plan(conn(), client=XF2, version=V2, options=options)
    # FreeRDP 3 can.
    plan = freerdp.plan(conn(), client=XF3, version=V3, options=options)
    assert b"/gateway:g:gw.example.com:443,u:g,p:gp\n" in plan.pass_fds[0]


@pytest.mark.parametrize("version", [V2, V3])
def test_a_gateway_with_its_own_sign_in_needs_its_password(version: tuple[int, int, int]) -> None:
    options = RdpOptions(
        gateway=Gateway("gw.example.com", username="g", use_sign_in=False), sso_password="pw"
    )
    with pytest.raises(LaunchError, match="gateway password is missing"):
        freerdp.plan(conn(), client=XF2, version=version, options=options)


@pytest.mark.parametrize("version", [V2, V3])
def test_rdp_cannot_go_through_a_proxy(version: tuple[int, int, int]) -> None:
    connection = conn(proxy="http://pve1.example.com:3128")
    with pytest.raises(LaunchError) as caught:
        freerdp.plan(connection, client=XF2, version=version, options=RdpOptions())
    assert caught.value.message == (
        "The RDP client cannot reach this desktop: it is only reachable through a proxy."
    )


@pytest.mark.parametrize("vm_id", ["{" + VM_ID + "}", VM_ID + "\n/p:x", "-" + VM_ID[1:], "vm1"])
def test_a_vm_id_that_is_no_guid_is_refused(vm_id: str) -> None:
    with pytest.raises(ValueError, match="not a VM id"):
        freerdp.plan(conn(vmconnect=vm_id), client=XF2, version=V2, options=RdpOptions())


def test_plan_refuses_other_protocols() -> None:
    with pytest.raises(ValueError, match="not an RDP connection"):
        freerdp.plan(conn(protocol=Protocol.VNC), client=XF2, version=V2, options=RdpOptions())


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
    assert freerdp.detect_version(text) == version


def test_locate_freerdp_prefers_freerdp3_and_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound) as caught:
        freerdp.locate(platform="linux", path=str(tmp_path), extra_dirs=())
    assert "sudo apt-get install freerdp3-x11" in str(caught.value)
    assert "freerdp2-x11" in str(caught.value)
    make_exe(tmp_path, "xfreerdp")
    assert freerdp.locate(platform="linux", path=str(tmp_path), extra_dirs=()) == str(
        tmp_path / "xfreerdp"
    )
    make_exe(tmp_path, "xfreerdp3")
    assert freerdp.locate(platform="linux", path="", extra_dirs=(str(tmp_path),)) == str(
        tmp_path / "xfreerdp3"
    )
    override = make_exe(tmp_path / "opt", "my-rdp")
    assert freerdp.locate(platform="linux", override=str(override)) == str(override)


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
        (
            "fingerprint-mismatch.txt",
            "The desktop's certificate is not the one the broker vouched for.",
        ),
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
        if (reason := freerdp.classify_line(line)) is not None
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
    reason = freerdp.classify_line(line)
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
    reason = freerdp.exit_reason(code)
    assert (reason.message if reason else None) == expected


@pytest.mark.parametrize("code", [2, 12])
def test_a_logoff_on_the_desktop_is_no_failure_but_is_told(code: int) -> None:
    reason = freerdp.exit_reason(code)
    assert reason is not None
    assert (reason.failed, reason.logged_off) == (False, True)
    assert reason.message == "The session was logged off on the desktop."


@pytest.mark.parametrize("code", [0, 1, 3, 5, 11, 140, 147, 200])
def test_only_logoff_codes_say_logged_off(code: int) -> None:
    reason = freerdp.exit_reason(code)
    assert reason is None or not reason.logged_off


# --- the version a launch asks, once per program ------------------------------------

V2_TEXT = (DATA / "version-2.txt").read_text().strip()
V3_TEXT = (DATA / "version-3.txt").read_text().strip()


def test_freerdp_version_is_asked_once_per_program(tmp_path: Path) -> None:
    two = fake_client.make(tmp_path / "two", name="xfreerdp", version=V2_TEXT)
    three = fake_client.make(tmp_path / "three", name="xfreerdp", version=V3_TEXT)
    versions = FreeRdpVersions()
    assert versions.get(str(two.path)) == (2, 11, 7)
    assert versions.get(str(two.path)) == (2, 11, 7)
    assert versions.get(str(three.path))[0] == 3
    assert (two.probe_count(), three.probe_count()) == (1, 1)
    # An update on disk is asked again.
    stat = two.path.stat()
    os.utime(two.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    versions.get(str(two.path))
    assert two.probe_count() == 2


def test_freerdp_that_says_no_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    quiet = fake_client.make(tmp_path / "a", name="xfreerdp", version="failed to open display")
    with pytest.raises(LaunchError, match=r"which FreeRDP version .* is \(DISPLAY is not set\)"):
        FreeRdpVersions().get(str(quiet.path))
    named = fake_client.make(tmp_path / "b", name="xfreerdp3", version="")
    assert FreeRdpVersions().get(str(named.path)) == (3, 0, 0)
