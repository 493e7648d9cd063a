"""One ordered merge of expected and stored rows: the first difference names the row.

Both streams are sorted by primary key in SQLite's order (:func:`sql_order`); a key on one
side only is a missing or unexpected row, a key on both with other values a mismatched row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ledger.verify.failure import STAGE_STORED, VerifyFailed, fail

_RANK = {type(None): 0, int: 1, float: 1, bool: 1, str: 2, bytes: 3}


def sql_order(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """SQLite's ORDER BY for a key: NULL < numbers < text (UTF-8 byte order) < blobs."""
    return tuple((_RANK.get(type(v), 4), v) for v in key)


def compare_rows(expected: Iterable[tuple[Any, ...]], found: Iterable[Sequence[Any]],
                 pk_at: Sequence[int], table: str, node: str, at: int,
                 height_of: Callable[[tuple[Any, ...]], int | None] | None = None) -> int:
    """Merge two key-sorted row streams; raise on the first difference. Returns rows seen.

    ``height_of(key)`` names the block that wrote an expected row, for the report.
    """
    exp, fnd = iter(expected), iter(found)
    e, f = next(exp, None), next(fnd, None)
    seen = 0
    while e is not None or f is not None:
        if e is not None and f is not None and e == tuple(f):
            seen += 1
            e, f = next(exp, None), next(fnd, None)
            continue
        ek = None if e is None else tuple(e[i] for i in pk_at)
        fk = None if f is None else tuple(f[i] for i in pk_at)
        height = None if ek is None or height_of is None else height_of(ek)
        if fk is None or (ek is not None and ek != fk and sql_order(ek) < sql_order(fk)):
            raise _stored("row_missing", height, node, table, ek, e, None, at)
        if e is None or ek != fk:
            raise _stored("row_unexpected", None, node, table, fk, None, f, at)
        raise _stored("row_mismatch", height, node, table, ek, e, f, at)
    return seen


def _stored(what: str, height: int | None, node: str, table: str, key: Any, expected: Any,
            found: Any, at: int) -> VerifyFailed:
    exc = fail(what, height, node, table=table, key=key,
               expected=None if expected is None else list(expected),
               found=None if found is None else list(found),
               detail="the stored row is not what the replay wrote" + (
                   f" (last written by block {height})" if height is not None else ""))
    return VerifyFailed(exc.failure, checked_at=at, stage=STAGE_STORED)
