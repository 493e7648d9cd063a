"""A chain that stops advancing while records wait is reported ``stalled`` (503 from
/healthz, ``health`` in /v1/status, a gauge in /metrics); an idle chain is not; and a
record the proposer leaves out is answered ``record_unprocessable``, also after a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from fastapi.testclient import TestClient

from api.node.datadir import create_data_dir
from api.node.runtime import Node
from api.server.app import create_app
from ledger.application import BlockContext, Execution, ValidatorInfo
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.limits import stall_block_intervals, stall_ms_min
from ledger.wire.record import Record, make_body, sign_body

CHAIN = "counter-test"
USER = SigningKey.from_seed(b"u" * 32)
T0 = 1_767_225_600_000  # the genesis time of tests/api/conftest.py's counter node
EXPIRES = T0 + 1_800_000  # half an hour later: within the chain's record_ttl_ms_max


def counter(seq: int, name: str = "visits") -> Record:
    return sign_body(make_body(CHAIN, "counter.add", [USER.public_hex], seq,
                               {"name": name, "by": 1}, expires=EXPIRES), [USER])


def _health(http: TestClient) -> tuple[int, str, str]:
    answer = http.get("/healthz")
    return answer.status_code, answer.json()["status"], http.get("/v1/status").json()[
        "health"]["status"]


def test_a_chain_that_does_not_advance_while_records_wait_is_stalled(
        counter_http: TestClient, counter_node: Node) -> None:
    clock = counter_node.consortium.clock
    assert isinstance(clock, ManualClock)
    limit = counter_node.stall_after_ms
    assert limit == max(stall_block_intervals * counter_node.genesis.params.block_interval_ms,
                        stall_ms_min)
    clock.advance(10 * limit)  # idle for long: nothing waits, so nothing is owed
    assert _health(counter_http) == (200, "ok", "ok")
    counter_node.consortium.stop(2)
    counter_node.consortium.stop(3)  # two of four validators down: no block can commit
    assert counter_http.post("/v1/records", content=counter(1).wire_bytes()).status_code == 202
    assert counter_node.produce_now() == 0
    clock.advance(limit // 2)
    assert _health(counter_http) == (200, "ok", "ok")
    clock.advance(limit)
    assert counter_node.produce_now() == 0
    answer = counter_http.get("/healthz")
    assert answer.status_code == 503 and answer.json()["status"] == "stalled"
    assert answer.json()["waiting_ms"] > limit and answer.json()["mempool"] == 1
    assert counter_http.get("/v1/status").json()["health"]["status"] == "stalled"
    assert "jifentong_stalled 1" in counter_http.get("/metrics").text
    counter_node.consortium.start(2)
    assert counter_node.produce_now() == 1
    assert _health(counter_http) == (200, "ok", "ok")
    assert "jifentong_stalled 0" in counter_http.get("/metrics").text


class PoisonedApp(CounterApp):
    """Executing a block that holds an add to the counter ``poison`` raises (a bug)."""

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        if any(r.payload.get("name") == "poison" for r in records):
            raise ValueError("poisoned")
        return super().execute(ctx, records)


def test_a_record_left_out_is_rejected_for_its_waiter_and_not_replayed(
        tmp_path: Path, validator_keys: list[SigningKey]) -> None:
    genesis = Genesis(CHAIN, 1_767_225_600_000, tuple(
        ValidatorInfo(f"validator-{i}", k.public_hex) for i, k in enumerate(validator_keys)))
    data = create_data_dir(tmp_path / "data", genesis, validator_keys)
    clock = ManualClock(genesis.time_ms, step_ms=1)
    node = Node(data, PoisonedApp, clock=clock, produce=False)
    fine, poison = counter(1), counter(2, "poison")
    produced: list[int] = []

    def producer() -> None:  # cut the block once both records wait
        deadline = time.monotonic() + 30
        while len(node.consortium.mempool) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        produced.append(node.produce_now())

    with TestClient(create_app(node, explorer=False)) as http:
        assert http.post("/v1/records", content=fine.wire_bytes()).status_code == 202
        thread = threading.Thread(target=producer)
        thread.start()
        waited = http.post("/v1/records?wait=true&timeout_ms=30000", content=poison.wire_bytes())
        thread.join()
        assert produced == [1]
        assert waited.status_code == 422 and waited.json()["code"] == "record_unprocessable"
        assert http.get(f"/v1/records/{poison.id}").json() == {
            "id": poison.id, "status": "rejected", "code": "record_unprocessable"}
        assert http.get(f"/v1/records/{fine.id}").json()["status"] == "committed"
        assert "jifentong_records_unprocessable_total 1" in http.get("/metrics").text
    node.close()
    reopened = Node(data, PoisonedApp, clock=clock, produce=False)
    assert len(reopened.consortium.mempool) == 0 and len(reopened.journal) == 0
    assert reopened.produce_now() == 0 and reopened.replica.height == 1
    reopened.close()
