"""Every bound the exchange enforces, named in one place (a limit on everything).

Amounts are integers: points in a program's smallest unit, money in micro-yuan (µ¥, one
millionth of a yuan) or, for settlement payments, fen (1 fen = 10,000 µ¥). Every number that
reaches a stored row stays within ``counter_max`` so the ledger can always hash it.
"""

from __future__ import annotations

from ledger.limits import json_int_max, page_rows_max, record_signers_max

#: Largest value any stored counter may reach (the ledger hashes rows as canonical JSON).
counter_max = json_int_max
#: Micro-yuan in one yuan; a posted rate must divide it so a point's value is exact.
micro_per_yuan = 1_000_000
#: Micro-yuan in one fen (settlement payments are in fen).
micro_per_fen = 10_000
#: Milliseconds in one day (expiry and daily caps count whole days).
day_ms = 86_400_000

#: Points in one record (issue, transfer, redeem, swap, caps and conversion rules).
amount_max = 10**12
#: Fen in one settlement payment (¥1,000,000,000).
settle_fen_max = 10**11
#: Settlement payments one issuer statement lists (beyond: ``settlements.truncated``).
statement_settlements_max = 200
#: Value of a program's issuance cap at its posted rate, in µ¥ (¥1,000,000,000).
program_value_max = 10**15
#: A posted rate is 1..rate_max points per yuan (and divides micro_per_yuan).
rate_max = micro_per_yuan
#: Expiry period of a program, in days (0 means points never lapse).
expiry_days_max = 3650
#: Return window of a program, in days (0 means issued points vest at once).
return_days_max = 90
#: Promotion bonus, in basis points of the swapped amount (10,000 = +100%).
bonus_bp_max = 10_000
#: Length of one promotion window (one year).
promotion_window_ms_max = 366 * day_ms
#: Live (not yet ended) promotions per (receiving program, source program) pair.
promotions_per_pair_max = 8
#: Length of one offer's validity window (one year).
offer_window_ms_max = 366 * day_ms
#: Offers of one program that have not ended and were not withdrawn.
offers_per_program_max = 64

#: Members of the alliance; a member vote must fit in one record's signers.
members_max = record_signers_max
#: Admitted merchants (active or suspended) in the alliance; applications are not counted.
merchants_max = 10_000
#: Applications waiting for a vote at once: a key with no role can fill no more than this,
#: and each lapses ``application_ttl_ms`` after it was made (or is rejected by a vote).
applications_max = 256
#: Bounds of the genesis parameter ``application_ttl_ms`` (one day to one year).
application_ttl_ms_min = day_ms
application_ttl_ms_max = 366 * day_ms
#: Programs run by one merchant, and in the whole alliance.
programs_per_merchant_max = 8
programs_max = 2_000
#: Programs one program may accept swaps from.
accepts_max = 64

#: Characters of an id (member or merchant slug) and of a program code.
id_chars_max = 40
code_chars_max = 32
#: Characters of a display name (program, merchant, member, regulator, offer item).
name_chars_max = 64
#: Characters of an offer's area (e.g. 春熙路 Chunxi Road).
area_chars_max = 64
#: Characters of the longer profile fields and free-text references.
text_chars_max = 500
ref_chars_max = 128

#: Rate notice period bounds, in milliseconds (up to one year).
rate_notice_ms_max = 366 * day_ms
#: Day boundary offset from UTC, in milliseconds (e.g. 8 h for Beijing time).
day_offset_ms_max = 14 * 3_600_000

#: Rows one read of the exchange's stored rows returns (``exchange.queries_history``,
#: ``exchange.queries_holders``): a page of the API's largest, plus the row that says more follow.
rows_per_read_max = page_rows_max + 1
