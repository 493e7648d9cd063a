"""Structural checks of one block against the verified chain before it (the ``Tip``).

Mirrors :meth:`ledger.consensus.replica.Replica.validate`: header fields (the shared rule,
:func:`ledger.chain.header_rules.validate_header`), then records (shape,
canonical body, index columns, chain, sequence numbers, expiry), then count, total and Merkle
root, then the certificate and checkpoint. Signatures are not verified here: they are packed
and handed to a :class:`~ledger.verify.sigs.SignatureChecker`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.application import ValidatorInfo
from ledger.chain import merkle
from ledger.chain.block import Header, records_root
from ledger.chain.certificate import CommitCertificate
from ledger.chain.checkpoint import Checkpoint, SignedCheckpoint
from ledger.chain.header_rules import Parent, validate_header
from ledger.chain.record_expiry import expiry_code
from ledger.errors import HeaderInvalid, LedgerError, NonCanonicalBody
from ledger.verify.failure import fail
from ledger.verify.sigclaims import QuorumSigs, RecordSigs, pack_votes
from ledger.verify.sigs import SignatureChecker
from ledger.verify.source import RawBlock
from ledger.wire.record import Record, key_bytes, parse_stored, parse_stored_block

_HEADER_INTS = ("height", "time", "records", "total")
_HEADER_STRS = ("chain", "prev", "root", "state", "validators", "proposer")


@dataclass(slots=True)
class Tip:
    """The verified chain up to ``height``: what the next block must follow."""

    chain: str
    height: int
    hash: bytes
    time_ms: int
    total: int
    validators: tuple[ValidatorInfo, ...]
    validators_hash: str
    history: merkle.CompactRange


@dataclass(slots=True)
class CheckedBlock:
    """A block whose structure holds: its header, records and signed checkpoint."""

    header: Header
    records: list[Record]
    checkpoint: SignedCheckpoint


def _load(value: Any, what: str, height: int, node: str) -> tuple[Any, str | None]:
    """(parsed JSON, stored text or None) of a stored text or an already parsed value."""
    if not isinstance(value, str):
        return value, None
    try:
        return json.loads(value), value
    except ValueError as exc:
        raise fail(f"malformed_{what}", height, node, detail=f"stored {what} is not JSON: "
                   f"{exc}") from None


def check_header(raw: RawBlock, tip: Tip, node: str) -> Header:
    """The header of ``raw`` if it follows ``tip``; raises VerifyFailed otherwise."""
    h = tip.height + 1
    obj, text = _load(raw.header, "header", h, node)
    try:
        header = Header.from_json(obj)
        bad = [k for k in _HEADER_INTS if type(obj[k]) is not int]
        bad += [k for k in _HEADER_STRS if type(obj[k]) is not str]
        if bad or len(obj) != 10:
            raise LedgerError(f"field {bad[0] if bad else '?'} has the wrong type or the "
                              "header has extra fields")
        encoded = header.encoded
    except LedgerError as exc:
        raise fail("malformed_header", h, node, detail=str(exc)) from None
    computed = header.hash.hex()
    if raw.hash is not None and raw.hash != computed:
        raise fail("header_hash_mismatch", h, node, expected=computed, found=raw.hash,
                   detail="the stored hash is not the hash of the stored header")
    if text is not None and text.encode() != encoded:
        raise fail("header_not_canonical", h, node, expected=encoded.decode(), found=text)
    try:
        validate_header(header, Parent(tip.chain, tip.height, tip.hash, tip.time_ms,
                                       tip.validators, tip.validators_hash))
    except HeaderInvalid as exc:  # its codes are the verifier's (docs/VERIFY.md)
        raise fail(exc.code, h, node, expected=exc.expected, found=exc.found,
                   detail=exc.detail) from None
    return header


def check_records(raw: RawBlock, header: Header, chain: str, seqs: dict[str, int] | None,
                  node: str) -> tuple[list[Record], RecordSigs, bytes]:
    """Parse and check the records; returns them with their packed signatures.

    ``seqs`` (signer -> last sequence number) is advanced; None skips sequence checks.
    """
    h = header.height
    fast = parse_stored_block(raw.rows, chain)
    if fast is not None:
        if seqs is not None:
            _check_seqs(fast.records, seqs, h, node)
        _check_root(header, fast.records, node)
        return fast.records, RecordSigs(h, node, fast.ids), fast.packed
    records: list[Record] = []
    owners: list[str] = []
    packed = bytearray()
    for expect, row in enumerate(raw.rows):
        idx, rid, rtype, rsigner, rseq, body, sigs = row
        if idx != expect:
            what = "row_missing" if isinstance(idx, int) and idx > expect else "row_unexpected"
            raise fail(what, h, node, table="records",
                       key=(h, expect if what == "row_missing" else idx),
                       detail="record rows of the block are not numbered 0, 1, 2, ...")
        record = _stored_record(body, sigs, h, idx, node)
        signer = record.signers[0]
        if rid is not None and (rid != record.id or rtype != record.type or rseq != record.seq
                                or rsigner != signer):
            _check_columns(record, row, h, node)
        if record.chain != chain:
            raise fail("other_chain", h, node, record=record.id, expected=chain,
                       found=record.chain, detail="a record of another chain is in the block")
        if seqs is not None:
            _check_seqs((record,), seqs, h, node)
        id_bytes = record.id_bytes
        for key, signature in zip(record.signers, record.signatures, strict=True):
            packed += key_bytes(key)
            packed += signature
            packed += id_bytes
            owners.append(record.id)
        records.append(record)
    _check_root(header, records, node)
    return records, RecordSigs(h, node, owners), bytes(packed)


def _check_seqs(records: Sequence[Record], seqs: dict[str, int], h: int, node: str) -> None:
    """Each record's sequence number must exceed its signer's last one (``seqs``, advanced)."""
    last_of = seqs.get
    for record in records:
        signer, seq = record.signers[0], record.seq
        last = last_of(signer, 0)
        if seq <= last:
            raise fail("sequence_not_increasing", h, node, record=record.id,
                       expected=f"> {last}", found=seq,
                       detail=f"signer {signer[:16]}… reuses a sequence number")
        seqs[signer] = seq


def check_expiry(records: Sequence[Record], header: Header, ttl_ms_max: int, node: str) -> None:
    """Every record's ``expires`` admits the block's time
    (:func:`ledger.chain.record_expiry.expiry_code`, the rule the node applies)."""
    time_ms = header.time_ms
    for record in records:
        code = expiry_code(record.expires, time_ms, ttl_ms_max)
        if code is not None:
            raise fail(code, header.height, node, record=record.id,
                       expected=f"{time_ms} .. {time_ms + ttl_ms_max}", found=record.expires,
                       detail="the record's expires does not admit the block's time")


def _stored_record(body: Any, sigs: Any, h: int, idx: int, node: str) -> Record:
    """The record of a stored row, or the verifier's failure naming what is wrong."""
    try:
        return parse_stored(body, sigs)
    except NonCanonicalBody as exc:
        raise fail("malformed_record", h, node, record=exc.record_id, key=(h, idx),
                   detail=str(exc), expected=exc.canonical, found=body) from None
    except LedgerError as exc:
        raise fail("malformed_record", h, node, key=(h, idx), detail=str(exc)) from None


def _check_columns(record: Record, row: tuple[Any, ...], h: int, node: str) -> None:
    idx, rid, rtype, rsigner, rseq = row[:5]
    expected = (record.id, record.type, record.signers[0], record.seq)
    for name, want, found in zip(("id", "type", "signer", "seq"), expected,
                                 (rid, rtype, rsigner, rseq), strict=True):
        if want != found:
            raise fail("row_mismatch", h, node, table="records", key=(h, idx),
                       record=record.id, expected=want, found=found,
                       detail=f"column {name} does not match the record body")


def _check_root(header: Header, records: list[Record], node: str) -> None:
    h = header.height
    if header.records != len(records):
        raise fail("record_count_mismatch", h, node, expected=header.records,
                   found=len(records), detail="the header's record count")
    root = records_root(records).hex()
    if root != header.root:
        raise fail("merkle_root_mismatch", h, node, expected=header.root, found=root,
                   detail="the Merkle root of the record ids is not the header's")


def check_total(header: Header, tip: Tip, node: str) -> None:
    if header.total != tip.total + header.records:
        raise fail("total_mismatch", header.height, node, expected=tip.total + header.records,
                   found=header.total)


def check_seals(raw: RawBlock, header: Header, tip: Tip, sigs: SignatureChecker | None,
                node: str) -> SignedCheckpoint:
    """Certificate and checkpoint of the block; their votes go to ``sigs`` (None: skipped).

    ``tip.history`` must already hold the block's header hash.
    """
    h = header.height
    obj, text = _load(raw.certificate, "certificate", h, node)
    try:
        cert = CommitCertificate.from_json(obj)
    except LedgerError as exc:
        raise fail("malformed_certificate", h, node, detail=str(exc)) from None
    if text is not None and json.dumps(cert.to_json()) != text:
        raise fail("malformed_certificate", h, node, expected=json.dumps(cert.to_json()),
                   found=text, detail="the stored certificate is not in its written form")
    if cert.height != h or cert.header_hash != header.hash:
        raise fail("certificate_wrong_header", h, node, expected=[h, header.hash.hex()],
                   found=[cert.height, cert.header_hash.hex()])
    obj, text = _load(raw.checkpoint, "checkpoint", h, node)
    try:
        signed = SignedCheckpoint.from_json(obj)
    except LedgerError as exc:
        raise fail("malformed_checkpoint", h, node, detail=str(exc)) from None
    if text is not None and json.dumps(signed.to_json()) != text:
        raise fail("malformed_checkpoint", h, node, expected=json.dumps(signed.to_json()),
                   found=text, detail="the stored checkpoint is not in its written form")
    expected = Checkpoint(tip.chain, tip.history.size, tip.history.root())
    if signed.checkpoint != expected:
        raise fail("checkpoint_mismatch", h, node, expected=expected.to_json(),
                   found=signed.checkpoint.to_json(),
                   detail="the checkpoint is not the history of the verified headers")
    if sigs is not None:
        keys = tuple(v.key for v in tip.validators)
        for what, votes, message in (("certificate", cert.votes, header.hash),
                                     ("checkpoint", signed.votes, expected.message())):
            slots, packed = pack_votes([(v.validator, v.signature) for v in votes], message)
            sigs.add_votes(QuorumSigs(h, node, what, keys, slots), packed)
    return signed
