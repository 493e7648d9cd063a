"""Dependencies shared by the routers (overridable in tests with ``app.dependency_overrides``)."""

from __future__ import annotations

from fastapi import Request

from api.node.runtime import Serving


def get_node(request: Request) -> Serving:
    """The node this app serves."""
    node: Serving = request.app.state.node  # set by create_app
    return node
