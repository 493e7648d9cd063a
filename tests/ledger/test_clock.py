"""Clocks the ledger is given: a file clock lets one driver set every node's time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.consensus.clock import FileClock


def test_a_file_clock_reads_the_time_its_driver_wrote(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("1790812800000\n")
    clock = FileClock(path)
    assert (clock.now_ms(), clock.peek_ms()) == (1_790_812_800_000, 1_790_812_800_000)
    path.write_text("1790812860000\n")
    assert clock.now_ms() == 1_790_812_860_000  # every read sees the driver's latest time


def test_a_file_caught_unreadable_keeps_the_last_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("1790812800000")
    clock = FileClock(path)
    path.write_text("")  # a driver caught mid-write
    assert clock.now_ms() == 1_790_812_800_000
    path.unlink()
    assert clock.peek_ms() == 1_790_812_800_000


def test_a_file_clock_needs_a_time_to_start_from(tmp_path: Path) -> None:
    (tmp_path / "clock").write_text("soon")
    with pytest.raises(ValueError):
        FileClock(tmp_path / "clock")
