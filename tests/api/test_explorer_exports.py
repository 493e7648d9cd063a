"""The block explorer's exports and paging: CSV exports equal their JSON twins cell by cell
and hold every row, keyset pagination covers everything once, and a program's series and
holders agree with its counters."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.node.runtime import Node
from tests.api.explorer_kit import demo_dir, http, node, sample

__all__ = ["demo_dir", "http", "node", "sample"]  # fixtures


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
