"""``jifentong node`` (one member's validator, ordered through etcd) and ``jifentong cluster``
(a local alliance of such nodes and etcd members, as separate processes on loopback)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from api.cli.common import DEFAULT_DATA, DEFAULT_PORT, DataOpt, JsonOpt, console, emit, err, fail
from api.demo import cluster as local
from ledger.consensus.etcd import EtcdTLS
from ledger.errors import LedgerError

#: The environment variable that must be "1" before ``jifentong node --test-byzantine`` runs.
TEST_BYZANTINE_ENV = "JIFENTONG_ALLOW_TEST_BYZANTINE"
#: ... and before ``jifentong node --demo-clock`` does (``api.demo.cluster.DEMO_CLOCK_ENV``).
DEMO_CLOCK_ENV = local.DEMO_CLOCK_ENV

cluster_app = typer.Typer(help="A local alliance: one etcd member and one node per member.",
                          no_args_is_help=True)


def run_node(data: Path, member: str, host: str, port: int, etcd: list[str],
             byzantine: bool = False, demo_clock: Path | None = None,
             etcd_tls: EtcdTLS | None = None) -> None:
    """Open member ``member``'s node over ``etcd`` and serve it until SIGTERM or Ctrl+C.

    ``byzantine`` (fault tests only) makes the node sign, for every block, a header whose
    state commitment is not the block's; it is refused unless ``JIFENTONG_ALLOW_TEST_BYZANTINE``
    is ``1``. ``demo_clock`` (``jifentong demo --cluster`` only, with ``JIFENTONG_ALLOW_DEMO_CLOCK``
    set to ``1``) makes the node read the time from that file instead of the system clock."""
    if byzantine and os.environ.get(TEST_BYZANTINE_ENV) != "1":
        fail(f"--test-byzantine is for fault tests only: it makes this member sign false "
             f"headers; set {TEST_BYZANTINE_ENV}=1 to run it")
    if demo_clock is not None and os.environ.get(DEMO_CLOCK_ENV) != "1":
        fail(f"--demo-clock is for `jifentong demo --cluster` only: the node's time comes "
             f"from a file; set {DEMO_CLOCK_ENV}=1 to run it")
    from api.node.datadir import DataDir
    from api.node.netnode import NetNode
    from api.server.app import create_app, fast_lane
    from api.server.serving import app_factory, port_free

    if not port_free(host, port):
        fail(f"port {port} on {host} is in use; pass --port")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from ledger.consensus.clock import FileClock

    try:
        clock = FileClock(demo_clock) if demo_clock is not None else None
        node = NetNode(DataDir(data), member, etcd, app_factory, clock=clock, etcd_tls=etcd_tls)
    except (LedgerError, OSError, ValueError) as exc:
        fail(str(exc))
    if byzantine:
        node.replica.byzantine = True
        err.print("[red]TEST ONLY: this node signs headers with a false state commitment[/]")
    err.print(f"member [bold]{member}[/] of [cyan]{node.genesis.chain}[/] at height "
              f"{node.replica.height}, ordered by {', '.join(etcd)}; serving http://{host}:{port}")
    try:
        uvicorn.run(fast_lane(create_app(node), node), host=host, port=port,
                    log_level="warning", access_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        node.close()


def node(member: Annotated[str, typer.Option(help="this member's id (a genesis validator)")],
         etcd: Annotated[str, typer.Option(help="etcd client URLs, comma-separated")],
         data: DataOpt = DEFAULT_DATA,
         host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
         port: Annotated[int, typer.Option(help="TCP port")] = DEFAULT_PORT,
         test_byzantine: Annotated[bool, typer.Option(
             "--test-byzantine", hidden=True,
             help=f"fault tests only (needs {TEST_BYZANTINE_ENV}=1): sign false headers",
         )] = False,
         demo_clock: Annotated[Path | None, typer.Option(
             "--demo-clock", hidden=True,
             help=f"`demo --cluster` only (needs {DEMO_CLOCK_ENV}=1): time from this file",
         )] = None,
         etcd_ca: Annotated[Path | None, typer.Option(
             help="TLS to etcd (https:// endpoints): the CA that issued the etcd members' "
                  "certificates")] = None,
         etcd_cert: Annotated[Path | None, typer.Option(
             help="this node's client certificate for etcd's --client-cert-auth (PEM)")] = None,
         etcd_key: Annotated[Path | None, typer.Option(
             help="the key of --etcd-cert (PEM)")] = None) -> None:
    """Run one member's validator as its own process, ordered through etcd; serves the
    same API and explorer as `serve`, and takes submissions."""
    if etcd_ca is None and (etcd_cert is not None or etcd_key is not None):
        fail("--etcd-cert and --etcd-key need --etcd-ca (the CA etcd's certificates come from)")
    tls = EtcdTLS(etcd_ca, etcd_cert, etcd_key) if etcd_ca is not None else None
    run_node(data, member, host, port, [u.strip() for u in etcd.split(",") if u.strip()],
             byzantine=test_byzantine, demo_clock=demo_clock, etcd_tls=tls)


@cluster_app.command("up")
def cluster_up(data: DataOpt = DEFAULT_DATA,
               nodes: Annotated[int, typer.Option(help="members (nodes and etcd members)",
                                                  min=1, max=local.cluster_nodes_max)] = 4,
               base_port: Annotated[int, typer.Option(
                   help="node i listens on base+i; etcd on base+50+i and base+60+i",
                   min=1024, max=65_000)] = DEFAULT_PORT) -> None:
    """Start the etcd members and one node per member, detached (creating the alliance if
    DIR is new); run again, it starts whatever is not running."""
    try:
        cluster = local.layout(data, nodes, base_port)
        urls = local.up(cluster)
    except LedgerError as exc:
        fail(str(exc))
    for member, url in zip(cluster.members, urls, strict=True):
        console.print(f"{member:24} {url}")


@cluster_app.command("status")
def cluster_status(data: DataOpt = DEFAULT_DATA, json_out: JsonOpt = False) -> None:
    """Each node's pid, height and head, and each etcd member's pid and leadership."""
    try:
        report = local.status(local.layout(data))
    except LedgerError as exc:
        fail(str(exc))
    if json_out:
        emit(report)
        return
    for n in report["nodes"]:
        console.print(f"node {n['member']:24} {n['url']}  pid {n['pid']}  height {n['height']}")
    for e in report["etcd"]:
        console.print(f"{e['name']:29} {e['url']}  pid {e['pid']}"
                      + ("  leader" if e["leader"] else ""))


@cluster_app.command("down")
def cluster_down(data: DataOpt = DEFAULT_DATA) -> None:
    """Stop every node and etcd member of the local cluster."""
    try:
        stopped = local.down(local.layout(data))
    except LedgerError as exc:
        fail(str(exc))
    console.print(f"stopped {len(stopped)} processes")


def register(app: typer.Typer) -> None:
    """Add ``node`` and the ``cluster`` group to the ``jifentong`` command."""
    app.add_typer(cluster_app, name="cluster")
    app.command()(node)
