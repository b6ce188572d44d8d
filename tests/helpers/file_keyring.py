"""A keyring backend in a JSON file: remember me for ``python -m launcher`` run as a program.

The program is pointed at it with ``PYTHON_KEYRING_BACKEND`` (this class) and
``RUBICON_TEST_KEYRING`` (the file); :func:`write` fills the file beforehand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors

BACKEND = "tests.helpers.file_keyring.FileKeyring"
ENV = "RUBICON_TEST_KEYRING"


def write(path: Path, entries: dict[tuple[str, str], str]) -> None:
    path.write_text(json.dumps([[s, u, p] for (s, u), p in entries.items()]))
    path.chmod(0o600)


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _entries(self) -> dict[tuple[str, str], str]:
        path = Path(os.environ[ENV])
        rows = json.loads(path.read_text()) if path.exists() else []
        return {(s, u): p for s, u, p in rows}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._entries()
        entries[(service, username)] = password
        write(Path(os.environ[ENV]), entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._entries()
        if entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")
        write(Path(os.environ[ENV]), entries)
