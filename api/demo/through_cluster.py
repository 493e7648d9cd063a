"""``jifentong demo --cluster``: the demo district built through a local cluster of member
nodes (``jifentong cluster up``), the same month as the in-process build.

Every session's records go over HTTP to one node (the nodes take turns), which admits them
to the ordering log in etcd; the four nodes propose, validate, vote and commit each block as
they do for any submission. The demo's month is simulated time, so while it is built the
nodes take their time from a file the builder moves forward session by session
(``jifentong node --demo-clock``, allowed only with ``JIFENTONG_ALLOW_DEMO_CLOCK=1``, which
the builder sets for the nodes it starts). Once the month is built the nodes are restarted
on the system clock; block times only grow, and the real date lies after the demo's month.

The simulation decides what customers do from the committed state: the builder reads it
from a member's store, read-only, after each session commits there.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from api.demo import cluster as local
from api.demo.build import demo_data_dir, run_demo
from api.demo.district import START_MS
from api.demo.simulation import District, Refusal, Summary, Tick
from api.node.netnode import member_store
from exchange.app import ExchangeApp
from exchange.state.state import State
from ledger.errors import StoreError
from ledger.limits import batch_records_max
from ledger.store import app_rows
from ledger.wire.record import Record

#: Times the builder tries one request before it gives up.
call_attempts = 3
#: Seconds one session may take to commit through the cluster before the build gives up (the
#: longest `wait` the API takes).
session_s_max = 60.0


def committed_view(store: Path) -> State:
    """The exchange's committed state in the SQLite store at ``store``, read in one read
    transaction (a node may be writing meanwhile: WAL readers see whole blocks)."""
    app = ExchangeApp()
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        app.restore({t.name: list(app_rows(conn, t)) for t in app.tables() if t.restore})
    finally:
        conn.close()
    return app.view


class ThroughCluster:
    """A :class:`~api.demo.simulation.Session` whose records go through a local cluster."""

    def __init__(self, cluster: local.Layout, clock_file: Path) -> None:
        self.cluster, self.clock_file = cluster, clock_file
        self.urls = [cluster.node_url(i) for i in range(len(cluster.members))]
        self.http = httpx.Client(timeout=session_s_max + 10)
        self.turn = 0  # the node that took the last session
        self.height = self.records = 0  # what that session reached there
        self._view: State | None = None

    def set_time(self, at_ms: int) -> None:
        """Move the nodes' clock to ``at_ms`` (written whole: a reader never sees half)."""
        partial = self.clock_file.with_suffix(".tmp")
        partial.write_text(f"{at_ms}\n")
        os.replace(partial, self.clock_file)

    def view(self) -> State:
        if self._view is None:
            member = self.cluster.members[self.turn % len(self.urls)]
            self._view = committed_view(member_store(self.cluster.data, member))
        return self._view

    def commit(self, records: Sequence[Record], at_ms: int) -> list[Refusal | None]:
        """Send the session to the next node, waiting until each record is decided there."""
        self.set_time(at_ms)
        self._view = None
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)]
        self._reach(url, self.height)  # it admits against what the last session committed
        out: list[Refusal | None] = []
        for start in range(0, len(records), batch_records_max):
            chunk = records[start:start + batch_records_max]
            out += [_refusal(r) for r in self._send(url, chunk)]
        status = self._call("GET", url + "/v1/status").json()
        self.height, self.records = int(status["height"]), int(status["records"])
        return out

    def _reach(self, url: str, height: int) -> None:
        """Wait until the node at ``url`` has committed ``height``."""
        deadline = time.monotonic() + session_s_max
        while int(self._call("GET", url + "/v1/status").json()["height"]) < height:
            if time.monotonic() > deadline:
                raise StoreError(f"{url} did not reach height {height} within "
                                 f"{session_s_max:.0f} s; see DIR/logs/", code="cluster_stalled")
            time.sleep(0.02)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, tried again on a transport error: a node closes a keep-alive
        connection it found idle as the builder reuses it. Sending a session again is safe:
        a record already admitted comes back as a duplicate with its outcome."""
        for attempt in range(call_attempts):
            try:
                return self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 == call_attempts:
                    raise StoreError(f"{url} did not answer: {exc!r}",
                                     code="cluster_unreachable") from exc
                time.sleep(0.2)
        raise StoreError(f"{url} was not tried", code="cluster_unreachable")

    def _send(self, url: str, records: Sequence[Record]) -> list[dict[str, Any]]:
        body = b'{"records":[' + b",".join(r.wire_bytes() for r in records) + b"]}"
        params = {"wait": "true", "timeout_ms": str(int(session_s_max * 1000))}
        answer = self._call("POST", url + "/v1/records/batch", content=body, params=params)
        if answer.status_code != 200:
            raise StoreError(f"{url} answered {answer.status_code}: {answer.text[:300]}",
                             code="cluster_refused")
        results: list[dict[str, Any]] = answer.json()["results"]
        stuck = [r["id"] for r in results if r["status"] == "pending"]
        if stuck:
            raise StoreError(f"{len(stuck)} records were not decided within "
                             f"{session_s_max:.0f} s (first {stuck[0]}); see DIR/logs/",
                             code="cluster_stalled")
        return results

    def totals(self) -> tuple[int, int]:
        """As the node that took the last session read them after it (no second request)."""
        return self.height, self.records

    def close(self) -> None:
        self.http.close()


def _refusal(result: dict[str, Any]) -> Refusal | None:
    """A batch result as a refusal: one with a ``detail`` was refused at the node's door,
    one without was left out of its block."""
    if result["status"] != "rejected":
        return None
    return str(result["code"]), "detail" in result


def build_demo_through_cluster(path: Path, *, seed: int, customers: int, days: int,
                               nodes_base_port: int, tick: Tick | None = None) -> Summary:
    """Create the demo alliance at ``path``, start its cluster on the demo clock, play the
    month through it, then restart the nodes on the system clock. Returns what was built."""
    data = demo_data_dir(path, seed)
    cluster = local.layout(data.path, len(data.genesis().validators), nodes_base_port)
    clock_file = cluster.path / "run" / "demo-clock"
    clock_file.parent.mkdir(parents=True, exist_ok=True)
    session = ThroughCluster(cluster, clock_file)
    session.set_time(START_MS)
    try:
        local.up(cluster, demo_clock=clock_file)
        summary = run_demo(District(session, seed), path, customers, days, tick)
    except BaseException:
        local.down(cluster)
        raise
    finally:
        session.close()
    for member in cluster.members:  # back on the system clock
        local.stop(cluster, f"node-{member}")
    clock_file.unlink()
    local.up(cluster)
    return summary
