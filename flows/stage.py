"""Run one stage: ask the catalog what is pending, annotate in batches, write each batch as it
finishes. A re-run does only new work; a crash loses at most the batches in flight."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect import task, unmapped
from prefect.futures import as_completed

from annotators.base import WORKER_ANNOTATORS, Annotator, HasItemId, TransientError
from mercap.catalog import Catalog, StageOutput
from mercap.summary import Failure, StageReport
from schemas.records import StageResult, Status


def _is_transient(task, task_run, state) -> bool:
    """Retry a batch only for errors that may pass: never for a bug or a bad input."""
    try:
        state.result()
    except (TransientError, TimeoutError, ConnectionError):
        return True
    except Exception:  # noqa: BLE001  (any other error is final: not worth a retry)
        return False
    return False


def annotate_in_worker(annotator: Annotator, batch: list[HasItemId]) -> list[StageResult]:
    return WORKER_ANNOTATORS.get(annotator).annotate(batch)


# Built from a plain module-level function (not with @task) so process-based runners (Dask,
# Ray) pickle it by reference instead of by value with its module globals.
annotate_batch = task(
    annotate_in_worker,
    name="annotate-batch",
    retries=3,
    retry_delay_seconds=[2, 8, 30],
    retry_condition_fn=_is_transient,
)


def run_stage(
    stage: str,
    purpose: str,
    annotator: Annotator,
    items: Sequence[HasItemId],
    catalog: Catalog,
    run_id: str,
    outputs: Sequence[StageOutput],
    batch_size: int,
) -> tuple[StageReport, list[Failure]]:
    started = time.monotonic()
    version = annotator.version
    pending_ids = set(catalog.pending(stage, version, [item.item_id for item in items]))
    pending = [item for item in items if item.item_id in pending_ids]
    ok = failed = added = 0
    if pending:
        batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
        futures = annotate_batch.with_options(name=f"{stage}-batch").map(
            annotator=unmapped(annotator), batch=batches
        )
        for future in as_completed(futures):
            results = future.result()
            added += catalog.record_batch(stage, version, run_id, results, outputs)
            batch_ok = sum(1 for result in results if result.status is Status.OK)
            ok, failed = ok + batch_ok, failed + len(results) - batch_ok
    # every known failure of the offered items, also those an earlier run recorded
    failures = [
        Failure(
            stage=stage, item=row["item_id"], reason_code=row["reason_code"], reason=row["reason"]
        )
        for row in catalog.failed_items(stage, version, [i.item_id for i in items]).iter_rows(
            named=True
        )
    ]
    report = StageReport(
        stage=stage,
        built=True,
        purpose=purpose,
        annotator_version=version,
        offered=len(items),
        already_done=len(items) - len(pending),
        ok=ok,
        failed=failed,
        new_outputs=added,
        seconds=round(time.monotonic() - started, 3),
    )
    return report, failures
