"""Missing conformance vectors: skipped on a developer's machine, a failure under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .vectors import absent, missing, vectors_required

NOWHERE = Path("/nonexistent/shared/vectors")


@pytest.mark.parametrize("ci", ["", "false", "1"])
def test_without_ci_missing_vectors_skip_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                                         ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert not vectors_required()
    [param] = absent("jcs", NOWHERE)
    assert param.id == "jcs-absent" and param.values == (None,)
    [mark] = param.marks
    assert mark.name == "skip" and str(NOWHERE) in mark.kwargs["reason"]
    with pytest.raises(pytest.skip.Exception):
        missing("jcs", NOWHERE)


@pytest.mark.parametrize("ci", ["true", "TRUE", " true "])
def test_under_ci_missing_vectors_fail_the_run(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert vectors_required()
    for call in (absent, missing):
        with pytest.raises(pytest.fail.Exception, match="CI=true and jcs not found"):
            call("jcs", NOWHERE)


def test_a_vector_module_fails_collection_under_ci_when_its_vectors_are_gone(
        tmp_path: Path) -> None:
    """End to end, in a child pytest: with CI=true the run fails, without it the case skips."""
    (tmp_path / "test_probe.py").write_text(
        "import sys\nimport pathlib\nimport pytest\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from vectors import absent\n"
        "@pytest.mark.parametrize('case', absent('probe', pathlib.Path('/none')))\n"
        "def test_probe(case):\n    pass\n")

    def run(ci: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-c", os.devnull, str(tmp_path)], capture_output=True, text=True,
                              env={**os.environ, "CI": ci, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                              cwd=tmp_path, timeout=60)

    failed = run("true")
    assert failed.returncode != 0 and "CI=true and probe not found at /none" in failed.stdout
    skipped = run("")
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
