from __future__ import annotations

import pytest

from launcher.core.signin import account_name, caps_lock_from_key, clean_otp


def test_account_name_puts_the_domain_in_front() -> None:
    assert account_name("ann", "") == "ann"
    assert account_name(" ann ", " CORP ") == "CORP\\ann"
    assert account_name("OTHER\\ann", "CORP") == "OTHER\\ann"
    assert account_name("ann@corp.example", "CORP") == "ann@corp.example"


@pytest.mark.parametrize(
    ("typed", "code"), [("123456", "123456"), ("123 456", "123456"), ("12-34-56", "123456")]
)
def test_clean_otp(typed: str, code: str) -> None:
    assert clean_otp(typed) == code


@pytest.mark.parametrize("typed", ["", "12345", "abcdef", "1234567890"])
def test_clean_otp_refuses(typed: str) -> None:
    with pytest.raises(ValueError, match="6-digit code"):
        clean_otp(typed)


@pytest.mark.parametrize(
    ("text", "shift", "on"),
    [
        ("a", False, False),
        ("A", True, False),
        ("A", False, True),
        ("a", True, True),
        ("é", False, False),
        ("É", False, True),
        ("1", False, None),
        ("!", True, None),
        ("", False, None),
        ("中", False, None),
    ],
)
def test_caps_lock_from_one_key(text: str, shift: bool, on: bool | None) -> None:
    assert caps_lock_from_key(text, shift) is on
