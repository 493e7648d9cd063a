"""The simulator's etcd and network: a linearizable in-memory key-value store (what a Raft
majority gives its clients) and, per node, a connection to it that a seeded network may fail.

Every call of :class:`SimConnection` meets one fate, drawn from the simulator's random
generator (:class:`SimNet`):

* ``ok``: applied, answered;
* ``lost``: the request never arrived; nothing is applied, the caller gets
  :class:`~ledger.errors.OrderingUnavailable`;
* ``unanswered``: applied, but the answer is lost: the caller gets the same error;
* ``delayed``: a write arrives late, after later writes of other nodes (reordering): the
  caller times out, the write is applied at a later tick (a compare-and-swap is compared
  then);
* a partitioned node's calls are all ``lost``; a node set to crash at its k-th call raises
  :class:`SimCrash` there, in the middle of whatever step it was taking.

No real time, no threads: the simulator calls :meth:`SimNet.tick` between steps.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ledger.consensus.etcd import KeyValue
from ledger.errors import OrderingUnavailable, invariant
from ledger.limits import sim_delay_ticks_max

T = TypeVar("T")


class SimCrash(BaseException):
    """The node's process died at this point (a BaseException, so no handler in the
    production code swallows it, as none survives a SIGKILL)."""


class SimEtcd:
    """A linearizable key-value store with etcd's revisions."""

    def __init__(self) -> None:
        self.revision = 0
        self.kvs: dict[bytes, KeyValue] = {}
        self._keys: list[bytes] = []  # sorted, for prefix scans

    def _put(self, key: bytes, value: bytes) -> None:
        old = self.kvs.get(key)
        if old is None:
            bisect.insort(self._keys, key)
        created = old.create_revision if old else self.revision
        self.kvs[key] = KeyValue(key, value, created, self.revision)

    def put_all(self, items: Sequence[tuple[bytes, bytes]]) -> int:
        """One transaction: every put shares one new revision."""
        self.revision += 1
        for key, value in items:
            self._put(key, value)
        return self.revision

    def create(self, key: bytes, value: bytes) -> tuple[bool, KeyValue]:
        if key in self.kvs:
            return False, self.kvs[key]
        self.put_all([(key, value)])
        return True, self.kvs[key]

    def delete_all(self, keys: Sequence[bytes]) -> None:
        if any(k in self.kvs for k in keys):
            self.revision += 1
        for key in keys:
            if self.kvs.pop(key, None) is not None:
                del self._keys[bisect.bisect_left(self._keys, key)]

    def scan(self, prefix: bytes, by_creation: bool) -> list[KeyValue]:
        found = []
        for index in range(bisect.bisect_left(self._keys, prefix), len(self._keys)):
            if not self._keys[index].startswith(prefix):
                break
            found.append(self.kvs[self._keys[index]])
        if by_creation:
            return sorted(found, key=lambda kv: (kv.create_revision, kv.key))
        return found


@dataclass(slots=True)
class Fates:
    """Per-call probabilities of each network fault (all zero: a perfect network)."""

    lost: float = 0.0
    unanswered: float = 0.0
    delayed: float = 0.0


@dataclass(slots=True)
class _Late:
    due: int
    order: float
    apply: Callable[[], object]


@dataclass
class SimNet:
    """The network between the nodes and etcd: fates, partitions, late writes, crashes."""

    rng: random.Random
    etcd: SimEtcd = field(default_factory=SimEtcd)
    fates: Fates = field(default_factory=Fates)
    partitioned: set[int] = field(default_factory=set)
    crash_at: dict[int, int] = field(default_factory=dict)  # node -> calls left before it dies
    now: int = 0
    late: list[_Late] = field(default_factory=list)
    calls = 0

    def tick(self) -> None:
        """One tick: late writes now due are applied, in an order of their own."""
        self.now += 1
        due = sorted((w for w in self.late if w.due <= self.now), key=lambda w: w.order)
        self.late = [w for w in self.late if w.due > self.now]
        for write in due:
            write.apply()

    def flush(self) -> None:
        """Apply every late write (the network has calmed down)."""
        self.now += sim_delay_ticks_max
        self.tick()

    def fate(self, node: int, write: bool) -> str:
        self.calls += 1
        left = self.crash_at.get(node)
        if left is not None:
            if left <= 1:
                del self.crash_at[node]
                raise SimCrash(f"node {node} crashed")
            self.crash_at[node] = left - 1
        if node in self.partitioned:
            return "lost"
        roll, f = self.rng.random(), self.fates
        if roll < f.lost:
            return "lost"
        if roll < f.lost + f.unanswered:
            return "unanswered"
        if write and roll < f.lost + f.unanswered + f.delayed:
            return "delayed"
        return "ok"


class SimConnection:
    """One node's connection to the simulated etcd (:class:`~ledger.consensus.etcd.
    KeyValueStore`), through :class:`SimNet`."""

    def __init__(self, net: SimNet, node: int) -> None:
        self.net, self.node = net, node

    def _write(self, apply: Callable[[], T]) -> T:
        fate = self.net.fate(self.node, write=True)
        if fate == "lost":
            raise OrderingUnavailable(f"node {self.node}: request lost", retry_after_s=1)
        if fate == "delayed":
            delay = self.net.rng.randint(1, sim_delay_ticks_max)
            self.net.late.append(_Late(self.net.now + delay, self.net.rng.random(), apply))
            raise OrderingUnavailable(f"node {self.node}: request timed out", retry_after_s=1)
        result = apply()
        if fate == "unanswered":
            raise OrderingUnavailable(f"node {self.node}: answer lost", retry_after_s=1)
        invariant(fate == "ok", f"unknown fate {fate}")
        return result

    def _read(self) -> None:
        if self.net.fate(self.node, write=False) != "ok":
            raise OrderingUnavailable(f"node {self.node}: read failed", retry_after_s=1)

    def put(self, key: bytes, value: bytes) -> int:
        etcd = self.net.etcd
        self._write(lambda: etcd.put_all([(key, value)]))
        return etcd.revision

    def put_many(self, items: Sequence[tuple[bytes, bytes]]) -> None:
        etcd, chunk = self.net.etcd, list(items)
        self._write(lambda: etcd.put_all(chunk))

    def create(self, key: bytes, value: bytes) -> tuple[bool, KeyValue]:
        etcd = self.net.etcd
        return self._write(lambda: etcd.create(key, value))

    def get(self, key: bytes) -> KeyValue | None:
        self._read()
        return self.net.etcd.kvs.get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[KeyValue]:
        self._read()
        kvs = self.net.etcd.kvs
        return [kvs[k] for k in keys if k in kvs]

    def range_prefix(self, prefix: bytes, *, limit: int = 0, by_creation: bool = False,
                     keys_only: bool = False) -> list[KeyValue]:
        self._read()
        found = self.net.etcd.scan(prefix, by_creation)
        if keys_only:
            found = [KeyValue(kv.key, b"", kv.create_revision, kv.mod_revision) for kv in found]
        return found[:limit] if limit else found

    def count_prefix(self, prefix: bytes) -> int:
        self._read()
        return len(self.net.etcd.scan(prefix, by_creation=False))

    def delete_many(self, keys: Sequence[bytes]) -> None:
        etcd, chunk = self.net.etcd, list(keys)
        self._write(lambda: etcd.delete_all(chunk))
