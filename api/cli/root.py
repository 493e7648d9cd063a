"""The ``jifentong`` command: a thin layer over the library (typer + rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import admin, bench, books, cluster, ops, verify, wallet
from api.cli.common import (
    DEFAULT_DATA,
    DEFAULT_PORT,
    DataOpt,
    JsonOpt,
    PassEnv,
    console,
    emit,
    err,
    fail,
    load_key,
    passphrase,
)
from api.client import keystore
from ledger.errors import LedgerError
from ledger.verify.receipt import check_receipt, load_receipt

app = typer.Typer(help="积分通 Jifentong: a points interchange for merchant alliances.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
keys_app = typer.Typer(help="Make and inspect Ed25519 key files.", no_args_is_help=True)
receipt_app = typer.Typer(help="Check receipts.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(receipt_app, name="receipt")

@keys_app.command("new")
def keys_new(name: Annotated[str, typer.Argument(help="key name in the keystore, or a path")],
             pass_env: PassEnv = None, json_out: JsonOpt = False,
             plaintext: Annotated[bool, typer.Option(
                 "--insecure-plaintext",
                 help="store the key unencrypted (no passphrase); anyone who reads the file "
                      "can sign as you")] = False) -> None:
    """Generate a key, saved encrypted with a passphrase (asked for unless given).

    An empty passphrase is refused unless ``--insecure-plaintext`` is given.
    """
    try:
        secret = None if plaintext else passphrase(pass_env, confirm=True)
        key = keystore.create(name, secret, plaintext=plaintext)
    except LedgerError as exc:
        fail(str(exc))
    if plaintext:
        err.print(f"[bold yellow]warning:[/] {keystore.key_path(name)} is NOT encrypted: "
                  "anyone who can read it can sign as this key")
    info = {"name": name, "path": str(keystore.key_path(name)), "public_key": key.public_hex,
            "key_id": key.key_id}
    if json_out:
        emit(info)
    else:
        console.print(f"saved [bold]{info['path']}[/]\npublic key {key.public_hex}")


@keys_app.command("show")
def keys_show(name: str, pass_env: PassEnv = None, json_out: JsonOpt = False) -> None:
    """Show a key's public half."""
    key = load_key(name, pass_env)
    info = {"name": name, "public_key": key.public_hex, "key_id": key.key_id}
    emit(info) if json_out else console.print(f"public key {key.public_hex} (id {key.key_id})")


@receipt_app.command("check")
def receipt_check(path: Annotated[Path, typer.Argument(help="receipt JSON file")],
                  genesis: Annotated[Path | None, typer.Option(
                      help="genesis.json whose validators you trust")] = None,
                  json_out: JsonOpt = False) -> None:
    """Check a receipt alone: signatures, inclusion proof, certificate. Exit 0 valid, 1 not."""
    from ledger.chain.genesis import Genesis

    try:
        receipt = load_receipt(path.read_bytes())
        trusted = None
        if genesis is not None:
            trusted = {v.key for v in Genesis.load(genesis).validators}
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except LedgerError as exc:
        fail(str(exc))
    try:
        result = check_receipt(receipt, trusted)
    except LedgerError as exc:
        if json_out:
            emit({"valid": False, "code": exc.code, "detail": str(exc)})
        else:
            err.print(f"[bold red]invalid receipt[/] ({exc.code}): {exc}")
        raise typer.Exit(1) from exc
    out = {"valid": True, "record": result.record_id, "type": result.record_type,
           "chain": result.chain, "height": result.height, "index": result.index,
           "header": result.header_hash, "signed_by": result.signers,
           "validators_pinned": trusted is not None}
    if json_out:
        emit(out)
    else:
        console.print(f"[bold green]valid[/]: record {result.record_id} ({result.record_type}) "
                      f"is in block {result.height} of {result.chain}, certified by "
                      f"{len(result.signers)} validators"
                      + ("" if trusted else " (pass --genesis to pin the validator keys)"))


@app.command()
def serve(data: DataOpt = DEFAULT_DATA,
          host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = DEFAULT_PORT,
          log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning") -> None:
    """Serve the API and explorer of an existing data dir."""
    from api.server.serving import run_server

    run_server(data, host, port, log_level=log_level)


for group in (ops, admin, books, cluster, bench, verify):
    group.register(app)
wallet.register(app, keys_app)


def main() -> None:
    """Entry point of the ``jifentong`` console script."""
    app()
