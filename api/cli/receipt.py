"""``jifentong receipt check``: check a receipt alone, trusting no node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import JsonOpt, console, emit, err, fail
from ledger.chain.genesis import Genesis
from ledger.errors import LedgerError
from ledger.verify.receipt import check_receipt, load_receipt

receipt_app = typer.Typer(help="Check receipts.", no_args_is_help=True)


@receipt_app.command("check")
def receipt_check(path: Annotated[Path, typer.Argument(help="receipt JSON file")],
                  genesis: Annotated[Path | None, typer.Option(
                      help="genesis.json whose validators you trust")] = None,
                  json_out: JsonOpt = False) -> None:
    """Check a receipt alone: signatures, inclusion proof, certificate. Exit 0 valid, 1 not."""
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


def register(app: typer.Typer) -> None:
    """Add the ``receipt`` group to the ``jifentong`` command."""
    app.add_typer(receipt_app, name="receipt")
