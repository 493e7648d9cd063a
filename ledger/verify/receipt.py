"""Receipts: a record, its inclusion proof and the certified header, checkable alone.

A receipt is a plain JSON value::

    {"version": 1, "chain", "genesis", "record": {wire form}, "height", "index", "tree_size",
     "inclusion_proof": [hex, ...], "header": {...}, "certificate": {...},
     "validators": [{"name", "key"}, ...]}

:func:`check_receipt` needs nothing else: it verifies the record's signatures, its inclusion
under the header's Merkle root, the validator set against the header's hash of it, and the
certificate. Pin the validator keys you trust (from the genesis file, say) with
``trusted_validators``, or anyone could mint a receipt with a validator set of their own.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ledger.application import ValidatorInfo
from ledger.chain import merkle
from ledger.chain.block import Block, Header
from ledger.chain.certificate import CommitCertificate, verify_certificate
from ledger.chain.genesis import validator_set_hash
from ledger.errors import ConsensusError, LedgerError, ProofError, StoreError
from ledger.limits import receipt_blocks_kept_max
from ledger.store import Store
from ledger.wire.record import record_from_wire

RECEIPT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """What a valid receipt proves."""

    record_id: str
    record_type: str
    chain: str
    height: int
    index: int
    header_hash: str
    signers: list[str]  # validators whose certificate signatures verified


def build_receipt(store: Store, record_id: str) -> dict[str, Any] | None:
    """The receipt of a committed record, or None when the record is not in this store."""
    location = store.record_location(record_id)
    if location is None:
        return None
    height, index = location
    block, cert, leaves = _block_leaves(store, height)
    validators = _validators_at(store, height)
    genesis = store.genesis()
    return {
        "version": RECEIPT_VERSION,
        "chain": block.header.chain,
        "genesis": genesis.hash.hex() if genesis else None,
        "record": block.records[index].to_wire(),
        "height": height,
        "index": index,
        "tree_size": len(leaves),
        "inclusion_proof": [h.hex() for h in merkle.inclusion_proof(leaves, index)],
        "header": block.header.to_json(),
        "certificate": cert.to_json(),
        "validators": [{"name": v.name, "key": v.key} for v in validators],
    }


_Leaves = tuple[Block, CommitCertificate, list[bytes]]
#: Per store, the blocks whose receipts were built last (a committed block never changes):
#: the waiters of one block each want a receipt, and reading and hashing the whole block once
#: per waiter made answering them quadratic in the block's size.
_recent: weakref.WeakKeyDictionary[Store, OrderedDict[int, _Leaves]] = (
    weakref.WeakKeyDictionary())
_recent_lock = threading.Lock()


def _block_leaves(store: Store, height: int) -> _Leaves:
    with _recent_lock:
        kept = _recent.setdefault(store, OrderedDict())
        found = kept.get(height)
    if found is not None:
        return found
    block, cert, _ = store.certified_block(height)
    found = (block, cert, [merkle.leaf_hash(r.id_bytes) for r in block.records])
    with _recent_lock:
        kept[height] = found
        while len(kept) > receipt_blocks_kept_max:
            kept.popitem(last=False)
    return found


def _validators_at(store: Store, height: int) -> tuple[ValidatorInfo, ...]:
    current: tuple[ValidatorInfo, ...] = ()
    for start, validators in store.validator_sets():
        if start <= height:
            current = validators
    return current


def check_receipt(receipt: Any, trusted_validators: Collection[str] | None = None) -> ReceiptCheck:
    """Verify a receipt on its own; raises a LedgerError subclass saying what failed."""
    try:
        if receipt.get("version") != RECEIPT_VERSION:
            raise ProofError(f"unknown receipt version {receipt.get('version')!r}",
                             code="receipt_version")
        record = record_from_wire(receipt["record"])
        header = Header.from_json(receipt["header"])
        cert = CommitCertificate.from_json(receipt["certificate"])
        validators = tuple(ValidatorInfo(str(v["name"]), str(v["key"]))
                           for v in receipt["validators"])
        index, tree_size = int(receipt["index"]), int(receipt["tree_size"])
        proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    except StoreError as exc:  # a header or certificate that is not one: the receipt's shape
        raise ProofError(f"malformed receipt: {exc}", code="receipt_malformed") from exc
    except LedgerError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProofError(f"malformed receipt: {exc!r}", code="receipt_malformed") from exc
    record.verify_signatures()
    if record.chain != header.chain:
        raise ProofError("the record names another chain than the header",
                         code="receipt_chain_mismatch")
    if tree_size != header.records:
        raise ProofError(f"receipt says the block holds {tree_size} records, the header "
                         f"{header.records}", code="receipt_size_mismatch")
    merkle.verify_inclusion(index, tree_size, merkle.leaf_hash(record.id_bytes), proof,
                            bytes.fromhex(header.root))
    if validator_set_hash(validators).hex() != header.validators:
        raise ConsensusError("the receipt's validator set is not the one the header names",
                             code="receipt_validators_mismatch")
    if trusted_validators is not None:
        strangers = [v.key for v in validators if v.key not in trusted_validators]
        if strangers:
            raise ConsensusError(f"validator {strangers[0][:16]}… is not one you trust",
                                 code="receipt_untrusted_validator")
    if cert.height != header.height:
        raise ConsensusError("certificate height differs from the header's",
                             code="certificate_wrong_header")
    signers = verify_certificate(cert, header.hash, validators)
    return ReceiptCheck(record.id, record.type, header.chain, header.height, index,
                        header.hash.hex(), signers)


def load_receipt(text: str | bytes) -> Any:
    """Parse a receipt file (plain JSON)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ProofError(f"receipt is not JSON: {exc}", code="receipt_malformed") from exc
