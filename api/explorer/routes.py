"""The explorer's URLs. Every page has a JSON twin (``.json``, or ``Accept: application/json``)
and list pages a CSV export. The JSON twins and the CSV exports are in the OpenAPI document
(tag ``explorer``): each twin with its typed response model (``api/schemas/explorer_*.py``)
and its query parameters, each export as ``text/csv``. The HTML pages are not.

A ``.json`` or ``.csv`` route is registered before its HTML route, so ``/blocks/12.json`` is
never taken for a block whose height is ``12.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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
from api.node.problems import problem_response, responses
from api.node.runtime import Serving
from api.schemas import Shape, documented
from api.schemas import chain as C
from api.schemas import explorer_chain as XC
from api.schemas import explorer_exchange as XE

router = APIRouter(tags=["explorer"])
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


class CSVResponse(Response):
    """The media type the CSV exports are documented with (``render.csv_response``)."""

    media_type = "text/csv"


CSV_ANSWER: dict[int | str, dict[str, Any]] = {200: {
    "description": "CSV rows, a keyset page at a time (``Link: <...>; rel=\"next\"``)",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}


def _parameters(path: tuple[str, ...], query: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI path and query parameters (the views read them from the request)."""
    found = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
             for n in path]
    found += [{"name": n, "in": "query", "required": False, "description": QUERY[n],
               "schema": {"type": "string", "maxLength": 300}} for n in query]
    return {"parameters": found}


QUERY = {"before": "keyset cursor: the previous page's last position (see ``next``)",
         "after": "keyset cursor: the previous page's last position (see ``next``)",
         "merchants_after": "the last merchant id of the previous page of merchants",
         "q": "a height, hash, record id, account key (or prefix), code or name"}


def page(path: str, view: View, model: type[Shape], *, csv: View | None = None,
         params: tuple[str, ...] = (), query: tuple[str, ...] = ()) -> None:
    """Register ``path`` (HTML), its ``.json`` twin (documented as ``model``) and, for
    lists, its ``.csv`` export."""
    base = "/index" if path == "/" else path
    router.add_api_route(base + ".json", _endpoint(view, params), methods=["GET"],
                         response_model=documented(model), responses=responses(400, 404),
                         summary=(model.__doc__ or "").split("\n")[0].split(": ", 1)[-1],
                         openapi_extra=_parameters(params, query))
    if csv is not None:
        export(base + ".csv", csv, params, query)
    router.add_api_route(path, _endpoint(view, params), methods=["GET"],
                         include_in_schema=False)


def export(path: str, view: View, params: tuple[str, ...], query: tuple[str, ...] = ()) -> None:
    """A CSV route, documented as ``text/csv``."""
    router.add_api_route(path, _endpoint(view, params), methods=["GET"],
                         response_class=CSVResponse, responses={**CSV_ANSWER,
                                                                **responses(400, 404)},
                         summary=f"CSV export: {path}",
                         openapi_extra=_parameters(params, query))


# Sub-resources first: their paths are longer and must win over ``{param}`` catch-alls.
export("/blocks/{height}/records.csv", blocks.block_records_csv, ("height",), ("after",))
router.add_api_route("/records/{record_id}/receipt.json",
                     _endpoint(records.receipt, ("record_id",)), methods=["GET"],
                     response_model=documented(C.Receipt), responses=responses(404),
                     openapi_extra=_parameters(("record_id",), ()),
                     summary="A record's receipt, as a download (docs/PROTOCOL.md §14)")
export("/accounts/{key}/history.csv", accounts.history_csv, ("key",), ("before",))
export("/programs/{code}/holders.csv", programs.holders_csv, ("code",), ("after",))
export("/merchants/{merchant_id}/statements/{month}.csv", statements.statement_csv,
       ("merchant_id", "month"))
page("/merchants/{merchant_id}/statements/{month}", statements.statement_page,
     XE.StatementPage, params=("merchant_id", "month"))

page("/", home.home_page, XC.HomePage)
page("/blocks", blocks.blocks_page, XC.BlocksPage, csv=blocks.blocks_csv, query=("before",))
page("/blocks/{height}", blocks.block_page, XC.BlockPage, params=("height",), query=("after",))
page("/records", records.records_page, XC.RecordsPage, csv=records.records_csv,
     query=("before",))
page("/records/{record_id}", records.record_page, XC.RecordPage, params=("record_id",))
page("/accounts/{key}", accounts.account_page, XE.AccountPage, params=("key",),
     query=("before",))
page("/programs", programs.programs_page, XE.ProgramsPage)
page("/programs/{code}", programs.program_page, XE.ProgramPage, params=("code",))
page("/merchants/{merchant_id}", merchants.merchant_page, XE.MerchantPage,
     params=("merchant_id",))
page("/rates", rates.rates_page, XE.RatesPage)
page("/alliance", alliance.alliance_page, XE.AlliancePage, query=("before", "merchants_after"))
page("/settlement", settlement.settlement_page, XE.SettlementPage, query=("before",))
page("/search", search.search_page, XC.SearchPage, query=("q",))


def _static_files() -> dict[str, tuple[bytes, str]]:
    found = {}
    for path in STATIC_DIR.iterdir() if STATIC_DIR.is_dir() else ():
        if path.suffix in STATIC_TYPES and path.is_file():
            found[path.name] = (path.read_bytes(), STATIC_TYPES[path.suffix])
    return found


_STATIC = _static_files()


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    """The stylesheet and icon (read once at start; cached by browsers for an hour)."""
    found = _STATIC.get(name)
    if found is None:
        return problem_response(404, "not_found", f"no static file {name!r}")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
