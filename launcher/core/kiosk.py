"""Kiosk mode as a plain state machine: what a thin client shows, and when.

The UI feeds it events and the current time, and renders ``screen``; it
never decides anything itself. The loop a kiosk lives in::

    waiting_for_network ──broker answers──▶ sign_in ──signed in──▶ desktops
          ▲   (retry countdown)               ▲                      │
          └──────broker unreachable───────────┤            connect / auto-connect
                                              │                      ▼
                 signed out (nothing kept) ◀──┴── session ended ◀── in_session
                 idle on the desktop list ──▶ signed out

The admin escape (a PIN checked against a hash from the system config) may
be asked for from any screen and leads out of kiosk mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

RETRY_STEPS = (5.0, 10.0, 20.0, 30.0)  # seconds between tries while the network is down


class Screen(enum.StrEnum):
    WAITING_FOR_NETWORK = "waiting_for_network"
    SIGN_IN = "sign_in"
    DESKTOPS = "desktops"
    CONNECTING = "connecting"
    IN_SESSION = "in_session"
    ADMIN_PIN = "admin_pin"
    EXITED = "exited"  # the admin left kiosk mode


@dataclass(frozen=True, slots=True)
class KioskPolicy:
    auto_connect: str | None = None  # a desktop id to open right after sign-in
    idle_sign_out: float = 120.0  # seconds on the desktop list before signing out
    pin_hash: str | None = None  # argon2id hash of the admin PIN; None: no escape


@dataclass(slots=True)
class Kiosk:
    policy: KioskPolicy
    screen: Screen = Screen.WAITING_FOR_NETWORK
    retry_at: float | None = None  # when to try the broker again
    last_activity: float = 0.0
    _failures: int = 0
    _before_pin: Screen = Screen.SIGN_IN
    desktop_to_open: str | None = field(default=None)

    # -- network ----------------------------------------------------------

    def broker_unreachable(self, now: float) -> None:
        """A try failed: wait, then try again, a little later each time."""
        delay = RETRY_STEPS[min(self._failures, len(RETRY_STEPS) - 1)]
        self._failures += 1
        self.retry_at = now + delay
        if self.screen not in (Screen.IN_SESSION, Screen.ADMIN_PIN):
            self.screen = Screen.WAITING_FOR_NETWORK

    def broker_reachable(self, now: float) -> None:
        self._failures = 0
        self.retry_at = None
        if self.screen is Screen.WAITING_FOR_NETWORK:
            self.screen = Screen.SIGN_IN
            self.last_activity = now

    def seconds_to_retry(self, now: float) -> int:
        """For the countdown; 0 means: try now."""
        if self.retry_at is None:
            return 0
        return max(0, int(self.retry_at - now + 0.999))

    # -- the user's path --------------------------------------------------

    def signed_in(self, now: float) -> None:
        if self.screen is not Screen.SIGN_IN:
            return
        self.last_activity = now
        if self.policy.auto_connect:
            self.desktop_to_open = self.policy.auto_connect
            self.screen = Screen.CONNECTING
        else:
            self.screen = Screen.DESKTOPS

    def connect(self, desktop_id: str, now: float) -> None:
        if self.screen is Screen.DESKTOPS:
            self.desktop_to_open = desktop_id
            self.screen = Screen.CONNECTING
            self.last_activity = now

    def session_started(self) -> None:
        if self.screen is Screen.CONNECTING:
            self.screen = Screen.IN_SESSION

    def connect_failed(self, now: float) -> None:
        """Back to the list, where the error is shown (and idle sign-out runs)."""
        if self.screen is Screen.CONNECTING:
            self.desktop_to_open = None
            self.screen = Screen.DESKTOPS
            self.last_activity = now

    def session_ended(self, now: float) -> None:
        """The remote session is over: sign out; nothing of the user stays."""
        if self.screen in (Screen.IN_SESSION, Screen.CONNECTING):
            self.sign_out(now)

    def activity(self, now: float) -> None:
        self.last_activity = now

    def tick(self, now: float) -> None:
        """Time passes: idle sign-out on the desktop list."""
        if self.screen is Screen.DESKTOPS and now - self.last_activity >= self.policy.idle_sign_out:
            self.sign_out(now)

    def sign_out(self, now: float) -> None:
        self.desktop_to_open = None
        self.screen = Screen.SIGN_IN
        self.last_activity = now

    # -- admin escape -------------------------------------------------------

    def ask_for_pin(self) -> bool:
        """Open the PIN prompt; False when the kiosk has no escape configured."""
        if self.policy.pin_hash is None or self.screen in (Screen.ADMIN_PIN, Screen.EXITED):
            return False
        self._before_pin = self.screen
        self.screen = Screen.ADMIN_PIN
        return True

    def enter_pin(self, pin: str) -> bool:
        if self.screen is not Screen.ADMIN_PIN or self.policy.pin_hash is None:
            return False
        if check_pin(self.policy.pin_hash, pin):
            self.screen = Screen.EXITED
            return True
        return False

    def cancel_pin(self) -> None:
        if self.screen is Screen.ADMIN_PIN:
            self.screen = self._before_pin


def hash_pin(pin: str) -> str:
    """What an admin puts in the system config (``rubicon --hash-pin``)."""
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("An admin PIN is 4 to 12 digits.")
    return PasswordHasher().hash(pin)


def check_pin(pin_hash: str, pin: str) -> bool:
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
