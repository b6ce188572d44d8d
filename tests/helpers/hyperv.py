"""A replaying runner for the Hyper-V backend: it answers from recorded exchanges.

tests/data/hyperv/exchanges.xml holds each exchange under an id: the exact
PowerShell sent (as `commands.render` writes it) and the CLIXML objects or
error records the host answers. They are read with pypsrp's own Serializer
and handed to the backend through the same `plain`/`error_info` the real
runner uses, so the backend parses what it would get in production.

`Replay(ids)` expects exactly those exchanges in that order and refuses
anything else (a changed command fails the test). `Replay(ids, ordered=False)`
serves a broker's threads, whose calls interleave: each exchange answers its
own statements, in turn, the last one of each again and again, until the test
says the host moved on (`now`). Everything refused is kept in `unexpected`
for the test to assert empty.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pypsrp.complex_objects import ErrorRecord, ObjectMeta
from pypsrp.serializer import Serializer

from broker_stub.backends.base import HypervisorUnavailable
from broker_stub.backends.hyperv.commands import Statement, render
from broker_stub.backends.hyperv.runner import ErrorInfo, PowerShellFailed, error_info, plain

EXCHANGES = Path(__file__).parents[1] / "data" / "hyperv" / "exchanges.xml"
# What the real runner says when nothing listens on the host's WinRM port (its tests check).
AWAY = "cannot reach PowerShell on the Hyper-V host hv1.example.com:5986 over WinRM HTTPS"


@dataclass(frozen=True)
class Exchange:
    id: str
    sent: str
    output: tuple[Any, ...]
    errors: tuple[ErrorInfo, ...]


@cache
def exchanges() -> dict[str, Exchange]:
    found = {}
    for element in ET.parse(EXCHANGES).getroot().iter("Exchange"):  # noqa: S314 - our own data
        output, errors = element.find("Output"), element.find("Errors")
        exchange = Exchange(
            id=element.attrib["id"],
            sent=(element.findtext("Sent") or "").strip(),
            output=tuple(plain(Serializer().deserialize(o)) for o in output or ()),
            errors=tuple(
                error_info(Serializer().deserialize(e, ObjectMeta("Obj", object=ErrorRecord)))
                for e in errors or ()
            ),
        )
        assert exchange.id not in found, exchange.id
        found[exchange.id] = exchange
    return found


class UnexpectedStatements(AssertionError):
    """The backend sent something no recorded exchange expects here."""


class Replay:
    """A Runner that answers from recorded exchanges."""

    def __init__(self, ids: Iterable[str] = (), *, ordered: bool = True) -> None:
        self.ordered = ordered
        self.sent: list[str] = []
        self.unexpected: list[str] = []
        self.away = False  # True: every call fails as if the host were down
        self.timeouts: list[float] = []
        self._lock = threading.Lock()
        self._script: deque[Exchange] = deque()
        self._by_text: dict[str, deque[Exchange]] = {}
        self.then(*ids)

    def then(self, *ids: str) -> Replay:
        """Expect these exchanges too (after the ones given so far)."""
        with self._lock:
            for exchange_id in ids:
                exchange = exchanges()[exchange_id]
                self._script.append(exchange)
                self._by_text.setdefault(exchange.sent, deque()).append(exchange)
        return self

    def now(self, *ids: str) -> Replay:
        """From now on these answer their statements (in turn, the last again and again),
        instead of what answered them before: the host's state moved on."""
        with self._lock:
            texts = {exchanges()[i].sent for i in ids}
            for text in texts:
                self._by_text[text] = deque()
            for exchange_id in ids:
                exchange = exchanges()[exchange_id]
                self._by_text[exchange.sent].append(exchange)
        return self

    def run(self, statements: Sequence[Statement], *, timeout: float) -> list[Any]:
        text = render(statements)
        with self._lock:
            self.sent.append(text)
            self.timeouts.append(timeout)
            if self.away:
                raise HypervisorUnavailable(f"{AWAY}: ConnectionRefusedError")
            exchange = self._next(text)
        if exchange.errors:
            raise PowerShellFailed(exchange.errors)
        return list(exchange.output)

    def left(self) -> list[str]:
        """Ids of the exchanges expected but not asked for (ordered replays)."""
        with self._lock:
            return [e.id for e in self._script]

    def close(self) -> None:
        return None

    def _next(self, text: str) -> Exchange:
        if self.ordered:
            if self._script and self._script[0].sent == text:
                return self._script.popleft()
            expected = self._script[0].sent if self._script else "nothing more"
        else:
            answers = self._by_text.get(text)
            if answers:
                return answers.popleft() if len(answers) > 1 else answers[0]
            expected = "one of the recorded exchanges"
        self.unexpected.append(text)
        raise UnexpectedStatements(f"sent:\n{text}\nexpected:\n{expected}")
