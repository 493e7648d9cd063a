"""Routes of the wallet and till pages: HTML, ES modules, manifest, service worker, QR SVG.

Every response forbids loading anything from another origin (Content-Security-Policy), so
the pages run only code this node shipped. QR codes are drawn here by ``segno`` as SVG.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import segno
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.node.problems import problem_response
from ledger.limits import qr_chars_max

router = APIRouter(include_in_schema=False)

PAGES = Path(__file__).parent / "pages"
STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8",
         ".webmanifest": "application/manifest+json"}


def _load(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


_PAGES, _STATIC = _load(PAGES), _load(STATIC)


def _file(files: dict[str, bytes], name: str, **headers: str) -> Response:
    body = files.get(name)
    if body is None:
        return problem_response(404, "not_found", f"no file {name!r}")
    kind = TYPES.get(Path(name).suffix, "application/octet-stream")
    return Response(body, media_type=kind, headers={
        "content-security-policy": CSP, "cache-control": "no-cache",
        "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", **headers})


@router.get("/wallet")
def wallet() -> Response:
    return _file(_PAGES, "wallet.html")


@router.get("/till")
def till() -> Response:
    return _file(_PAGES, "till.html")


@router.get("/wallet/manifest.webmanifest")
def manifest() -> Response:
    return _file(_PAGES, "manifest.webmanifest")


@router.get("/wallet/sw.js")
def service_worker() -> Response:
    """The shell's service worker; allowed to control ``/wallet`` and ``/till``."""
    return _file(_STATIC, "sw.js", **{"service-worker-allowed": "/"})


@router.get("/wallet/static/{name}")
def static(name: str) -> Response:
    return _file(_STATIC, name)


@router.get("/wallet/qr.svg")
def qr(data: Annotated[str, Query(min_length=1, max_length=qr_chars_max)]) -> Response:
    """``data`` as a QR code (error correction M), black on white, SVG."""
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="svg", scale=6, border=2,
                                                  xmldecl=False, svgns=True,
                                                  title="QR", dark="#000", light="#fff")
    return Response(out.getvalue(), media_type="image/svg+xml",
                    headers={"cache-control": "public, max-age=86400",
                             "content-security-policy": CSP})
