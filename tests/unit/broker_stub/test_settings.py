"""Broker settings: defaults, environment, and the default database file."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broker_stub.settings import BrokerSettings, config_dir


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BrokerSettings()

    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.workers == 1  # one process, as before --workers
    assert settings.token_ttl == timedelta(hours=10)
    assert settings.config is None
    assert settings.database_url is None
    assert settings.tls_cert == config_dir() / "cert.pem"
    assert settings.tls_key == config_dir() / "key.pem"
    assert settings.insecure_http is False
    # The suite's conftest points XDG_CONFIG_HOME into a temp dir.
    assert config_dir().parent.name == "rubicon"
    assert not config_dir().exists()  # init makes it, not the settings


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUBICON_BROKER_PORT", "9000")
    monkeypatch.setenv("RUBICON_BROKER_TOKEN_TTL", "PT30M")
    monkeypatch.setenv("RUBICON_BROKER_CONFIG", str(tmp_path / "pools.toml"))
    monkeypatch.setenv("RUBICON_BROKER_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("RUBICON_BROKER_TLS_CERT", str(tmp_path / "c.pem"))
    monkeypatch.setenv("RUBICON_BROKER_TLS_KEY", str(tmp_path / "k.pem"))
    monkeypatch.setenv("RUBICON_BROKER_INSECURE_HTTP", "1")

    settings = BrokerSettings()

    assert settings.port == 9000
    assert settings.token_ttl == timedelta(minutes=30)
    assert settings.config == tmp_path / "pools.toml"
    assert settings.effective_database_url() == "sqlite:///x.db"
    assert settings.tls_cert == tmp_path / "c.pem"
    assert settings.tls_key == tmp_path / "k.pem"
    assert settings.insecure_http is True


def test_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUBICON_BROKER_PORT", "9000")
    assert BrokerSettings(port=9001).port == 9001


@pytest.mark.parametrize(
    "bad", [{"port": 0}, {"port": 70000}, {"token_ttl": timedelta(0)}, {"workers": 0}]
)
def test_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BrokerSettings(**bad)


def test_default_database_is_a_private_sqlite_file(tmp_path: Path) -> None:
    # The suite's conftest points XDG_DATA_HOME into a temp dir.
    url = BrokerSettings().effective_database_url()

    assert url.startswith("sqlite:///")
    path = Path(url.removeprefix("sqlite:///"))
    assert path.name == "broker.sqlite3"
    assert path.parent.name == "rubicon"
    assert path.parent.is_dir()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_no_directory_made_until_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    BrokerSettings()

    assert not (tmp_path / "data").exists()
