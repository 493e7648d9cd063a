"""The wallet's and till's routes: pages, modules, manifest, service worker and QR codes,
each under a policy that lets nothing from another origin run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.node.runtime import Node
from api.server.app import create_app
from api.wallet.routes import STATIC
from ledger.limits import qr_chars_max


@pytest.fixture
def http(counter_node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(counter_node)) as client:
        yield client


@pytest.mark.parametrize("path", ["/wallet", "/till", "/wallet/static/wallet.js",
                                  "/wallet/static/wallet.css", "/wallet/sw.js"])
def test_pages_and_modules_forbid_other_origins(http: TestClient, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_module_is_served_with_a_javascript_type(http: TestClient) -> None:
    names = sorted(p.name for p in STATIC.glob("*.js"))
    assert "jcs.js" in names and "receipt.js" in names
    for name in names:
        answer = http.get(f"/wallet/static/{name}")
        assert answer.headers["content-type"].startswith("text/javascript"), name
        assert "http://" not in answer.text and "https://" not in answer.text, name


def test_manifest_and_service_worker_make_the_wallet_installable(http: TestClient) -> None:
    manifest = http.get("/wallet/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert json.loads(manifest.text)["start_url"] == "/wallet"
    worker = http.get("/wallet/sw.js")
    assert worker.headers["service-worker-allowed"] == "/"
    assert "/v1/" not in worker.text  # API answers are never cached


def test_qr_code_is_an_svg_and_long_data_is_refused(http: TestClient) -> None:
    answer = http.get("/wallet/qr.svg", params={"data": "ab" * 32})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    assert answer.text.startswith("<svg") and "<path" in answer.text
    refused = http.get("/wallet/qr.svg", params={"data": "x" * (qr_chars_max + 1)})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_parameter"


def test_an_unknown_module_is_a_404_problem(http: TestClient) -> None:
    answer = http.get("/wallet/static/nope.js")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
