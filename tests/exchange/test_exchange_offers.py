"""Redemption offers: publishing and withdrawing, their rules, restore, and what a customer
can pay for (directly or after one swap), nearest area first.

Starts from the ``alliance`` fixture: Village Kitchen (VK, 100 points/yuan, 30-day expiry)
and Burger Palace (BP, 1000 points/yuan, accepts VK), both in Old Town.
"""

from __future__ import annotations

from typing import Any

import pytest

from exchange import codes as C
from exchange import queries
from exchange import records as R
from exchange.app import ExchangeApp
from exchange.rules import offers
from exchange.state.tables import as_row
from ledger.wire.record import Record

Chain = Any  # the conftest driver (tests do not import conftest)
MONTH = 31


def _offer(c: Chain, offer: str = "burger", price: int = 8000, *, program: str = "bp",
           key: Any = None, area: str = "Old Town", start: int | None = None,
           days: int = MONTH, item: str = "classic burger") -> Record:
    start = c.T0 if start is None else start
    return c.rec(R.offer, key or (c.bp if program == "bp" else c.vk), program, offer, item,
                 price, area, start, start + days * c.DAY)


def _earn(c: Chain, who: Any, program: str, amount: int) -> None:
    key = c.vk if program == "vk" else c.bp
    assert c.one(c.rec(R.issue, key, program, who.public_hex, amount)) == "ok"


def _refused(c: Chain, record: Record, code: str) -> None:
    """``record`` is refused by check and in a block, and changes no row."""
    c.block()
    before = c.snapshot()
    assert c.app.check(record) == code
    assert c.block(record) == [code]
    assert c.snapshot() == before
    assert not any(ch.table == "x_events" for ch in c.last.changes)


def _ids(found: list[dict[str, Any]]) -> list[str]:
    return [o["offer"] for o in found]


def test_an_offer_is_live_from_its_start_until_its_end(alliance: Chain) -> None:
    c = alliance
    start = c.time_ms + c.DAY
    assert c.one(_offer(c, start=start, days=2)) == "ok"
    row = c.rows("x_offers")[0]
    assert row["item"] == "classic burger" and row["price"] == 8000 and row["height"] == c.height
    assert any(ch.row and as_row(ch.table, ch.row).get("kind") == "offer_published"
               for ch in c.last.changes
               if ch.table == "x_events")
    view = c.app.view
    assert queries.offers(view) == []  # not yet
    assert _ids(queries.offers(view, now_ms=start)) == ["burger"]
    assert queries.offers(view, now_ms=start)[0]["value_micro"] == 8_000_000  # ¥8.00
    assert queries.offers(view, now_ms=start + 2 * c.DAY) == []  # ended
    assert queries.offers(view, program="vk", now_ms=start) == []
    assert queries.offers(view, area="New Town", now_ms=start) == []


CASES = ["not_authorized", "issuer_suspended", "offer_exists", "offer_invalid:empty",
         "offer_invalid:over", "offer_invalid:too_long", "offer_invalid:negative_start",
         "too_many_offers", "amount_invalid", "program_unknown", "payload_malformed"]


@pytest.mark.parametrize("case", CASES)
def test_an_offer_breaking_a_rule_is_refused_and_changes_nothing(
        case: str, alliance: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    c = alliance
    if case == "not_authorized":
        record = _offer(c, key=c.vk)  # VK's key for BP's program
    elif case == "issuer_suspended":
        assert c.vote(R.suspend_merchant, "burger-palace", "audit") == "ok"
        record = _offer(c)
    elif case == "offer_exists":
        assert c.one(_offer(c)) == "ok"
        record = _offer(c, price=9000)
    elif case == "offer_invalid:empty":
        record = _offer(c, days=0)
    elif case == "offer_invalid:over":
        record = _offer(c, start=c.T0 - 10 * c.DAY, days=1)
    elif case == "offer_invalid:too_long":
        record = _offer(c, days=367)
    elif case == "offer_invalid:negative_start":
        record = _offer(c, start=-c.DAY, days=MONTH)
    elif case == "too_many_offers":
        monkeypatch.setattr(offers, "offers_per_program_max", 2)
        assert c.block(_offer(c, "a"), _offer(c, "b", start=c.T0 + 5 * c.DAY)) == ["ok", "ok"]
        record = _offer(c, "c")
    elif case == "amount_invalid":
        record = _offer(c, price=0)
    elif case == "program_unknown":
        record = _offer(c, program="nope", key=c.bp)
    else:
        record = _offer(c, item="two\nlines")
    _refused(c, record, case.split(":")[0])


def test_bad_payloads_are_malformed(alliance: Chain) -> None:
    c = alliance
    for item, area, offer in (("", "Old Town", "x"), ("burger", "x" * 65, "x"),
                              (" burger", "Old Town", "x"), ("burger", "Old Town", "Bad Id")):
        assert c.app.check(c.rec(R.offer, c.bp, "bp", offer, item, 5, area, c.T0,
                                 c.T0 + c.DAY)) == C.PAYLOAD_MALFORMED
    extra = c.raw(R.WITHDRAW_OFFER, c.bp, {"program": "bp", "offer": "x", "why": ""})
    assert c.app.check(extra) == C.PAYLOAD_MALFORMED


def test_check_order_is_the_documented_order(alliance: Chain) -> None:
    c = alliance
    both = _offer(c, key=c.vk, days=0)  # wrong key and an empty window
    assert c.app.check(both) == C.NOT_AUTHORIZED
    assert C.ORDER[C.NOT_AUTHORIZED] < C.ORDER[C.ISSUER_SUSPENDED] < C.ORDER[C.OFFER_EXISTS]
    assert C.ORDER[C.OFFER_EXISTS] < C.ORDER[C.OFFER_INVALID] < C.ORDER[C.TOO_MANY_OFFERS]


def test_withdraw(alliance: Chain) -> None:
    c = alliance
    assert c.block(_offer(c), _offer(c, "shake", 15_000)) == ["ok", "ok"]
    _refused(c, c.rec(R.withdraw_offer, c.bp, "bp", "fries"), C.OFFER_UNKNOWN)
    _refused(c, c.rec(R.withdraw_offer, c.vk, "bp", "burger"), C.NOT_AUTHORIZED)
    _refused(c, c.rec(R.withdraw_offer, c.bp, "nope", "burger"), C.PROGRAM_UNKNOWN)
    assert c.one(c.rec(R.withdraw_offer, c.bp, "bp", "burger")) == "ok"
    assert _ids(queries.offers(c.app.view)) == ["shake"]
    assert [r["offer"] for r in c.rows("x_offers")] == ["shake"]
    _refused(c, c.rec(R.withdraw_offer, c.bp, "bp", "burger"), C.OFFER_UNKNOWN)  # twice
    assert c.one(_offer(c, price=7000)) == "ok"  # a withdrawn id may be used again
    assert [o["price"] for o in queries.offers(c.app.view)] == [7000, 15_000]


def test_a_suspended_issuer_may_withdraw_but_not_publish(alliance: Chain) -> None:
    c = alliance
    assert c.one(_offer(c)) == "ok"
    assert c.vote(R.suspend_merchant, "burger-palace", "audit") == "ok"
    assert c.app.check(_offer(c, "shake")) == C.ISSUER_SUSPENDED
    assert _ids(queries.offers(c.app.view)) == ["burger"]  # holders may still redeem
    assert c.one(c.rec(R.withdraw_offer, c.bp, "bp", "burger")) == "ok"
    assert c.rows("x_offers") == []


def test_ended_offers_free_their_place_and_id(alliance: Chain,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    c = alliance
    monkeypatch.setattr(offers, "offers_per_program_max", 1)
    assert c.one(_offer(c, days=1)) == "ok"
    c.block(at=c.T0 + 2 * c.DAY)
    assert c.app.check(c.rec(R.withdraw_offer, c.bp, "bp", "burger")) == C.OFFER_UNKNOWN
    assert len(c.rows("x_offers")) == 1  # ended, still stored until BP writes offers again
    assert c.one(_offer(c, price=6000, start=c.time_ms)) == "ok"
    assert [r["price"] for r in c.rows("x_offers")] == [6000]


def test_offers_survive_a_restore(alliance: Chain) -> None:
    c = alliance
    assert c.block(_offer(c), _offer(c, "shake", 15_000, area="新城"),
                   _offer(c, "rice", 2800, program="vk")) == ["ok", "ok", "ok"]
    assert c.one(c.rec(R.withdraw_offer, c.bp, "bp", "shake")) == "ok"
    restored = ExchangeApp()
    restorable = {spec.name for spec in restored.tables() if spec.restore}
    restored.restore({t: list(rows.values()) for t, rows in c.store.items() if t in restorable})
    assert restored.state.offers.base == c.app.state.offers.base
    assert queries.offers(restored.view) == queries.offers(c.app.view)
    assert restored.check(c.rec(R.withdraw_offer, c.bp, "bp", "shake")) == C.OFFER_UNKNOWN
    assert restored.check(_offer(c)) == C.OFFER_EXISTS
    # the next block (the burger has ended and is dropped) runs the same on both
    c.block(_offer(c, "fries", 3000, start=c.T0 + MONTH * c.DAY), at=c.T0 + MONTH * c.DAY)
    ctx, records = c.blocks[-1]
    again = restored.execute(ctx, records)
    restored.commit()
    assert again.codes == c.last.codes == ["ok"]
    assert again.changes == c.last.changes
    assert [r["offer"] for r in c.rows("x_offers") if r["program"] == "bp"] == ["fries"]


def test_offers_for_direct_after_swap_and_not_affordable(alliance: Chain) -> None:
    c = alliance
    carol = c.ns  # any key that is not a party's: only used as a holder here
    assert c.one(_offer(c)) == "ok"  # 8000 BP = ¥8.00
    _earn(c, c.alice, "bp", 3000)
    _earn(c, c.alice, "vk", 600)
    _earn(c, c.bob, "bp", 9000)
    _earn(c, carol, "vk", 200)
    view = c.app.view
    [bob] = queries.offers_for(view, c.bob.public_hex)
    assert bob["pay"] == "direct" and bob["held"] == 9000 and bob["swap"] is None
    assert queries.offers_for(view, carol.public_hex) == []
    [alice] = queries.offers_for(view, c.alice.public_hex)
    assert alice["pay"] == "after_swap" and alice["held"] == 3000
    swap = alice["swap"]
    assert (swap["give"], swap["amount"], swap["get"], swap["min_out"], swap["out"]) == (
        "vk", 500, "bp", 5000, 5000)
    assert (swap["give_version"], swap["get_version"]) == (1, 1)
    assert swap["value_burned_micro"] == 5_000_000
    # the swap as listed is accepted, and then the redemption is
    assert c.one(c.rec(R.swap, c.alice, "vk", 500, "bp", 5000, 1, 1)) == "ok"
    assert queries.offers_for(c.app.view, c.alice.public_hex)[0]["pay"] == "direct"
    assert c.one(c.rec(R.redeem, c.alice, "bp", 8000, "burger")) == "ok"
    assert c.balance(c.alice, "vk") == 100


def _update_bp(c: Chain, min_in: int = 1, step_in: int = 1, daily_in_cap: int = 10**12) -> None:
    assert c.one(c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**10, False, min_in, step_in,
                       daily_in_cap, ["vk"])) == "ok"


def _swap_terms(c: Chain, who: Any) -> tuple[int, int, int] | None:
    found = queries.offers_for(c.app.view, who.public_hex)
    if not found:
        return None
    swap = found[0]["swap"]
    return swap["amount"], swap["out"], swap["bonus"]


def test_after_swap_uses_the_swap_pricing(alliance: Chain) -> None:
    """A promotion lowers the points needed; step, minimum and daily cap are honoured."""
    c = alliance
    assert c.one(_offer(c)) == "ok"
    _earn(c, c.alice, "vk", 700)
    assert _swap_terms(c, c.alice) is None  # 800 VK needed
    assert c.one(c.rec(R.promote, c.bp, "bp", "vk", 2000, c.time_ms, c.time_ms + c.DAY)) == "ok"
    assert _swap_terms(c, c.alice) == (667, 8004, 1334)  # 666 VK would give 6660 + 1332
    _update_bp(c, step_in=500)
    assert _swap_terms(c, c.alice) == (700, 8400, 1400)  # base 7000, the next step up
    _update_bp(c, min_in=9000)
    assert _swap_terms(c, c.alice) is None  # 900 VK needed for the minimum
    _update_bp(c, daily_in_cap=5000)
    assert _swap_terms(c, c.alice) is None  # the swap handler would refuse it
    _update_bp(c)
    [found] = queries.offers_for(c.app.view, c.alice.public_hex)
    s = found["swap"]
    record = c.rec(R.swap, c.alice, s["give"], s["amount"], s["get"], s["min_out"],
                   s["give_version"], s["get_version"])
    assert c.one(record) == "ok"
    assert c.balance(c.alice, "bp") == 8004 and c.balance(c.alice, "vk") == 33


def _open_noodle_shop(c: Chain) -> None:
    """Noodle Shop (NS, 10 points/yuan) in New Town, accepting VK and BP."""
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop", "", "noodles",
                       "New Town")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.one(c.rec(R.create_program, c.ns, "noodle-shop", "ns", "面馆积分", 10, 0, 10**8,
                       accepts=["bp", "vk"])) == "ok"


def test_the_source_burning_the_least_value_is_chosen(alliance: Chain) -> None:
    c = alliance
    _open_noodle_shop(c)
    assert c.one(c.rec(R.offer, c.ns, "ns", "noodles", "dan dan noodles", 100, "New Town",
                       c.T0, c.T0 + MONTH * c.DAY)) == "ok"
    _earn(c, c.alice, "vk", 2000)
    _earn(c, c.alice, "bp", 20_000)
    [found] = queries.offers_for(c.app.view, c.alice.public_hex)
    assert (found["swap"]["give"], found["swap"]["amount"]) == ("bp", 10_000)  # a tie: by code
    assert c.one(c.rec(R.promote, c.ns, "ns", "vk", 1000, c.time_ms, c.time_ms + c.DAY)) == "ok"
    [found] = queries.offers_for(c.app.view, c.alice.public_hex)
    assert (found["swap"]["give"], found["swap"]["amount"]) == ("vk", 910)  # 91 + 9 bonus
    assert found["swap"]["value_burned_micro"] == 9_100_000


def test_nearest_area_first_then_alphabetical_then_by_value(alliance: Chain) -> None:
    c = alliance
    _open_noodle_shop(c)
    end = c.T0 + MONTH * c.DAY
    assert c.block(
        _offer(c),  # ¥8, Old Town
        _offer(c, "shake", 15_000, area=""),
        _offer(c, "rice", 2800, program="vk"),  # ¥28, Old Town
        _offer(c, "tea", 500, program="vk", area="Hill Street"),  # ¥5
        c.rec(R.offer, c.ns, "ns", "noodles", "dan dan noodles", 100, "New Town", c.T0, end),
    ) == ["ok"] * 5
    for program, amount in (("vk", 10_000), ("bp", 100_000)):
        _earn(c, c.bob, program, amount)
    view = c.app.view
    near = queries.offers_for(view, c.bob.public_hex, area="New Town")
    assert _ids(near) == ["noodles", "tea", "burger", "rice", "shake"]
    assert near[0]["pay"] == "after_swap"  # Bob holds no NS points
    assert [o["pay"] for o in near[1:]] == ["direct"] * 4
    assert _ids(queries.offers_for(view, c.bob.public_hex)) == [
        "tea", "noodles", "burger", "rice", "shake"]
    assert _ids(queries.offers_for(view, c.bob.public_hex, area="Old Town")) == [
        "burger", "rice", "tea", "noodles", "shake"]
    assert _ids(queries.offers(view)) == ["tea", "noodles", "burger", "rice", "shake"]
    assert _ids(queries.offers(view, area="Old Town")) == ["burger", "rice"]
    assert _ids(queries.offers(view, program="vk")) == ["tea", "rice"]
