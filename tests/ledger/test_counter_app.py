"""Tests of ledger.counter (the reference application) and the application seam (APP-1..6)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.application import (
    OK,
    BlockContext,
    Change,
    Execution,
    ValidatorInfo,
    changes_digest,
    next_state,
)
from ledger.chain.genesis import Genesis
from ledger.consensus.consortium import Consortium
from ledger.consensus.replica import Replica
from ledger.counter import BY_MAX, TABLE, CounterApp
from ledger.crypto.keys import SigningKey
from ledger.wire.canonical import canonical_bytes
from ledger.wire.record import Record, make_body, sign_body

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000

CTX = BlockContext("test-chain", 1, 1_700_000_000_001)
KEY = SigningKey.from_seed(b"\x0a" * 32)


def _raw(type_: str, payload: dict[str, Any], seq: int = 1) -> Record:
    return sign_body(make_body("test-chain", type_, [KEY.public_hex], seq, payload,
                               expires=EXPIRES), [KEY])


def _app(**counters: int) -> CounterApp:
    app = CounterApp()
    app.restore({TABLE: [{"name": k, "value": v} for k, v in counters.items()]})
    return app


@pytest.mark.parametrize(("type_", "payload", "code"), [
    ("counter.add", {"name": "a", "by": 1}, OK),
    ("counter.add", {"name": "a", "by": -5}, OK),
    ("counter.add", {"name": "a", "by": -6}, "counter_negative"),
    ("counter.add", {"name": "new", "by": -1}, "counter_negative"),
    ("counter.sub", {"name": "a", "by": 1}, "unknown_record_type"),
    ("counter.add", {"name": "a", "by": 1, "memo": "x"}, "unknown_record_type"),
    ("counter.add", {"name": "a"}, "unknown_record_type"),
    ("counter.add", {"name": "", "by": 1}, "invalid_name"),
    ("counter.add", {"name": "n" * 65, "by": 1}, "invalid_name"),
    ("counter.add", {"name": 5, "by": 1}, "invalid_name"),
    ("counter.add", {"name": "a", "by": "1"}, "invalid_amount"),
    ("counter.add", {"name": "a", "by": True}, "invalid_amount"),
    ("counter.add", {"name": "a", "by": BY_MAX + 1}, "invalid_amount"),
    ("counter.add", {"name": "a", "by": -BY_MAX - 1}, "invalid_amount"),
])
def test_check_codes(type_: str, payload: dict[str, Any], code: str) -> None:
    assert _app(a=5).check(_raw(type_, payload)) == code


def test_app1_check_has_no_side_effects() -> None:
    app = _app(a=5)
    for _ in range(3):
        assert app.check(_raw("counter.add", {"name": "a", "by": -5})) == OK
    assert app.committed == {"a": 5} and app.working == {}


def test_app2_a_rejected_record_changes_nothing() -> None:
    a = _raw("counter.add", {"name": "a", "by": 2}, seq=1)
    bad = _raw("counter.add", {"name": "a", "by": -100}, seq=2)
    c = _raw("counter.add", {"name": "b", "by": 3}, seq=3)
    with_bad = _app(a=1).execute(CTX, [a, bad, c])
    without = _app(a=1).execute(CTX, [a, c])
    assert with_bad.codes == [OK, "counter_negative", OK]
    assert with_bad.changes == without.changes
    assert with_bad.accepted == [0, 2]


def test_app2_records_apply_in_order_within_a_block() -> None:
    up = _raw("counter.add", {"name": "a", "by": 5}, seq=1)
    down = _raw("counter.add", {"name": "a", "by": -5}, seq=2)
    assert _app().execute(CTX, [up, down]).codes == [OK, OK]
    assert _app().execute(CTX, [down, up]).codes == ["counter_negative", OK]


def test_app3_execute_returns_changed_rows() -> None:
    app = _app(a=1, z=9)
    execution = app.execute(CTX, [_raw("counter.add", {"name": "b", "by": 2}),
                                  _raw("counter.add", {"name": "a", "by": 2}, seq=2)])
    assert execution.changes == [Change(TABLE, ("a",), ("a", 3)), Change(TABLE, ("b",), ("b", 2))]


def test_app4_commit_and_discard() -> None:
    app = _app(a=1)
    app.execute(CTX, [_raw("counter.add", {"name": "a", "by": 2})])
    app.discard()
    assert app.committed == {"a": 1}
    app.execute(CTX, [_raw("counter.add", {"name": "a", "by": 2})])
    app.commit()
    assert app.committed == {"a": 3} and app.working == {}


def test_app5_same_records_give_same_changes_and_state() -> None:
    records = [_raw("counter.add", {"name": f"n{i % 3}", "by": i}, seq=i) for i in range(1, 20)]
    one, two = _app(), _app()
    first, second = one.execute(CTX, records), two.execute(CTX, records)
    assert first.changes == second.changes
    assert next_state(b"\x00" * 32, first.changes) == next_state(b"\x00" * 32, second.changes)


def test_app6_restore_rebuilds_the_committed_state(make_consortium: Callable[..., Consortium],
                                                   add: Callable[..., Record]) -> None:
    consortium = make_consortium(n=1)
    for name, by in (("a", 3), ("b", 4), ("a", 5)):
        consortium.submit(add(by, name))
        consortium.produce_block()
    replica = consortium.replicas[0]
    assert replica is not None
    app = CounterApp()
    app.restore({TABLE: replica.store.app_rows(TABLE)})
    assert app.committed == replica.app.committed == {"a": 8, "b": 4}  # type: ignore[attr-defined]


def test_app7_rows_are_the_committed_counters() -> None:
    app = _app(a=1, z=9)
    app.execute(CTX, [_raw("counter.add", {"name": "b", "by": 2})])
    assert sorted(app.rows(TABLE)) == [("a", 1), ("z", 9)]  # not before commit
    app.commit()
    assert sorted(app.rows(TABLE)) == [("a", 1), ("b", 2), ("z", 9)]


def test_changes_digest_is_order_independent_and_domain_separated() -> None:
    changes = [Change(TABLE, ("b",), ("b", 2)),
               Change(TABLE, ("a",), None), Change("other", (1, "x"), (1, "x", None))]
    expected_list = [["c_counters", ["a"], None], ["c_counters", ["b"], ["b", 2]],
                     ["other", [1, "x"], [1, "x", None]]]
    expected = hashlib.sha256(b"\x16" + canonical_bytes(expected_list)).digest()
    assert changes_digest(changes) == expected
    assert changes_digest(list(reversed(changes))) == expected
    previous = b"\x42" * 32
    assert next_state(previous, changes) == hashlib.sha256(b"\x12" + previous + expected).digest()
    assert changes_digest([]) == hashlib.sha256(b"\x16[]").digest()


def test_changes_sort_by_key_values_integers_numerically() -> None:
    """docs/PROTOCOL.md section 8: keys compare element by element, 9 before 10."""
    changes = [Change("t", (10, "b"), (1,)), Change("t", (9, "z"), None),
               Change("t", (10, "a"), (2,)), Change("s", (99,), None)]
    expected_list = [["s", [99], None], ["t", [9, "z"], None], ["t", [10, "a"], [2]],
                     ["t", [10, "b"], [1]]]
    assert changes_digest(changes) == hashlib.sha256(
        b"\x16" + canonical_bytes(expected_list)).digest()


def test_genesis_state_is_folded_from_the_genesis_hash(tmp_path: Path,
                                                       validator_keys: list[SigningKey]) -> None:
    genesis = Genesis("test-chain", 1_700_000_000_000,
                      (ValidatorInfo("v0", validator_keys[0].public_hex),),
                      app={"counters": {"b": 5, "a": 2}})
    replica = Replica("node-0", tmp_path / "n.sqlite", genesis, CounterApp(), validator_keys[0])
    try:
        rows = [Change(TABLE, ("a",), ("a", 2)), Change(TABLE, ("b",), ("b", 5))]
        assert replica.state == next_state(genesis.hash, rows)
        assert replica.store.meta("genesis_state") == replica.state.hex()
        assert replica.app.committed == {"a": 2, "b": 5}  # type: ignore[attr-defined]
        assert list(replica.store.app_rows(TABLE)) == [{"name": "a", "value": 2},
                                                       {"name": "b", "value": 5}]
    finally:
        replica.close()


def test_init_chain_without_counters_is_empty() -> None:
    assert CounterApp().init_chain("c", 0, {}) == Execution([], [])


def test_every_requirement_is_listed_and_named_by_a_test() -> None:
    """docs/REQUIREMENTS.md lists the seam's requirements (as ledger.application states them),
    and each has a test named after it."""
    import ledger.application

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "REQUIREMENTS.md").read_text(encoding="utf-8")
    stated = set(re.findall(r"APP-(\d+)", ledger.application.__doc__ or ""))
    listed = set(re.findall(r"^\| APP-(\d+) \|", doc, re.M))
    assert stated == listed and len(listed) >= 7
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (root / "tests").rglob("test_*.py"))
    for number in sorted(listed):
        assert re.search(rf"def test_app{number}_", tests), f"no test names APP-{number}"
    for example in re.findall(r"```python\n(.*?)```", doc, re.S):
        exec(compile(example, "docs/REQUIREMENTS.md", "exec"), {})  # the examples run
