"""No record can stop the chain: a block that fails to execute or encode loses the record
that makes it fail (found by bisection, rejected ``record_unprocessable``), the rest commit,
the journal forgets it, and a validator that cannot execute a block withholds its vote."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ledger.application import BlockContext, Execution
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.journal import PendingJournal
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import ConsensusError, RecordUnprocessable
from ledger.limits import json_int_max
from ledger.wire.record import Record

from .conftest import GENESIS_MS, make_genesis

UNPROCESSABLE = RecordUnprocessable.code


class PoisonedApp(CounterApp):
    """The counter application with a bug: executing a block that holds an ``add`` to the
    counter named ``poison`` raises (as an application bug or an overflow would)."""

    executions = 0

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        PoisonedApp.executions += 1
        if any(r.payload.get("name") == "poison" for r in records):
            raise ZeroDivisionError("the application trips on a poison record")
        return super().execute(ctx, records)


def _open(path: Path, keys: list[SigningKey], factory: Callable[[int], type[CounterApp]],
          genesis: Genesis | None = None) -> Consortium:
    """A consortium over ``path`` whose replica ``i`` runs ``factory(i)``, with a journal."""
    made = iter(range(len(keys)))
    return Consortium(path, genesis or make_genesis(keys), keys, lambda: factory(next(made))(),
                      ManualClock(GENESIS_MS, step_ms=1),
                      journal=PendingJournal(path.parent / f"{path.name}-journal.sqlite"))


def _counter(consortium: Consortium, name: str) -> int:
    return consortium.gateway().app.committed.get(name, 0)  # type: ignore[attr-defined]


def test_the_proposer_bisects_a_failing_record_out_and_commits_the_rest(
        tmp_path: Path, validator_keys: list[SigningKey], add: Callable[..., Record]) -> None:
    chain = _open(tmp_path / "chain", validator_keys, lambda i: PoisonedApp)
    records = [add(by=1, name=f"c{n}") for n in range(7)]
    poison = add(by=1, name="poison")
    later = [add(by=2, name=f"c{n}") for n in range(5)]
    for record in [*records, poison, *later]:
        chain.submit(record)
    PoisonedApp.executions = 0
    block = chain.produce_block()
    assert block is not None and block.header.height == 1
    assert [r.id for r in block.records] == [r.id for r in [*records, *later]]
    outcome = chain.outcome(poison.id)
    assert outcome is not None and outcome.code == UNPROCESSABLE
    assert chain.unprocessable == 1 and chain.votes_withheld == 0
    assert [_counter(chain, f"c{n}") for n in range(7)] == [3] * 5 + [1] * 2
    # a bisection: about log2(13) prefix executions on the proposer, not one per record
    proposer_runs = PoisonedApp.executions - (len(validator_keys) - 1)
    assert proposer_runs <= 1 + 1 + 4 + 1  # all, empty, ceil(log2 13) prefixes, the rest
    assert len(chain.journal) == 0  # type: ignore[arg-type]
    chain.close()
    reopened = _open(tmp_path / "chain", validator_keys, lambda i: PoisonedApp)
    assert len(reopened.mempool) == 0  # a restart does not replay the poison record
    reopened.submit(add(by=1, name="after"))
    assert reopened.produce_block() is not None and reopened.heights() == [2, 2, 2, 2]
    reopened.close()


def test_a_value_past_the_canonical_range_is_left_out_not_a_frozen_chain(
        tmp_path: Path, validator_keys: list[SigningKey], add: Callable[..., Record]) -> None:
    # The counter application bounds each ``by`` but not the sum: the changes of a block that
    # pushes ``big`` past 2**53-1 cannot be encoded (the attack on the exchange, in small).
    genesis = make_genesis(validator_keys, app={"counters": {"big": json_int_max - 1}})
    chain = _open(tmp_path / "chain", validator_keys, lambda i: CounterApp, genesis)
    fine, overflow, other = add(by=1, name="big"), add(by=5, name="big"), add(by=4, name="b")
    for record in (fine, overflow, other):
        chain.submit(record)
    block = chain.produce_block()
    assert block is not None and [r.id for r in block.records] == [fine.id, other.id]
    assert chain.outcome(overflow.id).code == UNPROCESSABLE  # type: ignore[union-attr]
    assert _counter(chain, "big") == json_int_max and _counter(chain, "b") == 4
    chain.submit(add(by=1, name="b"))
    assert chain.produce_block() is not None and _counter(chain, "b") == 5


def test_a_validator_that_cannot_execute_a_block_does_not_sign_and_the_rest_go_on(
        tmp_path: Path, validator_keys: list[SigningKey], add: Callable[..., Record]) -> None:
    # Only replica 3 has the bug: the other three execute the block and certify it.
    chain = _open(tmp_path / "chain", validator_keys,
                  lambda i: PoisonedApp if i == 3 else CounterApp)
    for record in (add(by=1, name="a"), add(by=1, name="poison")):
        chain.submit(record)
    assert chain.produce_block() is not None
    assert chain.votes_withheld == 1 and chain.heights() == [1, 1, 1, 0]
    chain.submit(add(by=1, name="a"))
    assert chain.produce_block() is not None  # replica 3 cannot catch up; nobody waits for it
    assert chain.heights() == [2, 2, 2, 0] and chain.catch_up_failures >= 1
    assert _counter(chain, "a") == 2 and _counter(chain, "poison") == 1


def test_an_application_that_fails_on_an_empty_block_is_a_failed_round(
        tmp_path: Path, validator_keys: list[SigningKey], add: Callable[..., Record]) -> None:
    class Broken(CounterApp):
        def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
            raise RuntimeError("begin block fails")

    chain = _open(tmp_path / "chain", validator_keys, lambda i: Broken)
    record = add(by=1)
    chain.submit(record)
    with pytest.raises(ConsensusError) as failed:
        chain.produce_block()
    assert failed.value.code == "block_unexecutable"
    assert chain.heights() == [0, 0, 0, 0] and record.id in chain.mempool
    assert chain.outcome(record.id) is None  # nothing decided: the record is not to blame
