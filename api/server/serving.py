"""Running a node's HTTP server (uvicorn) for ``jifentong serve`` and ``jifentong demo``."""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from api.node.runtime import Node, open_node, tune_gc
from api.server.app import create_app, fast_lane
from ledger.application import Application
from ledger.consensus.sigpool import default_workers
from ledger.errors import LedgerError

console = Console(stderr=True)


def app_factory() -> Application:
    """The application every node of this distribution runs."""
    from exchange.app import ExchangeApp

    return ExchangeApp()


def open_exchange_node(data: Path, *, produce: bool = True, signature_workers: int = 0) -> Node:
    return open_node(data, app_factory, produce=produce, signature_workers=signature_workers)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def run_server(data: Path, host: str, port: int, *, log_level: str = "warning",
               node: Node | None = None) -> None:
    """Open the data dir and serve until interrupted."""
    if not port_free(host, port):
        console.print(f"[bold red]error:[/] port {port} on {host} is in use; pass --port")
        raise typer.Exit(2)
    try:
        # signatures of submissions are checked on worker processes (the other cores)
        node = node or open_exchange_node(data, signature_workers=default_workers())
        tune_gc()
    except LedgerError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    logging.basicConfig(level=logging.INFO if log_level in ("info", "debug") else logging.WARNING,
                        format="%(message)s")
    url = f"http://{host}:{port}"
    console.print(f"[bold]Jifentong[/] chain [cyan]{node.genesis.chain}[/] at height "
                  f"{node.replica.height}, data in {data}\n"
                  f"  explorer  {url}/\n  API docs  {url}/docs\n  health    {url}/healthz\n"
                  "Press Ctrl+C to stop.")
    try:
        uvicorn.run(fast_lane(create_app(node), node), host=host, port=port,
                    log_level=log_level, access_log=False)
    finally:
        node.close()
