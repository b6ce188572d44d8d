"""The pools file's [pools.backend] table for Proxmox VE (docs/backends.md has examples).

type = "proxmox"
url = "https://pve1.example.com:8006"     # any node of the cluster; the API reaches all
token_id = "rubicon@pve!broker"           # an API token, never a password
token_secret_file = "/etc/rubicon/pve-token"   # 0600/0400, the broker's own; or
token_secret_env = "RUBICON_PVE_TOKEN"          # an environment variable of the broker
ca_file = "/etc/rubicon/pve-root-ca.pem"  # or: fingerprint = "AB:CD:..." (SHA-256)
# Which VMs (QEMU only, on any node): exactly one of
resource_pool = "vdi"             # the members of a Proxmox resource pool
tag = "vdi"                       # VMs with this tag
name_pattern = "desk-*"           # VMs whose name matches (shell-style)
[pools.backend.clones]            # or: linked clones the broker makes
template = "win11-golden"         # a template VM (its name or id)
max = 50
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from broker_stub.backends.common import (
    exactly_one,
    normal_fingerprint,
    read_pem,
    read_secret_file,
    stored_options,
)
from broker_stub.values.fields import Duration, NonEmpty, StrictModel

# PVE's tags: lower case letters, digits and - _ + . (pve-common's pve-tag format).
_TAG = re.compile(r"^[a-z0-9_][a-z0-9_+.\-]*$")
_TOKEN_ID = re.compile(r"^[^\s@!]+@[^\s@!]+![A-Za-z][A-Za-z0-9._-]*$")
# A host name or address PVE takes as spiceproxy's `proxy`, with {node} for the VM's node.
_PROXY_HOST = re.compile(r"^[A-Za-z0-9.:\[\]{}_-]+$")


class CloneOptions(StrictModel):
    # The template VM: its name, or its VMID as a number.
    template: NonEmpty | int
    max: int = Field(ge=1, le=999)
    # Where the clones go: the template's node unless given (a linked clone stays on
    # the template's storage, so another node needs that storage shared).
    node: NonEmpty | None = None
    # A Proxmox resource pool the clones join (the token then needs VM.Allocate there).
    resource_pool: NonEmpty | None = None


class ProxmoxOptions(StrictModel):
    type: Literal["proxmox"] = "proxmox"
    url: NonEmpty
    token_id: NonEmpty
    token_secret_file: NonEmpty | None = None
    token_secret_env: NonEmpty | None = None
    ca_file: NonEmpty | None = None
    fingerprint: NonEmpty | None = None
    resource_pool: NonEmpty | None = None
    tag: NonEmpty | None = None
    name_pattern: NonEmpty | None = None
    clones: CloneOptions | None = None
    # recycle = "revert" rolls back to this snapshot; unset: the newest one.
    snapshot: NonEmpty | None = None
    # An orderly shutdown that takes longer than this becomes a hard stop.
    shutdown_timeout: Duration = timedelta(seconds=60)
    # How long the broker waits for a task (start, rollback, clone, ...) to end.
    task_timeout: Duration = timedelta(seconds=300)
    # Every API request gives up after this long.
    request_timeout: Duration = timedelta(seconds=15)
    # The host launchers reach the SPICE proxy (port 3128) at, "{node}" the VM's node:
    # "{node}.example.com". Unset: the node's own name (`hostname -f`), as PVE says.
    spice_proxy: NonEmpty | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        where = urlsplit(url)
        if where.scheme != "https" or not where.hostname:
            raise ValueError(f"give the API as https://host:8006, not {url!r}")
        if where.username is not None or where.password is not None:
            raise ValueError("the API URL holds no user or password: the token_* keys do")
        if where.path not in ("", "/"):
            raise ValueError(f"give the API without a path (https://host:8006), not {url!r}")
        return url.rstrip("/")

    @field_validator("token_id")
    @classmethod
    def _token_id(cls, token_id: str) -> str:
        if not _TOKEN_ID.fullmatch(token_id):
            raise ValueError(
                f"an API token id looks like user@realm!name (rubicon@pve!broker), not {token_id!r}"
            )
        return token_id

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, text: str) -> str:
        return normal_fingerprint(text)

    @field_validator("tag")
    @classmethod
    def _tag(cls, tag: str) -> str:
        if not _TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a Proxmox tag (lower case, digits, - _ + .)")
        return tag

    @field_validator("spice_proxy")
    @classmethod
    def _proxy_host(cls, host: str) -> str:
        if not _PROXY_HOST.fullmatch(host) or "{" in host.replace("{node}", ""):
            raise ValueError(
                f"spice_proxy is a host name or address, {{node}} standing for the VM's node "
                f'("{{node}}.example.com"), not {host!r}'
            )
        return host

    @model_validator(mode="after")
    def _whole(self) -> ProxmoxOptions:
        exactly_one(
            "VMs",
            {
                "resource_pool": self.resource_pool,
                "tag": self.tag,
                "name_pattern": self.name_pattern,
                "clones": self.clones,
            },
        )
        if (self.token_secret_file is None) == (self.token_secret_env is None):
            raise ValueError(
                "give the API token's secret with exactly one of token_secret_file (a file "
                "only the broker can read) or token_secret_env (an environment variable)"
            )
        if (self.ca_file is None) == (self.fingerprint is None):
            raise ValueError(
                "say how to check the API's certificate with exactly one of ca_file (the "
                "cluster's /etc/pve/pve-root-ca.pem, or your CA) or fingerprint (SHA-256 of "
                "the node's certificate)"
            )
        if self.ca_file is not None:
            read_pem(self.ca_file)
        if self.shutdown_timeout < timedelta(seconds=1):
            raise ValueError("shutdown_timeout: give the guest at least 1s")
        if self.request_timeout < timedelta(seconds=1):
            raise ValueError("request_timeout: at least 1s")
        return self

    def stored(self) -> dict[str, Any]:
        """What is kept with the pool: the table as written (durations keep their units)."""
        return stored_options(self)

    def token_secret(self) -> str:
        """The token's secret, from the file or the environment; ValueError says what is wrong."""
        if self.token_secret_env is not None:
            secret = os.environ.get(self.token_secret_env, "").strip()
            if not secret:
                raise ValueError(
                    f"token_secret_env: the broker's environment has no {self.token_secret_env}"
                )
            return secret
        assert self.token_secret_file is not None
        return read_secret_file(self.token_secret_file, key="token_secret_file")


def pool_tag(pool_id: str) -> str:
    """The tag on every clone the broker made for the pool (pool ids are valid tags)."""
    return f"rubicon-pool-{pool_id}"
