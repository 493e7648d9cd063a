"""The block explorer at scale and over time: the bench's page latencies, pages that follow a
growing chain, series caught up in the background, and no page that scans a chain-sized
table."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.bench.explorer import grow, page_latencies
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node
from tests.api.explorer_kit import assert_valid_html5, demo_dir, http, node, pages, sample

__all__ = ["demo_dir", "http", "node", "sample"]  # fixtures


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
