"""A refusal is final, and a signed record does not live forever (issue 15, part 3), and one
signer's records sent out of order all commit (part 6).

A record commits only at a block time ``t`` with ``t <= expires <= t + record_ttl_ms_max``;
the node checks it at submission (its clock is the candidate block time), the proposer drops
what expired in the mempool, validators refuse a block that holds one, and the verifier
flags it in a stored chain. A record id once rejected gets its first answer again, also
after a restart, until it expires.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.block import Block
from ledger.chain.genesis import Genesis
from ledger.consensus import replica as ledger_node
from ledger.consensus.consortium import Consortium
from ledger.consensus.rejections import RejectedIds
from ledger.counter import CounterApp
from ledger.errors import ConsensusError, ExpiryTooFar, RecordExpired, RejectedBefore
from ledger.limits import record_ttl_ms_max_default
from ledger.verify.store_source import StoreSource
from ledger.verify.verifier import verify_chain
from ledger.wire.record import Record

GENESIS_MS = 1_700_000_000_000
TTL = record_ttl_ms_max_default


def test_an_expired_record_is_refused_at_submission_and_nothing_changes(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        snapshot: Callable[[Consortium], Any]) -> None:
    consortium = make_consortium()
    before = snapshot(consortium)
    with pytest.raises(RecordExpired):
        consortium.submit(add(expires=GENESIS_MS - 1))
    assert snapshot(consortium) == before


def test_a_record_expiring_too_far_ahead_is_refused(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    consortium = make_consortium()
    now = consortium.clock.peek_ms()
    with pytest.raises(ExpiryTooFar):
        consortium.submit(add(expires=now + TTL + 2))
    consortium.submit(add(expires=now + TTL))  # the edge itself is allowed
    assert consortium.produce_block() is not None


def test_records_that_expire_in_the_mempool_are_dropped_at_proposal_with_their_code(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    consortium = make_consortium()
    soon, later = add(expires=GENESIS_MS + 1000), add(expires=GENESIS_MS + TTL)
    consortium.submit_many([soon, later])
    consortium.clock.advance(5000)  # type: ignore[attr-defined]
    block = consortium.produce_block()
    assert block is not None and [r.id for r in block.records] == [later.id]
    assert consortium.outcome(soon.id).code == "record_expired"  # type: ignore[union-attr]


def test_validators_refuse_a_block_from_a_proposer_that_includes_an_expired_record(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        monkeypatch: pytest.MonkeyPatch) -> None:
    consortium = make_consortium()
    stale = add(expires=GENESIS_MS + 10)
    consortium.clock.advance(60_000)  # type: ignore[attr-defined]
    proposer, validator = consortium.replicas[0], consortium.replicas[1]
    assert proposer is not None and validator is not None
    with monkeypatch.context() as byzantine:  # the proposer skips the expiry rule
        byzantine.setattr(ledger_node, "expiry_code", lambda *_: None)
        proposal = proposer.propose([stale], consortium.clock.now_ms())
    assert [r.id for r in proposal.block.records] == [stale.id]
    with pytest.raises(ConsensusError, match="expired"):
        validator.validate(Block(proposal.block.header, proposal.block.records))
    proposer.discard()


def test_a_refused_record_sent_again_after_the_state_changed_gets_its_first_answer(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    """The attack: a spend refused for want of balance, re-sent once the account holds
    enough, must not commit (here a counter that may not go negative stands in for it)."""
    consortium = make_consortium()
    spend = add(by=-8000, name="points")
    with pytest.raises(Exception) as refused:
        consortium.submit(spend)
    assert refused.value.code == "counter_negative"  # type: ignore[attr-defined]
    consortium.submit(add(by=10_000, name="points"))  # the customer earns more
    consortium.run_until_idle()
    with pytest.raises(RejectedBefore) as again:
        consortium.submit(spend)
    assert again.value.code == "counter_negative"
    consortium.run_until_idle()
    assert consortium.gateway().app.committed["points"] == 10_000  # type: ignore[attr-defined]
    assert consortium.outcome(spend.id).code == "counter_negative"  # type: ignore[union-attr]


def test_a_record_rejected_at_block_time_is_refused_with_its_code_also_after_a_restart(
        tmp_path: Path, genesis: Genesis, make_consortium: Callable[..., Consortium],
        add: Callable[..., Record]) -> None:
    path = tmp_path / "rejected.sqlite"
    consortium = make_consortium(data_dir=tmp_path / "chain", rejected=RejectedIds(path))
    first, second = add(by=-3, name="x", seq=5), add(by=-3, name="x", seq=6)
    consortium.submit(add(by=4, name="x", seq=1))
    consortium.run_until_idle()
    consortium.submit_many([first, second])  # each alone passes the check; together not
    consortium.run_until_idle()
    assert consortium.outcome(second.id).code == "counter_negative"  # type: ignore[union-attr]
    consortium.close()
    reopened = make_consortium(data_dir=tmp_path / "chain", rejected=RejectedIds(path))
    with pytest.raises(RejectedBefore) as again:
        reopened.submit(second)
    assert again.value.code == "counter_negative"
    assert reopened.outcome(second.id).code == "counter_negative"  # type: ignore[union-attr]


def test_rejected_ids_are_forgotten_once_expired_and_bounded() -> None:
    ids = RejectedIds(ids_max=2)
    ids.add([("a" * 64, "counter_negative", 100), ("b" * 64, "record_expired", 200)])
    assert ids.full() and ids.code("a" * 64) == "counter_negative"
    assert ids.forget_expired(150) == 1
    assert ids.code("a" * 64) is None and ids.code("b" * 64) == "record_expired"
    assert not ids.full()


def test_one_signers_records_sent_out_of_order_all_commit(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    """Part 6: over several connections a signer's records arrive out of sequence order; the
    block takes them in order, so every acknowledged record commits."""
    consortium = make_consortium()
    records = [add(seq=s) for s in range(1, 41)]
    shuffled = records[1::2] + records[0::2]  # all evens, then all odds
    assert all(e is None for e in consortium.submit_many(shuffled))
    consortium.run_until_idle()
    assert all(consortium.outcome(r.id).height is not None  # type: ignore[union-attr]
               for r in records)


def test_a_lower_sequence_number_after_a_higher_one_was_taken_is_refused_at_once(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record]) -> None:
    """A record that could only be rejected later is refused now (409), never acknowledged."""
    consortium = make_consortium()
    high, low = add(seq=9), add(seq=8)
    consortium.submit(high)
    taken = consortium.mempool.take(10)
    with pytest.raises(Exception) as refused:
        consortium.submit(low)
    assert refused.value.code == "sequence_replayed"  # type: ignore[attr-defined]
    consortium.mempool.put_back(taken)
    consortium.mempool.settle()


def test_the_verifier_flags_a_chain_holding_an_expired_record(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record], genesis: Genesis,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consortium = make_consortium(data_dir=tmp_path / "chain")
    consortium.submit(add())
    consortium.run_until_idle()
    stale = add(expires=GENESIS_MS + 10)
    consortium.clock.advance(60_000)  # type: ignore[attr-defined]
    with monkeypatch.context() as everyone_byzantine:
        everyone_byzantine.setattr(ledger_node, "expiry_code", lambda *_: None)
        everyone_byzantine.setattr(ledger_node, "check_expiry", lambda *_: None)
        consortium.mempool.add(stale)
        assert consortium.produce_block() is not None
    consortium.close()
    data = tmp_path / "chain"
    source = StoreSource(str(data), genesis, sorted(data.glob("node-*.sqlite")))
    failure = verify_chain(source, CounterApp, workers=0).failure
    assert failure is not None and (failure.what, failure.height) == ("record_expired", 2)
    assert (failure.record, failure.found) == (stale.id, stale.expires)
    block_ms, last_ms = map(int, failure.expected.split(" .. "))  # the expires it would admit
    assert stale.expires < block_ms and last_ms == block_ms + genesis.params.record_ttl_ms_max
    assert failure.detail == "the record's expires does not admit the block's time"
