"""Issue #20's contract: an implementation written from docs/ alone recomputes every header.

`tests/contract/fromdocs/` was written from PROTOCOL.md and STATE.md without reading
`ledger/`, `exchange/` or `api/`; it imports none of them. Here it checks a freshly built demo
chain: every header hash, Merkle root, record signature, certificate, checkpoint and `state`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.fromdocs import block, points
from tests.contract.fromdocs.block import Report, check_store
from tests.contract.fromdocs.tables import Row

PACKAGE = Path(__file__).parent / "fromdocs"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo district: 10 customers over 40 days (expiry, vesting and a rate change)."""
    data = tmp_path_factory.mktemp("district")
    cli = Path(sys.executable).parent / "jifentong"
    subprocess.run([str(cli), "demo", "--data", str(data), "--no-serve", "--customers", "10",
                    "--days", "40", "--seed", "7"], check=True, capture_output=True, timeout=240)
    return data / "node-0.sqlite"


def test_every_header_state_recomputes_from_the_docs(demo_store: Path) -> None:
    report: Report = check_store(demo_store)
    assert report.mismatch is None
    assert report.blocks > 40
    assert report.matched == list(range(1, report.blocks + 1))
    # The chain exercises the rules the docs had to get right, not only issues and offers.
    for kind in ("exchange.swap", "exchange.settle", "exchange.transfer", "exchange.void_issue",
                 "exchange.post_rate", "x_history:vest", "x_history:expire",
                 "x_events:rate_in_effect", "x_events:issue_voided", "x_aging:added",
                 "x_aging:removed", "x_settlements", "x_settlements:netted"):
        assert report.kinds[kind] > 0, kind


def test_a_rule_read_differently_is_caught(demo_store: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A lot that lapses one ms late changes the commitment: the check can fail."""
    real = points.Context.lot_expiry

    def late(self: points.Context, program: Row) -> int | None:
        expires = real(self, program)
        return None if expires is None else expires + 1

    monkeypatch.setattr(points.Context, "lot_expiry", late)
    report = check_store(demo_store)
    assert report.mismatch is not None
    assert report.matched


def test_the_implementation_reads_no_project_code() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else [])
            for name in names:
                assert name.split(".")[0] not in {"ledger", "exchange", "api"}, (path, name)
    assert block.__name__.startswith("tests.contract.fromdocs")
