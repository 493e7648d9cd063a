"""Typed errors of the exchange layer: programmer and configuration errors only.

Business rejections are never raised: they are result codes (see :mod:`exchange.codes`).

    ExchangeError
    ├── GenesisError          the genesis application section is malformed
    └── ReadOnlyState         a write was attempted on the committed (read-only) view
    InvariantViolation        an internal invariant failed (an AssertionError that -O keeps)
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base class of the exchange's programmer and configuration errors."""

    code: str = "exchange_error"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={str(self)!r})"


class GenesisError(ExchangeError):
    """The genesis application section is malformed (bad key, duplicate id, bad param)."""

    code = "genesis_invalid"


class ReadOnlyState(ExchangeError):
    """A write was attempted on the committed state view (a bug in a handler)."""

    code = "read_only_state"


class InvariantViolation(AssertionError):
    """An internal invariant failed: the state machine has a bug; stop, do not commit."""


def invariant(condition: bool, message: str, *args: object) -> None:
    """Raise InvariantViolation when ``condition`` is false (unlike ``assert``, kept under -O).

    ``args`` are formatted into ``message`` (``%`` style) only when it is raised, so a check
    on the hot path costs no string formatting.
    """
    if not condition:
        raise InvariantViolation(message % args if args else message)
