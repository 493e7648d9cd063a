"""A data dir's store read as PROTOCOL.md §17 describes it, and every block checked by §7-§13."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canon import (
    CHECKPOINT,
    GENESIS,
    HEADER,
    RECORD,
    canonical,
    domain_hash,
    merkle_root,
    quorum,
    sha,
    signature_ok,
    validator_set_hash,
)

HEADER_MEMBERS = ("chain", "height", "prev", "proposer", "records", "root", "state", "time",
                  "total", "validators")


class ChainError(Exception):
    """A block breaks a rule of PROTOCOL.md; the message names the rule and the height."""


@dataclass(frozen=True)
class Record:
    """One committed record: its id, parsed body and signatures."""

    id: str
    body: dict[str, Any]
    signatures: list[str]


@dataclass(frozen=True)
class Block:
    """One stored block: header text and object, certificate, checkpoint, records."""

    height: int
    hash: str
    header_text: str
    header: dict[str, Any]
    certificate: dict[str, Any]
    checkpoint: dict[str, Any]
    records: list[Record]


@dataclass(frozen=True)
class Store:
    """The parts of a node's store a verifier needs."""

    genesis: dict[str, Any]
    genesis_state: str
    blocks: list[Block]


def ensure(condition: bool, message: str) -> None:
    """Raise ChainError(message) unless condition holds."""
    if not condition:
        raise ChainError(message)


def load_store(path: Path) -> Store:
    """Read meta, blocks and records of one node file (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        records: dict[int, list[Record]] = {}
        rows = db.execute("SELECT height, idx, id, body, sigs FROM records ORDER BY height, idx")
        for height, idx, rid, body, sigs in rows:
            ensure(canonical(json.loads(body)) == body.encode(), f"body not canonical {rid}")
            ensure(sha(RECORD + body.encode()).hex() == rid, f"record id mismatch {rid}")
            block_records = records.setdefault(height, [])
            ensure(idx == len(block_records), f"record index gap at {height}.{idx}")
            block_records.append(Record(rid, json.loads(body), sigs.split(",") if sigs else []))
        blocks = [
            Block(h, hh, text, json.loads(text), json.loads(cert), json.loads(cp),
                  records.get(h, []))
            for h, hh, text, cert, cp in db.execute(
                "SELECT height, hash, header, certificate, checkpoint FROM blocks "
                "ORDER BY height")
        ]
    finally:
        db.close()
    return Store(json.loads(meta["genesis"]), meta["genesis_state"], blocks)


def genesis_hash(genesis: dict[str, Any]) -> bytes:
    """PROTOCOL.md §9."""
    return domain_hash(GENESIS, genesis)


def check_votes(votes: list[dict[str, str]], message: bytes, validators: list[dict[str, str]],
                what: str) -> None:
    """A quorum of distinct keys of the set sign message, and no vote is bad (VERIFY.md)."""
    keys = {v["key"] for v in validators}
    good: set[str] = set()
    for vote in votes:
        ensure(vote["validator"] in keys and vote["validator"] not in good, f"{what}: bad vote")
        ensure(signature_ok(vote["validator"], vote["sig"], message), f"{what}: bad signature")
        good.add(vote["validator"])
    ensure(len(good) >= quorum(len(validators)), f"{what}: below quorum")


class ChainChecker:
    """Checks blocks in height order: header rule, Merkle root, signatures, certificates."""

    def __init__(self, genesis: dict[str, Any]) -> None:
        self.chain: str = genesis["chain"]
        self.prev_hash = genesis_hash(genesis).hex()
        self.prev_time: int = genesis["time"]
        self.total = 0
        self.seqs: dict[str, int] = {}
        self.history: list[bytes] = []
        self.ttl_ms: int = genesis["params"].get("record_ttl_ms_max", 3_600_000)

    def check(self, block: Block, validators: list[dict[str, str]]) -> None:
        """Everything of block but its state commitment; validators: the set in force."""
        head, h = block.header, block.height
        ensure(tuple(sorted(head)) == HEADER_MEMBERS, f"header members at {h}")
        ensure(canonical(head) == block.header_text.encode(), f"header not canonical at {h}")
        header_hash = domain_hash(HEADER, head)
        ensure(header_hash.hex() == block.hash, f"header hash at {h}")
        ensure(head["chain"] == self.chain and head["height"] == h, f"chain/height at {h}")
        ensure(head["prev"] == self.prev_hash, f"prev at {h}")
        t = head["time"]
        ensure(self.prev_time < t <= self.prev_time + 315_360_000_000, f"time at {h}")
        ensure(head["validators"] == validator_set_hash(validators), f"validator set at {h}")
        ensure(head["proposer"] in {v["key"] for v in validators}, f"proposer at {h}")
        ids = [bytes.fromhex(r.id) for r in block.records]
        ensure(head["records"] == len(ids), f"record count at {h}")
        ensure(head["total"] == self.total + len(ids), f"total at {h}")
        ensure(head["root"] == merkle_root(ids).hex(), f"merkle root at {h}")
        for record in block.records:
            self._check_record(record, t, h)
        cert = block.certificate
        ensure(cert["height"] == h and cert["header"] == block.hash, f"certificate at {h}")
        check_votes(cert["signatures"], header_hash, validators, f"certificate at {h}")
        self.history.append(header_hash)
        cp = block.checkpoint
        plain = {"chain": cp["chain"], "root_hash": cp["root_hash"], "tree_size": cp["tree_size"]}
        ensure(plain == {"chain": self.chain, "tree_size": h,
                         "root_hash": merkle_root(self.history).hex()}, f"checkpoint at {h}")
        check_votes(cp["signatures"], domain_hash(CHECKPOINT, plain), validators,
                    f"checkpoint at {h}")
        self.prev_hash, self.prev_time, self.total = block.hash, t, head["total"]

    def _check_record(self, record: Record, t: int, h: int) -> None:
        body = record.body
        ensure(body["chain"] == self.chain, f"record chain {record.id}")
        signers: list[str] = body["signers"]
        ensure(len(signers) == len(record.signatures), f"signature count {record.id}")
        rid = bytes.fromhex(record.id)
        for key, sig in zip(signers, record.signatures, strict=True):
            ensure(signature_ok(key, sig, rid), f"record signature {record.id} at {h}")
        ensure(body["seq"] > self.seqs.get(signers[0], 0), f"sequence {record.id}")
        self.seqs[signers[0]] = body["seq"]
        ensure(t <= body["expires"] <= t + self.ttl_ms, f"expiry {record.id}")
