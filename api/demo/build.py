"""``jifentong demo``: build a realistic business district, deterministic for a seed.

Four members run validators; merchants are admitted by member vote, open programs and issue
points on purchases; about a thousand customers earn, swap, give and redeem points for
30 simulated days, with a promotion, a rate change with notice, expiries, a merchant
admitted half-way and weekly settlements. Time is simulated (October 2026, Beijing time), so
the same seed always builds the same chain.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from api.demo.district import BEIJING_MS, CHAIN, DAY_MS, MEMBERS, MERCHANTS, REGULATOR, START_MS
from api.demo.simulation import District, InProcess, Simulation, Summary, Tick, derive_key
from api.node.datadir import DataDir, create_data_dir
from api.node.runtime import Node
from exchange.app import ExchangeApp
from exchange.genesis import app_genesis
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.consensus.clock import ManualClock
from ledger.crypto.keys import SigningKey


def build_demo(path: Path, *, seed: int = 7, customers: int = 1000, days: int = 30,
               tick: Tick | None = None) -> Summary:
    """Build the demo alliance in a new data dir at ``path``."""
    data = demo_data_dir(path, seed)
    clock = ManualClock(START_MS)
    node = Node(data, ExchangeApp, clock=clock, produce=False)
    try:
        summary = run_demo(District(InProcess(node, clock), seed), path, customers, days, tick)
    finally:
        node.close()
    return summary


def demo_data_dir(path: Path, seed: int) -> DataDir:
    """A new data dir at ``path`` with the demo's genesis and every party's key (all fixed
    by ``seed``)."""
    validators = [derive_key(seed, f"validator:{m.id}") for m in MEMBERS]
    members = [derive_key(seed, f"member:{m.id}") for m in MEMBERS]
    regulator = derive_key(seed, "regulator")
    section = app_genesis(
        [{"id": m.id, "name": m.name, "key": k.public_hex, "validator_key": v.public_hex}
         for m, k, v in zip(MEMBERS, members, validators, strict=True)],
        {"name": REGULATOR, "key": regulator.public_hex},
        {"rate_notice_ms": 7 * DAY_MS, "day_offset_ms": BEIJING_MS})
    order = sorted(range(len(MEMBERS)), key=lambda i: MEMBERS[i].id)
    genesis = Genesis(CHAIN, START_MS, tuple(ValidatorInfo(MEMBERS[i].id, validators[i].public_hex)
                                             for i in order),
                      LedgerParams(block_records_max=2000, block_interval_ms=500), section)
    data = create_data_dir(path, genesis, [validators[i] for i in order])
    _save_party_keys(data, seed, members, regulator)
    return data


def run_demo(district: District, path: Path, customers: int, days: int,
             tick: Tick | None) -> Summary:
    """Play the demo's month through ``district``'s session, then write ``demo.json`` beside
    the data (what was built, and where the parties' keys are)."""
    Simulation(district, random.Random(district.seed), customers, days, tick).run()
    summary = district.summary
    summary.customers, summary.days = customers, days
    (path / "demo.json").write_text(json.dumps({
        "seed": district.seed, "customers": customers, "days": days, "chain": CHAIN,
        "records": summary.records, "blocks": summary.blocks, "rejected": summary.rejected,
        "merchant_keys": {m.id: f"keys/merchants/{m.id}.pem" for m in MERCHANTS},
        "customer_wallets": "wallets/"}, indent=2) + "\n")
    return summary


def _save_party_keys(data: DataDir, seed: int, members: list[SigningKey],
                     regulator: SigningKey) -> None:
    """Demo only: the parties' keys sit in the data dir so the tour can use them."""
    for spec, key in zip(MEMBERS, members, strict=True):
        key.save(data.keys_dir / "members" / f"{spec.id}.pem")
    for merchant in MERCHANTS:
        derive_key(seed, f"merchant:{merchant.id}").save(
            data.keys_dir / "merchants" / f"{merchant.id}.pem")
    regulator.save(data.keys_dir / "regulator.pem")


