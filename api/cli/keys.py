"""``jifentong keys``: make and inspect Ed25519 key files, and export one for the browser
wallet or till (a backup it can restore)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import JsonOpt, PassEnv, console, emit, err, fail, load_key, passphrase
from api.client import keystore
from api.client.backup import make_backup
from ledger.errors import LedgerError

keys_app = typer.Typer(help="Make and inspect Ed25519 key files.", no_args_is_help=True)


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


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group to the ``jifentong`` command."""
    app.add_typer(keys_app, name="keys")
