"""STATE.md §3-§4: genesis rows, a block in order, and the check of every header's `state`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .books import aging, books
from .chain import Block, ChainChecker, Store, ensure, genesis_hash, load_store
from .points import Context, add_points, as_int, as_str, take_points
from .rules import HANDLERS, drop_applicant
from .tables import Change, Tables, next_state

PARAM_DEFAULTS = {"application_ttl_ms": 2_592_000_000, "day_offset_ms": 0,
                  "member_quorum_percent": 67, "rate_notice_ms": 604_800_000}


def genesis_rows(ctx: Context, genesis: dict[str, Any]) -> None:
    """STATE.md §3."""
    app, tables = genesis["app"], ctx.tables
    params = {**PARAM_DEFAULTS, **app.get("params", {}),
              "last_height": 0, "last_time_ms": genesis["time"]}
    for name, value in params.items():
        tables.put("x_params", {"name": name, "value": value})
    regulator = app["regulator"]
    tables.put("x_regulator", {"id": "regulator", "name": regulator["name"],
                               "pubkey": regulator["key"]})
    tables.put("x_keys", {"pubkey": regulator["key"], "kind": "regulator",
                          "owner": "regulator", "status": "current", "height": 0})
    for member in app["members"]:
        tables.put("x_members", {
            "id": member["id"], "name": member["name"], "pubkey": member["key"],
            "validator_key": member.get("validator_key"), "status": "active",
            "since_height": 0, "changed_height": 0})
        tables.put("x_keys", {"pubkey": member["key"], "kind": "member", "owner": member["id"],
                              "status": "current", "height": 0})
        if member.get("validator_key"):
            tables.put("x_keys", {"pubkey": member["validator_key"], "kind": "validator",
                                  "owner": member["id"], "status": "current", "height": 0})
        ctx.event("member_admitted", member["id"], member["name"])


def rates_in_effect(ctx: Context) -> None:
    """Step 1."""
    for row in ctx.tables.select("x_programs"):
        pending_ms = row["pending_ms"]
        if isinstance(pending_ms, int) and pending_ms <= ctx.time:
            row.update(rate=row["pending_rate"], rate_version=row["pending_version"],
                       pending_rate=None, pending_version=None, pending_ms=None)
            ctx.tables.put("x_programs", row)
            ctx.event("rate_in_effect", as_str(row["code"]),
                      f"v{row['rate_version']} {row['rate']}/yuan")


def vesting(ctx: Context) -> None:
    """Step 2, in (program, issue id) order."""
    due = [r for r in ctx.tables.select("x_pending") if as_int(r["vests_ms"]) <= ctx.time]
    for row in sorted(due, key=lambda r: (as_str(r["program"]), as_str(r["issue"]))):
        ctx.tables.delete("x_pending", (row["issue"],))
        if row["void_record"]:
            continue
        code, amount = as_str(row["program"]), as_int(row["amount"])
        program = ctx.program(code)
        ctx.bump(program, pending=-amount, supply=amount)
        ctx.tables.put("x_programs", program)
        add_points(ctx, as_str(row["account"]), code, [(ctx.lot_expiry(program), amount)],
                   amount, "vest", as_str(row["issue"]))


def expiry(ctx: Context) -> None:
    """Step 3, one debit per holding with a due lot, in (account, program) order."""
    due: dict[tuple[str, str], int] = {}
    for lot in ctx.tables.select("x_lots"):
        if as_int(lot["expires_ms"]) <= ctx.time:
            key = (as_str(lot["account"]), as_str(lot["program"]))
            due[key] = due.get(key, 0) + as_int(lot["amount"])
    for (account, code), amount in sorted(due.items()):
        take_points(ctx, account, code, amount, "expire", "")
        program = ctx.program(code)
        ctx.bump(program, supply=-amount, expired=amount)
        ctx.tables.put("x_programs", program)


def applications_lapse(ctx: Context) -> None:
    """Step 4."""
    for row in ctx.tables.select("x_applications"):
        if as_int(row["lapses_ms"]) <= ctx.time:
            drop_applicant(ctx, as_str(row["merchant"]))
            ctx.event("merchant_lapsed", as_str(row["merchant"]), "")


def validator_set(tables: Tables) -> list[dict[str, str]]:
    """Active members with a validator key, in member id order, named by member id."""
    return [{"name": as_str(m["id"]), "key": as_str(m["validator_key"])}
            for m in tables.select("x_members")
            if m["status"] == "active" and m["validator_key"] is not None]


def derived_kinds(changes: list[Change]) -> list[str]:
    """What a block's x_aging and x_settlements changes exercised, for the test to count."""
    kinds: list[str] = []
    for name, _, row in changes:
        if name == "x_aging" and row is not None:
            kinds += [f"x_aging:{col}" for col, value in (("added", row[3]), ("removed", row[4]))
                      if as_int(value) > 0]
            kinds += ["x_aging:never"] if row[2] == "never" else []
        elif name == "x_settlements" and row is not None:
            # A payment larger than the payer's own net debt to the payee is partly netted.
            netted = as_int(row[6]) * 10_000 > as_int(row[8])
            kinds += ["x_settlements"] + (["x_settlements:netted"] if netted else [])
    return kinds


@dataclass
class Replay:
    """The exchange replayed block by block; `states` holds each recomputed commitment."""

    genesis: dict[str, Any]
    tables: Tables = field(default_factory=Tables)
    states: list[bytes] = field(default_factory=list)
    last_changes: list[Change] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        offset = self.genesis["app"].get("params", {}).get("day_offset_ms", 0)
        self.ctx = Context(self.tables, offset, height=0, time=self.genesis["time"])
        genesis_rows(self.ctx, self.genesis)
        self.last_changes = self.tables.end_block()
        self.states.append(next_state(genesis_hash(self.genesis), self.last_changes))

    def execute(self, block: Block) -> bytes:
        """Steps 1-7 for block; returns state_h."""
        ctx = self.ctx
        ctx.height, ctx.time, ctx.idx, ctx.record = block.height, block.header["time"], -1, ""
        ctx.counters.clear()
        rates_in_effect(ctx)
        vesting(ctx)
        expiry(ctx)
        applications_lapse(ctx)
        for idx, record in enumerate(block.records):
            ctx.idx, ctx.record = idx, record.id
            body = record.body
            HANDLERS[body["type"]](ctx, body["payload"], body["signers"])
        books(ctx)
        aging(ctx)
        self.tables.put("x_params", {"name": "last_height", "value": block.height})
        self.tables.put("x_params", {"name": "last_time_ms", "value": block.header["time"]})
        self.last_changes = self.tables.end_block()
        self.states.append(next_state(self.states[-1], self.last_changes))
        self.kinds.update(str(b.body["type"]) for b in block.records)
        for table, column in (("x_history", 5), ("x_events", 3)):
            self.kinds.update(f"{table}:{row[column]}" for name, _, row in self.last_changes
                              if name == table and row is not None)
        self.kinds.update(derived_kinds(self.last_changes))
        return self.states[-1]


@dataclass
class Report:
    """What a check of one store found: heights whose state recomputed, and the first miss."""

    blocks: int = 0
    records: int = 0
    matched: list[int] = field(default_factory=list)
    mismatch: str | None = None
    kinds: Counter[str] = field(default_factory=Counter)


def check_store(path: Path, stop_at_first: bool = True) -> Report:
    """Every header's hash, root, signatures, certificate and state, from genesis."""
    store: Store = load_store(path)
    report = Report(blocks=len(store.blocks))
    replay = Replay(store.genesis)
    ensure(replay.states[0].hex() == store.genesis_state, "state_0 differs from the store's")
    checker = ChainChecker(store.genesis)
    validators: list[dict[str, str]] = list(store.genesis["validators"])
    for block in store.blocks:
        checker.check(block, validators)
        report.records += len(block.records)
        state = replay.execute(block)
        if state.hex() == block.header["state"]:
            report.matched.append(block.height)
        elif report.mismatch is None:
            report.mismatch = f"state differs at height {block.height}"
            if stop_at_first:
                break
        after = validator_set(replay.tables)
        if {v["key"] for v in after} != {v["key"] for v in validators} or \
                {v["name"] for v in after} != {v["name"] for v in validators}:
            validators = after
    report.kinds = replay.kinds
    return report
