"""The block explorer: every page kind as valid HTML5, its JSON twin, search, friendly 404s,
links that all resolve, and figures that agree with the state they show. CSV exports and
paging: test_explorer_exports.py; cost and freshness: test_explorer_scale.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.explorer import charts, fmt, router
from api.node.runtime import Node
from ledger.chain import merkle
from ledger.verify.receipt import build_receipt, check_receipt
from tests.api.explorer_kit import assert_valid_html5, demo_dir, http, node, pages, sample

__all__ = ["demo_dir", "http", "node", "sample"]  # fixtures

DOCS = Path(__file__).resolve().parents[2] / "docs" / "EXPLORER.md"


def test_every_page_kind_is_valid_html5(http: TestClient, sample: dict[str, Any]) -> None:
    for url in pages(sample):
        response = http.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert_valid_html5(response.text, url)


def test_every_page_has_a_json_twin(http: TestClient, sample: dict[str, Any]) -> None:
    for url in pages(sample):
        path, _, query = url.partition("?")
        twin = ("/index" if path == "/" else path) + ".json" + (f"?{query}" if query else "")
        by_suffix = http.get(twin)
        by_accept = http.get(url, headers={"Accept": "application/json"})
        assert by_suffix.status_code == 200, twin
        assert by_suffix.headers["content-type"] == "application/json", twin
        assert by_suffix.json() == by_accept.json(), url


def test_json_twins_carry_the_key_facts(http: TestClient, node: Node,
                                        sample: dict[str, Any]) -> None:
    home = http.get("/index.json").json()
    assert home["chain"]["height"] == node.replica.height
    assert sum(d["records"] for d in home["records_per_day"]) == node.replica.total
    assert [v["up"] for v in home["validators"]] == [True] * 4
    assert home["figures"]["programs"] == 7 and home["figures"]["holders"] > 0
    block = http.get(f"/blocks/{sample['height']}.json").json()
    assert block["hash"] == sample["hash"]
    assert block["certificate"]["verified"] == 4 and block["certificate"]["committed"]
    assert [v["verified"] for v in block["certificate"]["votes"]] == [True] * 4
    assert block["prev"] == sample["height"] - 1
    program = http.get("/programs/vk.json").json()
    assert program["program"]["issuer"] == "village-kitchen"
    assert program["issuer"]["name"].endswith("Village Kitchen")
    assert program["rates"][0]["in_effect"]
    rates = http.get("/rates.json").json()
    assert {r["program"] for r in rates["board"]} == {"vk", "bp", "bc", "ss", "ib", "fm", "on"}
    alliance = http.get("/alliance.json").json()
    assert len(alliance["members"]) == 4 and alliance["threshold"] == 3
    admitted = {m["id"]: m["admitted_by"] for m in alliance["merchants"]}
    assert all(len(voters) == 3 for voters in admitted.values())
    assert alliance["evidence"] == []
    settlement = http.get("/settlement.json").json()
    assert sum(p["net_micro"] for p in settlement["positions"]) == 0
    assert settlement["settled"] and settlement["settled"][0]["amount_micro"] > 0


def test_record_page_tells_its_effects_in_plain_words(http: TestClient, node: Node,
                                                      sample: dict[str, Any]) -> None:
    found = http.get(f"/records/{sample['swap']}.json").json()
    swap = found["swap"]
    texts = [e["text"] for e in found["effects"]]
    bonus = f" plus a {swap['bonus']:,}-point bonus" if swap["bonus"] else ""
    assert texts[0] == (f"burned {swap['taken']:,} {swap['give'].upper()} points, minted "
                        f"{swap['base']:,} {swap['get'].upper()} points{bonus} "
                        f"for {swap['holder'][:12]}…")
    owes = [t for t in texts if " owes " in t]
    assert owes and owes[0].endswith(fmt.yuan(swap["value_minted_micro"]))
    settle = http.get(f"/records/{sample['settle']}.json").json()
    assert " paid " in settle["effects"][0]["text"] and "¥" in settle["effects"][0]["text"]


def test_inclusion_proof_and_receipt_check_out(http: TestClient, node: Node,
                                               sample: dict[str, Any]) -> None:
    found = http.get(f"/records/{sample['swap']}.json").json()
    proof = found["proof"]
    assert proof["verified"]
    merkle.verify_inclusion(proof["index"], proof["tree_size"], bytes.fromhex(proof["leaf_hash"]),
                            [bytes.fromhex(p) for p in proof["inclusion_proof"]],
                            bytes.fromhex(proof["root"]))
    download = http.get(found["receipt"])
    assert "attachment" in download.headers["content-disposition"]
    checked = check_receipt(download.json())
    assert checked.record_id == sample["swap"] and len(checked.signers) == 4
    assert download.json() == build_receipt(node.replica.store, sample["swap"])


@pytest.mark.parametrize("kind", ["height", "hash", "record", "prefix", "account", "code",
                                  "name", "chinese", "nothing"])
def test_search_resolves_each_kind_of_query(http: TestClient, sample: dict[str, Any],
                                            kind: str) -> None:
    q, expect = {
        "height": (str(sample["height"]), f"/blocks/{sample['height']}"),
        "hash": (sample["hash"], f"/blocks/{sample['height']}"),
        "record": (sample["swap"], f"/records/{sample['swap']}"),
        "prefix": (sample["swap"][:10], f"/records/{sample['swap']}"),
        "account": (sample["account"], f"/accounts/{sample['account']}"),
        "code": ("VK", "/programs/vk"),
        "name": ("Bamboo Beans", "/programs/bc"),
        "chinese": ("汉堡宫积分", "/programs/bp"),
        "nothing": ("no such thing", None),
    }[kind]
    response = http.get("/search", params={"q": q}, follow_redirects=False)
    hits = http.get("/search.json", params={"q": q}).json()["results"]
    if expect is None:
        assert response.status_code == 200 and hits == []
        assert "0 results" in response.text
    else:
        assert response.status_code == 303 and response.headers["location"] == expect
        assert [h["href"] for h in hits] == [expect]


@pytest.mark.parametrize("url", [
    "/blocks/999999", "/blocks/0", "/blocks/abc", f"/records/{'0' * 64}", "/records/xyz",
    f"/accounts/{'0' * 64}", "/accounts/nothex", "/programs/nope", "/merchants/nope",
    f"/records/{'0' * 64}/receipt.json", "/programs/nope/holders.csv"])
def test_unknown_ids_are_friendly_404s(http: TestClient, url: str) -> None:
    response = http.get(url)
    assert response.status_code == 404, url
    if url.endswith((".json", ".csv")):
        assert response.headers["content-type"] == "application/problem+json"
        return
    assert response.headers["content-type"].startswith("text/html")
    assert_valid_html5(response.text, url)
    twin = http.get(url + ".json")
    assert twin.status_code == 404
    assert twin.headers["content-type"] == "application/problem+json"
    assert twin.json()["code"].endswith(("not_found", "unknown"))


@pytest.mark.parametrize("url", ["/blocks?before=x", "/records?before=1", "/alliance?before=a.b.c",
                                 "/programs/vk/holders.csv?after=zz"])
def test_bad_cursors_are_400s(http: TestClient, url: str) -> None:
    assert http.get(url).status_code == 400


def test_every_link_resolves_to_valid_html(http: TestClient) -> None:
    """Crawl from home (bounded): every explorer link answers 200 with valid HTML5."""
    queue, seen = ["/"], {"/"}
    while queue and len(seen) < 150:
        url = queue.pop(0)
        response = http.get(url)
        assert response.status_code == 200, url
        if not response.headers["content-type"].startswith("text/html"):
            continue
        assert_valid_html5(response.text, url)
        for href in re.findall(r'href="(/[^"]*)"', response.text):
            href = href.replace("&amp;", "&").split("#")[0]
            if href not in seen and not href.startswith(("/openapi", "/v1")):
                seen.add(href)
                queue.append(href)
    assert len(seen) >= 100


def test_static_files(http: TestClient) -> None:
    css = http.get("/static/explorer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert http.get("/static/favicon.svg").headers["content-type"] == "image/svg+xml"
    assert http.get("/static/nothing.css").status_code == 404


def test_docs_name_every_explorer_url() -> None:
    text = DOCS.read_text()
    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    assert len(paths) > 30
    missing = sorted(p for p in paths if f"`{p}`" not in text)
    assert not missing, f"docs/EXPLORER.md does not name {missing}"


def test_formatting_and_charts() -> None:
    assert [fmt.yuan(v) for v in (8_000_000, 5_000, 4_999, 0, -1_234_567_890)] == [
        "¥8.00", "¥0.01", "<¥0.01", "¥0.00", "-¥1,234.57"]
    assert fmt.unit_yuan(1_000) == "¥0.001" and fmt.unit_yuan(10_000) == "¥0.01"
    assert fmt.ratio(1000, 100) == "10" and fmt.ratio(100, 1000) == "0.1"
    assert fmt.ratio(1, 3).startswith("≈")
    assert fmt.percent(1, 3) == "33.3%" and fmt.Clock(8 * 3_600_000).label == "UTC+8"
    svg = str(charts.bar_chart([("<a>", 3), ("b", 0)], chart_id="c", title="T & t"))
    assert "&lt;a&gt;" in svg and 'aria-labelledby="c-t c-d"' in svg and "T &amp; t" in svg
    assert "no data yet" in str(charts.line_chart([], [], chart_id="e", title="empty"))
    assert "1k–10k" in str(charts.histogram([(4, 2)], chart_id="h", title="h"))
    json.dumps(charts.SERIES_CLASSES)  # plain values only
