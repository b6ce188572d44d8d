"""The Hyper-V backend against recorded exchanges (tests/data/hyperv/exchanges.xml).

No Hyper-V host exists here: each test names the exchanges it expects, in
order, and the replaying runner fails on any statement that is not the next
one recorded, so the PowerShell each action sends is checked exactly. The
answers are CLIXML shaped from Microsoft's documentation, read with pypsrp's
deserializer as in production.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_stub.backends.base import (
    BackendError,
    Console,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    SnapshotMissing,
    StorageFull,
)
from broker_stub.backends.hyperv.backend import HyperVBackend, best_address
from broker_stub.backends.hyperv.options import HyperVOptions
from broker_stub.backends.hyperv.runner import CallTimedOut
from tests.helpers.hyperv import Replay, exchanges

LAB1_ID = "6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51"
LAB1 = MachineRef(pool_id="lab", name="lab-1", host="", ports={})
VDI1 = MachineRef(pool_id="vdi", name="vdi-001", host="", ports={})
API_TESTS = Path(__file__).parents[4] / "e2e" / "test_hyperv_api.py"
CLONES = {"template": "win11-golden", "folder": "D:\\Rubicon\\vdi\\", "max": 5}


def backend(*ids: str, pool: str = "lab", **options: Any) -> tuple[HyperVBackend, Replay]:
    table = {"host": "hv1.example.com", "auth": "kerberos", **options}
    if "clones" not in table:
        table.setdefault("name_pattern", "lab-*")
    replay = Replay(ids)
    return HyperVBackend(pool, HyperVOptions.model_validate(table), replay), replay


@pytest.fixture(autouse=True)
def _all_used() -> Iterator[None]:
    made: list[Replay] = []
    original = Replay.__init__

    def remember(self: Replay, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    Replay.__init__ = remember  # type: ignore[method-assign]
    try:
        yield
    finally:
        Replay.__init__ = original  # type: ignore[method-assign]
    for replay in made:
        assert replay.left() == [], "recorded exchanges never asked for"
        assert replay.unexpected == []


# --- finding machines ----------------------------------------------------------------


def test_check_reaches_the_host() -> None:
    hv, _ = backend("host")
    hv.check()


def test_a_pattern_pool_finds_its_vms_by_name_and_reads_their_state() -> None:
    hv, _ = backend("list")
    assert hv.discover() == {"lab-1": PowerState.STOPPED, "lab-2": PowerState.RUNNING}


def test_a_clone_pool_finds_only_vms_marked_for_it() -> None:
    hv, _ = backend("list-clones", pool="vdi", clones=CLONES)
    # vdi-002 says rubicon-pool:other on its second line; win11-golden has no mark.
    assert hv.discover() == {"vdi-001": PowerState.STOPPED}


@pytest.mark.parametrize(
    ("exchange", "state"),
    [
        ("find-lab-1-off", PowerState.STOPPED),
        ("find-lab-1-running", PowerState.RUNNING),
        ("find-lab-1-saved", PowerState.SUSPENDED),
        ("find-lab-1-paused", PowerState.SUSPENDED),
        ("find-lab-1-starting", PowerState.RUNNING),
    ],
)
def test_power_state(exchange: str, state: PowerState) -> None:
    hv, _ = backend(exchange)
    assert hv.power_state(LAB1) == state


def test_a_missing_vm_is_machine_missing() -> None:
    hv, _ = backend("find-lab-9-missing")
    with pytest.raises(MachineMissing, match='unable to find a virtual machine with name "lab-9"'):
        hv.power_state(MachineRef(pool_id="lab", name="lab-9", host="", ports={}))


def test_two_vms_of_one_name_are_refused_not_guessed() -> None:
    hv, _ = backend("find-lab-1-twice")
    with pytest.raises(BackendError, match="2 VMs called 'lab-1'; rename all but one"):
        hv.power_on(LAB1, "rdp")


# --- power -------------------------------------------------------------------------------


def test_power_on_starts_a_stopped_vm_then_waits_for_the_guests_address() -> None:
    hv, replay = backend(
        "find-lab-1-off",
        "start-lab-1",
        "find-lab-1-running",
        "addresses-lab-1-none",
        "find-lab-1-running",
        "addresses-lab-1",
    )
    assert hv.power_on(LAB1, "rdp") == Power(running=False, retry_after=1)
    assert hv.power_on(LAB1, "rdp") == Power(running=False, retry_after=2)
    assert hv.power_on(LAB1, "rdp") == Power(running=True)
    assert replay.timeouts == [30.0] * 6  # operation_timeout


@pytest.mark.parametrize(
    ("ids", "running"),
    [
        (("find-lab-1-saved", "start-lab-1"), False),
        (("find-lab-1-paused", "resume-lab-1"), False),
        (("find-lab-1-starting",), False),
    ],
)
def test_power_on_from_other_states(ids: tuple[str, ...], running: bool) -> None:
    hv, _ = backend(*ids)
    assert hv.power_on(LAB1, "rdp").running is running


def test_a_vmconnect_pool_does_not_wait_for_the_guests_address() -> None:
    hv, _ = backend("find-lab-1-running", console="vmconnect")
    assert hv.power_on(LAB1, "rdp") == Power(running=True)


def test_a_start_that_fails_says_why() -> None:
    hv, _ = backend("find-lab-1-off", "start-lab-1-no-memory")
    with pytest.raises(BackendError) as failed:
        hv.power_on(LAB1, "rdp")
    assert type(failed.value) is BackendError
    assert str(failed.value) == (
        "the Hyper-V host hv1.example.com cannot start lab-1: 'lab-1' could not initialize. "
        "Not enough memory in the system to start the virtual machine lab-1. "
        "(OperationFailed,Microsoft.HyperV.PowerShell.Commands.StartVM)"
    )


def test_power_off_is_orderly_with_the_shutdown_timeout() -> None:
    hv, replay = backend("find-lab-1-running", "shut-down-lab-1", shutdown_timeout="45s")
    hv.power_off(LAB1)
    assert replay.timeouts == [30.0, 45.0]


def test_a_refused_shutdown_becomes_a_turn_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rubicon")
    hv, _ = backend("find-lab-1-running", "shut-down-lab-1-refused", "turn-off-lab-1")
    hv.power_off(LAB1)
    assert "lab-1 did not shut down" in caplog.text
    assert "Shutdown integration service" in caplog.text


def test_a_shutdown_that_takes_too_long_becomes_a_turn_off() -> None:
    hv, replay = backend("find-lab-1-running", "turn-off-lab-1")
    real_run = replay.run

    def slow(statements: Any, *, timeout: float) -> list[Any]:
        if (
            statements[0][-1].cmdlet == "Stop-VM"
            and ("TurnOff", True) not in statements[0][-1].parameters
        ):
            replay.sent.append("(timed out)")
            raise CallTimedOut("did not finish Stop-VM within 60s; it was stopped")
        return real_run(statements, timeout=timeout)

    replay.run = slow  # type: ignore[method-assign]
    hv.power_off(LAB1)
    assert replay.sent[1] == "(timed out)"
    assert "Stop-VM -TurnOff -Force" in replay.sent[2]


def test_a_host_gone_during_the_shutdown_is_not_asked_to_turn_off() -> None:
    hv, replay = backend("find-lab-1-running")
    real_run = replay.run

    def then_away(statements: Any, *, timeout: float) -> list[Any]:
        found = real_run(statements, timeout=timeout)
        replay.away = True
        return found

    replay.run = then_away  # type: ignore[method-assign]
    with pytest.raises(HypervisorUnavailable) as away:
        hv.power_off(LAB1)
    assert type(away.value) is HypervisorUnavailable
    assert len(replay.sent) == 2
    assert replay.sent[1].endswith("| Stop-VM -Force")


def test_power_off_leaves_an_off_vm_alone_and_turns_off_a_saved_one() -> None:
    hv, _ = backend("find-lab-1-off")
    hv.power_off(LAB1)
    hv, _ = backend("find-lab-1-saved", "turn-off-lab-1")
    hv.power_off(LAB1)


def test_reset_is_restart_vm_and_restart_is_shutdown_then_start() -> None:
    hv, _ = backend("find-lab-1-running", "reset-lab-1")
    hv.reset(LAB1)
    hv, _ = backend("find-lab-1-running", "shut-down-lab-1", "start-lab-1")
    hv.restart(LAB1)


# --- recycle ------------------------------------------------------------------------------


def test_revert_restores_the_newest_checkpoint() -> None:
    hv, _ = backend("find-lab-1-running", "checkpoints-lab-1", "restore-lab-1-updated")
    hv.recycle(LAB1, RecycleMode.REVERT)


def test_revert_restores_the_named_checkpoint() -> None:
    hv, _ = backend(
        "find-lab-1-running", "checkpoints-lab-1", "restore-lab-1-clean", checkpoint="clean"
    )
    hv.recycle(LAB1, RecycleMode.REVERT)


@pytest.mark.parametrize(
    ("ids", "checkpoint", "said"),
    [
        (("checkpoints-lab-1-none",), None, "lab-1 has no checkpoint to restore"),
        (("checkpoints-lab-1",), "gone", "lab-1 has no checkpoint 'gone' to restore"),
    ],
)
def test_revert_without_the_checkpoint_is_snapshot_missing(
    ids: tuple[str, ...], checkpoint: str | None, said: str
) -> None:
    extra = {"checkpoint": checkpoint} if checkpoint else {}
    hv, _ = backend("find-lab-1-running", *ids, **extra)
    with pytest.raises(SnapshotMissing, match=said):
        hv.recycle(LAB1, RecycleMode.REVERT)


def test_recycle_power_off_and_none() -> None:
    hv, _ = backend("find-lab-1-running", "shut-down-lab-1")
    hv.recycle(LAB1, RecycleMode.POWEROFF)
    hv.recycle(LAB1, RecycleMode.NONE)  # nothing sent


def test_a_pattern_pool_neither_makes_nor_rebuilds() -> None:
    hv, _ = backend()
    with pytest.raises(NotSupported):
        hv.provision("lab-3")
    with pytest.raises(NotSupported):
        hv.recycle(LAB1, RecycleMode.REBUILD)


# --- clones -------------------------------------------------------------------------------

MAKE = (
    "template",
    "disks-template",
    "addresses-template",
    "find-vdi-001-missing",
    "disk-vdi-001-absent",
    "new-disk-vdi-001",
    "new-vm-vdi-001",
)
DESTROY = (
    "find-vdi-001-running",
    "disks-vdi-001",
    "turn-off-vdi-001",
    "remove-vdi-001",
    "remove-disk-vdi-001-as-reported",
)


def test_a_clone_is_a_differencing_disk_and_a_vm_shaped_like_the_template() -> None:
    hv, replay = backend(*MAKE, pool="vdi", clones=CLONES)
    hv.provision("vdi-001")
    assert "-ParentPath 'D:\\Golden\\win11.vhdx' -Differencing" in replay.sent[5]


def test_a_named_parent_disk_is_used_as_it_is() -> None:
    clones = CLONES | {"parent": "D:\\Golden\\win11.vhdx"}
    ids = [i for i in MAKE if i != "disks-template"]
    hv, _ = backend(*ids, pool="vdi", clones=clones)
    hv.provision("vdi-001")


def test_leftovers_of_a_clone_are_removed_first() -> None:
    ids = list(MAKE)
    where = ids.index("find-vdi-001-missing")
    ids[where : where + 2] = [*DESTROY, "disk-vdi-001-present", "remove-disk-vdi-001"]
    hv, _ = backend(*ids, pool="vdi", clones=CLONES)
    hv.provision("vdi-001")


def test_a_full_disk_is_storage_full() -> None:
    ids = [*MAKE[:-2], "new-disk-vdi-001-full"]
    hv, _ = backend(*ids, pool="vdi", clones=CLONES)
    with pytest.raises(StorageFull, match="not enough space on the disk"):
        hv.provision("vdi-001")


def test_a_vm_that_cannot_be_made_takes_its_new_disk_with_it() -> None:
    ids = [*MAKE[:-1], "new-vm-vdi-001-fails", "remove-disk-vdi-001"]
    hv, _ = backend(*ids, pool="vdi", clones=CLONES)
    with pytest.raises(BackendError, match="Failed to create a new virtual machine"):
        hv.provision("vdi-001")


def test_a_missing_template_says_so() -> None:
    hv, _ = backend("template-missing", pool="vdi", clones=CLONES)
    with pytest.raises(MachineMissing, match="win11-golden"):
        hv.provision("vdi-001")


def test_destroy_removes_the_vm_and_its_own_disk_only() -> None:
    hv, replay = backend(*DESTROY, pool="vdi", clones=CLONES)
    hv.destroy(VDI1)
    # The path as Hyper-V reported it (other case), never the parent.
    assert replay.sent[-1] == "Remove-Item -LiteralPath 'd:\\rubicon\\VDI\\vdi-001.vhdx' -Force"


def test_destroy_refuses_a_vm_another_pool_or_a_person_made() -> None:
    hv, _ = backend("find-vdi-002-foreign", pool="vdi", clones=CLONES)
    with pytest.raises(BackendError, match="'vdi-002' belongs to pool 'other'"):
        hv.destroy(MachineRef(pool_id="vdi", name="vdi-002", host="", ports={}))


def test_rebuild_is_destroy_then_make() -> None:
    hv, _ = backend(*DESTROY, *MAKE, pool="vdi", clones=CLONES)
    hv.recycle(VDI1, RecycleMode.REBUILD)


# --- consoles -----------------------------------------------------------------------------


def test_the_guest_console_is_rdp_to_its_ipv4_address() -> None:
    hv, _ = backend("find-lab-1-running", "addresses-lab-1", rdp_port=3390)
    assert hv.console(LAB1, "rdp") == Console(host="192.0.2.21", port=3390)


def test_the_vmconnect_console_is_the_hosts_port_2179_with_the_vm_id() -> None:
    hv, _ = backend("find-lab-1-running", console="vmconnect")
    console = hv.console(LAB1, "rdp")
    assert console == Console(host="hv1.example.com", port=2179, vmconnect=LAB1_ID)
    assert console.probe_address == ("hv1.example.com", 2179)
    assert hv.console_password(LAB1, "rdp").password is None


def test_no_address_yet_is_no_console() -> None:
    hv, _ = backend("find-lab-1-running", "addresses-lab-1-none")
    with pytest.raises(NoConsole, match="integration services"):
        hv.console(LAB1, "rdp")


@pytest.mark.parametrize("protocol", ["vnc", "spice"])
def test_vnc_and_spice_are_no_console(protocol: str) -> None:
    hv, _ = backend()
    with pytest.raises(NoConsole, match=f"not {protocol}"):
        hv.console(LAB1, protocol)


def test_addresses_ipv4_first_never_link_local() -> None:
    assert best_address(["fe80::1", "2001:db8::5", "192.0.2.9"]) == "192.0.2.9"
    assert best_address(["fe80::1", "2001:db8::5"]) == "2001:db8::5"
    assert best_address(["169.254.3.4", "fe80::1", "garbage"]) is None


# --- errors -------------------------------------------------------------------------------


def test_access_denied_names_the_group() -> None:
    hv, _ = backend("host-denied")
    with pytest.raises(BackendError) as failed:
        hv.check()
    assert type(failed.value) is BackendError
    assert "does not let the broker's account reach the host" in str(failed.value)
    assert "local group 'Hyper-V Administrators'" in str(failed.value)


def test_a_host_without_the_hyperv_module_says_what_to_install() -> None:
    hv, _ = backend("host-no-module")
    with pytest.raises(BackendError, match="Install-WindowsFeature Hyper-V-PowerShell"):
        hv.check()


def test_an_unreachable_host_is_hypervisor_unavailable() -> None:
    hv, replay = backend()
    replay.away = True
    with pytest.raises(HypervisorUnavailable):
        hv.check()


def test_every_recorded_exchange_is_used_by_some_test() -> None:
    tests = Path(__file__).read_text() + API_TESTS.read_text()
    assert [i for i in exchanges() if f'"{i}"' not in tests] == []
