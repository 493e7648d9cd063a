"""Read-side queries: plain dicts of ints and strings over the committed state."""

from __future__ import annotations

import json
from typing import Any

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver


def _story(c: Chain) -> Chain:
    assert c.one(c.rec(R.issue, c.vk, "vk", c.alice.public_hex, 800), at=c.T0 + c.HOUR) == "ok"
    assert c.one(c.rec(R.swap, c.alice, "vk", 300, "bp", 0, 1, 1)) == "ok"
    assert c.one(c.rec(R.redeem, c.alice, "bp", 1000, "fries")) == "ok"
    return c


def test_balances_show_value_lots_and_points_expiring_soon(alliance: Chain) -> None:
    c = _story(alliance)
    view = c.app.view
    mine = queries.balances(view, c.alice.public_hex)
    assert [(h["program"], h["balance"], h["value_micro"]) for h in mine["holdings"]] == [
        ("bp", 2000, 2_000_000), ("vk", 500, 5_000_000)]
    assert mine["value_micro"] == 7_000_000
    vk = mine["holdings"][1]
    assert vk["lots"] == [{"expires_ms": c.T0 + 31 * c.DAY, "amount": 500}]
    assert vk["expiring_soon"] == 0
    assert queries.balances(view, c.alice.public_hex, soon_ms=31 * c.DAY)["holdings"][1][
        "expiring_soon"] == 500
    assert queries.balances(view, c.bob.public_hex)["holdings"] == []


def test_quote_names_the_code_that_would_refuse(alliance: Chain) -> None:
    c = _story(alliance)
    view = c.app.view
    assert queries.quote(view, "vk", 600, "bp", holder=c.alice.public_hex)["code"] == (
        "insufficient_balance")
    assert queries.quote(view, "bp", 10, "vk")["code"] == "program_not_accepted"
    assert queries.quote(view, "vk", 1, "nope")["code"] == "program_unknown"
    assert queries.quote(view, "vk", 0, "bp")["code"] == "amount_invalid"
    assert queries.quote(view, "vk", 500, "bp")["out"] == 5000


def test_regulator_report(alliance: Chain) -> None:
    c = _story(alliance)
    report = queries.regulator_report(c.app.view)
    issuers = {i["merchant"]: i for i in report["issuers"]}
    vk = issuers["village-kitchen"]["programs"][0]
    assert (vk["issued"], vk["swapped_out"], vk["supply"], vk["liability_micro"]) == (
        800, 300, 500, 5_000_000)
    assert issuers["village-kitchen"]["cap_value_micro"] == 10**9 * 10_000
    bp = issuers["burger-palace"]["programs"][0]
    assert (bp["swapped_in"], bp["redeemed"], bp["supply"]) == (3000, 1000, 2000)
    assert report["flows"] == [{"source": "vk", "target": "bp", "swaps": 1, "given": 300,
                                "received": 3000, "bonus": 0, "value_micro": 3_000_000}]
    assert {p["merchant"]: p["net_micro"] for p in report["positions"]} == {
        "burger-palace": 3_000_000, "village-kitchen": -3_000_000}
    assert report["statement"][0]["amount_fen"] == 300
    json.dumps(report)  # plain JSON


def test_listings(alliance: Chain) -> None:
    view = alliance.app.view
    assert [p["code"] for p in queries.programs(view)] == ["bp", "vk"]
    assert [p["code"] for p in queries.programs(view, issuer="burger-palace")] == ["bp"]
    assert queries.program(view, "bp")["accepts"] == ["vk"]
    assert queries.program(view, "nope") is None
    assert queries.merchant(view, "nope") is None
    assert [m["id"] for m in queries.members(view)] == ["m0", "m1", "m2", "m3"]
    status = queries.status(view)
    assert status["last_height"] == alliance.height and status["member_quorum_percent"] == 67
    board = queries.rate_board(view)
    assert [(b["program"], b["rate"], b["unit_value_micro"]) for b in board] == [
        ("bp", 1000, 1000), ("vk", 100, 10_000)]
