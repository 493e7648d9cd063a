"""Turning a view's result into HTML, its JSON twin, CSV, a redirect or a friendly error.

A view returns a :class:`Page` (template + JSON-able ``data`` + HTML-only extras such as
charts), :class:`Rows` (a CSV export, one keyset page at a time with a ``Link: rel=next``)
or :class:`Redirect`. :func:`respond` picks the representation: JSON when the path ends in
``.json`` or the client accepts ``application/json`` rather than HTML.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.explorer import fmt
from api.explorer.context import Ctx, Missing
from api.node.problems import problem_response
from api.node.runtime import Serving

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: Nothing is loaded from anywhere but this node; charts are inline SVG without inline styles.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
HTML_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters.update(yuan=fmt.yuan, unit_yuan=fmt.unit_yuan, num=fmt.num, signed=fmt.signed,
                       short=fmt.short, iso=fmt.iso, percent=fmt.percent, ratio=fmt.ratio)
    return env


templates = Jinja2Templates(env=_environment())


@dataclass
class Page:
    """An HTML page and its JSON twin (``data``); ``html`` holds HTML-only extras."""

    template: str
    title: str
    data: dict[str, Any]
    html: dict[str, Any] = field(default_factory=dict)
    csv: str | None = None  # URL of the CSV export of the page's rows, if any


@dataclass
class Rows:
    """A CSV export: a header, rows, and the URL of the next keyset page (or None)."""

    filename: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    next: str | None = None


@dataclass
class Redirect:
    """A search that found exactly one thing (``data`` is the JSON answer)."""

    url: str
    data: dict[str, Any]


View = Callable[..., Page | Rows | Redirect | Response]


def wants_json(request: Request) -> bool:
    """``.json`` URLs, or an Accept header that prefers JSON to HTML."""
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def respond(request: Request, node: Serving, view: View, **params: Any) -> Response:
    """Run ``view`` and answer in the representation the client asked for."""
    ctx = Ctx(node, request)
    as_json = wants_json(request)
    try:
        result = view(ctx, **params)
    except Missing as exc:
        if as_json or request.url.path.endswith(".csv"):
            return problem_response(exc.status, exc.code, exc.detail)
        title = "Not found" if exc.status == 404 else "Bad request"
        return _html(ctx, "error.html", {"title": title, "csv": None},
                     {"detail": exc.detail, "code": exc.code}, exc.status)
    if isinstance(result, Response):
        return result
    if isinstance(result, Rows):
        return csv_response(result)
    if isinstance(result, Redirect):
        if as_json:
            return JSONResponse(result.data)
        return RedirectResponse(result.url, status_code=303)
    if as_json:
        return JSONResponse(result.data)
    page = {"title": result.title, "csv": result.csv}
    return _html(ctx, result.template, page, {"data": result.data, **result.html}, 200)


def _html(ctx: Ctx, template: str, page: dict[str, Any], context: dict[str, Any],
          status: int) -> HTMLResponse:
    request = ctx.request
    path = request.url.path
    json_url = ("/index.json" if path == "/" else path + ".json")
    if request.url.query:
        json_url += "?" + request.url.query
    site = {"chain": ctx.replica.chain, "height": ctx.height, "zone": ctx.clock.label,
            "path": path, "json": json_url, "q": request.query_params.get("q", "")}
    return templates.TemplateResponse(
        request, template, {"page": page, "site": site, "when": ctx.clock.when,
                            "date": ctx.clock.date, **context},
        status_code=status, headers=HTML_HEADERS)


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV
#: injection"): ``=HYPERLINK(...)`` in an order ref would run on the reader's machine.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell as every CSV export writes it: text that a spreadsheet would take for a
    formula gets a leading ``'``; numbers (ints the node writes itself, negative deltas
    included) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(rows: Rows) -> Response:
    """Every CSV export goes through here: each cell through :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in rows.columns])
    writer.writerows([csv_cell(c) for c in row] for row in rows.rows)
    headers = {"Content-Disposition": f'attachment; filename="{rows.filename}"'}
    if rows.next:
        headers["Link"] = f'<{rows.next}>; rel="next"'
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def download(data: dict[str, Any], filename: str) -> Response:
    """A JSON document to save (a receipt)."""
    body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def link(path: str, **query: Any) -> str:
    """``path`` with the non-empty query parameters."""
    kept = {k: v for k, v in query.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path
