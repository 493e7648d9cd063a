"""The tamper suite over HTTP (issue 5): a node's chain read through its API gets the same
verdict, naming the same block, row and values, as its data dir. See docs/VERIFY.md."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from api.client import http_source as verify_http
from api.node.datadir import DataDir
from api.node.runtime import Node
from api.server.app import create_app
from exchange.app import ExchangeApp
from tests.api.tamper_kit import verify

# -- over HTTP: the same verdict as the data dir --------------------------------------------

@contextmanager
def serving(path: Path) -> Iterator[str]:
    """The node of the data dir at ``path`` behind a real HTTP server on a free local port."""
    node = Node(DataDir(path), ExchangeApp, produce=False)
    server = uvicorn.Server(uvicorn.Config(create_app(node, explorer=False), host="127.0.0.1",
                                           port=0, log_level="error", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        node.close()


HTTP_TAMPERS = {
    "valid": None,
    "balance": ("UPDATE x_balances SET balance = balance + 1 WHERE rowid = "
                "(SELECT MIN(rowid) FROM x_balances)", ()),
    "signature": ("UPDATE records SET sigs = ? WHERE height = 5 AND idx = 0", ("44" * 64,)),
    "header": ("UPDATE blocks SET hash = ? WHERE height = 7", ("55" * 32,)),
    "event": ("DELETE FROM x_events WHERE rowid = (SELECT MAX(rowid) FROM x_events)", ()),
}


@pytest.mark.parametrize("case", sorted(HTTP_TAMPERS))
def test_http_and_data_dir_give_the_same_verdict(data: Path, case: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_http, "rows_per_page", 4)  # many pages, composite keys
    monkeypatch.setattr(verify_http, "records_per_page", 5)
    if HTTP_TAMPERS[case] is not None:
        with sqlite3.connect(data / "node-0.sqlite") as conn:  # the node that serves reads
            conn.execute(*HTTP_TAMPERS[case])
    local = verify(data)
    with serving(data) as url:
        remote = verify(url)
    assert remote.valid == local.valid == (case == "valid"), (local.failure, remote.failure)
    assert (remote.height, remote.records) == (local.height, local.records)
    if local.failure is not None and remote.failure is not None:
        same = ("what", "height", "record", "table", "key", "expected", "found")
        assert [getattr(remote.failure, f) for f in same] == \
            [getattr(local.failure, f) for f in same]
        assert remote.failure.node == url and local.failure.node == "node-0.sqlite"
