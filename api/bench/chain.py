"""A large synthetic district for ``jifentong bench``: the demo's merchants, thousands of
customers and a mix of issues, swaps, redemptions and transfers, built through one validator.

The generator keeps its own model of balances so that nothing it signs is refused; bodies are
built in order (sequence numbers, balances) and signed on both cores.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.demo.district import MERCHANTS
from api.node.datadir import create_data_dir
from exchange import records as rec
from exchange.app import ExchangeApp
from exchange.genesis import app_genesis
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.consensus.clock import ManualClock
from ledger.consensus.consortium import Consortium
from ledger.crypto.keys import SigningKey
from ledger.wire.record import parse_record, sign_body

CHAIN = "bench-district"
T0 = 1_767_225_600_000
DAY_MS = 86_400_000
BLOCK = 2000
#: Each record expires this long after the time of the block it is made for.
EXPIRY_MARGIN_MS = 60_000
Progress = Callable[[str], None]


def key(label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"jifentong-bench:{label}".encode()).digest())


def _sign_chunk(items: list[tuple[dict[str, Any], list[str]]]) -> list[bytes]:
    return [sign_body(body, [key(label) for label in labels]).wire_bytes()
            for body, labels in items]


class Generator:
    """Bodies in commit order, with the signer labels that sign each.

    Block ``n`` (counted from 1) is cut at ``T0 + n * step_ms``; each body expires
    :data:`EXPIRY_MARGIN_MS` after the time of the block it is made for."""

    def __init__(self, customers: int, step_ms: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.step_ms, self.blocks, self.expires = step_ms, 0, T0
        self.customers = [key(f"customer-{i}").public_hex for i in range(customers)]
        self.seqs: dict[str, int] = {}
        self.held: dict[tuple[int, str], int] = {}
        self.merchants = {m.program: m for m in MERCHANTS}
        self.keys = {m.program: key(f"merchant-{m.id}").public_hex for m in MERCHANTS}

    def seq(self, public: str) -> int:
        self.seqs[public] = self.seqs.get(public, 0) + 1
        return self.seqs[public]

    def block_ms(self, n: int) -> int:
        """The time of block ``n``."""
        return T0 + n * self.step_ms

    def _for_block(self, n: int) -> None:
        self.expires = self.block_ms(n) + EXPIRY_MARGIN_MS

    def setup(self) -> list[list[tuple[dict[str, Any], list[str]]]]:
        """Four phases, one block each."""
        member = key("member").public_hex
        phases: list[list[tuple[dict[str, Any], list[str]]]] = [[], [], [], []]
        exp = [self.block_ms(self.blocks + n) + EXPIRY_MARGIN_MS for n in (1, 2, 3, 4)]
        self.blocks += 4
        for m in MERCHANTS:
            k = self.keys[m.program]
            phases[0].append((rec.apply_merchant(CHAIN, k, self.seq(k), m.id, m.name,
                                                 m.description, m.category, m.area,
                                                 expires=exp[0]),
                              [f"merchant-{m.id}"]))
            phases[1].append((rec.admit_merchant(CHAIN, [member], self.seq(member), m.id,
                                                 expires=exp[1]),
                              ["member"]))
            cap = 10**12 // 100 * m.rate // 100
            phases[2].append((rec.create_program(CHAIN, k, self.seq(k), m.id, m.program,
                                                 m.program_name, m.rate, 365, cap,
                                                 m.transferable, daily_in_cap=cap,
                                                 expires=exp[2]),
                              [f"merchant-{m.id}"]))
            phases[3].append((rec.update_program(CHAIN, k, self.seq(k), m.program,
                                                 m.program_name, cap, m.transferable, 1, 1, cap,
                                                 list(m.accepts), expires=exp[3]),
                              [f"merchant-{m.id}"]))
        return phases

    def traffic(self, count: int) -> list[tuple[dict[str, Any], list[str]]]:
        """``count`` records; a customer appears at most once per block, because a record
        is checked against the committed state, not against the block it rides in."""
        out: list[tuple[dict[str, Any], list[str]]] = []
        codes = sorted(self.merchants)
        used: set[int] = set()
        first = self.blocks + 1
        while len(out) < count:
            if len(out) % BLOCK == 0:
                used = set()
                self._for_block(first + len(out) // BLOCK)
            i = self.rng.randrange(len(self.customers))
            if i in used:
                continue
            used.add(i)
            who, roll = self.customers[i], self.rng.random()
            held = [(c, n) for c in codes if (n := self.held.get((i, c), 0)) > 0]
            if roll < 0.5 or not held:
                code = self.rng.choice(codes)
                m = self.merchants[code]
                amount = self.rng.randint(15, 150) * m.rate * m.earn_percent // 100
                k = self.keys[code]
                out.append((rec.issue(CHAIN, k, self.seq(k), code, who, amount, "bench",
                                      expires=self.expires),
                            [f"merchant-{m.id}"]))
                self.held[(i, code)] = self.held.get((i, code), 0) + amount
                continue
            code, balance = self.rng.choice(held)
            if roll < 0.75:
                targets = [t for t in codes if code in self.merchants[t].accepts]
                if targets:
                    get = self.rng.choice(targets)
                    give = max(1, balance // 2)
                    got = give * self.merchants[get].rate // self.merchants[code].rate
                    if got > 0:
                        taken = -(-got * self.merchants[code].rate // self.merchants[get].rate)
                        out.append((rec.swap(CHAIN, who, self.seq(who), code, give, get, got,
                                             1, 1, expires=self.expires), [f"customer-{i}"]))
                        self.held[(i, code)] = balance - taken
                        self.held[(i, get)] = self.held.get((i, get), 0) + got
                        continue
            if roll < 0.9 or not self.merchants[code].transferable:
                amount = max(1, balance // 3)
                out.append((rec.redeem(CHAIN, who, self.seq(who), code, amount, "bench",
                                       expires=self.expires),
                            [f"customer-{i}"]))
                self.held[(i, code)] = balance - amount
                continue
            j = (i + 1 + self.rng.randrange(len(self.customers) - 1)) % len(self.customers)
            if j in used:
                amount = max(1, balance // 3)
                out.append((rec.redeem(CHAIN, who, self.seq(who), code, amount, "bench",
                                       expires=self.expires),
                            [f"customer-{i}"]))
                self.held[(i, code)] = balance - amount
                continue
            used.add(j)
            amount = max(1, balance // 4)
            out.append((rec.transfer(CHAIN, who, self.seq(who), code, self.customers[j], amount,
                                        expires=self.expires),
                        [f"customer-{i}"]))
            self.held[(i, code)] = balance - amount
            self.held[(j, code)] = self.held.get((j, code), 0) + amount
        self.blocks += -(-count // BLOCK)
        return out


def build_chain(path: Path, records: int, progress: Progress, customers: int = 5000) -> int:
    """A data dir at ``path`` holding about ``records`` records; returns how many committed."""
    validator, member = key("validator"), key("member")
    section = app_genesis([{"id": "bench-association", "name": "Bench Association",
                            "key": member.public_hex, "validator_key": validator.public_hex}],
                          {"name": "Bench Regulator", "key": key("regulator").public_hex},
                          {"rate_notice_ms": DAY_MS})
    genesis = Genesis(CHAIN, T0, (ValidatorInfo("bench-association", validator.public_hex),),
                      LedgerParams(BLOCK, 500), section)
    create_data_dir(path, genesis, [validator])
    step = max(1, 30 * DAY_MS * BLOCK // max(records, 1))  # spread over about 30 days
    clock = ManualClock(T0)
    consortium = Consortium(path, genesis, [validator], ExchangeApp, clock)
    generator = Generator(customers, step)
    ctx = multiprocessing.get_context("spawn")
    height = 0
    try:
        with ctx.Pool(2) as pool:
            for phase in generator.setup():
                height += 1
                clock.set(generator.block_ms(height))
                _commit(consortium, pool.map(_sign_chunk, [phase])[0])
            done = 0
            while done < records:
                bodies = generator.traffic(min(20 * BLOCK, records - done))
                chunks = [bodies[i:i + BLOCK] for i in range(0, len(bodies), BLOCK)]
                for wires in pool.imap(_sign_chunk, chunks):
                    height += 1
                    clock.set(generator.block_ms(height))
                    _commit(consortium, wires)
                done += len(bodies)
                progress(f"built {done:,} of {records:,} records")
        return consortium.gateway().total
    finally:
        consortium.close()


def _commit(consortium: Consortium, wires: list[bytes]) -> None:
    errors = consortium.submit_many([parse_record(w) for w in wires])
    refused = [e for e in errors if e is not None]
    if refused:
        raise RuntimeError(f"bench chain record refused: {refused[0]!r}")
    consortium.run_until_idle()
    rejected = [o.code for o in consortium.last_decided if o.code is not None]
    if rejected:
        raise RuntimeError(f"bench chain record rejected at block time: {rejected[0]}")
