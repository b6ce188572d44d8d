"""Log set-up: the JSON line format and idempotent set-up."""

from __future__ import annotations

import json
import logging

import pytest

from broker_stub import log


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup("debug", json=True)

    log.api.info("hello %s", "world")
    try:
        raise ValueError("boom")
    except ValueError:
        log.db.exception("it broke")

    lines = capsys.readouterr().err.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "hello world"
    assert first["level"] == "INFO"
    assert first["logger"] == "rubicon.broker.api"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in second["exception"]


def test_setup_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup("info")
    log.setup("warning")

    log.auth.info("hidden")
    log.auth.warning("shown")

    assert capsys.readouterr().err.count("shown") == 1
    assert logging.getLogger().level == logging.WARNING


def test_loggers_are_named_under_one_root() -> None:
    names = {log.api.name, log.auth.name, log.cli.name, log.config.name, log.db.name}
    assert all(n.startswith("rubicon.broker.") for n in names)
    assert len(names) == 5


def test_alembic_chatter_is_kept_out_of_the_info_log(capsys: pytest.CaptureFixture[str]) -> None:
    log.setup("info")
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    log.db.info("database upgraded")

    err = capsys.readouterr().err
    assert "SQLiteImpl" not in err
    assert "database upgraded" in err
