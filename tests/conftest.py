"""Shared fixtures: free loopback ports and a real etcd for the ordering and cluster tests
(the conformance vectors' fixture is in tests/ledger/conftest.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import Phase, settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def etcd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The client URL of a one-member etcd for this session (its own data dir and ports);
    tests keep apart by giving each chain its own genesis (the log's keys name its hash)."""
    binary = shutil.which("etcd")
    if binary is None:
        pytest.skip("etcd is not installed (Debian: apt-get install etcd-server)")
    client, peer = _free_port(), _free_port()
    url = f"http://127.0.0.1:{client}"
    data = tmp_path_factory.mktemp("etcd")
    with open(data / "etcd.log", "wb") as out:
        process = subprocess.Popen(
            [binary, "--name", "t", "--data-dir", str(data / "member"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{peer}"], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.post(url + "/v3/kv/range", json={"key": "eA=="}, timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"etcd did not start; see {data / 'etcd.log'}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()``: a TCP port on 127.0.0.1 that nothing listens on right now."""
    return _free_port


# .ci/mutation runs with ``--hypothesis-profile=mutation``: a mutant is killed by the first
# failing example, and shrinking it (minutes, per mutant) would tell nobody anything.
settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate])
