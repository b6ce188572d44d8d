"""``rubicon --kiosk``, ``[kiosk] enabled`` and ``rubicon --hash-pin`` as programs.

Each run is a real ``python -m launcher`` process on the offscreen platform,
with its own config folders, stopped by its PID with a timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from launcher.core.kiosk import check_pin
from tests.helpers.e2e import wait_for

ROOT = Path(__file__).resolve().parents[2]


def environment(tmp_path: Path, system_config: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    config = tmp_path / "rubicon.toml"
    if system_config is not None:
        config.write_text(system_config)
    env["RUBICON_SYSTEM_CONFIG"] = str(config)
    return env


def rubicon(*args: str) -> list[str]:
    return [sys.executable, "-m", "launcher", *args]


def test_hash_pin_prints_a_hash_of_the_pin_from_a_pipe(tmp_path: Path) -> None:
    result = subprocess.run(
        rubicon("--hash-pin"),
        input="2468\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path),
        check=True,
    )
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert check_pin(hashed, "2468")
    assert "2468" not in result.stdout.replace(hashed, "")


@pytest.mark.parametrize("pin", ["12", "abcd", ""])
def test_hash_pin_refuses_what_is_not_a_pin(tmp_path: Path, pin: str) -> None:
    result = subprocess.run(
        rubicon("--hash-pin"),
        input=pin + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path),
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "4 to 12 digits" in result.stderr


@pytest.mark.parametrize(
    ("args", "system_config"),
    [
        (["--kiosk", "--server", "http://127.0.0.1:9"], None),
        ([], '[kiosk]\nenabled = true\nserver = "http://127.0.0.1:9"\n'),
    ],
)
def test_kiosk_mode_starts_from_the_flag_or_the_system_config(
    tmp_path: Path, args: list[str], system_config: str | None
) -> None:
    result = subprocess.run(
        rubicon(*args, "--exit-when-shown", "--log-dir", str(tmp_path / "logs")),
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path, system_config),
        check=True,
    )
    assert result.stdout.startswith("shown ")
    assert "started in kiosk mode (broker http://127.0.0.1:9)" in result.stderr


def test_sigterm_ends_a_kiosk_that_refuses_to_close(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    env = environment(tmp_path, '[kiosk]\nenabled = true\nserver = "http://127.0.0.1:9"\n')
    with (tmp_path / "out").open("wb") as out:
        proc = subprocess.Popen(rubicon("--log-dir", str(log_dir)), env=env, stdout=out, stderr=out)
    try:
        printed = tmp_path / "out"
        wait_for(
            lambda: "started in kiosk mode" in printed.read_text(errors="replace"),
            30,
            "the kiosk to start",
            process=proc,
            output=printed,
        )
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
