"""张三's phone and the shop's till in Debian's Chromium: the whole story, live.

A demo chain is served by uvicorn with a block producer. Two browser contexts: the phone
(390×844) runs /wallet, the till (1280×800) runs /till with Village Kitchen's key file, then
Burger Palace's. Every request of both is inspected: none leaves 127.0.0.1 and no body holds
a private key. Screenshots go to ``test-artifacts/screenshots/wallet-*.png``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client import Client, Wallet
from api.demo import build_demo
from api.server import create_app
from api.serving import open_exchange_node
from exchange import records as rec
from ledger.keys import SigningKey
from tests.api.test_browser import ARGS, CHROMIUM, DESKTOP, PHONE, SHOTS, _free_port, sync_api

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A producing node over a small demo chain: (base URL, data dir)."""
    import uvicorn

    path = tmp_path_factory.mktemp("wallet") / "demo"
    build_demo(path, seed=7, customers=30, days=3)
    node = open_exchange_node(path)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(node), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="wallet-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", path
    server.should_exit = True
    thread.join(timeout=10)
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


def tamper_amount(receipt: dict[str, Any]) -> dict[str, Any]:
    receipt["record"]["body"]["payload"]["amount"] = 80
    return receipt


def tamper_proof(receipt: dict[str, Any]) -> dict[str, Any]:
    receipt["index"] = (receipt["index"] + 1) % max(receipt["tree_size"], 2)
    receipt["inclusion_proof"] = receipt["inclusion_proof"] or ["00" * 32]
    return receipt


def tamper_vote(receipt: dict[str, Any]) -> dict[str, Any]:
    for vote in receipt["certificate"]["signatures"]:
        vote["sig"] = ("1" if vote["sig"][0] == "0" else "0") + vote["sig"][1:]
    return receipt


def test_story_till_issues_wallet_swaps_redeems_and_checks_receipt(
        live: tuple[str, Path], browser: Any) -> None:
    base, data = live
    with Client(base) as node:
        story(base, data, node, browser)


def story(base: str, data: Path, node: Client, browser: Any) -> None:
    """The five steps of the issue, each with its screenshots."""
    now = int(time.time() * 1000)
    burger = Wallet(SigningKey.load(data / "keys/merchants/burger-palace.pem"), node)
    for body in (rec.promote(burger.chain, burger.public, burger.next_seq(), "bp", "vk", 2000,
                             now - MINUTE_MS, now + HOUR_MS),
                 rec.offer(burger.chain, burger.public, burger.next_seq(), "bp", "burger-1",
                           "经典汉堡 classic burger", 8000, "Chunxi Road", now - MINUTE_MS,
                           now + DAY_MS)):
        assert node.submit(burger.sign_body(body), wait=True)["status"] == "committed"

    phone = Device(browser, base, PHONE, "phone")
    till = Device(browser, base, DESKTOP, "till")
    wallet = phone.goto("/wallet")
    wallet.get_by_role("button", name="创建我的钥匙").click()
    key_text = wallet.locator("#my-key")
    key_text.wait_for()
    customer = key_text.inner_text().strip()
    assert len(customer) == 64
    phone.shot("0-new")

    # 1. The till (Village Kitchen) issues 800 VK points for a ¥80 meal to 张三's key.
    desk = till.goto("/till")
    desk.locator("#key-file").set_input_files(str(data / "keys/merchants/village-kitchen.pem"))
    desk.get_by_role("button", name="载入").click()
    desk.get_by_text("商户：乡村基 Village Kitchen").wait_for()
    desk.get_by_label("顾客收款码").fill(customer)
    desk.get_by_label("消费金额（元）").fill("80")
    desk.get_by_text("将发放 800 VK").wait_for()
    till.shot("1-issue")
    desk.get_by_role("button", name="发放积分").click()
    desk.get_by_text("已发放 800 VK").wait_for()
    till.shot("1-issued")

    # 2. 张三 sees them arrive (live, through the event stream) and opens his offers.
    wallet.locator("#holdings").get_by_text("800 分").wait_for()
    assert wallet.locator("#total").inner_text() == "¥8.00"
    phone.shot("2-points")
    wallet.get_by_role("link", name="优惠").click()
    card = wallet.locator("#offer-list li", has_text="经典汉堡")
    card.wait_for()
    assert "先兑换" in card.inner_text()
    phone.shot("2-offers")

    # 3. During Burger Palace's promotion he swaps VK→BP at the quoted rate.
    card.get_by_role("button", name="用这个优惠").click()
    quote = wallet.locator("#quote")
    quote.get_by_text("活动加赠 20%").wait_for()
    expected = node.quote("vk", int(wallet.locator("#swap-amount").input_value()), "bp",
                          customer)
    assert expected["bonus_bp"] == 2000
    assert f"→ {expected['out']:,} BP" in quote.inner_text()
    assert f"版本{expected['get_version']}" in quote.inner_text()
    phone.shot("3-quote")
    wallet.get_by_role("button", name="按此报价兑换").click()
    wallet.locator("#result-text").get_by_text("已兑换").wait_for()
    wallet.locator("#receipt-verdict").get_by_text("✓ 凭证有效").wait_for()
    phone.shot("3-swapped")

    # 4. Burger Palace's till shows an order code; 张三 pays with it; the feed shows it live.
    till.context.close()
    till = Device(browser, base, DESKTOP, "till-bp")
    desk = till.goto("/till")
    desk.locator("#key-file").set_input_files(str(data / "keys/merchants/burger-palace.pem"))
    desk.get_by_role("button", name="载入").click()
    order = desk.locator("#order-code")
    order.wait_for()
    code = order.inner_text().strip()
    assert code.startswith("BU-")
    till.shot("4-order")
    assert wallet.locator("#redeem-program").input_value() == "bp"
    assert wallet.locator("#redeem-amount").input_value() == "8000"
    wallet.get_by_label("订单码").fill(code)
    wallet.get_by_role("button", name="消费", exact=True).click()
    wallet.locator("#result-text").get_by_text(f"已消费 8,000 BP，订单 {code}").wait_for()
    desk.locator("#feed").get_by_text(f"8,000 BP 消费 · 订单 {code}").wait_for()
    assert desk.locator("#sum-redeemed").inner_text() == "8,000"
    desk.locator("#feed").get_by_text("BP 兑入（来自 VK）").first.wait_for()  # today's swap
    assert int(desk.locator("#sum-swapped").inner_text().replace(",", "")) == expected["out"]
    till.shot("4-feed")

    # 5. 张三 checks his receipt in the browser; a tampered copy is refused.
    verdict = wallet.locator("#receipt-verdict")
    verdict.get_by_text("✓ 凭证有效").wait_for()
    verdict.scroll_into_view_if_needed()
    phone.shot("5-receipt")
    genuine = wallet.locator("#receipt-text").input_value()
    assert json.loads(genuine)["record"]["body"]["type"] == "exchange.redeem"
    for change, code in ((tamper_amount, "bad_signature"),
                         (tamper_proof, "inclusion_proof_invalid"),
                         (tamper_vote, "certificate_below_quorum")):
        wallet.locator("#receipt-text").fill(json.dumps(change(json.loads(genuine))))
        wallet.get_by_role("button", name="核对", exact=True).click()
        verdict.get_by_text(f"({code})").wait_for()
        assert verdict.inner_text().startswith("✗ 凭证无效")
        if code == "bad_signature":
            phone.shot("5-tampered")
    wallet.locator("#receipt-text").fill(genuine)
    wallet.get_by_role("button", name="核对", exact=True).click()
    verdict.get_by_text("✓ 凭证有效").wait_for()

    # Nothing left 127.0.0.1, no body held a private key, no console errors.
    secrets = wallet_secrets(wallet) + secrets_of(SigningKey.load(
        data / "keys/merchants/village-kitchen.pem")) + secrets_of(SigningKey.load(
            data / "keys/merchants/burger-palace.pem"))
    for device in (phone, till):
        assert not device.outside, device.outside
        assert not device.errors, device.errors
        for body in device.bodies():
            assert not any(s in body for s in secrets), body[:200]
    assert any(b'"type":"exchange.swap"' in body for body in phone.bodies())
    phone.context.close()
    till.context.close()


JCS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "jcs"
ADVERSARIES = ['{"a":1,"a":2}', '"\\ud800"', "9007199254740992", "-0", "1e3", "[1.0]", "NaN",
               '{"\\u0061":1,"a":2}', "[" * 17 + "1" + "]" * 17, "[1,]", '{"a":1} x',
               '"\\u00e9\\ud83d\\ude00\\t"', "-9007199254740991", '{"b":[true,null],"a":{}}']


@pytest.fixture
def page(live: tuple[str, Path], browser: Any) -> Iterator[Any]:
    device = Device(browser, live[0], PHONE, "modules")
    yield device.goto("/wallet")
    assert not device.errors and not device.outside
    device.context.close()


def test_js_canonical_encoder_matches_the_jcs_vectors_and_python(page: Any) -> None:
    """The RFC 8785 vectors within the restricted model encode byte for byte; the others
    (floats) are refused, as Python refuses them; adversarial inputs get Python's codes."""
    from ledger.canonical import canonical_bytes, parse_strict
    from ledger.errors import EncodingError

    if not JCS.is_dir():
        pytest.skip(f"JCS vectors not found at {JCS}")
    run = """async ([text, depth]) => {
        const jcs = await import('/wallet/static/jcs.js');
        try { return {ok: jcs.canonical(jcs.parseStrict(text, depth))}; }
        catch (e) { return {code: e.code}; }
    }"""
    refused = []
    for source in sorted((JCS / "input").glob("*.json")):
        got = page.evaluate(run, [source.read_text(encoding="utf-8"), 32])
        if "ok" in got:
            assert got["ok"].encode() == (JCS / "output" / source.name).read_bytes(), source.name
        else:
            refused.append(source.name)
            assert got["code"] == "float_not_allowed"
            with pytest.raises(EncodingError):
                parse_strict(source.read_bytes(), depth_max=32)
    assert refused == ["structures.json", "values.json"]
    for text in ADVERSARIES:
        got = page.evaluate(run, [text, 16])
        try:
            expected = {"ok": canonical_bytes(parse_strict(text)).decode()}
        except EncodingError as exc:
            expected = {"code": exc.code}
        if expected.get("code") == "malformed_json":
            assert got.get("code") == "malformed_json", text
        else:
            assert got == expected, text


def test_a_record_signed_in_the_browser_is_byte_identical_to_pythons(
        page: Any, live: tuple[str, Path]) -> None:
    from ledger.record import sign_body

    key = SigningKey.from_seed(bytes(range(32)))
    with Client(live[0]) as node:
        genesis = node.genesis()["genesis"]
    body = rec.swap(genesis["chain"], key.public_hex, 42, "vk", 667, "bp", 8004, 1, 1)
    der = b"".join(key.to_pem().splitlines()[1:-1]).decode()
    got = page.evaluate("""async ([genesis, der, payload]) => {
        const c = await import('/wallet/static/crypto.js');
        const r = await import('/wallet/static/record.js');
        const pair = await c.pairFromPkcs8(c.unb64(der));
        const pub = await c.publicHex(pair.publicKey);
        const body = r.makeBody(genesis, 'exchange.swap', [pub], 42, payload);
        return (await r.signBody(body, [pair.privateKey])).wire;
    }""", [genesis, der, body["payload"]])
    assert got.encode() == sign_body(body, [key]).wire_bytes()


def test_the_body_builder_adds_expires_exactly_when_the_genesis_has_a_ttl(page: Any) -> None:
    got = page.evaluate("""async () => {
        const r = await import('/wallet/static/record.js');
        const at = (g) => r.makeBody({chain: 'c', ...g}, 't.x', ['k'], 1, {}, 1000);
        return [at({params: {}}), at({params: {record_ttl_ms_max: 3600000}}),
                at({params: {record_ttl_ms_max: 60000}}), r.RECORD_TTL_MS_DEFAULT];
    }""")
    without, hour, minute, default = got
    assert "expires" not in without
    assert hour["expires"] == 1000 + default and default < 3_600_000
    assert minute["expires"] == 1000 + 60_000


def test_backups_open_across_python_and_the_browser(page: Any, tmp_path: Path) -> None:
    from api.wallet_backup import make_backup, open_backup

    key = SigningKey.from_seed(b"\x33" * 32)
    made_here = make_backup(key, "芝麻开门 open sesame", "test")
    opened = page.evaluate("""async ([backup, pass]) => {
        const c = await import('/wallet/static/crypto.js');
        const pub = await c.publicHex((await c.openBackup(backup, pass)).publicKey);
        let wrong = null;
        try { await c.openBackup(backup, 'not it'); } catch (e) { wrong = e.message; }
        const made = await c.makeBackup(await c.openBackup(backup, pass), 'browser pass 1');
        return [pub, wrong, made];
    }""", [made_here, "芝麻开门 open sesame"])
    assert opened[0] == key.public_hex and opened[1] == "wrong_passphrase"
    assert open_backup(opened[2], "browser pass 1").public_hex == key.public_hex
    assert key.seed().hex() not in json.dumps(opened[2])


def test_wallet_restores_a_converted_key_file(live: tuple[str, Path], browser: Any,
                                              tmp_path: Path) -> None:
    """`jifentong keys export-wallet` output restores in the wallet with its passphrase."""
    import os
    import subprocess
    import sys

    key_file = tmp_path / "alice.pem"
    SigningKey.from_seed(b"\x44" * 32).save(key_file, "correct horse")
    backup = tmp_path / "alice.json"
    env = {**os.environ, "KEYPASS": "correct horse"}
    subprocess.run([sys.executable, "-m", "api", "keys", "export-wallet", str(key_file),
                    "--out", str(backup), "--passphrase-env", "KEYPASS"], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[2], capture_output=True, timeout=60)
    phone = Device(browser, live[0], PHONE, "restore")
    wallet = phone.goto("/wallet")
    wallet.get_by_text("从备份恢复或导入钥匙文件").click()
    wallet.locator("#restore-file").set_input_files(str(backup))
    wallet.locator("#restore-pass").fill("wrong")
    wallet.get_by_role("button", name="恢复").click()
    wallet.get_by_text("口令不对").wait_for()
    wallet.locator("#restore-pass").fill("correct horse")
    wallet.get_by_role("button", name="恢复").click()
    wallet.get_by_text("钥匙已恢复。").wait_for()
    assert wallet.locator("#my-key").inner_text() == SigningKey.from_seed(b"\x44" * 32).public_hex
    with phone.page.expect_download() as download:
        wallet.locator("#backup-pass").fill("a new passphrase")
        wallet.get_by_role("button", name="下载加密备份").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["format"] == "jifentong-wallet-backup" and saved["kdf"]["iterations"] >= 600_000
    phone.shot("restored")
    worker = wallet.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert worker.endswith("/wallet/sw.js")
    assert not phone.errors and not phone.outside
    phone.context.set_offline(True)  # the service worker's shell still opens
    wallet.reload()
    assert wallet.get_by_role("heading", name="积分通钱包").is_visible()
    phone.context.close()


AXE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "npm"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core from npm, installed for the tests only (.ci/run installs it; never served)."""
    import shutil
    import subprocess

    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--silent", "--no-save", "--prefix", str(AXE_DIR),
                        "axe-core@4"], capture_output=True, timeout=300, check=False)
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install --prefix .cache/npm "
                    "axe-core@4, as .ci/run does)")
    return AXE.read_text(encoding="utf-8")


def violations(page: Any, source: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    page.evaluate(source)
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations
        .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)""")
    return list(found)


def test_wallet_and_till_pass_axe_in_chinese_and_english(
        live: tuple[str, Path], browser: Any, axe_source: str) -> None:
    base, data = live
    phone = Device(browser, base, PHONE, "axe")
    wallet = phone.goto("/wallet")
    assert violations(wallet, axe_source) == []  # the first visit: setup only
    wallet.get_by_role("button", name="创建我的钥匙").click()
    wallet.locator("#my-key").wait_for()
    wallet.locator("#holdings li").first.wait_for()
    assert violations(wallet, axe_source) == []
    wallet.get_by_role("button", name="English").click()
    wallet.get_by_role("heading", name="My points").wait_for()
    assert wallet.locator("html").get_attribute("lang") == "en"
    assert violations(wallet, axe_source) == []
    phone.shot("english")
    wallet.keyboard.press("Tab")  # from the toggle on to the tabs, and back, by keyboard
    assert wallet.evaluate("document.activeElement.textContent") == "Points"
    wallet.keyboard.press("Shift+Tab")
    assert wallet.evaluate("document.activeElement.id") == "lang"
    wallet.keyboard.press("Tab")
    wallet.keyboard.press("Enter")
    wallet.wait_for_url("**/wallet#points")
    till = Device(browser, base, DESKTOP, "axe-till")
    desk = till.goto("/till")
    desk.locator("#key-file").set_input_files(str(data / "keys/merchants/village-kitchen.pem"))
    desk.get_by_role("button", name="载入").click()
    desk.locator("#order-code").wait_for()
    assert violations(desk, axe_source) == []
    for device in (phone, till):
        assert not device.errors and not device.outside
        device.context.close()


def test_till_loads_a_passphrase_protected_key_file(live: tuple[str, Path], browser: Any,
                                                    tmp_path: Path) -> None:
    """A `jifentong keys new` file (PBES2: PBKDF2-SHA-256 + AES-256-CBC) opens in the
    browser with its passphrase, typed there; a wrong one is refused."""
    base, data = live
    protected = tmp_path / "village-kitchen.pem"
    SigningKey.load(data / "keys/merchants/village-kitchen.pem").save(protected, "店里的口令")
    assert b"ENCRYPTED" in protected.read_bytes()
    till = Device(browser, base, DESKTOP, "protected")
    desk = till.goto("/till")
    desk.locator("#key-file").set_input_files(str(protected))
    desk.get_by_label("口令").fill("not the passphrase")
    desk.get_by_role("button", name="载入").click()
    desk.get_by_text("口令不对").wait_for()
    desk.get_by_label("口令").fill("店里的口令")
    desk.get_by_role("button", name="载入").click()
    desk.get_by_text("商户：乡村基 Village Kitchen").wait_for()
    assert not till.errors and not till.outside
    secrets = secrets_of(SigningKey.load(protected, "店里的口令"))
    assert not any(s in body for body in till.bodies() for s in secrets)
    till.context.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_js_and_python_canonical_bytes_agree_on_any_restricted_json(
        page: Any, value: Any, ascii_only: bool) -> None:
    from ledger.canonical import canonical_bytes

    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if ascii_only else None)
    got = page.evaluate("""async (text) => {
        const jcs = await import('/wallet/static/jcs.js');
        return jcs.canonical(jcs.parseStrict(text));
    }""", text)
    assert got.encode() == canonical_bytes(value)
