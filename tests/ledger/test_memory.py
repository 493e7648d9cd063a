"""Freed memory stays in the process for reuse (glibc), so a batch run does not fault the
same pages back in at every block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.memory import keep_freed_memory, peak_rss_mb

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


def test_peak_memory_is_the_programs_own_not_the_parents() -> None:
    """A command started by a large process (the bench) reports its own peak: getrusage's
    ru_maxrss would carry the parent's size over the exec."""
    if peak_rss_mb() is None:
        pytest.skip("no /proc here: the peak falls back to getrusage")
    child = ("import resource; from ledger.memory import peak_rss_mb; "
             "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    parent = ("import subprocess, sys; held = bytearray(300 << 20)\n"
              "for i in range(0, len(held), 4096): held[i] = 1\n"
              f"print(subprocess.run([sys.executable, '-c', {child!r}], capture_output=True, "
              "text=True, check=True).stdout)")
    done = subprocess.run([sys.executable, "-c", parent], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    own, ru_maxrss = map(float, done.stdout.split())
    assert own < 100, (own, ru_maxrss)  # a small child of a 300 MB parent (ru_maxrss: ~390)
