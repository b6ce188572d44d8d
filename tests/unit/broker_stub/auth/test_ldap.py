"""Sign-in against LDAP, with a real slapd (tests/helpers/slapd.py).

The directory: alice, bob and carol (passwords alice-pw, ...); groupOfNames
engineers (alice, bob) and finance (carol); posixGroup staff (alice).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broker_stub.app import create_app
from broker_stub.auth.directory import DirectoryRefused, DirectoryUser
from broker_stub.auth.ldap import LdapDirectory
from broker_stub.config import ConfigError
from broker_stub.db.models import Group, LoginFailure, Membership, User
from broker_stub.demo.xdisplay import free_tcp_port
from broker_stub.domain.errors import DirectoryUnavailable
from broker_stub.settings import BrokerSettings, LdapSettings
from tests.helpers.slapd import HOST, LdapServer

from ..conftest import Broker, PoolSpec, UserSpec, assert_problem

pytestmark = pytest.mark.e2e

LOGIN = "/api/v1/auth/login"


def settings_for(server: LdapServer, **overrides: Any) -> LdapSettings:
    """Search-and-bind settings for the test directory, both group styles."""
    values: dict[str, Any] = {
        "url": server.url,
        "bind_dn": server.bind_dn,
        "bind_password": server.bind_password,
        "user_base": server.people_dn,
        "group_base": server.groups_dn,
        "timeout": 5,
        "connect_timeout": 2,
    }
    values.update(overrides)
    return LdapSettings(**values)


def dead_url() -> str:
    """An ldap:// URL where nothing listens."""
    return f"ldap://{HOST}:{free_tcp_port(HOST)}"


# The directory on its own


def test_search_and_bind(ldap_server: LdapServer) -> None:
    directory = LdapDirectory(settings_for(ldap_server))

    alice = directory.authenticate("alice", "alice-pw")

    assert alice == DirectoryUser(
        username="alice",
        display_name="Alice Example",
        dn=ldap_server.user_dn("alice"),
        # engineers is a groupOfNames (member: DN), staff a posixGroup (memberUid).
        groups=("engineers", "staff"),
    )
    assert directory.authenticate("carol", "carol-pw").groups == ("finance",)


def test_the_directory_spells_the_username(ldap_server: LdapServer) -> None:
    directory = LdapDirectory(settings_for(ldap_server))

    assert directory.authenticate("ALICE", "alice-pw").username == "alice"


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("alice", "bob-pw", "wrong_password"),
        ("alice", "", "wrong_password"),  # an empty password would bind anonymously
        ("zed", "alice-pw", "unknown_user"),
        # Filter metacharacters are escaped: no wildcard, no injected clause.
        ("*", "alice-pw", "unknown_user"),
        ("al*", "alice-pw", "unknown_user"),
        ("alice)(uid=*", "alice-pw", "unknown_user"),
        ("*)(|(uid=*", "alice-pw", "unknown_user"),
    ],
)
def test_refusals(ldap_server: LdapServer, username: str, password: str, reason: str) -> None:
    directory = LdapDirectory(settings_for(ldap_server))

    with pytest.raises(DirectoryRefused) as refused:
        directory.authenticate(username, password)

    assert refused.value.reason == reason


def test_a_filter_that_matches_many_is_refused(
    ldap_server: LdapServer, caplog: pytest.LogCaptureFixture
) -> None:
    directory = LdapDirectory(settings_for(ldap_server, user_filter="(objectClass=inetOrgPerson)"))

    with pytest.raises(DirectoryRefused) as refused:
        directory.authenticate("alice", "alice-pw")

    assert refused.value.reason == "ambiguous_user"
    assert "more than one entry" in caplog.text


def test_direct_bind(ldap_server: LdapServer) -> None:
    directory = LdapDirectory(
        settings_for(
            ldap_server,
            bind_dn=None,
            bind_password=None,
            user_dn_template=f"uid={{username}},{ldap_server.people_dn}",
        )
    )

    bob = directory.authenticate("bob", "bob-pw")

    assert (bob.username, bob.display_name, bob.groups) == ("bob", "Bob Example", ("engineers",))
    with pytest.raises(DirectoryRefused):
        directory.authenticate("bob", "alice-pw")
    with pytest.raises(DirectoryRefused):
        # Escaped into the DN, so it cannot name another entry.
        directory.authenticate("bob,ou=people", "bob-pw")


def test_anonymous_search(ldap_server: LdapServer) -> None:
    directory = LdapDirectory(settings_for(ldap_server, bind_dn=None, bind_password=None))

    assert directory.authenticate("carol", "carol-pw").username == "carol"


def test_groups_by_one_style_only(ldap_server: LdapServer) -> None:
    by_dn = LdapDirectory(settings_for(ldap_server, group_filter="(member={dn})"))
    by_uid = LdapDirectory(settings_for(ldap_server, group_filter="(memberUid={username})"))
    none = LdapDirectory(settings_for(ldap_server, group_base=None))

    assert by_dn.authenticate("alice", "alice-pw").groups == ("engineers",)
    assert by_uid.authenticate("alice", "alice-pw").groups == ("staff",)
    assert none.authenticate("alice", "alice-pw").groups == ()


def test_a_wrong_search_password_is_the_directory_s_fault(
    ldap_server: LdapServer, caplog: pytest.LogCaptureFixture
) -> None:
    directory = LdapDirectory(settings_for(ldap_server, bind_password="not-it"))

    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("alice", "alice-pw")

    assert "RUBICON_BROKER_LDAP_BIND_PASSWORD" in caplog.text
    assert "not-it" not in caplog.text


def test_a_directory_that_is_down(ldap_server: LdapServer) -> None:
    directory = LdapDirectory(settings_for(ldap_server, url=dead_url()))

    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("alice", "alice-pw")
    # A socket left open would warn when collected, and warnings fail tests.
    gc.collect()


def test_the_next_url_is_tried(ldap_server: LdapServer) -> None:
    urls = f"{dead_url()}, {dead_url()} {ldap_server.url}"
    directory = LdapDirectory(settings_for(ldap_server, url=urls))

    assert directory.authenticate("alice", "alice-pw").username == "alice"
    gc.collect()


# TLS


def test_start_tls(ldap_tls_server: LdapServer) -> None:
    directory = LdapDirectory(
        settings_for(ldap_tls_server, start_tls=True, ca_file=ldap_tls_server.ca_file)
    )

    assert directory.authenticate("alice", "alice-pw").username == "alice"


def test_ldaps(ldap_tls_server: LdapServer) -> None:
    assert ldap_tls_server.ldaps_url is not None
    directory = LdapDirectory(
        settings_for(
            ldap_tls_server, url=ldap_tls_server.ldaps_url, ca_file=ldap_tls_server.ca_file
        )
    )

    assert directory.authenticate("bob", "bob-pw").username == "bob"


@pytest.mark.parametrize("how", ["start_tls", "ldaps"])
def test_an_untrusted_certificate_is_refused(
    ldap_tls_server: LdapServer, how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from broker_stub import tls

    other = tls.create(tmp_path, ["localhost"])  # a CA that did not sign the server's
    if how == "ldaps":
        assert ldap_tls_server.ldaps_url is not None
        settings = settings_for(ldap_tls_server, url=ldap_tls_server.ldaps_url, ca_file=other.cert)
    else:
        settings = settings_for(ldap_tls_server, start_tls=True, ca_file=other.cert)

    with pytest.raises(DirectoryUnavailable):
        LdapDirectory(settings).authenticate("alice", "alice-pw")

    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    gc.collect()


# Settings that cannot work stop the broker at start


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "http://ldap.example.com"}, "not an ldap:// or ldaps:// URL"),
        ({"bind_password": None}, "BIND_DN is set but RUBICON_BROKER_LDAP_BIND_PASSWORD is not"),
        ({"user_base": ""}, "set RUBICON_BROKER_LDAP_USER_BASE"),
        ({"ca_file": Path("/nonexistent/ca.pem")}, "CA_FILE: /nonexistent/ca.pem"),
    ],
)
def test_unworkable_settings(
    ldap_server: LdapServer, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        LdapDirectory(settings_for(ldap_server, **overrides))


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RUBICON_BROKER_LDAP_URL", "ldaps://dc1.example.com, ldaps://dc2.example.com"
    )
    monkeypatch.setenv("RUBICON_BROKER_LDAP_BIND_DN", "CN=rubicon,OU=Service,DC=example,DC=com")
    monkeypatch.setenv("RUBICON_BROKER_LDAP_BIND_PASSWORD", "s3cret")
    monkeypatch.setenv("RUBICON_BROKER_LDAP_USER_FILTER", "(sAMAccountName={username})")
    monkeypatch.setenv("RUBICON_BROKER_LDAP_START_TLS", "false")

    ldap = BrokerSettings().ldap

    assert ldap.enabled
    assert ldap.urls == ["ldaps://dc1.example.com", "ldaps://dc2.example.com"]
    assert ldap.user_filter == "(sAMAccountName={username})"
    assert ldap.bind_password is not None
    assert ldap.bind_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(ldap)
    assert not BrokerSettings(ldap=LdapSettings(url="")).ldap.enabled


def test_a_broker_without_ldap_has_no_directory(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker()

    assert broker.app.state.directory is None


# Sign-in through the API


LDAP_POOLS: list[PoolSpec] = [
    {
        "id": "engineering",
        "name": "Engineering desktop",
        "protocol": "vnc",
        "health_check": False,  # nothing listens on the machines' ports
        "groups": ["engineers"],
        "machines": [{"name": "eng-1", "host": "127.0.0.1", "port": 5901}],
    },
    {
        "id": "finance",
        "name": "Finance desktop",
        "protocol": "vnc",
        "health_check": False,
        "groups": ["finance"],
        "machines": [{"name": "fin-1", "host": "127.0.0.1", "port": 5911}],
    },
]
# One local account beside the directory's people.
LOCAL = {"dave": UserSpec("dave-Secret-4")}


@pytest.fixture
def ldap_broker(make_broker: Callable[..., Broker], ldap_server: LdapServer) -> Broker:
    return make_broker(pools=LDAP_POOLS, users=LOCAL, ldap=settings_for(ldap_server))


def login(broker: Broker, username: str, password: str) -> Any:
    return broker.client.post(LOGIN, json={"username": username, "password": password})


def memberships(broker: Broker, username: str) -> dict[str, bool]:
    """group name -> from_ldap, for `username`."""
    with broker.session() as db:
        rows = db.execute(
            select(Group.name, Membership.from_ldap)
            .join(Membership, Membership.group_id == Group.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == username)
        ).all()
    return {name: from_ldap for name, from_ldap in rows}


def test_an_ldap_user_signs_in_and_is_added(ldap_broker: Broker) -> None:
    reply = login(ldap_broker, "alice", "alice-pw")

    assert reply.status_code == 200, reply.text
    assert reply.json()["user"] == {
        "username": "alice",
        "display_name": "Alice Example",
        "role": "user",
    }
    alice = ldap_broker.user("alice")
    assert alice.password_hash is None  # the directory keeps the password
    assert memberships(ldap_broker, "alice") == {"engineers": True, "staff": True}


def test_entitlements_by_ldap_group(ldap_broker: Broker) -> None:
    headers = {"Authorization": f"Bearer {login(ldap_broker, 'carol', 'carol-pw').json()['token']}"}

    desktops = ldap_broker.client.get("/api/v1/desktops", headers=headers).json()["desktops"]

    assert [d["id"] for d in desktops] == ["finance"]
    launched = ldap_broker.client.post("/api/v1/desktops/finance/launch", headers=headers)
    assert launched.status_code == 200, launched.text


def test_ldap_groups_are_replaced_at_each_sign_in(ldap_broker: Broker) -> None:
    login(ldap_broker, "alice", "alice-pw")
    alice = ldap_broker.user("alice")
    with ldap_broker.session() as db:
        # A group alice has left in the directory, and one an admin gave her here.
        for name, from_ldap in (("old-team", True), ("local-team", False)):
            group = Group(name=name)
            db.add(group)
            db.flush()
            db.add(Membership(user_id=alice.id, group_id=group.id, from_ldap=from_ldap))
        db.commit()

    assert login(ldap_broker, "alice", "alice-pw").status_code == 200

    assert memberships(ldap_broker, "alice") == {
        "engineers": True,
        "staff": True,
        "local-team": False,
    }


def test_one_row_per_directory_user(ldap_broker: Broker) -> None:
    assert login(ldap_broker, "alice", "alice-pw").status_code == 200
    reply = login(ldap_broker, "Alice", "alice-pw")

    assert reply.json()["user"]["username"] == "alice"
    with ldap_broker.session() as db:
        assert db.scalars(select(User.username).order_by(User.username)).all() == ["alice", "dave"]


def test_wrong_and_unknown_ldap_users(ldap_broker: Broker) -> None:
    wrong = login(ldap_broker, "alice", "bob-pw")
    unknown = login(ldap_broker, "zed", "zed-pw")

    assert assert_problem(wrong, 401, "invalid_credentials") == assert_problem(
        unknown, 401, "invalid_credentials"
    )
    with ldap_broker.session() as db:
        assert db.scalars(select(User.username)).all() == ["dave"]


def test_a_local_account_never_signs_in_through_ldap(
    make_broker: Callable[..., Broker], ldap_server: LdapServer
) -> None:
    # A local alice with her own password, beside the directory's alice.
    broker = make_broker(
        pools=LDAP_POOLS,
        users={"alice": UserSpec("local-alice-pw")},
        ldap=settings_for(ldap_server),
    )

    assert_problem(login(broker, "alice", "alice-pw"), 401, "invalid_credentials")
    assert login(broker, "alice", "local-alice-pw").status_code == 200
    # Nor under another spelling that the directory would turn into "alice".
    assert_problem(login(broker, "ALICE", "alice-pw"), 401, "invalid_credentials")
    assert broker.user("alice").password_hash is not None
    assert memberships(broker, "alice") == {}


def test_local_users_still_sign_in(ldap_broker: Broker) -> None:
    assert login(ldap_broker, "dave", "dave-Secret-4").status_code == 200
    assert_problem(login(ldap_broker, "dave", "wrong"), 401, "invalid_credentials")


def test_ldap_failures_count_towards_lockout(ldap_broker: Broker) -> None:
    statuses = [login(ldap_broker, "bob", f"guess-{i}").status_code for i in range(5)]

    assert statuses == [401, 401, 401, 401, 429]
    assert_problem(login(ldap_broker, "bob", "bob-pw"), 429, "account_locked")


def test_a_directory_that_is_down_is_a_503(
    make_broker: Callable[..., Broker], ldap_server: LdapServer, caplog: pytest.LogCaptureFixture
) -> None:
    broker = make_broker(
        pools=LDAP_POOLS, users=LOCAL, ldap=settings_for(ldap_server, url=dead_url())
    )

    reply = login(broker, "alice", "alice-pw")

    problem = assert_problem(reply, 503, "directory_unavailable")
    assert "cannot reach the user directory" in problem["detail"]
    assert reply.headers["retry-after"] == "30"
    assert "www-authenticate" not in reply.headers
    # Not the user's fault: nothing counted, nobody added.
    with broker.session() as db:
        assert db.scalars(select(LoginFailure)).all() == []
        assert db.scalars(select(User.username)).all() == ["dave"]
    # Local accounts do not need the directory.
    assert login(broker, "dave", "dave-Secret-4").status_code == 200
    assert "no server answered" in caplog.text
    gc.collect()


def test_no_ldap_password_reaches_the_logs(
    ldap_broker: Broker, caplog: pytest.LogCaptureFixture, ldap_server: LdapServer
) -> None:
    caplog.set_level(logging.DEBUG)

    login(ldap_broker, "alice", "alice-pw")
    login(ldap_broker, "alice", "Wr0ng-guess!")

    assert "alice" in caplog.text
    for secret in ("alice-pw", "Wr0ng-guess!", ldap_server.bind_password):
        assert secret not in caplog.text


def test_bad_ldap_settings_stop_the_broker_before_it_serves(
    database_url: str, write_config: Callable[..., Path], ldap_server: LdapServer
) -> None:
    settings = BrokerSettings(
        database_url=database_url,
        config=write_config(LDAP_POOLS),
        ldap=settings_for(ldap_server, user_base=""),
    )

    with pytest.raises(ConfigError, match="USER_BASE"):
        create_app(settings)
