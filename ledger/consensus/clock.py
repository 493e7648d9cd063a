"""Clocks. The ledger takes time only from a clock it is given, so tests and demos control it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch (the proposer's block time)."""
        ...

    def peek_ms(self) -> int:
        """The same time, read without moving a simulated clock (checks at submission)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def peek_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to (and by ``step_ms`` on every read, if set)."""

    def __init__(self, start_ms: int, step_ms: int = 0) -> None:
        self._now, self.step_ms = start_ms, step_ms

    def now_ms(self) -> int:
        self._now += self.step_ms
        return self._now

    def peek_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms

    def set(self, ms: int) -> None:
        self._now = ms
