"""Merchant and customer commands: records are built and signed here, on the user's machine.

Every write shows what it will sign, submits it, waits for the block and prints (or saves)
the receipt. ``--json`` prints the node's answer for machines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from api.cli.common import JsonOpt, PassEnv, console, emit, err, fail, load_key
from api.client.client import Client, ClientError, Wallet, record_ttl_ms_default
from exchange import records as rec
from ledger.errors import LedgerError
from ledger.wire.record import Record

NodeOpt = Annotated[str, typer.Option("--node", envvar="JIFENTONG_NODE",
                                      help="node URL")]
KeyOpt = Annotated[str, typer.Option("--key", help="signing key: keystore name or PEM path")]
ReceiptOpt = Annotated[Path | None, typer.Option("--receipt", help="save the receipt here")]
TtlOpt = Annotated[int, typer.Option(
    "--ttl", envvar="JIFENTONG_TTL_S", min=1,
    help="seconds the record stays valid; not committed by then, it never will be")]
DEFAULT_NODE = os.environ.get("JIFENTONG_NODE", "http://127.0.0.1:8400")
DEFAULT_TTL_S = record_ttl_ms_default // 1000


def connect(url: str) -> Client:
    return Client(url)


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a client call; turn network and node errors into helpful exits."""
    try:
        return fn(*args, **kwargs)
    except httpx.TransportError as exc:
        fail(f"cannot reach the node ({exc.__class__.__name__}); is `jifentong serve` "
             "running, and is --node right?")
    except ClientError as exc:
        err.print(f"[bold red]refused[/] ({exc.code}): {exc.detail}")
        raise typer.Exit(1) from exc
    except LedgerError as exc:
        fail(str(exc))


def submit(client: Client, record: Record, json_out: bool, receipt_path: Path | None) -> None:
    """Send a signed record, wait for its block, report and save the receipt."""
    answer = call(client.submit, record, wait=True, timeout_ms=30_000)
    if receipt_path is not None and answer.get("receipt"):
        receipt_path.write_text(json.dumps(answer["receipt"], ensure_ascii=False, indent=2))
    if json_out:
        emit(answer)
        return
    if answer["status"] == "committed":
        console.print(f"[bold green]committed[/] {record.type} in block {answer['height']} "
                      f"(record {record.id})"
                      + (f"; receipt saved to {receipt_path}" if receipt_path else ""))
    else:
        console.print(f"[yellow]{answer['status']}[/]: record {record.id} is accepted but not "
                      "yet in a block; check later with `jifentong record ID`")


def wallet(node: str, key: str, pass_env: str | None, ttl_s: int) -> Wallet:
    client = connect(node)
    signing = load_key(key, pass_env)
    chain = call(client.genesis)["genesis"]["chain"]
    return Wallet(signing, client, chain, ttl_ms=ttl_s * 1000)


def issue(program: Annotated[str, typer.Option(help="program code, e.g. vk")],
          to: Annotated[str, typer.Option(help="customer's public key (hex)")],
          amount: Annotated[int, typer.Option(min=1, help="points")], key: KeyOpt,
          ref: Annotated[str, typer.Option(help="purchase reference")] = "",
          node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
          receipt: ReceiptOpt = None, json_out: JsonOpt = False,
          ttl: TtlOpt = DEFAULT_TTL_S) -> None:
    """Merchant: issue points of your program to a customer."""
    w = wallet(node, key, pass_env, ttl)
    body = rec.issue(w.chain, w.public, call(w.next_seq), program, to, amount, ref,
                    expires=w.expires())
    submit(w.client, w.sign_body(body), json_out, receipt)


def transfer(program: Annotated[str, typer.Option(help="program code")],
             to: Annotated[str, typer.Option(help="recipient's public key (hex)")],
             amount: Annotated[int, typer.Option(min=1)], key: KeyOpt,
             memo: str = "", node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
             receipt: ReceiptOpt = None, json_out: JsonOpt = False,
             ttl: TtlOpt = DEFAULT_TTL_S) -> None:
    """Customer: give points of a transferable program to another customer."""
    w = wallet(node, key, pass_env, ttl)
    body = rec.transfer(w.chain, w.public, call(w.next_seq), program, to, amount, memo,
                       expires=w.expires())
    submit(w.client, w.sign_body(body), json_out, receipt)


def redeem(program: Annotated[str, typer.Option(help="program code")],
           amount: Annotated[int, typer.Option(min=1, help="points to spend")],
           order: Annotated[str, typer.Option(help="the merchant's order reference")],
           key: KeyOpt, node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
           receipt: ReceiptOpt = None, json_out: JsonOpt = False,
           ttl: TtlOpt = DEFAULT_TTL_S) -> None:
    """Customer: spend points at their issuer (they are burned)."""
    w = wallet(node, key, pass_env, ttl)
    body = rec.redeem(w.chain, w.public, call(w.next_seq), program, amount, order,
                     expires=w.expires())
    submit(w.client, w.sign_body(body), json_out, receipt)


def swap(give: Annotated[str, typer.Option(help="program you give, e.g. vk")],
         amount: Annotated[int, typer.Option(min=1, help="points you give at most")],
         get: Annotated[str, typer.Option(help="program you get, e.g. bp")],
         key: KeyOpt,
         min_out: Annotated[int | None, typer.Option(help="refuse if fewer out")] = None,
         yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
         node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
         receipt: ReceiptOpt = None, json_out: JsonOpt = False,
         ttl: TtlOpt = DEFAULT_TTL_S) -> None:
    """Customer: swap points of one program for another at the issuers' posted rates."""
    w = wallet(node, key, pass_env, ttl)
    quote = call(w.client.get, "/v1/quote", give=give, amount=amount, get=get,
                 holder=w.public)
    if quote.get("code") != "ok":
        err.print(f"[bold red]no swap possible[/] ({quote.get('code')})")
        raise typer.Exit(1)
    if not json_out:
        bonus = f" + {quote['bonus']} promotion bonus" if quote["bonus"] else ""
        console.print(f"quote: give {quote['taken']} {give} (rate {quote['give_rate']}/¥) "
                      f"→ get {quote['base']}{bonus} = {quote['out']} {get} "
                      f"(rate {quote['get_rate']}/¥), worth ¥{quote['value_micro'] / 1e6:.2f};"
                      f" no fee")
    if not yes and not typer.confirm("sign and submit this swap?", default=False):
        raise typer.Exit(1)
    body = rec.swap(w.chain, w.public, call(w.next_seq), give, quote["taken"], get,
                    min_out if min_out is not None else quote["out"],
                    quote["give_version"], quote["get_version"], expires=w.expires())
    submit(w.client, w.sign_body(body), json_out, receipt)


def balance(account: Annotated[str, typer.Argument(help="public key, or a key name/path")],
            node: NodeOpt = DEFAULT_NODE, pass_env: PassEnv = None,
            json_out: JsonOpt = False) -> None:
    """An account's points, their yuan value and what expires within a week."""
    public = account if len(account) == 64 else load_key(account, pass_env).public_hex
    found = call(connect(node).get, f"/v1/accounts/{public}/balances")
    if json_out:
        emit(found)
        return
    if not found["holdings"]:
        console.print(f"account {public[:16]}… holds no points")
    for h in found["holdings"]:
        soon = f", {h['expiring_soon']} expire within 7 days" if h["expiring_soon"] else ""
        console.print(f"{h['balance']:>10,} {h['program']:<6} {h['name']}  "
                      f"worth ¥{h['value_micro'] / 1e6:,.2f}{soon}")
    console.print(f"total value ¥{found['value_micro'] / 1e6:,.2f}")


def settlement(node: NodeOpt = DEFAULT_NODE, json_out: JsonOpt = False) -> None:
    """The alliance's settlement statement: net positions and the payments that clear them."""
    found = call(connect(node).get, "/v1/settlement/statement")
    if json_out:
        emit(found)
        return
    for p in found["positions"]:
        console.print(f"{p['merchant']:<22} net {p['net_micro'] / 1e6:>+12,.2f} ¥")
    for pay in found["payments"]:
        console.print(f"[bold]{pay['payer']}[/] pays [bold]{pay['payee']}[/] "
                      f"¥{pay['amount_fen'] / 100:,.2f}")
    if not found["payments"]:
        console.print("nothing to settle")


def record_cmd(record_id: str, node: NodeOpt = DEFAULT_NODE,
               receipt: ReceiptOpt = None) -> None:
    """Show a record's status; with --receipt, save its receipt."""
    client = connect(node)
    emit(call(client.record, record_id))
    if receipt is not None:
        receipt.write_text(json.dumps(call(client.receipt, record_id), indent=2))
        err.print(f"receipt saved to {receipt}")


def register(app: typer.Typer) -> None:
    """Add the merchant and customer commands to the ``jifentong`` command."""
    app.command()(issue)
    app.command()(transfer)
    app.command()(redeem)
    app.command()(swap)
    app.command()(balance)
    app.command()(settlement)
    app.command("record")(record_cmd)
