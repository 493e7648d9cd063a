"""What the verifier found wrong, as plain values: :class:`Failure` and its stage order.

Every check of the verifier raises :func:`fail` (a :class:`VerifyFailed` carrying a
:class:`Failure`); the run keeps the first by (height, stage). :class:`Report` is the outcome
of a whole run. This module imports nothing else of the verifier, so every part can use it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.errors import LedgerError

#: Failure codes by stage; a failure of an earlier stage at the same height is reported first.
STAGES: tuple[tuple[str, ...], ...] = (
    ("genesis_mismatch", "table_missing", "table_unexpected", "table_mismatch",
     "malformed_header",
     "header_hash_mismatch", "header_not_canonical", "other_chain", "height_mismatch",
     "prev_hash_mismatch", "time_not_increasing", "validator_set_mismatch", "bad_proposer",
     "malformed_record", "sequence_not_increasing", "record_count_mismatch", "total_mismatch",
     "merkle_root_mismatch", "row_missing", "row_unexpected", "row_mismatch",
     "record_expired", "expiry_too_far"),
    ("bad_signature", "malformed_certificate", "certificate_wrong_header",
     "certificate_below_quorum", "certificate_bad_vote", "malformed_checkpoint",
     "checkpoint_mismatch", "checkpoint_below_quorum", "checkpoint_bad_vote"),
    ("record_rejected", "replay_error", "state_mismatch", "invariant_violated"),
    ("checkpoint_invalid", "checkpoint_inconsistent", "chain_truncated", "evidence_forged",
     "nodes_disagree"),
)
#: Stored rows compared at a node's head (any code) come after everything at that height.
STAGE_STORED = len(STAGES)
_STAGE_OF = {code: i for i, codes in enumerate(STAGES) for code in codes}


@dataclass(frozen=True, slots=True)
class Failure:
    """The first thing found wrong: where it is and what was expected and found."""

    what: str  # a stable code, see STAGES
    height: int | None = None
    node: str | None = None  # store file name or URL
    record: str | None = None  # record id
    table: str | None = None
    key: tuple[Any, ...] | None = None
    expected: Any = None
    found: Any = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["key"] = None if self.key is None else list(self.key)
        return out

    def describe(self) -> str:
        """One line for people: where, what, expected vs found."""
        where = [f"block {self.height}" if self.height is not None else "",
                 f"record {self.record}" if self.record else "",
                 f"table {self.table} key {json.dumps(list(self.key or ()))}" if self.table
                 else "", f"in {self.node}" if self.node else ""]
        text = f"{self.what}: " + ", ".join(w for w in where if w)
        if self.detail:
            text += f": {self.detail}"
        if self.expected is not None or self.found is not None:
            text += f"; expected {_short(self.expected)}, found {_short(self.found)}"
        return text


def _short(value: Any, chars_max: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= chars_max else text[:chars_max] + "…"


class VerifyFailed(Exception):
    """Raised inside the verifier to stop at a failure; ``at`` orders failures."""

    def __init__(self, failure: Failure, checked_at: int | None = None,
                 stage: int | None = None) -> None:
        super().__init__(failure.describe())
        self.failure = failure
        height = failure.height if checked_at is None else checked_at
        self.at = (height if height is not None else 0,
                   _STAGE_OF.get(failure.what, 0) if stage is None else stage)


def fail(what: str, height: int | None, node: str | None = None, **fields: Any) -> VerifyFailed:
    """The exception to raise for a failure (``raise fail(...)``)."""
    return VerifyFailed(Failure(what, height, node, **fields))


class StateMoved(Exception):
    """A live node committed blocks while its rows were read; they cannot be compared."""


class SourceError(LedgerError):
    """The source cannot be read at all (no such dir, not a store, node unreachable)."""

    code = "source_unreadable"


@dataclass(slots=True)
class Report:
    """The outcome of a run. ``valid`` is False exactly when ``failure`` is set."""

    target: str
    chain: str = ""
    height: int = 0
    blocks: int = 0  # blocks whose signatures were checked (all in [from, to])
    blocks_replayed: int = 0
    records: int = 0
    signatures: int = 0
    invariants_checked: int = 0
    rows_checked: int = 0
    nodes: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None  # the latest signed checkpoint verified
    seconds: float = 0.0
    failure: Failure | None = None

    @property
    def valid(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__ if k != "failure"}
        out["valid"] = self.valid
        out["seconds"] = round(self.seconds, 3)
        out["failure"] = None if self.failure is None else self.failure.to_json()
        return out
