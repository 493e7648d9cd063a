"""Typed errors of the ledger layer.

Every error a caller can act on has a stable ``code`` (snake_case). The API layer maps codes
to HTTP problems; nothing in ``ledger/`` knows about HTTP.

    LedgerError
    ├── EncodingError            input that cannot be canonical JSON (code varies)
    ├── RecordRejected           a record refused before it reaches a block
    │   ├── MalformedRecord      wrong shape (missing field, bad hex, too many signers...)
    │   │   └── NonCanonicalBody a stored body that is a record but not written canonically
    │   ├── WrongChain           names another chain id
    │   ├── BadSignature         a signature does not verify
    │   ├── StaleSequence        sequence number not above the signer's last
    │   ├── DuplicateRecord      this record id is already known
    │   ├── RecordExpired        the block time is past the record's ``expires``
    │   ├── ExpiryTooFar         ``expires`` lies further ahead than the genesis allows
    │   ├── RejectedBefore       this record id was rejected once: the same answer again
    │   ├── ApplicationRejected  the application's ``check`` refused it (code from the app)
    │   └── RecordUnprocessable  a block with it could not be executed or encoded: left out
    ├── Backpressure             the mempool is full: retry later
    ├── ProofError               a Merkle proof does not verify
    │   ├── RootMismatch         the proof leads to another root
    │   └── InvalidProof         the proof has the wrong shape for the sizes given
    ├── KeyFileError             a key file cannot be read (bad PEM, wrong passphrase)
    ├── StoreError               the SQLite store is unreadable or inconsistent
    ├── HeaderInvalid            a block header does not follow its parent (code varies)
    └── ConsensusError           a block cannot be certified or committed
    InvariantViolation           a programmer error: an internal invariant failed (an
                                 AssertionError that -O keeps; see :func:`invariant`)
"""

from __future__ import annotations


class InvariantViolation(AssertionError):
    """An internal invariant failed: the ledger has a bug (or was misused); stop."""


def invariant(condition: bool, message: str, *args: object) -> None:
    """Raise InvariantViolation when ``condition`` is false (unlike ``assert``, kept under -O).

    ``args`` are formatted into ``message`` (``%`` style) only when it is raised, so a check
    on the hot path costs no string formatting.
    """
    if not condition:
        raise InvariantViolation(message % args if args else message)


class LedgerError(Exception):
    """Base class of every error raised by ``ledger``."""

    code: str = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={str(self)!r})"


class EncodingError(LedgerError):
    """Input that is not (or cannot become) canonical JSON: floats, duplicate keys, big ints."""

    code = "not_canonical"


class RecordRejected(LedgerError):
    """A record refused before it reaches a block; nothing in the store changed."""

    code = "record_rejected"


class MalformedRecord(RecordRejected):
    """The record has the wrong shape: a field missing, of the wrong type or over a limit."""

    code = "malformed_record"


class NonCanonicalBody(MalformedRecord):
    """A stored record body that parses as a record but is not its canonical encoding."""

    code = "not_canonical"

    def __init__(self, record_id: str, canonical: str) -> None:
        super().__init__("the record body is not in canonical form")
        self.record_id = record_id
        self.canonical = canonical


class WrongChain(RecordRejected):
    """The record names another chain id, so it cannot be replayed here."""

    code = "wrong_chain"


class BadSignature(RecordRejected):
    """A signature does not verify against the signer's public key."""

    code = "bad_signature"


class StaleSequence(RecordRejected):
    """The sequence number is not above the last one committed for this signer (a replay)."""

    code = "sequence_replayed"

    def __init__(self, signer: str, seq: int, last: int) -> None:
        super().__init__(f"sequence {seq} of signer {signer[:16]}… is not above {last}")
        self.signer, self.seq, self.last = signer, seq, last


class DuplicateRecord(RecordRejected):
    """The record id is already pending or committed."""

    code = "duplicate_record"

    def __init__(self, record_id: str, height: int | None) -> None:
        where = "pending" if height is None else f"committed at height {height}"
        super().__init__(f"record {record_id} is already {where}")
        self.record_id, self.height = record_id, height


class RecordExpired(RecordRejected):
    """The (candidate) block time is past the record's ``expires``: it can never commit."""

    code = "record_expired"

    def __init__(self, expires: int, time_ms: int) -> None:
        super().__init__(f"record expired at {expires}, the block time is {time_ms}")
        self.expires, self.time_ms = expires, time_ms


class ExpiryTooFar(RecordRejected):
    """The record's ``expires`` lies more than the genesis ``record_ttl_ms_max`` ahead."""

    code = "expiry_too_far"

    def __init__(self, expires: int, time_ms: int, ttl_ms_max: int) -> None:
        super().__init__(f"expires {expires} is more than {ttl_ms_max} ms after the block "
                         f"time {time_ms}")
        self.expires, self.time_ms, self.ttl_ms_max = expires, time_ms, ttl_ms_max


class RejectedBefore(RecordRejected):
    """This record id was rejected before; ``code`` is that first rejection's code."""

    def __init__(self, record_id: str, code: str) -> None:
        super().__init__(f"record {record_id} was rejected before: {code}; a rejection is "
                         "final", code=code)
        self.record_id = record_id


class ApplicationRejected(RecordRejected):
    """The application's ``check`` refused the record; ``code`` is the application's."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code.replace("_", " "), code=code)


class RecordUnprocessable(RecordRejected):
    """Executing or encoding a block with this record failed (an application bug, a value
    past the canonical range), so the proposer left it out and rejected it for good."""

    code = "record_unprocessable"


class Backpressure(LedgerError):
    """The mempool is full; the client should retry after ``retry_after_s``."""

    code = "mempool_full"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "proof_invalid"


class RootMismatch(ProofError):
    """The proof leads to a root other than the one expected."""

    code = "root_mismatch"

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        super().__init__(f"root mismatch: expected {expected.hex()}, calculated {calculated.hex()}")
        self.expected, self.calculated = expected, calculated


class InvalidProof(ProofError):
    """The proof has the wrong length or the sizes/indexes break a precondition."""

    code = "proof_malformed"


class KeyFileError(LedgerError):
    """A key file cannot be read: not PEM, not Ed25519, or the passphrase is wrong."""

    code = "key_file_unreadable"


class StoreError(LedgerError):
    """The SQLite store is unreadable, of another chain, or inconsistent."""

    code = "store_error"


class HeaderInvalid(LedgerError):
    """A block header does not follow its parent (:mod:`ledger.chain.header_rules`).

    ``code`` names the broken rule (``prev_hash_mismatch``, ``time_not_increasing``...);
    ``expected`` and ``found`` say what differed.
    """

    code = "header_invalid"

    def __init__(self, code: str, expected: object, found: object, detail: str) -> None:
        super().__init__(f"{code}: {detail}; expected {expected!r}, found {found!r}", code=code)
        self.expected = expected
        self.found = found
        self.detail = detail


class ConsensusError(LedgerError):
    """A block could not be certified or committed (no quorum, mismatching result)."""

    code = "no_quorum"


class OrderingUnavailable(Backpressure):
    """The ordering service (etcd) did not answer in time: nothing was acknowledged."""

    code = "ordering_unavailable"
