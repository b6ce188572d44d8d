"""The pools file's [pools.backend] table for libvirt (docs/backends.md has examples).

type = "libvirt"
uri = "qemu+ssh://rubicon@kvm1.example.com/system"
address = "kvm1.example.com"   # where launchers reach consoles that listen on 0.0.0.0
# Which domains: exactly one of
domains = ["lab-a", "lab-b"]   # these
name_pattern = "lab-*"         # every domain whose name matches (shell-style)
tagged = true                  # every domain with Rubicon's metadata naming this pool
[pools.backend.clones]         # or: machines the broker makes itself
template = "win11-golden"      # a defined domain whose configuration clones copy
image = "win11-golden.qcow2"   # their disks' backing volume (default: the template's disk)
storage_pool = "default"
max = 50
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ByteSize, Field, model_validator

from broker_stub.backends.common import exactly_one, read_pem, stored_options
from broker_stub.values.fields import Duration, NonEmpty, StrictModel


class CloneOptions(StrictModel):
    template: NonEmpty
    image: NonEmpty | None = None
    storage_pool: NonEmpty = "default"
    max: int = Field(ge=1, le=999)
    # No clone is made while the storage pool has less room than this.
    min_free: ByteSize = ByteSize(1 << 30)


class LibvirtOptions(StrictModel):
    type: Literal["libvirt"] = "libvirt"
    uri: NonEmpty
    address: NonEmpty | None = None
    domains: list[NonEmpty] | None = None
    name_pattern: NonEmpty | None = None
    tagged: bool = False
    clones: CloneOptions | None = None
    # recycle = "revert" goes back to this snapshot; unset: the domain's current one.
    snapshot: NonEmpty | None = None
    # An orderly shutdown that takes longer than this becomes a hard power-off.
    shutdown_timeout: Duration = timedelta(seconds=60)
    # How long a one-time console password works.
    console_ttl: Duration = timedelta(seconds=60)
    # SPICE over TLS: the CA (PEM) the hypervisor's SPICE certificates chain to,
    # readable on every broker node, and the subject they carry (optional).
    spice_ca_file: NonEmpty | None = None
    spice_host_subject: NonEmpty | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> LibvirtOptions:
        exactly_one(
            "domains",
            {
                "domains": self.domains,
                "name_pattern": self.name_pattern,
                "tagged": self.tagged,
                "clones": self.clones,
            },
        )
        if self.console_ttl < timedelta(seconds=10):
            raise ValueError("console_ttl: give a launcher at least 10s to connect")
        if self.spice_ca_file is not None:
            read_ca(self.spice_ca_file)
        return self

    @property
    def remote_host(self) -> str | None:
        """The hypervisor's host name from the URI; None for a local one."""
        return urlsplit(self.uri).hostname or None

    def stored(self) -> dict[str, Any]:
        """What is kept with the pool: the table as written (durations keep their units)."""
        return stored_options(self)


def read_ca(path: str) -> str:
    """The SPICE CA's PEM certificate(s); ValueError naming spice_ca_file if there are none."""
    return read_pem(path, key="spice_ca_file")
