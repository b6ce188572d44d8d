"""Sign-in helpers the page uses: the account name, the one-time code, caps lock.

Caps lock: Qt has no portable way to ask for the caps lock state, and
asking the X server (``xset q``) would start a process per key and work on
X11 only. Rubicon infers it from what each key press produces instead:
a letter typed upper-case without Shift, or lower-case with Shift, means
caps lock is on; the opposite means it is off; any other key says nothing
and leaves the last answer standing. This works the same on every
platform and keyboard layout that has cased letters, needs no permission,
and is right from the first letter typed into the password field.
"""

from __future__ import annotations

import re

from launcher.core.errors import RubiconError
from launcher.core.texts import Text

__all__ = ["OtpFormatError", "account_name", "caps_lock_from_key", "clean_otp"]

_OTP = re.compile(r"^[0-9]{6,8}$")


def account_name(username: str, domain: str) -> str:
    """``DOMAIN\\user`` when a domain is given and the username names none itself."""
    username, domain = username.strip(), domain.strip()
    if not domain or "\\" in username or "@" in username:
        return username
    return f"{domain}\\{username}"


class OtpFormatError(RubiconError, ValueError):
    """What was typed as the one-time code is not one (a ``ValueError`` too)."""


def clean_otp(code: str) -> str:
    """The code without spaces and dashes; :class:`OtpFormatError` unless 6 to 8 digits remain."""
    digits = re.sub(r"[\s-]", "", code)
    if not _OTP.match(digits):
        raise OtpFormatError(
            Text("signin.otp_format", "Enter the 6-digit code your authenticator app shows.")
        )
    return digits


def caps_lock_from_key(text: str, shift: bool) -> bool | None:
    """Whether caps lock is on, judged from one key press; None if it cannot tell.

    ``text`` is what the key produced, ``shift`` whether Shift was held.
    """
    if len(text) != 1 or not text.isalpha() or text.upper() == text.lower():
        return None  # digits, symbols, letters without case (CJK, ...)
    upper = text.isupper()
    return upper != shift
