"""POST /api/v1/desktops/{pool}/launch: protocols, single sign-on, power-on (202),
and Idempotency-Key."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from broker_stub.backends import Console, ConsoleTicket
from broker_stub.backends.static import StaticBackend
from broker_stub.clock import utcnow
from broker_stub.db.models import DesktopSession, IdempotencyKey, Machine
from broker_stub.domain import idempotency
from broker_stub.domain.errors import IdempotencyKeyReused, SessionEnded

from ..conftest import Broker, PoolSpec, assert_problem, sqlite_only


def launch_url(pool: str = "engineering") -> str:
    return f"/api/v1/desktops/{pool}/launch"


def key_headers(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def sessions_of(broker: Broker) -> int:
    with broker.session() as db:
        return db.scalar(select(func.count()).select_from(DesktopSession)) or 0


# Protocols and single sign-on


@pytest.fixture
def multi(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    del pools[0]["protocol"]
    pools[0].update(protocols=["rdp", "vnc"], default_protocol="rdp", sso=True)
    pools[0]["machines"] = [
        {"name": "eng-1", "host": "10.0.0.1", "vnc_port": 5901, "password": "vncpw"},
    ]
    pools[2].update(protocol="spice")
    pools[2]["machines"] = [{"name": "art-1", "host": "10.0.0.3", "spice_tls_port": 5931}]
    return make_broker(pools=pools)


def test_rdp_with_single_sign_on(multi: Broker) -> None:
    reply = multi.client.post(launch_url(), headers=multi.login("alice"))

    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"] == {
        "protocol": "rdp",
        "host": "10.0.0.1",
        "port": 3389,
        "tls": False,
        "username": "alice",
        # The RDP password is the user's own, from the launcher's memory.
        "password": None,
        "expires_at": None,
        "sso": True,
        "tls_port": None,
        "ca": None,
        "host_subject": None,
        "proxy": None,
        "vmconnect": None,
    }


def test_the_same_pool_over_vnc(multi: Broker) -> None:
    reply = multi.client.post(launch_url(), headers=multi.login("alice"), json={"protocol": "vnc"})

    connection = reply.json()["connection"]
    assert (connection["protocol"], connection["port"]) == ("vnc", 5901)
    assert (connection["username"], connection["password"], connection["sso"]) == (
        None,
        "vncpw",
        False,
    )


def test_reconnect_may_switch_protocol(multi: Broker) -> None:
    alice = multi.login("alice")
    first = multi.client.post(launch_url(), headers=alice).json()

    second = multi.client.post(launch_url(), headers=alice, json={"protocol": "vnc"}).json()

    assert second["session_id"] == first["session_id"]
    assert second["connection"]["protocol"] == "vnc"
    # And a launch without a protocol keeps the one the session has now.
    third = multi.client.post(launch_url(), headers=alice).json()
    assert third["connection"]["protocol"] == "vnc"


def test_spice_with_tls_only(multi: Broker) -> None:
    connection = multi.client.post(launch_url("art"), headers=multi.login("bob")).json()[
        "connection"
    ]

    assert (connection["protocol"], connection["port"], connection["tls"]) == ("spice", 5931, True)
    assert connection["tls_port"] is None


# What Proxmox's spiceproxy answers (its API reference): the password and the proxy's
# target together; the console found before (the VM's own port) is not where it works.
SPICEPROXY_CONSOLE = Console(
    host="pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f",
    port=None,
    tls_port=61000,
    proxy="http://pve1.example.com:3128",
    host_subject="OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.com",
)
VM_ID = "5c5a3f1e-8b0a-4b7e-9a3c-2f1d0e9b7a61"


def test_a_console_ticket_that_names_its_console_replaces_the_console(
    multi: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = utcnow() + timedelta(seconds=30)
    ticket = ConsoleTicket(password="pve-ticket", expires_at=expires, console=SPICEPROXY_CONSOLE)
    monkeypatch.setattr(StaticBackend, "console_password", lambda *_: ticket)

    reply = multi.client.post(launch_url("art"), headers=multi.login("bob"))

    assert reply.status_code == 200, reply.text
    connection = reply.json()["connection"]
    assert {k: connection[k] for k in ("host", "port", "tls", "tls_port", "proxy")} == {
        "host": "pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f",
        "port": 61000,
        "tls": True,
        "tls_port": None,
        "proxy": "http://pve1.example.com:3128",
    }
    assert connection["host_subject"] == SPICEPROXY_CONSOLE.host_subject
    assert connection["password"] == "pve-ticket"
    assert connection["vmconnect"] is None


def test_rdp_to_a_vm_console_carries_the_vm_id(
    multi: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    hyperv = Console(host="hv1.example.com", port=2179, vmconnect=VM_ID)
    monkeypatch.setattr(StaticBackend, "console", lambda *_: hyperv)

    connection = multi.client.post(launch_url(), headers=multi.login("alice")).json()["connection"]

    assert (connection["host"], connection["port"]) == ("hv1.example.com", 2179)
    assert (connection["vmconnect"], connection["proxy"]) == (VM_ID, None)
    assert (connection["username"], connection["sso"]) == ("alice", True)


def test_the_schema_describes_proxy_and_vmconnect(multi: Broker) -> None:
    schema = multi.client.get("/openapi.json").json()["components"]["schemas"]["ConnectionOut"]

    assert "spiceproxy" in schema["properties"]["proxy"]["description"]
    assert "2179" in schema["properties"]["vmconnect"]["description"]
    assert "proxy" not in schema.get("required", [])
    assert "vmconnect" not in schema.get("required", [])


def test_desktop_list_offers_the_pools_protocols(multi: Broker) -> None:
    (entry,) = multi.client.get("/api/v1/desktops", headers=multi.login("alice")).json()["desktops"]

    assert (entry["protocols"], entry["default_protocol"]) == (["rdp", "vnc"], "rdp")


# Machines that sleep: Wake-on-LAN and 202


@pytest.fixture
def wake_listener() -> Iterator[socket.socket]:
    """A UDP socket on loopback where the broker's magic packets land."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def sleeping_desktop() -> Iterator[socket.socket]:
    """A TCP port that refuses connections until the test calls listen() on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def sleepy(
    make_broker: Callable[..., Broker],
    pools: list[PoolSpec],
    wake_listener: socket.socket,
    sleeping_desktop: socket.socket,
) -> Broker:
    pools[0]["backend"] = {"wake_address": "127.0.0.1", "wake_port": wake_listener.getsockname()[1]}
    pools[0]["machines"] = [
        {
            "name": "eng-1",
            "host": "127.0.0.1",
            "port": sleeping_desktop.getsockname()[1],
            "password": "vncpw",
            "mac": "52:54:00:12:34:56",
        }
    ]
    return make_broker(pools=pools)


def test_a_sleeping_machine_is_woken_and_the_launcher_told_to_wait(
    sleepy: Broker, wake_listener: socket.socket, sleeping_desktop: socket.socket
) -> None:
    alice = key_headers(sleepy.login("alice"), str(uuid.uuid4()))

    reply = sleepy.client.post(launch_url(), headers=alice)

    assert reply.status_code == 202, reply.text
    assert reply.headers["retry-after"] == "5"
    body = reply.json()
    assert body["status"] == "starting"
    assert body["retry_after"] == 5
    assert body["detail"].endswith(".")
    assert "vncpw" not in reply.text
    packet, _ = wake_listener.recvfrom(1024)
    assert packet == b"\xff" * 6 + bytes.fromhex("525400123456") * 16
    (entry,) = sleepy.client.get("/api/v1/desktops", headers=alice).json()["desktops"]
    assert entry["state"] == "starting"
    assert entry["session"]["id"] == body["session_id"]

    # Still asleep: the same answer, and the machine stays this user's.
    again = sleepy.client.post(launch_url(), headers=alice)
    assert again.status_code == 202
    assert again.json()["session_id"] == body["session_id"]

    sleeping_desktop.listen()  # it woke up
    ready = sleepy.client.post(launch_url(), headers=alice)

    assert ready.status_code == 200, ready.text
    assert ready.json()["session_id"] == body["session_id"]
    assert ready.json()["connection"]["password"] == "vncpw"
    with sleepy.session() as db:
        assert db.scalar(select(Machine.woken_at)) is None
    (entry,) = sleepy.client.get("/api/v1/desktops", headers=alice).json()["desktops"]
    assert entry["state"] == "connected"
    assert sessions_of(sleepy) == 1


def test_a_machine_that_is_awake_is_not_woken(
    sleepy: Broker, wake_listener: socket.socket, sleeping_desktop: socket.socket
) -> None:
    sleeping_desktop.listen()

    reply = sleepy.client.post(launch_url(), headers=sleepy.login("alice"))

    assert reply.status_code == 200
    wake_listener.settimeout(0.2)
    with pytest.raises(TimeoutError):
        wake_listener.recvfrom(1024)


# Idempotency-Key

KEY_REUSED_ERRORS = [
    {
        "loc": ["header", "Idempotency-Key"],
        "msg": "Already used by another user, for another pool or another body",
        "type": "idempotency_key_reused",
    }
]


def test_same_key_replays_the_first_answer(broker: Broker) -> None:
    alice = broker.login("alice")
    key = str(uuid.uuid4())
    first = broker.client.post(launch_url(), headers=key_headers(alice, key))

    again = broker.client.post(launch_url(), headers=key_headers(alice, key))

    # The retry of a launch whose answer was lost gets that answer, and no new session.
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert sessions_of(broker) == 1


def test_replay_after_the_session_ended_says_so(broker: Broker) -> None:
    alice = broker.login("alice")
    key = str(uuid.uuid4())
    first = broker.client.post(launch_url(), headers=key_headers(alice, key))
    session_id = first.json()["session_id"]
    assert broker.client.post(f"/api/v1/sessions/{session_id}/logoff", headers=alice).is_success

    again = broker.client.post(launch_url(), headers=key_headers(alice, key))

    # Its machine may be someone else's by now: no connection, and no new session.
    problem = assert_problem(again, 409, "session_ended")
    assert "you logged off" in problem["detail"]
    assert "vncEng1!" not in again.text
    assert sessions_of(broker) == 1
    # A new key is a new launch.
    fresh = broker.client.post(launch_url(), headers=key_headers(alice, str(uuid.uuid4())))
    assert fresh.status_code == 200
    assert fresh.json()["session_id"] != session_id


def test_the_key_keeps_no_console_password(broker: Broker) -> None:
    alice = broker.login("alice")
    key = str(uuid.uuid4())
    first = broker.client.post(launch_url(), headers=key_headers(alice, key))
    assert first.json()["connection"]["password"] == "vncEng1!"

    with broker.session() as db:
        rows = db.execute(text("SELECT * FROM idempotency_keys")).mappings().all()
    again = broker.client.post(launch_url(), headers=key_headers(alice, key))

    (row,) = rows
    assert set(row) == {"key", "user_id", "pool_id", "fingerprint", "created_at", "session_id"}
    assert all("vncEng1!" not in str(value) for value in row.values())
    assert (row["key"], row["pool_id"]) == (key, "engineering")
    assert row["session_id"] == first.json()["session_id"]
    assert row["fingerprint"] == idempotency.fingerprint(protocol=None)
    # The replay rebuilds the same connection from the session and machine rows.
    assert again.json() == first.json()


def test_replay_takes_the_console_password_from_the_machine(broker: Broker) -> None:
    alice = broker.login("alice")
    key = str(uuid.uuid4())
    first = broker.client.post(launch_url(), headers=key_headers(alice, key))
    with broker.session() as db:
        db.execute(update(Machine).where(Machine.name == "eng-1").values(password="newPass1"))
        db.commit()

    again = broker.client.post(launch_url(), headers=key_headers(alice, key))

    assert again.json()["session_id"] == first.json()["session_id"]
    assert again.json()["connection"] == {**first.json()["connection"], "password": "newPass1"}


def test_key_of_another_user_pool_or_body_is_refused(broker: Broker) -> None:
    key = str(uuid.uuid4())
    bob = broker.login("bob")
    assert broker.client.post(launch_url(), headers=key_headers(bob, key)).status_code == 200

    stolen = broker.client.post(launch_url(), headers=key_headers(broker.login("alice"), key))
    other_pool = broker.client.post(launch_url("art"), headers=key_headers(bob, key))
    other_body = broker.client.post(
        launch_url(), headers=key_headers(bob, key), json={"protocol": "vnc"}
    )

    problem = assert_problem(stolen, 422, "idempotency_key_reused")
    assert "new random key" in problem["detail"]
    # Like every 422, it says where the request was wrong.
    assert problem["errors"] == KEY_REUSED_ERRORS
    assert assert_problem(other_pool, 422, "idempotency_key_reused")["errors"] == KEY_REUSED_ERRORS
    assert assert_problem(other_body, 422, "idempotency_key_reused")["errors"] == KEY_REUSED_ERRORS
    assert sessions_of(broker) == 1


def test_failed_launch_is_not_remembered(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker()
    alice, bob = broker.login("alice"), broker.login("bob")
    key = str(uuid.uuid4())
    first = broker.client.post(launch_url("finance"), headers=key_headers(alice, key))
    assert_problem(first, 403, "not_entitled")

    # The key stays alice's for this pool; retrying runs the launch again.
    again = broker.client.post(launch_url("finance"), headers=key_headers(alice, key))
    assert_problem(again, 403, "not_entitled")
    assert_problem(
        broker.client.post(launch_url("finance"), headers=key_headers(bob, key)),
        422,
        "idempotency_key_reused",
    )


@sqlite_only
@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
def test_malformed_key(broker: Broker, key: str) -> None:
    headers = {**broker.login("alice"), "Idempotency-Key": key}

    reply = broker.client.post(launch_url(), headers=headers)

    problem = assert_problem(reply, 422, "invalid_request")
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert sessions_of(broker) == 0


def test_keys_expire_after_a_day(broker: Broker) -> None:
    alice, bob = broker.user("alice"), broker.user("bob")
    now = utcnow()
    plain = idempotency.fingerprint(protocol=None)
    with broker.session() as db:
        assert (
            idempotency.claim(db, "k1", alice, "engineering", now, request_fingerprint=plain)
            is None
        )
        assert idempotency.remember(db, "k1", "ses_1") is None
        later = now + timedelta(hours=23)
        assert (
            idempotency.claim(db, "k1", alice, "engineering", later, request_fingerprint=plain)
            == "ses_1"
        )
        with pytest.raises(IdempotencyKeyReused):
            idempotency.claim(db, "k1", bob, "engineering", later, request_fingerprint=plain)

        # A day later the key is anyone's again, and the scheduler's purge drops old ones.
        later = now + timedelta(hours=24)
        assert (
            idempotency.claim(db, "k1", bob, "engineering", later, request_fingerprint=plain)
            is None
        )
        assert (
            idempotency.claim(db, "k2", bob, "engineering", now, request_fingerprint=plain) is None
        )
        assert idempotency.purge(db, later) == 1
        assert db.scalars(select(IdempotencyKey.key)).all() == ["k1"]


def test_concurrent_requests_with_one_key_store_one_session(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    plain = idempotency.fingerprint(protocol=None)
    with broker.session() as first, broker.session() as second:
        assert (
            idempotency.claim(first, "k", alice, "engineering", now, request_fingerprint=plain)
            is None
        )
        # The second request arrives while the first still runs: it runs too.
        assert (
            idempotency.claim(second, "k", alice, "engineering", now, request_fingerprint=plain)
            is None
        )
        assert idempotency.remember(first, "k", "ses_1") is None
        earlier: Any = idempotency.remember(second, "k", "ses_2")

    assert earlier == "ses_1"


def test_a_replay_of_a_session_that_is_gone_says_it_ended(broker: Broker) -> None:
    with broker.session() as db, pytest.raises(SessionEnded):
        idempotency.replay(db, broker.user("alice"), "ses_nothing")
