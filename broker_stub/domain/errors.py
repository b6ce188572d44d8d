"""Errors the broker's domain raises; the API turns each into a problem document.

    BrokerError                     (code, status, title, detail, headers)
    ├── InvalidCredentials          401 invalid_credentials
    ├── OtpRequired                 401 otp_required
    ├── InvalidOtp                  401 invalid_otp
    ├── InvalidToken                401 invalid_token
    ├── AccountLocked               429 account_locked (Retry-After)
    ├── TooManyAttempts             429 too_many_attempts (Retry-After)
    ├── DirectoryUnavailable        503 directory_unavailable (Retry-After)
    ├── OtpRequiredForPool          403 otp_required_for_pool
    ├── NotEntitled                 403 not_entitled
    ├── PoolNotFound                404 pool_not_found
    ├── SessionNotFound             404 session_not_found
    ├── ProtocolNotOffered          400 protocol_not_offered
    ├── AdminRequired               403 admin_required
    ├── UnknownUser                 404 user_not_found
    ├── UnknownGroup                404 group_not_found
    ├── UnknownPool                 404 pool_not_found (worded for admins)
    ├── UnknownMachine              404 machine_not_found
    ├── UnknownSession              404 session_not_found (worded for admins)
    ├── UnknownEntitlement          404 entitlement_not_found
    ├── AlreadyExists               409 (abstract: something with that name is there)
    │   ├── UserExists              409 user_exists
    │   ├── GroupExists             409 group_exists
    │   ├── MachineExists           409 machine_exists
    │   └── EntitlementExists       409 entitlement_exists
    ├── MachineInUse                409 machine_in_use
    ├── MachineBusy                 409 machine_busy (recycle: it is being made, recycled, ...)
    ├── MachineNotAssigned          409 machine_not_assigned (unassign: it has no owner)
    ├── PoolNotDedicated            409 pool_not_dedicated (unassign: a floating pool)
    ├── InvalidMachine              400 invalid_machine
    ├── LastAdmin                   409 last_admin
    ├── PasswordTooShort            422 password_too_short (the site's minimum length)
    ├── InvalidCursor               400 invalid_cursor
    ├── NoMachineAvailable          409 no_machine_available
    ├── MachineUnavailable          409 machine_unavailable (your dedicated machine)
    ├── SessionEnded                409 session_ended
    ├── ActionNotAllowed            403 action_not_allowed (the pool forbids it)
    ├── ActionNotSupported          409 action_not_supported (the backend cannot)
    ├── MachineActionFailed         502 machine_action_failed
    ├── HypervisorUnavailable       503 hypervisor_unavailable (Retry-After)
    ├── MachineFailed               502 (abstract: the machine a launch got is dead)
    │   ├── MachineUnreachable      502 machine_unreachable (its console does not answer)
    │   ├── MachineGone             502 machine_gone (no longer on its hypervisor)
    │   └── PowerOnTimeout          504 power_on_timeout
    ├── NoConsole                   502 no_console (no console for that protocol)
    ├── StorageFull                 507 storage_full (no room for a new desktop)
    ├── PoolFull                    409 pool_full (every machine taken, and `max` made)
    └── IdempotencyKeyReused        422 idempotency_key_reused (with `errors`)

Problems that belong to HTTP itself (not_found, method_not_allowed,
invalid_request, database_unavailable, internal_error) are made in
broker_stub.api.problems. `detail` is a sentence for the person in front of
the launcher: what is wrong and what to do about it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar


class BrokerError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        # Extra HTTP response headers, such as Retry-After.
        self.headers: Mapping[str, str] = dict(headers or {})


class InvalidCredentials(BrokerError):
    code = "invalid_credentials"
    status = 401
    title = "Sign-in failed"

    def __init__(self) -> None:
        # Same words for unknown user and wrong password: usernames stay private.
        super().__init__("The username or password is wrong. Check both and try again.")


class OtpRequired(BrokerError):
    code = "otp_required"
    status = 401
    title = "One-time code needed"

    def __init__(self) -> None:
        # Only said after the right password: the launcher then asks for the code.
        super().__init__(
            "This account needs a one-time code from your authenticator app. "
            "Enter the code it shows now and sign in again."
        )


class InvalidOtp(BrokerError):
    code = "invalid_otp"
    status = 401
    title = "Wrong one-time code"

    def __init__(self) -> None:
        super().__init__(
            "The one-time code is wrong, too old, or was already used. "
            "Wait for the next code in your authenticator app and try again."
        )


def _retry_after(wait: timedelta) -> tuple[int, str]:
    """Whole seconds for Retry-After (at least 1) and the wait in words."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = math.ceil(seconds / 60)
    words = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return seconds, words


class AccountLocked(BrokerError):
    code = "account_locked"
    status = 429
    title = "Account locked"

    def __init__(self, wait: timedelta) -> None:
        seconds, words = _retry_after(wait)
        super().__init__(
            "There were too many failed sign-ins to this account, so it is locked for now. "
            f"Try again in {words}; if you forgot your password, ask your administrator.",
            {"Retry-After": str(seconds)},
        )


class TooManyAttempts(BrokerError):
    code = "too_many_attempts"
    status = 429
    title = "Too many attempts"

    def __init__(self, wait: timedelta) -> None:
        seconds, words = _retry_after(wait)
        super().__init__(
            "There were too many failed sign-ins from your computer's network address. "
            f"Try again in {words}.",
            {"Retry-After": str(seconds)},
        )


class DirectoryUnavailable(BrokerError):
    code = "directory_unavailable"
    status = 503
    title = "Directory unavailable"
    RETRY_AFTER_S: ClassVar[int] = 30

    def __init__(self) -> None:
        super().__init__(
            "The broker cannot reach the user directory (LDAP) to check your password. "
            "Try again in a minute; if it persists, tell your administrator.",
            {"Retry-After": str(self.RETRY_AFTER_S)},
        )


class OtpRequiredForPool(BrokerError):
    code = "otp_required_for_pool"
    status = 403
    title = "One-time code needed"

    def __init__(self, pool_name: str, enrolled: bool) -> None:
        if enrolled:
            todo = "Sign out, then sign in again with the code from your authenticator app."
        else:
            todo = "Ask your administrator to set up a one-time code for your account."
        super().__init__(f'"{pool_name}" needs a one-time code at sign-in. {todo}')


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


# Administration: /api/v1/admin and the rubicon-broker commands that change things.
# Their details name what is missing or in the way and how to look it up.


class AdminRequired(BrokerError):
    code = "admin_required"
    status = 403
    title = "Administrators only"

    def __init__(self) -> None:
        super().__init__(
            "This needs an administrator's account. Sign in as an administrator, "
            "or ask one to make the change."
        )


class UnknownUser(BrokerError):
    code = "user_not_found"
    status = 404
    title = "No such user"

    def __init__(self, username: str) -> None:
        super().__init__(f'There is no user "{username}". Check the name in the list of users.')


class UnknownGroup(BrokerError):
    code = "group_not_found"
    status = 404
    title = "No such group"

    def __init__(self, name: str) -> None:
        super().__init__(f'There is no group "{name}". Check the name in the list of groups.')


class UnknownPool(BrokerError):
    code = "pool_not_found"
    status = 404
    title = "No such pool"

    def __init__(self, pool_id: str) -> None:
        super().__init__(
            f'There is no pool "{pool_id}". Check the id in the list of pools; '
            "pools come from the pools file."
        )


class UnknownMachine(BrokerError):
    code = "machine_not_found"
    status = 404
    title = "No such machine"

    def __init__(self, pool_id: str, name: str) -> None:
        super().__init__(
            f'Pool "{pool_id}" has no machine "{name}". Check the name in the pool\'s machines.'
        )


class UnknownSession(BrokerError):
    code = "session_not_found"
    status = 404
    title = "No such session"

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f'There is no session "{session_id}". Check the id in the list of sessions.'
        )


class UnknownEntitlement(BrokerError):
    code = "entitlement_not_found"
    status = 404
    title = "No such entitlement"

    def __init__(self, pool_id: str, kind: str, name: str) -> None:
        super().__init__(
            f'Pool "{pool_id}" has no entitlement for {kind} "{name}"; there is nothing to remove.'
        )


class AlreadyExists(BrokerError):
    """Something with this name is there already."""

    status = 409
    title = "Already exists"

    def __init__(self, what: str, todo: str) -> None:
        super().__init__(f"{what} already exists. {todo}")


class UserExists(AlreadyExists):
    code = "user_exists"

    def __init__(self, username: str) -> None:
        super().__init__(
            f'User "{username}"', "Pick another username, or change the existing user instead."
        )


class GroupExists(AlreadyExists):
    code = "group_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f'Group "{name}"', "Pick another name, or add members to that group.")


class MachineExists(AlreadyExists):
    code = "machine_exists"

    def __init__(self, pool_id: str, name: str) -> None:
        super().__init__(
            f'Machine "{name}" in pool "{pool_id}"',
            "Pick another name, or remove the existing machine first.",
        )


class EntitlementExists(AlreadyExists):
    code = "entitlement_exists"

    def __init__(self, pool_id: str, kind: str, name: str) -> None:
        super().__init__(
            f'The entitlement of {kind} "{name}" to pool "{pool_id}"', "Nothing needs to change."
        )


class MachineInUse(BrokerError):
    code = "machine_in_use"
    status = 409
    title = "Machine in use"

    def __init__(
        self, name: str, username: str | None, doing: str, *, session: str | None = None
    ) -> None:
        who = f"{username} is using it" if username else "a session is using it"
        if session is None:
            todo = "Log the session off first (list the machine's sessions to find it)"
        else:
            todo = f"Log off session {session} first"
        super().__init__(f'Machine "{name}" cannot be {doing} while {who}. {todo}, then try again.')


class MachineBusy(BrokerError):
    code = "machine_busy"
    status = 409
    title = "Machine busy"

    def __init__(self, name: str, state: str) -> None:
        todo = (
            "Take it out of maintenance first"
            if state == "maintenance"
            else "Try again once it is ready"
        )
        super().__init__(f'Machine "{name}" is {state} now, so it cannot be recycled. {todo}.')


class MachineNotAssigned(BrokerError):
    code = "machine_not_assigned"
    status = 409
    title = "Machine not assigned"

    def __init__(self, pool_id: str, name: str) -> None:
        super().__init__(
            f'Machine "{name}" in pool "{pool_id}" has no owner, so there is nothing to '
            "unassign. Check the machine's user in the pool's machines."
        )


class PoolNotDedicated(BrokerError):
    code = "pool_not_dedicated"
    status = 409
    title = "Pool not dedicated"

    def __init__(self, pool_id: str) -> None:
        super().__init__(
            f'Pool "{pool_id}" is floating: its machines go back to the pool when each '
            "session ends, so none has an owner to take away. Only machines of dedicated "
            "pools are unassigned."
        )


class InvalidMachine(BrokerError):
    code = "invalid_machine"
    status = 400
    title = "Invalid machine"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f'Machine "{name}" cannot be added: {problem}.')


class LastAdmin(BrokerError):
    code = "last_admin"
    status = 409
    title = "Last administrator"

    def __init__(self, username: str) -> None:
        super().__init__(
            f'"{username}" is the only administrator left. Make another user an '
            "administrator first, so somebody can still manage the broker."
        )


class PasswordTooShort(BrokerError):
    code = "password_too_short"
    status = 422
    title = "Password too short"

    def __init__(self, minimum: int) -> None:
        super().__init__(
            f"The new password is too short: this broker wants at least {minimum} "
            "characters. Choose a longer one."
        )
        # Where, as every 422 says (the problem's `errors`).
        self.fault: Mapping[str, object] = {
            "loc": ["body", "password"],
            "msg": f"Shorter than {minimum} characters",
            "type": "password_too_short",
        }


class InvalidCursor(BrokerError):
    code = "invalid_cursor"
    status = 400
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this broker handed out, or it belongs to another query. "
            "Start again from the first page."
        )


class MachineUnavailable(BrokerError):
    code = "machine_unavailable"
    status = 409
    title = "Desktop unavailable"

    def __init__(self, pool_name: str, why: str) -> None:
        super().__init__(
            f'Your desktop in "{pool_name}" is {why}. Try again later, or ask your '
            "administrator when it will be back."
        )


class SessionEnded(BrokerError):
    code = "session_ended"
    status = 409
    title = "Session ended"

    def __init__(self, reason: str | None) -> None:
        why = {
            "logoff": "you logged off",
            "idle": "it was idle too long",
            "disconnect_timeout": "it stayed disconnected too long",
            "max_session": "it reached the longest time a session may last",
            "prelaunch_timeout": "the desktop client did not start in time",
            "admin": "an administrator ended it",
        }.get(reason or "", "it was closed")
        super().__init__(
            f"This session has ended because {why}. Open the desktop again to start a new one."
        )


class ActionNotAllowed(BrokerError):
    code = "action_not_allowed"
    status = 403
    title = "Not allowed"

    def __init__(self, pool_name: str, action: str) -> None:
        super().__init__(
            f'Desktops in "{pool_name}" may not be {action} by their users. '
            "Ask your administrator if you need it."
        )


class ActionNotSupported(BrokerError):
    code = "action_not_supported"
    status = 409
    title = "Not supported"

    def __init__(self, pool_name: str, action: str) -> None:
        super().__init__(
            f'The broker has no way to {action} desktops in "{pool_name}". Restart it from '
            "inside the desktop, or ask your administrator to set up a command for it."
        )


class MachineActionFailed(BrokerError):
    code = "machine_action_failed"
    status = 502
    title = "Action failed"

    def __init__(self, machine_name: str, action: str) -> None:
        super().__init__(
            f'The broker could not {action} "{machine_name}". Try again in a minute; if it '
            "fails again, tell your administrator (the broker's log says why)."
        )


class HypervisorUnavailable(BrokerError):
    code = "hypervisor_unavailable"
    status = 503
    title = "Host unavailable"
    RETRY_AFTER_S: ClassVar[int] = 30

    def __init__(self, pool_name: str) -> None:
        super().__init__(
            f'The broker cannot reach the host that runs "{pool_name}" right now. '
            "Try again in a few minutes; if it persists, tell your administrator.",
            {"Retry-After": str(self.RETRY_AFTER_S)},
        )


class MachineFailed(BrokerError):
    """The machine a launch got is dead. `another_may_work`: the session never
    started and the pool is floating, so the launch may claim another machine."""

    status = 502
    title = "Desktop failed"

    def __init__(self, detail: str, *, another_may_work: bool = False) -> None:
        super().__init__(detail)
        self.another_may_work = another_may_work


class MachineUnreachable(MachineFailed):
    code = "machine_unreachable"
    title = "Desktop not answering"

    def __init__(
        self, pool_name: str, *, another_may_work: bool = False, live: bool = False
    ) -> None:
        if live:
            todo = (
                "Your session is kept: try again in a few minutes, or log off to get "
                "a fresh desktop."
            )
        else:
            todo = "Try again in a few minutes; if it persists, tell your administrator."
        super().__init__(
            f'Your desktop in "{pool_name}" does not answer. {todo}',
            another_may_work=another_may_work,
        )


class MachineGone(MachineFailed):
    code = "machine_gone"
    title = "Desktop gone"

    def __init__(self, pool_name: str, *, another_may_work: bool = False) -> None:
        super().__init__(
            f'Your desktop in "{pool_name}" no longer exists on its host. Open '
            f'"{pool_name}" again to get another; if that fails, tell your administrator.',
            another_may_work=another_may_work,
        )


class PowerOnTimeout(MachineFailed):
    code = "power_on_timeout"
    status = 504
    title = "Desktop did not start"

    def __init__(
        self, pool_name: str, waited: timedelta, *, another_may_work: bool = False
    ) -> None:
        _seconds, words = _retry_after(waited)
        super().__init__(
            f'Your desktop in "{pool_name}" did not start within {words}. Try again; '
            "if it fails again, tell your administrator.",
            another_may_work=another_may_work,
        )


class NoConsole(BrokerError):
    code = "no_console"
    status = 502
    title = "No console"

    def __init__(self, pool_name: str, protocol: str) -> None:
        super().__init__(
            f'The desktops in "{pool_name}" cannot be reached with {protocol.upper()} '
            "right now: their machines have no such console. Choose another protocol, "
            "or tell your administrator."
        )


class StorageFull(BrokerError):
    code = "storage_full"
    status = 507
    title = "No room for a desktop"

    def __init__(self, pool_name: str) -> None:
        super().__init__(
            f'The broker could not make a new desktop in "{pool_name}": its host is out of '
            "disk space. Tell your administrator."
        )


class PoolFull(BrokerError):
    code = "pool_full"
    status = 409
    title = "No desktop free"

    def __init__(self, pool_name: str, most: int) -> None:
        super().__init__(
            f'Every desktop in "{pool_name}" is in use, and the pool already has the '
            f"{most} desktops it may have. Try again in a few minutes, or ask your "
            "administrator for a larger pool."
        )


class IdempotencyKeyReused(BrokerError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key reused"
    # Every 422 says where the request was wrong, as invalid_request's `errors`
    # do; the launch route adds this one entry.
    LOC: ClassVar[tuple[str, str]] = ("header", "Idempotency-Key")
    TYPE: ClassVar[str] = "idempotency_key_reused"
    MSG: ClassVar[str] = "Already used by another user, for another pool or another body"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for another launch. Send a new random "
            "key with every new launch and reuse it only to retry the same one."
        )
