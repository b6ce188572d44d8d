"""Every protocol wired: protocol choice, client per OS, exact plans, and open_desktop."""

from __future__ import annotations

import logging
import os
import queue
import signal
import time
from pathlib import Path

import pytest

from launcher.core import launching, wincred
from launcher.core.launching import (
    FREERDP,
    MSTSC,
    RDP_APP,
    REMOTE_VIEWER,
    VNCVIEWER,
    Client,
    FreeRdpVersions,
    Preferences,
    choose_protocol,
    locate,
    open_desktop,
    prepare,
)
from launcher.core.models import ConnectionInfo, Desktop, DesktopState, GatewayInfo, Protocol
from launcher.core.protocols import (
    ClientNotFound,
    Credential,
    LaunchError,
    RemoveCredential,
    Step,
    file_placeholder,
    spice,
    vnc,
)
from launcher.core.protocols.rdp import freerdp as freerdp_client
from launcher.core.protocols.rdp import rdpfile
from launcher.core.secret import Secret
from launcher.core.settings import RdpSettings, UserSettings
from launcher.core.supervisor import ClientExit
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop
from tests.helpers.fake_wincred import FakeVault

DATA = Path(__file__).parents[3] / "data"
V2_TEXT = (DATA / "xfreerdp" / "version-2.txt").read_text().strip()
V3_TEXT = (DATA / "xfreerdp" / "version-3.txt").read_text().strip()
FP = (
    "EC:63:A5:30:89:E7:9D:40:0B:26:AA:79:10:EC:FD:DE:"
    "35:F4:44:04:76:EF:B1:34:92:31:D1:E5:72:A7:7D:73"
)
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def lab(*protocols: Protocol) -> Desktop:
    return Desktop("lab", "Lab 1", protocols, protocols[0], DesktopState.AVAILABLE)


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


# --- protocol and client -----------------------------------------------------------


def test_the_users_protocol_if_offered_else_the_default() -> None:
    both = lab(Protocol.RDP, Protocol.VNC)
    assert choose_protocol(both) is Protocol.RDP
    assert choose_protocol(both, Protocol.VNC) is Protocol.VNC
    assert choose_protocol(both, Protocol.SPICE) is Protocol.RDP


def test_preferences_come_from_the_settings_and_the_command_line_wins() -> None:
    settings = UserSettings(fullscreen=True, clients={"vnc": "/x"})
    settings.rdp.multimon = True
    settings.vnc.client = "remote-viewer"
    settings.spice.usbredir = True
    prefs = Preferences.from_settings(settings, fullscreen=False)
    assert (prefs.fullscreen, prefs.vnc_client, prefs.spice_usbredir) == (
        False,
        "remote-viewer",
        True,
    )
    assert prefs.rdp.multimon
    settings.rdp.multimon = False  # a snapshot: later edits do not leak in
    assert prefs.rdp.multimon
    assert Preferences.from_settings(settings).fullscreen is True


def test_vnc_uses_vncviewer_by_default_and_remote_viewer_when_chosen(tmp_path: Path) -> None:
    viewer = executable(tmp_path / "vncviewer")
    rv = executable(tmp_path / "remote-viewer")
    clients = {"vncviewer": str(viewer), "remote-viewer": str(rv)}
    found = locate(Protocol.VNC, Preferences(clients=clients), platform="linux")
    assert found == Client(VNCVIEWER, str(viewer))
    chosen = Preferences(clients=clients, vnc_client="remote-viewer")
    assert locate(Protocol.VNC, chosen, platform="linux") == Client(REMOTE_VIEWER, str(rv))
    assert locate(Protocol.SPICE, Preferences(clients=clients), platform="macos").key == (
        REMOTE_VIEWER
    )


def test_older_settings_name_the_vnc_viewer_by_protocol(tmp_path: Path) -> None:
    viewer = executable(tmp_path / "my-viewer")
    found = locate(Protocol.VNC, Preferences(clients={"vnc": str(viewer)}), platform="linux")
    assert found.path == str(viewer)


@pytest.mark.parametrize(
    ("protocol", "vnc_client", "message", "package"),
    [
        (Protocol.VNC, "vncviewer", "The VNC viewer is not installed", "tigervnc-viewer"),
        (Protocol.VNC, "remote-viewer", "The SPICE viewer (remote-viewer)", "virt-viewer"),
        (Protocol.SPICE, "vncviewer", "The SPICE viewer (remote-viewer)", "virt-viewer"),
        (Protocol.RDP, "vncviewer", "The RDP client (FreeRDP)", "freerdp3-x11"),
    ],
)
def test_a_missing_client_names_what_to_install(
    tmp_path: Path, protocol: Protocol, vnc_client: str, message: str, package: str
) -> None:
    missing = str(tmp_path / "nothing-here")
    prefs = Preferences(
        clients={k: missing for k in ("vncviewer", "remote-viewer", "xfreerdp")},
        vnc_client=vnc_client,
    )
    with pytest.raises(ClientNotFound) as caught:
        locate(protocol, prefs, platform="linux")
    assert caught.value.message.startswith(message)
    assert package in caught.value.hint


def test_rdp_client_per_os(tmp_path: Path) -> None:
    mstsc = executable(tmp_path / "mstsc.exe")
    app = tmp_path / "Windows App.app"
    app.mkdir()
    xfreerdp = fake_client.make(tmp_path / "fr", name="xfreerdp", version=V2_TEXT)
    prefs = Preferences(clients={"mstsc": str(mstsc), "rdp-app": str(app)})
    assert locate(Protocol.RDP, prefs, platform="windows") == Client(MSTSC, str(mstsc))
    assert locate(Protocol.RDP, prefs, platform="macos") == Client(RDP_APP, str(app))
    # FreeRDP chosen by the user wins everywhere.
    chosen = Preferences(clients={"xfreerdp": str(xfreerdp.path)})
    for system in ("linux", "windows", "macos"):
        found = locate(Protocol.RDP, chosen, platform=system, versions=FreeRdpVersions())
        assert found == Client(FREERDP, str(xfreerdp.path), (2, 11, 7))


# --- exact plans ---------------------------------------------------------------------


def rdp_conn(**kw: object) -> ConnectionInfo:
    base: dict[str, object] = {
        "protocol": Protocol.RDP,
        "host": "10.0.0.8",
        "port": 3389,
        "username": "ann",
        "sso": True,
    }
    base.update(kw)
    return ConnectionInfo(**base)  # type: ignore[arg-type]


XF2 = Client(FREERDP, "/usr/bin/xfreerdp", (2, 11, 7))
XF3 = Client(FREERDP, "/usr/bin/xfreerdp3", (3, 5, 1))


def test_vncviewer_plan_and_watch() -> None:
    conn = ConnectionInfo(Protocol.VNC, "10.0.0.5", 5901, password="pw")
    prepared = prepare(
        conn, Client(VNCVIEWER, "/usr/bin/vncviewer"), Preferences(fullscreen=True), title="Lab"
    )
    assert prepared.plan.argv == (
        "/usr/bin/vncviewer",
        "-FullScreen",
        "-passwd",
        "/dev/stdin",
        "10.0.0.5::5901",
    )
    assert prepared.plan.stdin == vnc.obfuscate_password("pw")
    assert prepared.name == "VNC viewer"
    assert prepared.classify is vnc.classify_line
    assert prepared.exit_reason is None
    watch = prepared.connect
    assert watch is not None
    assert (watch.timeout, watch.connected_line, watch.assume_connected) == (
        launching.SIGNED_TIMEOUT,
        vnc.connected_line,
        False,
    )


def test_remote_viewer_for_vnc_is_watched_for_its_sign() -> None:
    conn = ConnectionInfo(Protocol.VNC, "10.0.0.5", 5901, password="pw")
    prepared = prepare(conn, Client(REMOTE_VIEWER, "/usr/bin/remote-viewer"), Preferences())
    assert prepared.plan.argv == ("/usr/bin/remote-viewer", "--debug", "-")
    assert prepared.plan.stdin == (
        b"[virt-viewer]\ntype=vnc\nhost=10.0.0.5\nport=5901\npassword=pw\ndelete-this-file=1\n"
    )
    assert prepared.connect is not None
    assert not prepared.connect.assume_connected
    assert prepared.connect.connected_line is spice.connected_line


def test_spice_with_tls_ca_subject_and_usb() -> None:
    conn = ConnectionInfo(
        Protocol.SPICE,
        "10.0.0.9",
        5900,
        tls=True,
        password="one-time",
        tls_port=5901,
        ca=CA,
        host_subject="CN=host9",
        cert_fingerprint=FP,  # remote-viewer cannot pin one: not used
    )
    prepared = prepare(
        conn,
        Client(REMOTE_VIEWER, "/usr/bin/remote-viewer"),
        Preferences(spice_usbredir=True, fullscreen=True, connect_timeout=7.0),
        title="Lab 2",
    )
    assert prepared.plan.argv == ("/usr/bin/remote-viewer", "--debug", "-")
    assert prepared.plan.stdin == (
        b"[virt-viewer]\n"
        b"type=spice\n"
        b"host=10.0.0.9\n"
        b"port=5900\n"
        b"tls-port=5901\n"
        b"password=one-time\n"
        b"title=Lab 2\n"
        b"fullscreen=1\n"
        b"ca=-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\n"
        b"host-subject=CN=host9\n"
        b"enable-usbredir=1\n"
        b"delete-this-file=1\n"
    )
    assert prepared.name == "SPICE viewer"
    assert prepared.connect is not None
    # It says so when connected (remote-viewer --debug, seen against Xspice).
    assert (prepared.connect.timeout, prepared.connect.assume_connected) == (7.0, False)
    assert prepared.connect.connected_line is spice.connected_line
    default = prepare(conn, Client(REMOTE_VIEWER, "/usr/bin/remote-viewer"), Preferences())
    assert default.connect is not None
    assert default.connect.timeout == launching.SIGNED_TIMEOUT


def test_freerdp2_with_single_sign_on_and_everything_the_broker_may_send() -> None:
    conn = rdp_conn(
        domain="CORP",
        cert_fingerprint=FP,
        gateway=GatewayInfo("gw.example.com", 8443),
    )
    prepared = prepare(conn, XF2, Preferences(), title="Lab 1", sso_password="s3cret pw")
    assert prepared.plan.argv == (
        "/usr/bin/xfreerdp",
        "/v:10.0.0.8:3389",
        "/u:ann",
        "/d:CORP",
        "/cert:deny,fingerprint:sha256:" + FP.lower(),
        "+clipboard",
        "/sound",
        "/g:gw.example.com:8443",
        "/t:Lab 1",
        "/from-stdin:force",
    )
    assert prepared.plan.stdin == b"s3cret pw\n"
    assert prepared.exit_reason is freerdp_client.exit_reason
    assert prepared.classify is freerdp_client.classify_line
    assert prepared.connect is not None
    assert prepared.connect.assume_connected


def test_the_sign_in_password_goes_only_where_the_pool_asks_for_it() -> None:
    prepared = prepare(rdp_conn(sso=False), XF2, Preferences(), sso_password="s3cret pw")
    assert "/from-stdin:force" not in prepared.plan.argv
    assert prepared.plan.stdin is None
    # The broker's own password for the desktop still works without SSO.
    own = prepare(rdp_conn(sso=False, password="broker-pw"), XF2, Preferences())
    assert own.plan.stdin == b"broker-pw\n"


def test_the_users_rdp_settings_shape_the_command_line() -> None:
    rdp_settings = RdpSettings(
        fullscreen=False,
        width=1600,
        height=900,
        multimon=True,
        clipboard=False,
        drives={"scans": "/srv/scans", "home": "/home/ann"},
        audio="off",
    )
    prepared = prepare(
        rdp_conn(), XF2, Preferences(fullscreen=True, rdp=rdp_settings), sso_password="pw"
    )
    assert prepared.plan.argv[1:] == (
        "/v:10.0.0.8:3389",
        "/u:ann",
        "/cert:tofu",
        "/size:1600x900",
        "/multimon",
        "-clipboard",
        "/drive:home,/home/ann",
        "/drive:scans,/srv/scans",
        "/audio-mode:2",
        "/from-stdin:force",
    )
    # rdp.fullscreen None follows the general setting.
    follows = prepare(rdp_conn(), XF2, Preferences(fullscreen=False), sso_password="pw")
    assert "/f" not in follows.plan.argv


def test_freerdp3_gets_everything_through_an_inherited_pipe() -> None:
    prepared = prepare(rdp_conn(), XF3, Preferences(), title="Lab", sso_password="s3cret pw")
    assert prepared.plan.argv == ("/usr/bin/xfreerdp3", "/args-from:fd:{fd:0}")
    assert prepared.plan.stdin is None
    [payload] = prepared.plan.pass_fds
    assert payload.decode().splitlines() == [
        "/v:10.0.0.8:3389",
        "/u:ann",
        "/cert:tofu",
        "+clipboard",
        "/sound",
        "/t:Lab",
        "/p:s3cret pw",
    ]


def test_mstsc_and_the_macos_app() -> None:
    mstsc = prepare(
        rdp_conn(sso=False), Client(MSTSC, r"C:\Windows\System32\mstsc.exe"), Preferences()
    )
    assert mstsc.plan.argv == (r"C:\Windows\System32\mstsc.exe", file_placeholder(0))
    assert mstsc.plan.pre_steps == ()
    assert mstsc.name == "Remote Desktop Connection"
    assert not mstsc.detached
    app = prepare(
        rdp_conn(sso=False), Client(RDP_APP, "/Applications/Windows App.app"), Preferences()
    )
    assert app.plan.argv == ("/usr/bin/open", "-a", "/Applications/Windows App.app", "{file:0}")
    assert app.detached
    assert app.name == "Windows App"


def test_mstsc_with_single_sign_on_gets_a_termsrv_credential_never_the_file() -> None:
    mstsc = prepare(
        rdp_conn(domain="CORP"),
        Client(MSTSC, r"C:\Windows\System32\mstsc.exe"),
        Preferences(fullscreen=True),
        title="Lab",
        sso_password="s3cret pw",
    )
    plan = mstsc.plan
    assert plan.argv == (r"C:\Windows\System32\mstsc.exe", "{file:0}")
    assert plan.temp_files[0].contents == (
        b"\xff\xfe"
        + (
            "full address:s:10.0.0.8:3389\r\n"
            "username:s:ann\r\n"
            "domain:s:CORP\r\n"
            "screen mode id:i:2\r\n"
            "use multimon:i:0\r\n"
            "redirectclipboard:i:1\r\n"
            "audiomode:i:0\r\n"
            "authentication level:i:2\r\n"
            "prompt for credentials:i:0\r\n"
            "enablecredsspsupport:i:1\r\n"
        ).encode("utf-16-le")
    )
    [step] = plan.pre_steps
    assert isinstance(step, Credential)
    assert (step.target, step.username) == ("TERMSRV/10.0.0.8", "CORP\\ann")
    assert isinstance(step.password, Secret)
    assert step.password.reveal() == "s3cret pw"
    assert plan.post_steps == (RemoveCredential("TERMSRV/10.0.0.8"),)
    assert (plan.stdin, plan.pass_fds, plan.cleanup_after) == (None, (), rdpfile.RDP_FILE_GRACE)
    assert "s3cret pw" not in repr(plan)
    # Without single sign-on the pool's desktop gets no sign-in password.
    asks = prepare(
        rdp_conn(sso=False), Client(MSTSC, "mstsc"), Preferences(), sso_password="s3cret pw"
    )
    assert asks.plan.pre_steps == asks.plan.post_steps == ()


@pytest.mark.parametrize(
    ("platform", "supported"), [("linux", True), ("windows", True), ("macos", False)]
)
def test_single_sign_on_everywhere_but_the_macos_app(platform: str, supported: bool) -> None:
    assert launching.sso_supported(platform) is supported


@pytest.mark.parametrize(
    "connection",
    [
        ConnectionInfo(Protocol.VNC, "bad host", 5901),
        rdp_conn(username="ann\n/p:x"),
        rdp_conn(cert_fingerprint="not-a-fingerprint"),
        ConnectionInfo(Protocol.SPICE, "10.0.0.9", 5900, tls_port=70000),
    ],
)
def test_connection_details_a_client_could_misread_are_refused(connection: ConnectionInfo) -> None:
    key = {Protocol.VNC: REMOTE_VIEWER, Protocol.SPICE: REMOTE_VIEWER, Protocol.RDP: FREERDP}
    client = XF2 if connection.protocol is Protocol.RDP else Client(key[connection.protocol], "/rv")
    with pytest.raises(LaunchError, match="connection details Rubicon cannot use"):
        prepare(connection, client, Preferences(), sso_password="pw")


# --- open_desktop ---------------------------------------------------------------------


@pytest.fixture
def secrets_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    return caplog


def test_single_sign_on_reaches_freerdp_on_stdin_and_nowhere_else(
    tmp_path: Path, secrets_logged: pytest.LogCaptureFixture
) -> None:
    password = "Sign-in pw:ö 7"
    broker = FakeBroker(
        desktops=[desktop("lab", "rdp", "vnc")],
        connections={
            "lab": {
                "protocol": "rdp",
                "host": "10.0.0.8",
                "port": 3389,
                "username": "ann",
                "domain": "CORP",
                "sso": True,
            },
        },
    )
    client = fake_client.make(tmp_path / "bin", name="xfreerdp", version=V2_TEXT)
    exits: queue.Queue[ClientExit] = queue.Queue()
    with broker.client() as api:
        api.login(username="ann", password="ann-password")
        [lab_desktop] = api.desktops()
        opened = open_desktop(
            api,
            lab_desktop,
            on_exit=exits.put,
            preferences=Preferences(clients={"xfreerdp": str(client.path)}),
            sso=Secret(password),
            platform="linux",
            versions=FreeRdpVersions(),
        )
        exits.get(timeout=15)
    recorded = client.recorded()
    assert recorded["stdin"] == f"{password}\n".encode()
    assert recorded["argv"][1:] == [
        "/v:10.0.0.8:3389",
        "/u:ann",
        "/d:CORP",
        "/cert:tofu",
        "+clipboard",
        "/sound",
        "/t:Lab",
        "/from-stdin:force",
    ]
    assert all(password not in arg for arg in recorded["argv"])
    assert password not in secrets_logged.text
    assert opened.protocol is Protocol.RDP
    assert (opened.host, opened.port, opened.session_id) == ("10.0.0.8", 3389, "s-lab")
    launch = [r for r in broker.requests if r.path.endswith("/launch")]
    assert [r.body for r in launch] == [{"protocol": "rdp"}]


# --- mstsc on Windows: the TERMSRV credential around the start ----------------------------


def windows_broker() -> FakeBroker:
    return FakeBroker(
        desktops=[desktop("lab", "rdp")],
        connections={
            "lab": {
                "protocol": "rdp",
                "host": "10.0.0.8",
                "port": 3389,
                "username": "ann",
                "domain": "CORP",
                "sso": True,
            },
        },
    )


def open_on_windows(
    mstsc: Path, vault: FakeVault, exits: queue.Queue[ClientExit], password: str
) -> launching.OpenedDesktop:
    def run_step(step: Step) -> None:
        wincred.run_step(step, api=vault.api)

    with windows_broker().client() as api:
        api.login(username="ann", password="ann-password")
        return open_desktop(
            api,
            api.desktops()[0],
            on_exit=exits.put,
            preferences=Preferences(clients={"mstsc": str(mstsc)}),
            sso=Secret(password),
            platform="windows",
            run_step=run_step,
        )


def test_mstsc_signs_in_from_a_credential_that_is_gone_when_it_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets_logged: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    password = "Sign-in pw:ö 7"
    mstsc = fake_client.make(tmp_path / "bin", name="mstsc.exe", hang=True)
    vault = FakeVault()
    exits: queue.Queue[ClientExit] = queue.Queue()
    opened = open_on_windows(mstsc.path, vault, exits, password)
    try:
        recorded = mstsc.recorded()
        [rdp_path] = recorded["argv"][1:]
        contents = recorded["files"][rdp_path]["contents"]
        assert recorded["files"][rdp_path]["mode"] == 0o600
        assert contents.startswith(b"\xff\xfe")
        assert "username:s:ann\r\ndomain:s:CORP\r\n" in contents[2:].decode("utf-16-le")
        assert password.encode("utf-16-le") not in contents
        stored = vault.entries["TERMSRV/10.0.0.8"]
        assert (stored.type, stored.persist, stored.username, stored.password) == (
            2,
            1,
            "CORP\\ann",
            password,
        )
        assert opened.protocol is Protocol.RDP
    finally:
        opened.client.stop()
    assert exits.get(timeout=10).reason is None
    assert vault.entries == {}
    assert [kind for kind, _ in vault.calls] == ["read", "write", "read", "delete"]
    assert password not in secrets_logged.text


def test_mstsc_crashing_leaves_no_credential_behind(tmp_path: Path) -> None:
    mstsc = fake_client.make(tmp_path, name="mstsc.exe", hang=True)
    vault = FakeVault()
    exits: queue.Queue[ClientExit] = queue.Queue()
    opened = open_on_windows(mstsc.path, vault, exits, "pw")
    mstsc.recorded()
    assert "TERMSRV/10.0.0.8" in vault.entries
    os.kill(opened.client.pid, signal.SIGABRT)
    result = exits.get(timeout=10)
    assert result.reason is not None
    assert "crashed (SIGABRT)" in result.reason.message
    assert vault.entries == {}


def test_mstsc_that_cannot_start_leaves_no_credential_behind(tmp_path: Path) -> None:
    # Found and executable, but its interpreter is missing: exec fails.
    broken = tmp_path / "mstsc.exe"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    vault = FakeVault()
    with pytest.raises(LaunchError, match="Could not start"):
        open_on_windows(broken, vault, queue.Queue(), "pw")
    assert [kind for kind, _ in vault.calls] == ["read", "write", "read", "delete"]
    assert vault.entries == {}


def test_mstsc_missing_stores_nothing(tmp_path: Path) -> None:
    vault = FakeVault()
    with pytest.raises(ClientNotFound, match="Remote Desktop Connection"):
        open_on_windows(tmp_path / "no-mstsc.exe", vault, queue.Queue(), "pw")
    assert vault.calls == []


def test_an_sso_pool_without_the_password_says_sign_in_again(tmp_path: Path) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "rdp")],
        connections={"lab": {"protocol": "rdp", "host": "h", "port": 3389, "sso": True}},
    )
    client = fake_client.make(tmp_path, name="xfreerdp", version=V2_TEXT)
    secret = Secret("pw")
    secret.clear()
    with broker.client() as api:
        api.login(username="ann", password="ann-password")
        with pytest.raises(LaunchError, match="no longer holds") as caught:
            open_desktop(
                api,
                api.desktops()[0],
                on_exit=lambda _: None,
                preferences=Preferences(clients={"xfreerdp": str(client.path)}),
                sso=secret,
                platform="linux",
                versions=FreeRdpVersions(),
            )
    assert caught.value.hint == "Sign out, sign in again, and connect."
    time.sleep(0.2)
    assert not client.record.exists()


def test_a_missing_client_costs_no_machine(tmp_path: Path) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "spice")],
        connections={"lab": {"protocol": "spice", "host": "h", "port": 5900}},
    )
    with broker.client() as api:
        api.login(username="ann", password="ann-password")
        with pytest.raises(ClientNotFound):
            open_desktop(
                api,
                api.desktops()[0],
                on_exit=lambda _: None,
                preferences=Preferences(clients={"remote-viewer": str(tmp_path / "none")}),
                platform="linux",
            )
    assert not any(path.endswith("/launch") for path in broker.paths())


def test_the_chosen_protocol_is_asked_for_and_watched_until_connected(tmp_path: Path) -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "rdp", "vnc")],
        connections={
            "lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901, "password": "pw"}
        },
    )
    viewer = fake_client.make(tmp_path, replay=DATA / "vncviewer" / "connected.txt", hang=True)
    connected: queue.Queue[bool] = queue.Queue()
    exits: queue.Queue[ClientExit] = queue.Queue()
    with broker.client() as api:
        api.login(username="ann", password="ann-password")
        opened = open_desktop(
            api,
            api.desktops()[0],
            protocol=Protocol.VNC,
            on_exit=exits.put,
            on_connected=lambda: connected.put(True),
            preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
            platform="linux",
        )
        try:
            assert connected.get(timeout=10)
            assert opened.client.connected
        finally:
            opened.client.stop()
    result = exits.get(timeout=10)
    assert result.connected
    assert result.reason is None
    assert [r.body for r in broker.requests if r.path.endswith("/launch")] == [{"protocol": "vnc"}]
    assert viewer.recorded()["argv"][1:] == ["-passwd", "/dev/stdin", "10.0.0.5::5901"]


def test_a_kiosk_puts_every_client_full_screen() -> None:
    kiosk = Preferences(kiosk=True, rdp=RdpSettings(fullscreen=False, width=800, height=600))
    vnc_conn = ConnectionInfo(Protocol.VNC, "10.0.0.5", 5901)
    viewer = prepare(vnc_conn, Client(VNCVIEWER, "/usr/bin/vncviewer"), kiosk)
    assert viewer.plan.argv == ("/usr/bin/vncviewer", "-FullScreen", "10.0.0.5::5901")
    rv = prepare(vnc_conn, Client(REMOTE_VIEWER, "/usr/bin/remote-viewer"), kiosk)
    assert rv.plan.argv == (
        "/usr/bin/remote-viewer",
        "--kiosk",
        "--kiosk-quit",
        "on-disconnect",
        "--debug",
        "-",
    )
    assert rv.plan.stdin is not None
    assert b"fullscreen=1\n" in rv.plan.stdin
    freerdp = prepare(rdp_conn(sso=False), XF2, kiosk)
    assert "/f" in freerdp.plan.argv
