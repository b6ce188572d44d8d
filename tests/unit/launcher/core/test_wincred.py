"""The TERMSRV credential for mstsc, written and read back through a stand-in for
pywin32's win32cred that keeps credentials as Windows does (tests/helpers/fake_wincred)."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from launcher.core import wincred
from launcher.core.protocols import Credential, RemoveCredential
from launcher.core.secret import Secret
from launcher.core.wincred import CredentialError
from tests.helpers.fake_wincred import CRED_TYPE_GENERIC, FakeVault, error


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("ann", "s3cret pw"),
        ("CORP\\ann", "pa ss:wörd!"),
        ("ann@corp.example", "😀 outside the BMP €"),
        ("ann", ""),
    ],
)
def test_store_writes_a_session_domain_credential_read_back_field_by_field(
    username: str, password: str
) -> None:
    vault = FakeVault()
    secret = Secret(password)
    wincred.store("TERMSRV/10.0.0.8", username, secret, api=vault.api)
    stored = vault.store["TERMSRV/10.0.0.8", 2]
    units = len(password.encode("utf-16-le")) // 2
    assert (
        stored.flags,
        stored.type,
        stored.target,
        stored.username,
        stored.blob_size,
        stored.password,
        stored.persist,
        stored.attributes,
        stored.target_alias,
        stored.write_flags,
    ) == (
        0,
        2,  # CRED_TYPE_DOMAIN_PASSWORD
        "TERMSRV/10.0.0.8",
        username,
        2 * units,  # bytes, no terminator
        password,
        1,  # CRED_PERSIST_SESSION
        (),
        None,
        0,
    )
    assert stored.comment == wincred.COMMENT
    assert stored.blob == password.encode("utf-16-le")
    assert not secret.cleared  # the owner (the supervisor) clears it


def test_a_refused_write_raises_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    vault = FakeVault(write_error=1312)  # ERROR_NO_SUCH_LOGON_SESSION
    with pytest.raises(CredentialError) as caught:
        wincred.store("TERMSRV/desk-1", "ann", Secret("pw-never-shown"), api=vault.api)
    assert caught.value.message == (
        "Windows did not store the sign-in for TERMSRV/desk-1 (this sign-in session cannot "
        "hold credentials; a policy may forbid saving them)."
    )
    assert caught.value.hint == "Remote Desktop Connection will ask for the password instead."
    assert "pw-never-shown" not in str(caught.value) + caplog.text
    cause = caught.value.__cause__
    assert isinstance(cause, error)
    assert (cause.winerror, cause.funcname) == (1312, "CredWrite")
    assert vault.calls == [("read", "TERMSRV/desk-1"), ("write", "TERMSRV/desk-1")]
    assert vault.entries == {}


def test_a_user_name_windows_refuses_is_named_in_the_reason() -> None:
    vault = FakeVault(write_error=2202)  # ERROR_BAD_USERNAME
    with pytest.raises(CredentialError) as caught:
        wincred.store("TERMSRV/desk-1", "ann", Secret("pw"), api=vault.api)
    assert caught.value.message == (
        "Windows did not store the sign-in for TERMSRV/desk-1 "
        "(it takes the user name only as DOMAIN\\user or user@domain)."
    )


@pytest.mark.parametrize(
    ("too_long", "longest"),
    [
        ("x" * 1281, "x" * 1280),  # 2560 bytes: the limit
        ("😀" * 641, "😀" * 640),  # two UTF-16 units each
    ],
)
def test_a_password_too_long_for_windows_is_refused_before_the_call(
    too_long: str, longest: str
) -> None:
    vault = FakeVault()
    with pytest.raises(CredentialError, match="too long"):
        wincred.store("TERMSRV/h", "ann", Secret(too_long), api=vault.api)
    assert ("write", "TERMSRV/h") not in vault.calls
    wincred.store("TERMSRV/h", "ann", Secret(longest), api=vault.api)
    assert vault.entries["TERMSRV/h"].blob_size == 2560


def test_remove_deletes_the_domain_credential_and_says_if_it_was_there() -> None:
    vault = FakeVault()
    wincred.store("TERMSRV/10.0.0.8", "ann", Secret("pw"), api=vault.api)
    assert wincred.remove("TERMSRV/10.0.0.8", api=vault.api) is True
    assert vault.entries == {}
    assert wincred.remove("TERMSRV/10.0.0.8", api=vault.api) is False  # ERROR_NOT_FOUND
    assert vault.calls == [
        ("read", "TERMSRV/10.0.0.8"),  # whose is it? nobody's
        ("write", "TERMSRV/10.0.0.8"),
        ("read", "TERMSRV/10.0.0.8"),  # ours, by its comment
        ("delete", "TERMSRV/10.0.0.8"),
        ("read", "TERMSRV/10.0.0.8"),  # gone: nothing to delete
    ]


def test_a_refused_delete_says_how_to_remove_it_by_hand() -> None:
    vault = FakeVault(delete_error=5)  # ERROR_ACCESS_DENIED
    wincred.store("TERMSRV/desk-1", "ann", Secret("pw"), api=vault.api)
    with pytest.raises(CredentialError) as caught:
        wincred.remove("TERMSRV/desk-1", api=vault.api)
    assert caught.value.message == (
        "Windows did not remove the sign-in for TERMSRV/desk-1 (Windows error 5)."
    )
    assert "cmdkey /delete:TERMSRV/desk-1" in caught.value.hint


def test_run_step_does_a_plans_steps() -> None:
    vault = FakeVault()
    wincred.run_step(Credential("TERMSRV/h", "CORP\\ann", Secret("pw")), api=vault.api)
    assert vault.entries["TERMSRV/h"].username == "CORP\\ann"
    wincred.run_step(RemoveCredential("TERMSRV/h"), api=vault.api)
    assert vault.entries == {}


def test_a_credential_the_user_saved_is_used_and_never_replaced_or_deleted() -> None:
    vault = FakeVault()
    vault.save_as_user("TERMSRV/10.0.0.8", "CORP\\ann")
    secret = Secret("from-rubicon")
    assert wincred.store("TERMSRV/10.0.0.8", "CORP\\ann", secret, api=vault.api) is False
    assert wincred.remove("TERMSRV/10.0.0.8", api=vault.api) is False
    kept = vault.entries["TERMSRV/10.0.0.8"]
    assert (kept.password, kept.persist) == ("mine", 2)
    assert [kind for kind, _ in vault.calls] == ["read", "read"]


def test_a_generic_credential_of_the_user_is_another_one_and_kept() -> None:
    # cmdkey /generic:TERMSRV/h: Windows keeps it apart from the domain one.
    vault = FakeVault()
    vault.save_as_user("TERMSRV/h", "ann", type_=CRED_TYPE_GENERIC)
    assert wincred.store("TERMSRV/h", "ann", Secret("pw"), api=vault.api) is True
    assert vault.store.keys() == {("TERMSRV/h", CRED_TYPE_GENERIC), ("TERMSRV/h", 2)}
    assert wincred.remove("TERMSRV/h", api=vault.api) is True
    assert vault.store.keys() == {("TERMSRV/h", CRED_TYPE_GENERIC)}
    assert vault.store["TERMSRV/h", CRED_TYPE_GENERIC].password == "mine"


def test_one_rubicon_left_behind_is_replaced_and_removed() -> None:
    vault = FakeVault()
    vault.save_as_user("TERMSRV/10.0.0.8", "ann", comment=wincred.COMMENT)  # a crash's leftover
    assert wincred.store("TERMSRV/10.0.0.8", "ann", Secret("new pw"), api=vault.api) is True
    assert vault.entries["TERMSRV/10.0.0.8"].password == "new pw"
    assert wincred.remove("TERMSRV/10.0.0.8", api=vault.api) is True
    assert vault.entries == {}


def test_when_windows_will_not_say_whose_it_is_rubicon_still_cleans_up() -> None:
    vault = FakeVault(read_error=5)  # ERROR_ACCESS_DENIED on CredRead
    assert wincred.store("TERMSRV/h", "ann", Secret("pw"), api=vault.api) is True
    assert wincred.remove("TERMSRV/h", api=vault.api) is True
    assert vault.entries == {}


@pytest.mark.parametrize(
    ("target", "username"),
    [
        ("TERMSRV/h\0x", "ann"),
        ("TERMSRV/h", "a\0b"),
        ("T" * 338, "ann"),
        ("TERMSRV/h", "u" * 514),
    ],
)
def test_text_windows_would_cut_or_refuse_is_refused(target: str, username: str) -> None:
    vault = FakeVault()
    with pytest.raises(CredentialError, match="cannot store this sign-in"):
        wincred.run_step(Credential(target, username, Secret("pw")), api=vault.api)
    assert vault.calls == []


def test_removing_a_target_windows_would_cut_is_refused_too() -> None:
    vault = FakeVault()
    with pytest.raises(CredentialError, match="cannot store this sign-in"):
        wincred.run_step(RemoveCredential("TERMSRV/h\0x"), api=vault.api)
    assert vault.calls == []


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_off_windows_nothing_is_loaded_and_the_step_fails_plainly() -> None:
    wincred.windows_api.cache_clear()
    with pytest.raises(CredentialError, match="only be stored on Windows"):
        wincred.run_step(RemoveCredential("TERMSRV/h"))
    assert "win32cred" not in sys.modules


def test_on_windows_pywin32s_modules_are_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    win32cred = types.ModuleType("win32cred")
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.error = error  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "win32cred", win32cred)
    monkeypatch.setitem(sys.modules, "pywintypes", pywintypes)
    monkeypatch.setattr(sys, "platform", "win32")
    wincred.windows_api.cache_clear()
    try:
        assert wincred.windows_api() == wincred.Api(win32cred=win32cred, error=error)
    finally:
        wincred.windows_api.cache_clear()
