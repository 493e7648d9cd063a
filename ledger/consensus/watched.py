"""The ordering log's pending submissions as this node's etcd watch delivered them, so that a
proposer takes its candidates from memory instead of reading (and parsing) up to
``ordering_pending_max`` records from etcd at every height.

Under load that read was the slowest step of a height: etcd's JSON gateway sends a range of
2,000 submissions as ~1.8 MB of base64 in about a second. The watch already delivers every
submission to every node (each node verifies its signatures as it arrives: *pre-verification*,
see :mod:`api.node.netnode`), and every deletion, in revision order.

Only a complete view is used. It is complete once it was loaded from one range read taken
while the watch stream was up (every later change then arrives through the stream, in
order), and it stops being complete when the stream breaks, or when more submissions wait
than :data:`~ledger.limits.watched_submissions_max`. While it is not complete the proposer
reads the log, as before. A view that lags (a put delivered after a range read that already
held it, and the deletion that follows it) can only offer a record that is already decided:
the proposer drops committed ones by its store and refused ones by the last height's
refusals, and validators check every proposal regardless, so the view is a speed-up, never a
rule.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from ledger.limits import watched_submissions_max
from ledger.wire.record import Record


class WatchedSubmissions:
    """Pending submissions by record id, oldest first (see the module docstring)."""

    def __init__(self, kept_max: int = watched_submissions_max) -> None:
        self.kept_max = kept_max
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._live = False  # the watch stream is up
        self._complete = False  # loaded while live, and nothing missed since
        self._lock = threading.Lock()
        self.loads = self.fallbacks = 0  # counters, for tests and metrics

    @property
    def live(self) -> bool:
        with self._lock:
            return self._live

    @property
    def complete(self) -> bool:
        with self._lock:
            return self._complete

    def stream(self, live: bool) -> None:
        """The watch stream came up (after etcd confirmed it) or went down: either way,
        changes may have been missed, so the view needs a new load."""
        with self._lock:
            self._live, self._complete = live, False
            self._records.clear()

    def put(self, record: Record) -> None:
        with self._lock:
            if record.id not in self._records:
                self._records[record.id] = record
            if len(self._records) > self.kept_max:
                self._complete = False  # too many: the log is read instead
                self._records.clear()

    def delete(self, record_id: str) -> None:
        with self._lock:
            self._records.pop(record_id, None)

    def load(self, records: Sequence[Record], complete: bool) -> None:
        """Replace the view with a range read of the log, oldest first; ``complete`` when
        the read held every pending submission. Used only if the stream is up."""
        with self._lock:
            if not self._live:
                return
            self._records = OrderedDict((r.id, r) for r in records)
            self._complete = complete and len(self._records) <= self.kept_max
            self.loads += 1

    def oldest(self, limit: int) -> list[Record] | None:
        """The ``limit`` oldest pending submissions, or None when the view is not complete."""
        with self._lock:
            if not self._complete:
                self.fallbacks += 1
                return None
            out: list[Record] = []
            for record in self._records.values():
                if len(out) == limit:
                    break
                out.append(record)
            return out
