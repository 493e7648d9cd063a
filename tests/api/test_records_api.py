"""Submitting records over HTTP: receipts, idempotency, and hostile input refused cleanly.

Every hostile request gets its documented 4xx problem with a stable code, and the node's
state commitment, height and mempool are exactly as before.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from api.node.runtime import Node
from api.server.app import create_app, fast_lane
from ledger.crypto.keys import SigningKey
from ledger.verify.receipt import check_receipt
from ledger.wire.record import Record, make_body, sign_body

CHAIN = "counter-test"
EXPIRES = 1_767_225_600_000 + 1_800_000  # the counter node's clock starts at 2026-01-01
USER = SigningKey.from_seed(b"u" * 32)


def counter(seq: int, by: int = 1, chain: str = CHAIN, key: SigningKey = USER) -> Record:
    return sign_body(make_body(chain, "counter.add", [key.public_hex], seq,
                               {"name": "visits", "by": by}, expires=EXPIRES), [key])


def snapshot(node: Node) -> tuple[Any, ...]:
    replica = node.replica
    return (replica.height, replica.state, len(node.consortium.mempool),
            len(node.journal), dict(replica.seqs))


def test_a_record_is_accepted_then_committed_with_a_receipt_that_checks_alone(
        counter_http: TestClient, counter_node: Node) -> None:
    record = counter(1, by=5)
    first = counter_http.post("/v1/records", content=record.wire_bytes())
    assert first.status_code == 202
    assert first.json() == {"id": record.id, "status": "pending", "duplicate": False}
    counter_node.produce_now()
    answer = counter_http.post("/v1/records?wait=true", content=record.wire_bytes()).json()
    assert answer["status"] == "committed" and answer["duplicate"] is True
    trusted = {v.key for v in counter_node.genesis.validators}
    checked = check_receipt(answer["receipt"], trusted)
    assert (checked.record_id, checked.height) == (record.id, 1)


def test_waiting_submission_returns_once_the_block_commits(
        counter_http: TestClient, counter_node: Node) -> None:
    record = counter(1)

    def produce_once_queued() -> None:
        for _ in range(1000):
            if record.id in counter_node.consortium.mempool:
                counter_node.produce_now()
                return
            time.sleep(0.01)

    producer = threading.Thread(target=produce_once_queued)
    producer.start()
    answer = counter_http.post("/v1/records?wait=true&timeout_ms=20000",
                               content=record.wire_bytes())
    producer.join()
    assert answer.status_code == 200
    assert answer.json()["status"] == "committed"
    assert answer.json()["receipt"]["record"]["body"]["seq"] == 1


def test_a_batch_reports_one_result_per_record_in_order(
        counter_http: TestClient, counter_node: Node) -> None:
    good = [counter(i) for i in range(1, 4)]
    bad = counter(9, chain="another-chain")
    body = json.dumps({"records": [r.to_wire() for r in [*good, bad]]})
    answer = counter_http.post("/v1/records/batch", content=body).json()
    assert [r["status"] for r in answer["results"]] == ["pending"] * 3 + ["rejected"]
    assert answer["results"][3]["code"] == "wrong_chain"
    counter_node.produce_now()
    again = counter_http.post("/v1/records/batch?wait=true", content=body).json()
    assert [r.get("duplicate") for r in again["results"][:3]] == [True] * 3
    assert counter_node.replica.app.committed["visits"] == 3  # type: ignore[attr-defined]


def test_the_same_record_sent_twice_at_once_is_committed_once(
        counter_http: TestClient, counter_node: Node) -> None:
    record = counter(1)
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(counter_http.post(
        "/v1/records", content=record.wire_bytes()).status_code)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [202] * 8
    counter_node.produce_now()
    assert counter_node.replica.total == 1


def _hostile_cases() -> list[tuple[str, bytes, int, str]]:
    good = counter(1).to_wire()
    forged = counter(1).to_wire()
    forged["signatures"] = ["00" * 64]
    big = counter(1).to_wire()
    big["body"]["payload"]["by"] = 2**64
    raw_good = json.dumps(good)
    return [
        ("malformed JSON", b'{"body": {', 400, "malformed_json"),
        ("not UTF-8", b'{"body": "\xff"}', 400, "invalid_utf8"),
        ("duplicate keys", raw_good.replace('"seq": 1', '"seq": 1, "seq": 2').encode(), 400,
         "duplicate_key"),
        ("a float", raw_good.replace('"by": 1', '"by": 1.0').encode(), 400, "float_not_allowed"),
        ("an amount of 2**64", json.dumps(big).encode(), 400, "integer_out_of_range"),
        ("negative zero", raw_good.replace('"by": 1', '"by": -0').encode(), 400,
         "negative_zero"),
        ("negative zero float", raw_good.replace('"by": 1', '"by": -0.0').encode(), 400,
         "float_not_allowed"),
        ("deep nesting", b"[" * 2000 + b"]" * 2000, 400, "too_deep"),
        ("a lone surrogate", raw_good.replace('"visits"', '"\\ud800"').encode(), 400,
         "invalid_unicode"),
        ("a wrong signature", json.dumps(forged).encode(), 422, "bad_signature"),
        ("another chain's id", counter(1, chain="other-alliance").wire_bytes(), 422,
         "wrong_chain"),
        ("an extra field", raw_good.replace('"signatures"', '"extra": 1, "signatures"')
         .encode(), 400, "malformed_record"),
        ("an array", b"[1, 2, 3]", 400, "malformed_record"),
        ("a record over 8 KiB", b'{"body": "' + b"x" * 9000 + b'"}', 413, "record_too_large"),
    ]


class Served:
    """An ASGI app under test that notes, per HTTP request, the name of the route that
    answered it (``None`` when nothing routed it, e.g. a 413 from the limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.routes = app, cast(list[str | None], [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.routes.append(getattr(scope.get("route"), "name", None))


#: The two routes of POST /v1/records: the app's (``create_app``; the only one tests that
#: build the app reach) and the submit lane ``jifentong serve`` puts in front (``fast_lane``).
ROUTES = {"framework route": "submit_record", "submit lane": "submit_record_lane"}


@dataclass
class Lane:
    client: TestClient
    route: str  # the name of the route every plain POST /v1/records must reach
    served: Served


@pytest.fixture(params=sorted(ROUTES))
def submit_http(request: pytest.FixtureRequest, counter_node: Node) -> Iterator[Lane]:
    """A client of the app as tests build it, or as ``jifentong serve`` serves it."""
    app = create_app(counter_node, explorer=False)
    served = Served(app if request.param == "framework route" else fast_lane(app, counter_node))
    with TestClient(served) as client:
        yield Lane(client, ROUTES[request.param], served)


@pytest.mark.parametrize(("name", "payload", "status", "code"), _hostile_cases(),
                         ids=[c[0] for c in _hostile_cases()])
def test_hostile_input_gets_its_problem_and_changes_nothing(
        submit_http: Lane, counter_node: Node, name: str, payload: bytes, status: int,
        code: str) -> None:
    before = snapshot(counter_node)
    answer = submit_http.client.post("/v1/records", content=payload)
    assert submit_http.served.routes == [submit_http.route]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    counter_node.produce_now()
    assert snapshot(counter_node) == before


def test_each_route_accepts_a_good_record_alike(submit_http: Lane, counter_node: Node) -> None:
    record = counter(1, by=3)
    answer = submit_http.client.post("/v1/records", content=record.wire_bytes())
    assert submit_http.served.routes == [submit_http.route]
    assert (answer.status_code, answer.headers["content-type"]) == (202, "application/json")
    assert answer.json() == {"id": record.id, "status": "pending", "duplicate": False}
    assert record.id in counter_node.consortium.mempool


def test_a_waiting_submission_reaches_the_framework_route_either_way(
        submit_http: Lane, counter_node: Node) -> None:
    answer = submit_http.client.post("/v1/records?wait=true&timeout_ms=0",
                                     content=counter(1).wire_bytes())
    assert answer.status_code == 202
    assert submit_http.served.routes == ["submit_record"]


def test_a_10_mb_body_is_refused_with_413_before_any_route_reads_it(
        submit_http: Lane, counter_node: Node) -> None:
    before = snapshot(counter_node)
    for path in ("/v1/records", "/v1/records/batch"):
        answer = submit_http.client.post(path, content=b"x" * (10 * 1024 * 1024))
        assert answer.status_code == 413
        assert answer.json()["code"] == "request_too_large"
    assert snapshot(counter_node) == before


def test_a_replayed_record_is_a_duplicate_and_a_reused_sequence_number_a_conflict(
        counter_http: TestClient, counter_node: Node) -> None:
    counter_http.post("/v1/records", content=counter(1).wire_bytes())
    counter_node.produce_now()
    before = snapshot(counter_node)
    replay = counter_http.post("/v1/records", content=counter(1).wire_bytes())
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    reuse = counter_http.post("/v1/records", content=counter(1, by=7).wire_bytes())
    assert reuse.status_code == 409 and reuse.json()["code"] == "sequence_replayed"
    counter_node.produce_now()
    assert snapshot(counter_node) == before


def test_an_application_rejection_is_a_422_with_the_applications_code(
        counter_http: TestClient, counter_node: Node) -> None:
    answer = counter_http.post("/v1/records", content=counter(1, by=-5).wire_bytes())
    assert answer.status_code == 422
    assert answer.json()["code"] == "counter_negative"


def test_a_full_mempool_answers_503_with_retry_after(
        counter_http: TestClient, counter_node: Node) -> None:
    counter_node.consortium.mempool.records_max = 1
    assert counter_http.post("/v1/records", content=counter(1).wire_bytes()).status_code == 202
    answer = counter_http.post("/v1/records", content=counter(2).wire_bytes())
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["code"] == "mempool_full"


@pytest.mark.parametrize("path", ["/v1/blocks/0", "/v1/blocks/abc", "/v1/records/xyz",
                                  "/v1/blocks?limit=100000", "/v1/proofs/consistency?first=2"])
def test_bad_read_parameters_are_400_problems(counter_http: TestClient, path: str) -> None:
    answer = counter_http.get(path)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_parameter"


def test_health_and_metrics(counter_http: TestClient, counter_node: Node) -> None:
    counter_http.post("/v1/records", content=counter(1).wire_bytes())
    counter_node.produce_now()
    health = counter_http.get("/healthz").json()
    assert health["status"] == "ok" and health["height"] == 1
    metrics = counter_http.get("/metrics").text
    assert "jifentong_block_height 1" in metrics
    assert "jifentong_records_committed_total 1" in metrics
    assert 'jifentong_request_seconds_count{route="/v1/records"}' in metrics
