"""What sign-in needs from a user directory, without importing an LDAP library.

broker_stub.auth.ldap implements it with ldap3; the app (broker_stub.app)
imports it only when LDAP is configured, so a broker without LDAP starts
without loading ldap3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class DirectoryUser:
    """A user the directory vouched for, as the broker stores them."""

    username: str
    display_name: str
    dn: str
    groups: tuple[str, ...]


class DirectoryRefused(Exception):
    """The directory does not know the user, or the password is wrong."""

    def __init__(self, reason: Literal["unknown_user", "wrong_password", "ambiguous_user"]):
        super().__init__(reason)
        self.reason = reason


class Directory(Protocol):
    def authenticate(self, username: str, password: str) -> DirectoryUser:
        """The user whose password this is.

        Raises DirectoryRefused, or DirectoryUnavailable (broker_stub.domain.errors)
        when the directory cannot be reached or the broker's account is refused.
        """
        ...
