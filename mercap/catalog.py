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
from pydantic import BaseModel
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential_jitter

from schemas.records import SpeechSegment, StageResult, Status, Transcript, VideoRecord

DDL = (Path(__file__).parents[1] / "schemas" / "catalog.sql").read_text()
CATALOG_FILE = "catalog.duckdb"


def _is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


@dataclass(frozen=True)
class StageOutput:
    """Where a stage's outputs go.

    `id_field` names the row id (the ledger points at the first output's). `explode` writes one
    row per element of that list field instead of one per output; `exclude` leaves fields out.
    `replace_by` deletes the rows sharing that key before writing (a newer version of a
    machine output replaces the older one); without it, a row whose id exists is kept
    (identical content collapses)."""

    table: str
    id_field: str
    explode: str | None = None
    exclude: tuple[str, ...] = ()
    replace_by: str | None = None

    def rows(self, output: BaseModel) -> list[dict]:
        data = output.model_dump(mode="json", exclude=set(self.exclude))
        items = data.pop(self.explode) if self.explode else [data]
        return [{k: _cell(v) for k, v in item.items()} for item in items]


def _cell(value: object) -> object:
    """Nested values (lists, records) go to JSON columns as JSON text."""
    return json.dumps(value) if isinstance(value, list | dict) else value


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
        outputs: Sequence[StageOutput] = (),
    ) -> int:
        """Write one batch's ledger rows and outputs in one transaction: all or nothing.

        Returns how many rows it added to the first output table.
        """
        now = _now()
        provenance = {
            "stage": stage,
            "annotator_version": version,
            "run_id": run_id,
            "created_at": now,
        }
        id_field = outputs[0].id_field if outputs else None
        ledger = pl.DataFrame(
            [
                {
                    "stage": stage,
                    "item_id": r.item_id,
                    "annotator_version": version,
                    "status": str(r.status),
                    "output_id": getattr(r.output, id_field) if id_field and r.output else None,
                    "reason_code": r.reason_code,
                    "reason": r.reason,
                    "run_id": run_id,
                    "created_at": now,
                }
                for r in results
            ],
            schema_overrides={
                "output_id": pl.String,
                "reason_code": pl.String,
                "reason": pl.String,
            },
        )
        added = []
        with self.connect() as con:
            con.begin()
            try:
                con.register("ledger", ledger)
                con.execute("INSERT OR REPLACE INTO stage_log BY NAME SELECT * FROM ledger")
                for output in outputs:
                    added.append(self._write_output(con, output, results, provenance))
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return added[0] if added else 0

    @staticmethod
    def _write_output(
        con: duckdb.DuckDBPyConnection,
        output: StageOutput,
        results: Sequence[StageResult],
        provenance: dict,
    ) -> int:
        done = [r.output for r in results if r.output is not None]
        if output.replace_by and done:
            keys = pl.DataFrame({"key": [getattr(o, output.replace_by) for o in done]})
            con.register("replaced_keys", keys)
            con.execute(
                f"DELETE FROM {output.table} WHERE {output.replace_by} IN"
                " (SELECT key FROM replaced_keys)"
            )
        rows = [row | provenance for o in done for row in output.rows(o)]
        if not rows:
            return 0
        frame = pl.DataFrame(rows, infer_schema_length=None).unique(output.id_field, keep="first")
        con.register("new_rows", frame)
        return con.execute(
            f"INSERT OR IGNORE INTO {output.table} BY NAME SELECT * FROM new_rows"
        ).fetchone()[0]

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

    def videos(self) -> list[VideoRecord]:
        fields = list(VideoRecord.model_fields)
        frame = self.table("videos").sort("video_id")
        return [
            VideoRecord.model_validate(row) for row in frame.select(fields).iter_rows(named=True)
        ]

    def transcripts(self) -> list[tuple[Transcript, str]]:
        """Every transcript, with the ASR version that wrote it."""
        rows = self.table("transcripts").sort("video_id").iter_rows(named=True)
        return [
            (
                Transcript(
                    video_id=row["video_id"],
                    language=row["language"],
                    word_timing=row["word_timing"],
                    model=row["model"],
                    segments=[SpeechSegment.model_validate(s) for s in json.loads(row["segments"])],
                ),
                row["annotator_version"],
            )
            for row in rows
        ]

    def table(self, name: str) -> pl.DataFrame:
        with self.connect(read_only=True) as con:
            return _frame(con, f"SELECT * FROM {name}")


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(query, params=params or None).pl()


def _now() -> datetime:
    return datetime.now(UTC)
