"""The record expiry rule, in one place for the node, the proposer and the verifier.

A record is accepted at block time ``t`` only when ``t <= expires <= t + record_ttl_ms_max``
(a genesis parameter). At submission the node checks it against its clock, the candidate
block time. So a signed record lives at most ``record_ttl_ms_max``, and a node need remember
a rejected id only until its ``expires`` has passed.
"""

from __future__ import annotations

from ledger.errors import ExpiryTooFar, RecordExpired


def expiry_code(expires: int, time_ms: int, ttl_ms_max: int) -> str | None:
    """None when a record with ``expires`` may enter a block at ``time_ms``, else the code."""
    if expires < time_ms:
        return RecordExpired.code
    if expires > time_ms + ttl_ms_max:
        return ExpiryTooFar.code
    return None


def check_expiry(expires: int, time_ms: int, ttl_ms_max: int) -> None:
    """Raise RecordExpired or ExpiryTooFar unless :func:`expiry_code` is None."""
    if expires < time_ms:
        raise RecordExpired(expires, time_ms)
    if expires > time_ms + ttl_ms_max:
        raise ExpiryTooFar(expires, time_ms, ttl_ms_max)
