"""The offers routes and client methods over a small demo chain (three simulated days).

On day 0 every merchant publishes one offer per menu item, priced at its posted rate;
Burger Palace withdraws its milkshake on day 14 (checked on a second, longer demo).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.client.client import Client, ClientError
from api.demo.build import build_demo
from api.demo.district import MERCHANTS
from api.demo.simulation import WITHDRAW_DAY, derive_key, offer_id
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node
from exchange import records as R
from ledger.wire.record import sign_body

SEED = 7
OPEN = [m for m in MERCHANTS if m.joins_day == 0]


def _app(node: Node) -> FastAPI:
    """The node's app (the API without the explorer)."""
    return create_app(node, explorer=False)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    path: Path = tmp_path_factory.mktemp("offers") / "data"
    build_demo(path, seed=SEED, customers=40, days=3)
    found = open_exchange_node(path, produce=False)
    yield found
    found.close()


@pytest.fixture(scope="module")
def http(node: Node) -> Iterator[TestClient]:
    with TestClient(_app(node)) as client:
        yield client


@pytest.fixture(scope="module")
def client(http: TestClient) -> Iterator[Client]:
    found = Client("http://testserver")
    found.http.close()
    found.http = http
    yield found


def test_every_merchant_offers_its_menu_at_its_rate(client: Client) -> None:
    found = client.offers()
    expected = {(m.program, offer_id(item)): (item, yuan * m.rate, m.area)
                for m in OPEN for item, yuan in m.menu}
    assert {(o["program"], o["offer"]): (o["item"], o["price"], o["area"])
            for o in found} == expected
    assert all(o["value_micro"] == dict(m.menu)[o["item"]] * 1_000_000
               for m in OPEN for o in found if o["program"] == m.program and m.program != "bc")
    areas = [o["area"] for o in found]
    assert areas == sorted(areas)
    for area in set(areas):
        values = [o["value_micro"] for o in found if o["area"] == area]
        assert values == sorted(values)


def test_filters_and_problems(client: Client, http: TestClient) -> None:
    assert {o["offer"] for o in client.offers(program="bp")} == {
        "classic-burger", "burger-meal", "milkshake"}
    assert {o["area"] for o in client.offers(area="Taikoo Li")} == {"Taikoo Li"}
    assert client.offers(area="Nowhere") == []
    with pytest.raises(ClientError) as unknown:
        client.offers(program="zz")
    assert (unknown.value.status, unknown.value.code) == (404, "program_unknown")
    for path in ("/v1/offers?program=BAD!", f"/v1/offers?area={'x' * 65}",
                 "/v1/accounts/not-a-key/offers"):
        answer = http.get(path)
        assert answer.status_code == 400, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "invalid_parameter"
    assert http.get("/v1/offers").json()["as_of_ms"] > 0


def test_what_customers_can_pay_for(client: Client, node: Node) -> None:
    seen: dict[str, int] = {"direct": 0, "after_swap": 0}
    for i in range(40):
        customer = derive_key(SEED, f"customer:{i}")
        balances = {h["program"]: h["balance"]
                    for h in client.balances(customer.public_hex)["holdings"]}
        found = client.offers_for(customer.public_hex, area="Taikoo Li")
        near = [o["area"] == "Taikoo Li" for o in found]
        assert near == sorted(near, reverse=True)  # Taikoo Li first
        for o in found:
            seen[o["pay"]] += 1
            assert o["held"] == balances.get(o["program"], 0)
            if o["pay"] == "direct":
                assert o["held"] >= o["price"]
                continue
            s = o["swap"]
            assert o["held"] < o["price"] <= o["held"] + s["out"]
            assert s["amount"] <= balances[s["give"]]
            body = R.swap(node.genesis.chain, customer.public_hex, 10**6, s["give"], s["amount"],
                          s["get"], s["min_out"], s["give_version"], s["get_version"],
                          expires=node.record_expires())
            assert node.replica.app.check(sign_body(body, [customer])) == "ok"  # type: ignore
    assert seen["after_swap"] > 0  # three days of purchases rarely pay for a whole item
    nobody = "ab" * 32
    assert client.offers_for(nobody) == []


def test_a_customer_holding_enough_pays_directly(client: Client, node: Node) -> None:
    merchant = derive_key(SEED, "merchant:burger-palace")
    customer = derive_key(SEED, "offers-test-customer")
    body = R.issue(node.genesis.chain, merchant.public_hex,
                   client.last_seq(merchant.public_hex) + 1, "bp", customer.public_hex, 20_000,
                   expires=node.record_expires())
    assert node.submit_many([sign_body(body, [merchant])]) == [None]
    assert node.produce_now() == 1
    found = client.offers_for(customer.public_hex, area="Chunxi Road")
    assert [(o["offer"], o["pay"], o["area"]) for o in found] == [
        ("classic-burger", "direct", "Chunxi Road"), ("milkshake", "direct", "Chunxi Road"),
        ("croissant", "after_swap", "Taikoo Li")]  # ¥18 of Bamboo Café, which accepts BP
    swap = found[2]["swap"]
    assert (swap["give"], swap["amount"], swap["get"], swap["out"]) == ("bp", 18_000, "bc", 1800)


def test_offer_routes_answer_within_their_schema(node: Node) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app(node))
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if "offers" not in operation.label:
            continue
        labels.append(operation.label)

        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        run()
    assert sorted(labels) == ["GET /v1/accounts/{account}/offers", "GET /v1/offers"]


def test_the_demo_withdraws_an_offer_mid_month(tmp_path: Path) -> None:
    build_demo(tmp_path / "data", seed=SEED, customers=4, days=WITHDRAW_DAY + 1)
    node = open_exchange_node(tmp_path / "data", produce=False)
    try:
        with TestClient(_app(node)) as http:
            found: list[dict[str, Any]] = http.get("/v1/offers?program=bp").json()["offers"]
    finally:
        node.close()
    assert {o["offer"] for o in found} == {"classic-burger", "burger-meal"}
