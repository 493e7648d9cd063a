"""PROTOCOL.md §10 "Proposer": the validator at position height mod n of the certifying set
proposes, and when it cannot, the next in rotation does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.consortium import Consortium
from ledger.record import Record

Make = Callable[..., Consortium]
Add = Callable[..., Record]


def _proposers(consortium: Consortium, headers: Callable[[Path], list[Any]]) -> dict[int, str]:
    path = consortium.data_dir / "node-0.sqlite"
    return {height: json.loads(text)["proposer"] for height, _, text in headers(path)}


def test_the_validator_at_height_mod_n_proposes(make_consortium: Make, add: Add,
                                                 headers: Callable[[Path], list[Any]]) -> None:
    consortium = make_consortium()
    keys = [v.key for v in consortium.genesis.validators]
    for _ in range(6):
        consortium.submit(add())
        assert consortium.run_until_idle() == 1
    assert _proposers(consortium, headers) == {h: keys[h % 4] for h in range(1, 7)}


def test_when_it_cannot_the_next_in_rotation_proposes(
        make_consortium: Make, add: Add, headers: Callable[[Path], list[Any]]) -> None:
    consortium = make_consortium()
    keys = [v.key for v in consortium.genesis.validators]
    consortium.stop(1)  # the proposer of heights 1 and 5
    for _ in range(5):
        consortium.submit(add())
        assert consortium.run_until_idle() == 1
    assert _proposers(consortium, headers) == {1: keys[2], 2: keys[2], 3: keys[3], 4: keys[0],
                                               5: keys[2]}
