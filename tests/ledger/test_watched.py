"""The proposer's candidates from the watch (``ledger.consensus.watched``): served from memory
only while the view is complete, and read from the log otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.consensus.etcd import KeyValue
from ledger.consensus.etcdlog import EtcdLog
from ledger.consensus.watched import WatchedSubmissions
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, make_body, sign_body

CHAIN = "watched-test"


def record(n: int) -> Record:
    key = SigningKey.from_seed(n.to_bytes(4, "big") * 8)
    return sign_body(make_body(CHAIN, "counter.add", [key.public_hex], 1, {"name": "n", "by": n},
                               expires=2_000_000_000_000), [key])


class CountingStore:
    """An in-memory stand-in for etcd that counts the range reads the log makes."""

    def __init__(self) -> None:
        self.items: dict[bytes, bytes] = {}
        self.ranges = 0

    def put(self, key: bytes, value: bytes) -> int:
        self.items[key] = value
        return len(self.items)

    def put_many(self, items: Sequence[tuple[bytes, bytes]]) -> None:
        for key, value in items:
            self.items[key] = value

    def range_prefix(self, prefix: bytes, *, limit: int = 0, by_creation: bool = False,
                     keys_only: bool = False) -> list[KeyValue]:
        self.ranges += 1
        found = [KeyValue(k, v, i, i) for i, (k, v) in enumerate(self.items.items(), 1)
                 if k.startswith(prefix)]
        return found[:limit] if limit else found


def test_an_incomplete_view_offers_nothing_and_a_load_while_live_completes_it() -> None:
    view = WatchedSubmissions(kept_max=10)
    a, b, c = record(1), record(2), record(3)
    view.put(a)
    assert view.oldest(5) is None  # never loaded: the log is read instead
    view.load([a, b], complete=True)
    assert view.oldest(5) is None  # not live: a load could miss what the stream drops
    view.stream(True)
    view.load([a, b], complete=True)
    view.put(c)
    view.put(a)  # delivered again (a put already in the load): keeps its place
    assert view.oldest(5) == [a, b, c]
    assert view.oldest(2) == [a, b]
    view.delete(b.id)
    assert view.oldest(5) == [a, c]
    view.stream(False)
    assert view.oldest(5) is None


def test_a_view_that_outgrows_its_bound_or_was_read_in_part_is_not_used() -> None:
    view = WatchedSubmissions(kept_max=2)
    view.stream(True)
    view.load([record(1)], complete=False)  # the read stopped at its limit
    assert view.oldest(5) is None
    view.load([record(1)], complete=True)
    view.put(record(2))
    assert view.oldest(5) is not None
    view.put(record(3))  # a third waits: over the bound
    assert view.oldest(5) is None
    assert not view.complete


def test_the_log_serves_pending_from_the_watch_once_loaded() -> None:
    store = CountingStore()
    log = EtcdLog(store, CHAIN, b"\1" * 32)
    first, second = record(1), record(2)
    log.submit([first])
    assert [r.id for r in log.pending()] == [first.id]  # no watch: read from etcd
    assert store.ranges == 1 and not log.watched.complete
    log.watched.stream(True)
    assert [r.id for r in log.pending()] == [first.id]  # read once more, and loaded
    assert store.ranges == 2 and log.watched.complete
    sub = log.prefix + b"sub/"
    second.verify_signatures()  # as a node's admission does before it submits
    log.submit([second])
    assert log.observe([(sub + second.id.encode(), second.wire_bytes())]) == []  # ours
    assert [r.id for r in log.pending()] == [first.id, second.id]
    assert store.ranges == 2  # from memory
    log.decided([first.id])  # committed: out at once, before its deletion arrives
    assert [r.id for r in log.pending()] == [second.id]
    log.observe([(sub + second.id.encode(), b"")])  # the deletion
    assert log.pending() == [] and store.ranges == 2


def test_the_watch_hands_back_unverified_submissions_and_skips_misplaced_ones() -> None:
    log = EtcdLog(CountingStore(), CHAIN, b"\2" * 32)
    log.watched.stream(True)
    log.watched.load([], complete=True)
    sub = log.prefix + b"sub/"
    theirs, misplaced = record(5), record(6)
    unverified = log.observe([
        (sub + theirs.id.encode(), theirs.wire_bytes()),
        (sub + b"0" * 64, misplaced.wire_bytes()),  # not at its own id
        (sub + b"junk", b"{not json"),
        (log.prefix + b"vote/000000000001/v", b"{}"),
    ])
    assert [r.id for r in unverified] == [theirs.id]
    assert not unverified[0].verified
    assert [r.id for r in log.pending()] == [theirs.id]
    unverified[0].verify_signatures()
    log.verified.remember(unverified)
    again = log.observe([(sub + theirs.id.encode(), theirs.wire_bytes())])
    assert again == []  # verified once, never again
    assert log.pending()[0].verified
