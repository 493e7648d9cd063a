"""The ``verify`` command (issue 5): exit 0 on a valid data dir, 1 on a tampered one with the
node file, table and values named, 2 when it cannot read its source or is misused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli.root import app as cli_app

# -- the command ------------------------------------------------------------------------------

runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(cli_app, ["verify", *args, "--workers", "0"])


def test_the_command_exits_0_valid_and_1_invalid(data: Path, tmp_path: Path) -> None:
    saved = tmp_path / "checkpoint.json"
    result = cli(str(data), "--json", "--save-checkpoint", str(saved))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["valid"] and summary["failure"] is None
    assert summary["programs"] == 7 and summary["blocks"] == summary["height"] > 20
    # every block's invariants (checked as it executes), and the whole-state audits
    assert summary["invariants_checked"] > summary["blocks_replayed"] == summary["height"]
    assert json.loads(saved.read_text())["tree_size"] == summary["height"]
    assert cli(str(data), "--checkpoint", str(saved)).exit_code == 0
    with sqlite3.connect(data / "node-2.sqlite") as conn:
        conn.execute("UPDATE x_programs SET supply = supply + 1 WHERE code = "
                     "(SELECT MIN(code) FROM x_programs)")
    result = cli(str(data))
    assert result.exit_code == 1
    assert "INVALID" in result.stdout and "x_programs" in result.stdout
    assert "node-2.sqlite" in result.stdout and "expected" in result.stdout
    failure = json.loads(cli(str(data), "--json").stdout)["failure"]
    assert (failure["what"], failure["table"]) == ("row_mismatch", "x_programs")


@pytest.mark.parametrize("args", [
    ["no/such/dir"], ["."], ["http://127.0.0.1:9"], ["{data}", "--from", "5", "--to", "2"],
    ["{data}", "--checkpoint", "no/such/file.json"], ["{data}", "--app", "chess"],
])
def test_the_command_exits_2_when_it_cannot_read_or_is_misused(data: Path,
                                                                args: list[str]) -> None:
    result = cli(*(a.format(data=data) for a in args))
    assert result.exit_code == 2, result.output
