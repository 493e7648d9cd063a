"""HTTP submission figures: a real ``jifentong serve`` subprocess on loopback, fed by an
asyncio client with a bounded number of requests in flight."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from api.bench.workload import SmallAlliance
from api.client.client import now_ms
from api.node.datadir import create_data_dir
from ledger.limits import record_ttl_ms_max_default

CONCURRENCY = 32
BATCH = 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "api", "serve", "--data", str(data),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("bench server did not start")


async def post_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
                    body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP/1.1 keep-alive POST, written in one segment (a load generator, not a client:
    httpx costs more CPU per request than the node does, and would be what we measured)."""
    writer.write(b"POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, await reader.readexactly(int(headers.get(b"content-length", 0)))


async def _send_all(url: str, bodies: list[bytes], path: str) -> float:
    """POST every body with CONCURRENCY connections busy; returns elapsed seconds."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                body = queue.get_nowait()
                while True:
                    status, headers, answer = await post_once(reader, writer, path, body)
                    if status == 503:  # backpressure: honour Retry-After
                        await asyncio.sleep(float(headers.get(b"retry-after", b"1")))
                        continue
                    if status not in (200, 202):
                        raise RuntimeError(f"bench submission refused: {answer[:200]!r}")
                    break
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


def _drain(url: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/status", timeout=10).json()["mempool"] == 0:
            return
        time.sleep(0.2)


def http_submissions(records: int, progress: Callable[[str], None]) -> tuple[float, float, int]:
    """(single records/s, batched records/s, bytes on disk per record) for ``records``."""
    alliance = SmallAlliance("bench-http", customers=500,
                             expires=now_ms() + record_ttl_ms_max_default // 2)
    progress(f"signing {2 * records} swaps for the HTTP figures")
    setup = alliance.setup_phases()
    singles = alliance.swaps(records)
    batched = alliance.swaps(records)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        create_data_dir(data, alliance.genesis(interval_ms=100), [alliance.validator])
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = _serve(data, port)
        try:
            for phase in setup:
                body = b'{"records":[' + b",".join(r.wire_bytes() for r in phase) + b"]}"
                httpx.post(f"{url}/v1/records/batch?wait=true", content=body,
                           timeout=120).raise_for_status()
            progress("HTTP: one record per request")
            single_s = asyncio.run(_send_all(url, [r.wire_bytes() for r in singles],
                                             "/v1/records"))
            _drain(url)
            progress(f"HTTP: batches of {BATCH}")
            bodies = [b'{"records":[' + b",".join(r.wire_bytes() for r in batched[i:i + BATCH])
                      + b"]}" for i in range(0, len(batched), BATCH)]
            batch_s = asyncio.run(_send_all(url, bodies, "/v1/records/batch"))
            _drain(url)
            total = httpx.get(f"{url}/v1/status", timeout=10).json()["records"]
        finally:
            server.terminate()
            server.wait(timeout=60)
        disk = sum(p.stat().st_size for p in data.glob("*.sqlite*"))
    return records / single_s, records / batch_s, disk // max(total, 1)
