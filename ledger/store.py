"""One node's SQLite store: blocks, certificates, records, sequence numbers, application rows.

Each block and everything it changes is written in one transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``), with WAL and ``synchronous=FULL``: after a crash at any moment the store holds
whole blocks only. Readers open their own connections (:meth:`Store.reader`) and never see a
half-written block.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from ledger.application import Change, Row, TableSpec, ValidatorInfo, Values
from ledger.chain.block import Block, Header
from ledger.chain.certificate import CommitCertificate
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.chain.genesis import Genesis
from ledger.errors import StoreError
from ledger.wire.record import Record, record_from_wire

SCHEMA_VERSION = 1

_LEDGER_TABLES: dict[str, tuple[dict[str, type], tuple[str, ...]]] = {
    "meta": ({"key": str, "value": str}, ("key",)),
    "blocks": ({"height": int, "hash": str, "header": str, "certificate": str,
                "checkpoint": str}, ("height",)),
    "records": ({"height": int, "idx": int, "id": str, "type": str, "signer": str,
                 "seq": int, "body": str, "sigs": str}, ("height", "idx")),
    "seqs": ({"signer": str, "seq": int}, ("signer",)),
    "validator_sets": ({"height": int, "hash": str, "validators": str}, ("height",)),
    "evidence": ({"height": int, "validator": str, "header_hash": str, "header": str,
                  "sig": str}, ("height", "validator", "header_hash")),
}


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, FULL sync."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Store:
    """The store of one node. Writes go through one connection guarded by a lock."""

    def __init__(self, path: Path, app_tables: Sequence[TableSpec]) -> None:
        self.path = Path(path)
        self.app_tables = {t.name: t for t in app_tables}
        try:
            self.conn = connect(self.path)
            self._create_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self.lock = threading.RLock()
        self._local = threading.local()
        version = self.meta("schema_version")
        if version is not None and version != str(SCHEMA_VERSION):
            raise StoreError(f"store {self.path} has schema version {version}; this software "
                             f"reads version {SCHEMA_VERSION}", code="schema_version")
        self._upsert_sql: dict[str, str] = {}
        self._delete_sql: dict[str, str] = {}

    def _create_schema(self) -> None:
        db = sqlite_utils.Database(self.conn)
        existing = set(db.table_names())
        for name, (columns, pk) in _LEDGER_TABLES.items():
            if name not in existing:
                db.table(name).create(columns, pk=pk if len(pk) > 1 else pk[0], not_null=set(pk))
        if "records_by_id" not in {i.name for i in db.table("records").indexes}:
            self.conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS records_by_id ON records(id)")
        self.conn.execute("CREATE INDEX IF NOT EXISTS blocks_by_hash ON blocks(hash)")
        for spec in self.app_tables.values():
            if spec.name not in existing:
                db.table(spec.name).create(dict(spec.columns),
                                           pk=spec.pk if len(spec.pk) > 1 else spec.pk[0])
                for index in spec.indexes:
                    db.table(spec.name).create_index(list(index))

    # -- genesis -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._r().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def genesis(self) -> Genesis | None:
        text = self.meta("genesis")
        return None if text is None else Genesis.from_json(json.loads(text))

    def write_genesis(self, genesis: Genesis, changes: Sequence[Change], state: bytes) -> None:
        """Initialise an empty store: genesis document, state 0, genesis application rows."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                if self.meta("genesis") is not None:
                    raise StoreError(f"store {self.path} already holds a genesis")
                text = json.dumps(genesis.to_json(), ensure_ascii=False, sort_keys=True)
                self.conn.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [("genesis", text), ("schema_version", str(SCHEMA_VERSION)),
                     ("genesis_state", state.hex())])
                self._write_validators(0, genesis.validators)
                self._write_changes(changes)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    # -- writing a block ---------------------------------------------------------------

    def write_block(self, block: Block, cert: CommitCertificate, checkpoint: SignedCheckpoint,
                    changes: Sequence[Change], seqs: dict[str, int],
                    validators: tuple[ValidatorInfo, ...] | None,
                    evidence: Sequence[tuple[str, Header, bytes]] = ()) -> None:
        """Write a committed block and all its effects in one transaction."""
        header = block.header
        rows = [(header.height, i, r.id, r.type, r.signers[0], r.seq, r.body_bytes.decode(),
                 ",".join(s.hex() for s in r.signatures)) for i, r in enumerate(block.records)]
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(
                    "INSERT INTO blocks(height, hash, header, certificate, checkpoint) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (header.height, header.hash.hex(), header.encoded.decode(),
                     json.dumps(cert.to_json()), json.dumps(checkpoint.to_json())))
                self.conn.executemany(
                    "INSERT INTO records(height, idx, id, type, signer, seq, body, sigs) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.conn.executemany("INSERT OR REPLACE INTO seqs(signer, seq) VALUES (?, ?)",
                                      seqs.items())
                if validators is not None:
                    self._write_validators(header.height + 1, validators)
                self.conn.executemany(
                    "INSERT OR IGNORE INTO evidence(height, validator, header_hash, header, sig) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(header.height, v, h.hash.hex(), h.encoded.decode(), s.hex())
                     for v, h, s in evidence])
                self._write_changes(changes)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _write_validators(self, height: int, validators: tuple[ValidatorInfo, ...]) -> None:
        from ledger.chain.genesis import validator_set_hash

        self.conn.execute(
            "INSERT OR REPLACE INTO validator_sets(height, hash, validators) VALUES (?, ?, ?)",
            (height, validator_set_hash(validators).hex(),
             json.dumps([{"name": v.name, "key": v.key} for v in validators], ensure_ascii=False)))

    def _write_changes(self, changes: Sequence[Change]) -> None:
        upserts: dict[str, list[Values]] = defaultdict(list)
        deletes: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for change in changes:
            if change.row is None:
                deletes[change.table].append(change.key)
            else:
                upserts[change.table].append(change.row)
        for table, keys in deletes.items():
            self.conn.executemany(self._delete(table), keys)
        for table, values in upserts.items():
            width = len(self.app_tables[table].columns)
            if set(map(len, values)) != {width}:  # an application bug: write nothing
                raise StoreError(f"a row of {table} does not have its {width} columns")
            self.conn.executemany(self._upsert(table), values)

    def _upsert(self, table: str) -> str:
        if table not in self._upsert_sql:
            cols = list(self.app_tables[table].columns)
            self._upsert_sql[table] = (f"INSERT OR REPLACE INTO [{table}] ({', '.join(cols)}) "
                                       f"VALUES ({', '.join('?' for _ in cols)})")
        return self._upsert_sql[table]

    def _delete(self, table: str) -> str:
        if table not in self._delete_sql:
            pk = self.app_tables[table].pk
            where = " AND ".join(f"{c} = ?" for c in pk)
            self._delete_sql[table] = f"DELETE FROM [{table}] WHERE {where}"
        return self._delete_sql[table]

    # -- reading ---------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection for queries (never sees a half-written block)."""
        return connect(self.path, readonly=True)

    def _r(self) -> sqlite3.Connection:
        return self.thread_reader()

    def thread_reader(self) -> sqlite3.Connection:
        """This thread's read-only connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.reader()
        return conn

    def height(self) -> int:
        row = self._r().execute("SELECT MAX(height) FROM blocks").fetchone()
        return int(row[0] or 0)

    def header(self, height: int) -> Header | None:
        row = self._r().execute("SELECT header FROM blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else Header.from_json(json.loads(row[0]))

    def certified_block(self, height: int) -> tuple[Block, CommitCertificate, SignedCheckpoint]:
        """The block at ``height`` with its certificate and checkpoint."""
        row = self._r().execute(
            "SELECT header, certificate, checkpoint FROM blocks WHERE height = ?", (height,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no block at height {height}")
        header = Header.from_json(json.loads(row[0]))
        block = Block(header, tuple(self.block_records(height)))
        return (block, CommitCertificate.from_json(json.loads(row[1])),
                SignedCheckpoint.from_json(json.loads(row[2])))

    def block_records(self, height: int) -> Iterator[Record]:
        for body, sigs in self._r().execute(
            "SELECT body, sigs FROM records WHERE height = ? ORDER BY idx", (height,)
        ):
            yield stored_record(body, sigs)

    def record_location(self, record_id: str) -> tuple[int, int] | None:
        row = self.thread_reader().execute("SELECT height, idx FROM records WHERE id = ?",
                                           (record_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def header_hashes(self) -> list[bytes]:
        return [bytes.fromhex(h) for (h,) in
                self._r().execute("SELECT hash FROM blocks ORDER BY height")]

    def seqs(self) -> dict[str, int]:
        return dict(self._r().execute("SELECT signer, seq FROM seqs"))

    def validator_sets(self) -> list[tuple[int, tuple[ValidatorInfo, ...]]]:
        """(from height, set) pairs in height order."""
        return [(int(h), tuple(ValidatorInfo(v["name"], v["key"]) for v in json.loads(vs)))
                for h, vs in self._r().execute(
                    "SELECT height, validators FROM validator_sets ORDER BY height")]

    def app_rows(self, table: str) -> Iterator[Row]:
        return app_rows(self._r(), self.app_tables[table])

    def evidence(self) -> list[dict[str, Any]]:
        cur = self._r().execute("SELECT height, validator, header_hash, header, sig FROM evidence "
                                "ORDER BY height, validator")
        return [dict(zip(("height", "validator", "header_hash", "header", "sig"), r, strict=True))
                for r in cur]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self.conn.close()


def stored_record(body: str, sigs: str) -> Record:
    """Rebuild a record from its stored columns (body text and comma-joined hex signatures)."""
    return record_from_wire({"body": json.loads(body),
                             "signatures": sigs.split(",") if sigs else []})


def app_rows(conn: sqlite3.Connection, spec: TableSpec) -> Iterator[Row]:
    """The rows of the application's table ``spec`` on ``conn``, in primary-key order (what
    :meth:`Application.restore` takes)."""
    cols = list(spec.columns)
    sql = f"SELECT {', '.join(cols)} FROM [{spec.name}] ORDER BY {', '.join(spec.pk)}"
    for values in conn.execute(sql):
        yield dict(zip(cols, values, strict=True))
