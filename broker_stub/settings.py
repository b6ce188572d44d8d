"""Broker settings, read from RUBICON_BROKER_* environment variables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "broker.sqlite3"


class BrokerSettings(BaseSettings):
    """Everything the broker needs to start. Command-line flags override these."""

    model_config = SettingsConfigDict(env_prefix="RUBICON_BROKER_", extra="forbid")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means a SQLite file in the user data directory.",
    )
    config: Path | None = Field(default=None, description="The TOML file that describes pools.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    token_ttl: timedelta = Field(default=timedelta(hours=10), gt=timedelta(0))

    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file (its directory made 0700)."""
        if self.database_url:
            return self.database_url
        data_dir = Path(platformdirs.user_data_dir("rubicon", appauthor=False))
        # The database holds password hashes and console passwords: owner only.
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / DEFAULT_DB_FILE}"
