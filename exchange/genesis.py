"""The genesis application section: founding members, the regulator and economic parameters.

Shape (what ``init_chain`` receives as ``app_genesis``)::

    {
      "members": [{"id": "m-north", "name": "North Node Co.", "key": "<64 hex>",
                   "validator_key": "<64 hex>" | null}, ...],
      "regulator": {"name": "District Market Supervision", "key": "<64 hex>"},
      "params": {"member_quorum_percent": 67, "rate_notice_ms": 604800000, "day_offset_ms": 0,
                 "application_ttl_ms": 2592000000}
    }

- ``member_quorum_percent`` (51..100): a governance record needs the signatures of at least
  ``ceil(active_members * percent / 100)`` distinct active members.
- ``rate_notice_ms``: a posted rate takes effect this long after the block that posts it.
- ``day_offset_ms`` (0..14 h): where the day starts relative to UTC (28,800,000 for Beijing
  time); expiry and daily inbound caps count whole days.
- ``application_ttl_ms`` (1..366 days, default 30): a merchant application that no vote
  admitted or rejected lapses this long after the block that took it.

A member with a ``validator_key`` runs a validator; the validator set is the active members'
validator keys, named by member id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exchange.errors import GenesisError
from exchange.limits import (
    application_ttl_ms_max,
    application_ttl_ms_min,
    day_ms,
    day_offset_ms_max,
    members_max,
    rate_notice_ms_max,
)
from exchange.schema import is_id, is_key, is_name, is_optional_key

DEFAULT_PARAMS: dict[str, int] = {
    "member_quorum_percent": 67,
    "rate_notice_ms": 7 * day_ms,
    "day_offset_ms": 0,
    "application_ttl_ms": 30 * day_ms,
}
_PARAM_RANGES: dict[str, tuple[int, int]] = {
    "member_quorum_percent": (51, 100),
    "rate_notice_ms": (0, rate_notice_ms_max),
    "day_offset_ms": (0, day_offset_ms_max),
    "application_ttl_ms": (application_ttl_ms_min, application_ttl_ms_max),
}


@dataclass(frozen=True, slots=True)
class Params:
    """Economic parameters fixed at genesis."""

    member_quorum_percent: int
    rate_notice_ms: int
    day_offset_ms: int
    application_ttl_ms: int = 30 * day_ms

    def threshold(self, active_members: int) -> int:
        """Signatures a governance record needs: ceil(n * percent / 100), at least 1."""
        return max(1, (active_members * self.member_quorum_percent + 99) // 100)

    def day(self, time_ms: int) -> int:
        """The day number (days since the epoch, shifted by ``day_offset_ms``)."""
        return (time_ms + self.day_offset_ms) // day_ms

    def day_start_ms(self, day: int) -> int:
        """The time at which day number ``day`` begins."""
        return day * day_ms - self.day_offset_ms


@dataclass(frozen=True, slots=True)
class GenesisMember:
    id: str
    name: str
    key: str
    validator_key: str | None


@dataclass(frozen=True, slots=True)
class AppGenesis:
    """The parsed and validated application section."""

    members: tuple[GenesisMember, ...]
    regulator_name: str
    regulator_key: str
    params: Params


def app_genesis(members: Sequence[Mapping[str, Any]], regulator: Mapping[str, Any],
                params: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Build (and validate) the application section from members, regulator and overrides."""
    doc = {
        "members": [{"id": m["id"], "name": m["name"], "key": m["key"],
                     "validator_key": m.get("validator_key")} for m in members],
        "regulator": {"name": regulator["name"], "key": regulator["key"]},
        "params": {**DEFAULT_PARAMS, **(params or {})},
    }
    parse_genesis(doc)
    return doc


def parse_genesis(doc: Mapping[str, Any]) -> AppGenesis:
    """Validate the application section; raises GenesisError naming the first problem."""
    if not isinstance(doc, Mapping) or set(doc) != {"members", "regulator", "params"}:
        raise GenesisError("app genesis has exactly the fields members, regulator, params")
    members = tuple(_member(m) for m in _list(doc["members"]))
    if not 0 < len(members) <= members_max:
        raise GenesisError(f"genesis needs 1 to {members_max} members")
    if len({m.id for m in members}) != len(members):
        raise GenesisError("member ids must be distinct")
    reg = doc["regulator"]
    if not isinstance(reg, Mapping) or set(reg) != {"name", "key"}:
        raise GenesisError("regulator has exactly the fields name, key")
    if not is_name(reg["name"]) or not is_key(reg["key"]):
        raise GenesisError("regulator needs a display name and a 64-hex public key")
    keys = [m.key for m in members] + [m.validator_key for m in members if m.validator_key]
    keys.append(reg["key"])
    if len(set(keys)) != len(keys):
        raise GenesisError("member, validator and regulator keys must be distinct: one key, "
                           "one role")
    return AppGenesis(members, reg["name"], reg["key"], _params(doc["params"]))


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise GenesisError("members must be a list")
    return value


def _member(value: Any) -> GenesisMember:
    if not isinstance(value, Mapping) or not {"id", "name", "key"} <= set(value) <= {
            "id", "name", "key", "validator_key"}:
        raise GenesisError("a member has the fields id, name, key and optional validator_key")
    member = GenesisMember(value["id"], value["name"], value["key"], value.get("validator_key"))
    if not is_id(member.id) or not is_name(member.name):
        raise GenesisError(f"member {member.id!r}: id must be a slug and name a display name")
    if not is_key(member.key) or not is_optional_key(member.validator_key):
        raise GenesisError(f"member {member.id!r}: keys must be 64 lowercase hex digits")
    return member


def _params(value: Any) -> Params:
    if not isinstance(value, Mapping) or set(value) != set(_PARAM_RANGES):
        raise GenesisError(f"params has exactly the fields {sorted(_PARAM_RANGES)}")
    for name, (low, high) in _PARAM_RANGES.items():
        if type(value[name]) is not int or not low <= value[name] <= high:
            raise GenesisError(f"param {name} must be an integer in {low}..{high}")
    return Params(**{name: value[name] for name in _PARAM_RANGES})
