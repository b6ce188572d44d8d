"""The pools file's [pools.backend] table for vSphere (docs/backends.md has examples).

type = "vsphere"
url = "https://vcenter.example.com"      # vCenter, or a single ESXi host
user = "svc-rubicon@vsphere.local"
password_file = "/etc/rubicon/vcenter.password"   # the password alone, 0600, the broker's
fingerprint = "AB:CD:..."                 # SHA-256 of the server's certificate, or
ca_file = "/etc/rubicon/vcenter-ca.pem"   # the CA it chains to (unset: the system's CAs)
# Which VMs: exactly one of
folder = "DC1/vm/Lab"                     # every VM under this inventory folder
resource_pool = "DC1/host/Cluster1/Resources/Lab"
name_pattern = "lab-*"                    # every VM whose name matches (shell-style)
tagged = true                             # every VM whose extraConfig rubicon.pool names the pool
[pools.backend.clones]                    # or: linked clones the broker makes itself
template = "win11-golden"                 # the parent VM, with a snapshot
max = 50
"""

from __future__ import annotations

import ssl
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ByteSize, Field, field_validator, model_validator

from broker_stub.backends.common import (
    exactly_one,
    normal_fingerprint,
    read_secret_file,
    stored_options,
)
from broker_stub.values.fields import Duration, NonEmpty, Port, StrictModel

# ESXi's firewall opens 5900-5964 for the gdbserver/VNC rule ("vnc" in older releases).
DEFAULT_VNC_PORTS = (5900, 5964)


class CloneOptions(StrictModel):
    # The parent VM the clones' disks are children of, and its snapshot (unset: current).
    template: NonEmpty
    snapshot: NonEmpty | None = None
    # Where clones go; unset: the template's own folder, resource pool and datastore.
    folder: NonEmpty | None = None
    resource_pool: NonEmpty | None = None
    datastore: NonEmpty | None = None
    max: int = Field(ge=1, le=999)
    # No clone is made while the datastore has less room than this.
    min_free: ByteSize = ByteSize(10 << 30)


class VsphereOptions(StrictModel):
    type: Literal["vsphere"] = "vsphere"
    url: NonEmpty
    user: NonEmpty
    password_file: NonEmpty
    fingerprint: NonEmpty | None = None
    ca_file: NonEmpty | None = None
    folder: NonEmpty | None = None
    resource_pool: NonEmpty | None = None
    name_pattern: NonEmpty | None = None
    tagged: bool = False
    clones: CloneOptions | None = None
    # recycle = "revert" goes back to this snapshot; unset: the VM's current one.
    snapshot: NonEmpty | None = None
    # An orderly guest shutdown (VMware Tools) that takes longer becomes a hard power-off.
    shutdown_timeout: Duration = timedelta(seconds=60)
    # Longest wait for one vSphere task (power, revert, clone, delete).
    task_timeout: Duration = timedelta(minutes=5)
    # VNC consoles get a port from this range on their host, first and last included.
    vnc_ports: list[Port] = Field(default=list(DEFAULT_VNC_PORTS), min_length=2, max_length=2)
    rdp_port: Port = 3389
    # Where launchers reach a host's VNC consoles, by the host's name in vSphere
    # (unset: the name itself, which vCenter usually holds as the host's DNS name).
    host_addresses: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        return None if value is None else normal_fingerprint(value)

    @model_validator(mode="after")
    def _check(self) -> VsphereOptions:
        exactly_one(
            "VMs",
            {
                "folder": self.folder,
                "resource_pool": self.resource_pool,
                "name_pattern": self.name_pattern,
                "tagged": self.tagged,
                "clones": self.clones,
            },
        )
        where = urlsplit(self.url)
        if where.scheme != "https" or not where.hostname:
            raise ValueError(
                f"url: {self.url!r} is not an https:// URL of a vCenter or ESXi host; "
                "the broker talks to vSphere over TLS only"
            )
        if self.fingerprint is not None and self.ca_file is not None:
            raise ValueError("give fingerprint or ca_file, not both")
        if self.ca_file is not None:
            check_ca(self.ca_file)
        first, last = self.vnc_ports
        if first > last:
            raise ValueError(f"vnc_ports: {first} comes after {last}; give [first, last]")
        if self.shutdown_timeout < timedelta(0) or self.task_timeout < timedelta(seconds=10):
            raise ValueError("task_timeout: give vSphere at least 10s per task")
        read_secret_file(self.password_file, key="password_file")
        return self

    @property
    def sdk_url(self) -> str:
        """The SOAP endpoint: the URL's path, or /sdk."""
        where = urlsplit(self.url)
        return f"https://{where.netloc}{where.path if where.path not in ('', '/') else '/sdk'}"

    def stored(self) -> dict[str, Any]:
        """What is kept with the pool: the table as written (durations keep their units)."""
        return stored_options(self)


def check_ca(path: str) -> None:
    """ValueError unless OpenSSL reads CA certificates from `path` (as the broker will)."""
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"ca_file: no CA certificate can be read from {path}: {exc}") from None
