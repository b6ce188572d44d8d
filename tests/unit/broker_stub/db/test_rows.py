"""Rows read with Core, handed on as model objects no Session tracks."""

from __future__ import annotations

from sqlalchemy import inspect, select, true

from broker_stub.db.models import Machine, Pool, User
from broker_stub.db.rows import entity, labelled, made, table_of

from ..conftest import Broker


def test_entity_reads_a_models_columns_by_their_prefix(broker: Broker) -> None:
    alice = broker.user("alice")
    machines = table_of(Machine)
    with broker.session() as db:
        stored = db.scalars(select(Machine).order_by(Machine.id)).first()
        assert stored is not None
        row = (
            db.connection()
            .execute(
                select(*labelled(User, "u_"), *labelled(Machine, "m_"))
                .select_from(table_of(User).join(machines, true()))
                .where(table_of(User).c.id == alice.id, machines.c.id == stored.id)
            )
            .one()
        )
        user, machine = entity(User, row, "u_"), entity(Machine, row, "m_")

        # Both tables have an id, a name-like column and more: each keeps its own.
        assert (user.id, user.username, user.password_hash) == (
            alice.id,
            "alice",
            alice.password_hash,
        )
        assert (machine.id, machine.name, machine.host, machine.pool_id) == (
            stored.id,
            stored.name,
            stored.host,
            stored.pool_id,
        )
        assert machine.assigned_user_id is None
        assert inspect(machine).transient
        assert machine not in db


def test_a_made_object_is_never_saved_by_the_session(broker: Broker) -> None:
    with broker.session() as db:
        pool_id = db.scalars(select(Pool.id)).first()
        assert pool_id is not None
        pool = made(Pool, {"id": pool_id, "name": "Renamed"})
        assert (pool.id, pool.name) == (pool_id, "Renamed")
        assert pool.degraded_since is None  # a column not given reads as None

        pool.name = "Renamed again"  # changes the object only
        db.commit()
        assert db.scalar(select(Pool.name).where(Pool.id == pool_id)) != "Renamed again"
        assert pool.name == "Renamed again"
