"""Remove what looks like a secret from text that leaves this computer.

:func:`redact` is applied to every file put in a support bundle and to every
line the launcher writes to its log file. It errs on the side of removing
too much: a support bundle with a timestamp blanked out is better than one
with a password in it. What it removes:

* ``Bearer ...`` and ``Basic ...`` credentials (an ``Authorization`` header);
* the value of any key that names a secret (password, passwd, pwd, secret,
  token, otp, ...) written ``key=value``, ``key: value``, ``"key": "value"``
  or ``'key': 'value'``: to the end of the quoted string, else to the next
  whitespace or unescaped quote (so JSON around it stays JSON);
* FreeRDP's password options ``/p:``, ``/gp:``, ``/pth:`` and the ``p:`` part
  of ``/gateway:``;
* the password in a URL (``https://user:password@host``);
* long random-looking words (32 or more letters, digits, ``-`` and ``_``
  mixing upper case, lower case and digits), which is what tokens look like.
  Hexadecimal fingerprints and ids are single-case and stay.
"""

from __future__ import annotations

import re

__all__ = ["MARK", "redact"]

MARK = "[redacted]"

_KEY = r"[\w.-]*(?:password|passwd|passwort|pwd|passphrase|secret|token|otp|api[_-]?key)[\w.-]*"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "password": "..." and 'password': '...' (JSON, Python reprs).
    (re.compile(rf'(?i)("{_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"'), rf'\1"{MARK}"'),
    (re.compile(rf"(?i)('{_KEY}'\s*:\s*)'(?:[^'\\]|\\.)*'"), rf"\1'{MARK}'"),
    # Authorization: Bearer <token> / Basic <base64>.
    (re.compile(r"(?i)\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{MARK}"),
    # "/p:pa ss" quoted as one argument, then /p:word.
    (re.compile(r'(?i)"(/(?:p|gp|pth|gateway-password)):[^"]*"'), rf'"\1:{MARK}"'),
    (re.compile(r"(?i)(^|[\s'(\[,])(/(?:p|gp|pth|gateway-password)):\S+"), rf"\1\2:{MARK}"),
    # FreeRDP 3's /gateway:g:host,u:user,p:secret (backslash escapes inside).
    (re.compile(r"(?i)(/gateway:\S*?[:,]p:)(?:\\.|[^,\s\\])+"), rf"\1{MARK}"),
    # key=value, key: value: the value to the end of its own quotes, else to
    # whitespace or an unescaped quote (which may close a string around it).
    (
        re.compile(
            rf"(?i)\b({_KEY})(\s*[=:]\s*)"
            r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|(?:\\.|[^\s\"'\\])+)"
        ),
        rf"\1\2{MARK}",
    ),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{MARK}@"),
)

_WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")


def _token_like(match: re.Match[str]) -> str:
    word = match.group(0)
    mixed = any(c.isupper() for c in word) and any(c.islower() for c in word)
    return MARK if mixed and any(c.isdigit() for c in word) else word


def redact(text: str) -> str:
    """``text`` with everything that looks like a secret replaced by ``[redacted]``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _WORD.sub(_token_like, text)
