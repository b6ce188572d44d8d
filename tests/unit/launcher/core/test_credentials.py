"""The keyring wrapper against an in-memory backend, and against none."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail

from launcher.core import credentials


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_remember_recall_forget(memory: MemoryKeyring) -> None:
    credentials.remember(server="https://b.test:443", username="ann", password="s3cret")
    assert memory.entries == {("rubicon:https://b.test:443", "ann"): "s3cret"}
    assert credentials.recall(server="https://b.test:443", username="ann") == "s3cret"
    assert credentials.recall(server="https://other:443", username="ann") is None
    credentials.forget(server="https://b.test:443", username="ann")
    assert memory.entries == {}
    credentials.forget(server="https://b.test:443", username="ann")  # twice is fine


def test_no_keychain_is_said_plainly_and_never_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(credentials.CredentialStoreError, match="could not save your password"):
            credentials.remember(server="https://b", username="ann", password="s3cret")
        assert credentials.recall(server="https://b", username="ann") is None
    finally:
        keyring.set_keyring(previous)
    assert "s3cret" not in caplog.text


def test_without_a_keychain_there_is_nothing_to_forget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with caplog.at_level("INFO", logger="rubicon"):
            credentials.forget(server="https://b", username="ann")  # no error
    finally:
        keyring.set_keyring(previous)
    assert not [r for r in caplog.records if r.levelno >= 30]


def test_a_keychain_that_refuses_to_forget_says_so() -> None:
    class Locked(MemoryKeyring):
        def delete_password(self, service: str, username: str) -> None:
            raise keyring.errors.KeyringLocked("locked")

    previous = keyring.get_keyring()
    keyring.set_keyring(Locked())
    try:
        with pytest.raises(credentials.CredentialStoreError, match="could not remove"):
            credentials.forget(server="https://b", username="ann")
    finally:
        keyring.set_keyring(previous)


def test_suite_never_touches_the_real_keychain() -> None:
    # tests/conftest.py points keyring at its null backend for every test.
    assert type(keyring.get_keyring()).__module__ == "keyring.backends.null"
