"""The `jifentong` command as a person uses it: helpful errors, stable exit codes, and the
README's five-minute tour run line by line against a served demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.root import app

from .serving import free_port, served

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_keys_new_and_show_with_a_passphrase(tmp_path: Path) -> None:
    env = {"JIFENTONG_HOME": str(tmp_path), "SECRET": "correct horse"}
    made = runner.invoke(app, ["keys", "new", "alice", "--passphrase-env", "SECRET", "--json"],
                         env=env)
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert (tmp_path / "keys" / "alice.pem").read_bytes().startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY")
    shown = runner.invoke(app, ["keys", "show", "alice", "--passphrase-env", "SECRET", "--json"],
                          env=env)
    assert json.loads(shown.output)["public_key"] == info["public_key"]
    wrong = runner.invoke(app, ["keys", "show", "alice"], env={**env,
                                                               "JIFENTONG_PASSPHRASE": "nope"})
    assert wrong.exit_code == 2 and "passphrase is wrong" in wrong.output
    again = runner.invoke(app, ["keys", "new", "alice", "--passphrase-env", "SECRET"], env=env)
    assert again.exit_code == 2 and "exists already" in again.output


def test_keys_new_refuses_an_empty_passphrase_unless_plaintext_is_asked_for(
        tmp_path: Path) -> None:
    env = {"JIFENTONG_HOME": str(tmp_path), "EMPTY": ""}
    refused = runner.invoke(app, ["keys", "new", "bob", "--passphrase-env", "EMPTY"], env=env)
    assert refused.exit_code == 2 and "empty passphrase" in refused.output
    assert "--insecure-plaintext" in refused.output
    assert not (tmp_path / "keys" / "bob.pem").exists()
    made = runner.invoke(app, ["keys", "new", "bob", "--insecure-plaintext", "--json"],
                         env=env)
    assert made.exit_code == 0, made.output
    assert "NOT encrypted" in made.stderr
    assert json.loads(made.stdout)["name"] == "bob"
    assert (tmp_path / "keys" / "bob.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def test_init_from_the_example_config(tmp_path: Path) -> None:
    done = runner.invoke(app, ["init", str(REPO / "docs/alliance.example.toml"), "--data",
                               str(tmp_path / "d")])
    assert done.exit_code == 0, done.output
    genesis = json.loads((tmp_path / "d/genesis.json").read_text())
    assert genesis["chain"] == "example-district" and len(genesis["validators"]) == 4
    assert len(list((tmp_path / "d/keys").glob("validator-*.pem"))) == 4
    twice = runner.invoke(app, ["init", str(REPO / "docs/alliance.example.toml"), "--data",
                                str(tmp_path / "d")])
    assert twice.exit_code == 2 and "already" in twice.output


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "--data", "/nonexistent/dir"], "not a Jifentong data dir"),
    (["init", "/nonexistent.toml"], "cannot read"),
    (["receipt", "check", "/nonexistent.json"], "cannot read"),
])
def test_mistakes_exit_2_with_a_helpful_message(args: list[str], message: str) -> None:
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert message in done.output


def test_receipt_check_exits_1_on_a_tampered_receipt(tmp_path: Path, counter_node: object) -> None:
    from ledger.crypto.keys import SigningKey
    from ledger.verify.receipt import build_receipt
    from ledger.wire.record import make_body, sign_body

    node = counter_node
    user = SigningKey.from_seed(b"r" * 32)
    record = sign_body(make_body("counter-test", "counter.add", [user.public_hex], 1,
                                 {"name": "n", "by": 1}, expires=node.record_expires()), [user])
    node.submit(record)  # type: ignore[attr-defined]
    node.produce_now()  # type: ignore[attr-defined]
    receipt = build_receipt(node.replica.store, record.id)  # type: ignore[attr-defined]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(receipt))
    assert runner.invoke(app, ["receipt", "check", str(good)]).exit_code == 0
    receipt["record"]["body"]["payload"]["by"] = 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(receipt))
    done = runner.invoke(app, ["receipt", "check", str(bad), "--json"])
    assert done.exit_code == 1
    assert json.loads(done.output)["valid"] is False


def _tour_lines() -> list[str]:
    readme = (REPO / "README.md").read_text()
    tour = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", tour, flags=re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines()
            if line.strip() and not line.startswith(("#", "source "))]


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    from api.demo.build import build_demo

    build_demo(tmp_path / "jifentong-data", seed=7, customers=30, days=2)
    port = free_port()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "jifentong"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m api \"$@\"\n")
    shim.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(REPO), "JIFENTONG_HOME": str(tmp_path / "home"),
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    with served("jifentong-data", cwd=tmp_path, env=env, port=port):
        script = "set -e\n" + "\n".join(_tour_lines()).replace("8400", str(port))
        script = script.replace("jifentong swap ", "jifentong swap --yes ")
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "valid" in done.stdout and "8,000 bp" in done.stdout.replace("8000", "8,000")
