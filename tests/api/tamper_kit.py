"""What the tamper suite shares (issue 5, docs/VERIFY.md): the node files of its data dir,
how the small demo alliance is extended into every kind of row, and ``verify`` with one
signature cache for every run. The ``pristine`` and ``data`` fixtures are in conftest.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from api.cli.verify import open_source
from api.node.datadir import DataDir
from api.node.runtime import Node
from exchange import records as R
from exchange.app import ExchangeApp
from ledger.consensus.clock import ManualClock
from ledger.crypto.keys import SigningKey
from ledger.verify.failure import Failure, Report
from ledger.verify.verifier import verify_chain
from ledger.wire.record import sign_body

CACHE: set[bytes] = set()  # verified signatures, shared by every run of the suite
NODES = [f"node-{i}.sqlite" for i in range(4)]


def extend(path: Path) -> None:
    """A promotion, two blocks with a byzantine vote (evidence), a member suspended (a new
    validator set), one more block and two pending records."""
    data = DataDir(path)
    genesis = data.genesis()
    with sqlite3.connect(path / "node-0.sqlite") as conn:
        code, issuer = conn.execute("SELECT code, issuer FROM x_programs ORDER BY code").fetchone()
        other = conn.execute("SELECT code FROM x_programs WHERE code != ? ORDER BY code",
                             (code,)).fetchone()[0]
        account = conn.execute("SELECT account FROM x_balances ORDER BY account").fetchone()[0]
    merchant = SigningKey.load(path / "keys" / "merchants" / f"{issuer}.pem")
    members = {p.stem: SigningKey.load(p) for p in (path / "keys" / "members").glob("*.pem")}
    clock = ManualClock(0, step_ms=1000)
    node = Node(data, ExchangeApp, clock=clock, produce=False)
    try:
        clock.set(node.replica.time_ms)

        def seq(key: SigningKey) -> int:
            return node.replica.seqs.get(key.public_hex, 0) + 1

        def issue(count: int, produce: bool = True) -> None:
            first = seq(merchant)
            for i in range(count):
                node.submit(sign_body(R.issue(genesis.chain, merchant.public_hex, first + i,
                                              code, account, 10 + i,
                                              expires=node.record_expires()), [merchant]))
            if produce:
                node.produce_now()

        start = node.replica.time_ms + 86_400_000  # a second promotion: x_promotions rows
        node.submit(sign_body(R.promote(genesis.chain, merchant.public_hex, seq(merchant), code,
                                        other, 500, start, start + 86_400_000,
                                        expires=node.record_expires()), [merchant]))
        node.produce_now()
        node.consortium.replicas[3].byzantine = True  # type: ignore[union-attr]
        issue(1)
        issue(1)
        node.consortium.replicas[3].byzantine = False  # type: ignore[union-attr]
        retired = genesis.validators[3].name
        voters = [members[m] for m in sorted(members) if m != retired][:3]
        node.submit(sign_body(R.suspend_member(genesis.chain, [k.public_hex for k in voters],
                                               seq(voters[0]), retired, "tamper suite",
                                               expires=node.record_expires()), voters))
        node.produce_now()
        issue(2)
        issue(2, produce=False)
    finally:
        node.close()


def verify(path: Path | str, **kwargs: Any) -> Report:
    return verify_chain(open_source(str(path)), ExchangeApp, workers=0, sig_cache=CACHE,
                        **kwargs)


def failure_of(path: Path, **kwargs: Any) -> Failure:
    report = verify(path, **kwargs)
    assert report.failure is not None, "the tampering was not found"
    return report.failure
