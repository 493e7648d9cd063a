"""The chain verifier (ledger.verify) over counter chains: valid chains pass, and each kind of
tampering is caught with its code and height (docs/VERIFY.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.application import BlockContext, Execution, ValidatorInfo
from ledger.chain.block import records_root
from ledger.chain.genesis import Genesis
from ledger.consensus.consortium import Consortium
from ledger.counter import CounterApp
from ledger.crypto.keys import SigningKey
from ledger.wire.record import Record, make_body, sign_body

from .chains import build, each_store, read, recertify, verify

#: ``expires`` of the records built here: half an hour after the tests' genesis time.
EXPIRES = 1_700_000_000_000 + 1_800_000


@pytest.fixture
def chain(make_consortium: Callable[..., Consortium], add: Callable[..., Record],
          tmp_path: Path) -> tuple[Path, Genesis]:
    consortium = make_consortium()
    build(consortium, add)
    consortium.close()
    return tmp_path / "chain", consortium.genesis


def test_a_valid_chain_passes(chain: tuple[Path, Genesis]) -> None:
    report = verify(*chain)
    assert report.valid, report.failure
    assert (report.height, report.blocks, report.records) == (4, 4, 12)
    assert report.signatures == 12 + 4 * 2 * 4  # records, then 4 votes twice per block
    assert len(report.nodes) == 4 and report.rows_checked > 0
    assert report.checkpoint is not None and report.checkpoint["tree_size"] == 4


def test_a_process_pool_gives_the_same_verdicts(chain: tuple[Path, Genesis]) -> None:
    assert verify(*chain, workers=2).valid
    each_store(chain[0], "UPDATE records SET sigs = ? WHERE height = 3 AND idx = 1",
               ("00" * 64,))
    failure = verify(*chain, workers=2).failure
    assert failure is not None and (failure.what, failure.height) == ("bad_signature", 3)


STRUCTURE = {
    "header_hash_mismatch": ("UPDATE blocks SET hash = ? WHERE height = 2", ("ab" * 32,)),
    "header_not_canonical": ("UPDATE blocks SET header = ' ' || header WHERE height = 2", ()),
    "malformed_header": ("UPDATE blocks SET header = '{' WHERE height = 2", ()),
    "row_unexpected": ("UPDATE records SET idx = -1 WHERE height = 2 AND idx = 1", ()),
    "malformed_certificate": ("UPDATE blocks SET certificate = '{' WHERE height = 2", ()),
    "malformed_checkpoint": ("UPDATE blocks SET checkpoint = '{' WHERE height = 2", ()),
    "bad_signature": ("UPDATE records SET sigs = ? WHERE height = 2 AND idx = 0",
                      ("11" * 64,)),
    "row_mismatch": ("UPDATE records SET seq = seq + 100 WHERE height = 2 AND idx = 0", ()),
    "row_missing": ("DELETE FROM records WHERE height = 2 AND idx = 1", ()),
    "malformed_record": ("UPDATE records SET body = body || ' ' WHERE height = 2 AND idx = 0",
                         ()),
    "certificate_wrong_header": ("UPDATE blocks SET certificate = (SELECT certificate FROM "
                                 "blocks WHERE height = 1) WHERE height = 2", ()),
    "checkpoint_mismatch": ("UPDATE blocks SET checkpoint = (SELECT checkpoint FROM blocks "
                            "WHERE height = 1) WHERE height = 2", ()),
}


@pytest.mark.parametrize("what", sorted(STRUCTURE))
def test_tampered_rows_are_found_at_their_block(chain: tuple[Path, Genesis], what: str) -> None:
    each_store(chain[0], *STRUCTURE[what])
    failure = verify(*chain).failure
    assert failure is not None and (failure.what, failure.height) == (what, 2), failure


@pytest.mark.parametrize("edit", ["prev", "time", "root", "state", "proposer", "total",
                                  "records", "chain", "height", "validators"])
def test_a_resigned_header_is_still_caught(chain: tuple[Path, Genesis], edit: str,
                                           validator_keys: list[SigningKey]) -> None:
    """Even with the validator keys, a header that breaks a rule is found."""
    changes = {"prev": ("prev", "00" * 32, "prev_hash_mismatch"),
               "time": ("time", 1, "time_not_increasing"),
               "root": ("root", "00" * 32, "merkle_root_mismatch"),
               "state": ("state", "00" * 32, "state_mismatch"),
               "proposer": ("proposer", "00" * 32, "bad_proposer"),
               "total": ("total", 99, "total_mismatch"),
               "records": ("records", 4, "record_count_mismatch"),
               "chain": ("chain", "other-chain", "other_chain"),
               "height": ("height", 5, "height_mismatch"),
               "validators": ("validators", "00" * 32, "validator_set_mismatch")}
    field, value, code = changes[edit]
    recertify(chain[0], 4, validator_keys, lambda h: h.update({field: value}))
    failure = verify(*chain).failure
    assert failure is not None and (failure.what, failure.height) == (code, 4), failure


def test_certificates_below_quorum_or_forged_are_found(
        chain: tuple[Path, Genesis], validator_keys: list[SigningKey]) -> None:
    data, genesis = chain
    cert = json.loads(read(data, "SELECT certificate FROM blocks WHERE height = 3")[0])
    dropped = {**cert, "signatures": cert["signatures"][:2]}
    each_store(data, "UPDATE blocks SET certificate = ? WHERE height = 3", (json.dumps(dropped),))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("certificate_below_quorum", 3)
    strangers = [SigningKey.from_seed(bytes([90 + i]) * 32) for i in range(4)]
    header_hash = bytes.fromhex(cert["header"])
    forged = {**cert, "signatures": [{"validator": k.public_hex, "sig": k.sign(header_hash).hex()}
                                     for k in strangers]}
    each_store(data, "UPDATE blocks SET certificate = ? WHERE height = 3", (json.dumps(forged),))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("certificate_below_quorum", 3)
    extra = {**cert, "signatures": [*cert["signatures"], forged["signatures"][0]]}
    each_store(data, "UPDATE blocks SET certificate = ? WHERE height = 3", (json.dumps(extra),))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("certificate_bad_vote", 3)


def test_a_record_of_another_chain_is_found(chain: tuple[Path, Genesis], user: SigningKey,
                                            validator_keys: list[SigningKey]) -> None:
    data, genesis = chain
    foreign = sign_body(make_body("other-chain", "counter.add", [user.public_hex], 99,
                                  {"name": "a", "by": 1}, expires=EXPIRES), [user])
    each_store(data, "INSERT INTO records VALUES (4, 3, ?, ?, ?, ?, ?, ?)",
               (foreign.id, foreign.type, user.public_hex, 99, foreign.body_bytes.decode(),
                foreign.signatures[0].hex()))
    bodies = [r for (r,) in sqlite3.connect(data / "node-0.sqlite").execute(
        "SELECT body FROM records WHERE height = 4 ORDER BY idx")]
    ids = [Record(json.loads(b), [], b.encode()) for b in bodies]
    recertify(data, 4, validator_keys, lambda h: h.update(
        records=4, total=h["total"] + 1, root=records_root(ids).hex()))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("other_chain", 4)
    assert failure.record == foreign.id


def test_a_committed_record_the_rules_reject_is_found(
        chain: tuple[Path, Genesis], user: SigningKey, validator_keys: list[SigningKey]) -> None:
    data, genesis = chain
    bad = sign_body(make_body(genesis.chain, "counter.add", [user.public_hex], 500,
                              {"name": "c0", "by": -10**6}, expires=EXPIRES), [user])
    each_store(data, "UPDATE records SET id = ?, seq = 500, body = ?, sigs = ? "
               "WHERE height = 4 AND idx = 2", (bad.id, bad.body_bytes.decode(),
                                                bad.signatures[0].hex()))
    bodies = [r for (r,) in sqlite3.connect(data / "node-0.sqlite").execute(
        "SELECT body FROM records WHERE height = 4 ORDER BY idx")]
    root = records_root([Record(json.loads(b), [], b.encode()) for b in bodies]).hex()
    recertify(data, 4, validator_keys, lambda h: h.update(root=root))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("record_rejected", 4)
    assert (failure.record, failure.found) == (bad.id, "counter_negative")


def test_stored_rows_must_equal_the_replay(chain: tuple[Path, Genesis]) -> None:
    data, genesis = chain
    with sqlite3.connect(data / "node-2.sqlite") as conn:
        conn.execute("UPDATE c_counters SET value = value + 1 WHERE name = 'c1'")
    failure = verify(data, genesis).failure
    assert failure is not None and failure.what == "row_mismatch"
    assert (failure.node, failure.table, failure.key) == ("node-2.sqlite", "c_counters", ("c1",))
    assert failure.found[1] == failure.expected[1] + 1


def test_truncation_is_found_and_proven_with_a_checkpoint(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    consortium = make_consortium()
    build(consortium, add, blocks=3)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    shutil.copytree(data, tmp_path / "rewound")  # the store as it was at height 3
    consortium = make_consortium()
    build(consortium, add, blocks=1)
    consortium.close()
    saved = verify(data, genesis).checkpoint
    assert saved is not None and saved["tree_size"] == 4
    each_store(data, "DELETE FROM blocks WHERE height = 4")
    each_store(data, "DELETE FROM records WHERE height = 4")
    failure = verify(data, genesis).failure  # the rows block 4 wrote are still there
    assert failure is not None and (failure.what, failure.table) == ("row_mismatch", "seqs")
    rewound = tmp_path / "rewound"  # a whole store rewound looks like a node that lags...
    assert verify(rewound, genesis).valid
    failure = verify(rewound, genesis, checkpoint=saved).failure  # ...but for a checkpoint
    assert failure is not None and (failure.what, failure.height) == ("chain_truncated", 3)


def test_an_earlier_checkpoint_is_proven_or_refuted(chain: tuple[Path, Genesis],
                                                    make_consortium: Callable[..., Consortium],
                                                    add: Callable[..., Record],
                                                    tmp_path: Path) -> None:
    data, genesis = chain
    saved = verify(data, genesis, to_height=2).checkpoint
    assert saved is not None and saved["tree_size"] == 2
    report = verify(data, genesis, checkpoint=saved)
    assert report.valid, report.failure
    other = make_consortium(data_dir=tmp_path / "other")  # same genesis, other history
    build(other, add, blocks=2, per_block=2)
    other.close()
    rewritten = verify(tmp_path / "other", genesis).checkpoint
    failure = verify(data, genesis, checkpoint=rewritten).failure
    assert failure is not None and (failure.what, failure.height) == ("checkpoint_inconsistent", 2)
    forged = {**saved, "signatures": saved["signatures"][:1]}
    failure = verify(data, genesis, checkpoint=forged).failure
    assert failure is not None and (failure.what, failure.height) == ("checkpoint_invalid", 2)


def test_a_lagging_node_is_checked_at_its_own_height(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    consortium = make_consortium()
    build(consortium, add, blocks=2)
    consortium.stop(3)
    build(consortium, add, blocks=2)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    report = verify(data, genesis)
    assert report.valid, report.failure
    with sqlite3.connect(data / "node-3.sqlite") as conn:
        conn.execute("UPDATE seqs SET seq = seq + 1")
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.node) == ("row_mismatch", "node-3.sqlite")
    assert failure.table == "seqs"


def test_two_validly_certified_histories_are_a_fork(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    ours = make_consortium()
    build(ours, add, blocks=2)
    ours.close()
    theirs = make_consortium(data_dir=tmp_path / "theirs")
    build(theirs, add, blocks=2, per_block=1)
    theirs.close()
    shutil.copy(tmp_path / "theirs" / "node-1.sqlite", tmp_path / "chain" / "node-1.sqlite")
    failure = verify(tmp_path / "chain", ours.genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("nodes_disagree", 1)
    assert failure.node == "node-1.sqlite"


def test_evidence_must_be_a_real_conflicting_vote(
        make_consortium: Callable[..., Consortium], add: Callable[..., Record],
        tmp_path: Path) -> None:
    consortium = make_consortium()
    consortium.replicas[3].byzantine = True  # type: ignore[union-attr]
    build(consortium, add, blocks=2)
    consortium.close()
    data, genesis = tmp_path / "chain", consortium.genesis
    assert read(data, "SELECT COUNT(*) FROM evidence")[0] == 2
    report = verify(data, genesis)
    assert report.valid, report.failure
    each_store(data, "UPDATE evidence SET sig = ? WHERE height = 2", ("22" * 64,))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("evidence_forged", 2)
    assert (failure.table, failure.node) == ("evidence", "node-0.sqlite")
    assert failure.detail == "the signature does not verify"


class GovernedCounter(CounterApp):
    """Counters; a record adding to the counter "retire" drops the last validator."""

    def init_chain(self, chain: str, time_ms: int, app_genesis: Mapping[str, Any]) -> Execution:
        self.validators = tuple(ValidatorInfo(v["name"], v["key"])
                                for v in app_genesis["validators"])
        self._next: tuple[ValidatorInfo, ...] | None = None
        return super().init_chain(chain, time_ms, {})

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        execution = super().execute(ctx, records)
        if any(r.payload.get("name") == "retire" for r in records):
            execution.validators = self.validators[:-1]
        self._next = execution.validators
        return execution

    def commit(self) -> None:
        super().commit()
        if self._next is not None:
            self.validators = self._next


def test_certificates_follow_validator_set_changes(
        validator_keys: list[SigningKey], add: Callable[..., Record], tmp_path: Path) -> None:
    from ledger.consensus.clock import ManualClock

    infos = [{"name": f"v{i}", "key": k.public_hex} for i, k in enumerate(validator_keys)]
    genesis = Genesis("governed", 1_700_000_000_000, tuple(
        ValidatorInfo(v["name"], v["key"]) for v in infos), app={"validators": infos})
    consortium = Consortium(tmp_path / "gov", genesis, validator_keys, GovernedCounter,
                            ManualClock(1_700_000_000_000, step_ms=1))
    for name in ("a", "retire", "b", "c"):
        consortium.submit(add(name=name, chain="governed"))
        consortium.produce_block()
    consortium.close()
    data = tmp_path / "gov"
    report = verify(data, genesis, app=GovernedCounter)
    assert report.valid, report.failure
    assert report.signatures == 4 + 2 * (4 + 4 + 3 + 3)  # 3 validators from block 3 on
    retired = validator_keys[3]
    cert = json.loads(read(data, "SELECT certificate FROM blocks WHERE height = 4")[0])
    vote = {"validator": retired.public_hex,
            "sig": retired.sign(bytes.fromhex(cert["header"])).hex()}
    each_store(data, "UPDATE blocks SET certificate = ? WHERE height = 4",
               (json.dumps({**cert, "signatures": [*cert["signatures"][:2], vote]}),))
    failure = verify(data, genesis, app=GovernedCounter).failure
    assert failure is not None and (failure.what, failure.height) == ("certificate_below_quorum", 4)


def test_from_skips_signatures_below_it_only(chain: tuple[Path, Genesis]) -> None:
    data, genesis = chain
    each_store(data, "UPDATE records SET sigs = ? WHERE height = 1 AND idx = 0", ("33" * 64,))
    report = verify(data, genesis, from_height=2)
    assert report.valid and (report.blocks, report.blocks_replayed) == (3, 4)
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("bad_signature", 1)


@pytest.mark.parametrize(("statement", "what"), [
    ("CREATE TABLE extra (x)", "table_unexpected"),
    ("UPDATE meta SET value = value || ' ' WHERE key = 'genesis'", "row_mismatch"),
    ("INSERT INTO seqs VALUES ('ff', 1)", "row_unexpected"),
    ("DELETE FROM validator_sets", "row_missing"),
    ("INSERT INTO records VALUES (9, 0, 'x', 't', 's', 1, '{}', '')", "row_unexpected"),
])
def test_ledger_tables_are_compared(chain: tuple[Path, Genesis], statement: str,
                                    what: str) -> None:
    data, genesis = chain
    with sqlite3.connect(data / "node-1.sqlite") as conn:
        conn.execute(statement)
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.node) == (what, "node-1.sqlite")


def test_signatures_are_checked_in_small_batches_too(chain: tuple[Path, Genesis],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.verify import sigs as verify_sigs

    monkeypatch.setattr(verify_sigs, "sigs_per_task", 2)  # every block split over tasks
    data, genesis = chain
    assert verify(data, genesis, sig_cache=None).valid
    with sqlite3.connect(data / "node-1.sqlite") as conn:  # a node that is not read first
        conn.execute("UPDATE records SET sigs = ? WHERE height = 2 AND idx = 2", ("66" * 64,))
    failure = verify(data, genesis, sig_cache=None).failure
    assert failure is not None and (failure.what, failure.height) == ("bad_signature", 2)
    assert failure.node == "node-1.sqlite"


@pytest.mark.parametrize(("edit", "why"), [
    ({"extra": 1}, "extra fields"),
    ({"height": 2.0}, "field height has the wrong type"),
    ({"time": True}, "field time has the wrong type"),
    ({"root": 7}, "field root has the wrong type"),
], ids=["an extra field", "a float height", "a boolean time", "a number for the root"])
def test_a_header_with_an_extra_field_or_a_wrong_type_is_malformed(
        chain: tuple[Path, Genesis], edit: dict[str, Any], why: str) -> None:
    data, genesis = chain
    header = json.loads(read(data, "SELECT header FROM blocks WHERE height = 2")[0])
    each_store(data, "UPDATE blocks SET header = ? WHERE height = 2",
               (json.dumps({**header, **edit}),))
    failure = verify(data, genesis).failure
    assert failure is not None and (failure.what, failure.height) == ("malformed_header", 2)
    assert why in failure.detail, failure.detail


@pytest.mark.parametrize(("column", "value"), [
    ("id", "ab" * 32), ("type", "counter.other"), ("signer", "cd" * 32), ("seq", 102)])
def test_a_record_row_whose_column_differs_from_its_body_is_named_with_both_values(
        chain: tuple[Path, Genesis], column: str, value: Any) -> None:
    data, genesis = chain
    query = f"SELECT id, {column} FROM records WHERE height = 2 AND idx = 1"
    record_id, stored = read(data, query)
    each_store(data, f"UPDATE records SET {column} = ? WHERE height = 2 AND idx = 1", (value,))
    failure = verify(data, genesis).failure
    assert failure is not None
    assert (failure.what, failure.height, failure.node, failure.table, failure.key) == (
        "row_mismatch", 2, "node-0.sqlite", "records", (2, 1))
    assert (failure.record, failure.expected, failure.found) == (record_id, stored, value)
    assert failure.detail == f"column {column} does not match the record body"


def test_a_record_body_not_in_its_canonical_form_is_named_with_both_forms(
        chain: tuple[Path, Genesis]) -> None:
    data, genesis = chain
    record_id, body = read(data, "SELECT id, body FROM records WHERE height = 2 AND idx = 0")
    each_store(data, "UPDATE records SET body = body || ' ' WHERE height = 2 AND idx = 0")
    failure = verify(data, genesis).failure
    assert failure is not None
    assert (failure.what, failure.height, failure.node, failure.key, failure.record) == (
        "malformed_record", 2, "node-0.sqlite", (2, 0), record_id)
    assert (failure.expected, failure.found) == (body, body + " ")
    assert failure.detail == "the record body is not in canonical form"


def test_a_record_row_that_holds_no_record_is_named_with_the_parser_s_words(
        chain: tuple[Path, Genesis]) -> None:
    data, genesis = chain
    each_store(data, "UPDATE records SET body = '{\"seq\": 1}' WHERE height = 3 AND idx = 2")
    failure = verify(data, genesis).failure
    assert failure is not None
    assert (failure.what, failure.height, failure.node, failure.key, failure.record) == (
        "malformed_record", 3, "node-0.sqlite", (3, 2), None)
    assert failure.detail is not None and failure.detail.startswith("a body has exactly the fields")
