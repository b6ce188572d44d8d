"""The pools file's [pools.backend] table for Hyper-V (docs/backends.md has examples).

type = "hyperv"
host = "hv1.example.com"          # the Hyper-V host; WinRM over HTTPS on `port`
auth = "kerberos"                 # or "negotiate", "ntlm"
user = "EXAMPLE\\svc-rubicon"     # ntlm/negotiate: with password_file; kerberos: optional
password_file = "/etc/rubicon-broker/hyperv.password"  # readable by the broker only
ca_file = "/etc/rubicon-broker/hv-ca.pem"              # else the system's CAs
# Which machines: exactly one of
name_pattern = "lab-*"            # every VM whose name matches (shell-style, in Python)
[pools.backend.clones]            # or: VMs the broker makes on differencing disks
template = "win11-golden"         # a VM whose generation, memory, CPUs and switch clones copy
parent = 'D:\\Golden\\win11.vhdx' # the parent disk (default: the template's one disk)
folder = 'D:\\Rubicon\\lab'       # where the clones' differencing disks go
max = 50
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from broker_stub.backends.common import exactly_one, read_pem, read_secret_file, stored_options
from broker_stub.values.fields import Duration, NonEmpty, Port, StrictModel

WINRM_HTTPS_PORT = 5986
VMCONNECT_PORT = 2179
RDP_PORT = 3389
# Rubicon's mark in a clone's Notes; the broker deletes only VMs that carry its pool's.
MARK = "rubicon-pool:"


class CloneOptions(StrictModel):
    template: NonEmpty
    parent: NonEmpty | None = None
    folder: NonEmpty
    max: int = Field(ge=1, le=999)


class HyperVOptions(StrictModel):
    type: Literal["hyperv"] = "hyperv"
    host: NonEmpty
    port: Port = WINRM_HTTPS_PORT
    auth: Literal["negotiate", "ntlm", "kerberos"] = "negotiate"
    user: NonEmpty | None = None
    password_file: NonEmpty | None = None
    # TLS: the CA (PEM) the WinRM listener's certificate chains to; unset: the system's.
    ca_file: NonEmpty | None = None
    name_pattern: NonEmpty | None = None
    clones: CloneOptions | None = None
    # recycle = "revert" restores this checkpoint; unset: the VM's newest one.
    checkpoint: NonEmpty | None = None
    # "guest": RDP to the guest's own address; "vmconnect": the VM's console through
    # the host's VMConnect port (the user signs in to the Hyper-V host).
    console: Literal["guest", "vmconnect"] = "guest"
    rdp_port: Port = RDP_PORT
    # An orderly shutdown that takes longer than this becomes a hard power-off.
    shutdown_timeout: Duration = timedelta(seconds=60)
    # One WinRM operation (a cmdlet's answer) may take this long before the host counts as away.
    operation_timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _check(self) -> HyperVOptions:
        exactly_one("VMs", {"name_pattern": self.name_pattern, "clones": self.clones})
        if self.auth != "kerberos" and (self.user is None or self.password_file is None):
            raise ValueError(
                f"auth = {self.auth!r} needs user and password_file (a file only the broker "
                'can read); or use auth = "kerberos" with the broker\'s ticket or keytab'
            )
        if self.password_file is not None and self.user is None:
            raise ValueError("password_file needs a user to go with it")
        if self.password_file is not None:
            read_secret_file(self.password_file, key="password_file")
        if self.ca_file is not None:
            read_pem(self.ca_file)
        if self.operation_timeout < timedelta(seconds=5):
            raise ValueError("operation_timeout: give the Hyper-V host at least 5s")
        return self

    def password(self) -> SecretStr | None:
        """The password in `password_file`, read afresh; kept out of reprs."""
        if self.password_file is None:
            return None
        return SecretStr(read_secret_file(self.password_file, key="password_file"))

    def stored(self) -> dict[str, Any]:
        """What is kept with the pool: the table as written (durations keep their units)."""
        return stored_options(self)
