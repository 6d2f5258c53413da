"""The DuckDB catalog: ledger of stage work, stage outputs, and runs.

Connections are short-lived so a `status` command (another process) can read between writes;
DuckDB allows one writing process per file, so opening retries with backoff while another
process holds the lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential_jitter

from schemas.records import StageResult, Status

DDL = (Path(__file__).parents[1] / "schemas" / "catalog.sql").read_text()
CATALOG_FILE = "catalog.duckdb"


def _is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


@dataclass(frozen=True)
class StageOutput:
    """Where a stage's outputs go: the table, and which output field the ledger points at."""

    table: str
    id_field: str


class Catalog:
    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.path = workspace / CATALOG_FILE

    @classmethod
    def create(cls, workspace: Path) -> Catalog:
        workspace.mkdir(parents=True, exist_ok=True)
        catalog = cls(workspace)
        with catalog.connect() as con:
            con.execute(DDL)
        return catalog

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    @retry(
        retry=retry_if_exception(_is_lock_conflict),
        wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
        stop=stop_after_delay(60),
        reraise=True,
    )
    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no catalog at {self.path}: run the pipeline first")
        return duckdb.connect(str(self.path), read_only=read_only)

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, run_id: str, flow: str, profile: str, inputs: str | None) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, NULL, 'running', NULL)",
                [run_id, flow, profile, inputs, _now()],
            )

    def finish_run(self, run_id: str, status: str, summary: dict) -> None:
        with self.connect() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
                [_now(), status, json.dumps(summary), run_id],
            )

    def run_summary(self, run_id: str | None = None) -> dict | None:
        query = "SELECT summary FROM runs WHERE summary IS NOT NULL"
        query += " AND run_id = ?" if run_id else " ORDER BY started_at DESC LIMIT 1"
        with self.connect(read_only=True) as con:
            row = con.execute(query, [run_id] if run_id else []).fetchone()
        return json.loads(row[0]) if row else None

    # -- stage work ---------------------------------------------------------------------------

    def pending(self, stage: str, version: str, item_ids: Sequence[str]) -> list[str]:
        """The items with no ledger row for (stage, version), in the order given."""
        if not item_ids:
            return []
        candidates = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.String})
        with self.connect() as con:
            con.register("candidates", candidates)
            done = con.execute(
                "SELECT c.item_id FROM candidates c JOIN stage_log l USING (item_id)"
                " WHERE l.stage = ? AND l.annotator_version = ?",
                [stage, version],
            ).fetchall()
        finished = {row[0] for row in done}
        return [item_id for item_id in item_ids if item_id not in finished]

    def record_batch(
        self,
        stage: str,
        version: str,
        run_id: str,
        results: Sequence[StageResult],
        output: StageOutput | None,
    ) -> int:
        """Write one batch's ledger rows and outputs in one transaction: all or nothing.

        Returns how many new output rows it added (an output whose id exists is kept as it was:
        identical content collapses to one row).
        """
        provenance = {
            "stage": stage,
            "annotator_version": version,
            "run_id": run_id,
            "created_at": _now(),
        }
        outputs = [r.output.model_dump(mode="json") | provenance for r in results if r.output]
        ledger = pl.DataFrame(
            [
                {
                    "stage": stage,
                    "item_id": r.item_id,
                    "annotator_version": version,
                    "status": str(r.status),
                    "output_id": getattr(r.output, output.id_field)
                    if output and r.output
                    else None,
                    "reason_code": r.reason_code,
                    "reason": r.reason,
                    "run_id": run_id,
                    "created_at": provenance["created_at"],
                }
                for r in results
            ],
            schema_overrides={
                "output_id": pl.String,
                "reason_code": pl.String,
                "reason": pl.String,
            },
        )
        added = 0
        with self.connect() as con:
            con.begin()
            try:
                con.register("ledger", ledger)
                con.execute("INSERT OR REPLACE INTO stage_log BY NAME SELECT * FROM ledger")
                if outputs and output:
                    con.register(
                        "rows", pl.DataFrame(outputs).unique(output.id_field, keep="first")
                    )
                    added = con.execute(
                        f"INSERT OR IGNORE INTO {output.table} BY NAME SELECT * FROM rows"
                    ).fetchone()[0]
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return added

    # -- reading ------------------------------------------------------------------------------

    def stage_counts(self) -> pl.DataFrame:
        """Items per stage and status, for the latest annotator version that ran each stage."""
        with self.connect(read_only=True) as con:
            return _frame(
                con,
                "SELECT stage, status, count(*) AS items FROM stage_log"
                " GROUP BY stage, status ORDER BY stage, status",
            )

    def failures(self, stage: str | None = None, limit: int = 50) -> pl.DataFrame:
        query = "SELECT stage, item_id, reason_code, reason FROM stage_log WHERE status = ?"
        params: list = [str(Status.FAILED)]
        if stage:
            query += " AND stage = ?"
            params.append(stage)
        query += " ORDER BY stage, item_id LIMIT ?"
        with self.connect(read_only=True) as con:
            return _frame(con, query, [*params, limit])

    def failed_items(self, stage: str, version: str, item_ids: Sequence[str]) -> pl.DataFrame:
        """Ledger failures among these items: what is known to be wrong with them, whichever
        run found it."""
        candidates = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.String})
        with self.connect(read_only=True) as con:
            con.register("candidates", candidates)
            return _frame(
                con,
                "SELECT l.item_id, l.reason_code, l.reason FROM candidates c"
                " JOIN stage_log l USING (item_id)"
                " WHERE l.stage = ? AND l.annotator_version = ? AND l.status = ?"
                " ORDER BY l.item_id",
                [stage, version, str(Status.FAILED)],
            )

    def table(self, name: str) -> pl.DataFrame:
        with self.connect(read_only=True) as con:
            return _frame(con, f"SELECT * FROM {name}")


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(query, params=params or None).pl()


def _now() -> datetime:
    return datetime.now(UTC)
