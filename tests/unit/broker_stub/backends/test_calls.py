"""Calls: each pool's backend on threads of its own, a timeout per call, health."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import pytest

from broker_stub import waits
from broker_stub.backends import (
    BackendError,
    Busy,
    Calls,
    Console,
    ConsoleTicket,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    Power,
    PowerState,
    RecycleMode,
)
from broker_stub.backends import calls as calls_module

REF = MachineRef(pool_id="p", name="m1", host="127.0.0.1", ports={"vnc": 5901})


class Hypervisor:
    """A backend whose calls do what the test says: answer, fail, or hang until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.hang = False
        self.fail: BaseException | None = None
        self.calls: list[str] = []
        self.timeouts = {"power_state": 0.2, "check": 0.2}

    def _act(self, name: str) -> None:
        self.calls.append(name)
        if self.hang:
            self.release.wait(10)
        if self.fail is not None:
            raise self.fail

    def check(self) -> None:
        self._act("check")

    def discover(self) -> Mapping[str, PowerState]:
        self._act("discover")
        return {"m1": PowerState.RUNNING}

    def power_state(self, machine: MachineRef) -> PowerState:
        self._act("power_state")
        return PowerState.RUNNING

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        self._act("power_on")
        return Power(running=True)

    def power_off(self, machine: MachineRef) -> None:
        self._act("power_off")

    def reset(self, machine: MachineRef) -> None:
        self._act("reset")

    def restart(self, machine: MachineRef) -> None:
        self._act("restart")

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        self._act("recycle")

    def provision(self, name: str) -> None:
        self._act("provision")

    def destroy(self, machine: MachineRef) -> None:
        self._act("destroy")

    def console(self, machine: MachineRef, protocol: str) -> Console:
        self._act("console")
        return Console(host="127.0.0.1", port=5901)

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        self._act("console_password")
        return ConsoleTicket(password="pw")

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def hypervisor() -> Iterator[Hypervisor]:
    hypervisor = Hypervisor()
    yield hypervisor
    hypervisor.release.set()


@pytest.fixture
def health() -> list[tuple[str, str | None]]:
    return []


@pytest.fixture
def calls(hypervisor: Hypervisor, health: list[tuple[str, str | None]]) -> Iterator[Calls]:
    made = Calls("p", hypervisor, on_health=lambda *args: health.append(args), workers=2, waiting=0)
    yield made
    hypervisor.release.set()
    made.close()


def test_every_call_reaches_the_backend_on_another_thread(
    calls: Calls, hypervisor: Hypervisor
) -> None:
    callers: list[str] = []
    hypervisor.check = lambda: callers.append(threading.current_thread().name)  # type: ignore[method-assign]

    calls.check()
    assert calls.discover() == {"m1": PowerState.RUNNING}
    assert calls.power_on(REF, "vnc") == Power(running=True)
    calls.power_off(REF)
    calls.reset(REF)
    calls.restart(REF)
    calls.recycle(REF, RecycleMode.REVERT)
    calls.provision("m2")
    calls.destroy(REF)
    assert calls.console(REF, "vnc") == Console(host="127.0.0.1", port=5901)
    assert calls.console_password(REF, "vnc").password == "pw"

    assert callers[0].startswith("rubicon-backend-p")
    assert hypervisor.calls == [
        "discover",
        "power_on",
        "power_off",
        "reset",
        "restart",
        "recycle",
        "provision",
        "destroy",
        "console",
        "console_password",
    ]


def test_a_hung_call_times_out_and_keeps_only_its_own_thread(
    calls: Calls, hypervisor: Hypervisor
) -> None:
    hypervisor.hang = True

    with pytest.raises(HypervisorUnavailable, match=r"did not answer power_state within 0\.2s"):
        calls.power_state(REF)
    with pytest.raises(HypervisorUnavailable, match=r"did not answer power_state within 0\.2s"):
        calls.power_state(REF)
    # Both workers hang: with no room to wait behind them, the next call fails at once.
    with pytest.raises(Busy, match="2 calls to its hypervisor are under way, as many as it may"):
        calls.power_state(REF)

    hypervisor.hang = False
    hypervisor.release.set()
    # Once the hypervisor lets go, the threads are free again.
    for _ in range(50):
        try:
            calls.check()
            break
        except Busy:  # the hung calls' threads are not free yet
            threading.Event().wait(0.05)
    assert calls.degraded is None


def test_three_failures_in_a_row_degrade_the_pool_once(
    calls: Calls, hypervisor: Hypervisor, health: list[tuple[str, str | None]]
) -> None:
    hypervisor.fail = HypervisorUnavailable("connection refused")

    for _ in range(calls_module.FAILURES_TO_DEGRADE):
        with pytest.raises(HypervisorUnavailable, match="connection refused"):
            calls.power_on(REF, "vnc")

    assert health == [("p", "connection refused")]
    assert calls.degraded == "connection refused"
    # Degraded: calls fail at once, without bothering the hypervisor.
    asked = len(hypervisor.calls)
    with pytest.raises(HypervisorUnavailable, match=r"pool p is degraded \(connection refused\)"):
        calls.console(REF, "vnc")
    assert len(hypervisor.calls) == asked
    # Only the scheduler's check goes through; when it works, the pool recovers.
    with pytest.raises(HypervisorUnavailable):
        calls.check()
    hypervisor.fail = None
    calls.check()

    assert health == [("p", "connection refused"), ("p", None)]
    assert calls.power_on(REF, "vnc") == Power(running=True)


def test_errors_about_a_machine_are_not_the_hypervisors_fault(
    calls: Calls, hypervisor: Hypervisor, health: list[tuple[str, str | None]]
) -> None:
    hypervisor.fail = MachineMissing("no domain 'm1'")

    for _ in range(5):
        with pytest.raises(MachineMissing):
            calls.power_on(REF, "vnc")

    assert health == []
    assert calls.degraded is None


def test_a_fault_in_the_backends_own_code_is_a_backend_error(
    calls: Calls, hypervisor: Hypervisor, caplog: pytest.LogCaptureFixture
) -> None:
    hypervisor.fail = KeyError("graphics")

    with pytest.raises(BackendError, match="power_on failed: KeyError: 'graphics'"):
        calls.power_on(REF, "vnc")

    assert "pool p: power_on raised" in caplog.text
    assert "Traceback" in caplog.text


class Place:
    """A waits.Hook that records when its place is given back and taken again."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def leave(self) -> bool:
        self.events.append("leave")
        return True

    def back(self) -> None:
        self.events.append("back")


def test_a_caller_steps_out_of_the_gate_while_it_waits_for_a_slow_call(
    calls: Calls, hypervisor: Hypervisor
) -> None:
    place = Place()

    def slow_power_on(*_: object) -> Power:
        place.events.append("call starts")
        threading.Event().wait(0.3)
        place.events.append("call ends")
        return Power(running=True)

    hypervisor.power_on = slow_power_on  # type: ignore[method-assign]
    token = waits.install(place)
    try:
        calls.power_on(REF, "vnc")
        calls.console(REF, "vnc")  # quick: no need to step out
    finally:
        waits.uninstall(token)

    assert place.events == ["call starts", "leave", "call ends", "back"]


def test_closing_closes_the_backend_and_later_calls_fail(
    calls: Calls, hypervisor: Hypervisor
) -> None:
    calls.close()

    assert hypervisor.calls == ["close"]
    with pytest.raises(HypervisorUnavailable, match="the broker is stopping"):
        calls.check()


def test_calls_has_every_method_of_the_backend_protocol() -> None:
    from broker_stub.backends import Backend

    wanted = {n for n in dir(Backend) if not n.startswith("_")}
    assert wanted <= set(dir(Calls))


def test_inline_calls_run_on_the_callers_thread_and_still_count_for_health(
    hypervisor: Hypervisor, health: list[tuple[str, str | None]], caplog: pytest.LogCaptureFixture
) -> None:
    hypervisor.runs_inline = lambda call, machine: call in ("console", "check")  # type: ignore[attr-defined]
    made = Calls("p", hypervisor, on_health=lambda *args: health.append(args), workers=1, waiting=0)
    threads: list[str] = []

    def console(machine: MachineRef, protocol: str) -> Console:
        threads.append(threading.current_thread().name)
        return Console(host="h", port=1)

    def check() -> None:
        raise TimeoutError("socket")

    hypervisor.console = console  # type: ignore[method-assign]
    hypervisor.check = check  # type: ignore[method-assign]
    try:
        assert made.console(REF, "vnc") == Console(host="h", port=1)
        assert threads == [threading.current_thread().name]

        # A fault is still the backend's, and timeouts from its own code are faults too.
        for _ in range(calls_module.FAILURES_TO_DEGRADE):
            with pytest.raises(BackendError, match="check failed: TimeoutError: socket"):
                made.check()
        assert health == [("p", "check raised TimeoutError")]
        with pytest.raises(HypervisorUnavailable, match="pool p is degraded"):
            made.console(REF, "vnc")
        assert "pool p: check raised" in caplog.text
    finally:
        made.close()


@pytest.mark.parametrize(
    ("call", "mac", "inline"),
    [
        ("console", "52:54:00:00:00:01", True),
        ("console_password", None, True),
        ("check", None, True),
        ("power_on", None, True),
        # It probes the host and may send a Wake-on-LAN packet: a thread and a timeout.
        ("power_on", "52:54:00:00:00:01", False),
        ("power_state", None, False),
        ("reset", None, False),
        ("restart", None, False),
    ],
)
def test_the_static_backend_runs_inline_only_what_the_pools_file_answers(
    call: str, mac: str | None, inline: bool
) -> None:
    from broker_stub.backends.static import StaticBackend, StaticOptions

    backend = StaticBackend(StaticOptions.from_json({}))
    machine = MachineRef(pool_id="p", name="m1", host="127.0.0.1", ports={"vnc": 5901}, mac=mac)
    assert backend.runs_inline(call, machine if call != "check" else None) is inline
