"""Explorer latency for ``jifentong bench``: grow a demo chain, then time every kind of page.

:func:`grow` appends synthetic district traffic (issues, redeems, swaps) to a demo data dir
until it holds about ``records`` records, through the real consortium. :func:`page_latencies`
requests a fixed mix of explorer pages (HTML and JSON twins) in-process and returns the
median and 95th percentile in milliseconds.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.client.client import record_ttl_ms_default
from api.demo.district import CHAIN, MERCHANTS
from api.demo.simulation import derive_key
from api.explorer.cache import cache_of
from api.node.datadir import DataDir
from api.node.runtime import Node
from exchange import queries, queries_holders
from exchange import records as rec
from exchange.state.state import State
from ledger.consensus.clock import ManualClock
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

Progress = Callable[[str], None]
HOUR_MS = 3_600_000


def grow(path: Path, records: int, *, seed: int = 7, customers: int = 20_000,
         progress: Progress | None = None) -> int:
    """Add blocks of synthetic traffic to the demo at ``path`` until ``records`` are stored."""
    from exchange.app import ExchangeApp

    data = DataDir(path)
    probe = Node(data, ExchangeApp, produce=False)
    start_ms = probe.replica.time_ms
    probe.close()
    clock = ManualClock(start_ms)
    node = Node(data, ExchangeApp, clock=clock, produce=False)
    node.consortium.stop(len(node.consortium.replicas) - 1)  # a quorum is enough, and faster
    try:
        load = _Load(node, seed, customers)
        block_max = node.genesis.params.block_records_max
        while node.replica.total < records:
            clock.advance(HOUR_MS)
            load.expires = clock.peek_ms() + record_ttl_ms_default
            batch = load.batch(min(block_max, records - node.replica.total))
            node.submit_many(batch)
            node.produce_now()
            if progress is not None and node.replica.height % 20 == 0:
                progress(f"grown to {node.replica.total:,} records")
        return node.replica.total
    finally:
        node.close()


class _Load:
    """Signs one block's worth of records; each customer signs at most one per block."""

    def __init__(self, node: Node, seed: int, customers: int) -> None:
        self.node, self.rng = node, random.Random(seed)
        self.customers = [derive_key(seed, f"customer:{i}") for i in range(customers)]
        self.merchants = {m.program: derive_key(seed, f"merchant:{m.id}") for m in MERCHANTS}
        self.seqs: dict[str, int] = dict(node.replica.seqs)
        self.orders = 0
        self.expires = node.replica.time_ms + record_ttl_ms_default  # set for each block

    @property
    def view(self) -> State:
        return self.node.view

    def seq(self, key: SigningKey) -> int:
        self.seqs[key.public_hex] = self.seqs.get(key.public_hex, 0) + 1
        return self.seqs[key.public_hex]

    def batch(self, count: int) -> list[Record]:
        view = self.view
        programs = {p["code"]: p for p in queries.programs(view)}
        signers = self.rng.sample(self.customers, min(count, len(self.customers)))
        out: list[Record] = []
        for customer in signers:
            roll = self.rng.random()
            made = None
            if roll < 0.15:
                made = self.redeem(view, customer, programs)
            elif roll < 0.35:
                made = self.swap(view, customer, programs)
            out.append(made or self.issue(customer, programs))
        return out

    def issue(self, customer: SigningKey, programs: dict[str, Any]) -> Record:
        code = self.rng.choice(sorted(programs))
        key = self.merchants[code]
        self.orders += 1
        amount = self.rng.randint(15, 150) * programs[code]["rate"] // 10
        return sign_body(rec.issue(CHAIN, key.public_hex, self.seq(key), code,
                                   customer.public_hex, amount, f"B-{self.orders:07d}",
                                   expires=self.expires), [key])

    def held(self, view: Any, customer: SigningKey, programs: dict[str, Any]) -> dict[str, int]:
        found = {}
        for code in programs:
            holding = view.holdings.get((customer.public_hex, code))
            if holding is not None and holding[0] > 1:
                found[code] = holding[0]
        return found

    def redeem(self, view: Any, customer: SigningKey, programs: dict[str, Any]) -> Record | None:
        held = self.held(view, customer, programs)
        if not held:
            return None
        code = self.rng.choice(sorted(held))
        self.orders += 1
        return sign_body(rec.redeem(CHAIN, customer.public_hex, self.seq(customer), code,
                                    held[code] // 2, f"R-{self.orders:07d}", expires=self.expires),
                         [customer])

    def swap(self, view: Any, customer: SigningKey, programs: dict[str, Any]) -> Record | None:
        held = self.held(view, customer, programs)
        if not held:
            return None
        give = self.rng.choice(sorted(held))
        targets = [c for c, p in programs.items() if give in p["accepts"]]
        if not targets:
            return None
        get = self.rng.choice(targets)
        quote = queries.quote(view, give, held[give] // 2, get, customer.public_hex)
        if quote["code"] != "ok" or quote["out"] <= 0:
            return None
        return sign_body(rec.swap(CHAIN, customer.public_hex, self.seq(customer), give,
                                  held[give] // 2, get, quote["out"], quote["give_version"],
                                  quote["get_version"], expires=self.expires), [customer])


def page_urls(node: Node, rng: random.Random, count: int) -> list[str]:
    """``count`` explorer URLs: every kind of page, about evenly, with random subjects."""
    conn = node.replica.store.thread_reader()
    height = node.replica.height
    heights = [rng.randint(1, height) for _ in range(16)]
    ids = [row[0] for h in heights for row in conn.execute(
        "SELECT id FROM records WHERE height = ? ORDER BY idx LIMIT 2", (h,))]
    codes = sorted(p["code"] for p in queries.programs(node.view))
    merchants = sorted(m["id"] for m in queries.merchants(node.view))
    accounts = queries_holders.accounts_holding(conn, rng.choice(codes), 40)
    kinds: list[Callable[[], str]] = [
        lambda: "/", lambda: "/index.json", lambda: "/blocks",
        lambda: f"/blocks?before={rng.randint(2, height + 1)}",
        lambda: f"/blocks/{rng.choice(heights)}", lambda: f"/blocks/{rng.choice(heights)}.json",
        lambda: f"/records/{rng.choice(ids)}", lambda: f"/records/{rng.choice(ids)}.json",
        lambda: f"/accounts/{rng.choice(accounts)}",
        lambda: f"/accounts/{rng.choice(accounts)}/history.csv",
        lambda: f"/programs/{rng.choice(codes)}", lambda: f"/programs/{rng.choice(codes)}.json",
        lambda: f"/programs/{rng.choice(codes)}/holders.csv", lambda: "/programs",
        lambda: f"/merchants/{rng.choice(merchants)}", lambda: "/rates",
        lambda: "/alliance", lambda: "/settlement", lambda: "/records",
        lambda: f"/search?q={rng.choice(heights)}", lambda: f"/search?q={rng.choice(ids)}",
        lambda: f"/search?q={rng.choice(codes)}",
    ]
    return [rng.choice(kinds)() for _ in range(count)]


def page_latencies(node: Node, requests: int = 600, seed: int = 1) -> dict[str, float]:
    """Median and 95th percentile (ms) of ``requests`` explorer pages, after one warm-up pass."""
    from fastapi.testclient import TestClient

    from api.server.app import create_app

    urls = page_urls(node, random.Random(seed), requests)
    timings: list[float] = []
    with TestClient(create_app(node)) as client:
        for url in dict.fromkeys(urls):  # warm caches once (as a running node would be)
            client.get(url)
        offset = node.view.params.get("day_offset_ms") or 0
        cache_of(node, offset).settle()
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, follow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code not in (200, 303):  # a search with one hit redirects
                raise RuntimeError(f"{url} answered {response.status_code}")
            timings.append(elapsed)
    timings.sort()
    return {"explorer_p50_ms": statistics.median(timings),
            "explorer_p95_ms": timings[int(len(timings) * 0.95) - 1],
            "explorer_max_ms": timings[-1]}
