"""`apply`: a desired-state file made true in one transaction, idempotently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from broker_stub.auth import accounts
from broker_stub.config import ConfigError
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.db.models import AuditEvent, Membership, Role, User
from broker_stub.domain import desired
from broker_stub.domain.admin import Admin

from ..admin_helpers import launch
from ..conftest import Broker

SITE = """
[[pools]]
id = "engineering"
name = "Engineering desktop"
protocol = "vnc"
groups = ["staff"]
  [[pools.machines]]
  name = "eng-1"
  host = "10.0.20.11"
  port = 5901
  password = "vnc-pw1"
  [[pools.machines]]
  name = "eng-2"
  host = "10.0.20.12"
  port = 5901

[[groups]]
name = "staff"
members = ["alice", "bob"]

[[users]]
username = "alice"
display_name = "Alice Liddell"
role = "admin"

[[users]]
username = "bob"
"""
ADMIN = Admin.cli("tests")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def load(tmp_path: Path, text: str) -> desired.BrokerConfig:
    path = tmp_path / "site.toml"
    path.write_text(text)
    path.chmod(0o600)
    return desired.load(path)


def test_first_apply_then_nothing_to_do(engine: Engine, tmp_path: Path) -> None:
    config = load(tmp_path, SITE)

    first = desired.apply(engine, ADMIN, config)
    second = desired.apply(engine, ADMIN, config)

    assert first.changes == [
        "+ pool engineering (Engineering desktop)",
        "+ machine engineering/eng-1 (10.0.20.11)",
        "+ machine engineering/eng-2 (10.0.20.12)",
        "+ entitlement engineering: group staff",
        "+ group staff (alice, bob)",
        "+ user alice (admin, no password)",
        "+ user bob (user, no password)",
    ]
    assert second.changes == []
    with make_session_factory(engine)() as db:
        alice = db.scalars(select(User).where(User.username == "alice")).one()
        assert (alice.display_name, alice.role, alice.password_hash) == (
            "Alice Liddell",
            "admin",
            None,
        )
        events = db.scalars(select(AuditEvent)).all()
    # One per change, and one per member of a new group.
    assert sorted((e.action, e.target) for e in events) == [
        ("admin.entitlement.add", "pool:engineering"),
        ("admin.group.add_member", "group:staff"),
        ("admin.group.add_member", "group:staff"),
        ("admin.group.create", "group:staff"),
        ("admin.machine.add", "machine:engineering/eng-1"),
        ("admin.machine.add", "machine:engineering/eng-2"),
        ("admin.pool.create", "pool:engineering"),
        ("admin.user.create", "user:alice"),
        ("admin.user.create", "user:bob"),
    ]
    assert {e.actor for e in events} == {"cli:tests"}
    assert all(e.detail["via"] == "apply" for e in events)
    assert "vnc-pw1" not in str([e.detail for e in events])


def test_dry_run_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    config = load(tmp_path, SITE)

    plan = desired.apply(engine, ADMIN, config, dry_run=True)

    assert len(plan.changes) == 7
    assert desired.apply(engine, ADMIN, config, dry_run=True).changes == plan.changes
    with make_session_factory(engine)() as db:
        assert db.scalars(select(User)).all() == []
        assert db.scalars(select(AuditEvent)).all() == []


def test_changes_and_removals(engine: Engine, tmp_path: Path) -> None:
    desired.apply(engine, ADMIN, load(tmp_path, SITE))
    changed = """
[[pools]]
id = "engineering"
name = "Engineering"
protocol = "vnc"
groups = ["staff"]
  [[pools.machines]]
  name = "eng-1"
  host = "10.0.20.11"
  port = 5901
  password = "vnc-pw2"

[[groups]]
name = "staff"
members = ["alice"]

[[users]]
username = "alice"
display_name = "Alice Liddell"
role = "admin"
"""

    plan = desired.apply(engine, ADMIN, load(tmp_path, changed))

    # The new console password shows as a changed field, never as a value.
    assert plan.changes == [
        "~ pool engineering: name",
        "~ machine engineering/eng-1: password",
        "- machine engineering/eng-2",
        "~ group staff: -bob",
    ]
    # bob is not in the file any more, but users are only ever added by apply.
    assert desired.apply(engine, ADMIN, load(tmp_path, changed)).changes == []


def test_a_machine_in_use_stays(tmp_path: Path, broker: Broker) -> None:
    launch(broker, "alice")  # alice holds eng-1 in the conftest site
    engine = broker.app.state.engine
    text = '[[pools]]\nid = "engineering"\nname = "Engineering desktop"\nprotocol = "vnc"\n'

    plan = desired.apply(engine, ADMIN, load(tmp_path, text))

    assert "- machine engineering/eng-2" in plan.changes
    assert "- machine engineering/eng-1" not in plan.changes
    assert "- pool finance" in plan.changes
    assert plan.notes == [
        "machine engineering/eng-1 stays while a session is live on it; "
        "apply again after the session ends"
    ]


def test_a_missing_section_leaves_its_part_alone(engine: Engine, tmp_path: Path) -> None:
    desired.apply(engine, ADMIN, load(tmp_path, SITE))

    plan = desired.apply(
        engine, ADMIN, load(tmp_path, '[[users]]\nusername = "carol"\nrole = "admin"\n')
    )

    assert plan.changes == ["+ user carol (admin, no password)"]


def test_a_failure_undoes_everything(engine: Engine, tmp_path: Path) -> None:
    text = SITE.replace('members = ["alice", "bob"]', 'members = ["alice", "zed"]')

    with pytest.raises(ConfigError, match=r"groups\.0\.members: there is no user 'zed'"):
        desired.apply(engine, ADMIN, load(tmp_path, text))

    # The pools part had already run; it was rolled back with the rest.
    assert desired.apply(engine, ADMIN, load(tmp_path, SITE), dry_run=True).changes[0] == (
        "+ pool engineering (Engineering desktop)"
    )


def test_refuses_to_leave_no_admin(engine: Engine, tmp_path: Path) -> None:
    desired.apply(engine, ADMIN, load(tmp_path, SITE))

    with pytest.raises(ConfigError, match="no admin"):
        desired.apply(engine, ADMIN, load(tmp_path, SITE.replace('role = "admin"', "")))


def test_groups_the_directory_fills_stay(engine: Engine, tmp_path: Path) -> None:
    with make_session_factory(engine)() as db:
        accounts.create_user(db, ADMIN, "root", "pw", role=Role.ADMIN, groups=["ldap-group"])
        db.execute(Membership.__table__.update().values(from_ldap=True))
        db.commit()

    plan = desired.apply(engine, ADMIN, load(tmp_path, SITE))

    assert "- group ldap-group" not in plan.changes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[users]]\nusername = "two words"\n', "users.0.username: 'two words' is not a usable"),
        (
            '[[users]]\nusername = "a"\n[[users]]\nusername = "a"\n',
            "users: user 'a' is listed twice",
        ),
        ('[[groups]]\nname = "g"\nmembers = ["a", "a"]\n', "groups.0.members: member 'a'"),
        ('[[users]]\nusername = "a"\nrole = "root"\n', "users.0.role: must be one of"),
    ],
)
def test_file_mistakes(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text)
