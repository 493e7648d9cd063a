"""Operations: health and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from api.node.deps import get_node
from api.node.runtime import Serving
from api.schemas.chain import Healthz

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and chain head (503 when the chain is stalled)",
            responses={200: {"model": Healthz},
                       503: {"model": Healthz,
                             "description": "records wait and the head has not advanced"}})
def healthz(node: Annotated[Serving, Depends(get_node)]) -> JSONResponse:
    replica = node.replica
    counters = node.counters()
    body = {**node.health(), "height": replica.height, "replicas_up": counters["replicas_up"],
            "replicas": counters["replicas"], "mempool": node.mempool_depth()}
    return JSONResponse(body, status_code=503 if body["status"] == "stalled" else 200)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(node: Annotated[Serving, Depends(get_node)]) -> str:
    m, replica, counters = node.metrics, node.replica, node.counters()
    lines = [
        "# HELP jifentong_records_committed_total Records committed since start.",
        "# TYPE jifentong_records_committed_total counter",
        f"jifentong_records_committed_total {m.records_committed}",
        "# HELP jifentong_records_rejected_total Records rejected at block time since start.",
        "# TYPE jifentong_records_rejected_total counter",
        f"jifentong_records_rejected_total {m.records_rejected}",
        "# TYPE jifentong_blocks_committed_total counter",
        f"jifentong_blocks_committed_total {m.blocks_committed}",
        "# TYPE jifentong_rounds_failed_total counter",
        f"jifentong_rounds_failed_total {m.rounds_failed}",
        "# HELP jifentong_producer_errors_total Unexpected errors of the block producer.",
        "# TYPE jifentong_producer_errors_total counter",
        f"jifentong_producer_errors_total {m.producer_errors}",
        "# HELP jifentong_records_unprocessable_total Records left out of a block because it "
        "failed to execute or encode with them (rejected record_unprocessable).",
        "# TYPE jifentong_records_unprocessable_total counter",
        f"jifentong_records_unprocessable_total {counters['unprocessable']}",
        "# HELP jifentong_votes_withheld_total Proposed blocks a validator could not execute "
        "or match, so did not sign.",
        "# TYPE jifentong_votes_withheld_total counter",
        f"jifentong_votes_withheld_total {counters['votes_withheld']}",
        "# HELP jifentong_catch_up_failures_total Catch-ups a replica could not finish.",
        "# TYPE jifentong_catch_up_failures_total counter",
        f"jifentong_catch_up_failures_total {counters['catch_up_failures']}",
        "# HELP jifentong_stalled 1 while records wait and the head has not advanced.",
        "# TYPE jifentong_stalled gauge",
        f"jifentong_stalled {int(node.stalled())}",
        "# HELP jifentong_block_height Height of the chain head.",
        "# TYPE jifentong_block_height gauge",
        f"jifentong_block_height {replica.height}",
        "# HELP jifentong_mempool_depth Records waiting for a block.",
        "# TYPE jifentong_mempool_depth gauge",
        f"jifentong_mempool_depth {node.mempool_depth()}",
        "# HELP jifentong_admission_groups_total Groups of submissions checked together.",
        "# TYPE jifentong_admission_groups_total counter",
        f"jifentong_admission_groups_total {counters['admission_groups']}",
        "# TYPE jifentong_admission_records_total counter",
        f"jifentong_admission_records_total {counters['admission_records']}",
        "# TYPE jifentong_replicas_up gauge",
        f"jifentong_replicas_up {counters['replicas_up']}",
        "# HELP jifentong_request_seconds Request latency by route.",
        "# TYPE jifentong_request_seconds summary",
    ]
    for route, count in sorted(m.request_count.items()):
        lines.append(f'jifentong_request_seconds_count{{route="{route}"}} {count}')
        lines.append(f'jifentong_request_seconds_sum{{route="{route}"}} '
                     f'{m.request_seconds[route]:.6f}')
    return "\n".join(lines) + "\n"
