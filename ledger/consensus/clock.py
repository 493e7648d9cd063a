"""Clocks. The ledger takes time only from a clock it is given, so tests and demos control it."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
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


class FileClock:
    """A clock an outside driver sets by writing milliseconds to a file: every node of a
    local cluster reads the same one, so ``jifentong demo --cluster`` can take the nodes
    through the demo's simulated month exactly as the in-process build does. Demos and tests
    only (``jifentong node --demo-clock``); the file must hold an integer."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._last = self._read()

    def _read(self) -> int:
        return int(self.path.read_text().strip())

    def now_ms(self) -> int:
        with contextlib.suppress(OSError, ValueError):  # unreadable: the last time stands
            self._last = self._read()
        return self._last

    def peek_ms(self) -> int:
        return self.now_ms()
