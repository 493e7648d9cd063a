"""Redemption offers: what merchants offer for their points, and what a customer can pay for.

Reads are public, like the other exchange reads, and come from the gateway replica's
committed state at the last block's time (``as_of_ms``). See docs/ECONOMICS.md section 10.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.node.paging import After, Limit, after_key, link_next
from api.node.problems import Problem, responses
from api.schemas import documented
from api.schemas import settlement as X
from api.server.routers.exchange import Account, NodeDep, read
from exchange import queries
from exchange.limits import area_chars_max
from exchange.state.state import State

router = APIRouter(prefix="/v1", tags=["exchange"])
Area = Annotated[str | None, Query(max_length=area_chars_max,
                                   description="area, e.g. Chunxi Road (exact match)")]
ProgramCode = Annotated[str | None, Query(pattern="^[a-z0-9][a-z0-9_-]{0,31}$",
                                          description="program code")]


def _offers(view: State, program: str | None, area: str | None) -> dict[str, Any] | None:
    if program is not None and view.programs.get(program) is None:
        return None
    return {"as_of_ms": view.param("last_time_ms"),
            "offers": queries.offers(view, program, area)}


def _offers_for(view: State, account: str, area: str | None) -> dict[str, Any]:
    return {"account": account, "area": area, "as_of_ms": view.param("last_time_ms"),
            "offers": queries.offers_for(view, account, area)}


@router.get("/offers", response_model=documented(X.OfferPage), responses=responses(400, 404),
            summary="Live redemption offers, by area, then yuan value")
def offers(node: NodeDep, request: Request, response: Response, program: ProgramCode = None,
           area: Area = None, after: After = None, limit: Limit = 100) -> dict[str, Any]:
    """Offers live at the last block's time; ``area`` filters to one area (paged)."""
    found = read(node, _offers, program, area)
    if found is None:
        raise Problem(404, "program_unknown", f"no program {program!r}")
    found["offers"], cursor = after_key(found["offers"], _order(None), after, limit)
    found["next"] = link_next(request, response, cursor)
    return found


@router.get("/accounts/{account}/offers", response_model=documented(X.AccountOfferPage),
            responses=responses(400),
            summary="The live offers an account can pay for, directly or after one swap")
def offers_for(node: NodeDep, request: Request, response: Response, account: Account,
               area: Area = None, after: After = None, limit: Limit = 100) -> dict[str, Any]:
    """``pay`` is ``direct`` or ``after_swap``; for the latter, ``swap`` is the swap record to
    sign (``give``, ``amount``, ``get``, ``min_out``, rate versions). Offers in ``area`` come
    first, then the other areas alphabetically, then by yuan value (paged)."""
    found = read(node, _offers_for, account, area)
    found["offers"], cursor = after_key(found["offers"], _order(area), after, limit)
    found["next"] = link_next(request, response, cursor)
    return found


def _order(area: str | None) -> Any:
    """The sort key of a listed offer (the page cursor): nearest area first, then value."""
    def key(o: dict[str, Any]) -> tuple[Any, ...]:
        rank = 0 if o["area"] == area else 1 if o["area"] else 2
        return rank, o["area"], o["value_micro"], o["price"], o["program"], o["offer"]
    return key
