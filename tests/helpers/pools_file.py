"""Pools files for tests and benchmarks, written from plain dicts.

A pool is a dict of its keys; its "machines" become [[pools.machines]]
tables, and any other dict value (backend, clones) an inline table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    """JSON strings, numbers, booleans and lists are valid TOML; tables go inline."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def to_toml(pools: list[dict[str, Any]]) -> str:
    """The pools file for `pools`."""
    lines: list[str] = []
    for pool in pools:
        lines.append("[[pools]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in pool.items() if k != "machines"]
        for machine in pool.get("machines", []):
            lines.append("[[pools.machines]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in machine.items()]
    return "\n".join(lines) + "\n"


def write_pools(path: Path, pools: list[dict[str, Any]]) -> Path:
    """`pools` as a pools file at `path`, 0600 (it may hold console passwords)."""
    path.write_text(to_toml(pools))
    path.chmod(0o600)
    return path
