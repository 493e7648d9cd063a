"""Hypothesis: random histories with return windows, refunds, spending, swaps and rate changes.

After every block: the conservation rules hold with pending and voided points counted (from
the rows the app emitted); pending points are never spendable (a redeem, swap or transfer of
one point more than the balance is refused while points are pending); every void got exactly
the code the rules give (only pending points, only its own, only once); issuer statements tie
out in points and fen for random day ranges, chain from one range into the next and close
at the programs' outstanding points; each statement's aging is the one the lots showed at its
closing height (recomputed from the stored x_lots, x_balances and x_programs rows after that
block) and sums to the closing outstanding; each statement lists exactly the settlements made
in its range; and a replica restarted from the stored rows carries on with the same state
commitment.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from exchange import codes as C
from exchange import records as R
from exchange.app import ExchangeApp
from exchange.statement import FIELDS, FLOWS, issuer_rollforward, issuer_statement
from ledger.application import next_state
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record

Chain = Any  # the conftest driver
ISSUER = {"vk": "village-kitchen", "bp": "burger-palace", "ns": "noodle-shop"}
WINDOW = {"vk": 3, "bp": 0, "ns": 2}
STEPS = (1, 3_600_000, 86_400_000, 3 * 86_400_000, 11 * 86_400_000)


def _key(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"refund-props-%d" % n).digest())


def lots_aging(store: dict[str, dict[Any, Any]]) -> dict[str, dict[str, int]]:
    """Per merchant, the points outstanding by lapse month, from the stored rows alone."""
    out: dict[str, dict[str, int]] = {m: defaultdict(int) for m in ISSUER.values()}
    in_lots: dict[tuple[str, str], int] = defaultdict(int)
    for row in store.get("x_lots", {}).values():
        month = (date(1970, 1, 1) + timedelta(days=row["expires_ms"] // 86_400_000))
        out[ISSUER[row["program"]]][month.strftime("%Y-%m")] += row["amount"]
        in_lots[(row["account"], row["program"])] += row["amount"]
    for row in store.get("x_balances", {}).values():
        rest = row["balance"] - in_lots[(row["account"], row["program"])]
        if rest:
            out[ISSUER[row["program"]]]["never"] += rest
    for row in store["x_programs"].values():
        if row["pending"]:
            out[ISSUER[row["code"]]]["pending"] += row["pending"]
    return {m: {k: v for k, v in buckets.items() if v} for m, buckets in out.items()}


def machine(new_chain: Any) -> type[RuleBasedStateMachine]:
    class Refunds(RuleBasedStateMachine):
        @initialize()
        def open(self) -> None:
            c = self.c = new_chain()
            self.keys = {"vk": c.vk, "bp": c.bp, "ns": c.ns}
            assert c.block(*[c.rec(R.apply_merchant, self.keys[p], ISSUER[p], p.upper())
                             for p in ISSUER]) == ["ok"] * 3
            for p in ISSUER:
                assert c.vote(R.admit_merchant, ISSUER[p]) == "ok"
            assert c.block(
                c.rec(R.create_program, c.bp, ISSUER["bp"], "bp", "BP", 1000, 0, 10**8),
                c.rec(R.create_program, c.vk, ISSUER["vk"], "vk", "VK", 100, 10, 10**6,
                      transferable=True, accepts=["bp"], return_days=WINDOW["vk"]),
                c.rec(R.create_program, c.ns, ISSUER["ns"], "ns", "NS", 10, 5, 10**6,
                      transferable=True, accepts=["vk", "bp"], return_days=WINDOW["ns"]),
                c.rec(R.update_program, c.bp, "bp", "BP", 10**8, False, 1, 1, 10**12,
                      ["vk", "ns"]),
            ) == ["ok"] * 4
            self.customers = [c.alice, c.bob, _key(0)]
            self.issues: list[tuple[Record, str, int]] = []  # (record, program, vests_ms)
            self.voided: set[str] = set()
            self.aging_on: dict[int, dict[str, dict[str, int]]] = {}  # day -> at its last block
            self.settled: list[dict[str, Any]] = []
            self.state = self.replica_state = b""
            self._restart()

        def _restart(self) -> None:
            restorable = {s.name for s in self.c.app.tables() if s.restore}
            self.replica = ExchangeApp()
            self.replica.restore({t: list(rows.values()) for t, rows in self.c.store.items()
                                  if t in restorable})

        def _run(self, *records: Record, step_ms: int = 1000) -> list[str]:
            codes = self.c.block(*records, step_ms=step_ms)
            mine = self.replica.execute(self.c.blocks[-1][0], list(records))
            self.replica.commit()
            self.state = next_state(self.state, self.c.last.changes)
            self.replica_state = next_state(self.replica_state, mine.changes)
            assert self.state == self.replica_state and mine.codes == codes
            self.aging_on[self.c.time_ms // self.c.DAY] = lots_aging(self.c.store)
            return codes

        @rule(p=st.sampled_from(sorted(ISSUER)), who=st.integers(0, 2),
              amount=st.integers(1, 3000))
        def issue(self, p: str, who: int, amount: int) -> None:
            record = self.c.rec(R.issue, self.keys[p], p, self.customers[who].public_hex,
                                amount, "receipt")
            if self._run(record) == ["ok"] and WINDOW[p]:
                day = (self.c.time_ms // self.c.DAY) + WINDOW[p] + 1
                self.issues.append((record, p, day * self.c.DAY))

        @rule(pick=st.integers(0, 50), signer=st.sampled_from(("issuer", "other", "customer")))
        def void(self, pick: int, signer: str) -> None:
            if not self.issues:
                return
            record, p, vests_ms = self.issues[pick % len(self.issues)]
            key = {"issuer": self.keys[p], "customer": self.customers[0],
                   "other": self.keys["bp" if p != "bp" else "vk"]}[signer]
            void = self.c.rec(R.void_issue, key, record.id, "refund")
            now = self.c.time_ms + 1000
            if now >= vests_ms:
                expected = C.ISSUE_NOT_PENDING
            elif signer != "issuer":
                expected = C.VOID_NOT_OWN
            elif record.id in self.voided:
                expected = C.ISSUE_ALREADY_VOIDED
            else:
                expected = "ok"
            assert self._run(void) == [expected]
            if expected == "ok":
                self.voided.add(record.id)

        @rule(p=st.sampled_from(sorted(ISSUER)), who=st.integers(0, 2),
              kind=st.sampled_from(("redeem", "swap", "transfer")),
              percent=st.sampled_from((10, 50, 100)))
        def spend(self, p: str, who: int, kind: str, percent: int) -> None:
            customer = self.customers[who]
            amount = self.c.balance(customer, p) * percent // 100
            if amount <= 0:
                return
            get = "bp" if p != "bp" else "vk"
            record = {"redeem": lambda: self.c.rec(R.redeem, customer, p, amount, "order"),
                      "swap": lambda: self.c.rec(R.swap, customer, p, amount, get, 1,
                                                 self._version(p), self._version(get)),
                      "transfer": lambda: self.c.rec(
                          R.transfer, customer, p, self.customers[(who + 1) % 3].public_hex,
                          amount)}[kind]()
            self._run(record)

        @rule(pick=st.integers(0, 5), percent=st.sampled_from((30, 100, 101, 200)))
        def settle(self, pick: int, percent: int) -> None:
            # A debtor pays a creditor (not always its own creditor: netted payments too);
            # when nobody owes anything yet, a Burger Palace swap into VK makes a debt first.
            nets = {m: pos.net for m, pos in self.c.app.view.positions.items()}
            if not any(net <= -10_000 for net in nets.values()):
                who = self.customers[2]
                self._run(self.c.rec(R.issue, self.keys["bp"], "bp", who.public_hex, 500, "r"))
                assert self._run(self.c.rec(R.swap, who, "bp", 500, "vk", 1, self._version(
                    "bp"), self._version("vk"))) == ["ok"]
                nets = {m: pos.net for m, pos in self.c.app.view.positions.items()}
            debtors = sorted(m for m, net in nets.items() if net < 0)
            creditors = sorted(m for m, net in nets.items() if net > 0)
            payer, payee = debtors[pick % len(debtors)], creditors[pick % len(creditors)]
            most = min(-nets[payer], nets[payee]) // 10_000
            fen = max(1, most * percent // 100)
            key = {m: self.keys[p] for p, m in ISSUER.items()}
            record = self.c.rec(R.settle, [key[payer], key[payee]], payer, payee, fen, "paid")
            code = "ok" if fen <= most else C.SETTLE_EXCEEDS_POSITION
            assert self._run(record) == [code]
            if code == "ok":
                ctx = self.c.blocks[-1][0]
                self.settled.append({"height": ctx.height, "record": record.id,
                                     "day": ctx.time_ms // self.c.DAY, "payer": payer,
                                     "payee": payee, "amount_fen": fen})

        def _version(self, p: str) -> int:
            return int(self.c.program(p)["rate_version"])

        @rule(p=st.sampled_from(sorted(ISSUER)), rate=st.sampled_from((10, 50, 100, 200)))
        def post_rate(self, p: str, rate: int) -> None:
            self._run(self.c.rec(R.post_rate, self.keys[p], p, rate))

        @rule(step=st.sampled_from(STEPS), restart=st.booleans())
        def wait(self, step: int, restart: bool) -> None:
            self._run(step_ms=step)
            if restart:
                self._restart()

        @invariant()
        def conserved_with_pending_and_voided(self) -> None:
            sums: dict[str, int] = defaultdict(int)
            for row in self.c.store.get("x_balances", {}).values():
                sums[row["program"]] += row["balance"]
            held: dict[str, int] = defaultdict(int)
            for row in self.c.store.get("x_pending", {}).values():
                if not row["void_record"]:
                    held[row["program"]] += row["amount"]
            for row in self.c.store["x_programs"].values():
                code = row["code"]
                assert sums[code] == row["supply"] and held[code] == row["pending"]
                assert row["supply"] + row["pending"] == (
                    row["issued"] - row["voided"] - row["redeemed"] - row["swapped_out"]
                    + row["swapped_in"] - row["expired"])
            assert self.c.app.audit() == []

        @invariant()
        def pending_points_are_never_spendable(self) -> None:
            app = self.c.app
            for who, customer in enumerate(self.customers):
                for p in ISSUER:
                    one_more = self.c.balance(customer, p) + 1
                    get = "bp" if p != "bp" else "vk"
                    other = self.customers[(who + 1) % 3].public_hex
                    for build, args in ((R.redeem, (p, one_more, "o")),
                                        (R.swap, (p, one_more, get, 0, self._version(p),
                                                  self._version(get))),
                                        (R.transfer, (p, other, one_more))):
                        if build is R.transfer and p == "bp":
                            continue  # bp is not transferable at all
                        record = self.c.rec(build, customer, *args)
                        assert app.check(record) == C.INSUFFICIENT_BALANCE

        @invariant()
        def statements_tie_out_and_chain(self) -> None:
            view = self.c.app.view
            today = self.c.time_ms // self.c.DAY
            cuts = sorted({today - 30, today - 11, today - 3, today, today + 1})
            for p, merchant in ISSUER.items():
                previous = None
                for first, end in pairwise(cuts):
                    books = issuer_rollforward(view, merchant, first, end)
                    for unit in ("points", "yuan"):
                        fig = books[unit]
                        moved = sum(sign * fig[name] for name, sign in FLOWS)
                        moved += fig.get("revaluation", 0)
                        assert fig["closing"] == fig["opening"] + moved
                        assert set(FIELDS) <= set(fig)
                        assert 0 <= fig["pending"] <= fig["closing"]
                    if previous is not None:
                        assert books["points"]["opening"] == previous["points"]["closing"]
                        assert books["yuan"]["opening"] == previous["yuan"]["closing"]
                    previous = books
                    self._aging_and_settlements(merchant, first, end)
                program = self.c.program(p)
                assert previous is not None
                assert previous["points"]["closing"] == program["supply"] + program["pending"]
                assert previous["points"]["pending"] == program["pending"]

        def _aging_and_settlements(self, merchant: str, first: int, end: int) -> None:
            found = issuer_statement(self.c.app.view, merchant, first, end)
            assert found is not None
            closed = [day for day in self.aging_on if day < end]
            expected = self.aging_on[max(closed)][merchant] if closed else {}
            assert {b["expires"]: b["points"] for b in found["aging"]} == expected
            assert sum(b["points"] for b in found["aging"]) == found["points"]["closing"]
            assert sum(b["value_micro"] for b in found["aging"]) == found["micro"]["closing"]
            listed = found["settlements"]["payments"]
            made = [s for s in self.settled if merchant in (s["payer"], s["payee"])
                    and first <= s["day"] < end]
            assert [{k: row[k] for k in ("height", "record", "payer", "payee", "amount_fen")}
                    for row in listed] == [{k: s[k] for k in ("height", "record", "payer",
                                                              "payee", "amount_fen")}
                                           for s in made]
            assert found["settlements"]["count"] == len(made)
            assert not found["settlements"]["truncated"]
            for row in listed:
                assert row["cleared_micro"] + row["netted_micro"] == row["amount_fen"] * 10_000
                assert 0 <= row["cleared_micro"] <= max(0, row["owed_before_micro"])
            for other in found["obligations"]:
                them = other["counterparty"]
                paid = sum(r["amount_fen"] for r in listed if r["payee"] == them)
                received = sum(r["amount_fen"] for r in listed if r["payer"] == them)
                assert (other["paid_micro"], other["received_micro"]) == (
                    paid * 10_000, received * 10_000)

    return Refunds


def test_random_refund_histories_keep_the_books(new_chain: Any) -> None:
    run_state_machine_as_test(machine(new_chain), settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
