"""The Python client: typed methods for every endpoint; records are signed locally.

    >>> from api.client.client import Client
    >>> node = Client("http://127.0.0.1:8400")
    >>> node.status()["height"]                                  # doctest: +SKIP

A :class:`Wallet` pairs a key with a client: it fetches the key's last sequence number once,
numbers each new record itself and signs it before it leaves the machine. Each record it
makes expires ``ttl_ms`` after the wallet's clock reads (default :data:`record_ttl_ms_default`,
10 minutes): a record that has not committed by then never will, so a refused or lost record
cannot be sent again days later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from api.client.events import follow
from ledger.crypto.keys import SigningKey
from ledger.limits import page_rows_max
from ledger.wire.record import Record, make_body, sign_body

#: How long after signing a record made by a :class:`Wallet` (and the CLI) may commit: long
#: enough to submit and wait for a block, far below the alliance's ``record_ttl_ms_max``.
record_ttl_ms_default = 10 * 60 * 1000


def now_ms() -> int:
    """The wall clock in Unix ms (records' ``expires`` are counted from it)."""
    return time.time_ns() // 1_000_000


class ClientError(Exception):
    """A problem answered by the node (``code`` is the stable error code)."""

    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.body = status, code, detail, body
        self.retry_after_s = body.get("retry_after_s")


class Client:
    """A node's HTTP API."""

    def __init__(self, base_url: str, *, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._answer(self.http.get(path, params=clean))

    def _all(self, path: str, field: str, **params: Any) -> list[Any]:
        """Every item of a paged list, following ``next`` (docs/API.md, "Pages")."""
        items: list[Any] = []
        after = None
        while True:
            page = self._get(path, **params, after=after, limit=page_rows_max)
            items += page[field]
            after = page.get("next")
            if after is None:
                return items

    def _post(self, path: str, content: bytes, **params: Any) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._answer(self.http.post(path, content=content, params=clean,
                                           headers={"content-type": "application/json"}))

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 2xx answer (every endpoint answers an object); else raises."""
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"code": "http_error", "detail": response.text[:200]}
            raise ClientError(response.status_code, str(body.get("code", "http_error")),
                              str(body.get("detail", "")), body)
        answer: dict[str, Any] = response.json()
        return answer

    # -- writes ----------------------------------------------------------------------------

    def submit(self, record: Record, *, wait: bool = False,
               timeout_ms: int = 10_000) -> dict[str, Any]:
        """Send one signed record; with ``wait`` the answer carries a receipt."""
        return self._post("/v1/records", record.wire_bytes(), wait=str(wait).lower(),
                          timeout_ms=timeout_ms)

    def submit_batch(self, records: Sequence[Record], *, wait: bool = False,
                     timeout_ms: int = 30_000) -> dict[str, Any]:
        """Send up to 1000 signed records; one result per record, in order."""
        content = b'{"records":[' + b",".join(r.wire_bytes() for r in records) + b"]}"
        return self._post("/v1/records/batch", content, wait=str(wait).lower(),
                          timeout_ms=timeout_ms)

    # -- chain -----------------------------------------------------------------------------

    def genesis(self) -> dict[str, Any]:
        return self._get("/v1/genesis")

    def status(self) -> dict[str, Any]:
        return self._get("/v1/status")

    def block(self, height: int, *, records: bool = False) -> dict[str, Any]:
        return self._get(f"/v1/blocks/{height}", records=str(records).lower())

    def blocks(self, from_height: int = 1, limit: int = 20, *,
               records: bool = False) -> dict[str, Any]:
        return self._get("/v1/blocks", limit=limit, records=str(records).lower(),
                         **{"from": from_height})

    def record(self, record_id: str) -> dict[str, Any]:
        return self._get(f"/v1/records/{record_id}")

    def receipt(self, record_id: str) -> dict[str, Any]:
        return self._get(f"/v1/records/{record_id}/receipt")

    def checkpoint(self, tree_size: int | None = None) -> dict[str, Any]:
        path = "/v1/checkpoint" if tree_size is None else f"/v1/checkpoints/{tree_size}"
        return self._get(path)

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        return self._get("/v1/proofs/consistency", first=first,
                         second=second)

    def validators(self) -> dict[str, Any]:
        return self._get("/v1/validators")

    def last_seq(self, signer: str) -> int:
        return int(self._get(f"/v1/signers/{signer}/seq")["last"])

    def get(self, path: str, **params: Any) -> Any:
        """Any other read endpoint, as JSON."""
        return self._get(path, **params)

    # -- exchange --------------------------------------------------------------------------

    def programs(self, issuer: str | None = None) -> list[dict[str, Any]]:
        return self._all("/v1/programs", "programs", issuer=issuer)

    def program(self, code: str) -> dict[str, Any]:
        return self._get(f"/v1/programs/{code}")

    def merchants(self, status: str | None = None) -> list[dict[str, Any]]:
        return self._all("/v1/merchants", "merchants", status=status)

    def merchant(self, merchant_id: str) -> dict[str, Any]:
        """Profile, programs, liability and settlement position."""
        return self._get(f"/v1/merchants/{merchant_id}")

    def members(self) -> list[dict[str, Any]]:
        members: list[dict[str, Any]] = self._get("/v1/members")["members"]
        return members

    def rates(self) -> list[dict[str, Any]]:
        return self._all("/v1/rates", "rates")

    def balances(self, account: str) -> dict[str, Any]:
        return self._get(f"/v1/accounts/{account}/balances")

    def history(self, account: str, limit: int = 50,
                after: str | None = None) -> dict[str, Any]:
        return self._get(f"/v1/accounts/{account}/history", limit=limit,
                         after=after)

    def quote(self, give: str, amount: int, get: str,
              holder: str | None = None) -> dict[str, Any]:
        """What a swap yields now; ``code`` is "ok" or the rule that would refuse it."""
        return self._get("/v1/quote", give=give, amount=amount, get=get,
                         holder=holder)

    def offers(self, program: str | None = None,
               area: str | None = None) -> list[dict[str, Any]]:
        """Live redemption offers (of one program, in one area)."""
        return self._all("/v1/offers", "offers", program=program, area=area)

    def offers_for(self, account: str, area: str | None = None) -> list[dict[str, Any]]:
        """The live offers ``account`` can pay for (``pay``: direct or after_swap), nearest
        ``area`` first; an after_swap offer carries the ``swap`` to sign."""
        return self._all(f"/v1/accounts/{account}/offers", "offers", area=area)

    def statement(self) -> dict[str, Any]:
        return self._get("/v1/settlement/statement")

    def obligations(self) -> dict[str, Any]:
        return self._get("/v1/settlement/obligations")

    def regulator_report(self) -> dict[str, Any]:
        return self._get("/v1/regulator/report")

    def events(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Committed records as they land (``GET /v1/events``); see api.client.events.follow
        for the filters (``program``, ``account``, ``merchant``) and where to start."""
        return follow(self.http, **filters)


class Wallet:
    """A signing key with its own sequence counter, bound to one chain and one node."""

    def __init__(self, key: SigningKey, client: Client, chain: str | None = None, *,
                 ttl_ms: int = record_ttl_ms_default,
                 clock: Callable[[], int] = now_ms) -> None:
        self.key, self.client = key, client
        self.chain = chain or client.genesis()["genesis"]["chain"]
        self.ttl_ms, self.clock = ttl_ms, clock
        self._seq: int | None = None

    def expires(self) -> int:
        """``expires`` for a record signed now: the clock plus this wallet's ``ttl_ms``."""
        return self.clock() + self.ttl_ms

    @property
    def public(self) -> str:
        return self.key.public_hex

    def next_seq(self) -> int:
        if self._seq is None:
            self._seq = self.client.last_seq(self.public)
        self._seq += 1
        return self._seq

    def resync(self) -> None:
        """Forget the local counter (after a rejected record, say)."""
        self._seq = None

    def sign(self, record_type: str, payload: dict[str, Any]) -> Record:
        """Build and sign a record of this wallet's key."""
        body = make_body(self.chain, record_type, [self.public], self.next_seq(), payload,
                         expires=self.expires())
        return sign_body(body, [self.key])

    def sign_body(self, body: dict[str, Any]) -> Record:
        """Sign a body built elsewhere (e.g. by ``exchange.records``)."""
        return sign_body(body, [self.key])
