"""Header validity is one pure rule (ledger/chain/header_rules.py), shared by the replica and
the verifier: each broken field is named by its code, in the documented check order."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ledger.application import ValidatorInfo
from ledger.chain.block import Header
from ledger.chain.genesis import validator_set_hash
from ledger.chain.header_rules import HEADER_CODES, Parent, validate_header
from ledger.errors import HeaderInvalid
from ledger.limits import block_time_step_ms_max

VALIDATORS = tuple(ValidatorInfo(f"v{i}", f"{i:02x}" * 32) for i in range(1, 5))
PARENT = Parent("test-chain", 7, b"\x07" * 32, 1_700_000_000_000, VALIDATORS,
                validator_set_hash(VALIDATORS).hex())
GOOD = Header(chain="test-chain", height=8, prev="07" * 32, time_ms=PARENT.time_ms + 1,
              records=0, total=0, root="00" * 32, state="00" * 32,
              validators=PARENT.validators_hash, proposer=VALIDATORS[2].key)

#: One broken field per rule, in check order.
BROKEN: dict[str, dict[str, Any]] = {
    "other_chain": {"chain": "other-chain"},
    "height_mismatch": {"height": 9},
    "prev_hash_mismatch": {"prev": "00" * 32},
    "validator_set_mismatch": {"validators": "00" * 32},
    "time_not_increasing": {"time_ms": PARENT.time_ms},
    "bad_proposer": {"proposer": "ff" * 32},
}

#: What each broken rule reports (the verifier's expected, found and detail of a failure).
SAYS: dict[str, tuple[Any, Any, str]] = {
    "other_chain": ("test-chain", "other-chain", "the chain id does not follow the chain"),
    "height_mismatch": (8, 9, "the height does not follow the chain"),
    "prev_hash_mismatch": ("07" * 32, "00" * 32,
                           "the previous header hash does not follow the chain"),
    "validator_set_mismatch": (PARENT.validators_hash, "00" * 32,
                               "the validator set does not follow the chain"),
    "time_not_increasing": (f"> {PARENT.time_ms}", PARENT.time_ms,
                            f"the time must grow, by at most {block_time_step_ms_max} ms"),
    "bad_proposer": (None, "ff" * 32, "the proposer is not in the validator set"),
}


def test_a_header_that_follows_its_parent_passes() -> None:
    validate_header(GOOD, PARENT)
    validate_header(dataclasses.replace(GOOD, time_ms=PARENT.time_ms + block_time_step_ms_max),
                    PARENT)


@pytest.mark.parametrize("code", HEADER_CODES)
def test_each_broken_rule_is_named_by_its_code(code: str) -> None:
    with pytest.raises(HeaderInvalid) as caught:
        validate_header(dataclasses.replace(GOOD, **BROKEN[code]), PARENT)
    assert caught.value.code == code
    assert (caught.value.expected, caught.value.found, caught.value.detail) == SAYS[code]


def test_time_may_not_jump_past_the_step_bound() -> None:
    ahead = dataclasses.replace(GOOD, time_ms=PARENT.time_ms + block_time_step_ms_max + 1)
    with pytest.raises(HeaderInvalid) as caught:
        validate_header(ahead, PARENT)
    assert caught.value.code == "time_not_increasing"


def test_the_first_broken_rule_in_check_order_is_reported() -> None:
    assert tuple(BROKEN) == HEADER_CODES
    for i, code in enumerate(HEADER_CODES):
        fields: dict[str, Any] = {}
        for later in HEADER_CODES[i:]:
            fields |= BROKEN[later]
        with pytest.raises(HeaderInvalid) as caught:
            validate_header(dataclasses.replace(GOOD, **fields), PARENT)
        assert caught.value.code == code
