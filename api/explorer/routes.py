"""The explorer's URLs. Every page has a JSON twin (``.json``, or ``Accept: application/json``)
and list pages a CSV export. Routes are left out of the OpenAPI schema: the JSON API is
``/v1``; the explorer's JSON twins are described in docs/EXPLORER.md.

A ``.json`` or ``.csv`` route is registered before its HTML route, so ``/blocks/12.json`` is
never taken for a block whose height is ``12.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.explorer import (
    accounts,
    alliance,
    blocks,
    home,
    merchants,
    programs,
    rates,
    records,
    search,
    settlement,
    statements,
)
from api.explorer.render import View, respond
from api.node.deps import get_node
from api.node.problems import problem_response
from api.node.runtime import Serving

router = APIRouter(include_in_schema=False)
NodeDep = Annotated[Serving, Depends(get_node)]
STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                ".js": "text/javascript; charset=utf-8", ".png": "image/png"}


def _endpoint(view: View, params: tuple[str, ...]) -> Callable[..., Response]:
    def endpoint(request: Request, node: NodeDep) -> Response:
        values = {p: request.path_params[p] for p in params}
        return respond(request, node, view, **values)

    endpoint.__name__ = f"explorer_{view.__name__}"
    return endpoint


def page(path: str, view: View, *, json: bool = True, csv: View | None = None,
         params: tuple[str, ...] = ()) -> None:
    """Register ``path`` (HTML), its ``.json`` twin and, for lists, its ``.csv`` export."""
    base = "/index" if path == "/" else path
    if json:
        router.add_api_route(base + ".json", _endpoint(view, params), methods=["GET"])
    if csv is not None:
        router.add_api_route(base + ".csv", _endpoint(csv, params), methods=["GET"])
    router.add_api_route(path, _endpoint(view, params), methods=["GET"])


def export(path: str, view: View, params: tuple[str, ...]) -> None:
    """A CSV (or download) route that has no HTML page of its own."""
    router.add_api_route(path, _endpoint(view, params), methods=["GET"])


# Sub-resources first: their paths are longer and must win over ``{param}`` catch-alls.
export("/blocks/{height}/records.csv", blocks.block_records_csv, ("height",))
export("/records/{record_id}/receipt.json", records.receipt, ("record_id",))
export("/accounts/{key}/history.csv", accounts.history_csv, ("key",))
export("/programs/{code}/holders.csv", programs.holders_csv, ("code",))
export("/merchants/{merchant_id}/statements/{month}.csv", statements.statement_csv,
       ("merchant_id", "month"))
page("/merchants/{merchant_id}/statements/{month}", statements.statement_page,
     params=("merchant_id", "month"))

page("/", home.home_page)
page("/blocks", blocks.blocks_page, csv=blocks.blocks_csv)
page("/blocks/{height}", blocks.block_page, params=("height",))
page("/records", records.records_page, csv=records.records_csv)
page("/records/{record_id}", records.record_page, params=("record_id",))
page("/accounts/{key}", accounts.account_page, params=("key",))
page("/programs", programs.programs_page)
page("/programs/{code}", programs.program_page, params=("code",))
page("/merchants/{merchant_id}", merchants.merchant_page, params=("merchant_id",))
page("/rates", rates.rates_page)
page("/alliance", alliance.alliance_page)
page("/settlement", settlement.settlement_page)
page("/search", search.search_page)


def _static_files() -> dict[str, tuple[bytes, str]]:
    found = {}
    for path in STATIC_DIR.iterdir() if STATIC_DIR.is_dir() else ():
        if path.suffix in STATIC_TYPES and path.is_file():
            found[path.name] = (path.read_bytes(), STATIC_TYPES[path.suffix])
    return found


_STATIC = _static_files()


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The stylesheet and icon (read once at start; cached by browsers for an hour)."""
    found = _STATIC.get(name)
    if found is None:
        return problem_response(404, "not_found", f"no static file {name!r}")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
