"""The docs keep up with the code: every endpoint and command is documented, and the
Python example of docs/API.md runs against a real node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from api.cli.root import app as cli_app
from api.node.runtime import Node
from api.server.app import create_app

from .serving import served

REPO = Path(__file__).resolve().parents[2]
DOCS = {p.name: p.read_text() for p in (REPO / "docs").glob("*.md")}
README = (REPO / "README.md").read_text() if (REPO / "README.md").exists() else ""


def test_every_api_endpoint_is_in_the_api_guide(counter_node: Node) -> None:
    schema = create_app(counter_node).openapi()
    missing = [f"{method.upper()} {path}" for path, ops in schema["paths"].items()
               for method in ops if f"`{method.upper()} {path}`" not in DOCS["API.md"]]
    assert not missing, f"undocumented in docs/API.md: {missing}"


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_command(group)
    names = []
    for name, command in click_group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        if sub:
            names += [f"{prefix}{name} {s}" for s in sub]
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_documented() -> None:
    text = README + "".join(DOCS.values())
    missing = [c for c in _commands(cli_app) if f"jifentong {c}" not in text]
    assert not missing, f"commands no doc mentions: {missing}"


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


@pytest.mark.slow
def test_the_api_guide_example_runs(tmp_path: Path) -> None:
    from api.demo.build import build_demo

    data = tmp_path / "district"
    build_demo(data, seed=7, customers=30, days=2)
    with served(data) as url:
        env = {**os.environ, "PYTHONPATH": str(REPO), "JIFENTONG_NODE": url,
               "JIFENTONG_DATA": str(data)}
        [example] = _python_blocks(DOCS["API.md"])
        done = subprocess.run([sys.executable, "-c", example], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "committed in block" in done.stdout
        assert "8000 BP for 800 VK" in done.stdout
