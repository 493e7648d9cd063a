"""``jifentong watch`` (follow the event stream) and ``jifentong keys export-wallet`` (turn a
key file into a backup the browser wallet or till can restore)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from api.cli.common import JsonOpt, PassEnv, console, fail, passphrase
from api.cli.ops import DEFAULT_NODE, NodeOpt
from api.client import keystore
from api.client.backup import make_backup
from api.client.client import Client
from api.client.events import StreamRefused
from ledger.errors import LedgerError

Filter = Annotated[str | None, typer.Option(help="only records that touch this")]


def describe(event: dict[str, Any]) -> str:
    """One line for a person: id, type, and the balance movements."""
    moves = ", ".join(f"{e['kind']} {e['delta']:+,} {e['program'].upper()} {e['account'][:8]}…"
                      for e in event["effects"])
    return f"{event['id']:>10}  {event['type']:<24} {moves}"


def register(app: typer.Typer, keys_app: typer.Typer) -> None:
    """Add ``watch`` to the ``jifentong`` command and ``export-wallet`` to its ``keys`` group."""

    @app.command()
    def watch(program: Filter = None, account: Filter = None, merchant: Filter = None,
              from_height: Annotated[int | None, typer.Option(
                  "--from", help="start at this height (default: from now on)")] = None,
              count: Annotated[int | None, typer.Option(
                  help="stop after this many events")] = None,
              node: NodeOpt = DEFAULT_NODE, json_out: JsonOpt = False) -> None:
        """Print committed records as they land (GET /v1/events), until Ctrl+C."""
        seen = 0
        try:
            with Client(node) as client:
                for event in client.events(program=program, account=account,
                                           merchant=merchant, from_height=from_height):
                    print(json.dumps(event, ensure_ascii=False) if json_out
                          else describe(event), flush=True)
                    seen += 1
                    if count is not None and seen >= count:
                        return
        except StreamRefused as exc:
            fail(f"the node refused the stream ({exc.code}); retry in "
                 f"{exc.retry_after_s or 1} s", code=1)
        except httpx.TransportError as exc:
            fail(f"cannot reach the node ({exc.__class__.__name__}); is --node right?")
        except KeyboardInterrupt:
            return

    @keys_app.command("export-wallet")
    def export_wallet(name: Annotated[str, typer.Argument(help="key name or PEM path")],
                      out: Annotated[Path, typer.Option(help="backup file to write")],
                      pass_env: PassEnv = None,
                      backup_pass_env: Annotated[str | None, typer.Option(
                          "--backup-passphrase-env", metavar="VAR",
                          help="passphrase of the backup (default: the key file's)")] = None,
                      ) -> None:
        """Write a key as a wallet backup (PBKDF2 + AES-GCM) for /wallet or /till."""
        try:
            secret = passphrase(pass_env) if keystore.is_encrypted(name) else None
            key = keystore.load(name, secret)
        except LedgerError as exc:
            fail(str(exc))
        sealing = os.environ.get(backup_pass_env) if backup_pass_env else secret
        if not sealing:
            sealing = passphrase(None, confirm=True)
        if not sealing:
            fail("a backup needs a passphrase (--backup-passphrase-env VAR)")
        if out.exists():
            fail(f"{out} exists already; choose another file")
        out.write_text(json.dumps(make_backup(key, sealing, name), indent=2) + "\n")
        out.chmod(0o600)
        console.print(f"wrote {out}: restore it in the wallet or the till with its passphrase "
                      f"(public key {key.public_hex})")
