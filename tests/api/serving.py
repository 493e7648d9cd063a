"""Serve a node on a free loopback port for end-to-end tests: `jifentong serve` in a subprocess
(:func:`served`), or an app in a uvicorn thread of the test process (:func:`served_app`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster_base_port(first: int, last: int, host: str = "127.0.0.1") -> int:
    """A base port in [first, last) whose node, etcd client and etcd peer ports (base + i,
    base + 50 + i, base + 60 + i, i < 4) are all free. Keep the range below the kernel's
    ephemeral ports (32768-): an outgoing connection could hold one as a node starts."""
    from api.server.serving import port_free

    for base in range(first, last, 100):
        if all(port_free(host, base + off + i) for off in (0, 50, 60) for i in range(4)):
            return base
    raise RuntimeError("no free block of ports")


@contextmanager
def served(data: str | Path, *, cwd: Path | None = None, env: dict[str, str] | None = None,
           port: int | None = None) -> Iterator[str]:
    """Serve the data dir ``data``; yields the node URL once /healthz answers."""
    port = port or free_port()
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    server = subprocess.Popen([sys.executable, "-m", "api", "serve", "--data", str(data),
                               "--port", str(port)], cwd=cwd, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(f"jifentong serve did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def served_app(app: Any, name: str = "test-server") -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn in a thread; yields its URL once it listens."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
