"""A local alliance as separate processes on loopback (``jifentong cluster up|status|down``).

One etcd member and one ``jifentong node`` per alliance member, each detached, each with its
pid file and log. Layout of DIR (besides the data dir's genesis.json and keys/)::

    DIR/cluster.json              base port and member names, fixed by the first ``up``
    DIR/etcd/<name>/              each etcd member's data
    DIR/member-<id>.sqlite        each node's store
    DIR/run/<process>.pid         pids of the running processes
    DIR/logs/<process>.log        their output

Ports: node i listens on ``base + i``; etcd member i on ``base + 50 + i`` (clients) and
``base + 60 + i`` (peers). This is for trying the protocol out and for tests: one machine,
plain HTTP on 127.0.0.1. docs/OPERATIONS.md says how to run members on their own hosts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.demo.district import MEMBERS, REGULATOR, MemberSpec
from api.node.datadir import DataDir, create_data_dir
from exchange.genesis import app_genesis
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.crypto.keys import SigningKey
from ledger.errors import StoreError

HOST = "127.0.0.1"
#: Nodes (and etcd members) a local cluster may have: etcd ports sit 50 and 60 above the base.
cluster_nodes_max = 10
#: Seconds ``up`` waits for every node to answer /healthz, and ``down`` for processes to exit.
start_s_max = 60.0
stop_s_max = 10.0
LOCAL_CHAIN = "local-alliance"
ETCD = "etcd"
#: The environment variable that must be "1" before a node takes its time from a file
#: (``jifentong node --demo-clock``; ``jifentong demo --cluster`` sets it for its nodes).
DEMO_CLOCK_ENV = "JIFENTONG_ALLOW_DEMO_CLOCK"


@dataclass(frozen=True)
class Layout:
    """Names, ports and paths of one local cluster."""

    data: DataDir
    members: tuple[str, ...]
    base_port: int

    @property
    def path(self) -> Path:
        return self.data.path

    def node_url(self, i: int) -> str:
        return f"http://{HOST}:{self.base_port + i}"

    def etcd_name(self, i: int) -> str:
        return f"etcd-{i}"

    def etcd_client_url(self, i: int) -> str:
        return f"http://{HOST}:{self.base_port + 50 + i}"

    def etcd_peer_url(self, i: int) -> str:
        return f"http://{HOST}:{self.base_port + 60 + i}"

    def etcd_urls(self) -> list[str]:
        return [self.etcd_client_url(i) for i in range(len(self.members))]

    def pid_path(self, process: str) -> Path:
        return self.path / "run" / f"{process}.pid"

    def log_path(self, process: str) -> Path:
        return self.path / "logs" / f"{process}.log"


def create_alliance(path: Path, nodes: int) -> DataDir:
    """A new data dir with genesis and fresh random keys for ``nodes`` members."""
    specs = list(MEMBERS[:nodes]) + [MemberSpec(f"member-{i + 1}", f"Member {i + 1}")
                                     for i in range(len(MEMBERS), nodes)]
    validators = [SigningKey.generate() for _ in specs]
    members = [SigningKey.generate() for _ in specs]
    regulator = SigningKey.generate()
    section = app_genesis(
        [{"id": m.id, "name": m.name, "key": k.public_hex, "validator_key": v.public_hex}
         for m, k, v in zip(specs, members, validators, strict=True)],
        {"name": REGULATOR, "key": regulator.public_hex})
    genesis = Genesis(LOCAL_CHAIN, int(time.time() * 1000),
                      tuple(ValidatorInfo(m.id, v.public_hex)
                            for m, v in zip(specs, validators, strict=True)),
                      LedgerParams(block_interval_ms=200), section)
    data = create_data_dir(path, genesis, validators)
    for spec, key in zip(specs, members, strict=True):
        key.save(data.keys_dir / "members" / f"{spec.id}.pem")
    regulator.save(data.keys_dir / "regulator.pem")
    return data


def adopt_replicas(data: DataDir) -> list[str]:
    """Give each member's node the store of its replica in the in-process consortium of
    ``data`` (``node-N.sqlite`` is validator N's, in genesis order), where it has none yet;
    returns the members given one. Each store is copied with SQLite's backup API."""
    adopted = []
    for index, validator in enumerate(data.genesis().validators):
        source = data.path / f"node-{index}.sqlite"
        target = data.path / f"member-{validator.name}.sqlite"
        if source.is_file() and not target.exists():
            with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            adopted.append(validator.name)
    return adopted


def layout(path: Path, nodes: int | None = None, base_port: int | None = None) -> Layout:
    """The cluster of ``path``: created (alliance and cluster.json) when ``path`` is new."""
    data, config = DataDir(path), Path(path) / "cluster.json"
    if not config.is_file():
        if nodes is None or not 1 <= nodes <= cluster_nodes_max:
            raise StoreError(f"a local cluster has 1 to {cluster_nodes_max} nodes",
                             code="cluster_size")
        if not data.exists():
            if path.exists() and any(path.iterdir()):
                raise StoreError(f"{path} exists and is not a Jifentong data dir",
                                 code="not_a_data_dir")
            create_alliance(path, nodes)
        members = [v.name for v in data.genesis().validators]
        config.write_text(json.dumps({"base_port": base_port or 8400, "members": members},
                                     indent=2) + "\n")
    doc = json.loads(config.read_text())
    # absolute, so that processes started from one folder are recognised from any other
    return Layout(DataDir(Path(path).resolve()), tuple(doc["members"]), int(doc["base_port"]))


def running(pid_path: Path) -> int | None:
    """The pid in ``pid_path`` if that process is alive (not a zombie) and is still one of
    ours (an etcd or a node of this DIR: a pid the system reused is never signalled)."""
    try:
        pid = int(pid_path.read_text().strip())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    ours = str(pid_path.parent.parent).encode() in b" ".join(argv)
    return pid if state != "Z" and ours else None


def _spawn(cluster: Layout, process: str, argv: list[str],
           env: dict[str, str] | None = None) -> int:
    cluster.log_path(process).parent.mkdir(parents=True, exist_ok=True)
    cluster.pid_path(process).parent.mkdir(parents=True, exist_ok=True)
    with open(cluster.log_path(process), "ab") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 cwd=cluster.path, env=env)
    cluster.pid_path(process).write_text(f"{child.pid}\n")
    return child.pid


def etcd_argv(cluster: Layout, i: int) -> list[str]:
    binary = shutil.which(ETCD)
    if binary is None:
        raise StoreError("etcd is not installed (Debian: apt-get install etcd-server)",
                         code="etcd_missing")
    initial = ",".join(f"{cluster.etcd_name(j)}={cluster.etcd_peer_url(j)}"
                       for j in range(len(cluster.members)))
    return [binary, "--name", cluster.etcd_name(i),
            "--data-dir", str(cluster.path / "etcd" / cluster.etcd_name(i)),
            "--listen-client-urls", cluster.etcd_client_url(i),
            "--advertise-client-urls", cluster.etcd_client_url(i),
            "--listen-peer-urls", cluster.etcd_peer_url(i),
            "--initial-advertise-peer-urls", cluster.etcd_peer_url(i),
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--initial-cluster-token", f"jifentong-{cluster.data.genesis().hash.hex()[:16]}",
            # old revisions (deleted submissions, superseded values) go after an hour; the
            # live keys (proposals and votes of every height) stay: catch-up reads them
            "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1h"]


def node_argv(cluster: Layout, i: int, demo_clock: Path | None = None) -> list[str]:
    argv = [sys.executable, "-m", "api", "node", "--data", str(cluster.path),
            "--member", cluster.members[i], "--host", HOST,
            "--port", str(cluster.base_port + i), "--etcd", ",".join(cluster.etcd_urls())]
    return argv + (["--demo-clock", str(demo_clock)] if demo_clock is not None else [])


def start_etcd(cluster: Layout, i: int) -> int:
    name = cluster.etcd_name(i)
    return running(cluster.pid_path(name)) or _spawn(cluster, name, etcd_argv(cluster, i))


def start_node(cluster: Layout, i: int, demo_clock: Path | None = None) -> int:
    name = f"node-{cluster.members[i]}"
    env = {**os.environ, DEMO_CLOCK_ENV: "1"} if demo_clock is not None else None
    return running(cluster.pid_path(name)) or _spawn(cluster, name,
                                                     node_argv(cluster, i, demo_clock), env)


def up(cluster: Layout, wait: bool = True, demo_clock: Path | None = None) -> list[str]:
    """Start whatever of the cluster is not running; returns the nodes' URLs. Nodes
    started with ``demo_clock`` take their time from that file (``demo --cluster``)."""
    for i in range(len(cluster.members)):
        start_etcd(cluster, i)
    for i in range(len(cluster.members)):
        start_node(cluster, i, demo_clock)
    urls = [cluster.node_url(i) for i in range(len(cluster.members))]
    if wait:
        wait_healthy(urls)
    return urls


def wait_healthy(urls: list[str], timeout_s: float = start_s_max) -> None:
    deadline = time.monotonic() + timeout_s
    for url in urls:
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2.0).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StoreError(f"{url} did not come up in {timeout_s:.0f} s; see the logs "
                                 "in DIR/logs/", code="cluster_start_timeout")
            time.sleep(0.2)


def status(cluster: Layout) -> dict[str, Any]:
    """``{"nodes": [{member, url, pid, height, head}], "etcd": [{name, url, pid, leader}]}``."""
    nodes = []
    for i, member in enumerate(cluster.members):
        height = head = None
        try:
            body = httpx.get(cluster.node_url(i) + "/v1/status", timeout=2.0).json()
            height, head = body["height"], body["head"]
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        nodes.append({"member": member, "url": cluster.node_url(i),
                      "pid": running(cluster.pid_path(f"node-{member}")),
                      "height": height, "head": head})
    members = []
    for i in range(len(cluster.members)):
        leader = None
        try:
            body = httpx.post(cluster.etcd_client_url(i) + "/v3/maintenance/status", json={},
                              timeout=2.0).json()
            leader = body["leader"] == body["header"]["member_id"]
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        name = cluster.etcd_name(i)
        members.append({"name": name, "url": cluster.etcd_client_url(i),
                        "pid": running(cluster.pid_path(name)), "leader": leader})
    return {"nodes": nodes, "etcd": members}


def stop(cluster: Layout, process: str, sig: int = signal.SIGTERM) -> bool:
    """Signal one process of the cluster and wait for it to exit; True if it was running."""
    pid = running(cluster.pid_path(process))
    if pid is None:
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + stop_s_max
    while running(cluster.pid_path(process)) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(cluster.pid_path(process)) == pid:
        os.kill(pid, signal.SIGKILL)
    return True


def down(cluster: Layout) -> list[str]:
    """Stop every node, then every etcd member; returns the processes that were running."""
    names = [f"node-{m}" for m in cluster.members]
    names += [cluster.etcd_name(i) for i in range(len(cluster.members))]
    return [name for name in names if stop(cluster, name)]
