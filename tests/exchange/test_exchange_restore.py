"""Replicas and restarts: same blocks, same changes (APP-5); restore from rows (APP-6)."""

from __future__ import annotations

from typing import Any

import pytest

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.errors import ReadOnlyState
from exchange.state import env
from exchange.state.tables import SPEC_BY_NAME, as_row
from ledger.application import (
    Application,
    BlockContext,
    Change,
    Execution,
    next_state,
    ordered_changes,
)
from ledger.wire.record import Record

Chain = Any  # the conftest driver
Blocks = list[tuple[BlockContext, list[Record]]]


def _busy_history(c: Chain) -> Chain:
    """A little of everything: issuing, expiry, swaps, promotion, rate change, settlement."""
    day, hour = c.DAY, c.HOUR
    t = c.T0 + hour
    c.block(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 500, "a"),
            c.rec(R.issue, c.vk, "vk", c.bob.public_hex, 300, "b"), at=t)
    c.block(c.rec(R.promote, c.bp, "bp", "vk", 1000, t, t + 3 * day),
            c.rec(R.post_rate, c.vk, "vk", 200), at=t + hour)
    c.block(c.rec(R.swap, c.alice, "vk", 200, "bp", 0, 1, 1),
            c.rec(R.redeem, c.bob, "vk", 900, "refused"), at=t + 2 * hour)
    c.block(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 50), at=t + 5 * day)
    c.block(c.rec(R.swap, c.alice, "vk", 100, "bp", 0, 2, 1), at=t + 8 * day)
    c.block(c.rec(R.settle, [c.vk, c.bp], "village-kitchen", "burger-palace", 100),
            c.rec(R.rotate_key, c.vk, "merchant", "village-kitchen", c.ns.public_hex),
            at=t + 9 * day)
    c.block(c.rec(R.suspend_member, c.members[:3], "m3"), at=t + 20 * day)
    c.block(at=t + 40 * day)  # everything earned on day 0 and 5 has lapsed
    c.block(c.rec(R.issue, c.ns, "vk", c.alice.public_hex, 70), at=t + 41 * day)
    return c


def _replay(app: ExchangeApp, blocks: Blocks) -> list[Execution]:
    results = []
    for ctx, records in blocks:
        results.append(app.execute(ctx, records))
        app.commit()
    return results


def _store_rows(init: list[Change], executions: list[Execution]) -> dict[str, list[Any]]:
    store: dict[str, dict[Any, Any]] = {}
    for change in init + [ch for ex in executions for ch in ex.changes]:
        table = store.setdefault(change.table, {})
        if change.row is None:
            table.pop(change.key, None)
        else:
            table[change.key] = as_row(change.table, change.row)
    return {name: list(rows.values()) for name, rows in store.items()}


def _same(a: Execution, b: Execution) -> None:
    key = lambda ch: (ch.table, repr(ch.key))  # noqa: E731
    assert a.codes == b.codes
    assert sorted(a.changes, key=key) == sorted(b.changes, key=key)
    assert a.validators == b.validators


@pytest.fixture
def history(alliance: Chain) -> Chain:
    return _busy_history(alliance)


def test_app5_two_replicas_hold_the_same_state_commitment(history: Chain) -> None:
    roots, codes = [], []
    for _ in range(2):
        app = ExchangeApp()
        state = next_state(b"\0" * 32, app.init_chain("test-alliance", history.T0,
                                                       history.genesis).changes)
        executions = _replay(app, history.blocks)
        for ex in executions:
            state = next_state(state, ex.changes)
        roots.append(state)
        codes.append([c for ex in executions for c in ex.codes])
        assert app.audit() == []
    assert roots[0] == roots[1]
    assert codes[0] == codes[1]
    assert [c for c in codes[0] if c != "ok"] == ["insufficient_balance"]


def test_app3_changes_come_out_in_the_digests_order(history: Chain) -> None:
    """collect_changes emits table by table, keys in order, so the ledger's sort of a
    block's changes (for the state commitment) is one pass over them."""
    app = ExchangeApp()
    executions = [app.init_chain("test-alliance", history.T0, history.genesis)]
    app.commit()
    executions += _replay(app, history.blocks)
    tables = set()
    for ex in executions:
        assert ex.changes == ordered_changes(ex.changes)
        tables |= {c.table for c in ex.changes}
    assert {"x_balances", "x_lots", "x_history", "x_swaps", "x_events", "x_programs"} <= tables


def test_app3_every_row_has_its_tables_columns_and_types(history: Chain) -> None:
    """Rows are tuples in the order of the table's declared columns; a value of the wrong
    type in a column would mean two columns were swapped."""
    app = ExchangeApp()
    executions = [app.init_chain("test-alliance", history.T0, history.genesis)]
    app.commit()
    executions += _replay(app, history.blocks)
    declared = [tuple(SPEC_BY_NAME[t].columns) for t in (env.HISTORY, env.EVENTS, env.SWAPS)]
    assert declared == [env.HISTORY_COLUMNS, env.EVENT_COLUMNS, env.SWAP_COLUMNS]
    for change in (c for ex in executions for c in ex.changes if c.row is not None):
        spec = SPEC_BY_NAME[change.table]
        assert type(change.row) is tuple and len(change.row) == len(spec.columns), change
        for (column, kind), value in zip(spec.columns.items(), change.row, strict=True):
            assert value is None or type(value) is kind, (change.table, column, value)
        row = dict(zip(spec.columns, change.row, strict=True))
        assert tuple(row[c] for c in spec.pk) == change.key, change


@pytest.mark.parametrize("split", [1, 6, 10, None])
def test_app7_rows_of_the_state_are_what_the_changes_built(history: Chain,
                                                         split: int | None) -> None:
    """The rows the application gives for its committed state equal, table by table, the
    rows its changes built up block after block (the verifier compares stored rows with
    them), also after a restore from those rows."""
    app = ExchangeApp()
    init = app.init_chain("test-alliance", history.T0, history.genesis).changes
    app.commit()
    executions = _replay(app, history.blocks[:split])
    built = _store_rows(init, executions)
    restored = ExchangeApp()
    restored.restore({n: r for n, r in built.items() if SPEC_BY_NAME[n].restore})
    for spec in app.tables():
        if not spec.restore:
            continue
        want = sorted(tuple(row.values()) for row in built.get(spec.name, []))
        assert sorted(app.rows(spec.name)) == want, spec.name
        assert sorted(restored.rows(spec.name)) == want, spec.name
    if split is None:
        assert all(app.rows(name) for name in ("x_balances", "x_lots", "x_flows"))


@pytest.mark.parametrize("split", [3, 5, 8, 10, 12, 14])
def test_app6_a_restored_app_continues_exactly_like_one_that_never_stopped(
        history: Chain, split: int) -> None:
    blocks = history.blocks
    first = ExchangeApp()
    init = first.init_chain("test-alliance", history.T0, history.genesis).changes
    before = _replay(first, blocks[:split])
    restorable = {spec.name for spec in first.tables() if spec.restore}
    rows = {name: r for name, r in _store_rows(init, before).items() if name in restorable}
    restored = ExchangeApp()
    restored.restore(rows)
    assert restored.audit() == []
    never_stopped = ExchangeApp()
    never_stopped.init_chain("test-alliance", history.T0, history.genesis)
    expected = _replay(never_stopped, blocks)[split:]
    for got, want in zip(_replay(restored, blocks[split:]), expected, strict=True):
        _same(got, want)


def test_app4_discarded_block_leaves_no_trace(history: Chain) -> None:
    app, other = ExchangeApp(), ExchangeApp()
    for a in (app, other):
        a.init_chain("test-alliance", history.T0, history.genesis)
    blocks = history.blocks
    _replay(app, blocks[:-3])
    _replay(other, blocks[:-3])
    ctx, records = blocks[-3]
    app.execute(ctx, records)
    app.discard()
    for got, want in zip(_replay(app, blocks[-3:]), _replay(other, blocks[-3:]), strict=True):
        _same(got, want)


def test_app1_check_sees_only_committed_state(alliance: Chain) -> None:
    c = alliance
    earn = c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 100)
    spend = c.rec(R.redeem, c.alice, "vk", 100, "lunch")
    c.app.execute(BlockContext("test-alliance", c.height + 1, c.time_ms + 1), [earn])
    assert c.app.check(spend) == "insufficient_balance"  # the block is not committed yet
    c.app.commit()
    assert c.app.check(spend) == "ok"


def test_the_app_implements_the_ledger_interface_and_its_view_is_read_only(
        alliance: Chain) -> None:
    app: Application = alliance.app  # the Protocol, checked by type checkers
    assert app.tables()
    with pytest.raises(ReadOnlyState):
        alliance.app.view.programs.put("vk", None)
