"""The points exchange as a ledger application (``ledger.application.Application``).

Deterministic: the block time comes from :class:`BlockContext`, there is no I/O, no clock,
no float, and everything that reaches a decision or a row is iterated in sorted order.
``execute`` starts each block ("begin block") by putting due posted rates into effect and
lapsing due lots and merchant applications, then judges each record: ``type_unknown``,
``key_retired``, then the record type's own checks (see :mod:`exchange.codes`); a rejected
record writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from exchange.codes import KEY_RETIRED, TYPE_UNKNOWN
from exchange.errors import InvariantViolation, invariant
from exchange.genesis import Params, parse_genesis
from exchange.registry import REGISTRY
from exchange.rules import applications, pending
from exchange.rules.auth import any_retired
from exchange.rules.rates import activate_rates, prune_pending
from exchange.state.audit import audit, check_block
from exchange.state.books import record_aging, record_books
from exchange.state.changes import collect_changes
from exchange.state.env import Env
from exchange.state.expiry import expire_due
from exchange.state.model import ACTIVE, CURRENT, MEMBER, REGULATOR, VALIDATOR, KeyBinding, Member
from exchange.state.state import State
from exchange.state.tables import SPECS, restore_state, state_rows
from ledger.application import BlockContext, Execution, Row, TableSpec, ValidatorInfo, Values
from ledger.wire.record import Record

PARAM_NAMES = ("member_quorum_percent", "rate_notice_ms", "day_offset_ms", "application_ttl_ms")
LAST_HEIGHT, LAST_TIME = "last_height", "last_time_ms"


def judge(s: State, env: Env, record: Record, write: bool) -> str:
    """``ok`` or the first rule ``record`` breaks; with ``write``, apply it when ok."""
    declared = REGISTRY.get(record.type)
    if declared is None:
        return TYPE_UNKNOWN
    if any_retired(s, record.signers):
        return KEY_RETIRED
    return declared.handler(s, env, record, write)


def validator_set(s: State) -> tuple[ValidatorInfo, ...]:
    """Active members' validator keys, named by member id, in id order."""
    return tuple(ValidatorInfo(m.id, m.validator_key) for _, m in s.members.items()
                 if m.status == ACTIVE and m.validator_key)


class ExchangeApp:
    """The exchange state machine. Construct, then ``init_chain`` or ``restore``."""

    #: ``execute`` checks each block's conservation invariants on its overlay and raises on a
    #: violation (:func:`exchange.state.audit.check_block`): a verifier counts each replayed block
    #: as checked.
    invariants_in_execute = True

    def __init__(self) -> None:
        self.state = State()
        self.view = self.state.view()  # the committed state, read-only (for check and queries)
        self._params: Params | None = None
        self._executed_time_ms: int | None = None

    @property
    def params(self) -> Params:
        if self._params is None:
            raise InvariantViolation("the exchange has no genesis (init_chain/restore)")
        return self._params

    def tables(self) -> Sequence[TableSpec]:
        return SPECS

    def init_chain(self, chain: str, time_ms: int, app_genesis: Mapping[str, Any]) -> Execution:
        """Build and commit the genesis state: parameters, regulator, founding members."""
        genesis = parse_genesis(app_genesis)
        s = self.state
        s.discard()
        invariant(not s.params.base, "init_chain on a state that is not empty")
        params = genesis.params
        for name in PARAM_NAMES:
            s.params.put(name, getattr(params, name))
        s.params.put(LAST_HEIGHT, 0)
        s.params.put(LAST_TIME, time_ms)
        s.regulator.put(REGULATOR, (genesis.regulator_name, genesis.regulator_key))
        s.keys.put(genesis.regulator_key, KeyBinding(REGULATOR, REGULATOR, CURRENT, 0))
        env = Env(params, 0, time_ms)
        for m in genesis.members:
            s.members.put(m.id, Member(m.id, m.name, m.key, m.validator_key, ACTIVE, 0, 0))
            s.keys.put(m.key, KeyBinding(MEMBER, m.id, CURRENT, 0))
            if m.validator_key is not None:
                s.keys.put(m.validator_key, KeyBinding(VALIDATOR, m.id, CURRENT, 0))
            env.event("member_admitted", m.id, m.name)
        changes = collect_changes(s, appended=env.appended())
        s.commit()
        self._params = params
        return Execution(codes=[], changes=changes)

    def restore(self, rows: Mapping[str, Iterable[Row]]) -> None:
        restore_state(self.state, rows)
        values = {name: self.state.param(name) for name in PARAM_NAMES}
        self._params = Params(**values)
        self._executed_time_ms = None

    def rows(self, table: str) -> list[Values]:
        """Every row of a restore table in the committed state (APP-7)."""
        return state_rows(self.state, table)

    def check(self, record: Record) -> str:
        """Judge ``record`` against the committed state as if in the next block (no effects)."""
        view = self.view
        env = Env(self.params, view.param(LAST_HEIGHT) + 1, view.param(LAST_TIME))
        return judge(view, env, record, write=False)

    def execute(self, ctx: BlockContext, records: Sequence[Record]) -> Execution:
        s = self.state
        s.discard()
        env = Env(self.params, ctx.height, ctx.time_ms)
        activate_rates(s, env)
        pending.vest_due(s, env)
        expire_due(s, env)
        applications.lapse_applications(s, env)
        codes: list[str] = []
        for idx, record in enumerate(records):
            env.begin_record(idx, record.id)
            codes.append(judge(s, env, record, write=True))
        record_books(s, env)
        record_aging(s, env)
        s.params.put(LAST_HEIGHT, ctx.height)
        s.params.put(LAST_TIME, ctx.time_ms)
        balance_delta: dict[str, int] = {}
        changes = collect_changes(s, balance_delta, env.appended())
        check_block(s, balance_delta)
        validators = None
        if env.members_changed:
            after = validator_set(s)
            if after != validator_set(self.view):
                validators = after
        self._executed_time_ms = ctx.time_ms
        return Execution(codes, changes, validators)

    def commit(self) -> None:
        self.state.commit()
        if self._executed_time_ms is not None:
            self.state.expiry.prune(self._executed_time_ms)
            self.state.vesting.prune(self._executed_time_ms)
        prune_pending(self.state)
        self._executed_time_ms = None

    def discard(self) -> None:
        self.state.discard()
        self._executed_time_ms = None

    def validators(self) -> tuple[ValidatorInfo, ...]:
        """The committed validator set (active members with a validator key)."""
        return validator_set(self.view)

    def audit(self) -> list[str]:
        """Every invariant over the committed state; an empty list when all hold."""
        return audit(self.view)

