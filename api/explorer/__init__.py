"""The block explorer: server-rendered pages (Jinja2) with JSON twins and CSV exports.

``router`` is included by :func:`api.server.app.create_app` when ``explorer=True``. See
docs/EXPLORER.md for the pages, their URLs and how each figure is computed.
"""

from __future__ import annotations

from api.explorer.routes import router

__all__ = ["router"]
