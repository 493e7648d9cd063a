"""The story of issue 3, told as a person would tell it, in one test."""

from __future__ import annotations

from typing import Any

from exchange import queries
from exchange import records as R

Chain = Any  # the conftest driver (tests do not import conftest)


def test_village_kitchen_points_buy_a_burger_next_door(chain: Chain) -> None:
    VK, BP, ALICE = chain.vk, chain.bp, chain.alice
    # Two merchants apply with their profiles, and the members vote them in (3 of 4).
    assert chain.block(
        chain.rec(R.apply_merchant, VK, "village-kitchen", "Village Kitchen", "Home cooking",
                  "restaurant", "Old Town", "1 Market St", "vk@example.cn"),
        chain.rec(R.apply_merchant, BP, "burger-palace", "Burger Palace", "Burgers",
                  "fast food", "Old Town", "3 Market St", "bp@example.cn"),
    ) == ["ok", "ok"]
    assert chain.vote(R.admit_merchant, "village-kitchen") == "ok"
    assert chain.vote(R.admit_merchant, "burger-palace") == "ok"

    # Each opens a program: Village Kitchen posts 100 points per yuan, Burger Palace 1000,
    # and Burger Palace accepts Village Kitchen points.
    assert chain.block(
        chain.rec(R.create_program, VK, "village-kitchen", "vk", "乡村基积分", 100, 30, 10**9),
        chain.rec(R.create_program, BP, "burger-palace", "bp", "汉堡宫积分", 1000, 0, 10**10,
                  accepts=["vk"]),
    ) == ["ok", "ok"]

    # Alice eats at Village Kitchen four times and earns 800 points.
    for n, points in enumerate((150, 250, 200, 200)):
        assert chain.one(chain.rec(R.issue, VK, "vk", ALICE.public_hex, points,
                                   f"receipt-{n}")) == "ok"
    assert chain.balance(ALICE, "vk") == 800

    # She asks for a quote: 800 VK points are worth 8 yuan, which is 8000 BP points.
    quote = queries.quote(chain.app.view, "vk", 800, "bp", holder=ALICE.public_hex)
    assert quote["code"] == "ok"
    assert (quote["taken"], quote["out"], quote["value_micro"]) == (800, 8000, 8_000_000)

    # She swaps them at the quoted rate versions.
    swap = chain.rec(R.swap, ALICE, "vk", 800, "bp", 8000, quote["give_version"],
                     quote["get_version"])
    assert chain.one(swap) == "ok"
    assert (chain.balance(ALICE, "vk"), chain.balance(ALICE, "bp")) == (0, 8000)

    # Next door she redeems 8000 BP points for a burger.
    assert chain.one(chain.rec(R.redeem, ALICE, "bp", 8000, "order-burger-1")) == "ok"
    assert chain.balance(ALICE, "bp") == 0

    # The settlement statement says Village Kitchen owes Burger Palace ¥8.00.
    statement = queries.statement(chain.app.view)
    assert statement["payments"] == [{"payer": "village-kitchen", "payee": "burger-palace",
                                      "amount_micro": 8_000_000, "amount_fen": 800}]

    # Village Kitchen pays; both sign that 800 fen cleared it; nothing is owed any more.
    assert chain.one(chain.rec(R.settle, [VK, BP], "village-kitchen", "burger-palace", 800,
                               "bank transfer 2024-001")) == "ok"
    assert queries.statement(chain.app.view)["payments"] == []
    assert chain.app.audit() == []
