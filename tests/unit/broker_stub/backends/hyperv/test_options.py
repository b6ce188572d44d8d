"""The pools file's [pools.backend] table for Hyper-V, through the registry's kind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broker_stub.backends.base import Context, RecycleMode, Shared
from broker_stub.backends.hyperv.backend import HyperVBackend
from broker_stub.backends.hyperv.options import HyperVOptions
from broker_stub.backends.hyperv.runner import PsrpRunner
from broker_stub.backends.registry import find_kind

SECRET = "Winrm-Secret-7"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "hyperv.password"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def table(**keys: Any) -> dict[str, Any]:
    return {"host": "hv1.example.com", "auth": "kerberos", "name_pattern": "lab-*", **keys}


def test_a_kerberos_pool_needs_no_password_and_keeps_its_defaults() -> None:
    kind = find_kind("hyperv")
    stored = kind.options(table())
    assert stored == {  # the pools file's loader keeps `type` beside these
        "host": "hv1.example.com",
        "auth": "kerberos",
        "name_pattern": "lab-*",
        "shutdown_timeout": "60s",
        "operation_timeout": "30s",
    }
    options = HyperVOptions.model_validate(stored)
    assert (options.port, options.console, options.rdp_port, options.ca_file) == (
        5986,
        "guest",
        3389,
        None,
    )
    assert kind.recycle_modes == frozenset(RecycleMode)
    assert kind.discovers
    assert kind.clone_limit(stored) is None
    clones = kind.options(
        {k: v for k, v in table().items() if k != "name_pattern"}
        | {"clones": {"template": "golden", "folder": "D:\\VMs", "max": 7}}
    )
    assert kind.clone_limit(clones) == 7


def test_the_kind_makes_one_runner_per_host_and_account() -> None:
    kind, shared = find_kind("hyperv"), Shared()
    one = kind.create(kind.options(table()), Context(pool_id="a", shared=shared))
    two = kind.create(kind.options(table(name_pattern="x-*")), Context(pool_id="b", shared=shared))
    other = kind.create(kind.options(table(host="hv2")), Context(pool_id="c", shared=shared))
    assert isinstance(one, HyperVBackend)
    assert isinstance(one._runner, PsrpRunner)
    assert one._runner is two._runner
    assert other._runner is not one._runner
    shared.close()


def test_ntlm_reads_the_password_from_a_private_file(password_file: Path) -> None:
    options = HyperVOptions.model_validate(
        table(auth="ntlm", user="HV1\\svc-rubicon", password_file=str(password_file))
    )
    password = options.password()
    assert password is not None
    assert password.get_secret_value() == SECRET
    assert SECRET not in repr(options)
    assert SECRET not in repr(password)
    assert SECRET not in str(options.stored())


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ({"auth": "ntlm"}, "auth = 'ntlm' needs user and password_file"),
        ({"auth": "negotiate", "user": "u"}, "needs user and password_file"),
        ({"name_pattern": None}, "exactly one of name_pattern or [pools.backend.clones]"),
        ({"auth": "basic"}, "Input should be 'negotiate', 'ntlm' or 'kerberos'"),
        ({"console": "vnc"}, "Input should be 'guest' or 'vmconnect'"),
        ({"port": 70000}, "must be 1-65535"),
        ({"operation_timeout": "2s"}, "at least 5s"),
        ({"cert_validation": False}, "Extra inputs are not permitted"),
        ({"password": "x"}, "Extra inputs are not permitted"),
        ({"ca_file": "/nonexistent/ca.pem"}, "ca_file: cannot read /nonexistent/ca.pem"),
    ],
)
def test_mistakes_are_refused_with_what_to_fix(keys: dict[str, Any], said: str) -> None:
    given = {k: v for k, v in (table() | keys).items() if v is not None}
    with pytest.raises((ValidationError, ValueError), match=re.escape(said)):
        find_kind("hyperv").options(given)


def test_a_password_file_others_can_read_is_refused(password_file: Path) -> None:
    password_file.chmod(0o644)
    with pytest.raises(ValidationError) as exposed:
        HyperVOptions.model_validate(table(auth="ntlm", user="u", password_file=str(password_file)))
    message = str(exposed.value)
    assert (
        f"password_file: {password_file} may be read by its group or others (mode 0644); "
        f"run: chmod 600 {password_file}"
    ) in message
    assert SECRET not in message


def test_a_ca_file_must_hold_a_certificate(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hello\n")
    with pytest.raises(ValidationError, match="holds no PEM certificate"):
        HyperVOptions.model_validate(table(ca_file=str(not_pem)))
