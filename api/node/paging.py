"""One paging convention for every list the API serves (docs/API.md, "Pages").

A list takes ``after`` (the cursor of the last item of the previous page, from ``next``) and
``limit`` (1..``page_rows_max``). A page ends at ``limit`` rows or before the row that would
take its JSON past ``page_bytes_max`` bytes, whichever comes first (it always holds at least
one row). The answer carries ``next``, the cursor to pass as ``after`` for the following
page (null on the last page), and the same page as a ``Link: <url>; rel="next"`` header.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from api.node.problems import Problem
from ledger.limits import page_bytes_max, page_rows_max

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=page_rows_max, description="rows in the page")]
After = Annotated[str | None, Query(max_length=256, description="the previous page's next")]


def json_bytes(item: Any) -> int:
    """The size of ``item`` as the JSON response writes it (UTF-8)."""
    return len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode())


def cut(candidates: Iterable[T], limit: int, cursor_of: Callable[[T], str],
        to_json: Callable[[T], Any] = lambda x: x) -> tuple[list[Any], str | None]:
    """The page's items (as JSON values) and the ``next`` cursor, or None on the last page.

    ``candidates`` are the items after the cursor in order, at least ``limit + 1`` of them
    when there are that many, so that a full page knows whether another follows.
    """
    items: list[Any] = []
    size, bytes_max = 2, page_bytes_max
    taken: list[T] = []  # the items' sources: the cursor is the last one's
    for n, candidate in enumerate(candidates):
        if n == limit:
            return items, cursor_of(taken[-1])
        value = to_json(candidate)
        size += json_bytes(value) + 1
        if items and size > bytes_max:
            return items, cursor_of(taken[-1])
        items.append(value)
        taken.append(candidate)
    return items, None


def link_next(request: Request, response: Response, cursor: str | None) -> str | None:
    """Set the ``Link: rel=next`` header for ``cursor``; returns ``cursor``."""
    if cursor is not None:
        query = {k: v for k, v in request.query_params.items() if k not in ("after", "from")}
        query["after"] = cursor
        response.headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return cursor


def after_key(items: list[T], key: Callable[[T], tuple[Any, ...]], after: str | None,
              limit: int) -> tuple[list[Any], str | None]:
    """A page of ``items`` (already sorted by ``key``): those whose key sorts after the
    cursor ``after`` (the JSON of the last key of the previous page), cut by :func:`cut`.

    For lists computed whole (offers, the rate board): the cursor is the sort key, so a
    page stays right when items come and go between requests. A bad cursor is a 400.
    """
    start = 0
    if after is not None:
        try:
            last = tuple(json.loads(after))
        except (ValueError, TypeError) as exc:
            raise Problem(400, "invalid_parameter", "after is the next of a previous page"
                          ) from exc
        start = bisect.bisect_right([_comparable(key(item)) for item in items],
                                    _comparable(last))
    return cut(items[start:start + limit + 1], limit,
               lambda item: json.dumps(list(key(item)), ensure_ascii=False))


def _comparable(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Keys mixing ints and strings still compare (ints first), whatever a client sends."""
    return tuple((0, v) if isinstance(v, int) else (1, str(v)) for v in key)
