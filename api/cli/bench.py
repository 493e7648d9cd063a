"""The ``jifentong bench`` command: runs :mod:`api.bench.run` and prints figures and ratios."""

from __future__ import annotations

import json
import platform
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.bench import run as bench

err = Console(stderr=True)

ONE, TWO = "ed25519_verify_per_s_1core", "ed25519_verify_per_s_2core"
TWO_AT_VERIFY = "ed25519_verify_per_s_2core_at_verify"
#: (key, what, unit, the limit it is compared with, target or None). A float target is a
#: ratio to that limit; an int target is an absolute rate (issue #4 states records per second).
ROWS: list[tuple[str, str, str, str | None, float | int | None]] = [
    (ONE, "Ed25519 verifications, 1 core", "/s", None, None),
    (TWO, "Ed25519 verifications, 2 cores", "/s", None, None),
    ("ingest_records_per_s", "ledger ingest (1 validator)", "rec/s", ONE, 0.60),
    ("swap_records_per_s", "swaps through the ledger (1 validator)", "rec/s", ONE, 0.50),
    ("http_submit_per_s", "HTTP submissions, one record each", "rec/s", ONE, 1500),
    ("http_batch_submit_per_s", "HTTP submissions in batches", "rec/s", ONE, 5000),
    # every node checks every signature: the limit is a quarter of two cores; target half that
    ("cluster_records_per_s", "swaps over HTTP into a 4-node etcd cluster", "rec/s", TWO, 0.125),
    ("cluster_commit_ms_p50", "cluster commit latency at 200 rec/s, median", "ms", None, None),
    ("cluster_commit_ms_p99", "cluster commit latency at 200 rec/s, 99th pct", "ms", None, None),
    (TWO_AT_VERIFY, "Ed25519 verifications, 2 cores, beside verification", "/s", None, None),
    ("verify_records_per_s", "chain verification", "rec/s", TWO_AT_VERIFY, 0.70),
    ("verify_peak_mb", "verification peak memory", "MB", None, None),
    ("statement_ms", "issuer statement, one merchant and month", "ms", None, None),
    ("explorer_p50_ms", "explorer page, median", "ms", None, None),
    ("explorer_p95_ms", "explorer page, 95th percentile", "ms", None, None),
    ("disk_bytes_per_record", "bytes on disk per record (all replicas)", "B", None, None),
]


def bench_command(
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    records: Annotated[int, typer.Option("--records", min=1000, max=2_000_000,
                                         help="records per workload")] = 20_000,
) -> None:
    """Measure throughput, verification, explorer latency and disk use against Ed25519."""
    figures = bench.run_all(records, _progress)
    values = figures.values
    if json_out:
        out: dict[str, Any] = {k: round(v, 2) for k, v in values.items()}
        out["records"] = records
        out["ratios"] = {k: round(values[k] / values[lim], 3)
                         for k, _, _, lim, _ in ROWS if lim and k in values}
        out["targets"] = {k: {"target": t, "met": _met(values, k, t, lim)}
                          for k, _, _, lim, t in ROWS if t is not None and k in values}
        out["machine"] = {"python": platform.python_version(),
                          "platform": platform.platform(), "cpus": _cpus()}
        out["notes"] = figures.notes
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table(title=f"jifentong bench — {records} records per workload")
    for column in ("figure", "value", "vs limit", "target"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for key, what, unit, limit, target in ROWS:
        if key not in values:
            continue
        ratio = ""
        if limit:
            cores = "1 core" if limit == ONE else "2 cores"
            ratio = f"{values[key] / values[limit]:.2f}× {cores}"
        table.add_row(what, f"{values[key]:,.1f} {unit}", ratio,
                      _target_text(values, key, target, limit))
    Console().print(table)
    for key, note in figures.notes.items():
        err.print(f"[dim]{key}: {note}[/]")


def _progress(message: str) -> None:
    """Tell the person waiting what the bench is doing (on stderr)."""
    err.print(f"[dim]bench:[/] {message}")


def _met(values: dict[str, float], key: str, target: float | int, limit: str | None) -> bool:
    if isinstance(target, int) or limit is None:
        return values[key] >= target
    return values[key] / values[limit] >= target


def _target_text(values: dict[str, float], key: str, target: float | int | None,
                 limit: str | None) -> str:
    if target is None:
        return ""
    text = f"≥ {target:,} /s" if isinstance(target, int) else f"≥ {target:.2f}×"
    return text + (" met" if _met(values, key, target, limit) else " not met")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the ``jifentong`` command."""
    app.command("bench")(bench_command)
