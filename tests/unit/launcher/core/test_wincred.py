"""The TERMSRV credential for mstsc: CREDENTIALW built with ctypes and read back
through CFUNCTYPE stand-ins for CredWriteW and CredDeleteW (tests/helpers/fake_wincred)."""

from __future__ import annotations

import ctypes
import logging
import sys

import pytest

from launcher.core import wincred
from launcher.core.protocols import Credential, RemoveCredential
from launcher.core.secret import Secret
from launcher.core.wincred import CREDENTIALW, CredentialError
from tests.helpers.fake_wincred import FakeVault

# wincred.h's CREDENTIALW on 64-bit Windows: (field, offset); 80 bytes in all.
WINDOWS_X64_LAYOUT = [
    ("Flags", 0),
    ("Type", 4),
    ("TargetName", 8),
    ("Comment", 16),
    ("LastWritten", 24),
    ("CredentialBlobSize", 32),
    ("CredentialBlob", 40),
    ("Persist", 48),
    ("AttributeCount", 52),
    ("Attributes", 56),
    ("TargetAlias", 64),
    ("UserName", 72),
]


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the 64-bit layout")
def test_the_structure_has_windows_x64_layout() -> None:
    assert [(name, getattr(CREDENTIALW, name).offset) for name, _ in WINDOWS_X64_LAYOUT] == (
        WINDOWS_X64_LAYOUT
    )
    assert ctypes.sizeof(CREDENTIALW) == 80


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
    stored = vault.entries["TERMSRV/10.0.0.8"]
    units = len(password.encode("utf-16-le")) // 2
    assert (
        stored.flags,
        stored.type,
        stored.target,
        stored.username,
        stored.blob_size,
        stored.password,
        stored.persist,
        stored.attribute_count,
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
        0,
        None,
        None,
        0,
    )
    assert stored.comment == wincred.COMMENT
    assert stored.blob == password.encode("utf-16-le")
    if password:
        assert vault.wiped()  # the buffer that carried it holds zeros now
    assert not secret.cleared  # the owner (the supervisor) clears it


def test_a_refused_write_raises_without_the_password_and_wipes_the_buffer(
    caplog: pytest.LogCaptureFixture,
) -> None:
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
    assert vault.calls == [("read", "TERMSRV/desk-1"), ("write", "TERMSRV/desk-1")]
    assert vault.wiped()
    assert vault.entries == {}


def test_a_user_name_windows_refuses_is_named_in_the_reason() -> None:
    vault = FakeVault(write_error=2202)  # ERROR_BAD_USERNAME
    with pytest.raises(CredentialError) as caught:
        wincred.store("TERMSRV/desk-1", "ann", Secret("pw"), api=vault.api)
    assert caught.value.message == (
        "Windows did not store the sign-in for TERMSRV/desk-1 "
        "(it takes the user name only as DOMAIN\\user or user@domain)."
    )


def test_a_password_too_long_for_windows_is_refused_before_the_call() -> None:
    vault = FakeVault()
    with pytest.raises(CredentialError, match="too long"):
        wincred.store("TERMSRV/h", "ann", Secret("x" * 1281), api=vault.api)
    assert ("write", "TERMSRV/h") not in vault.calls
    wincred.store("TERMSRV/h", "ann", Secret("x" * 1280), api=vault.api)  # 2560 bytes: the limit
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
    assert vault.outstanding() == 0  # every CredReadW answer went back to CredFree


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
    assert vault.outstanding() == 0


def test_one_rubicon_left_behind_is_replaced_and_removed() -> None:
    vault = FakeVault()
    vault.save_as_user("TERMSRV/10.0.0.8", "ann", comment=wincred.COMMENT)  # a crash's leftover
    assert wincred.store("TERMSRV/10.0.0.8", "ann", Secret("new pw"), api=vault.api) is True
    assert vault.entries["TERMSRV/10.0.0.8"].password == "new pw"
    assert wincred.remove("TERMSRV/10.0.0.8", api=vault.api) is True
    assert vault.entries == {}


def test_when_windows_will_not_say_whose_it_is_rubicon_still_cleans_up() -> None:
    vault = FakeVault(read_error=5)  # ERROR_ACCESS_DENIED on CredReadW
    assert wincred.store("TERMSRV/h", "ann", Secret("pw"), api=vault.api) is True
    assert wincred.remove("TERMSRV/h", api=vault.api) is True
    assert vault.entries == {}


@pytest.mark.parametrize(
    ("target", "username"), [("TERMSRV/h\0x", "ann"), ("TERMSRV/h", "a\0b"), ("T" * 338, "ann")]
)
def test_text_windows_would_cut_or_refuse_is_refused(target: str, username: str) -> None:
    vault = FakeVault()
    with pytest.raises(CredentialError, match="cannot store this sign-in"):
        wincred.run_step(Credential(target, username, Secret("pw")), api=vault.api)
    assert vault.calls == []


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_off_windows_nothing_is_loaded_and_the_step_fails_plainly() -> None:
    with pytest.raises(CredentialError, match="only be stored on Windows"):
        wincred.run_step(RemoveCredential("TERMSRV/h"))
