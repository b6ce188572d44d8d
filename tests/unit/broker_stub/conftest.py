"""Shared fixtures for the broker tests: a pools file, users, and an app to talk to.

The default site:

    pool         name                 entitled           machines
    engineering  Engineering desktop  user alice, group staff   eng-1, eng-2
    finance      Finance desktop      user carol                fin-1
    art          Art studio           group artists             art-1 (no password)

    alice (no groups), bob (staff, artists), carol, dave (entitled to nothing)

The machines are addresses nothing listens on, so the pools do not probe
consoles (health_check = false); tests of the probe turn it on.

Every test that builds a broker runs twice: on a fresh SQLite file and on a
fresh PostgreSQL database (tests/helpers/postgres.py; skipped where PostgreSQL
is not installed). A test that does not exercise the database (request validation, error
shapes) is marked ``@sqlite_only`` to save the time.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from broker_stub.app import create_app
from broker_stub.auth.users import set_user
from broker_stub.db.models import User
from broker_stub.settings import BrokerSettings
from tests.helpers.live_broker import serve
from tests.helpers.pools_file import to_toml

PoolSpec = dict[str, Any]

POOLS: list[PoolSpec] = [
    {
        "id": "engineering",
        "health_check": False,
        "name": "Engineering desktop",
        "protocol": "vnc",
        "users": ["alice"],
        "groups": ["staff"],
        "machines": [
            {"name": "eng-1", "host": "127.0.0.1", "port": 5901, "password": "vncEng1!"},
            {"name": "eng-2", "host": "127.0.0.1", "port": 5902, "password": "vncEng2!"},
        ],
    },
    {
        "id": "finance",
        "health_check": False,
        "name": "Finance desktop",
        "protocol": "vnc",
        "users": ["carol"],
        "machines": [
            {"name": "fin-1", "host": "10.0.0.7", "port": 5911, "password": "vncFin1!"},
        ],
    },
    {
        "id": "art",
        "health_check": False,
        "name": "Art studio",
        "protocol": "vnc",
        "groups": ["artists"],
        "machines": [{"name": "art-1", "host": "127.0.0.1", "port": 5921}],
    },
]


@dataclass(frozen=True)
class UserSpec:
    password: str
    groups: list[str] = field(default_factory=list)
    display_name: str | None = None


USERS: dict[str, UserSpec] = {
    "alice": UserSpec("alice-Secret-1", display_name="Alice Liddell"),
    "bob": UserSpec("bob-Secret-2", groups=["staff", "artists"]),
    "carol": UserSpec("carol-Secret-3"),
    "dave": UserSpec("dave-Secret-4"),
}


@dataclass
class Broker:
    """An app built by create_app, a client of it, and the site it serves.

    The client is a TestClient (in-process ASGI), or for a broker made with
    ``live=True`` an httpx client of uvicorn serving the app on loopback:
    real HTTP, for what only a real server shows (parsing, concurrency).
    """

    app: FastAPI
    client: httpx2.Client
    settings: BrokerSettings
    users: dict[str, UserSpec]

    def session(self) -> Session:
        factory = self.app.state.session_factory
        session: Session = factory()
        return session

    def user(self, username: str) -> User:
        with self.session() as db:
            user = db.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return user

    def login(self, username: str) -> dict[str, str]:
        """Authorization headers for `username`, after a real sign-in."""
        reply = self.client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": self.users[username].password},
        )
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['token']}"}


def assert_problem(reply: Response, status: int, code: str) -> dict[str, Any]:
    """Check `reply` is the problem+json document docs/api.md promises; return its body."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:rubicon:problem:{code}"
    assert body["title"]
    assert body["detail"].endswith(".")
    return body


@pytest.fixture
def pools() -> list[PoolSpec]:
    """A copy of the default pools, free to change in a test."""
    return copy.deepcopy(POOLS)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(
        pools: list[PoolSpec] | None = None, name: str = "pools.toml", mode: int = 0o600
    ) -> Path:
        path = tmp_path / name
        path.write_text(to_toml(POOLS if pools is None else pools))
        path.chmod(mode)
        return path

    return write


SQLITE_FILE = "b.sqlite3"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of the kind the parameter names."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / SQLITE_FILE}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def make_broker(
    database_url: str, write_config: Callable[..., Path]
) -> Iterator[Callable[..., Broker]]:
    """Build a broker on an empty database:
    make_broker(pools=..., users=..., live=False, **settings)."""
    with ExitStack() as stack:

        def make(
            pools: list[PoolSpec] | None = None,
            users: dict[str, UserSpec] | None = None,
            *,
            live: bool = False,
            **settings: Any,
        ) -> Broker:
            users = USERS if users is None else users
            config = BrokerSettings(
                **{
                    "database_url": database_url,
                    "config": write_config(pools),
                    # Tests fire deadlines themselves, at the time they choose.
                    "scheduler": False,
                    **settings,
                }
            )
            app = create_app(config)
            with app.state.session_factory() as db:
                for name, spec in users.items():
                    set_user(db, name, spec.password, spec.display_name, spec.groups)
            client: httpx2.Client
            if live:
                url = stack.enter_context(serve(app))
                client = stack.enter_context(httpx2.Client(base_url=url, timeout=30))
            else:
                client = stack.enter_context(TestClient(app))
            return Broker(app=app, client=client, settings=config, users=users)

        yield make


@pytest.fixture
def broker(make_broker: Callable[..., Broker]) -> Broker:
    return make_broker()


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    # The CLI calls log.setup(), which changes the root logger for the process.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
