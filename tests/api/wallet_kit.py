"""What the wallet's browser tests share: a live node over a small demo chain, Debian's
Chromium, and a :class:`Device` (one browser context: a phone or a till) that records every
request and console error. Imported by the ``test_wallet_*`` modules: the fixtures are per
module (Playwright's sync API allows one instance at a time, so each module's ends before
the next module's starts)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.demo.build import build_demo
from api.server.app import create_app
from api.server.serving import open_exchange_node
from ledger.crypto.keys import SigningKey
from tests.api.serving import served_app
from tests.api.test_browser import ARGS, CHROMIUM, SHOTS, sync_api

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A producing node over a small demo chain: (base URL, data dir)."""
    path = tmp_path_factory.mktemp("wallet") / "demo"
    build_demo(path, seed=7, customers=30, days=3)
    node = open_exchange_node(path)
    try:
        with served_app(create_app(node), "wallet-server") as base:
            yield base, path
    finally:
        node.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=ARGS)
        yield launched
        launched.close()


class Device:
    """One browser context (a phone or a till) that records requests and console errors."""

    def __init__(self, browser: Any, base: str, viewport: dict[str, int], name: str) -> None:
        self.base, self.name = base, name
        self.context = browser.new_context(viewport=viewport, locale="zh-CN",
                                           accept_downloads=True)
        self.requests: list[tuple[str, str, bytes]] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.context.on("request", lambda r: self.requests.append(
            (r.method, r.url, r.post_data_buffer or b"")))
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.base + "/") or route.request.url.startswith("blob:"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        return self.page

    def shot(self, step: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"wallet-{step}-{self.name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def bodies(self) -> list[bytes]:
        return [body for _, _, body in self.requests if body]


def secrets_of(key: SigningKey) -> list[bytes]:
    """Every spelling of a private key a page could leak: seed hex, base64, PKCS#8 base64."""
    seed = key.seed()
    der_b64 = b"".join(key.to_pem().splitlines()[1:-1])
    return [seed.hex().encode(), base64.b64encode(seed), base64.urlsafe_b64encode(seed).rstrip(
        b"="), der_b64]


def wallet_secrets(page: Any) -> list[bytes]:
    """The phone's private key, read back from IndexedDB: seed hex, JWK d, PKCS#8 base64."""
    found = page.evaluate("""async () => {
        const store = await import('/wallet/static/store.js');
        const pair = await store.get('wallet-key');
        const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
        const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
        const seed = der.slice(-32);
        const hex = Array.from(seed, b => b.toString(16).padStart(2, '0')).join('');
        return [hex, jwk.d, btoa(String.fromCharCode(...der)), btoa(String.fromCharCode(...seed))];
    }""")
    return [s.encode() for s in found]


@pytest.fixture
def page(live: tuple[str, Path], browser: Any) -> Iterator[Any]:
    """A phone's /wallet page, for running the wallet's modules."""
    device = Device(browser, live[0], PHONE, "modules")
    yield device.goto("/wallet")
    assert not device.errors and not device.outside
    device.context.close()
