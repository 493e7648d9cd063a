"""Exchange reads: programs, merchants, the rate board, balances, history, quotes, settlement.

Reads are public: anyone may look (the chain is public within the alliance), so nothing
private is kept here. Current figures come from the gateway replica's committed state;
lists of past events come from its SQLite store with keyset pagination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.limits import height_past_all, int_digits_max
from api.node.deps import get_node
from api.node.paging import After, after_key, cut, link_next
from api.node.problems import Problem, responses
from api.node.runtime import Serving
from api.schemas import documented
from api.schemas import exchange as X
from api.schemas import settlement as S
from exchange import queries, queries_history
from ledger.limits import page_rows_max

router = APIRouter(prefix="/v1", tags=["exchange"])
NodeDep = Annotated[Serving, Depends(get_node)]
Account = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="customer public key")]
Code = Annotated[str, Path(pattern="^[a-z0-9][a-z0-9_-]{0,31}$", description="program code")]
Slug = Annotated[str, Path(pattern="^[a-z0-9][a-z0-9-]{0,39}$", description="merchant id")]
Limit = Annotated[int, Query(ge=1, le=page_rows_max)]
T = TypeVar("T")


def read(node: Serving, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a query on the committed state, never while a block is being committed."""
    with node.replica.lock:
        return fn(node.view, *args, **kwargs)


@router.get("/programs", response_model=documented(X.ProgramPage),
            summary="Points programs in code order (paged: after, limit, next)")
def programs(node: NodeDep, request: Request, response: Response,
             issuer: Annotated[str | None, Query(max_length=40)] = None,
             after: After = None, limit: Limit = 100) -> dict[str, Any]:
    found = read(node, queries.programs, issuer, after or "", limit + 1)
    items, cursor = cut(found, limit, lambda p: p["code"])
    return {"programs": items, "next": link_next(request, response, cursor)}


@router.get("/programs/{code}", response_model=documented(X.Program),
            responses=responses(400, 404), summary="One program")
def program(node: NodeDep, code: Code) -> dict[str, Any]:
    found = read(node, queries.program, code)
    if found is None:
        raise Problem(404, "program_unknown", f"no program {code!r}")
    return found


@router.get("/merchants", response_model=documented(X.MerchantPage),
            summary="Merchants and their profiles in id order (paged: after, "
            "limit, next)")
def merchants(node: NodeDep, request: Request, response: Response,
              status: Annotated[str | None, Query(
                  pattern="^(applied|active|suspended)$")] = None,
              after: After = None, limit: Limit = 100) -> dict[str, Any]:
    """A pending application (``applied``) carries ``lapses_ms``, when it lapses."""
    found = read(node, queries.merchants, status, after or "", limit + 1)
    items, cursor = cut(found, limit, lambda m: m["id"])
    return {"merchants": items, "next": link_next(request, response, cursor)}


@router.get("/merchants/{merchant_id}", response_model=documented(X.MerchantDetail),
            responses=responses(400, 404),
            summary="A merchant: profile, programs, liability, settlement position")
def merchant(node: NodeDep, merchant_id: Slug) -> dict[str, Any]:
    found = read(node, queries.merchant, merchant_id)
    if found is None:
        raise Problem(404, "merchant_unknown", f"no merchant {merchant_id!r}")
    return found


@router.get("/members", response_model=documented(X.Members),
            summary="Alliance members and the governance threshold")
def members(node: NodeDep) -> dict[str, Any]:
    return {"members": read(node, queries.members)}


@router.get("/rates", response_model=documented(X.RatePage),
            summary="The rate board by program: rates in effect, pending and "
            "history (paged: after, limit, next)")
def rates(node: NodeDep, request: Request, response: Response, after: After = None,
          limit: Limit = 100) -> dict[str, Any]:
    board, cursor = after_key(read(node, queries.rate_board), lambda r: (r["program"],),
                              after, limit)
    return {"rates": board, "next": link_next(request, response, cursor)}


@router.get("/accounts/{account}/balances", response_model=documented(X.Balances),
            responses=responses(400),
            summary="An account's points, their yuan value and what expires soon")
def balances(node: NodeDep, account: Account) -> dict[str, Any]:
    return read(node, queries.balances, account)


#: ``height.idx.n`` of the previous page's last row.
HISTORY_CURSOR = rf"^\d{{1,{int_digits_max}}}\.-?\d{{1,6}}\.\d{{1,4}}$"
HistoryCursor = Annotated[str | None, Query(pattern=HISTORY_CURSOR,
                                            description="the previous page's next")]


@router.get("/accounts/{account}/history", response_model=documented(X.History),
            responses=responses(400),
            summary="An account's balance movements, newest first (paged: after, limit, next)")
def history(node: NodeDep, request: Request, response: Response, account: Account,
            limit: Limit = 50, after: HistoryCursor = None,
            before: HistoryCursor = None) -> dict[str, Any]:
    """``before`` is the former name of ``after`` (kept for old clients)."""
    given = after or before
    cursor = tuple(int(x) for x in given.split(".")) if given else (height_past_all, 0, 0)
    rows = queries_history.account_history(node.replica.store.thread_reader(), account,
                                           cursor, limit + 1)
    items, next_cursor = cut(rows, limit, lambda r: f"{r.height}.{r.idx}.{r.n}", asdict)
    return {"account": account, "items": items,
            "next": link_next(request, response, next_cursor)}


@router.get("/quote", response_model=documented(X.Quote), responses=responses(400),
            summary="What a swap would yield now, the rate versions to quote, and when it lapses")
def quote(node: NodeDep,
          give: Annotated[str, Query(pattern="^[a-z0-9][a-z0-9_-]{0,31}$")],
          amount: Annotated[int, Query(ge=1, le=10**12)],
          get: Annotated[str, Query(pattern="^[a-z0-9][a-z0-9_-]{0,31}$")],
          holder: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
          ) -> dict[str, Any]:
    """A quote is a preview: the swap record must name ``give_version`` and ``get_version``.

    It lapses when either program's next posted rate takes effect (``lapses_ms``), after
    which a swap naming these versions is refused with ``rate_version_stale``.
    """
    found: dict[str, Any] = read(node, queries.quote, give, amount, get, holder)
    if found.get("code") == "ok":
        board = {r["program"]: r for r in read(node, queries.rate_board)}
        pending = [board[c]["pending"]["effective_ms"] for c in (give, get)
                   if board.get(c, {}).get("pending")]
        found["lapses_ms"] = min(pending) if pending else None
    return found


@router.get("/settlement/statement", response_model=documented(S.Settlement),
            summary="Net positions and the fewest payments that clear them")
def statement(node: NodeDep) -> dict[str, Any]:
    return read(node, queries.statement)


@router.get("/settlement/obligations", response_model=documented(S.Obligations),
            summary="Gross obligations between issuers")
def obligations(node: NodeDep) -> dict[str, Any]:
    return read(node, queries.obligations)


@router.get("/regulator/report", response_model=documented(S.RegulatorReport),
            summary="Per issuer: issued, redeemed, expired, swapped; liability vs cap; flows")
def regulator_report(node: NodeDep, month: Annotated[str | None, Query(
        pattern=r"^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$",
        description="YYYY-MM of the roll-forward in books")] = None) -> dict[str, Any]:
    return read(node, queries.regulator_report, month)
