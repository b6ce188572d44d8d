"""A password held in memory only as long as it is needed.

The sign-in password is kept after sign-in only when a desktop may sign the
user in with it (single sign-on into RDP). It lives in one ``bytearray``
that :meth:`Secret.clear` overwrites with zeros on sign-out or close.

What this does not do: Python makes short-lived ``str`` and ``bytes`` copies
(the text field's value, the bytes written to the client's stdin) that are
freed but not overwritten. The holder keeps the one long-lived copy short of
the process ending, out of ``repr``, logs, pickles and files.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Secret", "SecretCleared"]


class SecretCleared(Exception):
    """The secret was asked for after :meth:`Secret.clear`."""


class Secret:
    __slots__ = ("_data",)

    def __init__(self, value: str) -> None:
        self._data: bytearray | None = bytearray(value.encode("utf-8"))

    @property
    def cleared(self) -> bool:
        return self._data is None

    def reveal(self) -> str:
        """The text, for the moment it is handed to a client."""
        if self._data is None:
            raise SecretCleared("the secret was cleared")
        return self._data.decode("utf-8")

    def clear(self) -> None:
        """Overwrite the bytes with zeros and forget them; safe to call twice."""
        data, self._data = self._data, None
        if data is not None:
            data[:] = bytes(len(data))

    def __repr__(self) -> str:
        return "Secret(cleared)" if self._data is None else "Secret(***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> NoReturn:
        raise TypeError("a Secret cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("a Secret cannot be copied")
