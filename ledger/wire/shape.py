"""The shape of a record body: its fields and the spelling of a record type.

One definition, read by the record parser's strict route (:mod:`ledger.wire.record`) and by
its private fast route (``ledger.wire._fast``), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from operator import itemgetter

#: A record type: lowercase letters, digits, '_' and '.', starting with a letter.
TYPE_RE = re.compile(r"[a-z][a-z0-9_.]*\Z")
#: The body's fields, in the order :class:`~ledger.wire.record.Record` keeps them.
BODY_FIELDS = itemgetter("chain", "type", "signers", "seq", "expires", "payload")
BODY_KEYS = frozenset(("chain", "type", "signers", "seq", "expires", "payload"))
