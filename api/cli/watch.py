"""``jifentong watch``: follow the node's event stream, one line per committed record."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from api.cli.common import JsonOpt, fail
from api.cli.ops import DEFAULT_NODE, NodeOpt
from api.client.client import Client
from api.client.events import StreamRefused

Filter = Annotated[str | None, typer.Option(help="only records that touch this")]


def describe(event: dict[str, Any]) -> str:
    """One line for a person: id, type, and the balance movements."""
    moves = ", ".join(f"{e['kind']} {e['delta']:+,} {e['program'].upper()} {e['account'][:8]}…"
                      for e in event["effects"])
    return f"{event['id']:>10}  {event['type']:<24} {moves}"


def watch(program: Filter = None, account: Filter = None, merchant: Filter = None,
          from_height: Annotated[int | None, typer.Option(
              "--from", help="start at this height (default: from now on)")] = None,
          count: Annotated[int | None, typer.Option(
              help="stop after this many events")] = None,
          node: NodeOpt = DEFAULT_NODE, json_out: JsonOpt = False) -> None:
    """Print committed records as they land (GET /v1/events), until Ctrl+C."""
    seen = 0
    try:
        with Client(node) as client:
            for event in client.events(program=program, account=account,
                                       merchant=merchant, from_height=from_height):
                print(json.dumps(event, ensure_ascii=False) if json_out
                      else describe(event), flush=True)
                seen += 1
                if count is not None and seen >= count:
                    return
    except StreamRefused as exc:
        fail(f"the node refused the stream ({exc.code}); retry in "
             f"{exc.retry_after_s or 1} s", code=1)
    except httpx.TransportError as exc:
        fail(f"cannot reach the node ({exc.__class__.__name__}); is --node right?")
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the ``jifentong`` command."""
    app.command()(watch)
