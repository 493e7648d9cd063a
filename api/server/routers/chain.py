"""The chain API for verifiers: genesis, blocks, records with proofs, checkpoints."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.limits import sql_int_max
from api.node.deps import get_node
from api.node.paging import cut, link_next
from api.node.problems import Problem, responses
from api.node.runtime import Serving
from api.schemas import chain as C
from api.schemas import documented
from ledger.chain import merkle
from ledger.errors import StoreError
from ledger.limits import blocks_per_fetch_max, json_int_max, page_rows_max
from ledger.store import stored_record
from ledger.verify.receipt import build_receipt

router = APIRouter(prefix="/v1", tags=["chain"])
NodeDep = Annotated[Serving, Depends(get_node)]
Height = Annotated[int, Path(ge=1, le=json_int_max)]
RecordId = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="record id (hex)")]


@router.get("/genesis", response_model=documented(C.GenesisAnswer),
            summary="The genesis document and its hash")
def genesis(node: NodeDep) -> dict[str, Any]:
    return {"hash": node.genesis.hash.hex(), "genesis": node.genesis.to_json()}


@router.get("/status", response_model=documented(C.Status),
            summary="Chain head, mempool depth, health and validators")
def status(node: NodeDep) -> dict[str, Any]:
    replica = node.replica
    peers = node.peers()
    validators = [{"name": info.name, "key": info.key, "up": info.key in peers,
                   "height": peers.get(info.key)} for info in replica.validators]
    return {"chain": replica.chain, "height": replica.height,
            "head": replica.head_hash.hex(), "time": replica.time_ms,
            "records": replica.total, "state": replica.state.hex(),
            "mempool": node.mempool_depth(), "health": node.health(),
            "validators": validators}


def _block_json(node: Serving, row: tuple[Any, ...], with_records: bool) -> dict[str, Any]:
    height, hash_, header, cert, checkpoint = row
    out: dict[str, Any] = {"height": height, "hash": hash_, "header": json.loads(header),
                           "certificate": json.loads(cert), "checkpoint": json.loads(checkpoint)}
    conn = node.replica.store.thread_reader()
    if with_records:
        out["records"] = [stored_record(b, s).to_wire() for b, s in conn.execute(
            "SELECT body, sigs FROM records WHERE height = ? ORDER BY idx", (height,))]
    else:
        out["record_ids"] = [i for (i,) in conn.execute(
            "SELECT id FROM records WHERE height = ? ORDER BY idx", (height,))]
    return out


_BLOCK_SQL = "SELECT height, hash, header, certificate, checkpoint FROM blocks"


@router.get("/blocks", response_model=documented(C.BlockPage),
            summary="Blocks in height order (paged: after, limit ≤ 100, next)")
def blocks(node: NodeDep, request: Request, response: Response,
           from_height: Annotated[int, Query(alias="from", ge=1, le=json_int_max)] = 1,
           after: Annotated[int | None, Query(ge=0, le=json_int_max,
                                              description="the previous page's next")] = None,
           limit: Annotated[int, Query(ge=1, le=blocks_per_fetch_max)] = 20,
           records: Annotated[bool, Query(description="include full records")] = False,
           ) -> dict[str, Any]:
    """Starts at ``from`` (or just after ``after``). A page holds at least one block and
    stops before the block that would take it past ``page_bytes_max``."""
    start = after + 1 if after is not None else from_height
    conn = node.replica.store.thread_reader()
    rows = conn.execute(f"{_BLOCK_SQL} WHERE height >= ? ORDER BY height LIMIT ?",
                        (start, limit + 1)).fetchall()
    items, cursor = cut(rows, limit, lambda r: str(r[0]),
                        lambda r: _block_json(node, r, records))
    return {"blocks": items, "height": node.replica.height,
            "next": link_next(request, response, cursor)}


@router.get("/blocks/{height}", response_model=documented(C.Block),
            responses=responses(404), summary="One block")
def block(node: NodeDep, height: Height,
          records: Annotated[bool, Query(description="include full records")] = False,
          ) -> dict[str, Any]:
    conn = node.replica.store.thread_reader()
    row = conn.execute(f"{_BLOCK_SQL} WHERE height = ?", (height,)).fetchone()
    if row is None:
        raise Problem(404, "block_not_found", f"no block at height {height}")
    return _block_json(node, row, records)


@router.get("/records/{record_id}", response_model=documented(C.RecordState),
            responses=responses(400, 404),
            summary="One committed (or pending) record and where it is")
def record(node: NodeDep, record_id: RecordId) -> dict[str, Any]:
    conn = node.replica.store.thread_reader()
    row = conn.execute("SELECT height, idx, body, sigs FROM records WHERE id = ?",
                       (record_id,)).fetchone()
    if row is None:
        outcome = node.outcome(record_id)
        if node.is_pending(record_id):
            return {"id": record_id, "status": "pending"}
        if outcome is not None and outcome.code is not None:
            return {"id": record_id, "status": "rejected", "code": outcome.code}
        raise Problem(404, "record_not_found", f"no record {record_id} here")
    height, index, body, sigs = row
    return {"id": record_id, "status": "committed", "height": height, "index": index,
            "record": stored_record(body, sigs).to_wire()}


@router.get("/records/{record_id}/receipt", response_model=documented(C.Receipt),
            responses=responses(400, 404),
            summary="A receipt: the record, its inclusion proof and the certified header")
def receipt(node: NodeDep, record_id: RecordId) -> dict[str, Any]:
    out = build_receipt(node.replica.store, record_id)
    if out is None:
        raise Problem(404, "record_not_found", f"no committed record {record_id} here")
    return out


@router.get("/checkpoint", response_model=documented(C.Checkpoint), responses=responses(404),
            summary="The latest signed checkpoint")
def checkpoint(node: NodeDep) -> dict[str, Any]:
    height = node.replica.height
    if height == 0:
        raise Problem(404, "no_blocks", "no block has been committed yet")
    return _checkpoint_at(node, height)


@router.get("/checkpoints/{tree_size}", response_model=documented(C.Checkpoint),
            responses=responses(404),
            summary="The signed checkpoint of a given history size (= height)")
def checkpoint_at(node: NodeDep, tree_size: Height) -> dict[str, Any]:
    return _checkpoint_at(node, tree_size)


def _checkpoint_at(node: Serving, height: int) -> dict[str, Any]:
    row = node.replica.store.thread_reader().execute(
        "SELECT checkpoint FROM blocks WHERE height = ?", (height,)).fetchone()
    if row is None:
        raise Problem(404, "checkpoint_not_found", f"no checkpoint of size {height}")
    checkpoint: dict[str, Any] = json.loads(row[0])
    return checkpoint


@router.get("/proofs/consistency", response_model=documented(C.Consistency),
            responses=responses(400, 404),
            summary="A consistency proof between two history sizes")
def consistency(node: NodeDep, first: Annotated[int, Query(ge=1, le=json_int_max)],
                second: Annotated[int, Query(ge=1, le=json_int_max)]) -> dict[str, Any]:
    if first > second:
        raise Problem(400, "invalid_parameter", "first must not exceed second")
    hashes = node.replica.store.header_hashes()
    if second > len(hashes):
        raise Problem(404, "checkpoint_not_found", f"the history holds {len(hashes)} blocks")
    leaves = [merkle.leaf_hash(h) for h in hashes[:second]]
    proof = merkle.consistency_proof(leaves, first)
    return {"first": first, "second": second,
            "first_root": merkle.root_from_leaf_hashes(leaves[:first]).hex(),
            "second_root": merkle.root_from_leaf_hashes(leaves).hex(),
            "consistency_proof": [p.hex() for p in proof]}


@router.get("/validators", response_model=documented(C.Validators),
            summary="Validator sets over time, and evidence of misbehaviour")
def validators(node: NodeDep) -> dict[str, Any]:
    store = node.replica.store
    try:
        sets = store.validator_sets()
    except StoreError as exc:  # pragma: no cover - store unreadable
        raise Problem(503, exc.code, str(exc)) from exc
    return {"sets": [{"from_height": h, "validators": [{"name": v.name, "key": v.key}
                                                       for v in vs]} for h, vs in sets],
            "evidence": store.evidence()}


@router.get("/signers/{key}/seq", response_model=documented(C.SignerSeq), responses=responses(400),
            summary="The last committed sequence number of a signing key")
def signer_seq(node: NodeDep,
               key: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]) -> dict[str, Any]:
    """Clients sign their next record with ``last + 1`` (pending records not counted)."""
    return {"signer": key, "last": node.replica.seqs.get(key, 0)}


_SERVED_BY_BLOCKS = ("blocks", "records")  # served by /v1/blocks, not as table rows


def _table_columns(node: Serving) -> dict[str, list[str]]:
    conn = node.replica.store.thread_reader()
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {n: [c for (_, c, *_) in conn.execute(f"PRAGMA table_info([{n}])")] for n in names}


@router.get("/tables", response_model=documented(C.Tables),
            summary="Every table of the node's store and its columns (for verifiers)")
def tables(node: NodeDep) -> dict[str, Any]:
    """Derived rows (ledger and application tables) are served by ``/v1/tables/{name}``."""
    store = node.replica.store
    pks = {"meta": ["key"], "seqs": ["signer"], "validator_sets": ["height"],
           "evidence": ["height", "validator", "header_hash"], "blocks": ["height"],
           "records": ["height", "idx"], **{s.name: list(s.pk) for s in store.app_tables.values()}}
    return {"height": node.replica.height,
            "tables": [{"name": n, "columns": c, "pk": pks.get(n, []),
                        "served": n not in _SERVED_BY_BLOCKS}
                       for n, c in _table_columns(node).items()]}


@router.get("/tables/{name}", response_model=documented(C.TablePage), responses=responses(400, 404),
            summary="Rows of one table of derived rows, in primary key order")
def table_rows(node: NodeDep, request: Request, response: Response, name: str,
               after: Annotated[str | None, Query(
                   description="JSON array: the key of the last row of the previous page")] = None,
               limit: Annotated[int, Query(ge=1, le=page_rows_max)] = page_rows_max,
               ) -> dict[str, Any]:
    """A page of rows as arrays in ``columns`` order (at most ``limit`` rows and about
    ``page_bytes_max`` bytes); ``next`` is the key whose JSON is the next page's ``after``."""
    listing = {t["name"]: t for t in tables(node)["tables"]}
    table = listing.get(name)
    if table is None or not table["served"] or not table["pk"]:
        raise Problem(404, "table_not_found", f"no table {name!r} served here")
    columns, pk = table["columns"], table["pk"]
    where, params = "", []
    if after is not None:
        try:
            params = json.loads(after)
        except ValueError:
            params = []  # not JSON: refused just below, like an array of the wrong length
        if not isinstance(params, list) or len(params) != len(pk) or not all(
                (isinstance(v, int) and abs(v) <= sql_int_max) or isinstance(v, str) or v is None
                for v in params):
            raise Problem(400, "invalid_parameter", f"after must be a JSON array of {len(pk)} "
                          "key values")
        where = (f"WHERE ({', '.join(f'[{c}]' for c in pk)}) > "
                 f"({', '.join('?' for _ in pk)})")
    order = ", ".join(f"[{c}]" for c in pk)
    try:
        rows = node.replica.store.thread_reader().execute(
            f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM [{name}] {where} "
            f"ORDER BY {order} LIMIT ?", [*params, limit + 1]).fetchall()
    except UnicodeEncodeError as exc:
        raise Problem(400, "invalid_parameter", "after holds a string that is not UTF-8") from exc
    at = [columns.index(c) for c in pk]
    items, cursor = cut(rows, limit, lambda r: json.dumps([r[i] for i in at]), list)
    link_next(request, response, cursor)
    return {"table": name, "height": node.replica.height, "columns": columns,
            "rows": items, "next": json.loads(cursor) if cursor is not None else None}
