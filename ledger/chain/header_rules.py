"""Header validity: the one rule for whether a block header follows its parent.

Pure (no store, no clock): the replica (:meth:`ledger.consensus.replica.Replica.validate`)
and the chain verifier (:func:`ledger.verify.blocks.check_header`) both call
:func:`validate_header`, so the node and any checker share the rule, never a copy of it.
A broken rule raises :class:`ledger.errors.HeaderInvalid` whose ``code`` is the verifier's
documented failure code (docs/VERIFY.md), in check order:

``other_chain``, ``height_mismatch``, ``prev_hash_mismatch``, ``validator_set_mismatch``,
``time_not_increasing``, ``bad_proposer``.

What the header says about its own block (record count, total, Merkle root, state) is
checked against the block's contents by each caller, not here.

One more rule needs a clock, so it is separate: :func:`check_time_not_ahead`, which a
validator applies when it votes (``time_ahead_of_clock``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.application import ValidatorInfo
from ledger.chain.block import Header
from ledger.errors import HeaderInvalid
from ledger.limits import block_time_ahead_ms_max, block_time_step_ms_max

#: The codes :func:`validate_header` raises, in the order it checks them.
HEADER_CODES = ("other_chain", "height_mismatch", "prev_hash_mismatch",
                "validator_set_mismatch", "time_not_increasing", "bad_proposer")


@dataclass(frozen=True, slots=True)
class Parent:
    """What the next header must follow: the chain up to and including ``height``."""

    chain: str
    height: int
    hash: bytes  # the header hash at ``height`` (genesis hash at height 0)
    time_ms: int
    validators: tuple[ValidatorInfo, ...]  # the set in force for block ``height + 1``
    validators_hash: str  # hex of validator_set_hash(validators)


def validate_header(header: Header, parent: Parent) -> None:
    """Raise HeaderInvalid unless ``header`` can be the block after ``parent``.

    The time must grow, by at most ``block_time_step_ms_max``; the proposer must be in the
    validator set in force.
    """
    follows = (
        ("other_chain", parent.chain, header.chain, "chain id"),
        ("height_mismatch", parent.height + 1, header.height, "height"),
        ("prev_hash_mismatch", parent.hash.hex(), header.prev, "previous header hash"),
        ("validator_set_mismatch", parent.validators_hash, header.validators, "validator set"),
    )
    for code, expected, found, what in follows:
        if expected != found:
            raise HeaderInvalid(code, expected, found, f"the {what} does not follow the chain")
    if not parent.time_ms < header.time_ms <= parent.time_ms + block_time_step_ms_max:
        raise HeaderInvalid("time_not_increasing", f"> {parent.time_ms}", header.time_ms,
                            f"the time must grow, by at most {block_time_step_ms_max} ms")
    if not any(v.key == header.proposer for v in parent.validators):
        raise HeaderInvalid("bad_proposer", None, header.proposer,
                            "the proposer is not in the validator set")


def check_time_not_ahead(header: Header, now_ms: int) -> None:
    """Raise HeaderInvalid (``time_ahead_of_clock``) when ``header``'s time runs more than
    ``block_time_ahead_ms_max`` ahead of the voting validator's clock ``now_ms``.

    Block time drives expiry, vesting and posted rates taking effect, so a proposer that
    stamped a time hours ahead would lapse points early. A vote-time rule: the chain
    verifier has no clock to hold a past block to, and a replica catching up applies
    certified blocks (a quorum held them to their clocks when they voted)."""
    if header.time_ms > now_ms + block_time_ahead_ms_max:
        raise HeaderInvalid("time_ahead_of_clock", f"<= {now_ms + block_time_ahead_ms_max}",
                            header.time_ms, f"the time runs more than "
                            f"{block_time_ahead_ms_max} ms ahead of this validator's clock")
