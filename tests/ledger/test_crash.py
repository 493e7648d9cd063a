"""Crash test: SIGKILL a process that is writing blocks, then reopen its stores.

A child process runs a consortium that commits blocks of random size as fast as it can and
prints each committed height. The test kills it at a random moment (often inside a block's
SQLite transaction), five times over, restarting it on the same directory each time. After
every kill the stores must hold whole blocks only: every block's records match its header's
count and Merkle root, every certificate and checkpoint verifies, the application rows and
sequence numbers agree with the blocks, and the chain continues from there.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.application import ValidatorInfo
from ledger.chain import merkle
from ledger.chain.certificate import verify_certificate
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.counter import TABLE, CounterApp
from ledger.crypto.keys import SigningKey
from ledger.store import Store
from ledger.wire.record import make_body, sign_body

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHAIN = "crash-chain"
GENESIS_MS = 1_700_000_000_000
EXPIRES = GENESIS_MS + 1_800_000  # of the records built here
KILLS = 5

WRITER = """
import random, sys, time
from pathlib import Path
from ledger import store as ledger_store
from ledger.application import ValidatorInfo
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.chain.genesis import Genesis
from ledger.crypto.keys import SigningKey
from ledger.wire.record import make_body, sign_body


data_dir, n, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pause_height, pause_replica = int(sys.argv[4]), int(sys.argv[5])
chain, genesis_ms = sys.argv[6], int(sys.argv[7])


class PausingConnection:
    # Delegates to the store's connection; once, inside the transaction of block
    # pause_height on replica pause_replica, it reports and waits to be killed.
    def __init__(self, conn, replica):
        self.conn, self.replica = conn, replica

    def __getattr__(self, name):
        return getattr(self.conn, name)

    def execute(self, *args):
        return self.conn.execute(*args)

    def executemany(self, sql, rows):
        rows = list(rows)
        cursor = self.conn.executemany(sql, rows)
        mine = self.replica == pause_replica and rows and rows[0][0] == pause_height
        if sql.startswith("INSERT INTO records") and mine:
            print("inside", pause_height, self.replica, flush=True)
            time.sleep(60)
        return cursor


original_init = ledger_store.Store.__init__


def pausing_init(self, path, app_tables):
    original_init(self, path, app_tables)
    self.conn = PausingConnection(self.conn, int(Path(path).stem.split("-")[1]))


ledger_store.Store.__init__ = pausing_init

keys = [SigningKey.from_seed(bytes([i + 1]) * 32) for i in range(n)]
genesis = Genesis(chain, genesis_ms,
                  tuple(ValidatorInfo(f"v{i}", k.public_hex) for i, k in enumerate(keys)))
consortium = Consortium(data_dir, genesis, keys, CounterApp, ManualClock(genesis_ms, 1))
user = SigningKey.from_seed(b"u" * 32)
consortium.catch_up()
seq = consortium.gateway().seqs.get(user.public_hex, 0)
rng = random.Random(seed)
print("open", consortium.gateway().height, flush=True)
while True:
    for _ in range(rng.randint(1, 400)):
        seq += 1
        body = make_body(chain, "counter.add", [user.public_hex], seq,
                         {"name": f"c{seq % 5}", "by": 1}, expires=genesis_ms + 1_800_000)
        consortium.submit(sign_body(body, [user]))
    block = consortium.produce_block()
    print("height", block.header.height, flush=True)
"""


def _keys(n: int) -> list[SigningKey]:
    return [SigningKey.from_seed(bytes([i + 1]) * 32) for i in range(n)]


def _genesis(n: int) -> Genesis:
    return Genesis(CHAIN, GENESIS_MS, tuple(ValidatorInfo(f"v{i}", k.public_hex)
                                            for i, k in enumerate(_keys(n))))


def _run_and_kill(script: Path, data_dir: Path, n: int, rng: random.Random,
                  inside: int | None) -> tuple[int, int | None]:
    """Start the writer, let it commit three blocks, then SIGKILL it: at a random moment, or,
    when ``inside`` is a replica index, while that replica's transaction of the next block
    is open. Returns the last height the writer reported whole on every replica, and the
    height of the block whose transaction was open when killed (or None)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start_height = _height(data_dir / "node-0.sqlite")
    pause = start_height + 4 if inside is not None else -1
    proc = subprocess.Popen([sys.executable, str(script), str(data_dir), str(n),
                             str(rng.randrange(2**32)), str(pause), str(inside or 0), CHAIN,
                             str(GENESIS_MS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        last, deadline = start_height, time.monotonic() + 30
        while True:
            line = proc.stdout.readline().split()
            assert line, f"writer died: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "writer too slow"
            if line[0] == b"height":
                last = int(line[1])
            if inside is None and last >= start_height + 3:
                time.sleep(rng.uniform(0, 0.3))  # signing, checking, validating or writing
                break
            if line[0] == b"inside":
                assert int(line[1]) == pause and int(line[2]) == inside
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        heights = [int(w[1]) for w in (x.split() for x in proc.stdout.read().splitlines())
                   if len(w) == 2 and w[0] == b"height"]
        return max([last, *heights]), (pause if inside is not None else None)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _height(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT MAX(height) FROM blocks").fetchone()[0] or 0)
    finally:
        conn.close()


def _check_store(path: Path, genesis: Genesis) -> int:
    """Every block in the store is whole and certified; returns its height."""
    store = Store(path, CounterApp().tables())
    try:
        height = store.height()
        prev = genesis.hash.hex()
        history = []
        for h in range(1, height + 1):
            block, cert, checkpoint = store.certified_block(h)
            header = block.header
            assert header.height == h and header.prev == prev
            block.check_contents()  # the records' count and Merkle root match the header
            verify_certificate(cert, header.hash, genesis.validators)
            history.append(merkle.leaf_hash(header.hash))
            assert checkpoint.checkpoint.root_hash == merkle.root_from_leaf_hashes(history)
            checkpoint.verify(genesis.validators)
            prev = header.hash.hex()
        conn = store.conn
        total = store.header(height).total if height else 0  # type: ignore[union-attr]
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == total
        assert conn.execute("SELECT MAX(height) FROM records").fetchone()[0] in (None, height)
        value_sum = conn.execute(f"SELECT COALESCE(SUM(value), 0) FROM {TABLE}").fetchone()[0]
        assert value_sum == total  # every committed record added 1; no more, no fewer
        user = SigningKey.from_seed(b"u" * 32).public_hex
        assert store.seqs().get(user, 0) == total  # seqs 1..total, no gaps
        return height
    finally:
        store.close()


def _integrity_ok(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.mark.parametrize("n", [1, 4], ids=["one-validator", "four-validators"])
def test_sigkill_mid_write_leaves_whole_blocks_and_the_chain_continues(
        tmp_path: Path, n: int) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data_dir = tmp_path / "chain"
    genesis = _genesis(n)
    rng = random.Random(20260101 + n)
    floor = 0
    for kill in range(KILLS):
        inside = rng.randrange(n) if kill % 2 == 0 else None
        reported, open_block = _run_and_kill(script, data_dir, n, rng, inside)
        heights = []
        for i in range(n):
            path = data_dir / f"node-{i}.sqlite"
            _integrity_ok(path)
            heights.append(_check_store(path, genesis))
        if open_block is not None and inside is not None:
            # Replicas commit in order: those before `inside` hold the open block, the one
            # killed inside its transaction and those after it do not hold any of it.
            assert heights == [open_block] * inside + [open_block - 1] * (n - inside)
        else:  # each replica holds every block reported, and at most the one being written
            assert min(heights) >= reported and max(heights) <= reported + 1
            assert max(heights) - min(heights) <= 1
        assert min(heights) > floor  # progress on every run
        floor = max(heights)

    consortium = Consortium(data_dir, genesis, _keys(n), CounterApp, ManualClock(GENESIS_MS, 1))
    try:
        user = SigningKey.from_seed(b"u" * 32)
        seq = consortium.gateway().seqs[user.public_hex] + 1
        consortium.submit(sign_body(make_body(CHAIN, "counter.add", [user.public_hex], seq,
                                              {"name": "after", "by": 1}, expires=EXPIRES), [user]))
        block = consortium.produce_block()
        assert block is not None and block.header.height == floor + 1
        assert consortium.heights() == [floor + 1] * n
    finally:
        consortium.close()
    for i in range(n):
        assert _check_store(data_dir / f"node-{i}.sqlite", genesis) == floor + 1
