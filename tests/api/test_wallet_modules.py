"""The wallet's modules in Chromium against Python: the canonical encoder (RFC 8785 vectors,
adversarial inputs, any restricted JSON), record signing byte for byte, the ``expires``
rule, and backup files both ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client.client import Client
from exchange import records as rec
from ledger.crypto.keys import SigningKey
from tests.api.wallet_kit import browser, live, page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser", "live", "page"]  # fixtures

JCS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "jcs"
ADVERSARIES = ['{"a":1,"a":2}', '"\\ud800"', "9007199254740992", "-0", "1e3", "[1.0]", "NaN",
               '{"\\u0061":1,"a":2}', "[" * 17 + "1" + "]" * 17, "[1,]", '{"a":1} x',
               '"\\u00e9\\ud83d\\ude00\\t"', "-9007199254740991", '{"b":[true,null],"a":{}}']


def test_js_canonical_encoder_matches_the_jcs_vectors_and_python(page: Any) -> None:
    """The RFC 8785 vectors within the restricted model encode byte for byte; the others
    (floats) are refused, as Python refuses them; adversarial inputs get Python's codes."""
    from ledger.errors import EncodingError
    from ledger.wire.canonical import canonical_bytes, parse_strict

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
    from ledger.wire.record import sign_body

    key = SigningKey.from_seed(bytes(range(32)))
    with Client(live[0]) as node:
        genesis = node.genesis()["genesis"]
    now_ms = 1_767_225_600_000  # the browser's clock, given: its expires is now + 10 minutes
    body = rec.swap(genesis["chain"], key.public_hex, 42, "vk", 667, "bp", 8004, 1, 1,
                    expires=now_ms + 600_000)
    der = b"".join(key.to_pem().splitlines()[1:-1]).decode()
    got = page.evaluate("""async ([genesis, der, payload, nowMs]) => {
        const c = await import('/wallet/static/crypto.js');
        const r = await import('/wallet/static/record.js');
        const pair = await c.pairFromPkcs8(c.unb64(der));
        const pub = await c.publicHex(pair.publicKey);
        const body = r.makeBody(genesis, 'exchange.swap', [pub], 42, payload, nowMs);
        return (await r.signBody(body, [pair.privateKey])).wire;
    }""", [genesis, der, body["payload"], now_ms])
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
    from api.client.backup import make_backup, open_backup

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
    from ledger.wire.canonical import canonical_bytes

    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if ascii_only else None)
    got = page.evaluate("""async (text) => {
        const jcs = await import('/wallet/static/jcs.js');
        return jcs.canonical(jcs.parseStrict(text));
    }""", text)
    assert got.encode() == canonical_bytes(value)
