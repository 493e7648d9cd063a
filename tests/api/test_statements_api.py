"""Issuer statements over HTTP: JSON with certified heights, CSV, the explorer page, the
regulator's books and the problems for bad input, on a small demo district with refunds."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.root import app as cli
from api.demo.build import build_demo
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node
from exchange.statement import FIELDS, FLOWS

from .serving import served_app


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    path = tmp_path_factory.mktemp("statements") / "demo"
    build_demo(path, seed=7, customers=80, days=10)
    opened = open_exchange_node(path, produce=False)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def http(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


def _ties(fig: dict[str, int]) -> bool:
    moved = sum(sign * fig[name] for name, sign in FLOWS) + fig.get("revaluation", 0)
    return fig["closing"] == fig["opening"] + moved


def test_the_demo_refunds_and_its_statement_ties_out_with_certified_heights(
        http: TestClient, node: Node) -> None:
    conn = node.replica.store.thread_reader()
    voids = conn.execute("SELECT COUNT(*) FROM records WHERE type = 'exchange.void_issue'")
    assert voids.fetchone()[0] > 0  # the demo refunds some purchases
    answer = http.get("/v1/merchants/fresh-mart/statement", params={"month": "2026-10"})
    assert answer.status_code == 200
    found = answer.json()
    for unit in ("points", "yuan"):
        assert set(FIELDS) <= set(found[unit]) and _ties(found[unit])
        assert all(type(v) is int for v in found[unit].values())
    assert found["points"]["voided"] > 0 and found["points"]["issued"] > 0
    program = http.get("/v1/programs/fm").json()
    assert found["points"]["closing"] == program["supply"] + program["pending"]
    closing = found["heights"]["closing"]
    stored = conn.execute("SELECT hash FROM blocks WHERE height = ?",
                          (closing["height"],)).fetchone()[0]
    assert closing["height"] == node.replica.height and closing["header_hash"] == stored


def test_csv_holds_the_same_figures(http: TestClient) -> None:
    params = {"month": "2026-10", "format": "csv"}
    text = http.get("/v1/merchants/fresh-mart/statement", params=params).text
    rows = list(csv.DictReader(io.StringIO(text)))
    found = http.get("/v1/merchants/fresh-mart/statement", params={"month": "2026-10"}).json()
    total = {r["unit"]: r for r in rows if r["program"] == "total"}
    assert {k: int(total["points"][k]) for k in FIELDS} == found["points"]
    assert {k: int(total["fen"][k]) for k in FIELDS} == {k: found["yuan"][k] for k in FIELDS}


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"month": "2026-13"}, 400, "period_invalid"),
    ({"from": "2026-10-05", "to": "2026-10-01"}, 400, "period_invalid"),
    ({}, 400, "period_invalid"),
])
def test_bad_periods_are_problems(http: TestClient, params: dict[str, str], status: int,
                                  code: str) -> None:
    answer = http.get("/v1/merchants/fresh-mart/statement", params=params)
    assert answer.status_code == status and answer.json()["code"] == code
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_merchant_is_404(http: TestClient) -> None:
    answer = http.get("/v1/merchants/nobody/statement", params={"month": "2026-10"})
    assert answer.status_code == 404 and answer.json()["code"] == "merchant_unknown"


def test_the_explorer_page_and_its_twins(http: TestClient) -> None:
    page = http.get("/merchants/fresh-mart/statements/2026-10")
    assert page.status_code == 200 and "Voided (refunds)" in page.text
    twin = http.get("/merchants/fresh-mart/statements/2026-10.json").json()
    assert _ties(twin["points"]) and twin["months"] == {"previous": "2026-09",
                                                         "next": "2026-11"}
    assert http.get("/merchants/fresh-mart/statements/2026-10.csv").status_code == 200
    assert http.get("/merchants/fresh-mart/statements/oct").status_code == 400
    assert "/merchants/fresh-mart/statements/2026-10" in http.get("/merchants/fresh-mart").text


def test_the_regulator_report_has_the_district_roll_forward(http: TestClient) -> None:
    books = http.get("/v1/regulator/report", params={"month": "2026-10"}).json()["books"]
    district = books["district"]
    assert _ties(district["points"]) and _ties(district["yuan"])
    for name in FIELDS:
        assert district["points"][name] == sum(i["points"][name] for i in books["issuers"])


def test_each_settlement_of_the_month_is_listed_in_json_csv_and_the_page(
        http: TestClient, node: Node) -> None:
    conn = node.replica.store.thread_reader()
    made = conn.execute("SELECT COUNT(*) FROM records WHERE type = 'exchange.settle'")
    settles = made.fetchone()[0]
    assert settles > 0  # the demo settles weekly
    merchants = [m["id"] for m in http.get("/v1/merchants").json()["merchants"]]
    listed: dict[str, dict[str, object]] = {}
    for merchant in merchants:
        found = http.get(f"/v1/merchants/{merchant}/statement",
                         params={"month": "2026-10"}).json()["settlements"]
        assert found["count"] == len(found["payments"]) and not found["truncated"]
        for payment in found["payments"]:
            assert merchant in (payment["payer"], payment["payee"])
            listed.setdefault(payment["record"], payment)
            params = {"month": "2026-10", "format": "csv", "part": "settlements"}
            text = http.get(f"/v1/merchants/{merchant}/statement", params=params).text
            rows = list(csv.DictReader(io.StringIO(text)))
            assert [r["record"] for r in rows] == [p["record"] for p in found["payments"]]
            assert [int(r["amount_fen"]) for r in rows] == [
                p["amount_fen"] for p in found["payments"]]
    assert len(listed) == settles  # every payment once, seen from both sides
    some = next(iter(listed.values()))
    page = http.get(f"/merchants/{some['payer']}/statements/2026-10").text
    assert "Settlement payments in the period" in page and str(some["record"])[:12] in page


def test_the_aging_csv_sums_to_the_closing_outstanding(http: TestClient) -> None:
    found = http.get("/v1/merchants/fresh-mart/statement", params={"month": "2026-10"}).json()
    params = {"month": "2026-10", "format": "csv", "part": "aging"}
    rows = list(csv.DictReader(io.StringIO(http.get(
        "/v1/merchants/fresh-mart/statement", params=params).text)))
    assert rows and sum(int(r["points"]) for r in rows) == found["points"]["closing"]
    assert [r["expires"] for r in rows] == [b["expires"] for b in found["aging"]]


def test_the_statement_command_prints_the_aging_and_each_payment(node: Node,
                                                                  http: TestClient) -> None:
    found = http.get("/v1/merchants/fresh-mart/statement", params={"month": "2026-10"}).json()
    payments = found["settlements"]["payments"]
    assert payments  # fresh-mart settles in the demo's month
    with served_app(create_app(node)) as url:
        shown = CliRunner().invoke(cli, ["statement", "--merchant", "fresh-mart", "--month",
                                         "2026-10", "--node", url])
    assert shown.exit_code == 0, shown.output
    assert f"settlements in the period: {len(payments)}" in shown.output
    for payment in payments:
        assert f"block {payment['height']} {payment['date']}" in shown.output
        assert payment["record"][:12] in shown.output
    for bucket in found["aging"]:
        assert re.search(rf"^  {re.escape(bucket['expires'])} +{bucket['points']:,} ",
                         shown.output, re.M)
