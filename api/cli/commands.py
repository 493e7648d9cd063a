"""Registers the commands that live in their own modules onto the ``jifentong`` app."""

from __future__ import annotations

from api.cli import admin as cli_admin
from api.cli import bench as bench_cmd
from api.cli import books as cli_books
from api.cli import cluster as cli_cluster
from api.cli import ops as cli_ops
from api.cli import verify as verify_cmd
from api.cli import wallet as cli_wallet
from api.cli.root import app

cli_ops.register(app)
cli_admin.register(app)
cli_books.register(app)
bench_cmd.register(app)
verify_cmd.register(app)
cli_wallet.register(app)
cli_cluster.register(app)
