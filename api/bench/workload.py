"""Signed workloads for the bench and end-to-end tests: a small alliance and its traffic.

Everything is deterministic: keys come from fixed seeds, so two runs sign the same bytes.
``setup_phases`` returns the records that admit two merchants (Village Kitchen at 100 points
per yuan, Burger Palace at 1000) and fund the customers; each phase must be committed before
the next. ``swaps`` returns swap records (VK -> BP) those customers can afford. Every record
carries the ``expires`` given: the sender's clock when it sends them plus a margin (under
the genesis ``record_ttl_ms_max``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from exchange import records as rec
from exchange.genesis import app_genesis
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, sign_body

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def seeded(label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"jifentong-workload:{label}".encode()).digest())


@dataclass
class SmallAlliance:
    """One member (who also runs the only validator), a regulator, two merchants, customers."""

    chain: str
    customers: int
    expires: int  # of every record: the node's clock when they are sent, plus at most 1 h
    size: int = 1  # members, each with a validator (4 for the cluster bench)

    def __post_init__(self) -> None:
        self.member = seeded("member")
        self.validator = seeded("validator")
        #: Members (each running a validator): the first is ``member``/``validator``.
        self.members = [self.member] + [seeded(f"member-{i}") for i in range(1, self.size)]
        self.validators = [self.validator] + [seeded(f"validator-{i}")
                                              for i in range(1, self.size)]
        self.regulator = seeded("regulator")
        self.vk = seeded("village-kitchen")
        self.bp = seeded("burger-palace")
        self.people = [seeded(f"customer-{i}") for i in range(self.customers)]
        self.seqs: dict[str, int] = {}

    def genesis(self, block_records_max: int = 2000, interval_ms: int = 200) -> Genesis:
        names = ["district-association"] + [f"member-{i}" for i in range(1, self.size)]
        section = app_genesis(
            [{"id": n, "name": n.replace("-", " ").title(), "key": m.public_hex,
              "validator_key": v.public_hex}
             for n, m, v in zip(names, self.members, self.validators, strict=True)],
            {"name": "Market Regulator", "key": self.regulator.public_hex},
            {"rate_notice_ms": 86_400_000})
        return Genesis(self.chain, T0, tuple(ValidatorInfo(n, v.public_hex) for n, v
                                             in zip(names, self.validators, strict=True)),
                       LedgerParams(block_records_max, interval_ms), section)

    def seq(self, key: SigningKey) -> int:
        self.seqs[key.public_hex] = self.seqs.get(key.public_hex, 0) + 1
        return self.seqs[key.public_hex]

    def sign(self, body: dict[str, object], *keys: SigningKey) -> Record:
        return sign_body(body, list(keys))

    def setup_phases(self, points_each: int = 1_000_000) -> list[list[Record]]:
        """Records that must commit in order: apply, admit, programs, funding."""
        c, m, e = self.chain, self.member, self.expires
        merchants = (("village-kitchen", "乡村基 Village Kitchen", self.vk),
                     ("burger-palace", "汉堡宫 Burger Palace", self.bp))
        apply = [self.sign(rec.apply_merchant(c, k.public_hex, self.seq(k), mid, name,
                                              "demo", "restaurant", "Chunxi Road", expires=e), k)
                 for mid, name, k in merchants]
        keys = [k.public_hex for k in self.members]  # every member signs: any threshold holds
        admit = [self.sign(rec.admit_merchant(c, keys, self.seq(m), mid, expires=e),
                           *self.members) for mid, _, _ in merchants]
        programs = [
            self.sign(rec.create_program(c, self.vk.public_hex, self.seq(self.vk),
                                         "village-kitchen", "vk", "乡村基积分", 100, 365,
                                         10**12 // 100, expires=e), self.vk),
            self.sign(rec.create_program(c, self.bp.public_hex, self.seq(self.bp),
                                         "burger-palace", "bp", "汉堡宫积分", 1000, 365,
                                         10**12 // 100, daily_in_cap=10**12 // 100,
                                         accepts=["vk"], expires=e), self.bp),
        ]
        funding = [self.sign(rec.issue(c, self.vk.public_hex, self.seq(self.vk), "vk",
                                       p.public_hex, points_each, "welcome", expires=e), self.vk)
                   for p in self.people]
        # Burger Palace's swap rules name vk, so vk must exist first
        return [apply, admit, programs[:1], programs[1:], funding]

    def swaps(self, count: int, amount: int = 10) -> list[Record]:
        """``count`` swaps of ``amount`` VK into BP, spread over the customers."""
        out = []
        for i in range(count):
            person = self.people[i % len(self.people)]
            body = rec.swap(self.chain, person.public_hex, self.seq(person), "vk", amount, "bp",
                            amount * 10, 1, 1, expires=self.expires)
            out.append(sign_body(body, [person]))
        return out
