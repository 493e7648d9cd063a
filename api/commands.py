"""Registers the commands that live in their own modules onto the ``jifentong`` app."""

from __future__ import annotations

from . import bench_cmd
from .cli import app

bench_cmd.register(app)
