"""The ledger's programmer-error checks are always on: ``invariant`` raises even under
``python -O`` (where ``assert`` vanishes), and the bounds it guards are named limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.consensus.sigpool import SignaturePool
from ledger.errors import InvariantViolation, invariant
from ledger.limits import signature_workers_max
from ledger.verify.sigs import SignatureChecker

REPO = Path(__file__).resolve().parents[2]


def test_invariant_raises_with_its_message_formatted_only_on_failure() -> None:
    invariant(True, "%d never formatted", "not a number")
    with pytest.raises(InvariantViolation, match="a frame of 9 bytes"):
        invariant(False, "a frame of %d bytes", 9)


def test_invariant_still_raises_under_python_dash_o() -> None:
    ran = subprocess.run([sys.executable, "-O", "-c",
                          "from ledger.errors import invariant; assert False\n"
                          "invariant(False, 'kept under -O')"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert "InvariantViolation: kept under -O" in ran.stderr


@pytest.mark.parametrize("workers", [-1, signature_workers_max + 1])
def test_signature_worker_counts_outside_the_bound_are_refused(workers: int) -> None:
    with pytest.raises(InvariantViolation):
        SignaturePool(workers)
    with pytest.raises(InvariantViolation):
        SignatureChecker(workers)
