"""Backend plug-ins: a distribution installed with pip adds a backend type.

tests/data/plugins/rubicon-test-backend is such a distribution: its entry point
"testbed" names a backend whose machines are TCP ports and whose calls hang
while a file exists, and "broken" names a module that is not there. Through
it, the broker's API is shown to keep serving other pools while one pool's
hypervisor hangs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broker_stub.backends import BackendKind, UnknownKind, find_kind, kinds, registry
from broker_stub.config import ConfigError, load_config
from broker_stub.db.models import AuditEvent, Machine, Pool
from tests.helpers.e2e import wait_for

from ..admin_helpers import admin_headers
from ..conftest import POOLS, Broker, PoolSpec, assert_problem, sqlite_only

DISTRIBUTION = Path(__file__).resolve().parents[3] / "data" / "plugins" / "rubicon-test-backend"


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test distribution, installed by pip into a directory of its own."""
    target = tmp_path_factory.mktemp("plugins")
    source = tmp_path_factory.mktemp("source") / DISTRIBUTION.name
    shutil.copytree(DISTRIBUTION, source)  # the build writes beside the sources
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    assert (target / "rubicon_test_backend.py").exists()
    return target


@pytest.fixture
def installed(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(plugin_dir))
    registry.rescan()
    yield
    monkeypatch.undo()
    sys.modules.pop("rubicon_test_backend", None)
    registry.rescan()


def test_without_the_distribution_the_type_is_unknown() -> None:
    registry.rescan()
    assert "testbed" not in kinds()
    with pytest.raises(UnknownKind, match="there is no backend type 'testbed'"):
        find_kind("testbed")


@pytest.mark.usefixtures("installed")
def test_an_installed_plugin_adds_its_backend_type() -> None:
    assert kinds() == [*registry._BUILT_IN, "broken", "testbed"]
    kind = find_kind("testbed")

    assert isinstance(kind, BackendKind)
    assert kind.discovers
    assert kind.options({"machines": {"bed-1": 5901}})["machines"] == {"bed-1": 5901}


@pytest.mark.usefixtures("installed")
def test_a_plugin_that_cannot_load_is_named_with_the_reason() -> None:
    with pytest.raises(UnknownKind) as caught:
        find_kind("broken")

    assert str(caught.value) == (
        "the backend plug-in 'broken' (rubicon_test_backend_missing:KIND from "
        "rubicon-test-backend) cannot be loaded: ModuleNotFoundError: No module named "
        "'rubicon_test_backend_missing'; reinstall or remove it"
    )


@pytest.mark.usefixtures("installed")
def test_the_pools_file_is_checked_by_the_plugin(
    write_config: Callable[..., Path], pools: list[PoolSpec]
) -> None:
    pools[0].update(backend={"type": "testbed", "machines": {"bed-1": "5901"}})
    pools[0].pop("machines")

    with pytest.raises(ConfigError) as caught:
        load_config(write_config(pools))

    assert str(caught.value).endswith(
        "pools.toml: pools.0.backend: machines: a table of name = port"
    )
    pools[0]["backend"] = {"type": "broken"}
    with pytest.raises(ConfigError, match=r"pools\.0\.backend: the backend plug-in 'broken'"):
        load_config(write_config(pools))


@pytest.fixture
def testbed_pools(tmp_path: Path) -> list[PoolSpec]:
    """The usual pools, and "bed" whose machines the test bed finds."""
    bed: PoolSpec = {
        "id": "bed",
        "name": "Test bed",
        "protocol": "vnc",
        "health_check": False,
        "users": ["alice", "bob", "carol"],
        "backend": {
            "type": "testbed",
            "machines": {f"bed-{n}": 6000 + n for n in range(1, 21)},
            "hang_file": str(tmp_path / "hang"),
            "call_timeout": 60.0,
        },
    }
    return [*POOLS, bed]


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_a_plugin_pool_finds_its_machines_and_launches(
    make_broker: Callable[..., Broker], testbed_pools: list[PoolSpec]
) -> None:
    broker = make_broker(pools=testbed_pools)
    assert broker.app.state.scheduler.run_once().tended == ["bed"]
    broker.app.state.upkeep.wait()

    with broker.session() as db:
        names = db.scalars(select(Machine.name).where(Machine.pool_id == "bed")).all()
        found = db.scalars(select(AuditEvent.target).where(AuditEvent.action == "machine.found"))
        assert sorted(found) == sorted(f"machine:bed/{name}" for name in names)
    assert len(names) == 20

    reply = broker.client.post("/api/v1/desktops/bed/launch", headers=broker.login("alice"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"]["port"] == 6001
    assert reply.json()["connection"]["password"] == "testbed"


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_a_hung_hypervisor_slows_neither_other_pools_nor_the_api(
    make_broker: Callable[..., Broker], testbed_pools: list[PoolSpec], tmp_path: Path
) -> None:
    broker = make_broker(pools=testbed_pools)
    broker.app.state.scheduler.run_once()
    broker.app.state.upkeep.wait()
    headers = broker.login("alice")
    others = {"Authorization": broker.login("bob")["Authorization"]}
    hang = tmp_path / "hang"
    hang.touch()
    bed_users = [broker.login(user) for user in ("alice", "bob")]

    def stuck(n: int) -> Any:
        return broker.client.post("/api/v1/desktops/bed/launch", headers=bed_users[n % 2])

    with ThreadPoolExecutor(max_workers=12) as pool:
        # More launches into the hung pool than the API admits at once (8 on SQLite).
        hung = [pool.submit(stuck, n) for n in range(12)]
        # All twelve got past the gate: those that wait on the hypervisor gave their place back.
        wait_for(lambda: _under_way(broker, "bed") == 12, 30, "twelve calls to hang")
        # As many calls under way as the pool may have: one more launch is told to ask again.
        busy = broker.client.post("/api/v1/desktops/bed/launch", headers=broker.login("carol"))
        assert busy.status_code == 202, busy.text
        assert busy.headers["Retry-After"] == "2"
        # Meanwhile the API answers, and a pool on another hypervisor launches.
        assert broker.client.get("/healthz").status_code == 200
        reply = broker.client.post("/api/v1/desktops/engineering/launch", headers=headers)
        assert reply.status_code == 200, reply.text
        listed = broker.client.get("/api/v1/desktops", headers=others)
        assert listed.status_code == 200
        assert all(not f.done() for f in hung)  # still hung: nothing above waited for them
        hang.unlink()
        replies = [f.result(timeout=60) for f in hung]

    # Two users: each got a desktop once the hypervisor answered; the other
    # launches of the same users were answered with the same sessions.
    assert [r.status_code for r in replies] == [200] * 12, [r.text for r in replies]
    assert len({r.json()["session_id"] for r in replies}) == 2


def _under_way(broker: Broker, pool_id: str) -> int:
    calls = broker.app.state.backends.made().get(pool_id)
    return 0 if calls is None else int(calls.under_way)


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_a_failing_plugin_pool_is_degraded_then_recovers(
    make_broker: Callable[..., Broker], testbed_pools: list[PoolSpec], tmp_path: Path
) -> None:
    testbed_pools[-1]["backend"]["call_timeout"] = 0.3
    broker = make_broker(pools=testbed_pools)
    scheduler = broker.app.state.scheduler
    scheduler.run_once()
    broker.app.state.upkeep.wait()
    headers = broker.login("alice")
    (tmp_path / "hang").touch()

    for _ in range(3):
        reply = broker.client.post("/api/v1/desktops/bed/launch", headers=headers)
        body = assert_problem(reply, 503, "hypervisor_unavailable")
        assert reply.headers["Retry-After"] == "30"
        assert body["detail"] == (
            'The broker cannot reach the host that runs "Test bed" right now. Try again in '
            "a few minutes; if it persists, tell your administrator."
        )
    with broker.session() as db:
        pool = db.get_one(Pool, "bed")
        assert pool.degraded_since is not None
        assert pool.degraded_reason == "power_on did not answer within 0.3s"
    # Other pools do not notice.
    assert (
        broker.client.post("/api/v1/desktops/engineering/launch", headers=headers).status_code
        == 200
    )

    (tmp_path / "hang").unlink()
    with broker.session() as db:
        db.execute(Pool.__table__.update().values(upkeep_at=None))
        db.commit()
    scheduler.run_once()
    broker.app.state.upkeep.wait()

    with broker.session() as db:
        assert db.get_one(Pool, "bed").degraded_since is None
        actions = db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target == "pool:bed", AuditEvent.action.startswith("pool."))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["pool.degraded", "pool.recovered"]
    assert broker.client.post("/api/v1/desktops/bed/launch", headers=headers).status_code == 200


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_admins_cannot_add_machines_to_a_pool_its_backend_fills(
    make_broker: Callable[..., Broker], testbed_pools: list[PoolSpec]
) -> None:
    broker = make_broker(pools=testbed_pools)

    reply = broker.client.post(
        "/api/v1/admin/pools/bed/machines",
        json={"name": "extra", "host": "127.0.0.1", "port": 5999},
        headers=admin_headers(broker),
    )

    problem = assert_problem(reply, 400, "invalid_machine")
    assert problem["detail"] == (
        "Machine \"extra\" cannot be added: pool 'bed' finds its machines on its testbed "
        "host; add the machine there (or to the pool's [pools.backend] selection) instead."
    )


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_machines_that_vanish_from_the_hypervisor_leave_the_pool(
    make_broker: Callable[..., Broker], testbed_pools: list[PoolSpec]
) -> None:
    broker = make_broker(pools=testbed_pools)
    scheduler, upkeep = broker.app.state.scheduler, broker.app.state.upkeep
    scheduler.run_once()
    upkeep.wait()
    used = broker.client.post("/api/v1/desktops/bed/launch", headers=broker.login("alice"))
    assert used.json()["connection"]["port"] == 6001  # bed-1, in use from now on

    # The hypervisor now has only bed-3 ... bed-20.
    with broker.session() as db:
        pool = db.get_one(Pool, "bed")
        machines = {f"bed-{n}": 6000 + n for n in range(3, 21)}
        pool.backend = {**pool.backend, "machines": machines}
        pool.upkeep_at = None
        db.commit()
    scheduler.run_once()
    upkeep.wait()

    with broker.session() as db:
        rows = dict(
            db.execute(select(Machine.name, Machine.state).where(Machine.pool_id == "bed")).all()
        )
        vanished = db.scalars(
            select(AuditEvent.target).where(AuditEvent.action == "machine.vanished")
        ).all()
    assert "bed-2" not in rows
    assert vanished == ["machine:bed/bed-2"]
    # bed-1 is gone too, but a session is on it: it stays, in error, until that ends.
    assert rows["bed-1"] == "error"
    assert len(rows) == 19


@sqlite_only
@pytest.mark.usefixtures("installed")
def test_a_reset_on_a_hung_hypervisor_says_the_host_is_unavailable(
    make_broker: Callable[..., Broker],
    testbed_pools: list[PoolSpec],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    testbed_pools[-1].update(allow_reset=True)
    testbed_pools[-1]["backend"]["call_timeout"] = 0.3
    broker = make_broker(pools=testbed_pools)
    broker.app.state.scheduler.run_once()
    broker.app.state.upkeep.wait()
    headers = broker.login("alice")
    session_id = broker.client.post("/api/v1/desktops/bed/launch", headers=headers).json()[
        "session_id"
    ]
    (tmp_path / "hang").touch()

    try:
        replies = [
            broker.client.post(f"/api/v1/sessions/{session_id}/reset", headers=headers)
            for _ in range(5)
        ]
    finally:
        (tmp_path / "hang").unlink()  # the hung calls' threads may go

    for reply in replies:
        assert_problem(reply, 503, "hypervisor_unavailable")
    # Three failures logged, then the pool is degraded (said once) and the rest are quiet.
    failures = [r for r in caplog.records if "reset of bed-1 failed" in r.getMessage()]
    degraded = [r for r in caplog.records if "is degraded" in r.getMessage()]
    assert (len(failures), len(degraded)) == (3, 1)
