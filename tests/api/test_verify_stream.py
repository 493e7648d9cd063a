"""History tables compared block by block (ledger.verify.stream) find exactly what the
whole-table comparison finds: same code, table, key, rows and block, and the same order
against failures elsewhere. Each case runs twice on the same tampered store: as a data dir
(streamed) and with streaming turned off (the scratch copy HTTP sources use)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from api.cli.verify import open_source
from api.demo.build import build_demo
from exchange.app import ExchangeApp
from ledger.verify.failure import Failure, VerifyFailed
from ledger.verify.store_source import SqliteState
from ledger.verify.stream import StreamedRows
from ledger.verify.verifier import verify_chain

CACHE: set[bytes] = set()
STORE = "node-0.sqlite"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "demo"
    build_demo(path, seed=11, customers=30, days=8)
    return path


def _failure(path: Path) -> Failure | None:
    return verify_chain(open_source(str(path)), ExchangeApp, workers=0,
                        sig_cache=CACHE).failure


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Failure | None,
                                                                Failure | None]:
    streamed = _failure(path)
    with monkeypatch.context() as patch:
        patch.setattr(SqliteState, "snapshot", False)
        kept = _failure(path)
    return streamed, kept


def _middle(conn: sqlite3.Connection, table: str) -> int:
    count = conn.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0]
    return int(conn.execute(f"SELECT rowid FROM [{table}] ORDER BY rowid LIMIT 1 OFFSET ?",
                            (count // 2,)).fetchone()[0])


TAMPERS = {
    "edit": "UPDATE [{t}] SET record = record || '~' WHERE rowid = {mid}",
    "delete": "DELETE FROM [{t}] WHERE rowid = {mid}",
    "copy_beyond_head": "{copy} UPDATE c SET height = height + 100000; {paste}",
    "null_height": "{copy} UPDATE c SET height = NULL; {paste}",
    "text_height": "UPDATE [{t}] SET height = 'x' WHERE rowid = {mid}",
    "real_height": "UPDATE [{t}] SET height = height + 0.5 WHERE rowid = {mid}",
    "swap": "UPDATE [{t}] SET record = (SELECT record FROM [{t}] WHERE rowid = "
            "(SELECT MIN(rowid) FROM [{t}])) WHERE rowid = (SELECT MAX(rowid) FROM [{t}]) "
            "AND {mid} > 0",
}


@pytest.mark.parametrize("table", ["x_history", "x_swaps", "x_events"])
@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_streamed_and_kept_rows_find_the_same(pristine: Path, tmp_path: Path, table: str,
                                              kind: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = Path(shutil.copytree(pristine, tmp_path / "data"))
    with sqlite3.connect(data / STORE) as conn:
        if conn.execute(f"SELECT COUNT(DISTINCT record) FROM [{table}]").fetchone()[0] < 2:
            pytest.skip(f"the demo wrote too few {table} rows")
        mid = _middle(conn, table)
        conn.executescript(TAMPERS[kind].format(
            t=table, mid=mid, copy=f"CREATE TEMP TABLE c AS SELECT * FROM [{table}] WHERE "
            f"rowid = {mid};", paste=f"INSERT INTO [{table}] SELECT * FROM c;"))
    streamed, kept = _both(data, monkeypatch)
    assert streamed is not None and streamed.table == table, streamed
    assert streamed == kept


@pytest.mark.parametrize("also", ["header_hash", "seqs"])
def test_a_history_difference_waits_for_the_nodes_head(pristine: Path, tmp_path: Path,
                                                      also: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Found at an early block, a history row is judged at the head like every stored row:
    a broken head block comes first, and so do the ledger's tables (compared first)."""
    data = Path(shutil.copytree(pristine, tmp_path / "data"))
    with sqlite3.connect(data / STORE) as conn:
        conn.execute("UPDATE x_history SET ref = ref || '~' WHERE rowid = (SELECT MIN(rowid) "
                     "FROM x_history WHERE height > 0)")
        if also == "header_hash":
            conn.execute("UPDATE blocks SET hash = 'ab' || substr(hash, 3) WHERE height = "
                         "(SELECT MAX(height) FROM blocks)")
        else:
            conn.execute("UPDATE seqs SET seq = seq + 1 WHERE rowid = (SELECT MIN(rowid) "
                         "FROM seqs)")
    streamed, kept = _both(data, monkeypatch)
    assert streamed is not None and streamed == kept
    assert streamed.what == ("header_hash_mismatch" if also == "header_hash" else "row_mismatch")
    assert streamed.table == (None if also == "header_hash" else "seqs")


def test_an_untouched_store_reports_the_same_rows(pristine: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    streamed = verify_chain(open_source(str(pristine)), ExchangeApp, workers=0, sig_cache=CACHE)
    with monkeypatch.context() as patch:
        patch.setattr(SqliteState, "snapshot", False)
        kept = verify_chain(open_source(str(pristine)), ExchangeApp, workers=0,
                            sig_cache=CACHE)
    assert streamed.valid and kept.valid
    assert streamed.rows_checked == kept.rows_checked > 0
    assert streamed.table_rows == kept.table_rows


def test_values_the_store_converts_compare_as_it_returns_them() -> None:
    """An integer written to a text column comes back as text: not a difference."""
    def stream(typed: object) -> StreamedRows:
        return StreamedRows("t", iter([(1, 0, "5"), (2, 0, "6")]), 0, "node", 2, typed)

    as_stored = stream(lambda rows: [(h, i, str(v)) for h, i, v in rows])
    as_stored.block(1, [(1, 0, 5)], (0, 1))
    as_stored.block(2, [(2, 0, 6)], (0, 1))
    assert as_stored.finish((0, 1)) == 2
    as_written = stream(lambda rows: rows)
    as_written.block(1, [(1, 0, 5)], (0, 1))
    with pytest.raises(VerifyFailed) as found:
        as_written.finish((0, 1))
    assert found.value.failure.what == "row_mismatch" and found.value.failure.height == 1
