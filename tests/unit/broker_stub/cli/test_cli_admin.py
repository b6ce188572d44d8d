"""rubicon-broker users | groups | pools | machines | entitlements | sessions | audit | apply."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from broker_stub import cli
from broker_stub.app import create_app
from broker_stub.settings import BrokerSettings

SITE = """
[[pools]]
id = "engineering"
name = "Engineering desktop"
protocol = "vnc"
health_check = false  # made-up addresses: nothing to probe
users = ["alice"]
  [[pools.machines]]
  name = "eng-1"
  host = "10.0.20.11"
  port = 5901

[[groups]]
name = "staff"
members = ["alice"]

[[users]]
username = "alice"
display_name = "Alice Liddell"
"""

# A dedicated pool, for `machines unassign`.
DESIGN = """
[[pools]]
id = "design"
name = "Design workstation"
kind = "dedicated"
protocol = "vnc"
health_check = false
users = ["alice"]
  [[pools.machines]]
  name = "des-1"
  host = "10.0.30.11"
  port = 5901
  [[pools.machines]]
  name = "des-2"
  host = "10.0.30.12"
  port = 5901

"""

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'admin.sqlite3'}"


@pytest.fixture
def run(db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """run(*args, stdin=...) -> (status, stdout, stderr), on the test's database."""

    def go(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            status = cli.main([*args, "--database-url", db_url])
        except SystemExit as exc:  # argparse refused the arguments
            status = int(exc.code or 0)
        out = capsys.readouterr()
        return status, out.out, out.err

    return go


@pytest.fixture
def site(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    assert run("apply", str(path))[0] == 0
    assert run("users", "add", "alice", "--password-stdin", stdin="alice-Secret-1\n")[0] == 0


@pytest.fixture
def client(db_url: str, site: None) -> Iterator[TestClient]:
    """The user API on the same database, without a pools file."""
    app = create_app(BrokerSettings(database_url=db_url, scheduler=False))
    with TestClient(app) as client:
        yield client


def launch(client: TestClient, pool: str = "engineering") -> str:
    login = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "alice-Secret-1"}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    reply = client.post(f"/api/v1/desktops/{pool}/launch", headers=headers)
    assert reply.status_code == 200, reply.text
    session_id: str = reply.json()["session_id"]
    return session_id


def test_apply_prints_the_plan_and_is_idempotent(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE)

    dry = run("apply", str(path), "--dry-run")
    real = run("apply", str(path))
    again = run("apply", str(path))

    assert dry[0] == real[0] == again[0] == 0
    assert dry[1].splitlines() == [
        "  + pool engineering (Engineering desktop)",
        "  + machine engineering/eng-1 (10.0.20.11)",
        "  + entitlement engineering: user alice",
        "  + group staff (alice)",
        "  + user alice (user, no password)",
        "Dry run: 5 changes planned, none made.",
    ]
    assert real[1].splitlines()[-1] == "Applied 5 changes."
    assert again[1] == "No changes: the database already matches.\n"


def test_apply_with_a_mistake_in_the_file(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.replace('username = "alice"', 'username = "al ice"'))

    status, out, err = run("apply", str(path))

    assert status == 2
    assert out == ""
    assert err.startswith(f"rubicon-broker: {path}: users.0.username: 'al ice' is not a usable")


@pytest.mark.usefixtures("site")
def test_users(run: Run) -> None:
    added = run("users", "add", "root", "--admin", "--password-stdin", stdin="root-Secret-0\n")
    table = run("users", "list")
    as_json = run("users", "list", "--role", "admin", "--json")
    role = run("users", "role", "alice", "admin")
    passwd = run("users", "passwd", "alice", "--password-stdin", stdin="new-Secret-1\n")
    removed = run("users", "remove", "alice")

    assert added[1] == "Added user 'root'.\n"
    assert table[1].splitlines() == [
        "USERNAME  DISPLAY NAME   ROLE   GROUPS  PASSWORD",
        "alice     Alice Liddell  user   staff   local",
        "root      root           admin  -       local",
    ]
    assert json.loads(as_json[1]) == [
        {
            "username": "root",
            "display_name": "root",
            "role": "admin",
            "groups": [],
            "local_password": True,
        }
    ]
    assert role[1] == "'alice' is now an admin.\n"
    assert passwd[1].startswith("Set a new password for 'alice'")
    assert "new-Secret-1" not in passwd[1] + passwd[2]
    assert removed[1] == "Removed user 'alice'.\n"
    assert [r.split() for r in run("users", "list")[1].splitlines()[1:]] == [
        ["root", "root", "admin", "-", "local"]
    ]


@pytest.mark.usefixtures("site")
def test_refusals_are_one_line_and_exit_1(run: Run) -> None:
    unknown = run("users", "role", "zed", "admin")
    no_group = run("groups", "remove", "nope")
    run("users", "add", "root", "--admin", "--password-stdin", stdin="root-Secret-0\n")
    last_admin = run("users", "remove", "root")

    assert unknown[0] == no_group[0] == last_admin[0] == 1
    assert unknown[2] == (
        'rubicon-broker: There is no user "zed". Check the name in the list of users.\n'
    )
    assert no_group[2].startswith('rubicon-broker: There is no group "nope".')
    assert "only administrator left" in last_admin[2]


@pytest.mark.usefixtures("site")
def test_groups(run: Run) -> None:
    assert run("groups", "add", "ops")[1] == "Added group 'ops'.\n"
    assert run("groups", "add-member", "ops", "alice")[1] == "Added 'alice' to group 'ops'.\n"
    assert run("groups", "add-member", "ops", "alice")[1] == (
        "Nothing to do: 'alice' is already in group 'ops'.\n"
    )
    assert run("groups", "list")[1].splitlines() == [
        "GROUP  MEMBERS",
        "ops    alice",
        "staff  alice",
    ]
    assert run("groups", "remove-member", "ops", "alice")[1] == (
        "Removed 'alice' from group 'ops'.\n"
    )
    assert run("groups", "remove", "ops")[1] == "Removed group 'ops'.\n"
    assert run("groups", "add", " bad")[0] == 2


@pytest.mark.usefixtures("site")
def test_pools_machines_entitlements(run: Run) -> None:
    added = run(
        "machines", "add", "engineering", "eng-2", "--host", "10.0.20.12", "--port", "5902",
        "--password-stdin", stdin="vnc-pw\n",
    )  # fmt: skip
    maintenance = run("machines", "maintenance", "engineering", "eng-2", "on")
    listed = run("machines", "list", "engineering")
    pools = run("pools", "list", "--json")
    granted = run("entitlements", "add", "engineering", "group", "staff")
    grants = run("entitlements", "list")
    removed = run("machines", "remove", "engineering", "eng-2")

    assert added[1] == "Added machine 'eng-2' (10.0.20.12, vnc 5902) to pool 'engineering'.\n"
    assert "vnc-pw" not in added[1] + added[2]
    assert maintenance[1] == "Machine 'eng-2' in pool 'engineering' is maintenance.\n"
    assert listed[1].splitlines() == [
        "MACHINE  HOST        PORTS     STATE        USER  SESSION  PROBLEM",
        "eng-1    10.0.20.11  vnc=5901  ready        -     -        -",
        "eng-2    10.0.20.12  vnc=5902  maintenance  -     -        -",
    ]
    (pool,) = json.loads(pools[1])
    assert pool["machines"] == {"maintenance": 1, "ready": 1}
    assert granted[1] == "Group 'staff' may now use pool 'engineering'.\n"
    assert grants[1].splitlines() == [
        "POOL         KIND   NAME",
        "engineering  group  staff",
        "engineering  user   alice",
    ]
    assert removed[1] == "Removed machine 'eng-2' from pool 'engineering'.\n"


def test_sessions_and_audit(run: Run, client: TestClient) -> None:
    session_id = launch(client)

    busy = run("machines", "remove", "engineering", "eng-1")
    listed = run("sessions", "list", "--json")
    logoff = run("sessions", "logoff", session_id)
    audit = run("audit", "--action", "admin.session.*", "--since", "1h", "--json")
    table = run("audit", "--actor", "alice")

    assert busy[0] == 1
    assert "alice is using it" in busy[2]
    (session,) = json.loads(listed[1])
    assert (session["id"], session["user"], session["machine"]) == (session_id, "alice", "eng-1")
    assert logoff[0] == 0, logoff[2]
    assert logoff[1] == f"Session {session_id} of alice on eng-1 is ended.\n"
    (event,) = json.loads(audit[1])
    assert event["action"] == "admin.session.logoff"
    assert event["actor"].startswith("cli:")
    assert event["target"] == f"session:{session_id}"
    header, *rows = table[1].splitlines()
    assert header.split() == ["TIME", "(UTC)", "ACTOR", "ACTION", "TARGET", "ADDRESS", "DETAIL"]
    assert [r.split()[3] for r in rows] == ["session.launch", "auth.sign_in"]


@pytest.mark.usefixtures("site")
def test_audit_time_arguments(run: Run) -> None:
    assert run("audit", "--since", "2999-01-01T00:00:00Z")[1] == "No audit events match.\n"
    status, _, err = run("audit", "--since", "last tuesday")
    assert status == 2
    assert "neither a time" in err


def test_machines_unassign(run: Run, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.replace("[[groups]]", DESIGN + "[[groups]]"))
    assert run("apply", str(path))[0] == 0
    assert run("users", "add", "alice", "--password-stdin", stdin="alice-Secret-1\n")[0] == 0
    app = create_app(BrokerSettings(database_url=db_url, scheduler=False))
    with TestClient(app) as client:
        session_id = launch(client, "design")
        busy = run("machines", "unassign", "design", "des-1")
        assert run("sessions", "logoff", session_id)[0] == 0
        owned = run("machines", "list", "design")
        done = run("machines", "unassign", "design", "des-1")
        again = run("machines", "unassign", "design", "des-1")
        floating = run("machines", "unassign", "engineering", "eng-1")
        unknown = run("machines", "unassign", "design", "des-9")
        no_pool = run("machines", "unassign", "nope", "des-1")
        events = run("audit", "--action", "admin.machine.unassign", "--json")
        assert launch(client, "design") != session_id  # a new session on a new binding
        listed = run("machines", "list", "design")

    assert busy[:2] == (1, "")
    # (Before it on stderr: the app's warning that it has no pools file.)
    assert busy[2].splitlines()[-1] == (
        f'rubicon-broker: Machine "des-1" cannot be unassigned while alice is using it. '
        f"Log off session {session_id} first, then try again."
    )
    assert owned[1].splitlines() == [
        "MACHINE  HOST        PORTS     STATE     USER   SESSION  PROBLEM",
        "des-1    10.0.30.11  vnc=5901  assigned  alice  -        -",
        "des-2    10.0.30.12  vnc=5901  ready     -      -        -",
    ]
    assert done == (0, "Machine 'des-1' in pool 'design' is no longer alice's; it is ready.\n", "")
    assert again[0] == floating[0] == unknown[0] == no_pool[0] == 1
    assert again[2] == (
        'rubicon-broker: Machine "des-1" in pool "design" has no owner, so there is nothing '
        "to unassign. Check the machine's user in the pool's machines.\n"
    )
    assert floating[2] == (
        'rubicon-broker: Pool "engineering" is floating: its machines go back to the pool '
        "when each session ends, so none has an owner to take away. Only machines of "
        "dedicated pools are unassigned.\n"
    )
    assert unknown[2].startswith('rubicon-broker: Pool "design" has no machine "des-9".')
    assert no_pool[2].startswith('rubicon-broker: There is no pool "nope".')
    (event,) = json.loads(events[1])
    assert event["actor"].startswith("cli:")
    assert (event["target"], event["detail"]) == ("machine:design/des-1", {"user": "alice"})
    # alice's next launch bound a free machine again (the first by name).
    assert listed[1].splitlines()[1].split()[3:5] == ["assigned", "alice"]


@pytest.mark.usefixtures("site")
def test_users_totp_is_audited_without_the_secret(run: Run) -> None:
    enrol = run("users", "totp", "alice")
    force = run("users", "totp", "alice", "--force")
    remove = run("users", "totp", "alice", "--remove")
    nothing = run("users", "totp", "alice", "--remove")
    events = run("audit", "--action", "admin.user.totp*", "--json")

    assert enrol[0] == force[0] == remove[0] == nothing[0] == 0
    assert remove[1] == "Removed TOTP for 'alice'.\n"
    assert nothing[1] == "'alice' had no TOTP; nothing changed.\n"
    secrets = [
        "".join(line.split("secret:")[1].split("(")[0].split())
        for line in (enrol[1] + force[1]).splitlines()
        if "secret:" in line
    ]
    assert len(secrets) == 2
    assert all(len(secret) == 32 for secret in secrets)
    # Newest first; the --remove that changed nothing left no event.
    assert [(e["action"], e["target"], e["detail"]) for e in json.loads(events[1])] == [
        ("admin.user.totp_remove", "user:alice", {}),
        ("admin.user.totp_enrol", "user:alice", {"replaced": True}),
        ("admin.user.totp_enrol", "user:alice", {"replaced": False}),
    ]
    assert all(e["actor"].startswith("cli:") for e in json.loads(events[1]))
    for secret in secrets:
        assert secret not in events[1]
        assert secret.lower() not in events[1].lower()


@pytest.mark.usefixtures("site")
def test_users_passwd_follows_the_password_policy(run: Run) -> None:
    status, out, err = run("users", "passwd", "alice", "--password-stdin", stdin="five5\n")

    assert (status, out) == (2, "")
    assert err == (
        "rubicon-broker: the password is too short: use at least 8 characters "
        "(RUBICON_BROKER_PASSWORD_MIN_LENGTH); nothing changed\n"
    )
