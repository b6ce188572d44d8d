"""LaunchPlan and the helpers every protocol shares."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.protocols import (
    Credential,
    LaunchPlan,
    RemoveCredential,
    TempFile,
    check_host,
    fd_placeholder,
    file_placeholder,
    plain_value,
    substitute,
)
from launcher.core.secret import Secret


def test_secrets_stay_out_of_repr() -> None:
    plan = LaunchPlan(
        argv=("client", "/args-from:fd:{fd:0}", "{file:0}"),
        stdin=b"stdin-secret",
        env={"VAR": "env-secret"},
        pass_fds=(b"fd-secret",),
        temp_files=(TempFile(b"file-secret", suffix=".rdp"),),
        pre_steps=(Credential("TERMSRV/h", "ann", Secret("cred-secret")),),
        post_steps=(RemoveCredential("TERMSRV/h"),),
    )
    text = repr(plan)
    for secret in ("stdin-secret", "env-secret", "fd-secret", "file-secret", "cred-secret"):
        assert secret not in text
    assert "TERMSRV/h" in text  # the non-secret parts still help when debugging


def test_a_credentials_password_must_be_a_secret() -> None:
    with pytest.raises(TypeError, match="Secret"):
        Credential("TERMSRV/h", "ann", "plain text")  # type: ignore[arg-type]


def test_plan_is_frozen_and_needs_a_program() -> None:
    plan = LaunchPlan(argv=("x",))
    with pytest.raises(AttributeError):
        plan.pass_fds = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="program"):
        LaunchPlan(argv=())


@pytest.mark.parametrize(
    ("argv", "files", "fds"),
    [
        (("c", "{file:1}"), 1, 0),
        (("c", "/args-from:fd:{fd:0}"), 0, 0),
        (("c", "{fd:2}"), 0, 2),
    ],
)
def test_placeholders_must_name_something_the_plan_has(
    argv: tuple[str, ...], files: int, fds: int
) -> None:
    with pytest.raises(ValueError, match="argv names"):
        LaunchPlan(
            argv=argv,
            temp_files=tuple(TempFile(b"") for _ in range(files)),
            pass_fds=tuple(b"" for _ in range(fds)),
        )


def test_substitute_puts_real_paths_and_numbers_in_place() -> None:
    argv = ("c", "/args-from:fd:{fd:0}", file_placeholder(1), "-x={fd:1}", "{file:0}{file:0}")
    assert substitute(argv, files=["/p/a", "/p/b"], fds=[7, 12]) == (
        "c",
        "/args-from:fd:7",
        "/p/b",
        "-x=12",
        "/p/a/p/a",
    )
    assert fd_placeholder(3) == "{fd:3}"
    with pytest.raises(ValueError, match="nothing to put"):
        substitute(("{file:0}",))


def test_launch_files_must_be_private() -> None:
    assert TempFile(b"x").mode == 0o600
    with pytest.raises(ValueError, match="readable by others"):
        TempFile(b"x", mode=0o644)
    with pytest.raises(ValueError, match="suffix"):
        TempFile(b"x", suffix="/../evil")


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "tab\there", "nul\0", "{file:0}", "x{fd:12}"])
def test_plain_value_refuses_line_breaks_controls_and_placeholders(value: str) -> None:
    with pytest.raises(ValueError, match="title"):
        plain_value(value, "title")


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.7",
        "::1",
        "fd00::5",
        "desk-1.example.com",
        "desk_2.lab",
        "a.b.c.",
        "xn--bcher-kva.ch",
    ],
)
def test_check_host_accepts_addresses_and_names(host: str) -> None:
    assert check_host(host) == host


@pytest.mark.parametrize(
    "host",
    [
        "",
        "desk 1",
        "-desk",
        "desk-.lab",
        "host:3389",
        "[::1]",
        "a/b",
        "a,b",
        "user@host",
        "bücher.ch",
        "a\nb",
        "a" * 64,
        "a..b",
        ".",
        "fe80::1%eth0",
        "::1%a b",
    ],
)
def test_check_host_refuses_anything_else(host: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        check_host(host)


@given(st.text(max_size=80))
def test_check_host_lets_through_only_plain_characters(host: str) -> None:
    try:
        check_host(host)
    except ValueError:
        return
    # What passes cannot end an argument, start an option or add a line.
    assert re.fullmatch(r"[A-Za-z0-9._:-]+", host), host
    assert not host.startswith(("-", "/", "+"))
