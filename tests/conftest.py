"""Shared fixtures: where the third-party conformance vectors live."""

from __future__ import annotations

from pathlib import Path

import pytest

VECTORS_DIR = Path(__file__).resolve().parents[2] / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The ../shared/vectors folder beside the checkout; skips the test when it is absent."""
    if not VECTORS_DIR.is_dir():
        pytest.skip(f"conformance vectors not found at {VECTORS_DIR} "
                    "(clone ../shared beside the repo)")
    return VECTORS_DIR
