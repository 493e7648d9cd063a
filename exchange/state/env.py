"""What a handler knows about the block it runs in, and where it writes history rows.

History rows (one per balance movement), swap rows and governance/event rows are append-only:
they are built as :class:`~ledger.application.Change` values at once and keyed by
``(height, idx, n)``, where ``idx`` is the record's index in the block (-1 for the work done
at the start of the block: rate activations and expiry) and ``n`` counts rows per record.
"""

from __future__ import annotations

from operator import itemgetter

from exchange.genesis import Params
from ledger.application import Change, new_change

BEGIN_BLOCK = -1

HISTORY = "x_history"
SWAPS = "x_swaps"
EVENTS = "x_events"
#: Columns of the append-only tables, in order (``exchange.state.tables.SPECS`` declares them;
#: a test holds the two together). Rows are built as tuples in this order.
HISTORY_COLUMNS = ("height", "idx", "n", "account", "program", "kind", "delta", "balance",
                   "record", "ref")
EVENT_COLUMNS = ("height", "idx", "n", "kind", "subject", "detail", "record")
SWAP_COLUMNS = ("height", "idx", "record", "holder", "give", "get", "taken", "base", "bonus",
                "out", "give_version", "get_version", "give_rate", "get_rate", "value_burned",
                "value_minted", "bonus_value")
_swap_values = itemgetter(*SWAP_COLUMNS)


class Env:
    """The block being executed (or, for ``check``, the next one) and its output rows."""

    __slots__ = ("_n_event", "_n_history", "day", "events", "height", "history_rows", "idx",
                 "lapse_ms", "members_changed", "params", "record", "swaps", "time_ms")

    def __init__(self, params: Params, height: int, time_ms: int) -> None:
        self.params = params
        self.height = height
        self.time_ms = time_ms
        self.day = params.day(time_ms)
        self.lapse_ms: dict[int, int] = {}  # expiry days -> when points earned now lapse
        self.idx = BEGIN_BLOCK
        self.record = ""
        # The block's append-only rows, one list per table, each in key order.
        self.history_rows: list[Change] = []
        self.swaps: list[Change] = []
        self.events: list[Change] = []
        self.members_changed = False
        self._n_history = 0
        self._n_event = 0

    def begin_record(self, idx: int, record_id: str) -> None:
        """Start the rows of the record at ``idx`` in the block."""
        self.idx, self.record = idx, record_id
        self._n_history = self._n_event = 0

    def history(self, account: str, program: str, kind: str, delta: int, balance: int,
                ref: str = "") -> None:
        """One balance movement: ``delta`` points of ``program`` for ``account``."""
        n = self._n_history
        self._n_history = n + 1
        height, idx = self.height, self.idx
        self.history_rows.append(new_change((HISTORY, (height, idx, n), (
            height, idx, n, account, program, kind, delta, balance, self.record, ref))))

    def event(self, kind: str, subject: str, detail: str = "") -> None:
        """One governance or lifecycle event (admission, rate in effect, settlement...)."""
        n = self._n_event
        self._n_event = n + 1
        height, idx = self.height, self.idx
        self.events.append(Change(EVENTS, (height, idx, n), (
            height, idx, n, kind, subject, detail, self.record)))

    def swap_row(self, row: dict[str, int | str]) -> None:
        """The receipt of one swap (amounts, versions, values)."""
        row.update(height=self.height, idx=self.idx, record=self.record)
        self.swaps.append(Change(SWAPS, (self.height, self.idx), _swap_values(row)))

    def appended(self) -> dict[str, list[Change]]:
        """The block's append-only rows by table (each list in key order)."""
        return {HISTORY: self.history_rows, SWAPS: self.swaps, EVENTS: self.events}
