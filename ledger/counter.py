"""A tiny reference application: named counters. It proves the ledger/application seam.

Record type ``counter.add`` with payload ``{"name": str, "by": int}`` adds ``by`` to the
counter ``name``; a counter may never go below zero (``counter_negative``). The ledger's
tests and ``jifentong bench`` (ledger ingest) run on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledger.application import OK, BlockContext, Change, Execution, Row, TableSpec, Values
from ledger.errors import invariant
from ledger.wire.record import Record

TABLE = "c_counters"
BY_MAX = 10**12


class CounterApp:
    """Deterministic counters keyed by name."""

    #: ``execute`` refuses a move below zero per record; the whole-state check is ``audit``.
    invariants_in_execute = False

    def __init__(self) -> None:
        self.committed: dict[str, int] = {}
        self.working: dict[str, int] = {}

    def tables(self) -> Sequence[TableSpec]:
        return [TableSpec(TABLE, {"name": str, "value": int}, ("name",))]

    def init_chain(self, chain: str, time_ms: int, app_genesis: Mapping[str, Any]) -> Execution:
        start = {str(k): int(v) for k, v in sorted(app_genesis.get("counters", {}).items())}
        self.working = start
        return Execution([], [Change(TABLE, (k,), (k, v))
                              for k, v in start.items()])

    def restore(self, rows: Mapping[str, Iterable[Row]]) -> None:
        self.committed = {r["name"]: r["value"] for r in rows[TABLE]}
        self.working = {}

    def rows(self, table: str) -> Iterable[Values]:
        invariant(table == TABLE, "no table %r", table)
        return list(self.committed.items())

    def audit(self) -> list[str]:
        """Every committed counter is at least zero (``execute`` never moves one below)."""
        return [f"counter {name} is {value}" for name, value in sorted(self.committed.items())
                if value < 0]

    def _judge(self, record: Record, value: int) -> str:
        payload = record.payload
        if record.type != "counter.add" or set(payload) != {"name", "by"}:
            return "unknown_record_type"
        if not isinstance(payload["name"], str) or not 0 < len(payload["name"]) <= 64:
            return "invalid_name"
        by = payload["by"]
        if type(by) is not int or not -BY_MAX <= by <= BY_MAX:
            return "invalid_amount"
        if value + by < 0:
            return "counter_negative"
        return OK

    def check(self, record: Record) -> str:
        name = record.payload.get("name")
        value = self.committed.get(name, 0) if isinstance(name, str) else 0
        return self._judge(record, value)

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        working: dict[str, int] = {}
        codes = []
        for record in records:
            name = record.payload.get("name")
            current = (working.get(name, self.committed.get(name, 0))
                       if isinstance(name, str) else 0)
            code = self._judge(record, current)
            codes.append(code)
            if code == OK and isinstance(name, str):  # OK implies a str name (_judge)
                working[name] = current + record.payload["by"]
        self.working = working
        changes = [Change(TABLE, (k,), (k, v)) for k, v in sorted(working.items())]
        return Execution(codes, changes)

    def commit(self) -> None:
        self.committed.update(self.working)
        self.working = {}

    def discard(self) -> None:
        self.working = {}
