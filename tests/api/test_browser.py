"""The explorer in a real browser: Debian's Chromium, headless, through Playwright.

A demo chain is served by uvicorn on a free local port. The tests follow links from home to a
block, a record, an account and a program, use the search box, check what is visible, fail
on any console error, and save screenshots to ``test-artifacts/screenshots/``. With
``JIFENTONG_DOCS_SCREENSHOT=1`` the desktop home page is also written to docs/explorer.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.demo.build import build_demo
from api.server.app import create_app
from api.server.serving import open_exchange_node
from tests.api.serving import served_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install playwright)")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("browser") / "demo"
    build_demo(path, seed=7, customers=60, days=7)
    node = open_exchange_node(path, produce=False)
    try:
        with served_app(create_app(node), "explorer-server") as base:
            yield base
    finally:
        node.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=ARGS)
        yield launched
        launched.close()


class Tab:
    """One page that records console errors and saves screenshots."""

    def __init__(self, browser: Any, base_url: str, viewport: dict[str, int]) -> None:
        self.base_url = base_url
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"{m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.set_default_timeout(10_000)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == 200, path
        return self.page

    def shot(self, name: str, full_page: bool = True) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def heading(self, name: str) -> bool:
        return bool(self.page.get_by_role("heading", name=name).first.is_visible())

    def close(self, expected: tuple[str, ...] = ()) -> None:
        self.page.close()
        unexpected = [e for e in self.errors if not any(x in e for x in expected)]
        assert not unexpected, unexpected


@pytest.fixture
def tab(browser: Any, base_url: str) -> Iterator[Tab]:
    opened = Tab(browser, base_url, DESKTOP)
    yield opened
    opened.close()


def test_home_to_block_to_record_to_account_to_program(tab: Tab) -> None:
    page = tab.goto("/")
    assert tab.heading("Records per day") and tab.heading("Validators")
    assert page.locator("svg#records-chart").is_visible()
    assert page.get_by_text("✓ yes").count() == 4
    path = tab.shot("home-desktop", full_page=False)
    if os.environ.get("JIFENTONG_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "explorer.png")
    tab.shot("home-desktop-full")
    page.locator("section[aria-labelledby=recent-blocks] tbody a").first.click()
    page.wait_for_url("**/blocks/*")
    for _ in range(8):  # walk back to a block with a customer's record in it
        assert tab.heading("Commit certificate")
        assert page.get_by_text("✓ verified").count() == 4
        rows = page.locator("#records ~ div tbody tr", has_text="exchange.swap")
        if rows.count():
            break
        page.get_by_role("link", name="← Block").click()
    assert rows.count(), "no swap in the last blocks"
    tab.shot("block")
    rows.first.locator("a[href^='/records/']").click()
    page.wait_for_url("**/records/*")
    assert tab.heading("What it did") and tab.heading("Inclusion proof")
    assert page.get_by_text("burned").first.is_visible()
    assert page.get_by_text("✓ verified").is_visible()
    assert page.get_by_role("link", name="Download the receipt").is_visible()
    tab.shot("record")
    page.locator("ul.effects a[href^='/accounts/']").first.click()
    page.wait_for_url("**/accounts/*")
    assert tab.heading("Balances") and tab.heading("History")
    tab.shot("account")
    page.locator("#balances ~ div tbody a[href^='/programs/']").first.click()
    page.wait_for_url("**/programs/*")
    assert tab.heading("Holders") and tab.heading("Posted rate")
    assert page.locator("svg#flows-chart").is_visible()
    assert page.locator("svg#holders-chart").is_visible()
    tab.shot("program")


def test_search_box(tab: Tab) -> None:
    page = tab.goto("/")
    box = page.get_by_role("searchbox", name="Search the chain")
    box.fill("bp")
    box.press("Enter")
    page.wait_for_url("**/programs/bp")
    assert page.get_by_role("heading", level=1).inner_text().endswith("BP")
    box = page.get_by_role("searchbox", name="Search the chain")
    box.fill("3")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/blocks/3")
    assert page.get_by_role("heading", name="Block 3").is_visible()
    box = page.get_by_role("searchbox", name="Search the chain")
    box.fill("Burger")
    box.press("Enter")
    page.wait_for_url("**/search?q=Burger")
    assert page.get_by_text("2 results for").is_visible()
    assert page.get_by_role("link", name="汉堡宫 Burger Palace").is_visible()
    tab.shot("search")


@pytest.mark.parametrize("path", ["/blocks", "/records", "/programs", "/rates", "/alliance",
                                  "/settlement", "/merchants/burger-palace", "/blocks/999999"])
def test_other_pages_render_without_errors(browser: Any, base_url: str, path: str) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = Tab(browser, base_url, viewport)
        response = tab.page.goto(base_url + path)
        assert response is not None
        assert response.status == (404 if path == "/blocks/999999" else 200)
        assert tab.page.locator("h1").first.is_visible()
        wide = tab.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{path} scrolls sideways on a {name}"
        tab.shot(f"{path.strip('/').replace('/', '-')}-{name}")
        # a 404 page is logged by Chromium as a failed load of the document itself
        tab.close(("status of 404",) if path == "/blocks/999999" else ())
