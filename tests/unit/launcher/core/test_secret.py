from __future__ import annotations

import copy
import pickle

import pytest

from launcher.core.secret import Secret, SecretCleared


def test_reveal_then_clear_zeroes_the_bytes() -> None:
    secret = Secret("pässword")
    held = secret._data  # the one long-lived copy
    assert held is not None
    assert secret.reveal() == "pässword"
    secret.clear()
    assert secret.cleared
    assert held == bytearray(len("pässword".encode()))
    with pytest.raises(SecretCleared):
        secret.reveal()
    secret.clear()  # twice is fine


def test_never_shown_copied_or_pickled() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    for attempt in (lambda: pickle.dumps(secret), lambda: copy.copy(secret)):
        with pytest.raises(TypeError):
            attempt()
    with pytest.raises(TypeError):
        copy.deepcopy({"s": secret})
    secret.clear()
    assert repr(secret) == "Secret(cleared)"
