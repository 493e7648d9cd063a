"""Issue 15, part 1: nothing a signer sends may stop the chain.

The attack as found: a merchant opens two programs of its own at 1 point per yuan with the
largest cap, issues 10**9 points to a wallet it holds and swaps them back and forth between
its two programs. Each swap adds ¥10**9 (10**15 µ¥) to the pair's flow value; the 19th would
have passed 2**53-1 µ¥, and every block failed to encode. Played on a four-validator
consortium running the exchange, as a node runs it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.codes import COUNTER_LIMIT_REACHED
from exchange.limits import counter_max
from exchange.rules import swap as swap_module
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.consensus.journal import PendingJournal
from ledger.crypto.keys import SigningKey
from ledger.errors import ApplicationRejected, RecordUnprocessable
from ledger.wire.record import Record

MALLORY = SigningKey.from_seed(hashlib.sha256(b"mallory-merchant").digest())
WALLET = SigningKey.from_seed(hashlib.sha256(b"mallory-wallet").digest())
POINTS = 10**9  # the most a program at 1 point per yuan may hold (¥10**9, program_value_max)


class Attack:
    """A consortium running the exchange, fed records the ``chain`` driver signs."""

    def __init__(self, chain: Any, path: Path) -> None:
        self.chain = chain
        validators = tuple(ValidatorInfo(f"m{i}", k.public_hex)
                           for i, k in enumerate(chain.validators))
        genesis = Genesis("test-alliance", chain.T0, validators, app=chain.genesis)
        self.journal = PendingJournal(path / "journal.sqlite")
        self.consortium = Consortium(path / "chain", genesis, list(chain.validators),
                                     ExchangeApp, ManualClock(chain.T0 + 1000, step_ms=1),
                                     journal=self.journal)

    def block(self, *records: Record) -> list[str]:
        """Submit ``records``, cut one block; each record's outcome code."""
        for record in records:
            self.consortium.submit(record)
        assert self.consortium.produce_block() is not None
        codes = []
        for record in records:
            outcome = self.consortium.outcome(record.id)
            assert outcome is not None
            codes.append(outcome.code or "ok")
        return codes

    def rows(self, table: str) -> list[Any]:
        return sorted(self.consortium.gateway().app.rows(table))  # type: ignore[attr-defined]

    @property
    def height(self) -> int:
        return self.consortium.gateway().height

    def swap(self, give: str, get: str) -> Record:
        return self.chain.rec(R.swap, WALLET, give, POINTS, get, POINTS, 1, 1)


@pytest.fixture
def attack(chain: Any, tmp_path: Path) -> Attack:
    """The alliance (VK, BP) and Mallory's two programs "ma" and "mb" at 1 point per yuan,
    accepting each other, with 10**9 "ma" points in Mallory's wallet; no swap yet."""
    run = Attack(chain, tmp_path)
    c = chain
    assert run.block(
        c.rec(R.apply_merchant, c.vk, "village-kitchen", "Village Kitchen"),
        c.rec(R.apply_merchant, MALLORY, "mallory", "Mallory's")) == ["ok", "ok"]
    assert run.block(c.rec(R.admit_merchant, c.members[:3], "village-kitchen"),
                     c.rec(R.admit_merchant, c.members[1:], "mallory")) == ["ok", "ok"]
    assert run.block(
        c.rec(R.create_program, c.vk, "village-kitchen", "vk", "VK", 100, 30, 10**9),
        c.rec(R.create_program, MALLORY, "mallory", "ma", "A", 1, 0, POINTS)) == ["ok"] * 2
    assert run.block(c.rec(R.create_program, MALLORY, "mallory", "mb", "B", 1, 0, POINTS,
                           accepts=["ma"])) == ["ok"]
    assert run.block(
        c.rec(R.update_program, MALLORY, "ma", "A", POINTS, False, 1, 1, 10**12, ["mb"]),
        c.rec(R.issue, MALLORY, "ma", WALLET.public_hex, POINTS)) == ["ok", "ok"]
    return run


def _swap_eighteen_times(run: Attack) -> None:
    for n in range(18):
        give, get = ("ma", "mb") if n % 2 == 0 else ("mb", "ma")
        assert run.block(run.swap(give, get)) == ["ok"]
    flows = {(r[0], r[1]): r[6] for r in run.rows("x_flows")}
    assert flows == {("ma", "mb"): 9 * 10**15, ("mb", "ma"): 9 * 10**15}


def test_the_nineteenth_swap_is_refused_and_the_chain_goes_on(attack: Attack) -> None:
    run, c = attack, attack.chain
    _swap_eighteen_times(run)
    before = {t: run.rows(t) for t in ("x_programs", "x_flows", "x_balances", "x_inbound")}
    nineteenth = run.swap("ma", "mb")
    with pytest.raises(ApplicationRejected) as refused:
        run.consortium.submit(nineteenth)  # refused when checked: a 422 for the client
    assert refused.value.code == COUNTER_LIMIT_REACHED
    height = run.height
    unrelated = c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 500)
    assert run.block(unrelated) == ["ok"]
    assert run.height == height + 1 and len(run.journal) == 0
    assert (c.alice.public_hex, "vk", 500, 500) in run.rows("x_balances")  # earned: all
    after = {t: run.rows(t) for t in before}
    assert _without_vk(after) == _without_vk(before)  # Mallory's rows: as they were
    assert run.block(c.rec(R.issue, c.vk, "vk", c.bob.public_hex, 7)) == ["ok"]


def _without_vk(tables: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The rows of every table but those of program "vk" (the unrelated issue's)."""
    return {name: [r for r in rows if "vk" not in r[:2]] for name, rows in tables.items()}


def test_a_swap_past_the_bound_that_slips_through_is_left_out_not_a_halt(
        attack: Attack, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second line of defence: with the bound on the pair's flow value removed (the bug
    # as found), the 19th swap is admitted, its block cannot be encoded, and the proposer
    # leaves it out (record_unprocessable) while the unrelated record commits.
    run, c = attack, attack.chain
    _swap_eighteen_times(run)
    monkeypatch.setattr(swap_module, "_flow_overflows", lambda *args: False)
    nineteenth = run.swap("ma", "mb")
    unrelated = c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 500)
    height = run.height
    assert run.block(nineteenth, unrelated) == [RecordUnprocessable.code, "ok"]
    assert run.height == height + 1 and len(run.journal) == 0
    assert run.consortium.unprocessable == 1 and run.consortium.votes_withheld == 0
    assert all(r[6] <= counter_max for r in run.rows("x_flows"))
    assert (c.alice.public_hex, "vk", 500, 500) in run.rows("x_balances")  # earned: all
    assert run.block(c.rec(R.issue, c.vk, "vk", c.bob.public_hex, 7)) == ["ok"]
