"""Where the third-party conformance vectors live, and what their absence means.

The vectors (RFC 8032 and Wycheproof Ed25519, RFC 8785 JCS, transparency-dev Merkle) sit in
``../shared/vectors`` beside the checkout. On a developer's machine without them the vector
tests are skipped, each with the reason; under CI (``CI=true``) their absence fails the run,
so a CI job that lost its vectors cannot pass green.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def vectors_required() -> bool:
    """True under CI (``CI=true``), where missing vectors are a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


def missing(what: str, path: Path) -> None:
    """Vectors ``what`` are not at ``path``: skip the caller, or under CI fail it."""
    reason = f"{what} not found at {path} (clone ../shared beside the repo)"
    if vectors_required():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def absent(what: str, path: Path) -> list[Any]:
    """The parameters of a vector test whose vectors are not at ``path``: one case, skipped
    with the reason; under CI, collecting the module fails instead."""
    try:
        missing(what, path)
    except pytest.skip.Exception as skipped:
        return [pytest.param(None, id=f"{what}-absent", marks=pytest.mark.skip(reason=skipped.msg))]
    raise AssertionError("missing() neither skipped nor failed")  # pragma: no cover
