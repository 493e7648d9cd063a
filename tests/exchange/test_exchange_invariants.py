"""The invariants checked after every block catch a handler that breaks conservation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from exchange import records as R
from exchange.errors import InvariantViolation, invariant
from exchange.registry import REGISTRY
from exchange.rules.holdings import credit
from exchange.state.env import Env
from exchange.state.state import State
from ledger.wire.record import Record

Chain = Any  # the conftest driver


def test_invariant_raises_even_under_optimisation() -> None:
    invariant(True, "fine")
    with pytest.raises(AssertionError, match="broken"):
        invariant(False, "broken")


def test_minting_without_counting_is_caught(alliance: Chain,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def mint_quietly(s: State, env: Env, rec: Record, write: bool) -> str:
        if write:
            credit(s, env, rec.signers[0], s.programs.get("vk"), 5, "issue")  # supply unchanged
        return "ok"

    monkeypatch.setitem(REGISTRY, R.REDEEM,
                        dataclasses.replace(REGISTRY[R.REDEEM], handler=mint_quietly))
    c = alliance
    with pytest.raises(InvariantViolation, match="moved unlike its supply"):
        c.block(c.rec(R.redeem, c.alice, "vk", 1, "x"))
