"""What the explorer tests share: a demo chain served in-process (per module, as before the
split), the pages of every kind, and a strict HTML5 check. Imported by the ``test_explorer*``
modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest
from fastapi.testclient import TestClient

from api.demo.build import build_demo
from api.node.runtime import Node
from api.server.app import create_app
from api.server.serving import open_exchange_node


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explorer") / "demo"
    build_demo(path, seed=7, customers=60, days=7)
    return path


@pytest.fixture(scope="module")
def node(demo_dir: Path) -> Iterator[Node]:
    opened = open_exchange_node(demo_dir, produce=False)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def http(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as client:
        yield client


@pytest.fixture(scope="module")
def sample(node: Node) -> dict[str, Any]:
    """Subjects for every kind of page, taken from the demo chain."""
    conn = node.replica.store.thread_reader()
    swap = conn.execute("SELECT height, idx, record, holder, give, get FROM x_swaps "
                        "ORDER BY height LIMIT 1").fetchone()
    height, block_hash = conn.execute("SELECT height, hash FROM blocks WHERE height = ?",
                                      (swap[0],)).fetchone()
    settle = conn.execute("SELECT id FROM records WHERE type = 'exchange.settle'").fetchone()
    return {"height": height, "hash": block_hash, "swap": swap[2], "account": swap[3],
            "give": swap[4], "get": swap[5], "settle": settle[0],
            "merchant": "village-kitchen", "program": "vk"}


def pages(s: dict[str, Any]) -> list[str]:
    return ["/", "/blocks", f"/blocks/{s['height']}", "/records", f"/records/{s['swap']}",
            f"/records/{s['settle']}", f"/accounts/{s['account']}", "/programs",
            f"/programs/{s['program']}", f"/merchants/{s['merchant']}", "/rates", "/alliance",
            "/settlement", "/search?q=coffee", "/search"]


def assert_valid_html5(text: str, url: str) -> None:
    """Strict HTML5 parse (any parse error fails), plus the rules a parser does not check."""
    assert text.startswith("<!DOCTYPE html>"), url
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        root = parser.parse(text)
    except html5lib.html5parser.ParseError as exc:
        line = text.splitlines()[parser.errors[0][0][0] - 1] if parser.errors else ""
        raise AssertionError(f"{url}: {exc}\n{line[:200]}") from exc
    assert root.get("lang"), url
    assert root.find("head/meta[@charset]") is not None, url
    assert (root.findtext("head/title") or "").strip(), url
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), f"{url}: duplicate ids {sorted(ids)}"
    for img in root.iter("img"):
        assert img.get("alt") is not None, url
    for svg in root.iter("svg"):
        assert svg.get("role") == "img" and svg.get("aria-labelledby"), url
    labelled = {e.get("for") for e in root.iter("label")}
    for field in root.iter("input"):
        assert field.get("id") in labelled or field.get("aria-label"), url
    assert not re.search(r'(src|href)="(https?:)?//', text), f"{url} loads from outside"
