"""Bounds of the HTTP API and the explorer, named in one place.

The ledger's bounds (record size, signers, safe integers, page rows) live in
``ledger/limits.py`` and the exchange's in ``exchange/limits.py``; the API reuses those and
names here only what is its own.
"""

from __future__ import annotations

from ledger.limits import json_int_max

#: Decimal digits of the largest height, sequence number or balance a path or cursor may
#: carry (those of ``json_int_max``: 16), so a long digit string is refused before ``int()``.
int_digits_max = len(str(json_int_max))
#: A height past every block: the ``before`` cursor of a first page, newest first.
height_past_all = json_int_max + 1
#: Largest integer SQLite stores (signed 64-bit): a table page's ``after`` key beyond it is
#: refused with a 400 rather than reaching the database.
sql_int_max = 2**63 - 1
#: Days one settlement statement may span (ten years).
statement_days_max = 3660
#: Balance movements and events shown for one record on its explorer page.
record_effect_rows_max = 64
