"""Freed memory stays in the process for reuse (glibc), so a batch run does not fault the
same pages back in at every block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.memory import keep_freed_memory

ROOT = Path(__file__).resolve().parents[2]

CHURN = """
import resource, sys
if sys.argv[1] == "keep":
    from ledger.memory import keep_freed_memory
    assert keep_freed_memory()
def churn():
    for _ in range(20):  # a "block": 4 MB in 1 KB pieces (malloc's, not Python's own pool)
        pieces = [bytes(1000) for _ in range(4000)]
        del pieces
churn()  # the heap's first growth faults in either case
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


def test_memory_freed_at_each_block_is_reused_without_page_faults() -> None:
    if not keep_freed_memory():
        pytest.skip("the C library is not glibc: its allocator is left as it is")
    default, kept = _faults("default"), _faults("keep")
    assert default > 5_000  # glibc hands the heap's top back, then faults it in again
    assert kept < default // 10
