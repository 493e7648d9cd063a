"""The bench's ledger workloads run the server's pipeline (signature worker, admission,
block producer) and commit every record they time; the table says whether targets are met."""

from __future__ import annotations

from api import bench
from api.bench_cmd import _met, _target_text


def test_ingest_and_swaps_commit_every_record_through_the_pipelined_node() -> None:
    messages: list[str] = []
    # each asserts that every record it timed was committed (none refused, none rejected)
    assert bench.ingest(2500, messages.append) > 0
    assert bench.swap_path(2500, messages.append) > 0
    assert any("swapping" in m for m in messages)


def test_targets_read_as_ratios_or_absolute_rates() -> None:
    assert _met(3300, 0.50, "1core", 6400, 12000)
    assert not _met(3100, 0.50, "1core", 6400, 12000)
    assert _met(1500, 1500, "1core", 6400, 12000) and not _met(1499, 1500, "1core", 6400, 1)
    assert _target_text(8500, 0.70, "2core", 6400, 12000) == "≥ 0.70× met"
    assert _target_text(4000, 5000, "1core", 6400, 12000) == "≥ 5,000 /s not met"
