"""A bounded mempool: records checked and waiting for a block, in arrival order.

One signer may submit over several connections, so its records can arrive out of sequence
order. Blocks take each signer's records in sequence order (:func:`seq_ordered`), and a
record whose sequence number is not above one already taken for a block is refused at
once (``sequence_replayed``, 409) rather than acknowledged and rejected later: a 202 holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

from ledger.errors import Backpressure, DuplicateRecord, StaleSequence
from ledger.limits import mempool_records_max
from ledger.wire.record import Record


class Mempool:
    """Pending records by id; at most one pending record per (signer, seq)."""

    def __init__(self, records_max: int = mempool_records_max) -> None:
        self.records_max = records_max
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._slots: dict[tuple[str, int], str] = {}
        #: signer -> highest sequence number taken for the block being made (until settled)
        self._taken: dict[str, int] = {}
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def add(self, record: Record, committed: Mapping[str, int] | None = None) -> None:
        """Queue ``record``; raises Backpressure when full, DuplicateRecord when pending,
        StaleSequence when its sequence number is not above one taken for a block or (read
        again under the lock, as a block may have committed since the check) ``committed``."""
        with self.lock:
            if record.id in self._records:
                raise DuplicateRecord(record.id, None)
            if len(self._records) >= self.records_max:
                raise Backpressure(f"mempool holds {len(self._records)} records, the most it "
                                   f"takes; retry shortly", retry_after_s=1)
            signer, seq = slot = (record.signers[0], record.seq)
            if slot in self._slots:
                raise StaleSequence(signer, seq, seq)
            last = max(self._taken.get(signer, 0),
                       committed.get(signer, 0) if committed is not None else 0)
            if seq <= last:
                raise StaleSequence(signer, seq, last)
            self._records[record.id] = record
            self._slots[slot] = record.id

    def take(self, count: int) -> list[Record]:
        """Remove and return up to ``count`` records, oldest first; until :meth:`settle`,
        a signer's records at or below the highest sequence number taken are refused."""
        with self.lock:
            out: list[Record] = []
            taken = self._taken
            while self._records and len(out) < count:
                _, record = self._records.popitem(last=False)
                signer = record.signers[0]
                del self._slots[(signer, record.seq)]
                if record.seq > taken.get(signer, 0):
                    taken[signer] = record.seq
                out.append(record)
            return out

    def settle(self) -> None:
        """The taken records committed or came back: forget what :meth:`take` noted (the
        committed sequence numbers, which :meth:`add` also reads, now hold the line)."""
        with self.lock:
            self._taken.clear()

    def put_back(self, records: Iterable[Record]) -> None:
        """Return records (that did not make it into a block) to the front, in order."""
        with self.lock:
            for record in reversed(list(records)):
                if record.id in self._records:
                    continue
                self._records[record.id] = record
                self._records.move_to_end(record.id, last=False)
                self._slots[(record.signers[0], record.seq)] = record.id


def seq_ordered(records: Sequence[Record]) -> list[Record]:
    """``records`` with each signer's records sorted by sequence number, in the positions
    that signer's records held (other signers' records do not move). Deterministic."""
    by_signer: dict[str, list[Record]] = {}
    for record in records:
        by_signer.setdefault(record.signers[0], []).append(record)
    if len(by_signer) == len(records):
        return list(records)
    queues = {}
    for signer, own in by_signer.items():
        own.sort(key=_seq)
        queues[signer] = iter(own)
    return [next(queues[record.signers[0]]) for record in records]


def _seq(record: Record) -> int:
    return record.seq
