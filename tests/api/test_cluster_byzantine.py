"""A byzantine member as a process: of four ``jifentong node``s, one runs with the test-only
``--test-byzantine`` and signs, for every block, a header with a false state commitment.

The three honest nodes still commit (three votes of four are a quorum), record the false
votes they read as evidence (``/v1/validators``), hold identical headers, pass
``jifentong verify URL``, and hold every acknowledged record exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.cli.cluster import TEST_BYZANTINE_ENV
from api.demo import cluster as local

from .serving import cluster_base_port
from .test_cluster import application, check_alliance, jifentong, submit
from .test_cluster import pytestmark as cluster_marks

pytestmark = cluster_marks
BYZANTINE = 3


def start_detached(layout: local.Layout, i: int, extra: list[str],
                   env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start node ``i`` with ``extra`` arguments, where ``cluster down`` will find it (the
    caller waits for the child once the cluster is down)."""
    name = f"node-{layout.members[i]}"
    with open(layout.log_path(name), "ab") as out:
        child = subprocess.Popen(local.node_argv(layout, i) + extra, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, cwd=layout.path,
                                 env={**os.environ, **env})
    layout.pid_path(name).write_text(f"{child.pid}\n")
    local.wait_healthy([layout.node_url(i)])
    return child


def base_port() -> int:
    return cluster_base_port(21_000, 27_000, "127.0.0.1")


@pytest.fixture(scope="module")
def alliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("byzantine") / "alliance"
    up = jifentong("cluster", "up", "--data", str(data), "--base-port", str(base_port()))
    children: list[subprocess.Popen[bytes]] = []
    try:
        assert up.returncode == 0, up.stderr + up.stdout
        layout = local.layout(data)
        local.stop(layout, f"node-{layout.members[BYZANTINE]}")
        children.append(start_detached(layout, BYZANTINE, ["--test-byzantine"],
                                       {TEST_BYZANTINE_ENV: "1"}))
        urls = [layout.node_url(i) for i in range(len(layout.members))]
        genesis = httpx.get(urls[0] + "/v1/genesis").json()["genesis"]
        yield {"layout": layout, "urls": urls, "chain": genesis["chain"],
               "byzantine_key": genesis["validators"][BYZANTINE]["key"]}
    finally:
        jifentong("cluster", "down", "--data", str(data))
        for child in children:
            child.wait(timeout=30)


def test_honest_nodes_commit_record_the_false_votes_and_verify(
        alliance: dict[str, Any]) -> None:
    urls = alliance["urls"]
    honest = [u for i, u in enumerate(urls) if i != BYZANTINE]
    acked: list[str] = []
    for i in range(16):  # any node takes submissions, the byzantine one too
        record = application(alliance["chain"], f"byz-{i}")
        assert submit(urls[i % len(urls)], record)
        acked.append(record.id)
        time.sleep(0.1)
    check_alliance({"urls": honest, "acked": acked})  # one chain, verify, exactly once
    evidence = [e for u in honest
                for e in httpx.get(u + "/v1/validators").json()["evidence"]]
    assert evidence, "no honest node recorded the byzantine votes"
    assert {e["validator"] for e in evidence} == {alliance["byzantine_key"]}
    for item in evidence:
        block = httpx.get(f"{honest[0]}/v1/blocks/{item['height']}").json()
        assert item["header_hash"] != block["hash"]


def test_the_byzantine_switch_is_refused_without_its_environment_variable(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != TEST_BYZANTINE_ENV}
    run = subprocess.run([sys.executable, "-m", "api", "node", "--member", "m", "--etcd",
                          "http://127.0.0.1:9", "--data", str(tmp_path), "--test-byzantine"],
                         capture_output=True, text=True, timeout=60, env=env, check=False)
    assert run.returncode != 0
    assert TEST_BYZANTINE_ENV in run.stdout + run.stderr
    assert "--test-byzantine" not in jifentong("node", "--help").stdout
