"""broker_stub/backends/common.py: what the hypervisor backends share."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from broker_stub.backends import MachineMissing, MachineRef, NotSupported, RecycleMode
from broker_stub.backends.common import (
    clone_limit,
    exactly_one,
    fingerprint_of,
    hypervisor_kind,
    normal_fingerprint,
    read_pem,
    read_secret_file,
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


def whole(message: str) -> str:
    """A `match` pattern for exactly `message` (which names no secret, so none leaks)."""
    return f"^{re.escape(message)}$"


def secret_file(tmp_path: Path, data: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "secret"
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("data", "secret"),
    [
        (b"pw", "pw"),
        (b"pw\n", "pw"),
        (b"pw\r\n", "pw"),
        (b"pw\n\n", "pw"),
        (b" two words \n", " two words "),  # a password's own spaces stay
        ("p\u00e4ss\n".encode(), "p\u00e4ss"),
    ],
)
def test_read_secret_file_answers_the_one_line_without_its_ending(
    tmp_path: Path, data: bytes, secret: str
) -> None:
    assert read_secret_file(str(secret_file(tmp_path, data)), key="password_file") == secret


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_read_secret_file_takes_a_file_only_its_owner_may_use(tmp_path: Path, mode: int) -> None:
    assert read_secret_file(str(secret_file(tmp_path, b"pw\n", mode)), key="k") == "pw"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o610, 0o601])
def test_read_secret_file_refuses_a_file_others_may_use_and_says_the_mode_and_the_fix(
    tmp_path: Path, mode: int
) -> None:
    path = secret_file(tmp_path, b"hunter2\n", mode)
    said = (
        f"token_secret_file: {path} may be read by its group or others (mode {mode:04o}); "
        f"run: chmod 600 {path}, with the file owned by the broker's user"
    )
    with pytest.raises(ValueError, match=whole(said)):
        read_secret_file(str(path), key="token_secret_file")


@pytest.mark.parametrize(
    ("data", "wrong"),
    [
        (b"", "is empty; write the secret on its one line"),
        (b"\n", "is empty; write the secret on its one line"),
        (b"  \r\n", "is empty; write the secret on its one line"),
        (b"hunter2\nadmin\n", "holds more than one line; leave the secret alone on one line"),
        (b"\nhunter2\n", "holds more than one line; leave the secret alone on one line"),
        (b"hunter2\rx", "holds more than one line; leave the secret alone on one line"),
        (b"hunter2\xff\n", "is not UTF-8 text; write the secret in UTF-8"),
    ],
)
def test_read_secret_file_refuses_anything_but_one_line_and_keeps_it_out_of_the_message(
    tmp_path: Path, data: bytes, wrong: str
) -> None:
    path = secret_file(tmp_path, data)
    with pytest.raises(ValueError, match=whole(f"password_file: {path} {wrong}")):
        read_secret_file(str(path), key="password_file")


def test_read_secret_file_says_why_a_path_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    said = f"password_file: cannot read {missing}: No such file or directory; "
    with pytest.raises(ValueError, match=whole(said + "give a file the broker's user can read")):
        read_secret_file(str(missing), key="password_file")
    said = f"password_file: cannot read {tmp_path}: Is a directory; "
    with pytest.raises(ValueError, match=whole(said + "give a file the broker's user can read")):
        read_secret_file(str(tmp_path), key="password_file")


SHA256_OF_X = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


@pytest.mark.parametrize(
    "spelled",
    [
        SHA256_OF_X,
        SHA256_OF_X.upper(),
        ":".join(SHA256_OF_X[i : i + 2] for i in range(0, 64, 2)).upper(),  # openssl's
        " " + ":".join(SHA256_OF_X[i : i + 2] for i in range(0, 64, 2)) + "\n",
    ],
)
def test_normal_fingerprint_takes_colons_and_any_case_and_answers_fingerprint_of(
    spelled: str,
) -> None:
    assert normal_fingerprint(spelled) == fingerprint_of(b"x") == SHA256_OF_X


HOW = (
    "; give the SHA-256 fingerprint of the server's certificate, 32 bytes in hex with or "
    "without colons (AB:CD:...:EF), as `openssl x509 -noout -fingerprint -sha256` prints it"
)


@pytest.mark.parametrize(
    ("given", "wrong"),
    [
        (
            "AB:" * 19 + "AB",
            f"{'AB:' * 19 + 'AB'!r} has 40 hex digits, not 64 (a SHA-1 fingerprint?)",
        ),
        ("ab:cd", "'ab:cd' has 4 hex digits, not 64"),
        ("", "'' has 0 hex digits, not 64"),
        ("SHA256 Fingerprint=AB", "'SHA256 Fingerprint=AB' holds 's', which is not a hex digit"),
        ("ab" * 31 + "ag", f"{'ab' * 31 + 'ag'!r} holds 'g', which is not a hex digit"),
    ],
)
def test_normal_fingerprint_says_what_is_wrong_and_the_form_wanted(given: str, wrong: str) -> None:
    with pytest.raises(ValueError, match=whole(f"fingerprint: {wrong}{HOW}")):
        normal_fingerprint(given)
    with pytest.raises(ValueError, match=whole(f"spice_fingerprint: {wrong}{HOW}")):
        normal_fingerprint(given, key="spice_fingerprint")
