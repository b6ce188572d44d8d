from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from broker_stub import tls
from broker_stub.domain import errors as broker_errors
from launcher.core import trust
from launcher.core.broker import (
    BrokerBusy,
    BrokerClient,
    BrokerProtocolError,
    BrokerRejected,
    BrokerUnreachable,
    CertificateChanged,
    DesktopFailed,
    DesktopStarting,
    InvalidCredentials,
    NoDesktopAvailable,
    NotEntitled,
    PlainHttpRefused,
    SessionExpired,
    UntrustedCertificate,
    check_plain_http,
    normalize_url,
)
from launcher.core.models import DesktopState, GatewayInfo, Protocol
from tests.helpers.live_broker import LiveBroker, Machine, live_broker


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("broker.example.com", "https://broker.example.com"),
        ("broker.example.com:8443/", "https://broker.example.com:8443"),
        ("  http://127.0.0.1:8080/ ", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("HTTPS://Broker.Example.COM.:443/", "https://broker.example.com"),
        ("vdi_01.corp.example", "https://vdi_01.corp.example"),
        ("https://broker.example.com/rubicon/", "https://broker.example.com/rubicon"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "ftp://x", "http://", "https://:80"])
def test_normalize_url_refuses_what_is_no_address(bad: str) -> None:
    with pytest.raises(ValueError, match="address"):
        normalize_url(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "ht!tp:/bad url",
        "ht!tp:/badurl",
        "broker example.com",
        "https://-broker.example.com",
        "https://broker..example.com",
        "broker.example.com:0",
        "broker.example.com:65536",
        "https://broker.example.com/?next=x",
        "https://broker.example.com/#top",
        "broker.example.com\x07",
    ],
)
def test_what_cannot_be_an_address_is_not_a_valid_address(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a valid address") as caught:
        normalize_url(bad)
    assert str(caught.value).startswith(f"“{bad.strip()}” is not a valid address.")
    assert "broker.example.com" in str(caught.value)  # an example of a good one


def test_a_password_in_the_address_is_refused_and_never_repeated() -> None:
    with pytest.raises(ValueError, match="own fields") as caught:
        normalize_url("https://ann:s3cret@broker.example.com")
    assert "s3cret" not in str(caught.value)
    assert "own fields" in str(caught.value)


# -- against a live broker ------------------------------------------------


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBroker]:
    with live_broker(
        tmp_path_factory.mktemp("broker"),
        pools={
            "solo": [Machine("solo-1", port=5901, password="pw-solo")],
            "pair": [Machine("pair-1", port=5902), Machine("pair-2", port=5903, password=None)],
        },
        users={"ann": "ann-pw", "bob": "bob-pw"},
    ) as live:
        yield live


def test_a_whole_session_through_the_client(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as client:
        sign_in = client.login(username="ann", password="ann-pw")
        assert sign_in.user.username == "ann"
        assert client.signed_in
        desktops = {d.id: d for d in client.desktops()}
        assert set(desktops) == {"solo", "pair"}
        assert desktops["solo"].state is DesktopState.AVAILABLE
        assert desktops["solo"].protocols == (Protocol.VNC,)

        launch = client.launch("solo")
        assert (launch.connection.host, launch.connection.port) == ("127.0.0.1", 5901)
        assert launch.connection.password == "pw-solo"
        assert client.launch("solo", protocol=Protocol.VNC).session_id == launch.session_id
        solo = {d.id: d for d in client.desktops()}["solo"]
        assert solo.state is DesktopState.CONNECTED
        assert solo.session is not None
        assert solo.session.id == launch.session_id

        client.logoff(launch.session_id)
        assert {d.id: d for d in client.desktops()}["solo"].session is None
        client.logout()
        assert not client.signed_in
        with pytest.raises(SessionExpired):
            client.desktops()


def test_wrong_password(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as client, pytest.raises(InvalidCredentials) as caught:
        client.login(username="ann", password="nope")
    assert caught.value.status == 401
    # The broker's sentence says what to do; the launcher does not say it again.
    assert str(caught.value) == "The username or password is wrong. Check both and try again."
    assert str(caught.value).lower().count("try again") == 1
    assert caught.value.hint == ""
    assert not client.signed_in


@pytest.mark.parametrize(
    ("code", "detail", "said"),
    [
        ("invalid_credentials", "Wrong.", "Wrong. Check your username and password and try again."),
        ("invalid_token", "Expired.", "Expired. Sign in again."),
        (
            "invalid_token",
            "You are not signed in, or your sign-in has expired. Sign in again.",
            "You are not signed in, or your sign-in has expired. Sign in again.",
        ),
    ],
)
def test_a_hint_is_added_only_where_the_broker_did_not_say_what_to_do(
    code: str, detail: str, said: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"type": "about:blank", "title": code, "status": 401, "detail": detail}
        return httpx.Response(401, json={**body, "code": code})

    with (
        BrokerClient("https://b.example", transport=httpx.MockTransport(handler)) as client,
        pytest.raises(BrokerRejected) as caught,
    ):
        client.login(username="ann", password="nope")
    assert str(caught.value) == said


def test_nothing_free_and_not_entitled(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as ann, BrokerClient(broker.url) as bob:
        ann.login(username="ann", password="ann-pw")
        bob.login(username="bob", password="bob-pw")
        held = ann.launch("solo")
        with pytest.raises(NoDesktopAvailable) as caught:
            bob.launch("solo")
        assert caught.value.code == "no_machine_available"
        assert "in use" in caught.value.message
        ann.logoff(held.session_id)
        with pytest.raises(BrokerRejected) as missing:
            bob.launch("no-such-pool")
        assert missing.value.code == "pool_not_found"
        assert not isinstance(missing.value, NotEntitled)


def test_token_expiry_drops_the_sign_in(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as client:
        client.login(username="ann", password="ann-pw")
        client._token = "forged"  # what an expired token looks like to the broker
        with pytest.raises(SessionExpired):
            client.desktops()
        assert not client.signed_in


def test_heartbeat_and_disconnect_move_the_session(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as client:
        client.login(username="ann", password="ann-pw")
        launch = client.launch("solo")
        try:
            client.heartbeat(launch.session_id)
        except BrokerRejected as e:
            if e.code != "not_found":
                raise
            pytest.skip("this broker has no heartbeat route yet")
        try:
            solo = {d.id: d for d in client.desktops()}["solo"]
            assert solo.session is not None
            assert solo.session.state == "active"  # the first heartbeat made it so
            client.disconnect(launch.session_id)
            solo = {d.id: d for d in client.desktops()}["solo"]
            assert solo.state is DesktopState.DISCONNECTED
            client.heartbeat(launch.session_id)  # reconnected
            assert {d.id: d for d in client.desktops()}["solo"].state is DesktopState.CONNECTED
        finally:
            client.logoff(launch.session_id)
        with pytest.raises(BrokerRejected) as ended:
            client.heartbeat(launch.session_id)
        assert (ended.value.code, ended.value.status) == ("session_ended", 409)


def test_broker_down(tmp_path: Path) -> None:
    with BrokerClient("http://127.0.0.1:9") as client, pytest.raises(BrokerUnreachable) as e:
        client.login(username="a", password="b")
    assert str(e.value).startswith("Cannot reach the broker at http://127.0.0.1:9.")


# -- answers a broker would not give: replayed through a transport ---------


def replay(response: httpx.Response | Exception) -> BrokerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    return BrokerClient("https://b.example", transport=httpx.MockTransport(handler))


def test_a_web_page_instead_of_a_broker() -> None:
    client = replay(httpx.Response(502, html="<h1>Bad gateway</h1>"))
    with pytest.raises(BrokerProtocolError, match="answered HTTP 502, which is not a broker"):
        client.login(username="a", password="b")


def test_a_reply_missing_fields() -> None:
    client = replay(httpx.Response(200, json={"token": "t"}))
    with pytest.raises(BrokerProtocolError, match="sign-in this launcher cannot read"):
        client.login(username="a", password="b")
    assert not client.signed_in


def test_slow_broker() -> None:
    client = replay(httpx.ReadTimeout("slow"))
    with pytest.raises(BrokerUnreachable, match="did not answer in time"):
        client.desktops()


def test_unknown_problem_code_keeps_the_brokers_words() -> None:
    problem = {"code": "maintenance_window", "detail": "Desktops are being updated until 6 pm."}
    client = replay(httpx.Response(503, json=problem))
    with pytest.raises(BrokerRejected) as caught:
        client.desktops()
    assert type(caught.value) is BrokerRejected
    assert str(caught.value) == "Desktops are being updated until 6 pm."
    assert (caught.value.code, caught.value.status) == ("maintenance_window", 503)


@pytest.mark.parametrize("bad", ["", "..", "a/b"])
def test_ids_cannot_leave_their_path(bad: str) -> None:
    client = replay(httpx.Response(500))
    with pytest.raises(ValueError, match="not a valid id"):
        client.launch(bad)


# -- optional connection fields (docs/api.md, "Connection fields the launcher understands")


def launch_reply(**connection: object) -> httpx.Response:
    base: dict[str, object] = {"protocol": "rdp", "host": "10.0.0.8", "port": 3389}
    base.update(connection)
    return httpx.Response(200, json={"session_id": "s1", "connection": base})


def test_every_optional_field_is_read() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    client = replay(
        launch_reply(
            username="ann",
            domain="CORP",
            tls_port=5901,
            ca=pem,
            host_subject="CN=desk",
            cert_fingerprint="AB:CD",
            gateway={"host": "gw.example.com", "port": 8443},
            sso=True,
        )
    )
    conn = client.launch("lab").connection
    assert (conn.domain, conn.tls_port, conn.ca, conn.host_subject) == (
        "CORP",
        5901,
        pem,
        "CN=desk",
    )
    assert conn.cert_fingerprint == "AB:CD"
    assert conn.gateway == GatewayInfo("gw.example.com", 8443)
    assert conn.sso is True
    assert pem not in repr(conn)


def test_missing_and_null_optional_fields_mean_none() -> None:
    conn = replay(launch_reply(domain=None, gateway={"host": "gw"})).launch("lab").connection
    assert (conn.domain, conn.tls_port, conn.ca, conn.cert_fingerprint) == (None,) * 4
    assert conn.gateway == GatewayInfo("gw", 443)
    assert conn.sso is False


@pytest.mark.parametrize(
    "bad",
    [
        {"sso": "yes"},
        {"tls_port": "5901"},
        {"tls_port": True},
        {"tls_port": 70000},
        {"domain": 5},
        {"gateway": "gw.example.com"},
        {"gateway": {"port": 443}},
        {"gateway": {"host": "gw", "port": 0}},
    ],
)
def test_optional_fields_of_the_wrong_type_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(BrokerProtocolError, match="connection details"):
        replay(launch_reply(**bad)).launch("lab")


def test_a_proxy_and_a_proxy_target_name_are_read() -> None:
    reply = launch_reply(
        protocol="spice",
        host="pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f",
        port=61000,
        tls=True,
        proxy="http://pve1.example.com:3128",
    )
    conn = replay(reply).launch("lab").connection
    assert (conn.host, conn.proxy, conn.vmconnect) == (
        "pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f",
        "http://pve1.example.com:3128",
        None,
    )


@pytest.mark.parametrize(
    "proxy", ["https://pve1.example.com:3128", "http://10.0.0.2:3128/", "http://[fd00::2]:8080"]
)
def test_a_proxy_may_be_http_or_https_by_name_or_address(proxy: str) -> None:
    assert replay(launch_reply(protocol="spice", proxy=proxy)).launch("lab").connection.proxy == (
        proxy
    )


@pytest.mark.parametrize(
    "proxy",
    [
        "pve1.example.com:3128",  # no scheme
        "socks5://pve1.example.com:1080",
        "http://pve1.example.com",  # no port
        "http://:3128",
        "http://pve1.example.com:0",
        "http://pve1.example.com:99999",
        "http://user:pw@pve1.example.com:3128",
        "http://pve1.example.com:3128/path",
        "http://pve1.example.com:3128?x=1",
        "http://pve1.example.com:3128#top",
        "http://pve 1.example.com:3128",
        "http://pve1.example.com:3128\n",
        "http://[fd00::2:8080",
        "http://pve1.example.com:3128/%2e",
        "-http://pve1.example.com:3128",
    ],
)
def test_a_proxy_that_is_not_a_plain_http_url_is_refused(proxy: str) -> None:
    with pytest.raises(BrokerProtocolError, match="connection details") as caught:
        replay(launch_reply(protocol="spice", proxy=proxy)).launch("lab")
    assert "must be an http:// or https:// URL with a host and a port" in str(
        caught.value.__cause__
    )


def test_a_vm_id_is_read_for_rdp() -> None:
    vm_id = "5C5A3F1E-8B0A-4B7E-9A3C-2F1D0E9B7A61"
    conn = replay(launch_reply(port=2179, vmconnect=vm_id)).launch("lab").connection
    assert (conn.port, conn.vmconnect) == (2179, vm_id)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"vmconnect": "{5c5a3f1e-8b0a-4b7e-9a3c-2f1d0e9b7a61}"}, "must be a VM's GUID"),
        ({"vmconnect": "win11-07"}, "must be a VM's GUID"),
        ({"vmconnect": 5}, "must be str"),
        (
            {"protocol": "vnc", "vmconnect": "5c5a3f1e-8b0a-4b7e-9a3c-2f1d0e9b7a61"},
            "for RDP only, not vnc",
        ),
    ],
)
def test_a_vm_id_must_be_a_guid_and_rdp(fields: dict[str, object], why: str) -> None:
    with pytest.raises(BrokerProtocolError, match="connection details") as caught:
        replay(launch_reply(**fields)).launch("lab")
    assert why in str(caught.value.__cause__)


def test_healthz() -> None:
    assert replay(httpx.Response(200, json={"status": "ok"})).healthz()
    assert not replay(httpx.Response(503, json={"code": "database_unavailable"})).healthz()
    with pytest.raises(BrokerUnreachable):
        replay(httpx.ConnectError("refused")).healthz()


def test_a_desktop_still_starting_says_when_to_try_again() -> None:
    starting = {
        "status": "starting",
        "session_id": "s9",
        "retry_after": 15,
        "detail": "Your desktop is starting.",
    }
    with pytest.raises(DesktopStarting) as caught:
        replay(httpx.Response(202, json=starting)).launch("lab")
    assert str(caught.value) == "Your desktop is starting. Try again in 15 seconds."
    assert (caught.value.session_id, caught.value.retry_after) == ("s9", 15)


# -- TLS: system CAs, first use, pins -------------------------------------


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[LiveBroker, tls.Certificate]]:
    cert = tls.create(tmp_path / "tls", ["broker.test"])
    with live_broker(
        tmp_path / "b",
        pools={"solo": [Machine("solo-1", port=5901)]},
        users={"ann": "ann-pw"},
        tls=(cert.cert, cert.key),
    ) as live:
        yield live, cert


def test_first_use_asks_then_the_pin_lets_the_client_in(
    tmp_path: Path, tls_broker: tuple[LiveBroker, tls.Certificate]
) -> None:
    live, cert = tls_broker
    pins = trust.PinStore(tmp_path / "pins.json")
    with BrokerClient(live.url, pins=pins) as client, pytest.raises(UntrustedCertificate) as e:
        client.login(username="ann", password="ann-pw")
    assert e.value.presented.fingerprint == cert.fingerprint
    assert "does not trust" in e.value.message

    pins.pin(e.value.presented.origin, pem=e.value.presented.pem)
    with BrokerClient(live.url, pins=pins) as client:
        assert client.login(username="ann", password="ann-pw").user.username == "ann"


def test_a_changed_certificate_is_refused_not_asked(
    tmp_path: Path, tls_broker: tuple[LiveBroker, tls.Certificate]
) -> None:
    live, cert = tls_broker
    pins = trust.PinStore(tmp_path / "pins.json")
    old = tls.create(tmp_path / "old", ["broker.test"])
    pins.pin(trust.origin(live.url), pem=old.cert.read_text())  # what we trusted last time
    with BrokerClient(live.url, pins=pins) as client, pytest.raises(CertificateChanged) as e:
        client.login(username="ann", password="ann-pw")
    assert e.value.pinned == old.fingerprint
    assert e.value.presented.fingerprint == cert.fingerprint
    assert "will not connect" in str(e.value)
    assert cert.fingerprint in str(e.value)


def test_plain_tcp_refusal_is_not_a_certificate_question() -> None:
    with BrokerClient("https://127.0.0.1:9") as client, pytest.raises(BrokerUnreachable):
        client.login(username="a", password="b")


def _problem_of(error: broker_errors.BrokerError) -> httpx.Response:
    body = {
        "code": error.code,
        "status": error.status,
        "title": error.title,
        "detail": error.detail,
    }
    return httpx.Response(error.status, json=body, headers=dict(error.headers))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (broker_errors.HypervisorUnavailable("Lab"), BrokerBusy),
        (broker_errors.PoolFull("Lab", 50), NoDesktopAvailable),
        (broker_errors.MachineUnreachable("Lab"), DesktopFailed),
        (broker_errors.MachineUnreachable("Lab", live=True), DesktopFailed),
        (broker_errors.MachineGone("Lab"), DesktopFailed),
        (broker_errors.PowerOnTimeout("Lab", timedelta(minutes=3)), DesktopFailed),
        (broker_errors.NoConsole("Lab", "spice"), DesktopFailed),
        (broker_errors.StorageFull("Lab"), DesktopFailed),
    ],
    ids=lambda value: getattr(value, "code", ""),
)
def test_a_hypervisors_failures_reach_the_user_in_the_brokers_words(
    error: broker_errors.BrokerError, kind: type[BrokerRejected]
) -> None:
    client = replay(_problem_of(error))

    with pytest.raises(BrokerRejected) as caught:
        client.launch("lab")

    assert type(caught.value) is kind
    assert str(caught.value) == error.detail
    assert caught.value.code == error.code
    if kind is BrokerBusy:
        assert caught.value.retry_after == 30
        assert caught.value.hint == ""  # the detail already says when to try again


# -- plain HTTP (the sign-in form passes the admin's plain_http_hosts) ---------


@pytest.mark.parametrize(
    "url",
    [
        "https://broker.example.com",
        "http://127.0.0.1:8766",
        "http://127.5.6.7:8766",
        "http://localhost:8766",
        "http://[::1]:8766",
    ],
)
def test_tls_or_loopback_needs_no_permission(url: str) -> None:
    check_plain_http(normalize_url(url))
    BrokerClient(url, plain_http_hosts=()).close()


@pytest.mark.parametrize(
    "url", ["http://broker.example.com:8766", "http://192.0.2.7", "http://[2001:db8::1]:80"]
)
def test_plain_http_elsewhere_is_refused_and_says_what_to_do(url: str) -> None:
    with pytest.raises(PlainHttpRefused) as caught:
        BrokerClient(url, plain_http_hosts=["other.example.com"])
    assert str(caught.value).startswith("Rubicon will not send your password to ")
    assert "https://" in caught.value.hint
    assert isinstance(caught.value, ValueError)  # refused like a bad address, before any request


def test_the_admin_may_allow_plain_http_for_named_hosts() -> None:
    allowed = ["Broker.Example.COM.", "192.0.2.7", "[2001:db8::1]"]
    for url in ("http://broker.example.com:8766", "http://192.0.2.7", "http://[2001:db8::1]"):
        check_plain_http(normalize_url(url), allowed_hosts=allowed)


def test_without_a_list_the_caller_decides() -> None:
    BrokerClient("http://broker.example.com:8766").close()  # the kiosk: its admin's broker
