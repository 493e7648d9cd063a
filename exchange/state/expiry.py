"""Expiry at the start of each block: lots whose time has come lapse, signed by nobody.

:class:`ExpiryIndex` maps an expiry time to the holdings that got a lot expiring then, so a
block only visits holdings with something due, never all holders. The index is a hint: it
may keep entries whose lot was spent since (or that a discarded block added); every entry is
checked against the holding itself, so stale entries change nothing. Due buckets are dropped
only when the block that processed them is committed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING

from exchange.state.env import Env
from exchange.state.model import Holding, PendingIssue

if TYPE_CHECKING:
    from exchange.state.state import State

EXPIRE = "expire"


class ExpiryIndex:
    """expires_ms -> {(account, program)}, with a heap of the times for the earliest one."""

    __slots__ = ("buckets", "heap")

    def __init__(self) -> None:
        self.buckets: dict[int, set[tuple[str, str]]] = {}
        self.heap: list[int] = []

    def add(self, expires_ms: int, key: tuple[str, str]) -> None:
        """Note that holding ``key`` has a lot expiring at ``expires_ms``."""
        bucket = self.buckets.get(expires_ms)
        if bucket is None:
            bucket = self.buckets[expires_ms] = set()
            heapq.heappush(self.heap, expires_ms)
        bucket.add(key)

    def due(self, now_ms: int) -> list[int]:
        """The bucket times at or before ``now_ms``, earliest first."""
        if not self.heap or self.heap[0] > now_ms:
            return []
        return sorted(t for t in self.buckets if t <= now_ms)

    def prune(self, through_ms: int) -> None:
        """Forget the buckets at or before ``through_ms`` (their block was committed)."""
        while self.heap and self.heap[0] <= through_ms:
            self.buckets.pop(heapq.heappop(self.heap), None)

    def rebuild(self, holdings: Iterable[tuple[tuple[str, str], Holding]]) -> None:
        """Index every lot of the committed holdings (after a restore)."""
        self.buckets.clear()
        self.heap.clear()
        for key, (_, lots, _) in holdings:
            for expires_ms, _ in lots:
                self.add(expires_ms, key)


def expire_due(s: State, env: Env) -> None:
    """Lapse every lot due at the block time: each holding with one once, in (account,
    program) order.

    The order depends only on the holdings, never on the index: a stale entry in an earlier
    bucket (a lot spent since) must not move its holding ahead of others, or a node whose
    index was rebuilt after a restart (no stale entries) would emit the same events in
    another order and reach another state commitment.
    """
    now = env.time_ms
    index = s.expiry
    due: set[tuple[str, str]] = set()
    for expires_ms in index.due(now):
        due.update(index.buckets[expires_ms])
    for key in sorted(due):
        holding = s.holdings.get(key)
        if holding is None or not holding[1] or holding[1][0][0] > now:
            continue  # stale index entry: the lot was spent or already lapsed
        held, lots, earned = holding
        i = lapsed = 0
        while i < len(lots) and lots[i][0] <= now:
            lapsed += lots[i][1]
            i += 1
        left = held - lapsed
        s.holdings.put(key, (left, lots[i:], min(earned, left)) if left else None)
        program = s.programs.edit(key[1])
        program.supply -= lapsed
        program.expired += lapsed
        env.history(key[0], key[1], EXPIRE, -lapsed, left)


def rebuild_vesting(index: ExpiryIndex, pending: dict[str, PendingIssue]) -> None:
    """Index every committed pending entry by when it vests (after a restore); vesting
    (:mod:`exchange.rules.pending`) uses an :class:`ExpiryIndex` as expiry does."""
    index.buckets.clear()
    index.heap.clear()
    for issue, held in pending.items():
        index.add(held.vests_ms, (held.program, issue))
