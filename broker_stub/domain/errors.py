"""Errors the broker's domain raises; the API turns each into a problem document.

    BrokerError                     (code, status, title, detail)
    ├── InvalidCredentials          401 invalid_credentials
    ├── InvalidToken                401 invalid_token
    ├── NotEntitled                 403 not_entitled
    ├── PoolNotFound                404 pool_not_found
    ├── SessionNotFound             404 session_not_found
    ├── ProtocolNotOffered          400 protocol_not_offered
    └── NoMachineAvailable          409 no_machine_available

Problems that belong to HTTP itself (not_found, method_not_allowed,
invalid_request, database_unavailable, internal_error) are made in
broker_stub.api.problems. `detail` is a sentence for the person in front of
the launcher: what is wrong and what to do about it.
"""

from __future__ import annotations

from typing import ClassVar


class BrokerError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCredentials(BrokerError):
    code = "invalid_credentials"
    status = 401
    title = "Sign-in failed"

    def __init__(self) -> None:
        # Same words for unknown user and wrong password: usernames stay private.
        super().__init__("The username or password is wrong. Check both and try again.")


class InvalidToken(BrokerError):
    code = "invalid_token"
    status = 401
    title = "Not signed in"

    def __init__(self) -> None:
        super().__init__("You are not signed in, or your sign-in has expired. Sign in again.")


class NotEntitled(BrokerError):
    code = "not_entitled"
    status = 403
    title = "Not allowed"

    def __init__(self, pool_name: str) -> None:
        super().__init__(
            f'You may not use "{pool_name}". Ask your administrator for access if you need it.'
        )


class PoolNotFound(BrokerError):
    code = "pool_not_found"
    status = 404
    title = "No such desktop"

    def __init__(self, pool_id: str) -> None:
        super().__init__(
            f'There is no desktop "{pool_id}". Refresh the list of desktops and pick one from it.'
        )


class SessionNotFound(BrokerError):
    code = "session_not_found"
    status = 404
    title = "No such session"

    def __init__(self) -> None:
        super().__init__(
            "That session does not exist or is not yours. Refresh the list of desktops."
        )


class ProtocolNotOffered(BrokerError):
    code = "protocol_not_offered"
    status = 400
    title = "Protocol not offered"

    def __init__(self, pool_name: str, protocol: str, offered: list[str]) -> None:
        super().__init__(
            f'"{pool_name}" cannot be reached with {protocol}. Use one of: {", ".join(offered)}.'
        )


class NoMachineAvailable(BrokerError):
    code = "no_machine_available"
    status = 409
    title = "No desktop free"

    def __init__(self, pool_name: str) -> None:
        super().__init__(
            f'Every desktop in "{pool_name}" is in use. Try again in a few minutes '
            "or ask your administrator for more desktops."
        )
