"""Group admission: submissions that arrive together are checked and journaled together.

Each HTTP request used to check its record's signature in the event loop (cryptography holds
the GIL, so nothing else ran meanwhile) and write its own journal transaction. Here every
request queues its records and awaits; queued records go out as one group: their signatures
to the :class:`~ledger.consensus.sigpool.SignaturePool` worker (awaited, so the loop keeps reading
requests and the block producer keeps executing), then one ``submit_many`` for the group (one
journal transaction). At most :data:`GROUPS_IN_FLIGHT` groups are out at once, so while one
group's signatures are checked the next one fills; groups are admitted in arrival order.

A member's node (:class:`~api.node.netnode.NetNode`) admits through the same class with
``offload``: its ``submit_many`` waits for etcd to commit the group, so it runs on a thread
and the loop goes on reading requests (and verifying the next group's signatures) meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from ledger.consensus.sigpool import SignaturePool
from ledger.errors import LedgerError, invariant
from ledger.limits import batch_records_max
from ledger.wire.record import Record

log = logging.getLogger("jifentong.admission")

GROUPS_IN_FLIGHT = 2
#: Records in one group: a group is admitted in one event-loop step, which must stay short.
GROUP_RECORDS_MAX = batch_records_max

Results = list[LedgerError | None]


class Admission:
    """Batches concurrent submissions; ``submit_many`` is the node's synchronous admission."""

    def __init__(self, pool: SignaturePool,
                 submit_many: Callable[[Sequence[Record]], Results],
                 offload: bool = False) -> None:
        self.pool, self._submit_many, self.offload = pool, submit_many, offload
        self._queue: list[tuple[Sequence[Record], asyncio.Future[Results]]] = []
        self._in_flight = 0
        self._turn: asyncio.Future[None] | None = None  # done when the previous group is in
        self.groups = 0  # groups admitted, and the records in them (exported at /metrics)
        self.records = 0

    async def submit(self, records: Sequence[Record]) -> Results:
        """Admit ``records`` (in order, with whatever arrives alongside); one result each."""
        invariant(0 < len(records) <= GROUP_RECORDS_MAX, "a group of %d records", len(records))
        future: asyncio.Future[Results] = asyncio.get_running_loop().create_future()
        self._queue.append((records, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        while self._queue and self._in_flight < GROUPS_IN_FLIGHT:
            group, size = [], 0
            while self._queue and size + len(self._queue[0][0]) <= GROUP_RECORDS_MAX:
                item = self._queue.pop(0)
                group.append(item)
                size += len(item[0])
            self._in_flight += 1
            self.groups += 1
            self.records += size
            previous = self._turn
            self._turn = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._admit(group, previous, self._turn))

    async def _admit(self, group: list[tuple[Sequence[Record], asyncio.Future[Results]]],
                     previous: asyncio.Future[None] | None, turn: asyncio.Future[None]) -> None:
        records = [r for items, _ in group for r in items]
        try:
            await asyncio.wrap_future(self.pool.verify(records))
            if previous is not None:
                await asyncio.shield(previous)
            if self.offload:
                results = await asyncio.to_thread(self._submit_many, records)
            else:
                results = self._submit_many(records)
        except Exception as exc:  # hand the failure to every waiter, never lose it
            log.exception("admission failed")
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            turn.set_result(None)
            self._in_flight -= 1
            self._kick()
        offset = 0
        for items, future in group:
            if not future.done():
                future.set_result(results[offset:offset + len(items)])
            offset += len(items)
