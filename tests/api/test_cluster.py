"""A local alliance as real processes: four etcd members and four ``jifentong node``s started
by ``jifentong cluster up``, submissions over HTTP, and SIGKILLed etcd leaders and nodes.

After each fault every node holds the same headers, ``jifentong verify URL`` passes against
every node, and every acknowledged (202) record is in the chain exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.client.client import Client, ClientError
from api.server.serving import port_free
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not any(Path(d, "etcd").is_file() for d in os.environ.get("PATH", "").split(":")),
    reason="etcd is not installed (Debian: apt-get install etcd-server)")]
NODES = 4
SETTLE_S_MAX = 60.0


def jifentong(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api", *args], capture_output=True,
                          text=True, timeout=timeout_s, check=False)


def _base_port() -> int:
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(12_000, 20_000, 100)  # below the kernel's ephemeral ports
        ports = [base + off + i for off in (0, 50, 60) for i in range(NODES)]
        if all(port_free("127.0.0.1", p) for p in ports):
            return base
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("cluster") / "alliance"
    base = _base_port()
    up = jifentong("cluster", "up", "--data", str(data), "--base-port", str(base))
    try:
        assert up.returncode == 0, up.stderr + up.stdout
        urls = [f"http://127.0.0.1:{base + i}" for i in range(NODES)]
        assert all(url in up.stdout for url in urls)
        chain = httpx.get(urls[0] + "/v1/genesis").json()["genesis"]["chain"]
        yield {"data": data, "urls": urls, "chain": chain, "acked": []}
    finally:
        jifentong("cluster", "down", "--data", str(data))


def status(data: Path) -> dict[str, Any]:
    out = jifentong("cluster", "status", "--data", str(data), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def application(chain: str, tag: str) -> Record:
    """A merchant application from a fresh key: any key may send one, and each commits."""
    key = SigningKey.generate()
    body = rec.apply_merchant(chain, key.public_hex, 1, f"shop-{tag}", f"Shop {tag}",
                              expires=int(time.time() * 1000) + 600_000)
    return sign_body(body, [key])


def submit(url: str, record: Record) -> bool:
    """True when the node acknowledged the record (202)."""
    try:
        with Client(url, timeout_s=10) as client:
            client.submit(record)
        return True
    except (ClientError, httpx.HTTPError):
        return False


def settle(urls: list[str], acked: list[str]) -> list[str]:
    """Wait until every node holds every acknowledged record at one head; returns it."""
    deadline = time.monotonic() + SETTLE_S_MAX
    while True:
        try:
            heads = [httpx.get(u + "/v1/status", timeout=5).json() for u in urls]
            done = len({(h["height"], h["head"]) for h in heads}) == 1 and all(
                httpx.get(f"{urls[0]}/v1/records/{i}", timeout=5).json()["status"] == "committed"
                for i in acked[-20:])
        except (httpx.HTTPError, KeyError, ValueError):
            done = False
        if done:
            return [h["head"] for h in heads]
        assert time.monotonic() < deadline, f"nodes did not settle: {heads}"
        time.sleep(0.3)


def chain_of(url: str) -> tuple[list[str], list[str]]:
    """Every header hash and every record id of the node's chain, in order."""
    hashes: list[str] = []
    ids: list[str] = []
    with Client(url) as client:
        while True:
            page = client.blocks(len(hashes) + 1, 100)["blocks"]
            if not page:
                return hashes, ids
            for block in page:
                hashes.append(block["hash"])
                ids.extend(block["record_ids"])


def check_alliance(cluster: dict[str, Any]) -> None:
    urls, acked = cluster["urls"], cluster["acked"]
    settle(urls, acked)
    chains = [chain_of(u) for u in urls]
    assert all(c == chains[0] for c in chains), "nodes hold different headers"
    ids = chains[0][1]
    assert len(ids) == len(set(ids)), "a record is in the chain twice"
    assert set(acked) <= set(ids), "an acknowledged record was lost"
    for url in urls:
        verified = jifentong("verify", url)
        assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]


def test_cluster_status_reports_every_process(cluster: dict[str, Any]) -> None:
    report = status(cluster["data"])
    assert sorted(report) == ["etcd", "nodes"]
    assert [sorted(n) for n in report["nodes"]] == [["head", "height", "member", "pid", "url"]] * 4
    assert [sorted(e) for e in report["etcd"]] == [["leader", "name", "pid", "url"]] * 4
    assert [n["url"] for n in report["nodes"]] == cluster["urls"]
    assert all(isinstance(p["pid"], int) for p in report["nodes"] + report["etcd"])
    assert sum(e["leader"] is True for e in report["etcd"]) == 1


def test_any_node_takes_submissions_and_all_hold_one_chain(cluster: dict[str, Any]) -> None:
    for i in range(8):
        record = application(cluster["chain"], f"any-{i}")
        assert submit(cluster["urls"][i % NODES], record)
        cluster["acked"].append(record.id)
    check_alliance(cluster)


def test_the_chain_goes_on_when_the_etcd_leader_is_killed(cluster: dict[str, Any]) -> None:
    leader = next(e for e in status(cluster["data"])["etcd"] if e["leader"])
    os.kill(leader["pid"], signal.SIGKILL)
    for i in range(8):
        record = application(cluster["chain"], f"leaderless-{i}")
        assert submit(cluster["urls"][i % NODES], record)
        cluster["acked"].append(record.id)
    report = status(cluster["data"])
    assert next(e for e in report["etcd"] if e["name"] == leader["name"])["pid"] is None
    check_alliance(cluster)
    assert jifentong("cluster", "up", "--data", str(cluster["data"])).returncode == 0


def test_a_node_killed_while_taking_submissions_catches_up(cluster: dict[str, Any]) -> None:
    victim = status(cluster["data"])["nodes"][1]
    acked: list[str] = []

    def hammer() -> None:  # submissions keep arriving at the victim while it dies
        for i in range(40):
            record = application(cluster["chain"], f"victim-{i}")
            if submit(victim["url"], record):
                acked.append(record.id)

    thread = threading.Thread(target=hammer)
    thread.start()
    while len(acked) < 3:
        time.sleep(0.05)
    os.kill(victim["pid"], signal.SIGKILL)
    for i in range(6):  # the others go on meanwhile
        record = application(cluster["chain"], f"survivor-{i}")
        assert submit(cluster["urls"][(0, 2, 3)[i % 3]], record)
        acked.append(record.id)
    thread.join()
    restarted = jifentong("cluster", "up", "--data", str(cluster["data"]))
    assert restarted.returncode == 0, restarted.stderr
    assert status(cluster["data"])["nodes"][1]["pid"] not in (None, victim["pid"])
    cluster["acked"].extend(acked)
    check_alliance(cluster)


def test_down_stops_every_process(tmp_path: Path) -> None:
    data = tmp_path / "small"
    up = jifentong("cluster", "up", "--data", str(data), "--nodes", "1",
                   "--base-port", str(_base_port()))
    try:
        assert up.returncode == 0, up.stderr
        pids = [p["pid"] for p in status(data)["nodes"] + status(data)["etcd"]]
        assert all(isinstance(p, int) for p in pids)
    finally:
        jifentong("cluster", "down", "--data", str(data))
    report = status(data)
    assert [p["pid"] for p in report["nodes"] + report["etcd"]] == [None, None]


def _heights(store: Path) -> list[tuple[int, str, int, int]]:
    """(height, state commitment, records, time) of every block in a store."""
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT height, header FROM blocks ORDER BY height").fetchall()
    return [(h, json.loads(x)["state"], json.loads(x)["records"], json.loads(x)["time"])
            for h, x in rows]


def test_the_demo_district_is_built_through_the_cluster(tmp_path: Path) -> None:
    """``demo --cluster`` plays the demo's month through four member nodes (their clock the
    demo's, from a file), reaching the in-process build's state at every height, then leaves
    them running on the system clock, taking new records."""
    data, base = tmp_path / "district", _base_port()
    built = jifentong("demo", "--data", str(data), "--customers", "10", "--days", "2",
                      "--cluster", "--port", str(base), timeout_s=300)
    try:
        assert built.returncode == 0, built.stderr[-2000:]
        assert "through the cluster" in " ".join(built.stderr.split())
        assert not list(data.glob("node-*.sqlite"))  # no in-process consortium built it
        urls = [f"http://127.0.0.1:{base + i}" for i in range(NODES)]
        stores = sorted(data.glob("member-*.sqlite"))
        chains = [_heights(store) for store in stores]
        assert len(stores) == NODES and all(c == chains[0] for c in chains)
        with sqlite3.connect(stores[0]) as conn:
            proposers = {json.loads(h)["proposer"] for (h,) in conn.execute(
                "SELECT header FROM blocks")}
        assert len(proposers) == NODES  # the proposer rotated over the four nodes
        from api.demo.build import build_demo

        build_demo(tmp_path / "in-process", seed=7, customers=10, days=2)
        assert chains[0] == _heights(tmp_path / "in-process" / "node-0.sqlite")
        assert not (data / "run" / "demo-clock").exists()  # back on the system clock
        chain = httpx.get(urls[0] + "/v1/genesis").json()["genesis"]["chain"]
        record = application(chain, "after-the-demo")
        assert submit(urls[3], record)
        check_alliance({"urls": urls, "acked": [record.id]})
    finally:
        jifentong("cluster", "down", "--data", str(data))


def test_a_node_takes_its_time_from_a_file_only_when_allowed(tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    clock.write_text("1790812800000\n")
    env = {k: v for k, v in os.environ.items() if k != "JIFENTONG_ALLOW_DEMO_CLOCK"}
    refused = subprocess.run(
        [sys.executable, "-m", "api", "node", "--data", str(tmp_path / "none"), "--member", "m",
         "--etcd", "http://127.0.0.1:9", "--demo-clock", str(clock)],
        capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode != 0
    assert "JIFENTONG_ALLOW_DEMO_CLOCK=1" in refused.stderr


def test_a_node_asked_for_a_client_certificate_without_a_ca_says_so(tmp_path: Path) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "api", "node", "--data", str(tmp_path), "--member", "m",
         "--etcd", "https://127.0.0.1:9", "--etcd-cert", str(tmp_path / "node.pem"),
         "--etcd-key", str(tmp_path / "node-key.pem")],
        capture_output=True, text=True, timeout=60)
    assert answer.returncode != 0
    assert "need --etcd-ca" in " ".join(answer.stderr.split())
