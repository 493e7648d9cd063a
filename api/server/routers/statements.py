"""Issuer statements: a merchant's liability roll-forward for a month or a range of days.

``GET /v1/merchants/{id}/statement?month=YYYY-MM`` (or ``from=YYYY-MM-DD&to=YYYY-MM-DD``,
``to`` exclusive) answers JSON, or CSV with ``format=csv`` (``part=rollforward``, the default,
``aging`` or ``settlements``: one table per file). The figures and the certified
heights come from :mod:`api.node.statements`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.node.deps import get_node
from api.node.problems import responses
from api.node.runtime import Serving
from api.node.statements import merchant_statement, period, statement_csv
from api.schemas import documented
from api.schemas.settlement import IssuerStatement
from api.server.routers.exchange import Slug

router = APIRouter(prefix="/v1", tags=["exchange"])
NodeDep = Annotated[Serving, Depends(get_node)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
DAY = r"^\d{4}-\d{2}-\d{2}$"  # YYYY-MM-DD
CSV: dict[str, Any] = {"description": "the statement (JSON), or CSV with format=csv",
                      "content": {"text/csv": {"schema": {"type": "string"}}}}


@router.get("/merchants/{merchant_id}/statement", response_model=documented(IssuerStatement),
            responses={**responses(400, 404), 200: CSV},
            summary="A merchant's liability roll-forward for a month or range of days")
def statement(node: NodeDep, merchant_id: Slug, month: Month = None,
              start: Annotated[str | None, Query(alias="from", pattern=DAY)] = None,
              end: Annotated[str | None, Query(alias="to", pattern=DAY)] = None,
              format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
              part: Annotated[str, Query(pattern="^(rollforward|aging|settlements)$")]
              = "rollforward") -> Any:
    first, after = period(month, start, end)
    found = merchant_statement(node, merchant_id, first, after)
    if format == "csv":
        suffix = "" if part == "rollforward" else f"-{part}"
        name = f"{merchant_id}-{found['period']['from']}{suffix}.csv"
        return Response(statement_csv(found, part), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return found
