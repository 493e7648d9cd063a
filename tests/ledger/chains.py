"""Helpers of the verifier tests: build a counter chain, edit every store, re-certify a header
as an attacker holding the validator keys would, and run the verifier over a data dir."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ledger.chain import merkle
from ledger.chain.block import Header
from ledger.chain.checkpoint import Checkpoint
from ledger.chain.genesis import Genesis
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.verify.failure import Report
from ledger.verify.store_source import StoreSource
from ledger.verify.verifier import verify_chain
from ledger.wire.record import Record

CACHE: set[bytes] = set()  # verified signatures, shared by the runs of this module


def verify(data: Path, genesis: Genesis, **kwargs: Any) -> Report:
    kwargs.setdefault("workers", 0)
    kwargs.setdefault("sig_cache", CACHE if kwargs["workers"] == 0 else None)
    source = StoreSource(str(data), genesis, sorted(data.glob("node-*.sqlite")))
    return verify_chain(source, kwargs.pop("app", CounterApp), **kwargs)


def build(consortium: Consortium, add: Callable[..., Record], blocks: int = 4,
          per_block: int = 3) -> None:
    for b in range(blocks):
        for r in range(per_block):
            consortium.submit(add(by=r + 1, name=f"c{(b + r) % 3}"))
        consortium.produce_block()


def each_store(data: Path, statement: str, params: Sequence[Any] = ()) -> None:
    for path in sorted(data.glob("node-*.sqlite")):
        with sqlite3.connect(path) as conn:
            conn.execute(statement, params)


def read(data: Path, query: str, params: Sequence[Any] = ()) -> Any:
    with sqlite3.connect(data / "node-0.sqlite") as conn:
        return conn.execute(query, params).fetchone()


def recertify(data: Path, height: int, keys: Sequence[SigningKey],
              edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite block ``height``'s header with ``edit`` and sign it again with ``keys`` (as an
    attacker holding the validator keys would), on every node; certificate and checkpoint
    are made valid for the new header."""
    header = json.loads(read(data, "SELECT header FROM blocks WHERE height = ?", (height,))[0])
    edit(header)
    new = Header.from_json(header)
    hashes = [bytes.fromhex(h) for (h,) in sqlite3.connect(data / "node-0.sqlite").execute(
        "SELECT hash FROM blocks WHERE height < ? ORDER BY height", (height,))] + [new.hash]
    root = merkle.root_from_leaf_hashes([merkle.leaf_hash(h) for h in hashes])
    checkpoint = Checkpoint(new.chain, height, root)
    cert = {"height": height, "header": new.hash.hex(), "signatures": [
        {"validator": k.public_hex, "sig": k.sign(new.hash).hex()} for k in keys]}
    signed = {**checkpoint.to_json(), "signatures": [
        {"validator": k.public_hex, "sig": k.sign(checkpoint.message()).hex()} for k in keys]}
    each_store(data, "UPDATE blocks SET header = ?, hash = ?, certificate = ?, checkpoint = ? "
               "WHERE height = ?", (new.encoded.decode(), new.hash.hex(), json.dumps(cert),
                                   json.dumps(signed), height))
