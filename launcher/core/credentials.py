"""Remember a sign-in password in the OS keychain, through ``keyring``.

Never in a file of ours: keyring hands the secret to the Secret Service
(GNOME Keyring, KWallet), the macOS Keychain or the Windows Credential
Manager. Errors, a branch of the launcher's one tree (``launcher.core.errors``)::

    CredentialStoreError   no keychain here, or it refused; the message says so
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launcher.core import log
from launcher.core.errors import RubiconError
from launcher.core.lazy import Lazy
from launcher.core.texts import Text

if TYPE_CHECKING:
    import keyring
    import keyring.errors
else:  # the keychain back ends take long to load; the first window needs none
    keyring = Lazy("keyring", "errors")

SERVICE_PREFIX = "rubicon:"


class CredentialStoreError(RubiconError):
    """The keychain could not be used; ``str()`` is the user-facing message."""


def _service(server: str) -> str:
    return SERVICE_PREFIX + server


def remember(*, server: str, username: str, password: str) -> None:
    try:
        keyring.set_password(_service(server), username, password)
    except keyring.errors.KeyringError as e:
        log.app.warning("keychain refused to store a password: %s", type(e).__name__)
        raise CredentialStoreError(
            Text(
                "keychain.not_saved",
                "Rubicon could not save your password in this computer's keychain, so you will "
                "be asked for it next time. Check that a keychain (for example GNOME Keyring) "
                "is installed and unlocked.",
            )
        ) from e


def recall(*, server: str, username: str) -> str | None:
    """The remembered password, or None (also when there is no keychain)."""
    try:
        return keyring.get_password(_service(server), username)
    except keyring.errors.KeyringError as e:
        log.app.warning("keychain unavailable: %s", type(e).__name__)
        return None


def forget(*, server: str, username: str) -> None:
    """Remove a remembered password; nothing remembered (or no keychain at all) is no error."""
    try:
        keyring.delete_password(_service(server), username)
    except keyring.errors.PasswordDeleteError:
        pass  # nothing was remembered
    except keyring.errors.NoKeyringError:
        # No keychain on this computer: nothing can have been saved in one.
        log.app.debug("no keychain; no password to forget for %s", _service(server))
    except keyring.errors.KeyringError as e:
        log.app.warning("keychain refused to forget a password: %s", type(e).__name__)
        raise CredentialStoreError(
            Text(
                "keychain.not_removed",
                "Rubicon could not remove your saved password from the keychain. Remove the "
                "entry {entry} for {username} with your keychain tool.",
                entry=repr(_service(server)),
                username=repr(username),
            )
        ) from e
