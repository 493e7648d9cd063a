"""What a view works with: the node, its read connection, the committed state and names.

:class:`Ctx` is made per request. State reads run under the replica lock (never while a block
is being committed); SQL reads go through the thread's read-only connection. The
:class:`Directory` of names (programs, merchants, members, party keys) is rebuilt once per
height and shared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from fastapi import Request

from api.explorer.cache import ExplorerCache, cache_of
from api.explorer.fmt import Clock
from api.limits import int_digits_max
from api.node.runtime import Serving

T = TypeVar("T")
Json = dict[str, Any]


class Missing(Exception):
    """A page's subject does not exist (404) or the request names it badly (400)."""

    def __init__(self, detail: str, code: str = "not_found", status: int = 404) -> None:
        super().__init__(detail)
        self.detail, self.code, self.status = detail, code, status


@dataclass(frozen=True)
class Party:
    """Who a key or id belongs to, for display and links."""

    kind: str  # customer | merchant | member | regulator | validator
    id: str
    name: str
    href: str

    def json(self) -> Json:
        return {"kind": self.kind, "id": self.id, "name": self.name, "href": self.href}


@dataclass
class Directory:
    """Names by code, id and key, as of one height."""

    programs: dict[str, Json] = field(default_factory=dict)
    merchants: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # pubkey -> (kind, owner)
    regulator: str = ""

    def program(self, code: str) -> str:
        found = self.programs.get(code)
        return found["name"] if found else code.upper()

    def merchant(self, merchant_id: str) -> str:
        return self.merchants.get(merchant_id, merchant_id)

    def issuer_of(self, code: str) -> str:
        found = self.programs.get(code)
        return found["issuer"] if found else ""

    def party(self, key: str) -> Party:
        """The party a public key belongs to (customers are any other key)."""
        kind, owner = self.keys.get(key, ("customer", key))
        if kind == "merchant":
            return Party(kind, owner, self.merchant(owner), f"/merchants/{owner}")
        if kind in ("member", "validator"):
            return Party(kind, owner, self.members.get(owner, owner), "/alliance#members")
        if kind == "regulator":
            return Party(kind, owner, self.regulator or owner, "/alliance#regulator")
        return Party("customer", key, key[:12] + "…", f"/accounts/{key}")


def build_directory(view: Any) -> Directory:
    """Names from the committed state (called under the replica lock)."""
    d = Directory()
    for code, p in view.programs.base.items():
        d.programs[code] = {"name": p.name, "issuer": p.issuer, "rate": p.rate}
    d.merchants = {mid: m.name for mid, m in view.merchants.base.items()}
    d.members = {mid: m.name for mid, m in view.members.base.items()}
    d.keys = {key: (b.kind, b.owner) for key, b in view.keys.base.items()}
    regulator = next(iter(view.regulator.base.values()), None)
    d.regulator = regulator[0] if regulator else ""
    return d


class Ctx:
    """One request's view of the node."""

    def __init__(self, node: Serving, request: Request) -> None:
        self.node, self.request = node, request
        self.replica = node.replica
        self.height = self.replica.height

    @cached_property
    def conn(self) -> sqlite3.Connection:
        return self.replica.store.thread_reader()

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(view, *args)`` on the committed state under the replica lock."""
        with self.replica.lock:
            return fn(self.node.view, *args)

    @cached_property
    def offset_ms(self) -> int:
        return int(self.read(lambda v: v.params.get("day_offset_ms") or 0))

    @cached_property
    def clock(self) -> Clock:
        return Clock(self.offset_ms)

    @cached_property
    def cache(self) -> ExplorerCache:
        return cache_of(self.node, self.offset_ms)

    @cached_property
    def names(self) -> Directory:
        return self.cache.memo.get("directory", self.height,
                                   lambda: self.read(build_directory), ttl_s=0)

    def now_ms(self) -> int:
        """The time of the last committed block (the chain's own clock)."""
        return int(self.replica.time_ms)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.conn.execute(sql, args).fetchone()
        return row

    def param(self, name: str) -> str | None:
        return self.request.query_params.get(name)


def cursor(text: str | None, parts: int, name: str = "before") -> tuple[int, ...] | None:
    """Parse a keyset cursor like ``12.3`` (``parts`` integers joined by dots); 400 if bad."""
    if text is None or text == "":
        return None
    pieces = text.split(".")
    if len(pieces) != parts or not all(p.lstrip("-").isdigit() and len(p) <= int_digits_max
                                              for p in pieces):
        raise Missing(f"{name} must be {parts} integers joined by dots", "invalid_parameter", 400)
    return tuple(int(p) for p in pieces)


def is_hex(text: str, length: int = 64) -> bool:
    return len(text) == length and all(c in "0123456789abcdef" for c in text)
