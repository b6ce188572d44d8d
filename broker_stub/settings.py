"""Broker settings, read from RUBICON_BROKER_* environment variables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "broker.sqlite3"
TLS_CERT_FILE = "cert.pem"
TLS_KEY_FILE = "key.pem"


def config_dir() -> Path:
    """Where `rubicon-broker init` puts the TLS key and certificate (not made here)."""
    return Path(platformdirs.user_config_dir("rubicon", appauthor=False)) / "broker"


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
    tls_cert: Path = Field(
        default_factory=lambda: config_dir() / TLS_CERT_FILE,
        description="PEM certificate (chain) to serve; `rubicon-broker init` makes one.",
    )
    tls_key: Path = Field(
        default_factory=lambda: config_dir() / TLS_KEY_FILE,
        description="PEM private key of tls_cert.",
    )
    insecure_http: bool = Field(
        default=False, description="Serve plain HTTP instead of TLS; loopback hosts only."
    )

    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file (its directory made 0700)."""
        if self.database_url:
            return self.database_url
        data_dir = Path(platformdirs.user_data_dir("rubicon", appauthor=False))
        # The database holds password hashes and console passwords: owner only.
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / DEFAULT_DB_FILE}"
