"""The simulator's byzantine validator: a replica whose owner runs the production code but
also writes what an honest node never would, with its own key, to the ordering log.

Each step it does one of:

* an ordinary :meth:`Orderer.step`, often with :attr:`Replica.byzantine` set, so that the
  header it signs carries another state commitment;
* equivocate: sign the height's proposal and a header that differs from it, and publish both
  votes, one over the other, in a random order;
* race two proposals for one height, whether or not it is its turn: two different blocks
  of the waiting records, each sent with etcd's compare-and-swap; with ``forge_rejections``
  each also claims that the waiting records it left out were refused.

What it cannot do is forge another validator's signature or rewrite etcd's history (the
ordering service is trusted for crash faults only; docs/ARCHITECTURE.md says why).
"""

from __future__ import annotations

import dataclasses
import random

from ledger.chain.certificate import Vote
from ledger.consensus.ordering import Orderer
from ledger.consensus.replica import Replica
from ledger.errors import RecordRejected


def byzantine_step(replica: Replica, orderer: Orderer, rng: random.Random,
                   forge_rejections: bool = False) -> None:
    """One step of the byzantine validator (see the module docstring)."""
    roll = rng.random()
    replica.byzantine = rng.random() < 0.5
    if roll < 0.6:
        orderer.step()
    elif roll < 0.8:
        equivocate(replica, orderer, rng)
    else:
        race_proposals(replica, orderer, rng, forge_rejections)
    replica.byzantine = False


def equivocate(replica: Replica, orderer: Orderer, rng: random.Random) -> None:
    """Publish votes for two different headers of the next height."""
    height, key = replica.height + 1, replica.key
    decided = orderer.log.proposal(height)
    if decided is None or key is None:
        return
    header = decided.block.header
    other = dataclasses.replace(header, state=rng.randbytes(32).hex())
    pair = [header, other]
    rng.shuffle(pair)
    for signed in pair:
        checkpoint = replica.checkpoint_after(signed)
        orderer.log.vote(height, Vote(key.public_hex, key.sign(signed.hash)),
                         Vote(key.public_hex, key.sign(checkpoint.message())), signed)


def race_proposals(replica: Replica, orderer: Orderer, rng: random.Random,
                   forge_rejections: bool = False) -> None:
    """Send two different blocks for the next height (only one can be created)."""
    height = replica.height + 1
    if orderer.log.proposal(height) is not None:
        return
    waiting = []
    for record in orderer.log.pending():
        if replica.store.record_location(record.id) is None:
            try:
                record.verify_signatures()
            except RecordRejected:
                continue
            waiting.append(record)
    cut = rng.randint(0, len(waiting))
    for chosen in (waiting[:cut], waiting[cut:]):
        proposal = replica.propose(chosen, orderer.clock.now_ms())
        rejected = dict(proposal.rejected)
        if forge_rejections:
            rejected.update({r.id: "bad_signature" for r in waiting if r not in chosen})
        orderer.log.propose(proposal.block, rejected, candidates=[r.id for r in chosen])
        replica.discard()
