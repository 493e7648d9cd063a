"""A member's node (``NetNode``) behind the same routers and explorer as ``serve``: a
one-member alliance ordered through a real etcd, so this node's vote is the quorum."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.demo.cluster import create_alliance
from api.node.netnode import NetNode
from api.server.app import create_app
from api.server.serving import app_factory
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from ledger.errors import LedgerError, StoreError, WrongChain
from ledger.wire.record import Record, sign_body


@pytest.fixture
def node(tmp_path: Path, etcd_url: str) -> Iterator[NetNode]:
    data = create_alliance(tmp_path / "alliance", 1)
    member = data.genesis().validators[0].name
    node = NetNode(data, member, [etcd_url], app_factory)
    yield node
    node.close()


@pytest.fixture
def http(node: NetNode) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


def application(chain: str, tag: str, key: SigningKey | None = None) -> Record:
    key = key or SigningKey.generate()
    body = rec.apply_merchant(chain, key.public_hex, 1, f"shop-{tag}", f"Shop {tag}",
                              expires=int(time.time() * 1000) + 600_000)
    return sign_body(body, [key])


def test_a_submission_is_acknowledged_ordered_and_committed(node: NetNode,
                                                            http: TestClient) -> None:
    record = application(node.genesis.chain, "a")
    answer = http.post("/v1/records", content=record.wire_bytes(),
                       params={"wait": "true", "timeout_ms": "20000"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["height"]) == ("committed", 1)
    assert body["receipt"]["record"]["body"]["type"] == record.type
    status = http.get("/v1/status").json()
    assert (status["height"], status["mempool"]) == (1, 0)
    assert status["validators"][0]["up"] is True
    assert http.get(f"/v1/records/{record.id}").json()["status"] == "committed"
    again = http.post("/v1/records", content=record.wire_bytes())
    assert again.json()["duplicate"] is True
    assert http.get("/healthz").json()["status"] == "ok"
    assert "jifentong_block_height 1" in http.get("/metrics").text
    assert http.get("/").status_code == 200  # the explorer serves the node's chain


def test_a_record_refused_at_the_door_never_reaches_the_log(node: NetNode,
                                                            http: TestClient) -> None:
    key = SigningKey.generate()
    first = application(node.genesis.chain, "b", key)
    assert http.post("/v1/records", content=first.wire_bytes(),
                     params={"wait": "true"}).status_code == 200
    replay = application(node.genesis.chain, "c", key)  # seq 1 again
    answer = http.post("/v1/records", content=replay.wire_bytes())
    assert answer.status_code == 409, answer.text
    assert node.log.pending_count() == 0


def test_a_member_without_its_validator_key_does_not_start(tmp_path: Path,
                                                           etcd_url: str) -> None:
    data = create_alliance(tmp_path / "alliance", 1)
    data.validator_key_path(0).unlink()
    with pytest.raises(StoreError, match="validator key"):
        NetNode(data, data.genesis().validators[0].name, [etcd_url], app_factory, run=False)
    with pytest.raises(StoreError, match="no validator"):
        NetNode(data, "nobody", [etcd_url], app_factory, run=False)


def test_concurrent_submissions_reach_etcd_in_groups(node: NetNode) -> None:
    records = [application(node.genesis.chain, f"g{i}") for i in range(40)]
    bad = application("another-chain", "x")

    async def all_at_once() -> list[list[LedgerError | None]]:
        return await asyncio.gather(*(node.admit([r]) for r in [*records, bad]))

    results = asyncio.run(all_at_once())
    assert results[:-1] == [[None]] * len(records)  # each request gets its own result
    assert isinstance(results[-1][0], WrongChain)
    assert node.admitted_records == len(records) + 1
    assert node.admitted_groups <= 3  # 41 requests, a few etcd transactions
    deadline = time.monotonic() + 20
    while node.replica.total < len(records) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.replica.total == len(records)


def test_the_proposer_takes_its_candidates_from_the_watch(node: NetNode,
                                                          http: TestClient) -> None:
    """After one read of the log while the watch is up, pending submissions come from the
    watch (``ledger.consensus.watched``), not from a range read per height."""
    for tag in ("w1", "w2", "w3"):
        record = application(node.genesis.chain, tag)
        answer = http.post("/v1/records", content=record.wire_bytes(),
                           params={"wait": "true", "timeout_ms": "20000"})
        assert answer.json()["status"] == "committed", answer.text
    watched = node.log.watched
    assert watched.live and watched.complete
    assert watched.loads == 1  # loaded once; the stream kept it current since
    assert node.replica.height == 3
