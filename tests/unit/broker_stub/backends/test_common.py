"""broker_stub/backends/common.py: what the hypervisor backends share."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from broker_stub.backends import MachineMissing, MachineRef, NotSupported, RecycleMode
from broker_stub.backends.common import (
    clone_limit,
    exactly_one,
    hypervisor_kind,
    read_pem,
    recycle,
    stored_options,
)
from broker_stub.values.fields import Duration, NonEmpty, StrictModel

DESK = MachineRef(pool_id="lab", name="desk-1", host="h", ports={})


class Recorder:
    """A backend that notes the calls a recycle makes; `missing`: destroy finds nothing."""

    name = "acme"

    def __init__(self, *, missing: bool = False) -> None:
        self.calls: list[str] = []
        self.missing = missing

    def power_off(self, machine: MachineRef) -> None:
        self.calls.append(f"power_off {machine.name}")

    def destroy(self, machine: MachineRef) -> None:
        self.calls.append(f"destroy {machine.name}")
        if self.missing:
            raise MachineMissing(machine.name)

    def provision(self, name: str) -> None:
        self.calls.append(f"provision {name}")

    def revert(self) -> None:
        self.calls.append("revert")


@pytest.mark.parametrize(
    ("mode", "calls"),
    [
        (RecycleMode.NONE, []),
        (RecycleMode.POWEROFF, ["power_off desk-1"]),
        (RecycleMode.REVERT, ["revert"]),
        (RecycleMode.REBUILD, ["destroy desk-1", "provision desk-1"]),
    ],
)
def test_recycle_does_what_the_mode_says(mode: RecycleMode, calls: list[str]) -> None:
    backend = Recorder()
    recycle(backend, DESK, mode, revert=backend.revert, clones=True)
    assert backend.calls == calls


def test_a_rebuild_of_a_machine_already_gone_makes_it_afresh() -> None:
    backend = Recorder(missing=True)
    recycle(backend, DESK, RecycleMode.REBUILD, revert=backend.revert, clones=True)
    assert backend.calls == ["destroy desk-1", "provision desk-1"]


def test_a_rebuild_without_clones_is_not_supported_and_touches_nothing() -> None:
    backend = Recorder()
    with pytest.raises(NotSupported, match=r"acme backend cannot rebuild .*clones"):
        recycle(backend, DESK, RecycleMode.REBUILD, revert=backend.revert, clones=False)
    assert backend.calls == []


def test_exactly_one_passes_one_and_names_what_was_given_otherwise() -> None:
    exactly_one("VMs", {"name_pattern": "lab-*", "tagged": False, "clones": None})
    with pytest.raises(ValueError, match="exactly one of") as none:
        exactly_one("domains", {"domains": None, "tagged": False, "clones": None})
    assert str(none.value) == (
        "say which domains are the pool's with exactly one of domains, tagged = true or "
        "[pools.backend.clones]; this table has 0"
    )
    with pytest.raises(ValueError, match=r"this table has 2 \(name_pattern, tagged\)$"):
        exactly_one("VMs", {"name_pattern": "lab-*", "tagged": True})


class Table(StrictModel):
    name: NonEmpty
    wait: Duration = timedelta(seconds=60)
    other: Duration = timedelta(minutes=5)


def test_stored_options_keep_every_duration_in_seconds_and_other_keys_as_written() -> None:
    table = Table.model_validate({"name": "x", "other": "2m"})
    assert stored_options(table) == {"name": "x", "wait": "60s", "other": "120s"}
    assert Table.model_validate(stored_options(table)) == table


def test_clone_limit_is_the_clones_max_or_none() -> None:
    assert clone_limit({"clones": {"template": "t", "max": 7}}) == 7
    assert clone_limit({"name_pattern": "lab-*"}) is None


def test_a_hypervisor_kind_discovers_and_recycles_every_way() -> None:
    kind = hypervisor_kind("acme", options=dict, create=lambda stored, context: Recorder())
    assert (kind.name, kind.discovers, kind.recycle_modes) == ("acme", True, frozenset(RecycleMode))
    assert kind.clone_limit({"clones": {"max": 3}}) == 3


def test_read_pem_names_the_key_and_the_path(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
    assert read_pem(str(pem)).startswith("-----BEGIN CERTIFICATE-----")
    pem.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=rf"^spice_ca_file: {pem} holds no PEM certificate$"):
        read_pem(str(pem), key="spice_ca_file")
    with pytest.raises(ValueError, match=r"^ca_file: cannot read .*missing\.pem"):
        read_pem(str(tmp_path / "missing.pem"))
