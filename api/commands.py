"""Registers the commands that live in their own modules onto the ``jifentong`` app."""

from __future__ import annotations

from . import bench_cmd, cli_admin, cli_books, cli_cluster, cli_ops, cli_wallet, verify_cmd
from .cli import app

cli_ops.register(app)
cli_admin.register(app)
cli_books.register(app)
bench_cmd.register(app)
verify_cmd.register(app)
cli_wallet.register(app)
cli_cluster.register(app)
