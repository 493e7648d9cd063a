"""``GET /v1/events`` against a live node: filters, resuming, the live tail, the bound on
open streams, the Python iterator and ``jifentong watch``."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.client.client import Client, Wallet
from api.client.events import StreamRefused, parse_sse
from api.demo.build import build_demo
from api.server.app import create_app
from api.server.routers.events import StreamSlots
from api.server.serving import open_exchange_node
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from tests.api.serving import served_app

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ZHANG = SigningKey.from_seed(b"\x5a" * 32)


def earn_and_swap(base: str, data: Path) -> None:
    """张三 earns 800 at Village Kitchen and swaps them into Burger Palace."""
    with Client(base) as client:
        till = Wallet(SigningKey.load(data / "keys/merchants/village-kitchen.pem"), client)
        zhang = Wallet(ZHANG, client)
        client.submit(till.sign_body(rec.issue(till.chain, till.public, till.next_seq(), "vk",
                                               zhang.public, 800, "meal",
                                               expires=till.expires())), wait=True)
        quote = client.quote("vk", 800, "bp", zhang.public)
        client.submit(zhang.sign_body(rec.swap(
            zhang.chain, zhang.public, zhang.next_seq(), "vk", quote["taken"], "bp",
            quote["out"], quote["give_version"], quote["get_version"],
            expires=zhang.expires())), wait=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    """(base URL, the FastAPI app, data dir) of a producing node over a small demo chain."""
    path = tmp_path_factory.mktemp("events") / "demo"
    build_demo(path, seed=5, customers=12, days=2)
    node = open_exchange_node(path)
    app = create_app(node)
    try:
        with served_app(app, "events-server") as base:
            earn_and_swap(base, path)
            yield base, app, path
    finally:
        node.close()


def history(client: Client) -> list[dict[str, Any]]:
    """Every record committed so far, from the chain API (the stream's reference)."""
    head = client.status()["height"]
    found = []
    for start in range(1, head + 1, 100):
        for block in client.blocks(start, 100, records=True)["blocks"]:
            for index, record in enumerate(block["records"]):
                found.append({"id": f"{block['height']}.{index}", "body": record["body"]})
    return found


def touches(body: dict[str, Any], program: str) -> bool:
    payload = body["payload"]
    return program in (payload.get("program"), payload.get("give"), payload.get("get"))


def test_from_height_replays_every_record_in_chain_order(served: tuple[str, Any, Path]) -> None:
    with Client(served[0]) as client:
        expected = history(client)
        got = list(itertools.islice(client.events(from_height=1), len(expected)))
    assert [e["id"] for e in got] == [e["id"] for e in expected]
    assert [e["type"] for e in got] == [e["body"]["type"] for e in expected]
    swap = next(e for e in got if e["type"] == "exchange.swap")
    assert {x["kind"] for x in swap["effects"]} >= {"swap_out", "swap_in"}
    issue = next(e for e in got if e["type"] == "exchange.issue")
    assert issue["effects"] == [{"account": issue["payload"]["to"], "program":
                                 issue["payload"]["program"], "kind": "issue", "delta":
                                 issue["payload"]["amount"], "balance": issue["effects"][0][
                                     "balance"]}]


def test_program_and_account_filters_keep_only_what_touches_them(
        served: tuple[str, Any, Path]) -> None:
    with Client(served[0]) as client:
        expected = [e["id"] for e in history(client) if touches(e["body"], "bp")]
        got = list(itertools.islice(client.events(from_height=1, program="bp"), len(expected)))
        assert [e["id"] for e in got] == expected
        holder = ZHANG.public_hex
        mine = list(itertools.islice(client.events(from_height=1, account=holder), 2))
        burger = list(itertools.islice(client.events(from_height=1, merchant="burger-palace"),
                                       len(expected)))
    assert [e["type"] for e in mine] == ["exchange.issue", "exchange.swap"]
    assert [e["id"] for e in burger][:5] != [] and all(
        touches({"payload": e["payload"]}, "bp") or e["payload"].get("merchant") ==
        "burger-palace" for e in burger)


def test_last_event_id_resumes_right_after_it(served: tuple[str, Any, Path]) -> None:
    with Client(served[0]) as client:
        first = list(itertools.islice(client.events(from_height=1), 12))
        resumed = next(client.events(last_event_id=first[4]["id"]))
        height = first[4]["height"]
        after_block = next(client.events(last_event_id=str(height)))
    assert resumed["id"] == first[5]["id"]
    assert after_block["height"] == height + 1


def test_a_new_record_arrives_live_with_its_effects(served: tuple[str, Any, Path]) -> None:
    base, _, data = served
    customer = SigningKey.from_seed(b"\x61" * 32).public_hex
    arrived: queue.Queue[dict[str, Any]] = queue.Queue()

    def listen() -> None:
        with Client(base) as client:
            arrived.put(next(client.events(account=customer)))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(1.0)  # the stream is open before the record is sent
    with Client(base) as client:
        till = Wallet(SigningKey.load(data / "keys/merchants/village-kitchen.pem"), client)
        body = rec.issue(till.chain, till.public, till.next_seq(), "vk", customer, 300, "t1",
                         expires=till.expires())
        answer = client.submit(till.sign_body(body), wait=True)
    event = arrived.get(timeout=20)
    assert event["record"] == answer["id"] and event["type"] == "exchange.issue"
    assert event["effects"] == [{"account": customer, "program": "vk", "kind": "issue",
                                 "delta": 300, "balance": 300}]


def test_streams_beyond_the_bound_get_503_with_retry_after(
        served: tuple[str, Any, Path]) -> None:
    base, app, _ = served
    saved = getattr(app.state, "event_slots", None)
    app.state.event_slots = StreamSlots(limit=1)
    try:
        with httpx.Client(base_url=base, timeout=httpx.Timeout(10.0, read=None)) as http:
            with http.stream("GET", "/v1/events") as first:
                assert first.status_code == 200
                assert first.headers["content-type"].startswith("text/event-stream")
                second = http.get("/v1/events", timeout=5.0)  # a stream would time out
                assert second.status_code == 503
                assert second.headers["retry-after"] == "5"
                assert second.json()["code"] == "too_many_streams"
                with pytest.raises(StreamRefused) as refused, Client(base) as client:
                    next(client.events())
                assert refused.value.retry_after_s == 5
            deadline = time.monotonic() + 10  # the server notices the client left
            while app.state.event_slots.open and time.monotonic() < deadline:
                time.sleep(0.1)
            with http.stream("GET", "/v1/events") as again:
                assert again.status_code == 200
    finally:
        app.state.event_slots = saved or StreamSlots()


def test_a_malformed_last_event_id_is_a_400_problem(served: tuple[str, Any, Path]) -> None:
    answer = httpx.get(served[0] + "/v1/events", headers={"last-event-id": "12;drop"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_parameter"


def test_parse_sse_joins_data_lines_and_skips_comments() -> None:
    lines = ["retry: 5000", "", ": still here", "", "id: 3.1", "event: record", "data: {\"a\":",
             "data: 1}", "", "data: tail-without-blank-line"]
    assert list(parse_sse(iter(lines))) == [{"id": "3.1", "event": "record",
                                             "data": "{\"a\":\n1}"}]


def test_watch_prints_events_as_json_lines(served: tuple[str, Any, Path]) -> None:
    out = subprocess.run([sys.executable, "-m", "api", "watch", "--from", "1", "--count", "3",
                          "--json", "--node", served[0]], capture_output=True, text=True,
                         timeout=60, cwd=REPO, check=True).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["id"] for e in events] == ["1.0", "1.1", "1.2"][:len(events)] and len(events) == 3
