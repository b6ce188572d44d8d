"""The claim and the desktop list read a pool's free machines through their index.

Checked on the statements the code runs (caught as they go to the driver),
on a pool of 30,000 free machines: first on the new database as the
migrations leave it, with no statistics (SQLite never gathers them itself,
PostgreSQL's autovacuum only after a while), then again after ANALYZE. On
PostgreSQL also the generic plan, which a statement prepared by psycopg may
run from its sixth use on. On the other tests' few machines PostgreSQL may
rightly read the whole table; at this size a plan that reads every free
machine is a fault, and it is what the broker did before (issue 14).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, insert

from broker_stub.db.models import Machine
from broker_stub.domain import allocation

from ..conftest import Broker

FREE_MACHINES = 30_000
FREE_INDEX = "ix_machines_free"

Statement = tuple[str, Any]
_names = itertools.count()


@contextmanager
def caught(engine: Engine) -> Iterator[list[Statement]]:
    """The statements that read or change free machines, as sent to the driver.

    The free-machine condition is written into the SQL (`state = 'ready'`),
    not bound, so that the partial index may serve a prepared statement.
    """
    statements: list[Statement] = []

    def seen(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        if "'ready'" in statement:
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def fill(broker: Broker, pool: str, count: int) -> None:
    """`count` more free machines in `pool`, named to come after its own."""
    rows = [
        {"pool_id": pool, "name": f"spare-{i:05}", "host": "127.0.0.1", "port": 5900}
        for i in range(count)
    ]
    with broker.app.state.engine.begin() as conn:
        conn.execute(insert(Machine), rows)


def claim_and_list(broker: Broker, username: str, first_free: str) -> tuple[Statement, Statement]:
    """The claim of a launch by `username`, which must get `first_free`, and
    the free check of alice's desktop list."""
    engine = broker.app.state.engine
    with caught(engine) as claims, broker.session() as db:
        launched = allocation.launch(db, broker.user(username), "engineering")
    assert (launched.reconnected, launched.machine.name) == (False, first_free)
    with caught(engine) as checks, broker.session() as db:
        views = allocation.desktops(db, broker.user("alice"))
    assert [v.state for v in views] == ["connected"]
    assert len(claims) == 1, claims
    assert claims[0][0].startswith("UPDATE machines"), claims
    assert len(checks) == 1, checks
    return claims[0], checks[0]


def sqlite_plan(conn: Connection, statement: Statement) -> list[str]:
    text, params = statement
    return [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}", params)]


def pg_nodes(plan: dict[str, Any], above: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """The plan's nodes, each with "Above": the types of the nodes it is under."""
    yield {**plan, "Above": above}
    for child in plan.get("Plans", []):
        yield from pg_nodes(child, (*above, plan["Node Type"]))


def pg_plans(conn: Connection, statement: Statement) -> list[list[dict[str, Any]]]:
    """The nodes of the plan PostgreSQL makes for these values, and of its generic plan."""
    from psycopg import sql

    text, params = statement
    custom = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {text}", params).scalar_one()
    # PREPARE takes $1, $2 … where psycopg has %(name)s.
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    name = sql.Identifier(f"plan_test_{next(_names)}")
    prepared = sql.SQL(re.sub(r"%\((\w+)\)s", number, text))
    values = sql.SQL(", ").join(sql.Literal(params[n]) for n in names)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(sql.SQL("PREPARE {} AS {}").format(name, prepared))
    cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    cursor.execute(sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {} ({})").format(name, values))
    row = cursor.fetchone()
    assert row is not None
    generic = row[0]
    cursor.execute(sql.SQL("DEALLOCATE {}").format(name))
    return [list(pg_nodes(plan[0]["Plan"])) for plan in (custom, generic)]


def machine_scans(nodes: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """How each node that reads the machines table reads it: (node type, index)."""
    return sorted(
        (node["Node Type"], node.get("Index Name"))
        for node in nodes
        if node.get("Relation Name") == "machines" and node["Node Type"].endswith("Scan")
    )


def check_sqlite(conn: Connection, claim: Statement, free_check: Statement) -> None:
    # The UPDATE finds its row by key; the first free machine is the first
    # entry of the pool in the free index, already in order: no sort.
    assert sqlite_plan(conn, claim) == [
        "SEARCH machines USING INTEGER PRIMARY KEY (rowid=?)",
        "SCALAR SUBQUERY 1",
        f"SEARCH machines USING INDEX {FREE_INDEX} (pool_id=?)",
    ]
    plan = sqlite_plan(conn, free_check)
    assert plan[1:] == [
        "CORRELATED SCALAR SUBQUERY 1",
        f"SEARCH machines USING INDEX {FREE_INDEX} (pool_id=?)",
    ], plan
    assert plan[0].startswith("SEARCH pools"), plan


def check_free_scan(nodes: list[dict[str, Any]]) -> None:
    """The free index is read from the pool's first entry, and only for one row."""
    free = next(n for n in nodes if n.get("Index Name") == FREE_INDEX)
    assert "pool_id" in free["Index Cond"], free
    assert "Limit" in free["Above"], free


def check_postgresql(conn: Connection, claim: Statement, free_check: Statement) -> None:
    for nodes in pg_plans(conn, claim):
        assert machine_scans(nodes) == [
            ("Index Scan", FREE_INDEX),
            ("Index Scan", "pk_machines"),
        ], nodes
        assert "Sort" not in [node["Node Type"] for node in nodes], nodes
        by_key = next(n for n in nodes if n.get("Index Name") == "pk_machines")
        assert by_key["Index Cond"].startswith("(id = "), by_key
        check_free_scan(nodes)
    for nodes in pg_plans(conn, free_check):
        [(kind, index)] = machine_scans(nodes)
        assert (kind in ("Index Scan", "Index Only Scan"), index) == (True, FREE_INDEX), nodes
        check_free_scan(nodes)
        assert "Sort" not in [node["Node Type"] for node in nodes], nodes


def test_claim_and_desktop_list_read_free_machines_through_their_index(broker: Broker) -> None:
    engine: Engine = broker.app.state.engine
    check: Callable[[Connection, Statement, Statement], None] = (
        check_postgresql if engine.dialect.name == "postgresql" else check_sqlite
    )
    if engine.dialect.name == "postgresql":
        # So that "no statistics" holds for certain, not just for the first minute.
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE machines SET (autovacuum_enabled = false)")
    fill(broker, "engineering", FREE_MACHINES)

    # A new database: nothing has gathered statistics.
    with engine.connect() as conn:
        check(conn, *claim_and_list(broker, "alice", "eng-1"))

    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        check(conn, *claim_and_list(broker, "bob", "eng-2"))
