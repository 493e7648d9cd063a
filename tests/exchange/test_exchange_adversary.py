"""Value from nothing: a coalition attacks the economics, and never gains.

Hypothesis drives a coalition of three customers and one merchant (Noodle Shop, program
``ns``, 10-day expiry) against two outside issuers (Village Kitchen ``vk``, 30-day expiry,
and Burger Palace ``bp``, never lapsing). The coalition issues its own points, swaps, round
trips, transfers and waits; the outsiders post promotions and rate changes. After every
block, for the current time and for a grid of future times T, from the committed rows:

    value of the coalition's points of outside programs still alive after T (at the rates in
    effect) + the coalition merchant's settlement net
  <= value of outside points issued to the coalition that are still alive after T
     (at the higher of the program's rates at the time of issue)
   + 25% (the largest bonus the test posts) of every point issued to it that is alive
     after T, at the highest value its program ever had (a bonus only on earned points)
   + what outside revaluations added to the points the coalition held when each was
     posted and that are alive after T (the notice is no arbitrage window)

and no stored number passes the largest counter (2**53-1) or goes negative where a counter
cannot. Events count that bonuses were paid, rates took effect and lots lapsed, together.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, event, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from exchange import records as R
from exchange.limits import counter_max, micro_per_yuan
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record

Chain = Any  # the conftest driver

OUTSIDE = ("vk", "bp")
PROGRAMS = ("vk", "bp", "ns")
RATES = (10, 50, 100, 200, 500, 1000, 2000)
BONUS_MAX_BP = 2500
NEVER = 2**62
SEEN: Counter[str] = Counter()  # across all examples of a run


def customer(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"coalition-%d" % n).digest())


def unit(rate: int) -> int:
    return micro_per_yuan // rate


def machine(new_chain: Any, open_programs: Any) -> type[RuleBasedStateMachine]:
    class Coalition(RuleBasedStateMachine):
        @initialize()
        def open(self) -> None:
            c = self.c = open_programs(new_chain())
            assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
            assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
            assert c.block(
                c.rec(R.create_program, c.ns, "noodle-shop", "ns", "面馆", 10, 10, 10**9,
                      transferable=True, accepts=["vk", "bp"]),
                c.rec(R.update_program, c.vk, "vk", "乡村基积分", 10**9, True, 1, 1, 10**12,
                      ["bp", "ns"]),
                c.rec(R.update_program, c.bp, "bp", "汉堡宫积分", 10**10, True, 1, 1, 10**12,
                      ["vk", "ns"])) == ["ok", "ok", "ok"]
            self.issuer = {"vk": c.vk, "bp": c.bp, "ns": c.ns}
            self.who = [customer(i) for i in range(3)]
            self.pending: list[tuple[Record, Any]] = []
            self.issued: list[tuple[str, int, int, int]] = []  # program, points, lapse, unit
            self.unit_max = {p: unit(self.c.program(p)["rate"]) for p in PROGRAMS}
            self.posted: dict[str, tuple[int, int, dict[int, int]]] = {}  # p: (v, rate, held)
            self.reval: list[tuple[dict[int, int], int]] = []  # (held alive after T, gain)
            t0 = c.time_ms  # the outsiders' opening campaigns, and the first points
            assert set(c.block(
                c.rec(R.promote, c.bp, "bp", "vk", 2000, t0, t0 + 30 * c.DAY),
                c.rec(R.promote, c.bp, "bp", "ns", BONUS_MAX_BP, t0, t0 + 30 * c.DAY),
                c.rec(R.promote, c.vk, "vk", "bp", 500, t0, t0 + 30 * c.DAY))) == {"ok"}
            for p in PROGRAMS:
                for i in range(3):
                    self.issue(p, i, 1000)
            self.grid = [c.T0 + d * c.DAY for d in range(0, 100, 6)] + [NEVER - 1]
            self.seen: set[str] = set()
            self.close(1000)

        # --- records ---------------------------------------------------------------------
        def _queue(self, record: Record, after: Any = None) -> None:
            self.pending.append((record, after))

        @rule(p=st.sampled_from(PROGRAMS), i=st.integers(0, 2), amount=st.integers(1, 3000))
        def issue(self, p: str, i: int, amount: int) -> None:
            row = self.c.program(p)
            worth = max(unit(row["rate"]), unit(row["pending_rate"] or row["rate"]))
            days = row["expiry_days"]
            self._queue(self.c.rec(R.issue, self.issuer[p], p, self.who[i].public_hex, amount),
                        lambda t: self.issued.append((p, amount, (
                            (t // self.c.DAY + days + 1) * self.c.DAY if days else NEVER),
                            worth)))

        def _swap(self, i: int, give: str, get: str, amount: int) -> Record:
            a, b = self.c.program(give), self.c.program(get)
            return self.c.rec(R.swap, self.who[i], give, max(1, amount), get, 0,
                              a["rate_version"], b["rate_version"])

        @rule(i=st.integers(0, 2), give=st.sampled_from(PROGRAMS),
              get=st.sampled_from(PROGRAMS), percent=st.sampled_from((10, 50, 100)))
        def swap(self, i: int, give: str, get: str, percent: int) -> None:
            if give != get:
                held = self.c.balance(self.who[i], give)
                self._queue(self._swap(i, give, get, held * percent // 100))

        @rule(i=st.integers(0, 2), give=st.sampled_from(PROGRAMS),
              get=st.sampled_from(PROGRAMS), times=st.integers(1, 3))
        def round_trip(self, i: int, give: str, get: str, times: int) -> None:
            """All of ``give`` into ``get`` and back, ``times`` times, a block per leg."""
            if give == get:
                return
            for _ in range(times):
                for a, b in ((give, get), (get, give)):
                    self._queue(self._swap(i, a, b, self.c.balance(self.who[i], a)))
                    self.close(1000)

        @rule(p=st.sampled_from(PROGRAMS), a=st.integers(0, 2), b=st.integers(0, 2),
              percent=st.sampled_from((30, 100)))
        def transfer(self, p: str, a: int, b: int, percent: int) -> None:
            held = self.c.balance(self.who[a], p)
            if a != b and held:
                self._queue(self.c.rec(R.transfer, self.who[a], p, self.who[b].public_hex,
                                       max(1, held * percent // 100)))

        @rule(get=st.sampled_from(PROGRAMS), source=st.sampled_from(PROGRAMS),
              bonus=st.sampled_from((500, 2000, BONUS_MAX_BP)), days=st.integers(1, 20))
        def promote(self, get: str, source: str, bonus: int, days: int) -> None:
            if get != source:
                t = self.c.time_ms
                self._queue(self.c.rec(R.promote, self.issuer[get], get, source, bonus, t,
                                       t + days * self.c.DAY))

        @rule(p=st.sampled_from(PROGRAMS), rate=st.sampled_from(RATES))
        def post_rate(self, p: str, rate: int) -> None:
            self._queue(self.c.rec(R.post_rate, self.issuer[p], p, rate))

        # --- blocks and the checks ---------------------------------------------------------
        @rule(step_ms=st.sampled_from((1000, 3_600_000, 86_400_000, 6 * 86_400_000,
                                       11 * 86_400_000)))
        def close(self, step_ms: int) -> None:
            queued, self.pending = self.pending, []
            before = {p: self.c.program(p) for p in PROGRAMS}
            codes = self.c.block(*[r for r, _ in queued], step_ms=step_ms)
            for (_, after), code in zip(queued, codes, strict=True):
                if after is not None and code == "ok":
                    after(self.c.time_ms)
            self._read_lots()
            self._follow_rates(before)
            self._note(before)
            self._check_value()

        def _alive(self, p: str, after_ms: int) -> int:
            """Points of ``p`` the coalition holds that are still alive after ``after_ms``."""
            total = 0
            for who in self.who:
                total += self.c.balance(who, p)
                for expires_ms, amount in self.lots.get((who.public_hex, p), ()):
                    if expires_ms <= after_ms:
                        total -= amount
            return total

        def _read_lots(self) -> None:
            self.lots: dict[tuple[str, str], list[tuple[int, int]]] = {}
            for row in self.c.store.get("x_lots", {}).values():
                self.lots.setdefault((row["account"], row["program"]), []).append(
                    (row["expires_ms"], row["amount"]))

        def _follow_rates(self, before: dict[str, Any]) -> None:
            for p in PROGRAMS:
                row = self.c.program(p)
                for rate in (row["rate"], row["pending_rate"] or row["rate"]):
                    self.unit_max[p] = max(self.unit_max[p], unit(rate))
                if p not in OUTSIDE:
                    continue
                if row["pending_version"] and p not in self.posted:
                    held = {t: self._alive(p, t) for t in self.grid}
                    self.posted[p] = (row["pending_version"], row["rate"], held)
                if row["rate_version"] != before[p]["rate_version"]:
                    _, old, held = self.posted.pop(p)
                    self.reval.append((held, max(0, unit(row["rate"]) - unit(old))))

        def _note(self, before: dict[str, Any]) -> None:
            for p in PROGRAMS:
                row, old = self.c.program(p), before[p]
                if row["promoted"] > old["promoted"]:
                    self.seen.add("bonus")
                if row["rate_version"] > old["rate_version"]:
                    self.seen.add("rate")
                if row["expired"] > old["expired"]:
                    self.seen.add("expiry")

        def _check_value(self) -> None:
            now = self.c.time_ms
            net = {r["merchant"]: r["net"] for r in self.c.rows("x_positions")}
            rates = {p: self.c.program(p)["rate"] for p in PROGRAMS}
            for t in [now] + [g for g in self.grid if g > now]:
                # now: the merchant's net counts (its claims on the outsiders); later: only
                # points, which must trace back to points issued that live as long
                claim = net.get("noodle-shop", 0) if t == now else 0
                claim += sum(self._alive(p, t) * unit(rates[p]) for p in OUTSIDE)
                issued = sum(n * (worth if t == now else self.unit_max[p])
                             for p, n, lapse, worth in self.issued
                             if lapse > t and (p in OUTSIDE or t > now))
                bonus = sum(n * self.unit_max[p] * BONUS_MAX_BP // 10_000
                            for p, n, lapse, _ in self.issued if lapse > t)
                reval = sum(held[min(g for g in self.grid if g >= t)] * gain
                            for held, gain in self.reval)
                assert claim <= issued + bonus + reval, (
                    f"after {t}: coalition holds {claim} µ¥ > issued {issued} + bonus "
                    f"{bonus} + revaluation {reval}")

        def teardown(self) -> None:
            """Count, once per history, what it exercised (the run asserts they all were)."""
            for name in sorted(self.seen):
                event(f"exercised: {name}")
                SEEN[name] += 1
            if len(self.seen) == 3:
                SEEN["all three in one history"] += 1
            target(float(len(self.seen)), label="kinds exercised together")

        @invariant()
        def no_counter_passes_its_bound(self) -> None:
            for table in self.c.store.values():
                for row in table.values():
                    for value in row.values():
                        if type(value) is int:
                            assert -counter_max <= value <= counter_max
            for p in PROGRAMS:
                row = self.c.program(p)
                assert min(row[k] for k in ("supply", "issued", "promoted", "redeemed",
                                            "swapped_in", "swapped_out", "expired")) >= 0

    return Coalition


def test_a_coalition_never_gains_value_from_nothing(new_chain: Any, open_programs: Any) -> None:
    SEEN.clear()
    run_state_machine_as_test(machine(new_chain, open_programs), settings=settings(
        max_examples=30, stateful_step_count=40, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow]))
    for kind in ("bonus", "rate", "expiry", "all three in one history"):
        assert SEEN[kind] > 0, f"no history exercised {kind}: {dict(SEEN)}"
