"""The block explorer: server-rendered pages (Jinja2) with JSON twins and CSV exports.

``router`` is included by :func:`api.server.create_app` when ``explorer=True``. See
docs/EXPLORER.md for the pages, their URLs and how each figure is computed.
"""

from __future__ import annotations

from .routes import router

__all__ = ["router"]
