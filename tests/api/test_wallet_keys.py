"""Keys in the browser: restoring a converted key file, backing up, a passphrase-protected
key file in the till, the installed shell offline, and axe-core on both pages in both
languages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto.keys import SigningKey
from tests.api.wallet_kit import DESKTOP, PHONE, Device, browser, live, secrets_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser", "live"]  # fixtures

def test_wallet_restores_a_converted_key_file(live: tuple[str, Path], browser: Any,
                                              tmp_path: Path) -> None:
    """`jifentong keys export-wallet` output restores in the wallet with its passphrase."""
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
