"""A validator's check of the refusals a proposal lists, before it signs (issue 19).

A proposal names the submissions its proposer left out, with codes, and the proposer deletes
them from the log once the height commits: an unchecked claim would let a byzantine proposer
drop acknowledged records and tell their clients a false rejection. Every refusal is
deterministic, so a validator re-derives them all:

* a **pre-check** refusal (a record the proposer did not pass to ``Replica.propose``) follows
  from the record alone: :func:`precheck_code` (chain id, then signatures), the same function
  the proposer ran;
* every other refusal follows from the candidates, in the order the proposer passed them,
  and the block time: :meth:`Replica.propose` runs again on them (expiry, sequence, the
  application's codes, ``record_unprocessable`` by bisection) and must give the same header
  and the same refusals. That run replaces :meth:`Replica.validate`: it is at least as strict
  (every candidate's chain and signatures are checked first, the header must follow the
  parent, and the header it builds must equal the one proposed, field by field).

A refused record the validator cannot read from the log (``sub/``) is not trusted: the
proposal is refused. An honest proposer's refused records stay in ``sub/`` until the height
commits, so this refuses only a byzantine proposal, or one that raced the deletion of the
height before (then the next round proposes without it).
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.chain.header_rules import validate_header
from ledger.consensus.etcdlog import Decided
from ledger.consensus.replica import Replica
from ledger.errors import ConsensusError, HeaderInvalid, RecordRejected, WrongChain
from ledger.limits import proposal_refusals_max
from ledger.wire.record import Record

#: The ConsensusError code of a proposal whose refusals do not follow from its records.
REFUSALS_UNFOUNDED = "refusals_unfounded"


def precheck_code(record: Record, chain: str) -> str | None:
    """The code a proposer refuses ``record`` with before proposing (it names another chain,
    or a signature does not verify), or None when it may be proposed."""
    try:
        if record.chain != chain:
            raise WrongChain(f"record is for chain {record.chain!r}")
        record.verify_signatures()
    except RecordRejected as exc:
        return exc.code
    return None


def _unfounded(height: int, why: str) -> ConsensusError:
    return ConsensusError(f"block {height}: {why}", code=REFUSALS_UNFOUNDED)


def validate_with_refusals(replica: Replica, decided: Decided,
                           fetched: Mapping[str, Record]) -> None:
    """Validate ``decided`` (which lists refusals) by re-deriving it; raise ConsensusError
    unless the block and every refusal follow. ``fetched`` holds the refused records read
    from the log, by id. On success the block is validated (pending commit), as after
    :meth:`Replica.validate`."""
    block, rejected, order = decided.block, decided.rejected, decided.candidates
    h = block.header
    if replica.validated(h):
        return  # our own proposal
    if len(rejected) > proposal_refusals_max:
        raise _unfounded(h.height, f"{len(rejected)} refusals, over {proposal_refusals_max}")
    if (len(order) > replica.genesis.params.block_records_max
            or len(set(order)) != len(order)):
        raise _unfounded(h.height, "the candidate list is too long or repeats an id")
    missing = sorted(i for i in rejected if i not in fetched)
    if missing:
        raise _unfounded(h.height, f"refused record {missing[0]} is not in the log")
    in_block = {r.id: r for r in block.records}
    candidates = []
    for record_id in order:
        record = in_block.get(record_id)
        record = fetched.get(record_id) if record is None else record
        if record is None or (record_id not in in_block and record_id not in rejected):
            raise _unfounded(h.height, f"candidate {record_id} is neither in the block nor "
                                       "refused")
        if (code := precheck_code(record, replica.chain)) is not None:
            raise _unfounded(h.height, f"candidate {record_id} fails the pre-check: {code}")
        candidates.append(record)
    chosen = set(order)
    for record_id, code in sorted(rejected.items()):
        if record_id not in chosen and precheck_code(fetched[record_id], replica.chain) != code:
            raise _unfounded(h.height, f"record {record_id} is not refused {code!r} here")
    try:
        validate_header(h, replica.parent())
    except HeaderInvalid as exc:
        raise ConsensusError(f"block {h.height}: {exc}", code="block_invalid") from exc
    again = replica.propose(candidates, h.time_ms, proposer=h.proposer)
    expected = {i: c for i, c in rejected.items() if i in chosen}
    if again.block.header.hash != h.hash or again.rejected != expected:
        replica.discard()
        raise _unfounded(h.height, "re-running the proposal on its candidates gives another "
                                   "block or other refusals")
