"""Cluster figures: swaps over HTTP into a four-member local cluster (``cluster up``), every
node checking every signature and executing every block; and commit latency at a fixed rate.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from api.bench.http_load import BATCH, post_once
from api.bench.workload import SmallAlliance
from api.client.client import now_ms
from api.demo import cluster as local
from api.node.datadir import create_data_dir
from api.server.serving import port_free
from ledger.limits import record_ttl_ms_max_default
from ledger.wire.record import Record

MEMBERS = 4
#: Records per second offered while commit latency is measured, and for how long.
LATENCY_RATE_PER_S = 200
LATENCY_S = 5
COMMIT_S_MAX = 300.0
WAIT_PATH = "/v1/records?wait=true&timeout_ms=30000"


def _base_port() -> int:
    for base in range(21_000, 60_000, 100):
        if all(port_free(local.HOST, base + off + i) for off in (0, 50, 60)
               for i in range(MEMBERS)):
            return base
    raise RuntimeError("no free block of ports for the cluster bench")


def _records_everywhere(urls: list[str]) -> int:
    return min(int(httpx.get(u + "/v1/status", timeout=30).json()["records"]) for u in urls)


def _state(urls: list[str]) -> list[tuple[int, int, str]]:
    """(records, mempool, rejected counter line) per node, for an error message."""
    out = []
    for url in urls:
        status = httpx.get(url + "/v1/status", timeout=30).json()
        rejected = [line for line in httpx.get(url + "/metrics", timeout=30).text.splitlines()
                    if line.startswith("jifentong_records_rejected_total")]
        out.append((status["records"], status["mempool"], " ".join(rejected)))
    return out


async def _throughput(urls: list[str], streams: list[list[Record]]) -> None:
    """Each node takes its own stream of batches, one batch at a time, all nodes at once.

    A customer's swaps all go to one node in sequence order, so no swap can be ordered
    before an earlier one of the same customer (which would then be rejected as replayed)."""

    async def worker(http: httpx.AsyncClient, url: str, swaps: list[Record]) -> None:
        for i in range(0, len(swaps), BATCH):
            body = b'{"records":[' + b",".join(r.wire_bytes() for r in swaps[i:i + BATCH]) + b"]}"
            while True:
                answer = await http.post(url + "/v1/records/batch", content=body, timeout=120)
                if answer.status_code != 503:
                    answer.raise_for_status()
                    break
                await asyncio.sleep(1)

    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(worker(http, u, s) for u, s in zip(urls, streams, strict=True)))


async def _latencies(urls: list[str], swaps: list[Record]) -> list[float]:
    """Send one swap every 1/rate s, each waiting for its block; the ms each took.

    Each request goes over its own plain asyncio connection (``http_load.post_once``), not
    httpx: on a loaded two-core host httpx's client spent more CPU per request than the
    nodes did, and held 200 requests/s offered down to a few dozen."""
    out: list[float] = []

    async def one(i: int, record: Record) -> None:
        host, port = urls[i % len(urls)].removeprefix("http://").split(":")
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                status, _, answer = await post_once(reader, writer, WAIT_PATH, record.wire_bytes())
            finally:
                writer.close()
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            return  # counted as not committed
        if status == 200 and json.loads(answer)["status"] == "committed":
            out.append((time.perf_counter() - started) * 1000)

    tasks = []
    started = time.perf_counter()
    for i, record in enumerate(swaps):
        await asyncio.sleep(max(0.0, started + i / LATENCY_RATE_PER_S - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, record)))
    await asyncio.gather(*tasks)
    return out


def cluster_figures(records: int, progress: Callable[[str], None]) -> tuple[float, float, float]:
    """(records/s committed on every node, commit ms p50, commit ms p99 at 200 rec/s)."""
    alliance = SmallAlliance("bench-cluster", customers=500, size=MEMBERS,
                             expires=now_ms() + record_ttl_ms_max_default // 2)
    progress(f"signing {records} swaps for the cluster figures")
    setup = alliance.setup_phases()
    swaps = alliance.swaps(records)
    paced = alliance.swaps(LATENCY_RATE_PER_S * LATENCY_S)
    if alliance.customers % MEMBERS:
        raise ValueError("customers must split evenly over the nodes")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cluster"
        create_data_dir(data, alliance.genesis(interval_ms=100), alliance.validators)
        cluster = local.layout(data, MEMBERS, _base_port())
        try:
            progress("starting 4 etcd members and 4 nodes")
            urls = local.up(cluster)
            for phase in setup:
                body = b'{"records":[' + b",".join(r.wire_bytes() for r in phase) + b"]}"
                httpx.post(urls[0] + "/v1/records/batch?wait=true", content=body,
                           timeout=120).raise_for_status()
            before = _records_everywhere(urls)
            progress(f"cluster: {records} swaps in batches of {BATCH} over 4 nodes")
            started = time.perf_counter()
            asyncio.run(_throughput(urls, [swaps[i::MEMBERS] for i in range(MEMBERS)]))
            deadline = time.monotonic() + COMMIT_S_MAX
            while _records_everywhere(urls) < before + records:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the cluster did not commit every swap: {_state(urls)}")
                time.sleep(0.1)
            rate = records / (time.perf_counter() - started)
            progress(f"cluster: {rate:,.0f} swaps/s committed on every node")
            progress(f"cluster: commit latency at {LATENCY_RATE_PER_S} rec/s offered")
            latencies = sorted(asyncio.run(_latencies(urls, paced)))
        finally:
            local.down(cluster)
    if len(latencies) < len(paced):
        raise RuntimeError(f"{len(paced) - len(latencies)} paced swaps did not commit")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return rate, statistics.median(latencies), p99
