"""The environment for ``python -m launcher`` run as a program, away from the user's files.

Used by the start-up tests and by benchmarks/launcher_startup.py.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_env(folder: Path) -> dict[str, str]:
    """Offscreen Qt; every per-user folder inside ``folder``; no system config; no keychain."""
    env = dict(os.environ)
    # A first start writes the .pyc files a real install has; a
    # PYTHONDONTWRITEBYTECODE inherited from the shell would have every module
    # changed since its last .pyc compiled again at each start instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        (folder / var.lower()).mkdir(mode=0o700, parents=True, exist_ok=True)
        env[var] = str(folder / var.lower())
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env["RUBICON_SYSTEM_CONFIG"] = str(folder / "no-system-config.toml")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env
