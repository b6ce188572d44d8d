"""Kiosk mode as a plain state machine: what a thin client shows, and when.

The UI feeds it events and the current time, and renders ``screen``; it
never decides anything itself. The loop a kiosk lives in::

    waiting_for_network ──broker answers──▶ sign_in ──signed in──▶ desktops
          ▲   (retry countdown)               ▲                      │
          └──────broker unreachable───────────┤            connect / auto-connect
                                              │                      ▼
                 signed out (nothing kept) ◀──┴── session ended ◀── in_session
                 idle while signed in, no client running ──▶ signed out

Idle sign-out covers every screen where someone is signed in and no client
of theirs runs: the desktop list, and "Opening …" while the broker is asked
or a machine powers on (:meth:`Kiosk.client_started` ends that; from then on
the client's end signs the user out). Whoever walks away is signed out, and
the next person never finds their list or their machine starting.

The admin escape (a PIN checked against a hash from the system config) may
be asked for from any screen and leads out of kiosk mode. While its prompt
is open, events still move the screen underneath it (a session that ends
behind the prompt still signs the user out), and the prompt gives way to
that screen when cancelled or left alone for ``PIN_PROMPT_TIMEOUT``. Five
wrong PINs in a row lock the prompt for ``PIN_LOCKOUT`` seconds.

:class:`KioskConfig` reads the ``[kiosk]`` table of the system config file
(see ``settings.SystemConfig``)::

    [kiosk]
    enabled = true                      # start in kiosk mode (or: rubicon --kiosk)
    server = "https://broker.example.com"
    auto_connect = "ward-3"             # a desktop id to open right after sign-in
    idle_sign_out = 120                 # seconds without input while signed in
    on_session_end = "auto"             # auto | logoff | disconnect
    admin_pin_hash = "$argon2id$..."    # rubicon --hash-pin; absent: no escape
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launcher.core.broker import BrokerUnreachable

RETRY_STEPS = (5.0, 10.0, 20.0, 30.0)  # seconds between tries while the network is down
PIN_ATTEMPTS = 5  # wrong PINs in a row before the prompt locks
PIN_LOCKOUT = 60.0  # seconds the prompt stays locked
PIN_PROMPT_TIMEOUT = 60.0  # an untouched PIN prompt closes by itself
IDLE_LIMITS = (10.0, 86_400.0)  # what idle_sign_out may be, in seconds
SESSION_END_CHOICES = ("auto", "logoff", "disconnect")


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
    # Seconds without input, signed in and no client running, before signing out.
    idle_sign_out: float = 120.0
    pin_hash: str | None = None  # argon2id hash of the admin PIN; None: no escape
    # What the broker hears when a remote session ends: "auto" (log off if the
    # client says the desktop was logged off, else disconnect), "logoff" (always
    # end the session and free the machine) or "disconnect" (keep it the user's).
    on_session_end: str = "auto"

    def session_end_event(self, *, logged_off: bool) -> str:
        """``logoff`` or ``disconnect``: what to tell the broker when a client ends."""
        if self.on_session_end in ("logoff", "disconnect"):
            return self.on_session_end
        return "logoff" if logged_off else "disconnect"


@dataclass(slots=True)
class Kiosk:
    policy: KioskPolicy
    screen: Screen = Screen.WAITING_FOR_NETWORK
    retry_at: float | None = None  # when to try the broker again
    last_activity: float = 0.0
    _failures: int = 0
    _before_pin: Screen = Screen.SIGN_IN
    desktop_to_open: str | None = field(default=None)
    _pin_failures: int = 0
    pin_locked_until: float = 0.0
    client_running: bool = False  # a client was started for desktop_to_open

    # The screen events act on: the one under the PIN prompt while it is open.

    @property
    def underlying(self) -> Screen:
        return self._before_pin if self.screen is Screen.ADMIN_PIN else self.screen

    def _go(self, screen: Screen) -> None:
        if self.screen is Screen.ADMIN_PIN:
            self._before_pin = screen
        elif self.screen is not Screen.EXITED:
            self.screen = screen

    # -- network ----------------------------------------------------------

    def broker_unreachable(self, now: float) -> None:
        """A try failed: wait, then try again, a little later each time."""
        delay = RETRY_STEPS[min(self._failures, len(RETRY_STEPS) - 1)]
        self._failures += 1
        self.retry_at = now + delay
        if self.underlying in (Screen.WAITING_FOR_NETWORK, Screen.SIGN_IN):
            self._go(Screen.WAITING_FOR_NETWORK)

    def broker_reachable(self, now: float) -> None:
        self._failures = 0
        self.retry_at = None
        if self.underlying is Screen.WAITING_FOR_NETWORK:
            self._go(Screen.SIGN_IN)
            self.last_activity = now

    def seconds_to_retry(self, now: float) -> int:
        """For the countdown; 0 means: try now."""
        if self.retry_at is None:
            return 0
        return max(0, math.ceil(self.retry_at - now))

    def retry_due(self, now: float) -> bool:
        """Waiting for the network, and the countdown has run out."""
        return self.underlying is Screen.WAITING_FOR_NETWORK and self.seconds_to_retry(now) == 0

    # -- the user's path --------------------------------------------------

    def signed_in(self, now: float) -> None:
        if self.underlying is not Screen.SIGN_IN:
            return
        self.last_activity = now
        if self.policy.auto_connect:
            self.desktop_to_open = self.policy.auto_connect
            self._go(Screen.CONNECTING)
        else:
            self._go(Screen.DESKTOPS)

    def connect(self, desktop_id: str, now: float) -> None:
        if self.underlying is Screen.DESKTOPS:
            self.desktop_to_open = desktop_id
            self._go(Screen.CONNECTING)
            self.last_activity = now

    def client_started(self) -> None:
        """A client runs for the desktop being opened: no idle sign-out from here on."""
        if self.underlying in (Screen.CONNECTING, Screen.IN_SESSION):
            self.client_running = True

    def session_started(self) -> None:
        if self.underlying is Screen.CONNECTING:
            self.client_running = True
            self._go(Screen.IN_SESSION)

    def connect_failed(self, now: float) -> None:
        """Back to the list, where the error is shown (and idle sign-out runs)."""
        if self.underlying is Screen.CONNECTING:
            self.desktop_to_open = None
            self.client_running = False
            self._go(Screen.DESKTOPS)
            self.last_activity = now

    def session_ended(self, now: float) -> None:
        """The remote session is over: sign out; nothing of the user stays."""
        if self.underlying in (Screen.IN_SESSION, Screen.CONNECTING):
            self.sign_out(now)

    def activity(self, now: float) -> None:
        self.last_activity = now

    def idle_for(self, now: float) -> float:
        return now - self.last_activity

    def tick(self, now: float) -> bool:
        """Time passes: an untouched PIN prompt closes; idle sign-out (True when it came)."""
        idle = self.idle_for(now)
        if self.screen is Screen.ADMIN_PIN and idle >= PIN_PROMPT_TIMEOUT:
            self.cancel_pin()
            self.last_activity = now
            return False
        signed_in = self.screen in (Screen.DESKTOPS, Screen.CONNECTING)
        if signed_in and not self.client_running and idle >= self.policy.idle_sign_out:
            self.sign_out(now)
            return True
        return False

    def form_idle(self, now: float) -> bool:
        """On the sign-in screen and untouched for the idle time: clear what was typed."""
        return self.screen is Screen.SIGN_IN and self.idle_for(now) >= self.policy.idle_sign_out

    def sign_out(self, now: float) -> None:
        self.desktop_to_open = None
        self.client_running = False
        self._go(Screen.SIGN_IN)
        self.last_activity = now

    # -- admin escape -------------------------------------------------------

    def ask_for_pin(self) -> bool:
        """Open the PIN prompt; False when the kiosk has no escape configured."""
        if self.policy.pin_hash is None or self.screen in (Screen.ADMIN_PIN, Screen.EXITED):
            return False
        self._before_pin = self.screen
        self.screen = Screen.ADMIN_PIN
        return True

    def pin_locked_for(self, now: float) -> int:
        """Seconds until the prompt takes PINs again; 0: it does now."""
        return max(0, math.ceil(self.pin_locked_until - now))

    def pin_checked(self, correct: bool, now: float) -> bool:
        """The outcome of :func:`check_pin` (run off the GUI thread); True: leave kiosk mode.

        A PIN entered while the prompt is locked is refused whatever it is.
        """
        if self.screen is not Screen.ADMIN_PIN or self.pin_locked_for(now):
            return False
        if correct:
            self._pin_failures = 0
            self.screen = Screen.EXITED
            return True
        self._pin_failures += 1
        if self._pin_failures >= PIN_ATTEMPTS:
            self._pin_failures = 0
            self.pin_locked_until = now + PIN_LOCKOUT
        return False

    def enter_pin(self, pin: str, now: float = 0.0) -> bool:
        if self.screen is not Screen.ADMIN_PIN or self.policy.pin_hash is None:
            return False
        return self.pin_checked(check_pin(self.policy.pin_hash, pin), now)

    def cancel_pin(self) -> None:
        if self.screen is Screen.ADMIN_PIN:
            self.screen = self._before_pin


def broker_not_ready(url: str) -> BrokerUnreachable:
    """What a kiosk says while its broker answers ``/healthz`` with something but 200."""
    from launcher.core.broker import BrokerUnreachable  # here: not needed for the first frame
    from launcher.core.texts import Text

    return BrokerUnreachable(
        Text("kiosk.broker_not_ready", "The broker at {url} answered but is not ready.", url=url),
        hint=Text("kiosk.broker_not_ready.hint", "It may be starting; Rubicon keeps trying."),
    )


def hash_pin(pin: str) -> str:
    """What an admin puts in the system config (``rubicon --hash-pin``)."""
    if not pin.isascii() or not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("An admin PIN is 4 to 12 digits.")
    from argon2 import PasswordHasher  # only here: not needed to show a window

    return PasswordHasher().hash(pin)


def check_pin(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` matches; slow on purpose (argon2id), so not on the GUI thread."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


# --- the system config's [kiosk] table ------------------------------------------------


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """Kiosk mode as the admin set it up; ``problems``: values that were ignored, and why."""

    enabled: bool = False
    server: str = ""
    policy: KioskPolicy = field(default_factory=KioskPolicy)
    problems: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> KioskConfig:
        """Read a ``[kiosk]`` table; a wrong value is left at its default and named."""
        problems: list[str] = []

        def take(key: str, check: Any, why: str, default: Any) -> Any:
            if key not in table:
                return default
            value = table[key]
            if check(value):
                return value
            problems.append(f"kiosk.{key}: {why}")
            return default

        known = {
            "enabled",
            "server",
            "auto_connect",
            "idle_sign_out",
            "on_session_end",
            "admin_pin_hash",
        }
        problems += [f"kiosk.{key}: unknown setting" for key in table if key not in known]
        enabled = take("enabled", lambda v: isinstance(v, bool), "must be true or false", False)
        server = take("server", _text, "must be a broker address", "")
        auto = take("auto_connect", _text, "must be a desktop id", None)
        idle = take(
            "idle_sign_out",
            lambda v: (
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and IDLE_LIMITS[0] <= v <= IDLE_LIMITS[1]
            ),
            f"must be {IDLE_LIMITS[0]:g} to {IDLE_LIMITS[1]:g} seconds",
            KioskPolicy().idle_sign_out,
        )
        on_end = take(
            "on_session_end",
            lambda v: v in SESSION_END_CHOICES,
            f"must be one of {', '.join(SESSION_END_CHOICES)}",
            "auto",
        )
        pin_hash = take(
            "admin_pin_hash",
            lambda v: isinstance(v, str) and v.startswith("$argon2"),
            "must be an argon2 hash from rubicon --hash-pin",
            None,
        )
        policy = KioskPolicy(
            auto_connect=auto or None,
            idle_sign_out=float(idle),
            pin_hash=pin_hash,
            on_session_end=on_end,
        )
        return cls(enabled, server.strip(), policy, tuple(problems))

    @classmethod
    def load(cls, path: Path | None = None) -> KioskConfig:
        """The ``[kiosk]`` table of the system config (``settings.system_config_path()``)."""
        from launcher.core import log
        from launcher.core.settings import SystemConfig

        config = cls.from_table(SystemConfig.load(path).section("kiosk"))
        for problem in config.problems:
            log.app.warning("system settings: ignoring %s", problem)
        return config


def _text(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    )
