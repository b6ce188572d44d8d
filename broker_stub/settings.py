"""Broker settings, read from RUBICON_BROKER_* environment variables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "broker.sqlite3"
TLS_CERT_FILE = "cert.pem"
TLS_KEY_FILE = "key.pem"


def config_dir() -> Path:
    """Where `rubicon-broker init` puts the TLS key and certificate (not made here)."""
    return Path(platformdirs.user_config_dir("rubicon", appauthor=False)) / "broker"


class LdapSettings(BaseSettings):
    """Sign-in against an LDAP directory or Active Directory (RUBICON_BROKER_LDAP_*).

    Off while `url` is empty. docs/admin.md has examples for OpenLDAP and AD.
    """

    model_config = SettingsConfigDict(env_prefix="RUBICON_BROKER_LDAP_", extra="forbid")

    url: str = Field(
        default="",
        description="ldap:// or ldaps:// URL; several, separated by spaces or commas, "
        "are tried in order. Empty: LDAP sign-in is off.",
    )
    bind_dn: str | None = Field(
        default=None, description="The account that searches for users; unset: anonymous."
    )
    bind_password: SecretStr | None = None
    user_dn_template: str | None = Field(
        default=None,
        description="Bind directly as this DN ({username} is replaced), e.g. "
        "uid={username},ou=people,dc=example,dc=com or {username}@example.com for AD; "
        "unset: search for the user first.",
    )
    user_base: str = Field(default="", description="Where to search for users.")
    user_filter: str = Field(
        default="(uid={username})",
        description="Finds the user; {username} is escaped. AD: (sAMAccountName={username}).",
    )
    username_attribute: str = Field(
        default="uid",
        description="The attribute whose value is the broker's username. AD: sAMAccountName.",
    )
    group_base: str | None = Field(
        default=None, description="Where to search for groups; unset: no group search."
    )
    group_filter: str = Field(
        default="(|(member={dn})(uniqueMember={dn})(memberUid={username}))",
        description="Finds the user's groups; {dn} and {username} are escaped.",
    )
    group_name_attribute: str = "cn"
    member_of_attribute: str | None = Field(
        default="memberOf",
        description="User attribute listing group DNs (AD, OpenLDAP memberof overlay); "
        "empty to ignore it.",
    )
    start_tls: bool = Field(default=False, description="Upgrade ldap:// with StartTLS.")
    ca_file: Path | None = Field(
        default=None, description="PEM CA certificates to verify the server; unset: system CAs."
    )
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds per server.")
    timeout: float = Field(default=10.0, gt=0, description="Seconds per LDAP operation.")

    @field_validator("member_of_attribute", "bind_dn", "group_base", "user_dn_template")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    @property
    def urls(self) -> list[str]:
        return self.url.replace(",", " ").split()


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
    workers: int = Field(
        default=1,
        ge=1,
        description="Processes that serve the API on this node; one per core uses them all.",
    )
    request_slots: int | None = Field(
        default=None,
        ge=1,
        description="Requests one process works on at once; the rest wait their turn. "
        "Unset: 2 on SQLite, the connection pool's size on PostgreSQL.",
    )
    token_ttl: timedelta = Field(
        default=timedelta(hours=10),
        gt=timedelta(0),
        description="A token stops working this long after sign-in, used or not.",
    )
    token_idle_timeout: timedelta = Field(
        default=timedelta(minutes=30),
        gt=timedelta(0),
        description="A token unused for this long stops working.",
    )
    lockout_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins within lockout_window that lock an account."
    )
    lockout_window: timedelta = Field(default=timedelta(minutes=5), gt=timedelta(0))
    lockout_duration: timedelta = Field(
        default=timedelta(minutes=5), gt=timedelta(0), description="How long a lock lasts."
    )
    throttle_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address within lockout_window "
        "that block that address for lockout_duration.",
    )
    password_min_length: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="The fewest characters a new local password may have (users add, "
        "users passwd, the admin API). Existing passwords keep working.",
    )
    ldap: LdapSettings = Field(default_factory=LdapSettings)
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
    metrics_token: SecretStr | None = Field(
        default=None,
        description="If set, /metrics answers only requests with `Authorization: Bearer` "
        "and this value; unset: /metrics is open, like /healthz.",
    )
    scheduler: bool = Field(
        default=True,
        description="Fire session deadlines on this node (every node should; off for tests).",
    )
    scheduler_interval: timedelta = Field(
        default=timedelta(seconds=5),
        gt=timedelta(0),
        description="How often the scheduler looks for due deadlines.",
    )
    upkeep_interval: timedelta = Field(
        default=timedelta(seconds=15),
        gt=timedelta(0),
        description="How often a pool on a hypervisor is looked after: its machines found, "
        "spares made and powered on, idle ones powered off.",
    )

    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file (its directory made 0700)."""
        if self.database_url:
            return self.database_url
        data_dir = Path(platformdirs.user_data_dir("rubicon", appauthor=False))
        # The database holds password hashes and console passwords: owner only.
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / DEFAULT_DB_FILE}"
