"""What every ``jifentong`` command group shares: consoles, options, errors, key loading."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from api.client import keystore
from ledger.errors import LedgerError

console = Console()
err = Console(stderr=True)

DEFAULT_DATA = Path("./jifentong-data")
DEFAULT_PORT = 8400
DataOpt = Annotated[Path, typer.Option("--data", help="data dir of the alliance")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a helpful error and exit (2: bad usage or unreadable input)."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def emit(value: Any) -> None:
    """Print JSON to stdout (for --json)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def passphrase(env: str | None, *, confirm: bool = False, needed: bool = True) -> str | None:
    if env:
        value = os.environ.get(env)
        if value is None:
            fail(f"environment variable {env} is not set")
        return value
    if "JIFENTONG_PASSPHRASE" in os.environ:
        return os.environ["JIFENTONG_PASSPHRASE"]
    if not needed:
        return None
    if not sys.stdin.isatty():
        return None
    return typer.prompt("passphrase", hide_input=True, default="",
                        confirmation_prompt=confirm, show_default=False) or None


PassEnv = Annotated[str | None, typer.Option("--passphrase-env", metavar="VAR",
                                             help="read the passphrase from this variable")]


def load_key(name: str, pass_env: str | None) -> Any:
    """A key from the keystore (or a path), asking for its passphrase if it is encrypted."""
    try:
        # a passphrase applies to encrypted key files only (the environment may hold one
        # for the user's wallet while a merchant's till key is a plain file)
        secret = passphrase(pass_env) if keystore.is_encrypted(name) else None
        return keystore.load(name, secret)
    except LedgerError as exc:
        fail(str(exc))
