"""Checks beside the chain: a checkpoint saved earlier, and the pending-record journal.

A signed checkpoint the user kept (``--checkpoint``) must be signed by a quorum of the
validators that certified the block of its size, and the history root the verifier computes
from the headers at that size must be its root: the chain extends it. A chain shorter than
the checkpoint was truncated. Journal rows must be valid signed records of this chain, stored
exactly as written; nothing commits to them, so a dropped one cannot be found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledger.chain.certificate import check_quorum
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.errors import LedgerError
from ledger.verify.blocks import Tip
from ledger.verify.failure import fail
from ledger.wire.record import parse_record


def load_checkpoint(value: Any, chain: str) -> SignedCheckpoint:
    """The given checkpoint (JSON or parsed); raises VerifyFailed when of another chain."""
    signed = value if isinstance(value, SignedCheckpoint) else SignedCheckpoint.from_json(value)
    if signed.checkpoint.chain != chain:
        raise fail("checkpoint_invalid", None, None, expected=chain,
                   found=signed.checkpoint.chain, detail="the checkpoint is of another chain")
    return signed


def check_given(signed: SignedCheckpoint, tip: Tip, h: int, node: str) -> None:
    """At height ``h`` (``tip.history`` holding header ``h``): prove the chain extends it."""
    if signed.checkpoint.tree_size != h:
        return
    try:
        check_quorum(signed.checkpoint.message(), signed.votes, tip.validators,
                     "the given checkpoint")
    except LedgerError as exc:
        raise fail("checkpoint_invalid", h, None, detail=str(exc)) from None
    root = tip.history.root()
    if root != signed.checkpoint.root_hash:
        raise fail("checkpoint_inconsistent", h, node, expected=signed.checkpoint.root_hash.hex(),
                   found=root.hex(), detail="the chain does not extend the given checkpoint: "
                   "its history up to that size was rewritten")


def check_reached(signed: SignedCheckpoint, stop: int, top: int, node: str,
                  notes: list[str]) -> None:
    """After the run: a checkpoint beyond the chain's head proves a truncation."""
    size = signed.checkpoint.tree_size
    if size <= stop:
        return
    if stop < top:
        notes.append("the given checkpoint is above --to: not checked")
        return
    raise fail("chain_truncated", top, node, expected=f">= {size} blocks", found=top,
               detail="the chain is shorter than a checkpoint signed earlier")


def check_journal(rows: Iterable[tuple[Any, ...]], chain: str, name: str) -> None:
    """Every pending row ``(n, id, wire)`` is a valid record of ``chain``, stored as written."""
    for n, rid, wire in rows:
        where: dict[str, Any] = {"table": "pending", "key": (n,)}
        data = bytes(wire) if isinstance(wire, bytes | memoryview) else str(wire).encode()
        try:
            record = parse_record(data)
        except LedgerError as exc:
            raise fail("malformed_record", None, name, detail=str(exc), **where) from None
        if rid != record.id:
            raise fail("row_mismatch", None, name, expected=record.id, found=rid,
                       record=record.id, detail="the id column is not the record's", **where)
        if data != record.wire_bytes():
            raise fail("malformed_record", None, name, record=record.id,
                       detail="the row is not the record as the node wrote it", **where)
        if record.chain != chain:
            raise fail("other_chain", None, name, record=record.id, expected=chain,
                       found=record.chain, **where)
        try:
            record.verify_signatures()
        except LedgerError as exc:
            raise fail("bad_signature", None, name, record=record.id, detail=str(exc),
                       **where) from None
