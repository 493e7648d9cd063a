"""`jifentong void` signs an exchange.void_issue that carries an ``expires`` from --ttl (it
called the wallet and the builder without the ttl and expires they require, and crashed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import api.cli.books as books
from api.cli.root import app
from api.client.client import Wallet
from exchange import records as R
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record

MERCHANT = SigningKey.from_seed(b"m" * 32)
ISSUE_ID = "ab" * 32
NOW_MS = 1_767_225_600_000


class OneSeqClient:
    """A client that only knows the merchant's last sequence number."""

    def last_seq(self, signer: str) -> int:
        return 4


def test_void_signs_a_void_issue_that_expires_after_the_ttl(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Record] = []

    def wallet(node: str, key: str, pass_env: str | None, ttl_s: int) -> Wallet:
        return Wallet(MERCHANT, OneSeqClient(), "demo-district",
                      ttl_ms=ttl_s * 1000, clock=lambda: NOW_MS)

    def submit(client: Any, record: Record, json_out: bool, receipt: Path | None) -> None:
        sent.append(record)

    monkeypatch.setattr(books, "wallet", wallet)
    monkeypatch.setattr(books, "submit", submit)
    done = CliRunner().invoke(app, ["void", "--issue", ISSUE_ID, "--key", "vk",
                                    "--reason", "refund", "--ttl", "90"])
    assert done.exit_code == 0, done.output
    (record,) = sent
    assert record.type == R.VOID_ISSUE and record.seq == 5
    assert record.payload["issue"] == ISSUE_ID
    assert record.expires == NOW_MS + 90_000
    assert record.signers == [MERCHANT.public_hex]
