"""The Village Kitchen to Burger Palace story against a real `jifentong serve` subprocess.

Everything goes through the Python client: merchants apply and are voted in, a customer
earns 800 VK points over three meals, swaps them for 8,000 BP points at the posted rates
(100 and 1000 points per yuan), eats a burger, and the issuers settle the ¥8.00 that
Village Kitchen owes Burger Palace. Every receipt is checked on the client side.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.client.client import Client, Wallet
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from ledger.verify.receipt import check_receipt
from ledger.wire.record import Record, sign_body

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jifentong(*args: str) -> list[str]:
    return [sys.executable, "-m", "api", *args]


MEMBERS = [SigningKey.from_seed(bytes([40 + i]) * 32) for i in range(4)]
REGULATOR = SigningKey.from_seed(b"\x50" * 32)


@pytest.fixture(scope="module")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("e2e")
    config = tmp / "alliance.toml"
    lines = ['chain = "e2e-alliance"', "", "[params]", "rate_notice_days = 7",
             "block_interval_ms = 100", ""]
    for i, key in enumerate(MEMBERS):
        lines += ["[[members]]", f'id = "member-{i}"', f'name = "Member {i}"',
                  f'key = "{key.public_hex}"', ""]
    lines += ["[regulator]", 'name = "Market Regulator"', f'key = "{REGULATOR.public_hex}"']
    config.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    data = tmp / "data"
    subprocess.run(jifentong("init", str(config), "--data", str(data)), check=True, env=env,
                   cwd=tmp, capture_output=True)
    port = free_port()
    server = subprocess.Popen(jifentong("serve", "--data", str(data), "--port", str(port)),
                              env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with Client(url, timeout_s=2) as probe:
                    probe.get("/healthz")
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    out = server.stdout.read().decode() if server.poll() is not None else ""
                    pytest.fail(f"server did not start: {out}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_village_kitchen_to_burger_palace(node_url: str) -> None:
    with Client(node_url) as client:
        _story(client)


def _story(client: Client) -> None:
    genesis = client.genesis()["genesis"]
    chain, trusted = genesis["chain"], {v["key"] for v in genesis["validators"]}
    member_seq = {k.public_hex: 0 for k in MEMBERS}

    def committed(record: Record) -> dict[str, object]:
        answer = client.submit(record, wait=True)
        assert answer["status"] == "committed", answer
        assert check_receipt(answer["receipt"], trusted).record_id == record.id
        return answer

    def vote(body_for: object) -> None:
        voters = MEMBERS[:3]
        member_seq[voters[0].public_hex] += 1
        seq = member_seq[voters[0].public_hex]
        body = body_for([k.public_hex for k in voters], seq)  # type: ignore[operator]
        committed(sign_body(body, voters))

    vk = Wallet(SigningKey.generate(), client, chain)
    bp = Wallet(SigningKey.generate(), client, chain)
    customer = Wallet(SigningKey.generate(), client, chain)

    # two merchants apply and are admitted by member vote
    committed(vk.sign_body(rec.apply_merchant(chain, vk.public, vk.next_seq(),
                                              "village-kitchen", "乡村基 Village Kitchen",
                                              expires=vk.expires())))
    committed(bp.sign_body(rec.apply_merchant(chain, bp.public, bp.next_seq(), "burger-palace",
                                              "汉堡宫 Burger Palace", expires=vk.expires())))
    vote(lambda s, n: rec.admit_merchant(chain, s, n, "village-kitchen", expires=vk.expires()))
    vote(lambda s, n: rec.admit_merchant(chain, s, n, "burger-palace", expires=vk.expires()))
    assert {m["id"] for m in client.merchants("active")} == {"village-kitchen", "burger-palace"}
    committed(vk.sign_body(rec.create_program(chain, vk.public, vk.next_seq(), "village-kitchen",
                                              "vk", "乡村基积分", 100, 90, 10_000_000,
                                              expires=vk.expires())))
    committed(bp.sign_body(rec.create_program(chain, bp.public, bp.next_seq(), "burger-palace",
                                              "bp", "汉堡宫积分", 1000, 60, 100_000_000,
                                              accepts=["vk"], expires=vk.expires())))

    # the customer earns 800 VK points over three meals
    for points, ref in ((300, "lunch"), (200, "tea"), (300, "dinner")):
        committed(vk.sign_body(rec.issue(chain, vk.public, vk.next_seq(), "vk", customer.public,
                                         points, ref, expires=vk.expires())))
    assert client.balances(customer.public)["holdings"][0]["balance"] == 800

    # swaps them for Burger Palace points at the posted rates: 800 / 100 * 1000 = 8000
    quote = client.quote("vk", 800, "bp", customer.public)
    assert (quote["code"], quote["out"], quote["taken"]) == ("ok", 8000, 800)
    committed(customer.sign_body(rec.swap(chain, customer.public, customer.next_seq(), "vk", 800,
                                          "bp", quote["out"], quote["give_version"],
                                          quote["get_version"], expires=vk.expires())))
    held = {h["program"]: h["balance"] for h in client.balances(customer.public)["holdings"]}
    assert held.get("vk", 0) == 0 and held["bp"] == 8000

    # redeems a burger
    committed(customer.sign_body(rec.redeem(chain, customer.public, customer.next_seq(), "bp",
                                            8000, "BP-0001 classic burger", expires=vk.expires())))

    # the statement: Village Kitchen owes Burger Palace ¥8.00; a settle record clears it
    payments = client.statement()["payments"]
    assert payments == [{"payer": "village-kitchen", "payee": "burger-palace",
                         "amount_micro": 8_000_000, "amount_fen": 800}]
    body = rec.settle(chain, vk.public, bp.public, vk.next_seq(), "village-kitchen",
                      "burger-palace", 800, "bank transfer 2026-11-23", expires=vk.expires())
    committed(sign_body(body, [vk.key, bp.key]))
    assert client.statement()["payments"] == []
    report = client.regulator_report()
    assert {i["merchant"]: i["liability_micro"] for i in report["issuers"]} == {
        "village-kitchen": 0, "burger-palace": 0}
