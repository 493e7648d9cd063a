"""Outsiders can't fill the alliance: applications are bounded, lapse, and can be rejected."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.limits import applications_max
from exchange.registry import TYPES
from ledger.crypto.keys import SigningKey

Chain = Any  # the conftest driver


def _outsider(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"outsider-{n}".encode()).digest())


def _flood(c: Chain, count: int) -> list[str]:
    """``count`` applications from fresh keys, in one block: their codes."""
    return c.block(*[c.rec(R.apply_merchant, _outsider(n), f"spam-{n}", f"Spam {n}")
                     for n in range(count)])


def test_a_flood_of_applications_stops_at_the_bound_and_the_chain_goes_on(alliance: Chain
                                                                          ) -> None:
    c = alliance
    codes = _flood(c, applications_max + 3)
    assert codes[:applications_max] == ["ok"] * applications_max
    assert codes[applications_max:] == ["too_many_applications"] * 3
    height = c.height
    honest = c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")
    assert c.one(honest) == "too_many_applications"
    assert c.height == height + 1  # refused, and the chain advanced
    assert len(c.rows("x_applications")) == applications_max
    # Admitted merchants are not crowded out: the flood never counts against them.
    assert [r["id"] for r in c.rows("x_merchants") if r["status"] == "active"] == [
        "burger-palace", "village-kitchen"]


def test_applications_lapse_and_the_honest_applicant_then_gets_in(alliance: Chain) -> None:
    c = alliance
    ttl = c.app.params.application_ttl_ms
    _flood(c, applications_max)
    flooded = c.time_ms
    before = c.snapshot()
    assert c.block(at=flooded + ttl - 1) == []  # one millisecond early: nothing lapses
    assert c.snapshot()["x_merchants"] == before["x_merchants"]
    assert c.block(at=flooded + ttl) == []
    assert c.rows("x_applications") == []
    assert {r["id"] for r in c.rows("x_merchants")} == {"burger-palace", "village-kitchen"}
    assert not any(r["owner"].startswith("spam-") for r in c.rows("x_keys"))
    lapsed = [r for r in c.rows("x_events") if r["kind"] == "merchant_lapsed"]
    assert len(lapsed) == applications_max and {r["idx"] for r in lapsed} == {-1}
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.vote(R.admit_merchant, "noodle-shop") == "ok"
    assert c.rows("x_applications") == []  # admission ends the application's clock
    assert c.block(at=c.time_ms + 2 * ttl) == []
    assert c.store["x_merchants"][("noodle-shop",)]["status"] == "active"


def test_a_lapsed_application_frees_its_id_and_key(chain: Chain) -> None:
    c = chain
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    assert c.block(at=c.time_ms + c.app.params.application_ttl_ms) == []
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"


def test_members_reject_an_application_by_vote(alliance: Chain) -> None:
    c = alliance
    squatter = _outsider(0)
    assert c.one(c.rec(R.apply_merchant, squatter, "noodle-shop", "Noodle Shop")) == "ok"
    before = c.snapshot()
    two = c.rec(R.reject_merchant, c.members[:2], "noodle-shop", "not the real shop")
    assert c.one(two) == "threshold_not_met"
    assert c.one(c.rec(R.reject_merchant, [squatter], "noodle-shop", "")) == "signers_not_members"
    assert c.snapshot() == before
    assert c.vote(R.reject_merchant, "noodle-shop", "not the real shop") == "ok"
    assert "noodle-shop" not in {r["id"] for r in c.rows("x_merchants")}
    assert c.rows("x_applications") == []
    assert squatter.public_hex not in {r["pubkey"] for r in c.rows("x_keys")}
    event = [r for r in c.rows("x_events") if r["kind"] == "merchant_rejected"]
    assert [(e["subject"], e["detail"]) for e in event] == [("noodle-shop",
                                                             "not the real shop")]
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"


def test_only_a_pending_application_can_be_rejected(alliance: Chain) -> None:
    c = alliance
    assert c.vote(R.reject_merchant, "village-kitchen", "x") == "status_invalid"
    assert c.vote(R.reject_merchant, "nobody", "x") == "merchant_unknown"
    assert c.vote(R.reject_merchant, "village-kitchen", "\x1b[2J") == "payload_malformed"


def test_an_applicant_cannot_rotate_its_key_to_grow_the_key_table(chain: Chain) -> None:
    c = chain
    assert c.one(c.rec(R.apply_merchant, c.ns, "noodle-shop", "Noodle Shop")) == "ok"
    before = c.snapshot()
    rotate = c.rec(R.rotate_key, c.ns, "merchant", "noodle-shop", _outsider(1).public_hex)
    assert c.one(rotate) == "status_invalid"
    assert c.snapshot() == before


def test_application_lifetimes_survive_a_restart(alliance: Chain) -> None:
    c = alliance
    _flood(c, 3)
    restored = ExchangeApp()
    restored.restore({name: list(rows.values()) for name, rows in c.store.items()})
    assert dict(restored.view.applications.base) == dict(c.app.view.applications.base)
    assert restored.params.application_ttl_ms == c.app.params.application_ttl_ms


def test_security_doc_says_what_a_key_with_no_role_gets_from_every_record_type() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md").read_text()
    section = doc.split("## What a key with no role can send", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(?:alliance|exchange)\.([a-z_]+)`|, `([a-z_]+)`", section))
    names = {a or b for a, b in named}
    assert {t.split(".", 1)[1] for t in TYPES} <= names
