"""张三's phone and the shop's till in Debian's Chromium: the whole story, live.

A demo chain is served by uvicorn with a block producer. Two browser contexts: the phone
(390×844) runs /wallet, the till (1280×800) runs /till with Village Kitchen's key file, then
Burger Palace's. Every request of both is inspected: none leaves 127.0.0.1 and no body holds
a private key. Screenshots go to ``test-artifacts/screenshots/wallet-*.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from api.client.client import Client, Wallet
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from tests.api.wallet_kit import DESKTOP, PHONE, Device, browser, live, secrets_of, wallet_secrets

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser", "live"]  # fixtures

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000


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
                             now - MINUTE_MS, now + HOUR_MS, expires=burger.expires()),
                 rec.offer(burger.chain, burger.public, burger.next_seq(), "bp", "burger-1",
                           "经典汉堡 classic burger", 8000, "Chunxi Road", now - MINUTE_MS,
                           now + DAY_MS, expires=burger.expires())):
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
    wallet.get_by_label("我在哪儿").select_option("Chunxi Road")  # nearby offers first
    card = wallet.locator("#offer-list li", has_text="经典汉堡")
    card.wait_for()
    assert "先兑换" in card.inner_text()
    assert "Chunxi Road" in wallet.locator("#offer-list li").first.inner_text()
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
    swaps = [json.loads(b)["body"] for b in phone.bodies() if b'"type":"exchange.swap"' in b]
    assert [s["payload"] for s in swaps] == [{
        "give": "vk", "amount": expected["taken"], "get": "bp", "min_out": expected["out"],
        "give_version": expected["give_version"], "get_version": expected["get_version"]}]
    phone.context.close()
    till.context.close()
