"""Rows read with Core statements, handed on as (transient) model objects.

The hot paths (a launch, a heartbeat) read with prepared Core statements
instead of the ORM, whose per-statement work costs more than the query. What
they read is wrapped in the model class so that the rest of the broker reads
it as before. These objects belong to no Session: a change to one is not
saved, so code that changes a row does it with an UPDATE of its own.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Label, Row, Table, inspect

from broker_stub.db.models import Base

M = TypeVar("M", bound=Base)


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def labelled(model: type[Base], prefix: str) -> list[Label[Any]]:
    """Every column of the model's table, named `prefix` + its name: two tables in
    one row (a session and its machine) then keep their `id`s apart."""
    return [column.label(prefix + column.name) for column in table_of(model).columns]


def entity(model: type[M], row: Row[*tuple[Any, ...]], prefix: str = "") -> M:
    """The model object of the columns named `prefix` + column name in `row`."""
    values = row._mapping
    return made(model, {c.key: values[prefix + c.name] for c in table_of(model).columns})


def made(model: type[M], values: dict[str, Any]) -> M:
    """A transient `model` object holding `values`.

    Made as SQLAlchemy makes the objects it loads, its values put straight in
    its dictionary: the model's constructor sets each through the attribute
    machinery, which cost 75 µs an object, most of what reading the launch's
    five rows cost in Python.
    """
    instance = cast(M, inspect(model).class_manager.new_instance())
    instance.__dict__.update(values)
    return instance
