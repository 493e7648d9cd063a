"""The block explorer: every page kind as valid HTML5, its JSON twin, CSV exports, search,
friendly 404s, links that all resolve, and figures that agree with the state they show."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest
from fastapi.testclient import TestClient

from api.bench.explorer import grow, page_latencies
from api.demo.build import build_demo
from api.explorer import charts, fmt, router
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node
from ledger.chain import merkle
from ledger.verify.receipt import build_receipt, check_receipt

DOCS = Path(__file__).resolve().parents[2] / "docs" / "EXPLORER.md"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explorer") / "demo"
    build_demo(path, seed=7, customers=60, days=7)
    return path


@pytest.fixture(scope="module")
def node(demo_dir: Path) -> Iterator[Node]:
    opened = open_exchange_node(demo_dir, produce=False)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def http(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


@pytest.fixture(scope="module")
def sample(node: Node) -> dict[str, Any]:
    """Subjects for every kind of page, taken from the demo chain."""
    conn = node.replica.store.thread_reader()
    swap = conn.execute("SELECT height, idx, record, holder, give, get FROM x_swaps "
                        "ORDER BY height LIMIT 1").fetchone()
    height, block_hash = conn.execute("SELECT height, hash FROM blocks WHERE height = ?",
                                      (swap[0],)).fetchone()
    settle = conn.execute("SELECT id FROM records WHERE type = 'exchange.settle'").fetchone()
    return {"height": height, "hash": block_hash, "swap": swap[2], "account": swap[3],
            "give": swap[4], "get": swap[5], "settle": settle[0],
            "merchant": "village-kitchen", "program": "vk"}


def pages(s: dict[str, Any]) -> list[str]:
    return ["/", "/blocks", f"/blocks/{s['height']}", "/records", f"/records/{s['swap']}",
            f"/records/{s['settle']}", f"/accounts/{s['account']}", "/programs",
            f"/programs/{s['program']}", f"/merchants/{s['merchant']}", "/rates", "/alliance",
            "/settlement", "/search?q=coffee", "/search"]


def assert_valid_html5(text: str, url: str) -> None:
    """Strict HTML5 parse (any parse error fails), plus the rules a parser does not check."""
    assert text.startswith("<!DOCTYPE html>"), url
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        root = parser.parse(text)
    except html5lib.html5parser.ParseError as exc:
        line = text.splitlines()[parser.errors[0][0][0] - 1] if parser.errors else ""
        raise AssertionError(f"{url}: {exc}\n{line[:200]}") from exc
    assert root.get("lang"), url
    assert root.find("head/meta[@charset]") is not None, url
    assert (root.findtext("head/title") or "").strip(), url
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), f"{url}: duplicate ids {sorted(ids)}"
    for img in root.iter("img"):
        assert img.get("alt") is not None, url
    for svg in root.iter("svg"):
        assert svg.get("role") == "img" and svg.get("aria-labelledby"), url
    labelled = {e.get("for") for e in root.iter("label")}
    for field in root.iter("input"):
        assert field.get("id") in labelled or field.get("aria-label"), url
    assert not re.search(r'(src|href)="(https?:)?//', text), f"{url} loads from outside"


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


def _cells(value: Any) -> str:
    return "" if value is None else str(value)


#: CSV column -> where its JSON twin keeps the cell (a key, or a function of the JSON row).
CSV_TWINS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("/blocks.csv", "/blocks.json", "blocks", {
        "height": "height", "hash": "hash", "time_ms": "time", "records": "records",
        "total": "total", "proposer": "proposer"}),
    ("/blocks/{height}/records.csv", "/blocks/{height}.json", "records", {
        "height": "height", "idx": "idx", "id": "id", "type": "type",
        "signer": lambda r: r["signer"]["id"], "seq": "seq", "summary": "summary"}),
    ("/records.csv", "/records.json", "records", {
        "height": "height", "idx": "idx", "id": "id", "type": "type",
        "signer": lambda r: r["signer"]["id"], "summary": "summary"}),
    ("/accounts/{account}/history.csv", "/accounts/{account}.json", "history", {
        "height": "height", "idx": "idx", "n": "n", "program": "program", "kind": "kind",
        "delta": "delta", "balance": "balance", "record": "record", "ref": "ref"}),
    ("/programs/vk/holders.csv", "/programs/vk.json", "holders.top", {
        "account": "account", "balance": "balance", "value_micro": "value_micro"}),
]


@pytest.mark.parametrize(("csv_url", "json_url", "rows_at", "columns"), CSV_TWINS,
                         ids=[t[0].split("/")[-1] if "{" not in t[0] else t[0].split("}")[-1]
                              for t in CSV_TWINS])
def test_csv_exports_equal_their_json_twins_cell_by_cell(
        http: TestClient, sample: dict[str, Any], csv_url: str, json_url: str, rows_at: str,
        columns: dict[str, Any]) -> None:
    answer = http.get(csv_url.format(**sample))
    assert answer.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == list(columns)  # the documented column order
    twin: Any = http.get(json_url.format(**sample)).json()
    for key in rows_at.split("."):
        twin = twin[key]
    assert len(twin) >= 2 and len(table) - 1 >= len(twin)  # the CSV pages are longer
    for csv_row, json_row in zip(table[1:], twin, strict=False):
        expected = [_cells(where(json_row) if callable(where) else json_row[where])
                    for where in columns.values()]
        assert csv_row == expected


def test_csv_exports_hold_every_row(http: TestClient, node: Node, sample: dict[str, Any]) -> None:
    holders = http.get("/programs/vk/holders.csv").text.strip().split("\n")
    balances = [int(line.split(",")[1]) for line in holders[1:]]
    assert balances == sorted(balances, reverse=True)
    assert len(balances) == http.get("/programs/vk.json").json()["holders"]["holders"]
    records = http.get(f"/blocks/{sample['height']}/records.csv").text.strip().split("\n")
    assert len(records) - 1 == http.get(f"/blocks/{sample['height']}.json").json()["header"][
        "records"]
    all_records = http.get("/records.csv").text.strip().split("\n")
    assert len(all_records) - 1 == node.replica.total  # fewer than one CSV page
    assert http.get("/blocks.csv").text.count("\n") == node.replica.height + 1


def test_keyset_pagination_covers_everything_once(http: TestClient, node: Node) -> None:
    seen: list[str] = []
    url: str | None = "/records.json"
    while url:
        found = http.get(url.replace("/records?", "/records.json?")).json()
        seen.extend(r["id"] for r in found["records"])
        url = found["next"]
    assert len(seen) == len(set(seen)) == node.replica.total
    heights: list[int] = []
    url = "/blocks.json"
    while url:
        found = http.get(url.replace("/blocks?", "/blocks.json?")).json()
        heights.extend(b["height"] for b in found["blocks"])
        url = found["next"]
    assert heights == list(range(node.replica.height, 0, -1))


def test_program_series_and_holders_agree_with_the_counters(http: TestClient) -> None:
    for code in ("vk", "bp", "bc"):
        found = http.get(f"/programs/{code}.json").json()
        p, days = found["program"], found["series"]["days"]
        assert found["series"]["complete"]
        for key, counter in (("issued", "issued"), ("redeemed", "redeemed"),
                             ("swapped_in", "swapped_in"), ("swapped_out", "swapped_out"),
                             ("expired", "expired")):
            assert sum(d[key] for d in days) == p[counter], (code, key)
        holders = found["holders"]
        assert holders["held"] == p["supply"]
        assert sum(b["holders"] for b in holders["histogram"]) == holders["holders"]
        tops = [h["balance"] for h in holders["top"]]
        assert tops == sorted(tops, reverse=True)


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


def test_page_latencies_for_the_bench(node: Node) -> None:
    found = page_latencies(node, requests=40)
    assert 0 < found["explorer_p50_ms"] <= found["explorer_p95_ms"] <= found["explorer_max_ms"]


def test_pages_follow_a_growing_chain(tmp_path: Path, demo_dir: Path) -> None:
    """A pending record shows as pending; new blocks show up in the cached series and
    figures; the bench's traffic generator grows the chain and the bench measures it."""
    from exchange import records as rec
    from ledger.crypto.keys import SigningKey
    from ledger.wire.record import sign_body

    path = tmp_path / "copy"
    shutil.copytree(demo_dir, path)
    grown = open_exchange_node(path, produce=False)
    try:
        with TestClient(create_app(grown)) as client:
            before = client.get("/programs/vk.json").json()["program"]
            before_total = grown.replica.total
            holder = client.get("/programs/vk.json").json()["holders"]["top"][0]["account"]
            key = SigningKey.load(path / "keys" / "merchants" / "village-kitchen.pem")
            seq = grown.replica.seqs.get(key.public_hex, 0) + 1
            record = sign_body(rec.issue("chunxi-road-alliance", key.public_hex, seq, "vk",
                                         holder, 1234, "T-1",
                                         expires=grown.record_expires()), [key])
            grown.submit(record)
            pending = client.get(f"/records/{record.id}")
            assert pending.status_code == 200 and "pending" in pending.text
            assert_valid_html5(pending.text, "pending record")
            grown.produce_now()
            after = client.get("/programs/vk.json").json()
            assert after["program"]["issued"] == before["issued"] + 1234
            assert after["series"]["days"][-1]["issued"] == 1234  # today, by the clock
            head = client.get("/index.json").json()
            assert head["recent_records"][0]["summary"] == "issue 1,234 VK"
            found = client.get(f"/records/{record.id}.json").json()
            assert found["effects"][0]["text"].startswith("minted 1,234 VK points to ")
    finally:
        grown.close()
    total = grow(path, before_total + 300, customers=40)
    assert total >= before_total + 300
    reopened = open_exchange_node(path, produce=False)
    try:
        assert page_latencies(reopened, requests=30)["explorer_p95_ms"] > 0
    finally:
        reopened.close()


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


def test_series_catch_up_in_the_background(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long catch-up runs in a thread; its result equals folding inline."""
    from api.explorer import cache

    store, head, total = node.replica.store, node.replica.height, node.replica.total
    monkeypatch.setattr(cache, "fold_records_inline_max", 10)
    background = cache.ProgramSeries(8 * 3_600_000)
    assert not background.refresh(store, head, total)
    assert background.worker is not None
    background.worker.join(60)
    assert background.refresh(store, head, total)
    monkeypatch.setattr(cache, "fold_records_inline_max", 10**9)
    inline = cache.ProgramSeries(8 * 3_600_000)
    assert inline.refresh(store, head, total)
    assert background.data == inline.data and background.height == head
    conn = store.thread_reader()
    assert cache.window_start(conn, head, 60) == 1
    assert 1 < cache.window_start(conn, head, 1) <= head


class _Recorder:
    """A connection that notes every statement before running it."""

    def __init__(self, conn: Any, seen: list[tuple[str, tuple[Any, ...]]]) -> None:
        self.conn, self.seen = conn, seen

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        self.seen.append((sql, tuple(args)))
        return self.conn.execute(sql, args)


def test_no_page_scans_a_chain_sized_table(http: TestClient, node: Node,
                                           sample: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statement a page runs searches an index (EXPLAIN QUERY PLAN), never scans
    blocks, records, x_history or x_swaps."""
    from api.explorer.context import Ctx

    seen: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(Ctx, "conn", property(
        lambda self: _Recorder(self.replica.store.thread_reader(), seen)))
    for url in [*pages(sample), f"/search?q={sample['hash']}", f"/search?q={sample['swap']}",
                f"/search?q={sample['swap'][:9]}", f"/records/{sample['swap']}/receipt.json",
                "/programs/vk/holders.csv", f"/accounts/{sample['account']}/history.csv",
                "/records.csv", "/blocks.csv", f"/blocks/{sample['height']}/records.csv"]:
        assert http.get(url, follow_redirects=False).status_code in (200, 303), url
    conn = node.replica.store.reader()
    try:
        for sql, args in dict.fromkeys(seen):
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert not re.search(r"\bSCAN (blocks|records|x_history|x_swaps)\b", plan), (sql, plan)
    finally:
        conn.close()
    assert len(seen) > 50
