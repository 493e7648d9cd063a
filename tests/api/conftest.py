"""Fixtures for API tests: a node over the counter application, served in-process; the tamper
suite's extended demo alliance (built once a session) and a fresh copy of it per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.demo.build import build_demo
from api.node.datadir import create_data_dir
from api.node.runtime import Node
from api.server.app import create_app
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis
from ledger.consensus.clock import ManualClock
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from tests.api.tamper_kit import extend, verify

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def validator_keys() -> list[SigningKey]:
    return [SigningKey.from_seed(bytes([i + 1]) * 32) for i in range(4)]


@pytest.fixture
def counter_node(tmp_path: Path, validator_keys: list[SigningKey]) -> Iterator[Node]:
    genesis = Genesis("counter-test", T0, tuple(ValidatorInfo(f"validator-{i}", k.public_hex)
                                                for i, k in enumerate(validator_keys)))
    data = create_data_dir(tmp_path / "data", genesis, validator_keys)
    node = Node(data, CounterApp, clock=ManualClock(T0, step_ms=1), produce=False)
    yield node
    node.close()


@pytest.fixture
def counter_http(counter_node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(counter_node, explorer=False)) as client:
        yield client


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify") / "demo"
    build_demo(path, seed=7, customers=12, days=8)
    extend(path)
    report = verify(path)
    assert report.valid, report.failure
    return path


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "data"))
