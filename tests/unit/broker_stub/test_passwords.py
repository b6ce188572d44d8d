"""argon2id hashing of user passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from broker_stub.auth import passwords


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    hashed = passwords.hash_password("correct horse")

    assert hashed.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in hashed
    assert "correct horse" not in hashed


def test_verify() -> None:
    hashed = passwords.hash_password("correct horse")

    assert passwords.verify_password(hashed, "correct horse")
    assert not passwords.verify_password(hashed, "correct horsE")
    assert not passwords.verify_password(hashed, "")


def test_same_password_hashes_differently() -> None:
    assert passwords.hash_password("pw") != passwords.hash_password("pw")


def test_garbage_hash_does_not_verify() -> None:
    assert not passwords.verify_password("not-a-hash", "pw")
    assert not passwords.verify_password("", "pw")


def test_weaker_hash_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")

    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("pw"))


def test_burn_verification_runs_a_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append((password_hash, password))
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)

    passwords.burn_verification("guess")

    assert len(calls) == 1
    assert calls[0][0].startswith("$argon2id$")
    assert calls[0][1] == "guess"
