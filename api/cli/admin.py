"""Alliance commands: ``init`` a data dir from a config, ``governance`` votes, ``demo``."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from api.cli.common import (
    DEFAULT_DATA,
    DEFAULT_PORT,
    DataOpt,
    JsonOpt,
    PassEnv,
    console,
    err,
    fail,
    load_key,
)
from api.cli.ops import DEFAULT_NODE, NodeOpt, call, connect, submit
from api.node.datadir import DataDir, create_data_dir
from exchange import records as rec
from exchange.genesis import app_genesis
from ledger.application import ValidatorInfo
from ledger.chain.genesis import Genesis, LedgerParams
from ledger.crypto.keys import SigningKey, is_public_key_hex
from ledger.errors import LedgerError
from ledger.limits import record_ttl_ms_max_default
from ledger.wire.record import Record, record_from_wire, unsigned

if TYPE_CHECKING:
    from api.demo.simulation import Summary

governance_app = typer.Typer(help="Propose, co-sign and submit member votes.",
                             no_args_is_help=True)
#: Governance actions by CLI name: each builds the vote's body (exchange/records.py).
ACTIONS: dict[str, Callable[..., rec.Body]] = {
    "admit-merchant": rec.admit_merchant, "reject-merchant": rec.reject_merchant,
    "suspend-merchant": rec.suspend_merchant,
    "reinstate-merchant": rec.reinstate_merchant, "suspend-member": rec.suspend_member,
    "reinstate-member": rec.reinstate_member,
}


def genesis_from_config(config: dict[str, Any]) -> tuple[Genesis, list[SigningKey]]:
    """A genesis document and the validator keys to generate, from an alliance config."""
    try:
        members, keys = [], []
        for m in config["members"]:
            validator = SigningKey.generate()
            keys.append(validator)
            members.append({"id": m["id"], "name": m["name"], "key": m["key"],
                            "validator_key": validator.public_hex})
        params = config.get("params", {})
        app_params = {k: params[k] for k in ("member_quorum_percent", "day_offset_ms")
                      if k in params}
        if "rate_notice_days" in params:
            app_params["rate_notice_ms"] = int(params["rate_notice_days"]) * 86_400_000
        section = app_genesis(members, config["regulator"], app_params)
        order = sorted(range(len(members)), key=[m["id"] for m in members].__getitem__)
        genesis = Genesis(
            str(config["chain"]), int(config.get("genesis_time_ms", 0)) or _now_ms(),
            tuple(ValidatorInfo(members[i]["id"], keys[i].public_hex) for i in order),
            LedgerParams(int(params.get("block_records_max", 2000)),
                         int(params.get("block_interval_ms", 500)),
                         int(params.get("record_ttl_ms_max", record_ttl_ms_max_default))),
            section)
        return genesis, [keys[i] for i in order]
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerError(f"alliance config: {exc!r}", code="config_invalid") from exc


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def _load_vote(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        doc = json.loads(path.read_text())
        return doc["body"], dict(doc.get("signatures", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"{path} is not a vote file made by `jifentong governance propose`: {exc}")
        raise


def _save_vote(path: Path, body: dict[str, Any], signatures: dict[str, str]) -> None:
    path.write_text(json.dumps({"body": body, "signatures": signatures}, ensure_ascii=False,
                               indent=2) + "\n")


@governance_app.command("propose")
def propose(action: Annotated[str, typer.Argument(help=" | ".join(ACTIONS))],
            subject: Annotated[str, typer.Argument(help="merchant or member id")],
            signer: Annotated[list[str], typer.Option(
                "--signer", help="public key of each member who will sign (repeat)")],
            out: Annotated[Path, typer.Option(help="vote file to write")],
            node: NodeOpt = DEFAULT_NODE,
            ttl: Annotated[int | None, typer.Option(
                "--ttl", min=1, help="seconds the vote stays valid (default: nine tenths of "
                "the alliance's record_ttl_ms_max, to collect the signatures)")] = None) -> None:
    """Write an unsigned vote for the members to sign in turn; it expires after ``--ttl``."""
    if action not in ACTIONS:
        fail(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if not signer or not all(is_public_key_hex(s) for s in signer):
        fail("--signer takes members' public keys (64 hex digits), at least one")
    client = connect(node)
    genesis = call(client.genesis)["genesis"]
    seq = call(client.last_seq, signer[0]) + 1
    ttl_ms = ttl * 1000 if ttl is not None else genesis["params"]["record_ttl_ms_max"] * 9 // 10
    body = ACTIONS[action](genesis["chain"], signer, seq, subject, expires=_now_ms() + ttl_ms)
    _save_vote(out, body, {})
    console.print(f"vote written to {out}; each signer runs `jifentong governance sign {out} "
                  "--key KEY`, then `jifentong governance submit`")


@governance_app.command("sign")
def sign_vote(path: Path, key: Annotated[str, typer.Option(help="your member key")],
              pass_env: PassEnv = None) -> None:
    """Add your signature to a vote file."""
    body, signatures = _load_vote(path)
    signing = load_key(key, pass_env)
    if signing.public_hex not in body.get("signers", []):
        fail("your key is not among the vote's signers")
    try:
        record = unsigned(body)
    except LedgerError as exc:
        fail(f"the vote's body is malformed: {exc}")
        raise
    signatures[signing.public_hex] = signing.sign(record.id_bytes).hex()
    _save_vote(path, body, signatures)
    missing = [s for s in body["signers"] if s not in signatures]
    console.print(f"signed; {len(missing)} signature(s) still missing")


@governance_app.command("submit")
def submit_vote(path: Path, node: NodeOpt = DEFAULT_NODE, json_out: JsonOpt = False) -> None:
    """Submit a vote once every listed member has signed."""
    body, signatures = _load_vote(path)
    missing = [s[:16] for s in body["signers"] if s not in signatures]
    if missing:
        fail(f"still unsigned by {', '.join(missing)}…")
    try:
        record: Record = record_from_wire({"body": body, "signatures": [
            signatures[s] for s in body["signers"]]})
        record.verify_signatures()
    except LedgerError as exc:
        fail(str(exc))
        raise
    submit(connect(node), record, json_out, None)


def init(config: Annotated[Path, typer.Argument(help="alliance config (TOML)")],
         data: DataOpt = DEFAULT_DATA) -> None:
    """Create a data dir (genesis + validator keys) from an alliance config file."""
    try:
        doc = tomllib.loads(config.read_text())
        genesis, keys = genesis_from_config(doc)
        create_data_dir(data, genesis, keys)
    except OSError as exc:
        fail(f"cannot read {config}: {exc.strerror}")
    except tomllib.TOMLDecodeError as exc:
        fail(f"{config} is not valid TOML: {exc}")
    except LedgerError as exc:
        fail(str(exc))
    console.print(f"alliance [bold]{genesis.chain}[/] created in {data} with "
                  f"{len(keys)} validators; genesis hash {genesis.hash.hex()}\n"
                  f"start it with `jifentong serve --data {data}`")


def demo(data: DataOpt = DEFAULT_DATA,
         seed: Annotated[int, typer.Option(help="random seed")] = 7,
         serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                             help="serve API and explorer after")] = True,
         port: Annotated[int, typer.Option(help="TCP port")] = DEFAULT_PORT,
         customers: Annotated[int, typer.Option(min=10, max=100_000)] = 1000,
         days: Annotated[int, typer.Option(min=1, max=365)] = 30,
         cluster: Annotated[bool, typer.Option(
             "--cluster", help="build it through a local cluster (etcd and one node per "
                               "member, as `cluster up`) and leave the cluster running")] = False,
         ) -> None:
    """Build a realistic demo district (or reuse DIR), then serve it on 127.0.0.1."""
    from api.demo.build import build_demo

    existing = DataDir(data).exists()
    if existing:
        err.print(f"reusing the alliance in {data} (delete the folder to build anew)")
    elif data.exists() and any(data.iterdir()):
        fail(f"{data} exists and is not a Jifentong data dir; choose another --data")
    if cluster:
        _demo_cluster(data, existing, seed, customers, days, port)
        return
    if not existing:
        with _days_bar(days) as (bar, task):
            summary = build_demo(data, seed=seed, customers=customers, days=days,
                                 tick=partial(_tick, bar, task))
        _built(summary, seed)
    if serve:
        from api.server.serving import run_server

        run_server(data, "127.0.0.1", port)
    else:
        console.print(f"done; serve it with `jifentong serve --data {data}`")


def _demo_cluster(data: Path, existing: bool, seed: int, customers: int, days: int,
                  port: int) -> None:
    """``demo --cluster``: build the district through a new local cluster (or start the
    cluster of DIR, giving each member the in-process build's replica if DIR has one)."""
    from api.demo import cluster as local

    try:
        if existing:
            local.adopt_replicas(DataDir(data))
            nodes = len(DataDir(data).genesis().validators)
            urls = local.up(local.layout(data, nodes, port))
        else:
            from api.demo.through_cluster import build_demo_through_cluster

            with _days_bar(days) as (bar, task):
                summary = build_demo_through_cluster(
                    data, seed=seed, customers=customers, days=days, nodes_base_port=port,
                    tick=partial(_tick, bar, task))
            _built(summary, seed, " through the cluster")
            urls = [local.layout(data).node_url(i) for i in range(4)]
    except LedgerError as exc:
        fail(str(exc))
    console.print("\n".join(urls) + f"\nstop with `jifentong cluster down --data {data}`")


@contextmanager
def _days_bar(days: int) -> Iterator[tuple[Progress, TaskID]]:
    with Progress(TextColumn("[bold]building demo[/]"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} days · {task.description}"),
                  TimeElapsedColumn(), console=err) as bar:
        yield bar, bar.add_task("genesis", total=days)


def _built(summary: Summary, seed: int, how: str = "") -> None:
    err.print(f"built {summary.records:,} records in {summary.blocks} blocks for "
              f"{summary.customers} customers over {summary.days} days (seed {seed}){how}")


def _tick(bar: Progress, task: TaskID, done: int, total: int, what: str) -> None:
    """Move the demo's progress bar to day ``done`` (of ``total``), doing ``what``."""
    bar.update(task, completed=done, description=what)


def register(app: typer.Typer) -> None:
    """Add ``init``, ``demo`` and the ``governance`` group to the ``jifentong`` command."""
    app.add_typer(governance_app, name="governance")
    app.command()(init)
    app.command()(demo)
