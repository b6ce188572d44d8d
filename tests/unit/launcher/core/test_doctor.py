"""rubicon doctor: the report against a live broker, a TLS server, fake clients
and a closed port; the support bundle holds no secret."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from broker_stub import tls
from broker_stub.demo.xdisplay import free_tcp_port
from launcher.core import doctor
from launcher.core.doctor import Check, Report, Status
from launcher.core.settings import UserSettings
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker, Machine, live_broker
from tests.unit.launcher.core.test_trust import https_server

DATA = Path(__file__).parents[3] / "data"
V2_TEXT = (DATA / "xfreerdp" / "version-2.txt").read_text().strip()
VNC_BANNER = (DATA / "vncviewer" / "connected.txt").read_text()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBroker]:
    with live_broker(
        tmp_path_factory.mktemp("broker"),
        pools={"lab": [Machine("lab-1", port=5901)]},
        users={"ann": "ann-pw"},
    ) as live:
        yield live


@pytest.fixture
def clients(tmp_path: Path) -> dict[str, str]:
    """Fake vncviewer, remote-viewer and xfreerdp that answer their version probes."""
    return {
        "vncviewer": str(
            fake_client.make(tmp_path / "bin", name="vncviewer", version=VNC_BANNER).path
        ),
        "remote-viewer": str(
            fake_client.make(
                tmp_path / "bin", name="remote-viewer", version="remote-viewer version 11.0"
            ).path
        ),
        "xfreerdp": str(fake_client.make(tmp_path / "bin", name="xfreerdp", version=V2_TEXT).path),
    }


def settings_file(tmp_path: Path, **values: object) -> Path:
    path = tmp_path / "settings.json"
    UserSettings(**values).save(path)  # type: ignore[arg-type]
    return path


def closed_port() -> int:
    return free_tcp_port()


def test_everything_fine_against_a_live_broker(
    tmp_path: Path,
    broker: LiveBroker,
    clients: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPLAY", ":99")  # xfreerdp's probe needs one; the fake does not care
    with socket.create_server(("127.0.0.1", 0)) as desktop:
        port = desktop.getsockname()[1]
        report = doctor.build_report(
            settings_path=settings_file(tmp_path, clients=clients),
            log_directory=tmp_path / "logs",
            server=broker.url,
            desktop=f"127.0.0.1:{port}",
            qt_version="6.7.2",
            system="linux",
        )
    assert not report.failed
    by_id = {c.id: c for c in report.checks}
    assert by_id["client.vncviewer"].summary == f"{clients['vncviewer']}, version 1.12.0."
    assert by_id["client.remote-viewer"].summary == f"{clients['remote-viewer']}, version 11.0."
    assert by_id["client.xfreerdp"].summary == f"{clients['xfreerdp']}, version 2.11.7."
    assert by_id["client.xfreerdp"].status is Status.OK
    assert by_id["broker"].status is Status.OK
    assert by_id["broker"].summary == f"{broker.url} answers and is healthy."
    assert by_id["broker.tls"].status is Status.INFO  # plain HTTP on loopback
    assert by_id["desktop"].summary == f"127.0.0.1:{port} accepts connections."
    assert by_id["qt"].summary == "version 6.7.2."
    assert by_id["settings"].status is Status.OK
    text = report.to_text()
    assert "[ OK ] VNC viewer (TigerVNC): " in text
    assert text.rstrip().endswith("0 problems.")
    data = json.loads(report.to_json())
    assert data["summary"]["fail"] == 0
    assert {c["id"] for c in data["checks"]} >= {"rubicon", "python", "broker", "desktop"}


def test_a_closed_port_and_a_missing_broker_fail_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    port = closed_port()
    report = doctor.build_report(
        settings_path=tmp_path / "none.json",
        server=f"http://127.0.0.1:{closed_port()}",
        desktop=("127.0.0.1", port),
        system="linux",
        timeout=2,
    )
    assert report.failed
    desktop = report.by_id("desktop")
    assert (desktop.status, desktop.summary) == (
        Status.FAIL,
        f"127.0.0.1:{port} refused the connection.",
    )
    assert "try again in a minute" in desktop.action
    assert report.by_id("broker").status is Status.FAIL
    assert report.by_id("broker").summary.startswith("cannot reach http://127.0.0.1:")
    assert report.by_id("settings").status is Status.INFO
    assert report.by_id("display").status is Status.WARN
    assert "What to do: " in report.to_text()


def test_missing_clients_name_the_package(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone")
    path = settings_file(
        tmp_path, clients={"vncviewer": missing, "remote-viewer": missing, "xfreerdp": missing}
    )
    report = doctor.build_report(settings_path=path, system="linux")
    check = report.by_id("client.xfreerdp")
    assert check.status is Status.WARN
    assert check.summary == f"The RDP client (FreeRDP) is not installed at {missing}."
    assert "freerdp2-x11" in check.action
    assert report.by_id("client.vncviewer").details == {"set in settings": missing}
    assert "tigervnc-viewer" in report.by_id("client.vncviewer").action


def test_windows_and_macos_list_their_own_rdp_client(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    windows = {c.id for c in doctor.build_report(settings_path=path, system="windows").checks}
    macos = {c.id for c in doctor.build_report(settings_path=path, system="macos").checks}
    assert "client.mstsc" in windows
    assert "client.rdp-app" in macos
    assert "client.xfreerdp" not in windows | macos
    assert "display" not in windows


def test_a_client_that_hangs_is_given_up_on(tmp_path: Path) -> None:
    def slow(argv: Sequence[str], timeout: float) -> str:
        raise subprocess.TimeoutExpired(list(argv), timeout)

    viewer = fake_client.make(tmp_path / "bin", name="vncviewer")
    report = doctor.build_report(
        settings_path=settings_file(tmp_path, clients={"vncviewer": str(viewer.path)}),
        system="linux",
        run=slow,
        timeout=1.5,
    )
    check = report.by_id("client.vncviewer")
    assert check.status is Status.WARN
    assert check.summary.endswith("its version could not be read: it did not answer within 1.5 s.")


def test_a_damaged_settings_file_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{oops")
    report = doctor.build_report(settings_path=path, system="linux")
    assert report.by_id("settings").status is Status.FAIL
    assert path.read_text() == "{oops"
    path.write_text(json.dumps({"rdp": {"audio": "loud"}}))
    path.chmod(0o600)
    check = doctor.build_report(settings_path=path, system="linux").by_id("settings")
    assert check.status is Status.WARN
    assert "rdp.audio" in check.summary


# --- the broker's TLS certificate -------------------------------------------------


@pytest.fixture(scope="module")
def broker_cert(tmp_path_factory: pytest.TempPathFactory) -> tls.Certificate:
    return tls.create(tmp_path_factory.mktemp("cert"), ["broker.test"])


def test_a_self_signed_broker_shows_its_fingerprint(broker_cert: tls.Certificate) -> None:
    with https_server(broker_cert.cert.parent) as url:
        checks = {c.id: c for c in doctor.check_broker(url)}
    assert checks["broker.tls"].status is Status.WARN
    assert checks["broker.tls"].details["SHA-256"] == broker_cert.fingerprint
    assert "not trusted by this computer" in checks["broker.tls"].summary
    assert checks["broker"].status is Status.OK  # /healthz read all the same


def test_the_fingerprint_given_is_compared(broker_cert: tls.Certificate) -> None:
    with https_server(broker_cert.cert.parent) as url:
        good = {c.id: c for c in doctor.check_broker(url, pin=broker_cert.fingerprint.lower())}
        bad = {c.id: c for c in doctor.check_broker(url, pin="00" * 32)}
    assert good["broker.tls"].status is Status.OK
    assert "matches the fingerprint you gave" in good["broker.tls"].summary
    assert bad["broker.tls"].status is Status.FAIL
    assert bad["broker.tls"].action.startswith("Do not sign in.")


def test_plain_http_to_another_computer_fails() -> None:
    # A name that never resolves (RFC 2606): the verdict needs no packet to leave.
    [tls_check, *_] = doctor.check_broker("http://broker.invalid:8080", timeout=0.5)
    assert tls_check.status is Status.FAIL
    assert "unencrypted" in tls_check.summary


def test_nothing_speaking_tls_there() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        [check] = doctor.check_broker(f"https://127.0.0.1:{port}", timeout=0.5)
    assert check.status is Status.FAIL
    assert check.summary.startswith(f"nothing answers with TLS at 127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.8:3389", ("10.0.0.8", 3389)),
        ("desk.example.com:5901", ("desk.example.com", 5901)),
        ("[fd00::5]:3389", ("fd00::5", 3389)),
    ],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert doctor.parse_host_port(text) == expected


@pytest.mark.parametrize("bad", ["desk", "desk:", "desk:70000", "fd00::5:3389", ":5901"])
def test_parse_host_port_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|brackets"):
        doctor.parse_host_port(bad)


# --- the support bundle -----------------------------------------------------------

SECRETS = ("hunter2-sso", "t0kEnAbCdEfGhIjKlMnOpQrStUvWxYz012345", "vv-console-pw")


def test_the_bundle_holds_report_settings_and_logs_and_no_secret(tmp_path: Path) -> None:
    settings_path = settings_file(tmp_path, last_server="https://broker.example.com")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "rubicon.log").write_text(
        f"POST /auth/login {{'password': '{SECRETS[0]}'}}\n"
        f"Authorization: Bearer {SECRETS[1]}\n"
        f"[virt-viewer]\npassword={SECRETS[2]}\n"
    )
    (logs / "rubicon.log.1").write_text(f"older: xfreerdp /p:{SECRETS[0]}\n")
    (logs / "other.txt").write_text("not ours")
    report = Report(
        (Check("note", "Note", Status.INFO, f"a token slipped in: token={SECRETS[1]}"),)
    )
    target = tmp_path / "out" / "bundle.zip"
    names = doctor.write_bundle(target, report, settings_path=settings_path, log_directory=logs)
    assert names == [
        "report.txt",
        "report.json",
        "settings.json",
        "logs/rubicon.log",
        "logs/rubicon.log.1",
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with zipfile.ZipFile(target) as zf:
        assert zf.namelist() == names
        contents = {name: zf.read(name).decode() for name in names}
    everything = "\n".join(contents.values())
    for secret in SECRETS:
        assert secret not in everything
    assert "[redacted]" in contents["logs/rubicon.log"]
    assert json.loads(contents["settings.json"])["last_server"] == "https://broker.example.com"
    assert json.loads(contents["report.json"])["checks"][0]["id"] == "note"
    assert list(target.parent.iterdir()) == [target]  # no temp file left


def test_a_doctor_run_from_the_command_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "doctor",
            "--json",
            "--settings",
            str(tmp_path / "none.json"),
            "--server",
            f"http://127.0.0.1:{closed_port()}",
            "--timeout",
            "2",
            "--bundle",
            str(tmp_path / "b.zip"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert {c["id"]: c["status"] for c in data["checks"]}["broker"] == "fail"
    assert f"Support bundle written to {tmp_path / 'b.zip'}" in result.stderr
    assert zipfile.ZipFile(tmp_path / "b.zip").namelist()[:2] == ["report.txt", "report.json"]


# -- the certificate the launcher pinned (issue 10 #6) ------------------------------


def pin_file(tmp_path: Path, url: str, pem: str, *, announced: str | None = None) -> Path:
    from launcher.core import trust

    store = trust.PinStore(tmp_path / "pins.json")  # beside settings.json, as the window keeps it
    store.pin(trust.origin(url), pem=pem)
    if announced is not None:
        store.announce(trust.origin(url), pem=announced)
    return store.path


def test_doctor_server_reports_a_certificate_that_is_not_the_pinned_one(
    tmp_path: Path, broker_cert: tls.Certificate
) -> None:
    old = tls.create(tmp_path / "old", ["broker.test"])
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    with https_server(broker_cert.cert.parent) as url:
        pin_file(tmp_path, url, old.cert.read_text())
        result = subprocess.run(
            [sys.executable, "-m", "launcher", "doctor", "--json", "--server", url,
             "--settings", str(tmp_path / "settings.json"), "--timeout", "5"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    tls_check = checks["broker.tls"]
    assert tls_check["status"] == "fail"
    assert "NOT the one you trusted for this broker" in tls_check["summary"]
    assert tls_check["details"] == {
        "SHA-256": broker_cert.fingerprint,
        "trusted before": old.fingerprint,
    }
    assert "Trust the new certificate" in tls_check["action"]


def test_the_pinned_certificate_and_the_announced_next_one_are_fine(
    tmp_path: Path, broker_cert: tls.Certificate
) -> None:
    other = tls.create(tmp_path / "other", ["broker.test"])
    settings = settings_file(tmp_path)
    with https_server(broker_cert.cert.parent) as url:
        pin_file(tmp_path, url, broker_cert.cert.read_text())
        same = doctor.build_report(settings_path=settings, server=url).by_id("broker.tls")
        pin_file(tmp_path, url, other.cert.read_text(), announced=broker_cert.cert.read_text())
        announced = doctor.build_report(settings_path=settings, server=url).by_id("broker.tls")
    assert same.status is Status.OK
    assert "the certificate you trusted for this broker on" in same.summary
    assert announced.status is Status.OK
    assert "new certificate it announced" in announced.summary
