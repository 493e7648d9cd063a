"""A byzantine proposer: blocks that break a rule are refused by every validator, unsigned.

The proposer of the next block sends a block it forged (``forge`` in conftest: the header
computed honestly from the records it chose, then one field bent). Each validator re-executes
it and refuses with the code of the rule broken; nobody signs, nothing commits, nothing
changes; once the proposer behaves, the same records commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.application import BlockContext, Execution
from ledger.chain.block import Block, records_root
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.replica import Proposal, Replica
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.errors import ConsensusError, LedgerError
from ledger.limits import block_time_step_ms_max
from ledger.wire.record import Record

from .conftest import GENESIS_MS, make_genesis

Add = Callable[..., Record]
Forge = Callable[..., Block]
Forgery = Callable[[Add, Replica, Forge], Block]
STRANGER = SigningKey.from_seed(b"\x66" * 32)


def _forged_signature(add: Add, proposer: Replica, forge: Forge) -> Block:
    record = add()
    forged = Record(record.body, [STRANGER.sign(record.id_bytes)], record.body_bytes)
    return forge(proposer, [forged])


def _equal_sequence(add: Add, proposer: Replica, forge: Forge) -> Block:
    first = add(1)
    return forge(proposer, [first, add(2, seq=first.seq)])


def _wrong_root(add: Add, proposer: Replica, forge: Forge) -> Block:
    record, other = add(1), add(2)
    return forge(proposer, [record], root=records_root([other]).hex())


FORGERIES: list[tuple[str, Forgery, str, str]] = [
    ("forged record signature", _forged_signature, "bad_signature", "does not verify"),
    ("record of another chain", lambda add, p, forge: forge(p, [add(chain="other-chain")]),
     "block_invalid", "record of another chain"),
    ("replayed sequence number", lambda add, p, forge: forge(p, [add(seq=2)]),
     "block_invalid", "replays a sequence number"),
    ("equal sequence numbers in one block", _equal_sequence, "block_invalid",
     "replays a sequence number"),
    ("wrong Merkle root", _wrong_root, "block_invalid", "Merkle root"),
    ("wrong record count", lambda add, p, forge: forge(p, [add()], records=2, total=p.total + 2),
     "block_invalid", "header says 2 records"),
    ("wrong running total", lambda add, p, forge: forge(p, [add()], total=p.total + 2),
     "block_invalid", "total does not follow"),
    ("a record the application rejects", lambda add, p, forge: forge(p, [add(by=-100)]),
     "block_invalid", r"block 2: record [0-9a-f]{64} rejected: counter_negative$"),
    ("an expired record", lambda add, p, forge: forge(p, [add(expires=p.time_ms)]),
     "block_invalid", "expired"),
    ("a record expiring too far ahead", lambda add, p, forge: forge(
        p, [add(expires=p.time_ms + 1 + p.genesis.params.record_ttl_ms_max + 1)]),
     "block_invalid", "more than"),
    ("wrong state commitment", lambda add, p, forge: forge(p, [add()], state="00" * 32),
     "block_invalid", "block 2: state commitment differs$"),
    ("time not after the last block", lambda add, p, forge: forge(p, [add()], time_ms=p.time_ms),
     "block_invalid", "time_not_increasing"),
    ("time too far ahead", lambda add, p, forge: forge(
        p, [add()], time_ms=p.time_ms + block_time_step_ms_max + 1),
     "block_invalid", "time_not_increasing"),
]


@pytest.mark.parametrize(("make", "code", "why"),
                         [pytest.param(m, c, w, id=i) for i, m, c, w in FORGERIES])
def test_every_validator_refuses_a_byzantine_block_and_nobody_signs(
        make_consortium: Callable[..., Consortium], add: Add, forge: Forge,
        snapshot: Callable[[Consortium], Any], monkeypatch: pytest.MonkeyPatch,
        make: Forgery, code: str, why: str) -> None:
    consortium = make_consortium()
    for _ in range(3):  # the user's sequence numbers 1..3 are committed
        consortium.submit(add())
    assert consortium.produce_block() is not None
    refusals: list[tuple[str, str, str]] = []
    signers: list[str] = []
    for replica in consortium.live:
        honest_validate, honest_sign = replica.validate, replica.sign

        def propose(candidates: Any, now_ms: int, replica: Replica = replica) -> Proposal:
            return Proposal(make(add, replica, forge))

        def validate(block: Block, replica: Replica = replica,
                     honest: Callable[[Block], None] = honest_validate) -> None:
            try:
                honest(block)
            except LedgerError as exc:
                refusals.append((replica.name, exc.code, str(exc)))
                raise

        def sign(block: Block, replica: Replica = replica, honest: Any = honest_sign) -> Any:
            signers.append(replica.name)
            return honest(block)

        monkeypatch.setattr(replica, "propose", propose)
        monkeypatch.setattr(replica, "validate", validate)
        monkeypatch.setattr(replica, "sign", sign)
    consortium.submit(add())  # a candidate, so that a round runs
    before = snapshot(consortium)

    with pytest.raises(ConsensusError) as caught:
        consortium.produce_block()

    assert caught.value.code == "no_quorum"
    assert signers == []
    assert sorted(name for name, _, _ in refusals) == sorted(r.name for r in consortium.live)
    for name, refused_code, message in refusals:
        assert (refused_code, bool(re.search(why, message))) == (code, True), (name, message)
    assert snapshot(consortium) == before
    monkeypatch.undo()  # the proposer behaves again: the queued record commits
    assert consortium.run_until_idle() == 1
    assert consortium.heights() == [2, 2, 2, 2]


def test_a_validator_holding_a_valid_block_still_checks_another_of_that_height(
        make_consortium: Callable[..., Consortium], add: Add, forge: Forge) -> None:
    """An equivocating proposer: after a valid block, a forged twin of it is still refused."""
    consortium = make_consortium()
    proposer, validator = consortium.live[0], consortium.live[1]
    honest = forge(proposer, [add()])
    validator.validate(honest)
    assert validator.validated(honest.header)
    twin = forge(proposer, [add()], state="00" * 32)
    assert twin.header.height == honest.header.height

    with pytest.raises(ConsensusError) as caught:
        validator.validate(twin)

    assert caught.value.code == "block_invalid"
    assert not validator.validated(twin.header) and not validator.validated(honest.header)


class _Witness(CounterApp):
    """Counters that remember the context of every block they execute."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[BlockContext] = []

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        self.contexts.append(ctx)
        return super().execute(ctx, records)


def test_validators_execute_a_block_at_its_chain_height_and_time(
        tmp_path: Path, validator_keys: list[SigningKey], add: Add) -> None:
    """The application sees the proposer's block time, not a validator's own clock."""
    consortium = Consortium(tmp_path / "witness", make_genesis(validator_keys), validator_keys,
                            _Witness, ManualClock(GENESIS_MS, step_ms=7))
    try:
        for _ in range(2):
            consortium.submit(add())
            block = consortium.produce_block()
            assert block is not None
        header = block.header
        assert (header.height, header.time_ms > GENESIS_MS) == (2, True)
        for replica in consortium.live:
            app = replica.app
            assert isinstance(app, _Witness)
            assert app.contexts[-1] == BlockContext(header.chain, 2, header.time_ms), replica.name
    finally:
        consortium.close()


def test_a_validator_that_cannot_execute_a_block_refuses_it_as_unexecutable(
        make_consortium: Callable[..., Consortium], add: Add, forge: Forge,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure of its own application, not a broken rule: a code apart from block_invalid."""
    consortium = make_consortium()
    proposer, validator = consortium.live[0], consortium.live[1]
    block = forge(proposer, [add()])

    def broken(ctx: BlockContext, records: Sequence[Record]) -> Execution:
        raise RuntimeError("the application's disk is full")

    monkeypatch.setattr(validator.app, "execute", broken)
    with pytest.raises(ConsensusError) as caught:
        validator.validate(block)

    assert caught.value.code == "block_unexecutable"
    assert "block 1 cannot be executed here" in str(caught.value)
    assert "disk is full" in str(caught.value)
    assert not validator.validated(block.header)
