"""Local accounts: sign-in and `users add`."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from broker_stub.auth import passwords, users
from broker_stub.db.models import Group, Membership, User
from broker_stub.domain.errors import InvalidCredentials

from ..conftest import Broker


def test_authenticate(broker: Broker) -> None:
    with broker.session() as db:
        user = users.authenticate(db, "alice", "alice-Secret-1")
    assert user.username == "alice"
    assert user.display_name == "Alice Liddell"


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong"), ("alice", "ALICE-SECRET-1"), ("nobody", "alice-Secret-1"), ("", "x")],
)
def test_bad_sign_in_is_the_same_error(broker: Broker, username: str, password: str) -> None:
    with broker.session() as db, pytest.raises(InvalidCredentials):
        users.authenticate(db, username, password)


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_unknown_and_known_users_cost_one_verification(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, username: str
) -> None:
    calls: list[str] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    monkeypatch.setattr(users, "verify_password", spy)

    with broker.session() as db, pytest.raises(InvalidCredentials):
        users.authenticate(db, username, "wrong")

    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")


def test_weak_hash_is_upgraded_at_sign_in(broker: Broker) -> None:
    with broker.session() as db:
        alice = db.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        alice.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash("old-pw")
        db.commit()

        users.authenticate(db, "alice", "old-pw")

        db.refresh(alice)
        assert "m=19456,t=2,p=1" in alice.password_hash
        assert users.authenticate(db, "alice", "old-pw").id == alice.id


def test_set_user_adds_then_updates(broker: Broker) -> None:
    with broker.session() as db:
        assert users.set_user(db, "erin", "first-pw", "Erin", ["ops", "ops", "staff"]) is True
        erin = users.authenticate(db, "erin", "first-pw")
        assert erin.display_name == "Erin"
        assert sorted(users.user_groups(db, erin)) == ["ops", "staff"]

        # No display name or groups given: only the password changes.
        assert users.set_user(db, "erin", "second-pw") is False
        with pytest.raises(InvalidCredentials):
            users.authenticate(db, "erin", "first-pw")
        erin = users.authenticate(db, "erin", "second-pw")
        assert erin.display_name == "Erin"
        assert sorted(users.user_groups(db, erin)) == ["ops", "staff"]

        users.set_user(db, "erin", "third-pw", "Erin E.", ["finance"])
        erin = users.authenticate(db, "erin", "third-pw")
        assert erin.display_name == "Erin E."
        assert users.user_groups(db, erin) == ["finance"]
        memberships = db.scalars(select(Membership).where(Membership.user_id == erin.id)).all()
        assert len(memberships) == 1
        # Groups outlive their last member: a pool may still be entitled to one.
        assert {"ops", "staff", "finance"} <= set(db.scalars(select(Group.name)))


def test_new_user_without_display_name_shows_username(broker: Broker) -> None:
    with broker.session() as db:
        users.set_user(db, "frank", "pw")
        assert users.authenticate(db, "frank", "pw").display_name == "frank"


def test_users_share_one_row_per_group(broker: Broker) -> None:
    with broker.session() as db:
        users.set_user(db, "erin", "pw", groups=["ops"])
        users.set_user(db, "finn", "pw", groups=["ops", "staff"])

        ops = db.scalars(select(Group).where(Group.name == "ops")).one()
        members = db.scalars(select(Membership.user_id).where(Membership.group_id == ops.id))
        assert set(members) == {broker.user("erin").id, broker.user("finn").id}


def test_deleting_a_user_ends_its_memberships(broker: Broker) -> None:
    with broker.session() as db:
        bob = db.scalars(select(User).where(User.username == "bob")).one()
        db.delete(bob)
        db.commit()

        assert db.scalars(select(Membership).where(Membership.user_id == bob.id)).all() == []
        assert {"staff", "artists"} <= set(db.scalars(select(Group.name)))
