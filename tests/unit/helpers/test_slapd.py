"""The throwaway OpenLDAP server the broker's LDAP sign-in tests run against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import ldap3
import pytest

from broker_stub.demo.xdisplay import port_open
from tests.helpers.slapd import HOST, LdapServer, require_slapd, start_slapd

pytestmark = pytest.mark.e2e


@contextmanager
def connection(
    server: LdapServer, user: str | None = None, password: str | None = None
) -> Iterator[ldap3.Connection]:
    conn = ldap3.Connection(
        ldap3.Server(server.url, connect_timeout=5), user, password, receive_timeout=10
    )
    try:
        yield conn
    finally:
        conn.unbind()


def test_a_user_binds_with_her_password(ldap_server: LdapServer) -> None:
    with connection(ldap_server, ldap_server.user_dn("alice"), "alice-pw") as conn:
        assert conn.bind()
        assert conn.extend.standard.who_am_i() == f"dn:{ldap_server.user_dn('alice')}"
    assert ldap_server.users == {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


def test_a_wrong_password_is_refused(ldap_server: LdapServer) -> None:
    with connection(ldap_server, ldap_server.user_dn("alice"), "bob-pw") as conn:
        assert not conn.bind()
        assert conn.result["description"] == "invalidCredentials"


def test_groups_of_a_user_in_both_styles(ldap_server: LdapServer) -> None:
    with connection(ldap_server, ldap_server.bind_dn, ldap_server.bind_password) as conn:
        assert conn.bind()
        conn.search(
            ldap_server.groups_dn,
            f"(&(objectClass=groupOfNames)(member={ldap_server.user_dn('alice')}))",
            attributes=["cn"],
        )
        by_member = {str(entry.cn) for entry in conn.entries}
        conn.search(
            ldap_server.groups_dn,
            "(&(objectClass=posixGroup)(memberUid=alice))",
            attributes=["cn"],
        )
        by_uid = {str(entry.cn) for entry in conn.entries}
    assert by_member == {"engineers"}
    assert by_uid == {"staff"}


def test_anonymous_cannot_read_passwords(ldap_server: LdapServer) -> None:
    alice = ldap_server.user_dn("alice")
    with connection(ldap_server) as conn:
        assert conn.bind()
        assert conn.search(alice, "(objectClass=*)", ldap3.BASE, attributes=["*"])
        seen = conn.entries[0].entry_attributes_as_dict
    assert seen["cn"] == ["Alice Example"]
    assert "userPassword" not in seen
    # The attribute is there: the admin sees it.
    with connection(ldap_server, ldap_server.bind_dn, ldap_server.bind_password) as conn:
        assert conn.bind()
        assert conn.search(alice, "(objectClass=*)", ldap3.BASE, attributes=["userPassword"])
        assert conn.entries[0].userPassword.value.startswith(b"{SSHA}")


def test_stop_ends_the_server_and_removes_its_files() -> None:
    instance = start_slapd(*require_slapd())
    try:
        assert port_open(HOST, instance.port)
    finally:
        instance.stop()
    assert instance.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(instance.pid, 0)
    assert not instance.root.exists()
    assert not port_open(HOST, instance.port)
