"""The ``jifentong`` command: a thin layer over the library (typer + rich).

This module only assembles it: each command group is its own module, whose ``register``
adds its commands (module-level functions) to ``app``, in the order ``--help`` lists them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import admin, bench, books, cluster, keys, ops, receipt, verify, watch
from api.cli.common import DEFAULT_DATA, DEFAULT_PORT, DataOpt

app = typer.Typer(help="积分通 Jifentong: a points interchange for merchant alliances.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


def serve(data: DataOpt = DEFAULT_DATA,
          host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = DEFAULT_PORT,
          log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning") -> None:
    """Serve the API and explorer of an existing data dir."""
    from api.server.serving import run_server

    run_server(data, host, port, log_level=log_level)


def register(target: typer.Typer) -> None:
    """Add ``serve`` and every command group to ``target``."""
    target.command()(serve)
    for group in (keys, receipt, ops, admin, books, cluster, bench, verify, watch):
        group.register(target)


register(app)


def main() -> None:
    """Entry point of the ``jifentong`` console script."""
    app()
