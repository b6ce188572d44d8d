"""argon2id hashing of user passwords."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

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


def test_no_more_hashes_at_once_than_there_are_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each argon2 verification holds 19 MiB: a storm must not run forty at once."""
    lock = threading.Lock()
    running = peak = 0

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                return super().verify(hash, password)
            finally:
                with lock:
                    running -= 1

    hashed = passwords.hash_password("pw")
    monkeypatch.setattr(passwords, "_hasher", Counting(time_cost=2, memory_cost=19456))
    workers = ThreadPoolExecutor(2)
    monkeypatch.setattr(passwords, "_workers", workers)
    start = threading.Barrier(8)

    def sign_in(_: int) -> bool:
        start.wait(timeout=30)
        return passwords.verify_password(hashed, "pw")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(sign_in, range(8)))
    finally:
        workers.shutdown()

    assert results == [True] * 8
    assert peak == 2
