"""Stored state: the rows a node keeps must be exactly the rows the replay produced.

A node's tables are compared with the replay's rows (``ledger.verify.rows``) by one ordered
merge per table (:func:`ledger.verify.compare.compare_rows`). Also here: the ledger's own
tables (``meta``, ``seqs``, ``validator_sets``) as the replay expects them, and evidence rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ledger.application import TableSpec, ValidatorInfo
from ledger.chain.block import Header
from ledger.chain.genesis import Genesis, validator_set_hash
from ledger.crypto.keys import verify
from ledger.verify.compare import compare_rows
from ledger.verify.failure import VerifyFailed, fail

if TYPE_CHECKING:
    from ledger.verify.rows import ExpectedRows, Found
    from ledger.verify.stream import StreamedRows

#: The ledger's own tables (see ledger.store): name -> (columns, primary key).
LEDGER_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("key", "value"), ("key",)),
    "blocks": (("height", "hash", "header", "certificate", "checkpoint"), ("height",)),
    "records": (("height", "idx", "id", "type", "signer", "seq", "body", "sigs"),
                ("height", "idx")),
    "seqs": (("signer", "seq"), ("signer",)),
    "validator_sets": (("height", "hash", "validators"), ("height",)),
    "evidence": (("height", "validator", "header_hash", "header", "sig"),
                 ("height", "validator", "header_hash")),
}


def compare_stored(state: Any, node: str, h: int, ledger: dict[str, list[tuple[Any, ...]]],
                   specs: Sequence[TableSpec], expected: ExpectedRows,
                   streams: dict[str, StreamedRows]) -> int:
    """Compare a node's ledger tables (``ledger``: the rows expected) and application tables
    with the replay at its head ``h``, in a fixed order; returns the rows compared."""
    seen = 0
    for table, rows in ledger.items():
        cols, pk = LEDGER_TABLES[table]
        found = state.rows(table, cols, pk)
        if found is not None:
            seen += compare_rows(rows, found, [cols.index(c) for c in pk], table, node, h)
    for spec in specs:
        if expected.is_streamed(spec.name):
            seen += streams[spec.name].finish(expected.tables[spec.name].pk_at)
        else:
            seen += expected.compare(spec.name, _stored_rows(state, spec), node, h)
    return seen


def _stored_rows(state: Any, spec: TableSpec) -> Found:
    """Reads ``spec``'s stored rows from ``state``, sorted by its key when asked."""
    def rows(in_order: bool) -> Iterable[tuple[Any, ...]] | None:
        result: Iterable[tuple[Any, ...]] | None = state.rows(
            spec.name, tuple(spec.columns), spec.pk if in_order else ())
        return result
    return rows


def check_tables(columns: dict[str, list[str]], specs: Sequence[TableSpec], node: str,
                 h: int) -> None:
    """The store holds exactly the ledger's and the application's tables, with their columns."""
    want = {t: list(c) for t, (c, _) in LEDGER_TABLES.items()}
    want.update({s.name: list(s.columns) for s in specs})
    for table, cols in want.items():
        if table not in columns:
            raise fail("table_missing", h, node, table=table)
        if columns[table] != cols:
            raise fail("table_mismatch", h, node, table=table, expected=cols,
                       found=columns[table])
    extra = sorted(set(columns) - set(want))
    if extra:
        raise fail("table_unexpected", h, node, table=extra[0],
                   detail="a table that neither the ledger nor the application writes")


def meta_rows(genesis: Genesis, genesis_state: bytes) -> list[tuple[Any, ...]]:
    """The ``meta`` rows ledger.store writes at genesis."""
    text = json.dumps(genesis.to_json(), ensure_ascii=False, sort_keys=True)
    return [("genesis", text), ("genesis_state", genesis_state.hex()), ("schema_version", "1")]


def validator_rows(history: Sequence[tuple[int, tuple[ValidatorInfo, ...]]],
                   height: int) -> list[tuple[Any, ...]]:
    """The ``validator_sets`` rows of a store at ``height`` (sets from height + 1 at most)."""
    rows = []
    for start, validators in history:
        if start <= height + 1:
            text = json.dumps([{"name": v.name, "key": v.key} for v in validators],
                              ensure_ascii=False)
            rows.append((start, validator_set_hash(validators).hex(), text))
    return rows


def check_evidence(row: tuple[Any, ...], committed: bytes, chain: str,
                   validators: tuple[ValidatorInfo, ...], node: str) -> None:
    """An evidence row must be a validator's valid vote for a conflicting header."""
    height, validator, header_hash, header_text, sig = row
    key = (height, validator, header_hash)

    def forged(why: str) -> VerifyFailed:
        return fail("evidence_forged", height, node, table="evidence", key=key, detail=why)

    try:
        header = Header.from_json(json.loads(header_text))
        encoded, hashed = header.encoded, header.hash.hex()
        signature = bytes.fromhex(sig)
    except (ValueError, TypeError, LookupError, AttributeError) as exc:
        raise forged(f"the row does not hold a header and signature: {exc}") from None
    except Exception as exc:  # LedgerError from a malformed header
        raise forged(str(exc)) from None
    if encoded.decode() != header_text or hashed != header_hash:
        raise forged("the header is not canonical or not the one hashed")
    if header.height != height or header.chain != chain:
        raise forged("the header is of another height or chain")
    if header.hash == committed:
        raise forged("the vote is for the committed header: no misbehaviour")
    if validator not in {v.key for v in validators}:
        raise forged("the signer was not a validator at that height")
    if not verify(bytes.fromhex(validator), signature, header.hash):
        raise forged("the signature does not verify")
