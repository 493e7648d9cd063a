"""Response shapes of the chain API (``api/server/routers/chain.py``,
``api/server/routers/records.py``, ``api/server/routers/ops.py``): genesis, status, blocks,
records, receipts, checkpoints, tables."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas import Shape, example

H1 = "02d09b3498360fbf965481d08798c03194dcf03c9dc5fc0e4729342c8d40f8cd"
K1 = "35731ed1c20382eb1d8e8455ce9323d3a3730368cc59332de9fe34b809940540"
SIG = "b8932ce2" + "0" * 120
Value = int | str | None  # a derived row's value (docs/STATE.md §1)


class Validator(Shape):
    """A validator: a name for people and its Ed25519 public key (hex)."""

    name: str
    key: str


class Signature(Shape):
    """One validator's Ed25519 signature (hex) over a header hash or a checkpoint message."""

    validator: str
    sig: str


class Header(Shape):
    """A block header (docs/PROTOCOL.md §11)."""

    chain: str
    height: int
    prev: str
    proposer: str
    records: int
    root: str
    state: str
    time: int
    total: int
    validators: str


class Certificate(Shape):
    """A commit certificate: the header hash and the validators' signatures (§12)."""

    height: int
    header: str
    signatures: list[Signature]


class Checkpoint(Shape):
    """A signed checkpoint of the history tree (§13)."""

    model_config = example({"chain": "chunxi-road-alliance", "tree_size": 5, "root_hash": H1,
                            "signatures": [{"validator": K1, "sig": SIG}]})
    chain: str
    tree_size: int
    root_hash: str
    signatures: list[Signature]


class WireRecord(Shape):
    """A record in wire form: its body and one signature per signer (§5.3)."""

    body: dict[str, Any]
    signatures: list[str]


class Block(Shape):
    """A committed block: header, certificate, checkpoint and its records (ids, or full
    records with ``records=true``)."""

    model_config = example({"height": 5, "hash": H1, "header": {
        "chain": "chunxi-road-alliance", "height": 5, "prev": H1, "proposer": K1, "records": 1,
        "root": H1, "state": H1, "time": 1790813040000, "total": 47, "validators": H1},
        "certificate": {"height": 5, "header": H1, "signatures": [{"validator": K1, "sig": SIG}]},
        "checkpoint": {"chain": "chunxi-road-alliance", "tree_size": 5, "root_hash": H1,
                       "signatures": [{"validator": K1, "sig": SIG}]},
        "record_ids": [H1]})
    height: int
    hash: str
    header: Header
    certificate: Certificate
    checkpoint: Checkpoint
    record_ids: list[str] | None = Field(None, description="without records=true")
    records: list[WireRecord] | None = Field(None, description="with records=true")


class BlockPage(Shape):
    """A page of blocks (docs/API.md, Pages)."""

    model_config = example({"blocks": [], "height": 11, "next": "6"})
    blocks: list[Block]
    height: int
    next: str | None


class LedgerParams(Shape):
    block_records_max: int
    block_interval_ms: int
    record_ttl_ms_max: int


class GenesisDocument(Shape):
    """The genesis document (§9); ``app`` is the application's section."""

    chain: str
    time: int
    validators: list[Validator]
    params: LedgerParams
    app: dict[str, Any]


class GenesisAnswer(Shape):
    """The genesis document and its hash (pin the hash)."""

    model_config = example({"hash": H1, "genesis": {
        "chain": "chunxi-road-alliance", "time": 1790812800000,
        "validators": [{"name": "chunxi-association", "key": K1}],
        "params": {"block_records_max": 2000, "block_interval_ms": 500,
                   "record_ttl_ms_max": 86400000}, "app": {}}})
    hash: str
    genesis: GenesisDocument


class Health(Shape):
    """``ok`` or ``stalled`` (records wait and the head has not advanced)."""

    status: str
    waiting_ms: int
    stall_after_ms: int


class ValidatorStatus(Shape):
    name: str
    key: str
    up: bool
    height: int | None


class Status(Shape):
    """The chain head as this node sees it."""

    model_config = example({
        "chain": "chunxi-road-alliance", "height": 11, "head": H1, "time": 1790939178362,
        "records": 63, "state": H1, "mempool": 0,
        "health": {"status": "ok", "waiting_ms": 0, "stall_after_ms": 5000},
        "validators": [{"name": "chunxi-association", "key": K1, "up": True, "height": 11}]})
    chain: str
    height: int
    head: str
    time: int
    records: int
    state: str
    mempool: int
    health: Health
    validators: list[ValidatorStatus]


class Healthz(Health):
    """Liveness (503 with ``stalled``)."""

    model_config = example({"status": "ok", "waiting_ms": 0, "stall_after_ms": 5000,
                            "height": 11, "replicas_up": 4, "replicas": 4, "mempool": 0})
    height: int
    replicas_up: int
    replicas: int
    mempool: int


class RecordState(Shape):
    """Where a record is: ``committed`` (height, index, record), ``pending`` or ``rejected``
    (code)."""

    model_config = example({"id": H1, "status": "committed", "height": 5, "index": 0,
                            "record": {"body": {}, "signatures": [SIG]}})
    id: str
    status: str
    height: int | None = None
    index: int | None = None
    record: WireRecord | None = None
    code: str | None = None


class Receipt(Shape):
    """A receipt (docs/PROTOCOL.md §14, §16): the record, its inclusion proof, the certified
    header and the validator set that signed it."""

    model_config = example({
        "version": 1, "chain": "chunxi-road-alliance", "genesis": H1,
        "record": {"body": {}, "signatures": [SIG]}, "height": 5, "index": 0, "tree_size": 1,
        "inclusion_proof": [], "header": {
            "chain": "chunxi-road-alliance", "height": 5, "prev": H1, "proposer": K1,
            "records": 1, "root": H1, "state": H1, "time": 1790813040000, "total": 47,
            "validators": H1},
        "certificate": {"height": 5, "header": H1, "signatures": [{"validator": K1, "sig": SIG}]},
        "validators": [{"name": "chunxi-association", "key": K1}]})
    version: int
    chain: str
    genesis: str | None
    record: WireRecord
    height: int
    index: int
    tree_size: int
    inclusion_proof: list[str]
    header: Header
    certificate: Certificate
    validators: list[Validator]


class Submitted(Shape):
    """A submitted record: ``pending`` (202), or ``committed`` with its place (200, and a
    ``receipt`` when waited for)."""

    model_config = example({"id": H1, "status": "pending", "duplicate": False})
    id: str
    status: str
    duplicate: bool
    height: int | None = None
    index: int | None = None
    receipt: Receipt | None = None


class BatchResult(Shape):
    """One record's result in a batch; ``id`` is null for a record that could not be read."""

    id: str | None
    status: str
    duplicate: bool | None = None
    code: str | None = None
    detail: str | None = None
    height: int | None = None
    index: int | None = None


class BatchAnswer(Shape):
    """One result per submitted record, in order, and the count per status."""

    model_config = example({"results": [{"id": H1, "status": "pending", "duplicate": False}],
                            "counts": {"pending": 1}})
    results: list[BatchResult]
    counts: dict[str, int]


class Consistency(Shape):
    """An RFC 9162 consistency proof between two history sizes (§14)."""

    model_config = example({"first": 2, "second": 5, "first_root": H1, "second_root": H1,
                            "consistency_proof": [H1]})
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_proof: list[str]


class ValidatorSet(Shape):
    from_height: int
    validators: list[Validator]


class Evidence(Shape):
    """Two conflicting headers signed by one validator at one height."""

    height: int
    validator: str
    header_hash: str
    header: str
    sig: str


class Validators(Shape):
    """The validator sets over time (from which height each certifies) and evidence."""

    model_config = example({"sets": [{"from_height": 0, "validators": [
        {"name": "chunxi-association", "key": K1}]}], "evidence": []})
    sets: list[ValidatorSet]
    evidence: list[Evidence]


class SignerSeq(Shape):
    """The last committed sequence number of a signing key (0: none yet)."""

    model_config = example({"signer": K1, "last": 7})
    signer: str
    last: int


class TableInfo(Shape):
    name: str
    columns: list[str]
    pk: list[str]
    served: bool


class Tables(Shape):
    """Every table of the store, its columns and primary key; ``served``: by
    ``/v1/tables/{name}``."""

    model_config = example({"height": 11, "tables": [
        {"name": "x_params", "columns": ["name", "value"], "pk": ["name"], "served": True}]})
    height: int
    tables: list[TableInfo]


class TablePage(Shape):
    """Rows as arrays in ``columns`` order (docs/STATE.md); ``next`` is the key array whose
    JSON is the next page's ``after``."""

    model_config = example({"table": "x_params", "height": 11, "columns": ["name", "value"],
                            "rows": [["day_offset_ms", 28800000]], "next": ["day_offset_ms"]})
    table: str
    height: int
    columns: list[str]
    rows: list[list[Value]]
    next: list[Value] | None
