"""The application seam declares its optional capabilities: the verifier calls the
application's ``audit`` and reads ``invariants_in_execute`` through the protocol, so what an
application declares is what the verifier does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ledger.consensus.consortium import Consortium
from ledger.counter import TABLE, CounterApp
from ledger.wire.record import Record

from .chains import build, verify


class Breached(CounterApp):
    """Counters whose audit reports a breach once any counter exceeds 5."""

    def audit(self) -> list[str]:
        return [f"{name} over 5" for name, value in self.committed.items() if value > 5]


class Counted(CounterApp):
    """Counters that count the audits run on them (their number depends on a time budget)."""

    audits = 0

    def audit(self) -> list[str]:
        Counted.audits += 1
        return super().audit()


class SelfChecking(Counted):
    invariants_in_execute = True


def _chain(make_consortium: Callable[..., Consortium], add: Callable[..., Record],
           tmp_path: Path) -> Consortium:
    consortium = make_consortium()
    build(consortium, add)
    consortium.close()
    return consortium


def test_a_failing_audit_fails_the_verification(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    genesis = _chain(make_consortium, add, tmp_path).genesis
    clean = verify(tmp_path / "chain", genesis)
    assert clean.valid and clean.invariants_checked >= 1  # the counter's audit ran
    failure = verify(tmp_path / "chain", genesis, app=Breached).failure
    assert failure is not None and failure.what == "invariant_violated"


def test_invariants_in_execute_counts_every_replayed_block(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    genesis = _chain(make_consortium, add, tmp_path).genesis
    Counted.audits = 0
    plain = verify(tmp_path / "chain", genesis, app=Counted)
    assert plain.valid and plain.invariants_checked == Counted.audits >= 1
    Counted.audits = 0
    checked = verify(tmp_path / "chain", genesis, app=SelfChecking)
    assert checked.valid and checked.blocks_replayed == 4
    assert checked.invariants_checked == checked.blocks_replayed + Counted.audits


def test_the_counter_audit_names_a_negative_counter() -> None:
    app = CounterApp()
    app.restore({TABLE: [{"name": "a", "value": 3}, {"name": "b", "value": -2}]})
    assert app.audit() == ["counter b is -2"]
