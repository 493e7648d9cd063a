"""Concurrent clients on loopback: every acknowledged record ends up in the chain, once.

50 clients submit swaps for 30 s (``JIFENTONG_SOAK_S`` shortens it), one record per request,
through a real ``jifentong serve``; then the server is killed with SIGKILL while clients are
still submitting, restarted, and every record it acknowledged before dying is committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.bench.workload import SmallAlliance
from api.client.client import Client, now_ms
from api.node.datadir import create_data_dir
from ledger.wire.record import Record

from .serving import free_port

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 50
SOAK_S = float(os.environ.get("JIFENTONG_SOAK_S", "30"))
pytestmark = pytest.mark.slow


class Server:
    """`jifentong serve` in a subprocess."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--data", str(self.data), "--port",
             str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def alliance_server(tmp_path: Path) -> Iterator[tuple[Server, SmallAlliance]]:
    alliance = SmallAlliance("soak-alliance", customers=CLIENTS,
                             expires=now_ms() + 1_800_000)  # the server's clock is real
    create_data_dir(tmp_path / "data", alliance.genesis(interval_ms=100), [alliance.validator])
    server = Server(tmp_path / "data")
    server.start()
    with Client(server.url) as client:
        for phase in alliance.setup_phases():
            for record in phase:
                assert client.submit(record, wait=True)["status"] == "committed"
    yield server, alliance
    server.stop()


def hammer(url: str, records: list[Record], acked: list[str], stop: threading.Event) -> None:
    """Send records one at a time until told to stop; remember what the node acknowledged."""
    with httpx.Client(base_url=url, timeout=10) as http:
        for record in records:
            if stop.is_set():
                return
            try:
                answer = http.post("/v1/records", content=record.wire_bytes(),
                                   headers={"content-type": "application/json"})
            except httpx.HTTPError:
                return  # the server went away; nothing more is acknowledged
            if answer.status_code in (200, 202):
                acked.append(record.id)
            elif answer.status_code == 503:
                time.sleep(float(answer.headers.get("retry-after", "1")))
            else:
                raise AssertionError(f"unexpected {answer.status_code}: {answer.text}")


def run_clients(url: str, alliance: SmallAlliance, seconds: float,
                kill: Server | None = None) -> list[str]:
    # enough for the whole run (round-robin over the customers, in seq order)
    swaps = alliance.swaps(CLIENTS * max(60, int(seconds * 60)))
    streams = [swaps[i::CLIENTS] for i in range(CLIENTS)]
    acked: list[list[str]] = [[] for _ in range(CLIENTS)]
    stop = threading.Event()
    threads = [threading.Thread(target=hammer, args=(url, streams[i], acked[i], stop))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    if kill is not None:
        kill.kill()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    return [i for ids in acked for i in ids]


def drained(url: str, deadline_s: float = 120) -> None:
    """Wait until the node has committed everything it holds."""
    deadline = time.monotonic() + deadline_s
    with Client(url) as client:
        while client.status()["mempool"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.status()["mempool"] == 0


def chain_record_ids(url: str) -> list[str]:
    out: list[str] = []
    with Client(url) as client:
        height, start = client.status()["height"], 1
        while start <= height:
            for block in client.blocks(start, 100)["blocks"]:
                out += block["record_ids"]
            start += 100
    return out


def test_fifty_clients_every_acknowledged_record_is_committed_once(
        alliance_server: tuple[Server, SmallAlliance]) -> None:
    server, alliance = alliance_server
    acked = run_clients(server.url, alliance, SOAK_S)
    assert len(acked) > CLIENTS  # they did get through
    assert len(set(acked)) == len(acked)
    drained(server.url)
    in_chain = chain_record_ids(server.url)
    assert len(in_chain) == len(set(in_chain))
    assert set(acked) <= set(in_chain)


def test_a_killed_node_loses_no_acknowledged_record(
        alliance_server: tuple[Server, SmallAlliance]) -> None:
    server, alliance = alliance_server
    acked = run_clients(server.url, alliance, min(SOAK_S, 5), kill=server)
    assert acked
    server.start()  # the journal is replayed on start
    drained(server.url)
    in_chain = chain_record_ids(server.url)
    assert len(in_chain) == len(set(in_chain))
    assert set(acked) <= set(in_chain)
