"""A small client for etcd's v3 JSON gateway (``/v3/kv/*``, ``/v3/watch``) over httpx.

Why the gateway and not a gRPC client: the Python etcd clients on PyPI pin old protobuf and
grpcio releases that conflict with today's; the gateway is part of every etcd 3.4+ server,
speaks JSON (keys and values base64, 64-bit integers as strings) and needs only httpx, which
the node already uses. A put returns only after the entry is committed by a Raft majority.

With :class:`EtcdTLS` the client speaks TLS to etcd: it checks the members' certificates
against the alliance's CA and, where etcd runs with ``--client-cert-auth``, presents this
node's client certificate.

Every call tries the endpoints in turn (a member that is down or has lost its leader is
skipped) until ``etcd_request_s_max`` has passed, then raises :class:`OrderingUnavailable`.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from ledger.errors import OrderingUnavailable
from ledger.limits import etcd_request_s_max, etcd_txn_ops_max

_RETRY_S = 0.05


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key after every key that starts with ``prefix`` (etcd's range_end)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int


def _kv(obj: dict[str, Any]) -> KeyValue:
    return KeyValue(_unb64(obj.get("key")), _unb64(obj.get("value")),
                    int(obj.get("create_revision", 0)), int(obj.get("mod_revision", 0)))


@dataclass(frozen=True)
class EtcdTLS:
    """TLS to etcd: ``ca`` issued the etcd members' certificates; ``cert`` and ``key`` (both
    or neither) are this node's client certificate, for etcd's ``--client-cert-auth``."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def context(self) -> ssl.SSLContext:
        """The SSL context of every connection to etcd (raises OSError or ssl.SSLError on an
        unreadable or mismatched file, ValueError when only one of cert and key is given)."""
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs its key, and a key its certificate")
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.cert is not None and self.key is not None:
            context.load_cert_chain(str(self.cert), str(self.key))
        return context


class KeyValueStore(Protocol):
    """The key-value calls :class:`ledger.consensus.ordering.EtcdLog` makes: of an etcd
    cluster (:class:`EtcdClient`), or of the simulator's etcd
    (:class:`ledger.consensus.sim_etcd.SimConnection`)."""

    def put(self, key: bytes, value: bytes) -> int: ...

    def put_many(self, items: Sequence[tuple[bytes, bytes]]) -> None: ...

    def create(self, key: bytes, value: bytes) -> tuple[bool, KeyValue]: ...

    def get(self, key: bytes) -> KeyValue | None: ...

    def get_many(self, keys: Sequence[bytes]) -> list[KeyValue]: ...

    def range_prefix(self, prefix: bytes, *, limit: int = 0, by_creation: bool = False,
                     keys_only: bool = False) -> list[KeyValue]: ...

    def count_prefix(self, prefix: bytes) -> int: ...

    def delete_many(self, keys: Sequence[bytes]) -> None: ...


class EtcdClient:
    """Key-value calls on an etcd cluster given by its client URLs."""

    def __init__(self, endpoints: Sequence[str], *, timeout_s: float = etcd_request_s_max,
                 tls: EtcdTLS | None = None) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout_s = timeout_s
        #: what httpx checks etcd's certificates with: the alliance CA's context, or the
        #: system's CAs (an ``https://`` endpoint without ``tls``)
        self.verify: ssl.SSLContext | bool = tls.context() if tls is not None else True
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=1.0),
                                  verify=self.verify)
        self._first = 0  # the endpoint that answered last: tried first next time
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path`` on the first endpoint that answers it."""
        deadline = time.monotonic() + self.timeout_s
        last: str = "no endpoint tried"
        while True:
            for step in range(len(self.endpoints)):
                index = (self._first + step) % len(self.endpoints)
                try:
                    response = self._http.post(self.endpoints[index] + path, json=body)
                except httpx.HTTPError as exc:
                    last = f"{self.endpoints[index]}: {exc!r}"
                    continue
                if response.status_code == 200:
                    self._first = index
                    answer: dict[str, Any] = response.json()
                    return answer
                last = f"{self.endpoints[index]}: HTTP {response.status_code} {response.text[:200]}"
            if time.monotonic() > deadline:
                raise OrderingUnavailable(f"etcd did not answer {path}: {last}", retry_after_s=1)
            time.sleep(_RETRY_S)

    # -- key-value ---------------------------------------------------------------------------

    def put(self, key: bytes, value: bytes) -> int:
        """Store ``value`` at ``key``; returns the revision (committed by a Raft majority)."""
        answer = self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(answer["header"]["revision"])

    def put_many(self, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Store several keys, ``etcd_txn_ops_max`` per transaction (each one atomic)."""
        for start in range(0, len(items), etcd_txn_ops_max):
            chunk = items[start:start + etcd_txn_ops_max]
            self.call("/v3/kv/txn", {"success": [
                {"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in chunk]})

    def create(self, key: bytes, value: bytes) -> tuple[bool, KeyValue]:
        """Put ``value`` at ``key`` only if the key was never created (compare-and-swap on
        ``create_revision == 0``). Returns whether this call created it, and the stored entry
        (ours, or the one that was there first)."""
        # One round trip either way: on success the transaction reads back what it wrote.
        read = {"request_range": {"key": _b64(key)}}
        answer = self.call("/v3/kv/txn", {
            "compare": [{"key": _b64(key), "target": "CREATE", "result": "EQUAL",
                         "create_revision": "0"}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}, read],
            "failure": [read]})
        won = bool(answer.get("succeeded"))
        kvs = answer["responses"][-1]["response_range"].get("kvs", [])
        if not kvs:  # compacted or deleted meanwhile: only an operator does that
            raise OrderingUnavailable(f"key {key!r} vanished after it was created")
        return won, _kv(kvs[0])

    def get(self, key: bytes) -> KeyValue | None:
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    def get_many(self, keys: Sequence[bytes]) -> list[KeyValue]:
        """The entries of those ``keys`` that exist, ``etcd_txn_ops_max`` reads per
        transaction (one round trip each)."""
        found = []
        for start in range(0, len(keys), etcd_txn_ops_max):
            answer = self.call("/v3/kv/txn", {"success": [
                {"request_range": {"key": _b64(k)}} for k in keys[start:start + etcd_txn_ops_max]]})
            for response in answer.get("responses", []):
                found += [_kv(kv) for kv in response["response_range"].get("kvs", [])]
        return found

    def range_prefix(self, prefix: bytes, *, limit: int = 0, by_creation: bool = False,
                     keys_only: bool = False) -> list[KeyValue]:
        """Entries whose key starts with ``prefix``, by key (or by creation), at most ``limit``."""
        body: dict[str, Any] = {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}
        if limit:
            body["limit"] = str(limit)
        if by_creation:
            body["sort_order"], body["sort_target"] = "ASCEND", "CREATE"
        if keys_only:
            body["keys_only"] = True
        return [_kv(kv) for kv in self.call("/v3/kv/range", body).get("kvs", [])]

    def count_prefix(self, prefix: bytes) -> int:
        answer = self.call("/v3/kv/range", {"key": _b64(prefix),
                                            "range_end": _b64(prefix_end(prefix)),
                                            "count_only": True})
        return int(answer.get("count", 0))

    def delete_many(self, keys: Sequence[bytes]) -> None:
        for start in range(0, len(keys), etcd_txn_ops_max):
            self.call("/v3/kv/txn", {"success": [
                {"request_delete_range": {"key": _b64(k)}}
                for k in keys[start:start + etcd_txn_ops_max]]})

    def status(self, endpoint: str) -> dict[str, Any]:
        """One member's status (its id and its leader's), asked of that member only."""
        response = self._http.post(endpoint.rstrip("/") + "/v3/maintenance/status", json={},
                                   timeout=2.0)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    # -- watching ----------------------------------------------------------------------------

    def watch(self, prefix: bytes, notify: Callable[[], None], stop: threading.Event) -> None:
        """Call ``notify`` whenever a key under ``prefix`` changes, until ``stop`` is set."""
        self.watch_keys(prefix, lambda changes: notify(), stop)

    def watch_keys(self, prefix: bytes, notify: Callable[[list[tuple[bytes, bytes]]], None],
                   stop: threading.Event,
                   on_stream: Callable[[bool], None] = lambda live: None) -> None:
        """Call ``notify`` with the (key, value) of each key changed under ``prefix`` (the
        value empty for a deletion) as each batch of events arrives, until ``stop`` is set.
        ``on_stream(True)`` runs once etcd confirmed the watch (every later change will be
        delivered, in revision order), ``on_stream(False)`` when the stream ends (changes
        may be missed until the next ``True``).

        Runs in the caller's thread (start it on its own); reconnects to the next endpoint
        when a stream breaks. Callers also poll, so a missed wake-up costs latency only."""
        request = {"create_request": {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}}
        index = 0
        while not stop.is_set():
            endpoint = self.endpoints[index % len(self.endpoints)]
            index += 1
            live = False
            try:
                with httpx.Client(timeout=httpx.Timeout(None, connect=1.0),
                                  verify=self.verify) as http, \
                        http.stream("POST", endpoint + "/v3/watch", json=request) as stream:
                    for line in stream.iter_lines():
                        if stop.is_set():
                            return
                        result = json.loads(line).get("result", {}) if line.strip() else {}
                        if result.get("created") and not live:
                            live = True
                            on_stream(True)
                        if events := result.get("events"):
                            notify([(_unb64(e.get("kv", {}).get("key")),
                                     _unb64(e.get("kv", {}).get("value"))) for e in events])
            except (httpx.HTTPError, ValueError):
                pass
            finally:
                if live:
                    on_stream(False)
            stop.wait(0.2)
