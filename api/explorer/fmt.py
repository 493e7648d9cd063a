"""Display formatting with integers only: yuan from micro-yuan, points, times, short hashes.

Used as Jinja2 filters and by the views that write sentences. Times are shown in the
alliance's own day offset (Beijing time in the demo), with the UTC instant in ``<time>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

from exchange.limits import day_ms, micro_per_fen

micro_per_yuan = 1_000_000


def yuan(micro: int | None) -> str:
    """``8_000_000`` -> ``¥8.00`` (rounded half up to the fen; ``<¥0.01`` for crumbs)."""
    if micro is None:
        return "—"
    sign = "-" if micro < 0 else ""
    fen = (abs(micro) + micro_per_fen // 2) // micro_per_fen
    if fen == 0 and micro != 0:
        return f"{sign}<¥0.01"
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def unit_yuan(micro: int) -> str:
    """The value of one point, exactly: ``10_000`` -> ``¥0.01``, ``1_000`` -> ``¥0.001``."""
    whole, frac = divmod(micro, micro_per_yuan)
    decimals = f"{frac:06d}".rstrip("0")
    return f"¥{whole:,}.{decimals.ljust(2, '0')}"


def num(value: int | None) -> str:
    """``8000`` -> ``8,000``."""
    return "—" if value is None else f"{value:,}"


def signed(value: int) -> str:
    """``800`` -> ``+800``, ``-800`` -> ``−800`` (a real minus sign)."""
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


def ratio(numerator: int, denominator: int) -> str:
    """An exact ratio of two rates as a short decimal: ``(1000, 100)`` -> ``10``."""
    value = Fraction(numerator, denominator)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    exact = Fraction(text) == value
    return text if exact else f"≈{text}"


def percent(part: int, whole: int) -> str:
    """``(1, 3)`` -> ``33.3%`` (one decimal, integers only)."""
    if whole <= 0:
        return "—"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}%"


def short(text: str | None, length: int = 12) -> str:
    """A hash or key cut to ``length`` characters with an ellipsis."""
    if not text:
        return ""
    return text if len(text) <= length else text[:length] + "…"


class Clock:
    """Formats block times in the alliance's day offset."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms
        self.zone = timezone(timedelta(milliseconds=offset_ms))
        hours, rest = divmod(offset_ms // 60_000, 60)
        self.label = f"UTC+{hours}" + (f":{rest:02d}" if rest else "") if offset_ms else "UTC"

    def when(self, ms: int | None) -> str:
        """``2026-10-01 10:05:12`` in the alliance's time."""
        if ms is None:
            return "—"
        return datetime.fromtimestamp(ms / 1000, self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def date(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, self.zone).strftime("%Y-%m-%d")

    def day(self, ms: int) -> int:
        """The day number of an instant (days since the epoch in the alliance's time)."""
        return (ms + self.offset_ms) // day_ms

    def day_label(self, day: int) -> str:
        return self.date(day * day_ms - self.offset_ms)


def iso(ms: int | None) -> str:
    """The UTC instant for ``<time datetime>``."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
