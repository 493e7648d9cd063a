"""Redemption offers: what merchants offer for their points, and what a customer can pay for.

Reads are public, like the other exchange reads, and come from the gateway replica's
committed state at the last block's time (``as_of_ms``). See docs/ECONOMICS.md section 10.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from exchange import queries
from exchange.limits import area_chars_max
from exchange.state import State

from ..problems import Problem, responses
from .exchange import Account, NodeDep, read

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


@router.get("/offers", responses=responses(400, 404),
            summary="Live redemption offers, by area, then yuan value")
def offers(node: NodeDep, program: ProgramCode = None, area: Area = None) -> dict[str, Any]:
    """Offers live at the last block's time; ``area`` filters to one area."""
    found = read(node, _offers, program, area)
    if found is None:
        raise Problem(404, "program_unknown", f"no program {program!r}")
    return found


@router.get("/accounts/{account}/offers", responses=responses(400),
            summary="The live offers an account can pay for, directly or after one swap")
def offers_for(node: NodeDep, account: Account, area: Area = None) -> dict[str, Any]:
    """``pay`` is ``direct`` or ``after_swap``; for the latter, ``swap`` is the swap record to
    sign (``give``, ``amount``, ``get``, ``min_out``, rate versions). Offers in ``area`` come
    first, then the other areas alphabetically, then by yuan value."""
    return read(node, _offers_for, account, area)
