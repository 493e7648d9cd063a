"""A bounded mempool: records checked and waiting for a block, in arrival order."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from .errors import Backpressure, DuplicateRecord, StaleSequence
from .limits import mempool_records_max
from .record import Record


class Mempool:
    """Pending records by id; at most one pending record per (signer, seq)."""

    def __init__(self, records_max: int = mempool_records_max) -> None:
        self.records_max = records_max
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._slots: dict[tuple[str, int], str] = {}
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def add(self, record: Record) -> None:
        """Queue ``record``; raises Backpressure when full, DuplicateRecord when pending."""
        with self.lock:
            if record.id in self._records:
                raise DuplicateRecord(record.id, None)
            if len(self._records) >= self.records_max:
                raise Backpressure(f"mempool holds {len(self._records)} records, the most it "
                                   f"takes; retry shortly", retry_after_s=1)
            slot = (record.signers[0], record.seq)
            if slot in self._slots:
                raise StaleSequence(slot[0], slot[1], slot[1])
            self._records[record.id] = record
            self._slots[slot] = record.id

    def take(self, count: int) -> list[Record]:
        """Remove and return up to ``count`` records, oldest first."""
        with self.lock:
            out = []
            while self._records and len(out) < count:
                _, record = self._records.popitem(last=False)
                del self._slots[(record.signers[0], record.seq)]
                out.append(record)
            return out

    def put_back(self, records: Iterable[Record]) -> None:
        """Return records (that did not make it into a block) to the front, in order."""
        with self.lock:
            for record in reversed(list(records)):
                if record.id in self._records:
                    continue
                self._records[record.id] = record
                self._records.move_to_end(record.id, last=False)
                self._slots[(record.signers[0], record.seq)] = record.id
