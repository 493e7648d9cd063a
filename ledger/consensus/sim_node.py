"""The simulator's plain values: its configuration and report, its failure, and one
simulated node (its key, store path, connection to etcd, clock, and, while it runs, its
replica and orderer). See :mod:`ledger.consensus.sim`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.consensus.ordering import Orderer
from ledger.consensus.replica import Replica
from ledger.consensus.sim_etcd import SimConnection
from ledger.consensus.sim_torn import TornWrite
from ledger.crypto.keys import SigningKey
from ledger.limits import sim_rounds_default


class SimFailure(AssertionError):
    """An invariant broke; the message names the seed, the round and the replay command."""


@dataclass
class SimConfig:
    seed: int
    rounds: int = sim_rounds_default
    nodes: int = 4
    byzantine: bool = True
    torn_share: float = 0.005  # of the fault rounds that arm a torn write
    forge_rejections: bool = False  # the byzantine proposer claims records were refused


@dataclass
class SimReport:
    seed: int
    rounds: int = 0
    heights: int = 0
    acknowledged: int = 0
    crashes: int = 0
    torn: int = 0
    evidence: int = 0
    false_refusals: int = 0  # proposals in the log that call refused a record the chain holds


class SimClock:
    """A node's clock: simulated time plus its own skew."""

    def __init__(self, now_ms: Callable[[], int], skew_ms: int) -> None:
        self.now, self.skew_ms = now_ms, skew_ms

    def now_ms(self) -> int:
        return self.now() + self.skew_ms

    def peek_ms(self) -> int:
        return self.now_ms()


@dataclass
class SimNode:
    index: int
    key: SigningKey
    path: Path
    conn: SimConnection
    clock: SimClock
    byzantine: bool
    replica: Replica | None = None
    orderer: Orderer | None = None
    torn: TornWrite | None = None
