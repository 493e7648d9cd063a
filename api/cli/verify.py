"""``jifentong verify TARGET``: check a whole alliance's chain without trusting the node.

TARGET is a data dir (every ``node-*.sqlite`` and the pending journal are checked) or a node
URL (``http://`` or ``https://``: what its chain API shows). Exit 0 valid, 1 invalid, 2 when
the target cannot be read or the command is misused. See docs/VERIFY.md.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from api.node.datadir import DataDir
from ledger.application import Application
from ledger.chain.checkpoint import SignedCheckpoint
from ledger.chain.genesis import Genesis
from ledger.crypto.sigworker import Worker, start_workers
from ledger.errors import LedgerError
from ledger.memory import keep_freed_memory, peak_rss_mb
from ledger.verify.failure import Report, SourceError
from ledger.verify.store_source import StoreSource
from ledger.verify.verifier import verify_chain

err = Console(stderr=True)
out = Console()
APPS = ("exchange", "counter")


def app_factory(name: str) -> Callable[[], Application]:
    """The application class the chain runs (its constructor takes no arguments)."""
    if name == "counter":
        from ledger.counter import CounterApp

        return CounterApp
    from exchange.app import ExchangeApp

    return ExchangeApp


def open_source(target: str, genesis: Genesis | None = None, transport: Any = None) -> Any:
    """A ChainSource for a data dir or a node URL; raises SourceError when unreadable."""
    if target.startswith(("http://", "https://")):
        from api.client.http_source import HttpSource

        return HttpSource(target, genesis=genesis, transport=transport)
    data = DataDir(Path(target))
    if not data.path.is_dir():
        raise SourceError(f"{target} is not a directory")
    try:
        stored = data.genesis()
    except LedgerError as exc:
        raise SourceError(str(exc)) from exc
    return StoreSource(str(data.path), stored, data.node_paths(), data.path / "mempool.sqlite",
                       pinned=genesis)


def _workers_default() -> int:
    """One worker per core but this process's, which checks its own share of signatures."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, (cpus or 1) - 1)


class RateColumn(ProgressColumn):
    """Records per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rec/s", style="cyan")


def verify(
    target: Annotated[str, typer.Argument(help="data dir, or node URL (http://host:port)")],
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    from_height: Annotated[int | None, typer.Option(
        "--from", min=1, help="check signatures from this height on (all is still replayed)")
    ] = None,
    to_height: Annotated[int | None, typer.Option("--to", min=1, help="stop at this height")
                         ] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="a signed checkpoint saved earlier: the chain must extend it")] = None,
    save_checkpoint: Annotated[Path | None, typer.Option(
        help="when valid, write the newest verified checkpoint here")] = None,
    genesis: Annotated[Path | None, typer.Option(
        help="genesis.json you trust (pins the chain and its first validators)")] = None,
    workers: Annotated[int, typer.Option(min=0, max=64, help="signature-checking processes "
                                         "besides this one (default: cores - 1)")
                       ] = _workers_default(),
    app_name: Annotated[str, typer.Option("--app", help="application rules: exchange or "
                                                        "counter")] = "exchange",
) -> None:
    """Check a whole chain: structure, signatures, a full replay, stored rows, checkpoints."""
    if app_name not in APPS:
        _usage(f"--app must be one of {', '.join(APPS)}")
    if from_height and to_height and from_height > to_height:
        _usage("--from must not exceed --to")
    pinned = _read(genesis, Genesis.load) if genesis else None
    signed = _read(checkpoint, _load_checkpoint) if checkpoint else None
    if signed is not None and to_height is not None and to_height < signed.checkpoint.tree_size:
        _usage(f"--to {to_height} is below the checkpoint's size {signed.checkpoint.tree_size}")
    keep_freed_memory()  # this process runs once and exits: no page faults for reuse
    pool = start_workers(workers)  # they start up while the source and the rules load
    try:
        source = open_source(target, pinned)
        report = _run(source, app_factory(app_name), from_height, to_height, signed, pool,
                      progress=not json_out)
    except SourceError as exc:
        _usage(str(exc))
    finally:
        for worker in pool:  # the run closed them; not when it never started
            worker.close(wait=False)
    if report.valid and save_checkpoint is not None and report.checkpoint is not None:
        save_checkpoint.write_text(json.dumps(report.checkpoint, indent=2) + "\n")
    summary = report_json(report, pool)
    summary["workers"] = workers
    if json_out:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    else:
        _print(report, summary)
    raise typer.Exit(0 if report.valid else 1)


def _usage(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _read(path: Path, load: Any) -> Any:
    try:
        return load(path)
    except (OSError, LedgerError, ValueError) as exc:
        _usage(f"cannot read {path}: {exc}")


def _load_checkpoint(path: Path) -> SignedCheckpoint:
    return SignedCheckpoint.from_json(json.loads(path.read_text()))


def _run(source: Any, factory: Any, from_height: int | None, to_height: int | None,
         signed: SignedCheckpoint | None, workers: int | list[Worker], progress: bool
         ) -> Report:
    columns = (TextColumn("[bold]verifying[/] block {task.fields[height]}"), BarColumn(),
               MofNCompleteColumn(), RateColumn(), TimeRemainingColumn())
    bar = Progress(*columns, console=err, disable=not progress or not err.is_terminal)
    with bar:
        task = bar.add_task("verify", total=None, height=0)
        return verify_chain(source, factory, from_height=from_height, to_height=to_height,
                            checkpoint=signed, progress=partial(_step, bar, task),
                            workers=workers)


def _step(bar: Progress, task: TaskID, height: int, height_max: int, records: int,
          records_max: int) -> None:
    """Move the progress bar to the verifier's position."""
    bar.update(task, completed=records, total=max(records_max, records), height=height)


def report_json(report: Report, pool: Sequence[Worker] = ()) -> dict[str, Any]:
    """The --json summary: the report plus programs and peak memory (this process's, and
    the largest of its signature workers')."""
    summary = report.to_json()
    summary["programs"] = report.table_rows.get("x_programs")
    summary["records_per_s"] = round(report.records / report.seconds, 1) if report.seconds else 0
    own = peak_rss_mb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks = [w.peak_rss_mb for w in pool if w.peak_rss_mb is not None]
    worker = max(peaks) if peaks else resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary["peak_rss_mb"] = {"main": round(own, 1), "worker": round(worker, 1)}
    return summary


def _print(report: Report, summary: dict[str, Any]) -> None:
    table = Table(title=f"jifentong verify — {report.target}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [("chain", report.chain), ("height", f"{report.height:,}"),
            ("blocks checked", f"{report.blocks:,}"), ("records", f"{report.records:,}"),
            ("signatures", f"{report.signatures:,}"),
            ("programs", "" if summary["programs"] is None else f"{summary['programs']:,}"),
            ("invariants checked", f"{report.invariants_checked:,}"),
            ("stored rows compared", f"{report.rows_checked:,}"),
            ("nodes", ", ".join(report.nodes)),
            ("time", f"{report.seconds:,.1f} s ({summary['records_per_s']:,.0f} records/s)")]
    for name, value in rows:
        if value:
            table.add_row(name, value)
    out.print(table)
    for note in report.notes:
        out.print(f"[yellow]note:[/] {note}")
    failure = report.failure
    if failure is None:
        out.print("[bold green]VALID[/]: every check passed")
        return
    lines = [Text.assemble(("INVALID", "bold red"), f" — {failure.what}")]
    fields = [("block", failure.height), ("node", failure.node), ("record", failure.record),
              ("table", failure.table),
              ("key", None if failure.key is None else json.dumps(list(failure.key))),
              ("what", failure.detail), ("expected", failure.expected),
              ("found", failure.found)]
    for name, value in fields:
        if value is not None and value != "":
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(Text.assemble((f"  {name:<9}", "bold"), text))
    for line in lines:
        out.print(line, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the ``jifentong`` command."""
    app.command("verify")(verify)
