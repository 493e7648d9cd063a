"""docs/ECONOMICS.md documents every result code (in check order), record type and table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from exchange import codes, records
from exchange.registry import REGISTRY, TYPES
from exchange.state.tables import SPECS

DOC = Path(__file__).resolve().parents[2] / "docs" / "ECONOMICS.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_code_is_documented_in_check_order(doc: str) -> None:
    """The Code enum's order and meanings are ECONOMICS.md's numbered table, row for row."""
    rows = re.findall(r"^\| (\d+) \| `([a-z_]+)` \| (.+) \|$", doc, re.MULTILINE)
    assert [int(n) for n, _, _ in rows] == list(range(1, len(codes.Code) + 1))
    assert [(code, meaning) for _, code, meaning in rows] == [
        (code.value, code.meaning) for code in codes.Code]
    assert tuple((c.value, c.meaning) for c in codes.Code) == codes.REJECTIONS
    assert list(codes.CODES) == [c.value for c in codes.Code]


def test_code_constants_are_the_listed_codes() -> None:
    """Each member has a module constant of its name: the plain string, equal to it."""
    constants = {k: v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str)}
    assert set(constants) - {"OK"} == {code.name for code in codes.Code}
    for code in codes.Code:
        assert type(constants[code.name]) is str and constants[code.name] == code
    assert len(codes.CODES) == len(set(codes.CODES))


def test_every_record_type_is_declared_once_with_builder_payload_and_handler() -> None:
    """The registry is the one list of types: each entry is complete and names its builder."""
    assert list(REGISTRY) == list(TYPES) and len(set(TYPES)) == len(TYPES)
    declared = {v for k, v in vars(records).items() if k.isupper() and isinstance(v, str)}
    assert declared == set(TYPES)  # no type constant left out of the registry
    for name, entry in REGISTRY.items():
        assert entry.name == name
        assert entry.builder is getattr(records, name.split(".")[1])
        assert callable(entry.handler) and entry.payload
        assert all(isinstance(field, str) for field, _ in entry.payload)


def test_every_record_type_has_a_documented_payload(doc: str) -> None:
    for type_, entry in REGISTRY.items():
        row = re.search(rf"^\| `{re.escape(type_)}` \| [^|]+ \| (.+) \|$", doc, re.MULTILINE)
        assert row, f"{type_} is not in the record table"
        documented = re.findall(r"`([a-z_]+)`", row.group(1))
        fields = [name for name, _ in entry.payload]
        assert set(fields) <= set(documented), type_


def test_every_table_is_documented(doc: str) -> None:
    for spec in SPECS:
        assert f"| `{spec.name}` |" in doc
        assert spec.name.startswith("x_")
        assert set(spec.columns.values()) <= {int, str}


REQUIREMENTS = DOC.parent / "REQUIREMENTS.md"
TESTS = DOC.parents[1] / "tests"


def _test_names(*paths: Path) -> set[str]:
    names: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return names


@pytest.mark.parametrize(("suite", "paths"), [
    ("exchange", sorted((TESTS / "exchange").glob("test_*.py"))),
    ("counter", [TESTS / "ledger" / "test_counter_app.py"]),
])
def test_every_app_requirement_is_named_by_a_test(suite: str, paths: list[Path]) -> None:
    """Each APP-n of docs/REQUIREMENTS.md has a ``test_app<n>_...`` holding the exchange (and
    the reference counter application) to it."""
    ids = re.findall(r"^\| APP-(\d+) \|", REQUIREMENTS.read_text(encoding="utf-8"), re.MULTILINE)
    assert ids == [str(n) for n in range(1, len(ids) + 1)] and ids
    names = _test_names(*paths)
    missing = [f"APP-{n}" for n in ids if not any(t.startswith(f"test_app{n}_") for t in names)]
    assert not missing, f"{suite}: no test names {missing}"
