"""rubicon-broker: serve, users add, and what the admin sees when things go wrong.

init and migrate have their own test modules (test_init.py, test_migrate.py).
"""

from __future__ import annotations

import getpass
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from broker_stub import cli, tls
from broker_stub.auth.users import authenticate, user_groups
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.domain.errors import InvalidCredentials
from broker_stub.settings import config_dir

from ..conftest import PoolSpec


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return feed


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def check_login(url: str, username: str, password: str) -> tuple[str, list[str]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            user = authenticate(db, username, password)
            return user.display_name, sorted(user_groups(db, user))
    finally:
        engine.dispose()


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("rubicon-broker: ")
    return lines[0]


# users add


def test_users_add_from_stdin(
    db_url: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("n3w-Passw0rd\n")

    status = cli.main(
        ["users", "add", "erin", "--display-name", "Erin Example", "--group", "ops",
         "--group", "staff", "--password-stdin", "--database-url", db_url]
    )  # fmt: skip

    assert status == 0
    out = capsys.readouterr()
    assert out.out == "Added user 'erin'.\n"
    assert "n3w-Passw0rd" not in out.out + out.err
    assert check_login(db_url, "erin", "n3w-Passw0rd") == ("Erin Example", ["ops", "staff"])


def test_users_add_again_changes_the_password(
    db_url: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("first-pw\n")
    cli.main(
        ["users", "add", "erin", "--group", "ops", "--password-stdin", "--database-url", db_url]
    )
    stdin("second-pw\r\n")

    status = cli.main(["users", "add", "erin", "--password-stdin", "--database-url", db_url])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Updated user 'erin'."
    assert check_login(db_url, "erin", "second-pw") == ("erin", ["ops"])
    with pytest.raises(InvalidCredentials):
        check_login(db_url, "erin", "first-pw")


def type_in(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Answer getpass's prompts with `answers`, in turn; the prompts it showed."""
    left: Iterator[str] = iter(answers)
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(left)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    return prompts


def test_users_add_asks_twice(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = type_in(monkeypatch, "typed-pw", "typed-pw")

    assert cli.main(["users", "add", "gina", "--database-url", db_url]) == 0
    assert len(prompts) == 2
    assert check_login(db_url, "gina", "typed-pw")[0] == "gina"


def test_users_add_asks_again_after_a_mismatch(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    type_in(monkeypatch, "one-password", "other-password", "good-password", "good-password")

    assert cli.main(["users", "add", "gina", "--database-url", db_url]) == 0

    assert capsys.readouterr().err == "The two passwords differ; try again.\n"
    assert check_login(db_url, "gina", "good-password")[0] == "gina"


def test_users_add_asks_again_for_a_short_password(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The policy: 8 characters at least by default; a shorter one is not even
    asked for twice."""
    prompts = type_in(monkeypatch, "five5", "seven-7", "eight-88", "eight-88")

    assert cli.main(["users", "add", "gina", "--database-url", db_url]) == 0

    assert prompts == ["New password for gina: "] * 3 + ["Repeat the password: "]
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [
            "The password is too short: use at least 8 characters "
            "(RUBICON_BROKER_PASSWORD_MIN_LENGTH); try again."
        ]
        * 2
    )
    assert check_login(db_url, "gina", "eight-88")[0] == "gina"


def test_users_add_gives_up_after_three_tries(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    type_in(monkeypatch, "one-password", "other-password", "short", "one-password", "other")

    assert cli.main(["users", "add", "gina", "--database-url", db_url]) == 2

    assert capsys.readouterr().err.splitlines()[-1] == (
        "rubicon-broker: no usable password after 3 tries; nothing changed"
    )
    assert not (tmp_path / "cli.sqlite3").exists()  # nothing was touched


def test_users_add_short_password_from_stdin(
    db_url: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("five5\n")

    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", db_url]) == 2
    assert one_error_line(capsys) == (
        "rubicon-broker: the password is too short: use at least 8 characters "
        "(RUBICON_BROKER_PASSWORD_MIN_LENGTH); nothing changed"
    )


def test_the_minimum_password_length_is_a_setting(
    db_url: str, stdin: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUBICON_BROKER_PASSWORD_MIN_LENGTH", "12")
    stdin("eleven-1234\n")
    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", db_url]) == 2

    monkeypatch.setenv("RUBICON_BROKER_PASSWORD_MIN_LENGTH", "5")
    stdin("five5\n")
    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", db_url]) == 0
    assert check_login(db_url, "erin", "five5")[0] == "erin"


def test_users_add_empty_password(
    db_url: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("\n")

    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", db_url]) == 2
    assert "empty" in one_error_line(capsys)


@pytest.mark.parametrize("name", ["two words", "tab\there", "x" * 129])
def test_users_add_bad_name(
    db_url: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    stdin("pw\n")

    assert cli.main(["users", "add", name, "--password-stdin", "--database-url", db_url]) == 2
    assert "username" in one_error_line(capsys)


def test_users_add_database_unreachable(
    tmp_path: Path, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("long-enough-pw\n")
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}"

    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", url]) == 2
    line = one_error_line(capsys)
    assert "cannot use the database" in line
    assert "unable to open database file" in line


def test_database_password_is_masked_in_errors(
    stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("long-enough-pw\n")
    url = "postgresql+nosuchdriver://rubicon:Db-s3cret@localhost/rubicon"

    assert cli.main(["users", "add", "erin", "--password-stdin", "--database-url", url]) == 2
    line = one_error_line(capsys)
    assert "Db-s3cret" not in line
    assert "rubicon:***@localhost" in line


# serve


@pytest.fixture
def certificate(tmp_path: Path) -> tls.Certificate:
    return tls.create(tmp_path / "tls", ["broker.test"])


def tls_args(cert: tls.Certificate) -> list[str]:
    return ["--tls-cert", str(cert.cert), "--tls-key", str(cert.key)]


def test_serve_runs_uvicorn_on_the_app_over_tls(
    write_config: Callable[..., Path],
    db_url: str,
    certificate: tls.Certificate,
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    config = write_config()

    status = cli.main(
        ["serve", "--config", str(config), "--port", "8123", "--database-url", db_url,
         "--log-level", "warning", *tls_args(certificate)]
    )  # fmt: skip

    assert status == 0
    ((app, options),) = uvicorn_calls
    assert isinstance(app, FastAPI)
    assert options["host"] == "127.0.0.1"
    assert options["port"] == 8123
    assert options["log_config"] is None
    assert options["ssl_certfile"] == certificate.cert
    assert options["ssl_keyfile"] == certificate.key
    assert app.state.settings.config == config
    assert app.state.settings.database_url == db_url


def test_serve_uses_what_init_made(
    write_config: Callable[..., Path],
    db_url: str,
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert cli.main(["init"]) == 0
    fingerprint = capsys.readouterr().out.splitlines()[-2].strip()

    args = ["serve", "--config", str(write_config()), "--database-url", db_url, "--host", "::"]
    assert cli.main(args) == 0

    ((_app, options),) = uvicorn_calls
    assert options["ssl_certfile"] == config_dir() / "cert.pem"
    assert options["ssl_keyfile"] == config_dir() / "key.pem"
    assert fingerprint in caplog.text  # the admin can compare it with what users see


def test_serve_insecure_http_from_environment(
    write_config: Callable[..., Path],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("RUBICON_BROKER_CONFIG", str(write_config()))
    monkeypatch.setenv("RUBICON_BROKER_DATABASE_URL", db_url)
    monkeypatch.setenv("RUBICON_BROKER_INSECURE_HTTP", "true")

    assert cli.main(["serve"]) == 0
    ((_app, options),) = uvicorn_calls
    assert options["ssl_certfile"] is None
    assert options["ssl_keyfile"] is None


def test_serve_without_a_certificate_says_run_init(
    write_config: Callable[..., Path],
    tmp_path: Path,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    assert cli.main(["serve", "--config", str(write_config()), "--database-url", db_url]) == 2

    line = one_error_line(capsys)
    assert f"no TLS certificate at {config_dir() / 'cert.pem'}" in line
    assert "`rubicon-broker init`" in line
    assert uvicorn_calls == []
    assert not (tmp_path / "cli.sqlite3").exists()  # checked before the database


def test_serve_with_a_key_of_another_certificate(
    write_config: Callable[..., Path],
    tmp_path: Path,
    db_url: str,
    certificate: tls.Certificate,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    other = tls.create(tmp_path / "other", ["other.test"])
    args = ["serve", "--config", str(write_config()), "--database-url", db_url]

    assert cli.main([*args, "--tls-cert", str(certificate.cert), "--tls-key", str(other.key)]) == 2

    assert "belong together" in one_error_line(capsys)
    assert uvicorn_calls == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "broker.example.com"])
def test_serve_refuses_plain_http_beyond_loopback(
    write_config: Callable[..., Path],
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
    host: str,
) -> None:
    args = ["serve", "--config", str(write_config()), "--host", host, "--database-url", db_url]

    assert cli.main([*args, "--insecure-http"]) == 2

    line = one_error_line(capsys)
    assert f"refusing to serve plain HTTP on {host}" in line
    assert "rubicon-broker init" in line
    assert uvicorn_calls == []


def test_serve_insecure_http_and_tls_files_contradict(
    write_config: Callable[..., Path],
    db_url: str,
    certificate: tls.Certificate,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    args = ["serve", "--config", str(write_config()), "--database-url", db_url]

    assert cli.main([*args, "--insecure-http", *tls_args(certificate)]) == 2
    assert "contradict" in one_error_line(capsys)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert cli.is_loopback(host)


def test_serve_bad_config_names_file_and_key(
    write_config: Callable[..., Path],
    pools: list[PoolSpec],
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[tuple[Any, dict[str, Any]]],
) -> None:
    pools[0]["machines"][1]["port"] = 0
    config = write_config(pools)

    args = ["serve", "--config", str(config), "--database-url", db_url, "--insecure-http"]
    assert cli.main(args) == 2

    assert one_error_line(capsys) == (
        f"rubicon-broker: {config}: pools.0.machines.1.port: must be 1-65535"
    )
    assert uvicorn_calls == []


def test_serve_without_config_serves_the_pools_in_the_database(
    db_url: str, caplog: pytest.LogCaptureFixture, uvicorn_calls: list[Any]
) -> None:
    # `apply` and the admin API manage the pools of such a site.
    assert cli.main(["serve", "--database-url", db_url, "--insecure-http"]) == 0

    assert len(uvicorn_calls) == 1
    assert "no pools file given" in caplog.text


def test_serve_database_unreachable(
    write_config: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[Any],
) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}"
    args = ["serve", "--config", str(write_config()), "--database-url", url, "--insecure-http"]

    assert cli.main(args) == 2
    assert "cannot use the database" in one_error_line(capsys)
    assert uvicorn_calls == []


def test_serve_bad_setting_from_environment(
    write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[Any],
) -> None:
    monkeypatch.setenv("RUBICON_BROKER_PORT", "eighty")

    assert cli.main(["serve", "--config", str(write_config())]) == 2
    assert "port" in one_error_line(capsys)


# help


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["init", "migrate", "serve", "users", "demo", "example:"]),
        (["serve"], ["--config FILE", "HTTPS", "--tls-cert FILE", "--insecure-http", "example:"]),
        (["serve"], ["--workers N", "RUBICON_BROKER_WORKERS", "--workers 8"]),
        (["init"], ["--hostname NAME", "--force", "fingerprint", "example:"]),
        (["migrate"], ["--database-url URL", "example:"]),
        (["users", "add"], ["--password-stdin", "--group G", "examples:"]),
    ],
)
def test_help(argv: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main([*argv, "--help"])

    assert caught.value.code == 0
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_demo_command_is_wired() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["demo", "--no-launcher"])
    assert callable(args.func)


def test_runs_as_a_module() -> None:
    # `rubicon-broker demo` starts the broker this way.
    result = subprocess.run(
        [sys.executable, "-m", "broker_stub.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rubicon-broker ")
