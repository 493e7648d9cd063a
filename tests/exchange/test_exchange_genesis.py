"""The genesis application section: shape, validation, and what init_chain builds."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.app import ExchangeApp
from exchange.errors import GenesisError
from exchange.genesis import DEFAULT_PARAMS, app_genesis, parse_genesis

K = [f"{n:064x}" for n in range(1, 6)]
MEMBERS = [{"id": "m-a", "name": "A", "key": K[0], "validator_key": K[1]},
           {"id": "m-b", "name": "B", "key": K[2]}]
REGULATOR = {"name": "Regulator", "key": K[3]}


def test_app_genesis_fills_defaults() -> None:
    doc = app_genesis(MEMBERS, REGULATOR)
    assert doc["params"] == DEFAULT_PARAMS
    assert doc["members"][1]["validator_key"] is None
    assert parse_genesis(doc).params.threshold(2) == 2


@pytest.mark.parametrize("broken", [
    {"members": []},
    {"members": [MEMBERS[0], MEMBERS[0]]},
    {"members": [{**MEMBERS[0], "key": "ABC"}]},
    {"members": [{**MEMBERS[0], "id": "Not A Slug"}]},
    {"members": [{**MEMBERS[0], "extra": 1}]},
    {"regulator": {"name": "R", "key": K[0]}},  # same key as a member
    {"regulator": {"name": "", "key": K[3]}},
    {"params": {**DEFAULT_PARAMS, "member_quorum_percent": 50}},
    {"params": {**DEFAULT_PARAMS, "rate_notice_ms": -1}},
    {"params": {**DEFAULT_PARAMS, "surprise": 1}},
    {"extra": 1},
])
def test_malformed_genesis_is_refused(broken: dict[str, Any]) -> None:
    doc = {**app_genesis(MEMBERS, REGULATOR), **broken}
    with pytest.raises(GenesisError):
        parse_genesis(doc)


def test_init_chain_builds_members_keys_and_validators() -> None:
    app = ExchangeApp()
    execution = app.init_chain("c", 1_000, app_genesis(MEMBERS, REGULATOR))
    tables = {ch.table for ch in execution.changes}
    assert {"x_params", "x_members", "x_keys", "x_regulator", "x_events"} <= tables
    assert [(v.name, v.key) for v in app.validators()] == [("m-a", K[1])]
    assert app.audit() == []
    with pytest.raises(AssertionError):
        app.init_chain("c", 1_000, app_genesis(MEMBERS, REGULATOR))
