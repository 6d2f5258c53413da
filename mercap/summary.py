"""The run summary: what each stage did, what failed and why, and where the results are."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class StageReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    stage: str
    built: bool
    purpose: str
    annotator_version: str | None = None
    offered: int = 0
    already_done: int = 0
    ok: int = 0
    failed: int = 0
    new_outputs: int = 0
    seconds: float = 0.0


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)
    stage: str
    item: str
    reason_code: str
    reason: str


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)
    run_id: str
    profile: str
    workspace: str
    inputs: list[str]
    started_at: datetime
    finished_at: datetime
    stages: list[StageReport]
    failures: list[Failure]
    ignored_files: int = 0
    label_studio_project: str | None = None
    release: str | None = None

    @property
    def not_built(self) -> list[str]:
        return [s.stage for s in self.stages if not s.built]

    def to_markdown(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        lines = [
            f"# build-mer-caption run `{self.run_id}`",
            "",
            f"Profile `{self.profile}`, {seconds:.1f} s. Workspace: `{self.workspace}`.",
            "",
            "| stage | status | offered | already done | ok | failed | new outputs | seconds |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for s in self.stages:
            if s.built:
                lines.append(
                    f"| {s.stage} | built | {s.offered} | {s.already_done} | {s.ok} | {s.failed}"
                    f" | {s.new_outputs} | {s.seconds:.1f} |"
                )
            else:
                lines.append(f"| {s.stage} | **not built yet**: {s.purpose} | | | | | | |")
        if self.ignored_files:
            lines += ["", f"{self.ignored_files} file(s) without a video extension were ignored."]
        if self.failures:
            counts = Counter((f.stage, f.reason_code) for f in self.failures)
            lines += ["", "## Failures", "", "| stage | reason | items |", "|---|---|---:|"]
            lines += [f"| {stage} | {code} | {n} |" for (stage, code), n in counts.most_common()]
            lines += ["", "| stage | item | reason |", "|---|---|---|"]
            lines += [f"| {f.stage} | `{f.item}` | {f.reason} |" for f in self.failures]
        lines += [
            "",
            "## Where things are",
            "",
            f"- catalog: `{self.workspace}/catalog.duckdb` (`mercap status` prints it)",
            f"- Label Studio project: {self.label_studio_project or 'none: the review stage is not built yet'}",
            f"- release: {self.release or 'none: the publish stage is not built yet'}",
        ]
        return "\n".join(lines) + "\n"
