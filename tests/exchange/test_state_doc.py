"""docs/STATE.md is the exchange's state commitment byte for byte: held to the code here.

The table sections must match ``exchange.state.tables.SPECS`` (names, keys, columns in order, types,
append-only or not); every record type and every history and event kind the code can write
must be documented; and the worked example recomputes, both from the quoted changes alone and
by running its chain through the exchange.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from exchange import records as R
from exchange.app import ExchangeApp
from exchange.genesis import app_genesis
from exchange.limits import day_ms
from exchange.registry import TYPES
from exchange.state.tables import SPECS
from ledger.application import (
    BlockContext,
    Change,
    ValidatorInfo,
    changes_digest,
    next_state,
    ordered_changes,
)
from ledger.chain.genesis import Genesis
from ledger.crypto.keys import SigningKey
from ledger.wire.record import sign_body

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "STATE.md").read_text(encoding="utf-8")
TYPE_WORDS = {int: "integer", str: "string"}


def section(number: int) -> str:
    """The text of ``## <number>.`` up to the next ``## `` heading."""
    found = re.search(rf"^## {number}\. .*?(?=^## |\Z)", DOC, re.M | re.S)
    assert found, f"STATE.md has no section {number}"
    return found.group(0)


def documented_tables() -> dict[str, dict[str, Any]]:
    """Each ``### `x_...``` table of section 2: key, columns with types, append-only."""
    out: dict[str, dict[str, Any]] = {}
    for block in re.split(r"^(?=### )", section(2), flags=re.M)[1:]:
        head = re.match(r"### `(x_\w+)`( \(append-only\))?\n", block)
        assert head, f"malformed table heading: {block.splitlines()[0]}"
        key = re.search(r"^Key: `([^`]+)`", block, re.M)
        assert key, f"{head.group(1)} has no Key line"
        rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (integer|string)( or null)? \|", block, re.M)
        out[head.group(1)] = {
            "key": tuple(k.strip() for k in key.group(1).split(",")),
            "numbers": [int(n) for n, *_ in rows],
            "columns": [(name, kind) for _, name, kind, _ in rows],
            "append_only": head.group(2) is not None,
        }
    return out


def test_every_table_is_documented_with_its_key_columns_and_types() -> None:
    documented = documented_tables()
    assert sorted(documented) == sorted(spec.name for spec in SPECS)
    for spec in SPECS:
        doc = documented[spec.name]
        assert doc["key"] == spec.pk, spec.name
        assert doc["numbers"] == list(range(1, len(spec.columns) + 1)), spec.name
        assert doc["columns"] == [(name, TYPE_WORDS[kind]) for name, kind in
                                  spec.columns.items()], spec.name
        assert doc["append_only"] is (not spec.restore), spec.name


def test_every_record_type_has_its_rows_documented() -> None:
    documented = set(re.findall(r"^### `([a-z_.]+)`$", section(5), re.M))
    assert documented == set(TYPES)


def _module_strings(tree: ast.Module) -> dict[str, str]:
    return {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)}


def _literal(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    return None


# call name -> position of the kind argument (history: exchange.rules.holdings and Env.history;
# events: Env.event and the governance helper that calls it)
HISTORY_CALLS = {"credit": 5, "debit": 5, "credit_lots": 6, "history": 2}
EVENT_CALLS = {"event": 0, "_set_member_status": 4}


def emitted_kinds() -> tuple[set[str], set[str]]:
    """Every history and event kind a literal (or module constant) in exchange/ passes."""
    history: set[str] = set()
    events: set[str] = set()
    for path in sorted((ROOT / "exchange").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _module_strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "_MERCHANT_EVENTS"
                    for t in node.targets):
                assert isinstance(node.value, ast.Dict)
                events.update(v.value for v in node.value.values if isinstance(v, ast.Constant))
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            for calls, found in ((HISTORY_CALLS, history), (EVENT_CALLS, events)):
                at = calls.get(name)
                if at is not None and len(node.args) > at:
                    kind = _literal(node.args[at], names)
                    if kind is not None:
                        found.add(kind)
    return history, events


def test_every_history_and_event_kind_the_code_writes_is_documented() -> None:
    history, events = emitted_kinds()
    # the walk finds them (a sanity floor: a broken walk must not pass by finding nothing)
    assert {"issue", "vest", "expire", "swap_in"} <= history
    assert {"member_admitted", "merchant_suspended", "member_suspended",
            "merchant_lapsed"} <= events
    assert history == set(re.findall(r"^\| `(\w+)` \|", section(6), re.M))
    assert events == set(re.findall(r"^\| `(\w+)` \|", section(7), re.M))


def quoted_example() -> tuple[bytes, list[Change], bytes, bytes]:
    """(state_3, changes, changes digest, state_4) as section 8 quotes them."""
    text = section(8)
    state_3 = re.search(r"^state_3 += ([0-9a-f]{64})$", text, re.M)
    digest = re.search(r"^changes_digest = .* = ([0-9a-f]{64})$", text, re.M)
    state_4 = re.search(r"^state_4 += .* = ([0-9a-f]{64})$", text, re.M)
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert state_3 and digest and state_4 and block
    changes = [Change(t, tuple(k), None if r is None else tuple(r))
               for t, k, r in map(json.loads, block.group(1).splitlines())]
    return (bytes.fromhex(state_3.group(1)), changes, bytes.fromhex(digest.group(1)),
            bytes.fromhex(state_4.group(1)))


def test_worked_example_recomputes_from_the_quoted_changes() -> None:
    state_3, changes, digest, state_4 = quoted_example()
    assert ordered_changes(changes) == changes  # quoted in the hashed order
    assert changes_digest(changes) == digest
    assert next_state(state_3, changes) == state_4


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


def test_worked_example_is_what_the_exchange_writes() -> None:
    chain, t0 = "state-example", 19_700 * day_ms
    member, validator, vk = _key("member-0"), _key("validator-0"), _key("village-kitchen")
    customer = _key("alice").public_hex
    app_section = app_genesis(
        [{"id": "m0", "name": "Member 0", "key": member.public_hex,
          "validator_key": validator.public_hex}],
        {"name": "District Regulator", "key": _key("regulator").public_hex}, {})
    genesis = Genesis(chain, t0, (ValidatorInfo("m0", validator.public_hex),), app=app_section)
    app = ExchangeApp()
    state = next_state(genesis.hash, app.init_chain(chain, t0, app_section).changes)
    until = t0 + day_ms
    blocks = [
        sign_body(R.apply_merchant(chain, vk.public_hex, 1, "village-kitchen",
                                   "Village Kitchen", expires=until), [vk]),
        sign_body(R.admit_merchant(chain, [member.public_hex], 1, "village-kitchen",
                                   expires=until), [member]),
        sign_body(R.create_program(chain, vk.public_hex, 2, "village-kitchen", "vk",
                                   "Village points", 100, 30, 10**9, expires=until), [vk]),
        sign_body(R.issue(chain, vk.public_hex, 3, "vk", customer, 500, "receipt-1",
                          expires=until), [vk]),
    ]
    previous, changes = state, []
    for height, record in enumerate(blocks, 1):
        execution = app.execute(BlockContext(chain, height, t0 + height * 1000), [record])
        assert execution.codes == ["ok"]
        app.commit()
        previous, changes = state, ordered_changes(execution.changes)
        state = next_state(state, changes)
    state_3, quoted, _, state_4 = quoted_example()
    assert blocks[-1].id in section(8)
    assert (previous, changes, state) == (state_3, quoted, state_4)


@pytest.mark.parametrize("name", ["PROTOCOL.md", "ARCHITECTURE.md"])
def test_protocol_docs_link_the_state_document(name: str) -> None:
    assert "STATE.md" in (ROOT / "docs" / name).read_text(encoding="utf-8")
